//! `parabench merge`: HDR interval logs of several runs or machines, as one report.

use std::io::Write;
use std::path::{Path, PathBuf};

use comfy_table::{CellAlignment, Table};

use super::EXIT_INPUT;
use super::output::Output;
use crate::report::hlog::MergedLog;
use crate::report::terminal::STYLE;
use crate::units::fmt_duration;

pub(super) fn run(logs: &[PathBuf], out: Option<&Path>) -> u8 {
    let pending = match out.map(Output::prepare).transpose() {
        Ok(p) => p,
        Err(e) => {
            let path = out.unwrap_or(Path::new("-"));
            eprintln!("error: cannot write the merged log to {}: {e}", path.display());
            return EXIT_INPUT;
        }
    };
    let mut merged = MergedLog::default();
    for path in logs {
        if let Err(e) = merged.add_file(path) {
            eprintln!("error: {e}");
            return EXIT_INPUT;
        }
    }
    let mut table = Table::new();
    table
        .load_style(STYLE)
        .set_header(vec!["mode/tool/metric", "count", "p50", "p90", "p99", "p99.9", "max"]);
    for (tag, h) in &merged.histograms {
        let mut row = vec![tag.clone(), h.len().to_string()];
        row.extend([0.5, 0.9, 0.99, 0.999].map(|q| fmt_duration(h.quantile(q))));
        row.push(fmt_duration(h.max()));
        table.add_row(row);
    }
    for i in 1..7 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let _ = writeln!(
        std::io::stdout(),
        "{} intervals from {} logs\n{table}",
        merged.intervals,
        logs.len()
    );
    if let Some(pending) = pending {
        let path = pending.path().display().to_string();
        let mut bytes = Vec::new();
        let written = merged
            .write(&mut bytes, "merged log")
            .map_err(|e| e.to_string())
            .and_then(|()| pending.commit(&bytes).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("error: cannot write the merged log to {path}: {e}");
            return EXIT_INPUT;
        }
    }
    0
}
