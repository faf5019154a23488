//! `parabench compare`: two run reports, figure by figure, with an exit code for CI.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::output::{self, Output};
use super::{EXIT_EXPECTATION, EXIT_INPUT};
use crate::compare::{self, Comparison, Labeled, Threshold};
use crate::report::json::read_file;

/// Arguments of `parabench compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline report (`parabench run --json`).
    pub base: PathBuf,
    /// The report to compare with it.
    pub new: PathBuf,
    /// The smallest change that counts, in percent of the base (`5%` or `5`).
    #[arg(long, default_value = "5%", value_name = "PERCENT")]
    pub threshold: Threshold,
    /// Writes the comparison as Markdown, for a pull-request comment (`-` for standard
    /// output).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Writes the comparison as JSON (`schemas/compare-v1.schema.json`; `-` for
    /// standard output).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Exit 2 when a figure regressed beyond the threshold and beyond noise, 1 on bad
/// input, 0 otherwise.
pub(super) fn run(args: &CompareArgs) -> u8 {
    match compare_files(args) {
        Ok(c) if c.regressions > 0 => EXIT_EXPECTATION,
        Ok(_) => 0,
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_INPUT
        }
    }
}

fn compare_files(args: &CompareArgs) -> Result<Comparison, String> {
    output::check_distinct(&[
        ("--json", args.json.as_deref()),
        ("--markdown", args.markdown.as_deref()),
    ])?;
    let prepare = |path: Option<&Path>| {
        path.map(|p| Output::prepare(p).map_err(|e| format!("cannot write {}: {e}", p.display())))
            .transpose()
    };
    let json = prepare(args.json.as_deref())?;
    let markdown = prepare(args.markdown.as_deref())?;
    let base = read_file(&args.base).map_err(|e| e.to_string())?;
    let new = read_file(&args.new).map_err(|e| e.to_string())?;
    let (base_path, new_path) = (args.base.display().to_string(), args.new.display().to_string());
    let comparison = compare::compare(
        Labeled {
            report: &base,
            path: &base_path,
        },
        Labeled {
            report: &new,
            path: &new_path,
        },
        args.threshold,
    )
    .map_err(|e| e.to_string())?;

    let mut table = Vec::new();
    let _ = compare::terminal::render(&comparison, &mut table);
    let to_stderr = json.as_ref().is_some_and(Output::is_stdout) || markdown.as_ref().is_some_and(Output::is_stdout);
    let _ = if to_stderr {
        std::io::stderr().write_all(&table)
    } else {
        std::io::stdout().write_all(&table)
    };
    if let Some(out) = markdown {
        let mut text = Vec::new();
        let _ = compare::markdown::render(&comparison, &mut text);
        let path = out.path().display().to_string();
        out.commit(&text)
            .map_err(|e| format!("cannot write the Markdown to {path}: {e}"))?;
    }
    if let Some(out) = json {
        let mut text = serde_json::to_vec_pretty(&comparison).map_err(|e| e.to_string())?;
        text.push(b'\n');
        let path = out.path().display().to_string();
        out.commit(&text)
            .map_err(|e| format!("cannot write the JSON to {path}: {e}"))?;
    }
    Ok(comparison)
}
