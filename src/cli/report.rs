//! `parabench report`: a saved run or tune report, shown again or rendered as an HTML page.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::EXIT_INPUT;
use super::output::Output;
use crate::report::html::{self, Html};
use crate::report::json;
use crate::report::terminal::Terminal;
use crate::report::{Render, Report};
use crate::tune::{self, TuneReport};

/// Arguments of `parabench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run report (`parabench run --json`) or a tune report (`parabench tune --json`).
    pub report: PathBuf,
    /// Writes it as a self-contained HTML page to FILE (`-` for standard output) instead
    /// of printing the table.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// A saved report of either kind.
enum Saved {
    Run(Box<Report>),
    Tune(Box<TuneReport>),
}

/// Exit 1 when the report cannot be read or drawn, 0 otherwise.
pub(super) fn run(args: &ReportArgs) -> u8 {
    match render(args) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_INPUT
        }
    }
}

fn render(args: &ReportArgs) -> Result<(), String> {
    let output = args
        .html
        .as_deref()
        .map(|path| {
            Output::prepare(path).map_err(|e| format!("cannot write the HTML report to {}: {e}", path.display()))
        })
        .transpose()?;
    let saved = read(&args.report)?;
    let Some(output) = output else {
        let mut table = Vec::new();
        let _ = match &saved {
            Saved::Run(report) => Terminal.render(report, &mut table),
            Saved::Tune(report) => tune::terminal::render(report, &mut table),
        };
        let _ = std::io::stdout().write_all(&table);
        return Ok(());
    };
    let written = match &saved {
        Saved::Run(report) => {
            html::check(report).map_err(|e| format!("{}: {e}", args.report.display()))?;
            write_html(report, output)
        }
        Saved::Tune(report) => {
            let mut page = Vec::new();
            tune::html::render(report, &mut page).map_err(|e| format!("{}: {e}", args.report.display()))?;
            output.commit(&page)
        }
    };
    let path = args.html.as_deref().unwrap_or(Path::new("-"));
    written.map_err(|e| format!("cannot write the HTML report to {}: {e}", path.display()))
}

/// Reads a run or tune report; errors name the file and say what was expected.
fn read(path: &Path) -> Result<Saved, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(value) if TuneReport::is_tune_json(&value) => TuneReport::from_json(value)
            .map(|r| Saved::Tune(Box::new(r)))
            .map_err(|e| format!("{}: {e}", path.display())),
        // Everything else, broken JSON included, gets the run report's reader and its
        // errors (empty, truncated, not JSON, not a report, unknown version).
        _ => json::read(&text)
            .map(|r| Saved::Run(Box::new(r)))
            .map_err(|e| format!("{}: {e}", path.display())),
    }
}

/// Renders `report` as HTML into `output`, which is replaced only once complete.
pub(super) fn write_html(report: &Report, output: Output) -> std::io::Result<()> {
    let mut page = Vec::new();
    Html.render(report, &mut page)?;
    output.commit(&page)
}
