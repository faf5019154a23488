//! `parabench analyze`: the tool calls of real agents, read from their traces (files,
//! or an OTLP receiver), against the schedule parabench's executor finds for them.

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::Args;

use super::EXIT_INPUT;
use super::output::{self, Output};
use crate::observed::{self, AnalysisRequest, Spans, terminal::Terminal};
use crate::report::Render;
use crate::report::json::Json;
use crate::tune::Levels;

/// The what-if levels when `--levels` gives none.
const DEFAULT_LEVELS: &str = "1,2,4,8,16";

/// Arguments of `parabench analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Trace files: OTLP/JSON (one document or JSON Lines, as the Collector's file
    /// exporter and `run --trace-file` write), Tempo's `batches`, or Jaeger JSON. The
    /// format is told from the content.
    pub files: Vec<PathBuf>,
    /// The limit of the ideal schedule each step is compared with (default: unlimited).
    #[arg(long, value_name = "N")]
    pub max_concurrency: Option<NonZeroUsize>,
    /// The limits of the what-if table: a list (1,2,4,8), a range with a step (1..16:2)
    /// or doubling (1..64:x2).
    #[arg(long, default_value = DEFAULT_LEVELS)]
    pub levels: Levels,
    /// Writes the analysis as JSON to FILE (`-` for standard output; the summary then
    /// goes to standard error).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

pub(super) fn run(args: &AnalyzeArgs) -> u8 {
    if args.files.is_empty() {
        eprintln!("error: no trace file given (expected one or more OTLP/JSON or Jaeger JSON files)");
        return EXIT_INPUT;
    }
    if let Err(e) = output::check_distinct(&[("--json", args.json.as_deref())]) {
        eprintln!("error: {e}");
        return EXIT_INPUT;
    }
    let json = match args.json.as_deref().map(Output::prepare).transpose() {
        Ok(json) => json,
        Err(e) => {
            let path = args.json.as_deref().unwrap_or_else(|| "-".as_ref());
            eprintln!("error: cannot write the analysis to {}: {e}", path.display());
            return EXIT_INPUT;
        }
    };
    let mut spans = Spans::default();
    for file in &args.files {
        if let Err(e) = observed::read_file(file, &mut spans) {
            eprintln!("error: {e}");
            return EXIT_INPUT;
        }
    }
    let request = AnalysisRequest {
        max_concurrency: args.max_concurrency,
        levels: args.levels.clone(),
        sources: args.files.iter().map(|f| f.display().to_string()).collect(),
    };
    let analysis = match observed::analyse(&spans, &request) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INPUT;
        }
    };
    let mut text = Vec::new();
    let _ = Terminal.render(&analysis, &mut text);
    let _ = if json.as_ref().is_some_and(Output::is_stdout) {
        std::io::stderr().write_all(&text)
    } else {
        std::io::stdout().write_all(&text)
    };
    if let Some(out) = json {
        let path = out.path().display().to_string();
        if let Err(e) = out.commit_with(|w| Json.render(&analysis, w)) {
            eprintln!("error: cannot write the analysis to {path}: {e}");
            return EXIT_INPUT;
        }
    }
    0
}
