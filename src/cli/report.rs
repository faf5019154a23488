//! `parabench report`: a saved run report, shown again or rendered as an HTML page.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::EXIT_INPUT;
use super::output::Output;
use crate::report::html::{self, Html};
use crate::report::json::read_file;
use crate::report::terminal::Terminal;
use crate::report::{Render, Report};

/// Arguments of `parabench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run report (`parabench run --json`).
    pub report: PathBuf,
    /// Writes it as a self-contained HTML page to FILE (`-` for standard output) instead
    /// of printing the table.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
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
    let Some(path) = args.html.as_deref() else {
        let report = read_file(&args.report).map_err(|e| e.to_string())?;
        let mut table = Vec::new();
        let _ = Terminal.render(&report, &mut table);
        let _ = std::io::stdout().write_all(&table);
        return Ok(());
    };
    let output =
        Output::prepare(path).map_err(|e| format!("cannot write the HTML report to {}: {e}", path.display()))?;
    let report = read_file(&args.report).map_err(|e| e.to_string())?;
    html::check(&report).map_err(|e| format!("{}: {e}", args.report.display()))?;
    write_html(&report, output).map_err(|e| format!("cannot write the HTML report to {}: {e}", path.display()))
}

/// Renders `report` as HTML into `output`, which is replaced only once complete.
pub(super) fn write_html(report: &Report, output: Output) -> std::io::Result<()> {
    let mut page = Vec::new();
    Html.render(report, &mut page)?;
    output.commit(&page)
}

/// Whether `path` means standard output.
pub(super) fn is_stdout(path: Option<&Path>) -> bool {
    path == Some(Path::new("-"))
}
