//! `parabench run`: the sequential and parallel runs, the speedup and the report.

use std::io::{self, IsTerminal, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::export;
use super::interrupt::Interrupt;
use super::output::{self, Output};
use super::report::write_html;
use super::{EXIT_EXPECTATION, EXIT_INPUT, diagnostic};
use crate::clock::ClockKind;
use crate::executor::RunMode;
use crate::executor::{CallOutcome, Observer};
use crate::harness::{self, Modes, Repeat, RunRequest};
use crate::plan::CallIdx;
use crate::report::hlog;
use crate::report::json::Json;
use crate::report::model::{CallRecords, MAX_CALL_RECORDS};
use crate::report::speedup::BOUND_TOLERANCE;
use crate::report::terminal::Terminal;
use crate::report::{Render, Report};
use crate::scenario::{self, Scenario, ScenarioError};
use crate::telemetry::{Destinations, ScenarioInfo, Telemetry};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Arguments of `parabench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file, or a shipped scenario's name (default: the shipped
    /// independent_io, built into the binary).
    pub scenario: Option<PathBuf>,
    /// Which runs to make.
    #[arg(long, value_enum, default_value_t)]
    pub mode: Modes,
    /// Overrides the scenario's max_concurrency.
    #[arg(long, value_name = "N", value_parser = super::positive_count)]
    pub max_concurrency: Option<NonZeroUsize>,
    /// Real (wall) time, or simulated time.
    #[arg(long, value_enum, default_value_t)]
    pub clock: ClockKind,
    /// Overrides the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Writes the JSON report to FILE (`-` for standard output; the table then goes to
    /// standard error).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Writes a self-contained HTML page to FILE: the summary, each run's timeline,
    /// calls in flight against the limits, per-tool latency.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Leaves the per-call records (times, attempts, errors) out of the JSON report and
    /// never builds them: for runs of millions of calls, where they would take more
    /// memory than the run. Per-tool figures and histograms are kept; --html needs the
    /// records. Required above 2,000,000 calls.
    #[arg(long, conflicts_with = "html")]
    pub no_calls: bool,
    /// Writes the HDR histograms (per mode, tool, service time and queue wait) to FILE as
    /// an HdrHistogram interval log.
    #[arg(long, value_name = "FILE")]
    pub hlog: Option<PathBuf>,
    /// Exports spans and metrics over OTLP to ENDPOINT (default: OTEL_EXPORTER_OTLP_ENDPOINT,
    /// else the local collector for OTEL_EXPORTER_OTLP_PROTOCOL). Without this flag, export
    /// is on only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    #[arg(long, value_name = "ENDPOINT", num_args = 0..=1, require_equals = false)]
    pub otlp: Option<Option<String>>,
    /// Writes the run's spans (the same spans as OTLP export) to FILE as OTLP/JSON Lines,
    /// one `TracesData` per line, as the Collector's file exporter writes them: no
    /// collector needed, Jaeger's UI can upload the file, and `parabench analyze` reads it.
    #[arg(long, value_name = "FILE")]
    pub trace_file: Option<PathBuf>,
    /// Fails (exit 2) unless every expectation was measured and held and the speedup is
    /// within its theoretical bound.
    #[arg(long)]
    pub check: bool,
    /// Repeats the whole comparison N times; the report keeps every repetition and each
    /// figure's median and confidence interval (its own figures are the first
    /// repetition's).
    #[arg(long, value_name = "N", default_value = "1", value_parser = super::positive_count)]
    pub repeat: NonZeroUsize,
    /// Gives each repetition its own seed, derived from the base seed and recorded in
    /// the report (by default all share the seed, so only the machine's noise varies).
    #[arg(long)]
    pub vary_seed: bool,
    /// Checks the real tools (`kind = "mcp"` or `"http"`) without calling them: connects to
    /// every server (starting stdio ones), lists its tools, checks each named one is
    /// there, reaches every HTTP host; then exits, 0 if all is well.
    #[arg(long)]
    pub dry_run: bool,
}

impl RunArgs {
    /// The flags as one typed request, before any work.
    fn request(&self) -> RunRequest {
        RunRequest {
            modes: self.mode,
            max_concurrency: self.max_concurrency,
            clock: self.clock,
            seed: self.seed,
            call_records: if self.no_calls {
                CallRecords::Omit
            } else {
                CallRecords::Keep
            },
            interrupt: None,
            trace: None,
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

/// A scenario with real tools runs on the real clock only: the error is located at the
/// first real tool's `kind`.
pub(super) fn real_tools_allowed(scenario: &Scenario, clock: ClockKind) -> Result<(), ScenarioError> {
    match scenario.real.iter().flatten().next() {
        Some(real) if clock == ClockKind::Virtual => Err(ScenarioError::Invalid(real.kind_site.clone())),
        _ => Ok(()),
    }
}

/// Says, before anything runs, which real servers the run will call: nothing is sent
/// to a host the user has not been shown. On standard output, with the report to come,
/// unless a document takes standard output (`--json -`).
pub(super) fn print_real_targets(scenario: &Scenario, stdout_taken: bool) {
    let targets = scenario.real_targets();
    if targets.is_empty() {
        return;
    }
    let mut text = String::from("real tools (their latencies are measured, not drawn):\n");
    for (tool, target) in targets {
        text.push_str(&format!("  {tool:<12} {target}\n"));
    }
    if stdout_taken {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

/// `run --dry-run`: every real tool connected and checked, and nothing called.
fn dry_run(scenario: &Scenario) -> u8 {
    if scenario.real_targets().is_empty() {
        println!(
            "{}: no real tools: nothing to connect to (every tool is simulated)",
            scenario.name
        );
        return 0;
    }
    match harness::check_real_tools(scenario) {
        Ok(targets) => {
            for (tool, target) in targets {
                println!("ok  {tool:<12} {target}");
            }
            println!(
                "{}: every real tool is reachable and listed; nothing was called",
                scenario.name
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_INPUT
        }
    }
}

fn load(path: Option<&Path>) -> Result<Scenario, ScenarioError> {
    match path {
        Some(path) => scenario::load_or_shipped(path),
        None => scenario::shipped::find(scenario::shipped::DEFAULT)
            .expect("the default is shipped")
            .scenario(),
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
    if let Err(e) = real_tools_allowed(&scenario, args.clock) {
        eprint!("{}", diagnostic::render(&e));
        return EXIT_INPUT;
    }
    if args.dry_run {
        return dry_run(&scenario);
    }
    let document_on_stdout = [&args.json, &args.html]
        .iter()
        .any(|o| o.as_deref() == Some(Path::new("-")));
    print_real_targets(&scenario, document_on_stdout);
    let calls = scenario.plan.calls().len();
    if !args.no_calls && calls > MAX_CALL_RECORDS {
        eprintln!(
            "error: {} has {calls} calls, more than the {MAX_CALL_RECORDS} whose per-call records a report may \
             keep (they are kept by default, and --html needs them); run it with --no-calls (per-tool figures \
             and histograms are kept)",
            args.scenario
                .as_deref()
                .map_or("the scenario".into(), |p| p.display().to_string())
        );
        return EXIT_INPUT;
    }
    let outputs = [
        ("--json", args.json.as_deref()),
        ("--hlog", args.hlog.as_deref()),
        ("--html", args.html.as_deref()),
        ("--trace-file", args.trace_file.as_deref()),
    ];
    if let Err(e) = output::check_distinct(&outputs) {
        eprintln!("error: {e}");
        return EXIT_INPUT;
    }
    // Installed before the first temporary file exists, so no signal can end the
    // process by its default action and leave one behind.
    let interrupt = Interrupt::install_or_warn();
    let output = match output::prepare_named(args.json.as_deref(), "JSON report") {
        Ok(o) => o,
        Err(()) => return EXIT_INPUT,
    };
    let hlog = match output::prepare_named(args.hlog.as_deref(), "interval log") {
        Ok(o) => o,
        Err(()) => return EXIT_INPUT,
    };
    let html = match output::prepare_named(args.html.as_deref(), "HTML report") {
        Ok(o) => o,
        Err(()) => return EXIT_INPUT,
    };
    let (destinations, trace_finish) = match export::destinations(args.otlp.clone(), args.trace_file.as_deref()) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let request = RunRequest {
        interrupt: interrupt.as_ref().map(Interrupt::token),
        ..args.request()
    };
    let repeat = args.repeat();
    let telemetry = if destinations.is_empty() {
        None
    } else {
        start_telemetry(destinations, &scenario, &request, repeat.count.get())
    };
    // Real calls send their span's context to their servers when the run is traced.
    let request = RunRequest {
        trace: telemetry.as_ref().map(|t| t.trace_context()),
        ..request
    };
    let show_progress = request.clock == ClockKind::Real && std::io::stderr().is_terminal();
    let calls = scenario.plan.calls().len() as u64;
    let report = harness::run_repeated(&scenario, &request, repeat, |mode| {
        (
            Progress::new(show_progress, mode, calls),
            telemetry.as_ref().map(|t| t.run_observer(&scenario.plan, mode)),
        )
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(t) = telemetry {
                export::finish(t, None, trace_finish);
            }
            return EXIT_INPUT;
        }
    };
    let outputs = Outputs {
        json: output,
        hlog,
        html,
    };
    let mut code = write_reports(&report, outputs, args.check, telemetry.as_ref());
    if let Some(t) = telemetry
        && !export::finish(t, Some(&report.scenario_figures()), trace_finish)
    {
        code = EXIT_INPUT;
    }
    interrupt.map_or(code, |i| i.exit_code(report.partial, code))
}

/// Starts export, or warns and runs without it: the local report matters more.
fn start_telemetry(
    destinations: Destinations,
    scenario: &Scenario,
    request: &RunRequest,
    repeat: usize,
) -> Option<Telemetry> {
    let info = ScenarioInfo {
        name: &scenario.name,
        seed: request.seed.unwrap_or(scenario.seed),
        clock: request.clock,
        calls: scenario.plan.calls().len(),
        runs: if request.modes == Modes::Compare { 2 } else { 1 } * repeat,
    };
    match Telemetry::start(destinations, &info) {
        Ok(t) => {
            export::bridge_tracing(&t);
            Some(t)
        }
        Err(e) => {
            eprintln!("warning: {e}; running without telemetry export");
            None
        }
    }
}

/// The report files asked for, opened before the run.
struct Outputs {
    json: Option<Output>,
    hlog: Option<Output>,
    html: Option<Output>,
}

/// Prints the table and writes the report files; returns the exit code.
fn write_reports(report: &Report, outputs: Outputs, check: bool, telemetry: Option<&Telemetry>) -> u8 {
    let Outputs {
        json: output,
        hlog,
        html,
    } = outputs;
    let span = tracing::info_span!("write_reports");
    if let Some(t) = telemetry {
        let _ = span.set_parent(t.context().clone());
    }
    let _entered = span.enter();

    let table_to_stderr =
        output.as_ref().is_some_and(Output::is_stdout) || html.as_ref().is_some_and(Output::is_stdout);
    let mut table = Vec::new();
    let _ = Terminal.render(report, &mut table);
    let _ = if table_to_stderr {
        std::io::stderr().write_all(&table)
    } else {
        std::io::stdout().write_all(&table)
    };
    if let Some(output) = output {
        let path = output.path().display().to_string();
        if let Err(e) = output.commit_with(|out| Json.render(report, out)) {
            eprintln!("error: cannot write the JSON report to {path}: {e}");
            return EXIT_INPUT;
        }
    }
    if let Some(hlog) = hlog {
        let path = hlog.path().display().to_string();
        let written =
            hlog.commit_with(|out| hlog::write(report, &mut &mut *out, "interval log").map_err(io::Error::other));
        if let Err(e) = written {
            eprintln!("error: cannot write the interval log to {path}: {e}");
            return EXIT_INPUT;
        }
    }
    if let Some(html) = html {
        let path = html.path().display().to_string();
        if let Err(e) = write_html(report, html) {
            eprintln!("error: cannot write the HTML report to {path}: {e}");
            return EXIT_INPUT;
        }
    }
    let failures = failures(report, check);
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
