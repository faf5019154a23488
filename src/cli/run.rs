//! `parabench run`: the sequential and parallel runs, the speedup and the report.

use std::io::{IsTerminal, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::output::Output;
use super::{ClockArg, EXIT_EXPECTATION, EXIT_INPUT, ModeArg, diagnostic};
use crate::executor::{CallOutcome, Observer};
use crate::harness::{self, ClockKind, Modes, Repeat, RunRequest};
use crate::plan::CallIdx;
use crate::report::json::Json;
use crate::report::speedup::BOUND_TOLERANCE;
use crate::report::terminal::Terminal;
use crate::report::{Render, Report, RunMode};
use crate::scenario::{self, Scenario, ScenarioError};

/// The scenario `parabench run` uses when given none.
const EMBEDDED: &str = include_str!("../../scenarios/independent_io.toml");

/// Arguments of `parabench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (default: the embedded independent_io scenario).
    pub scenario: Option<PathBuf>,
    /// Which runs to make.
    #[arg(long, value_enum, default_value_t)]
    pub mode: ModeArg,
    /// Overrides the scenario's max_concurrency.
    #[arg(long)]
    pub max_concurrency: Option<NonZeroUsize>,
    /// Real (wall) time, or simulated time.
    #[arg(long, value_enum, default_value_t)]
    pub clock: ClockArg,
    /// Overrides the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Writes the JSON report to FILE (`-` for standard output; the table then goes to
    /// standard error).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Fails (exit 2) unless every expectation was measured and held and the speedup is
    /// within its theoretical bound.
    #[arg(long)]
    pub check: bool,
    /// Repeats the whole comparison N times; the report keeps every repetition and each
    /// figure's median and confidence interval (its own figures are the first
    /// repetition's).
    #[arg(long, value_name = "N", default_value = "1")]
    pub repeat: NonZeroUsize,
    /// Gives each repetition its own seed, derived from the base seed and recorded in
    /// the report (by default all share the seed, so only the machine's noise varies).
    #[arg(long)]
    pub vary_seed: bool,
}

impl RunArgs {
    /// The flags as one typed request, before any work.
    fn request(&self) -> RunRequest {
        RunRequest {
            modes: match self.mode {
                ModeArg::Compare => Modes::Compare,
                ModeArg::Sequential => Modes::Sequential,
                ModeArg::Parallel => Modes::Parallel,
                ModeArg::Batch => Modes::Batch,
            },
            max_concurrency: self.max_concurrency,
            clock: match self.clock {
                ClockArg::Real => ClockKind::Real,
                ClockArg::Virtual => ClockKind::Virtual,
            },
            seed: self.seed,
        }
    }

    /// `--repeat` and `--vary-seed`.
    fn repeat(&self) -> Repeat {
        Repeat {
            count: self.repeat,
            vary_seed: self.vary_seed,
        }
    }
}

fn load(path: Option<&Path>) -> Result<Scenario, ScenarioError> {
    match path {
        Some(path) => scenario::load(path),
        None => scenario::parse(EMBEDDED, Path::new("<embedded>/independent_io.toml")),
    }
}

pub(super) fn run(args: &RunArgs) -> u8 {
    let scenario = match load(args.scenario.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{}", diagnostic::render(&e));
            return EXIT_INPUT;
        }
    };
    let output = match args.json.as_deref().map(Output::prepare).transpose() {
        Ok(o) => o,
        Err(e) => {
            let path = args.json.as_deref().unwrap_or(Path::new("-"));
            eprintln!("error: cannot write the JSON report to {}: {e}", path.display());
            return EXIT_INPUT;
        }
    };
    let request = args.request();
    let show_progress = request.clock == ClockKind::Real && std::io::stderr().is_terminal();
    let calls = scenario.plan.calls().len() as u64;
    let report = harness::run_repeated(&scenario, &request, args.repeat(), |mode| {
        Progress::new(show_progress, mode, calls)
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INPUT;
        }
    };

    let table_to_stderr = output.as_ref().is_some_and(Output::is_stdout);
    let mut table = Vec::new();
    let _ = Terminal.render(&report, &mut table);
    let _ = if table_to_stderr {
        std::io::stderr().write_all(&table)
    } else {
        std::io::stdout().write_all(&table)
    };
    if let Some(output) = output {
        let mut json = Vec::new();
        let _ = Json.render(&report, &mut json);
        if let Err(e) = output.commit(&json) {
            eprintln!("error: cannot write the JSON report: {e}");
            return EXIT_INPUT;
        }
    }
    let failures = failures(&report, args.check);
    for failure in &failures {
        eprintln!("check failed: {failure}");
    }
    if failures.is_empty() { 0 } else { EXIT_EXPECTATION }
}

/// What makes the run fail: an expectation that did not hold; with `--check`, also one
/// that was not measured, and a speedup above its own bound.
fn failures(report: &Report, check: bool) -> Vec<String> {
    let mut out: Vec<String> = report
        .expectations
        .iter()
        .filter(|e| e.ok == Some(false) || (check && e.ok.is_none()))
        .map(|e| format!("{}: {}", e.name, e.detail))
        .collect();
    if check
        && let (Some(speedup), Some(bound)) = (report.speedup, report.speedup_bound)
        && speedup > bound * BOUND_TOLERANCE
    {
        out.push(format!(
            "speedup {speedup:.3} exceeds its theoretical bound {bound:.3}: the measurement is not trustworthy"
        ));
    }
    out
}

/// A progress bar of ended calls, for real-time runs on a terminal.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(show: bool, mode: RunMode, calls: u64) -> Self {
        Self(show.then(|| {
            let bar = ProgressBar::new(calls).with_message(mode.as_str());
            bar.set_style(
                ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} calls  {elapsed}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        }))
    }
}

impl Observer for Progress {
    fn call_ended<O>(&mut self, _: CallIdx, _: &CallOutcome<O>) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
