//! Runs a scenario: the sequential baseline and the parallel run on the same sampled
//! calls, then the speedup, its bound and the expectations, as one [`Report`].
//!
//! This is the library form of `parabench run`; benches and `tune` use it too.

mod attempt_log;
mod runner;

use std::num::NonZeroUsize;
use std::time::Duration;

use attempt_log::AttemptLog;
pub(crate) use runner::Runner;
use tokio_util::sync::CancellationToken;

use crate::clock::ClockKind;
use crate::executor::RunMode;
use crate::executor::{ExecutorConfig, Observer, Schedule};
use crate::report::expect::{self, Measured};
use crate::report::model::{CallRecords, DeadlineComparison, Repetition, Report, RunReport, SCHEMA_VERSION, Samples};
use crate::report::repetitions::summarize;
use crate::report::speedup::{BATCH_SIZE, MAX_CONCURRENCY, SpeedupBound, Work, ratio};
use crate::scenario::{ArrivalsError, Scenario};
use crate::seed::repetition_seed;
use crate::sim::SimError;

/// Which runs to make (`run --mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Modes {
    /// Sequential, then the scenario's parallel mode: gives the speedup.
    #[default]
    Compare,
    /// Only the sequential baseline.
    Sequential,
    /// Only a sliding window.
    Parallel,
    /// Only fixed batches.
    Batch,
}

/// A fully resolved request to run a scenario: flags already applied over the file.
#[derive(Clone, Debug, Default)]
pub struct RunRequest {
    /// Which runs to make.
    pub modes: Modes,
    /// Overrides the scenario's `max_concurrency`.
    pub max_concurrency: Option<NonZeroUsize>,
    /// The clock.
    pub clock: ClockKind,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Whether the report keeps a record per call (`run --no-calls` omits them).
    pub call_records: CallRecords,
    /// Stops the work early when cancelled: the run in progress ends at once with its
    /// unfinished calls `cancelled`, no later run or repetition starts, and the report
    /// is marked [partial](Report::partial).
    pub interrupt: Option<CancellationToken>,
    /// Where real calls find their span's `traceparent` to send their servers (when the
    /// run is traced).
    pub trace: Option<std::sync::Arc<dyn crate::real::TraceContext>>,
}

impl RunRequest {
    fn interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(CancellationToken::is_cancelled)
    }
}

/// How many times `run --repeat` makes the whole comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repeat {
    /// Repetitions, at least one.
    pub count: NonZeroUsize,
    /// Whether each repetition draws from its own seed, derived from the base seed by
    /// [`repetition_seed`]; by default all share it, so the simulated calls are the same
    /// and only the machine's noise varies.
    pub vary_seed: bool,
}

impl Default for Repeat {
    /// One repetition: a plain run.
    fn default() -> Self {
        Self {
            count: NonZeroUsize::MIN,
            vary_seed: false,
        }
    }
}

/// Why a scenario could not run at all (a failed call is not an error: it is data).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// The simulated tools could not be built.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The arrivals drawn from the run's seed bring no call at all.
    #[error(transparent)]
    Arrivals(#[from] ArrivalsError),
    /// The scenario cannot run this way (a real tool on the virtual clock).
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// A real tool's server cannot be reached, or does not have the tool.
    #[error(transparent)]
    Connect(#[from] crate::real::ConnectError),
}

/// Connects to every real tool of `scenario` and checks it, making no call (see
/// [`crate::real::RealTools::connect`]); what each calls, by tool.
///
/// # Errors
///
/// [`HarnessError::Connect`] for a tool that cannot be used.
pub fn check_real_tools(scenario: &Scenario) -> Result<Vec<(String, String)>, HarnessError> {
    let runner = Runner::new(scenario, ClockKind::Real, scenario.seed, None)?;
    drop(runner);
    Ok(scenario.real_targets())
}

/// Runs `scenario` as `request` says and builds the report.
///
/// # Errors
///
/// [`HarnessError`] when the runtime or the simulated tools cannot start.
pub fn run(scenario: &Scenario, request: &RunRequest) -> Result<Report, HarnessError> {
    run_observed(scenario, request, |_| crate::executor::NoopObserver)
}

/// [`run`], with an observer per run made by `observer(mode)`.
///
/// # Errors
///
/// [`HarnessError`] when the runtime or the simulated tools cannot start.
pub fn run_observed<B: Observer>(
    scenario: &Scenario,
    request: &RunRequest,
    mut observer: impl FnMut(RunMode) -> B,
) -> Result<Report, HarnessError> {
    let seed = request.seed.unwrap_or(scenario.seed);
    let scenario = &*scenario.with_seed(seed)?;
    let parallel = parallel_config(scenario, request, seed);
    let parallel_mode = match (request.modes, parallel.schedule) {
        (Modes::Batch, _) | (Modes::Compare, Schedule::Batch { .. }) => RunMode::Batch,
        _ => RunMode::Parallel,
    };
    let runs: Vec<(RunMode, ExecutorConfig)> = match request.modes {
        Modes::Compare => vec![
            (RunMode::Sequential, parallel.sequential()),
            (parallel_mode, parallel.clone()),
        ],
        Modes::Sequential => vec![(RunMode::Sequential, parallel.sequential())],
        Modes::Parallel | Modes::Batch => vec![(parallel_mode, parallel.clone())],
    };
    let mut runner = Runner::new(scenario, request.clock, seed, request.interrupt.clone())?;
    if let Some(trace) = &request.trace {
        runner.traced(trace.clone());
    }
    let compare = request.modes == Modes::Compare;
    // Each run's outcomes are dropped once summarised, so a run of a million calls holds
    // one run's outcomes at a time: the bound keeps only the work each call did, and the
    // speedup needs only the walls.
    let mut walls: Vec<(RunMode, Duration)> = Vec::with_capacity(runs.len());
    let mut works: Vec<Work> = Vec::with_capacity(runs.len());
    let mut partial = false;
    let mut reports: Vec<RunReport> = Vec::with_capacity(runs.len());
    for (mode, config) in runs {
        // A run stopped before it began is not reported at all: it measured nothing.
        if request.interrupted() && !reports.is_empty() {
            partial = true;
            break;
        }
        let keep_calls = request.call_records == CallRecords::Keep;
        let log = keep_calls.then(|| AttemptLog::new(scenario.plan.calls().len()));
        let mut obs = (log, observer(mode));
        let batch_size = match config.schedule {
            Schedule::Batch { size } => Some(size.get()),
            Schedule::Window => None,
        };
        let (outcome, work) = runner.run(scenario, config, &mut obs)?;
        let mut report = RunReport::build(&scenario.plan, mode, &outcome, request.call_records);
        report.batch_size = batch_size;
        reports.push(match obs.0 {
            Some(log) => report.with_attempt_spans(log.into_spans()),
            None => report,
        });
        partial |= outcome.interrupted;
        if compare {
            works.push(work);
        }
        walls.push((mode, outcome.wall));
    }

    // A run cut at its deadline did less work than the other: a ratio of their walls
    // would compare two different workloads.
    let cut_by_deadline = compare && !partial && reports.iter().any(|r| r.deadline_hit);
    let within_deadline = cut_by_deadline
        .then(|| parallel.deadline.map(|d| DeadlineComparison::new(d, &reports)))
        .flatten();
    let (speedup, bound) = match (walls.as_slice(), works.as_slice()) {
        // A speedup from a run cut short would be a ratio of two different workloads.
        _ if partial || cut_by_deadline => (None, None),
        ([(RunMode::Sequential, seq), (_, par)], [seq_work, par_work]) => {
            let work = seq_work.common(par_work);
            let (limit, limit_term) = effective_limit(&parallel);
            let bound = SpeedupBound::new(&scenario.plan, &work, limit, runner.cores().get()).named(limit_term);
            (Some(ratio(*seq, *par)), Some((bound.speedup_bound(*seq), bound)))
        }
        _ => (None, None),
    };
    let speedup_bound = bound.as_ref().map(|(b, _)| *b);
    let efficiency = speedup.zip(speedup_bound).map(|(s, b)| s / b);
    let tested = reports.last().expect("at least one run");
    let expectations = if partial {
        expect::not_measured_all(&scenario.expect, "the run was interrupted")
    } else {
        let no_speedup = if cut_by_deadline {
            "not measured: a run hit its deadline, so the runs did different work (see the calls \
             completed within the deadline)"
        } else {
            expect::ONE_MODE
        };
        expect::check(
            &scenario.expect,
            Measured {
                run: tested,
                speedup,
                efficiency,
                no_speedup,
            },
        )
    };
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        scenario: scenario.name.clone(),
        seed,
        clock: request.clock.as_str().to_string(),
        samples: if scenario.real.iter().any(Option::is_some) {
            Samples::Measured
        } else {
            Samples::Paired
        },
        parabench_version: env!("CARGO_PKG_VERSION").to_string(),
        runs: reports,
        speedup,
        speedup_bound,
        efficiency,
        bound: bound.map(|(_, b)| b.to_report()),
        expectations,
        repetitions: Vec::new(),
        summary: None,
        partial,
        repetitions_requested: None,
        within_deadline,
    })
}

/// Runs the whole comparison `repeat.count` times and builds one report.
///
/// The report's own runs, speedup and expectations are those of the first repetition,
/// so a reader that knows nothing of repetitions sees a plain run. With more than one
/// repetition it also holds every repetition's figures and their summary.
///
/// # Errors
///
/// [`HarnessError`] when the runtime or the simulated tools cannot start.
pub fn run_repeated<B: Observer>(
    scenario: &Scenario,
    request: &RunRequest,
    repeat: Repeat,
    mut observer: impl FnMut(RunMode) -> B,
) -> Result<Report, HarnessError> {
    let base = request.seed.unwrap_or(scenario.seed);
    let mut reports = Vec::with_capacity(repeat.count.get());
    for index in 0..repeat.count.get() {
        let seed = if repeat.vary_seed {
            repetition_seed(base, index)
        } else {
            base
        };
        let request = RunRequest {
            seed: Some(seed),
            ..request.clone()
        };
        let mut report = run_observed(scenario, &request, &mut observer)?;
        let partial = report.partial;
        if !reports.is_empty() {
            // Per-call detail is kept for the first repetition only: free the others'
            // now rather than holding every repetition's records until the end.
            for run in &mut report.runs {
                run.calls = Vec::new();
            }
        }
        // An interrupted repetition is kept only when it is the first, which the report
        // stands for; a later one would bias the summary towards short runs.
        if !partial || reports.is_empty() {
            reports.push(report);
        }
        if partial {
            break;
        }
    }
    // Fewer repetitions than asked: one was cut short (and dropped, unless the first).
    // Derived from what ran, so a signal that comes after the last run marks nothing.
    let partial = reports.len() < repeat.count.get();
    let repetitions: Vec<Repetition> = reports
        .iter_mut()
        .enumerate()
        .map(|(i, r)| Repetition {
            index: i + 1,
            seed: r.seed,
            runs: r.runs.iter_mut().map(without_calls).collect(),
            speedup: r.speedup,
            speedup_bound: r.speedup_bound,
            efficiency: r.efficiency,
        })
        .collect();
    let mut report = reports.swap_remove(0);
    report.partial |= partial;
    if report.partial && repeat.count.get() > 1 {
        report.repetitions_requested = Some(repeat.count.get());
    }
    if repetitions.len() > 1 {
        report.summary = Some(summarize(&repetitions, repeat.vary_seed));
        report.repetitions = repetitions;
    }
    Ok(report)
}

/// A copy of `run` with no per-call records, made without copying them.
fn without_calls(run: &mut RunReport) -> RunReport {
    let calls = std::mem::take(&mut run.calls);
    let copy = run.clone();
    run.calls = calls;
    copy
}

/// The scenario's executor settings with the request's overrides.
fn parallel_config(scenario: &Scenario, request: &RunRequest, seed: u64) -> ExecutorConfig {
    let mut config = scenario.executor.clone();
    config.seed = seed;
    if let Some(n) = request.max_concurrency {
        config.max_concurrency = n;
    }
    match request.modes {
        Modes::Parallel => config.schedule = Schedule::Window,
        Modes::Batch if config.schedule == Schedule::Window => {
            config.schedule = Schedule::Batch {
                size: config.max_concurrency,
            };
        }
        _ => {}
    }
    config
}

/// Calls that can really be in flight at once under `config`, and what sets that: the
/// global limit, or the batch size when batches are smaller.
fn effective_limit(config: &ExecutorConfig) -> (usize, &'static str) {
    match config.schedule {
        Schedule::Batch { size } if size < config.max_concurrency => (size.get(), BATCH_SIZE),
        _ => (config.max_concurrency.get(), MAX_CONCURRENCY),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::executor::CallStatus;

    const SCENARIO: &str = r#"name = "t"
[executor]
max_concurrency = 4
[tools.api]
latency = { dist = "lognormal", median = "20ms", p99 = "200ms" }
failure_rate = 0.2
[[generate]]
count = 40
id_prefix = "c"
tool = "api"
[expect]
min_speedup = 2.0
max_p99 = "1s"
"#;

    fn scenario() -> Scenario {
        crate::scenario::parse(SCENARIO, Path::new("t.toml")).unwrap()
    }

    fn virtual_request() -> RunRequest {
        RunRequest {
            clock: ClockKind::Virtual,
            ..RunRequest::default()
        }
    }

    #[test]
    fn an_interrupted_run_is_partial_and_nothing_is_derived_from_it() {
        let stop = CancellationToken::new();
        stop.cancel();
        let request = RunRequest {
            interrupt: Some(stop),
            ..virtual_request()
        };
        let repeat = Repeat {
            count: NonZeroUsize::new(3).unwrap(),
            vary_seed: true,
        };
        let report = run_repeated(&scenario(), &request, repeat, |_| crate::executor::NoopObserver).unwrap();
        assert!(report.partial);
        // The sequential run was cut at its start; neither the parallel run nor the
        // later repetitions began.
        assert_eq!(report.runs.len(), 1);
        assert!(report.runs[0].interrupted);
        assert_eq!(report.runs[0].tools["api"].cancelled, 40);
        assert!(report.repetitions.is_empty() && report.summary.is_none());
        assert_eq!(
            (report.speedup, report.speedup_bound, report.efficiency),
            (None, None, None)
        );
        let names: Vec<_> = report.expectations.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["min_speedup", "max_p99"]);
        assert!(report.expectations.iter().all(|e| e.ok.is_none()));
    }

    #[test]
    fn a_run_left_alone_is_not_partial() {
        let request = RunRequest {
            interrupt: Some(CancellationToken::new()),
            ..virtual_request()
        };
        let report = run(&scenario(), &request).unwrap();
        assert!(!report.partial && report.runs.iter().all(|r| !r.interrupted));
        assert!(report.speedup.is_some());
        assert!(report.expectations.iter().all(|e| e.ok.is_some()));
    }

    #[test]
    fn omitting_call_records_keeps_every_figure() {
        let with = run(&scenario(), &virtual_request()).unwrap();
        let without = run(
            &scenario(),
            &RunRequest {
                call_records: CallRecords::Omit,
                ..virtual_request()
            },
        )
        .unwrap();
        assert!(with.runs.iter().all(|r| r.calls.len() == 40));
        assert!(without.runs.iter().all(|r| r.calls.is_empty() && r.call_count() == 40));
        let figures = |r: &Report| {
            (
                r.speedup,
                r.runs
                    .iter()
                    .map(|r| (r.wall_s, r.latency, r.tools.clone()))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(figures(&with), figures(&without));
        assert!(with.runs[1].calls.iter().any(|c| c.status == CallStatus::Error));
    }
}
