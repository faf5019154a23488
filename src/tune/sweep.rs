//! Runs a scenario once per concurrency level, on the same seed, and measures each run.
//!
//! Every level draws the same per-call latencies, failures and arrival times (paired
//! samples, see [`crate::seed`]), so levels differ only in concurrency. Level 1 is the
//! sequential baseline of every speedup and of the work–span bound.

use std::num::NonZeroUsize;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Levels;
use super::model::LevelReport;
use crate::clock::ClockKind;
use crate::executor::{CallStatus, NoopObserver, RunOutcome, Schedule};
use crate::harness::{self, HarnessError};
use crate::report::speedup::ratio;
use crate::report::{SpeedupBound, Work};
use crate::scenario::Scenario;
use crate::stats::LatencyHistogram;

/// The pause between two levels of a sweep against real tools.
pub const PAUSE_BETWEEN_REAL_LEVELS: Duration = Duration::from_millis(500);

/// What to sweep, resolved from flags and the scenario.
#[derive(Clone, Debug)]
pub struct SweepPlan {
    /// The levels; 1 is added if missing.
    pub levels: Levels,
    /// How each level is run.
    pub runs: RunSettings,
}

/// How every run of a sweep (of levels or of rates) is made.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// The clock every run is on.
    pub clock: ClockKind,
    /// The seed of every run.
    pub seed: u64,
    /// Ends the sweep when cancelled; the run cut short is not reported.
    pub interrupt: Option<CancellationToken>,
}

/// Measures `scenario` at each level of `sweep`, calling `progress` after each one.
///
/// The sweep tunes the sliding window: a scenario in batch mode is run as a window.
///
/// # Errors
///
/// [`HarnessError`] when the runtime or the simulated tools cannot start.
pub fn run(
    scenario: &Scenario,
    sweep: &SweepPlan,
    mut progress: impl FnMut(&LevelReport),
) -> Result<Vec<LevelReport>, HarnessError> {
    let runner = Runner::new(scenario, &sweep.runs)?;
    let levels = sweep.levels.with_baseline();
    // The first level is 1: the baseline of itself and of every other level.
    let mut baseline: Option<(Duration, Work, bool)> = None;
    let mut reports = Vec::with_capacity(levels.get().len());
    let real = scenario.real.iter().any(Option::is_some);
    for (i, &level) in levels.get().iter().enumerate() {
        if real && i > 0 {
            // The same server for every level, one after another: a pause lets what the
            // last level left in flight on the server (queues, connections) settle.
            std::thread::sleep(PAUSE_BETWEEN_REAL_LEVELS);
        }
        let Some((outcome, work)) = runner.run(scenario, level)? else {
            break;
        };
        let (wall, base_work, deadline_hit) =
            baseline.get_or_insert_with(|| (outcome.wall, work.clone(), outcome.deadline_hit));
        let report = measure(
            scenario,
            level,
            &outcome,
            &work,
            (*wall, base_work, *deadline_hit),
            runner.cores,
        );
        progress(&report);
        reports.push(report);
    }
    Ok(reports)
}

/// Runs a scenario (or variants of it with the same tools) at one level at a time, on
/// one runtime.
pub(super) struct Runner {
    inner: harness::Runner,
    pub(super) cores: NonZeroUsize,
}

impl Runner {
    pub(super) fn new(scenario: &Scenario, settings: &RunSettings) -> Result<Self, HarnessError> {
        let inner = harness::Runner::new(scenario, settings.clock, settings.seed, settings.interrupt.clone())?;
        Ok(Self {
            cores: inner.cores(),
            inner,
        })
    }

    /// One run of `scenario`'s sliding window at `level`, on a fresh clock, and the work
    /// its calls did; `None` when the sweep was interrupted before or during it.
    pub(super) fn run(
        &self,
        scenario: &Scenario,
        level: NonZeroUsize,
    ) -> Result<Option<(RunOutcome<()>, Work)>, HarnessError> {
        if self.inner.interrupted() {
            return Ok(None);
        }
        let mut config = scenario.executor.clone();
        config.max_concurrency = level;
        config.schedule = Schedule::Window;
        let (outcome, work) = self.inner.run(scenario, config, &mut NoopObserver)?;
        Ok((!outcome.interrupted).then_some((outcome, work)))
    }
}

/// The cores CPU tools get: the scenario's under simulated time, the machine's in real
/// time (as in `parabench run`).
pub fn cores(scenario: &Scenario, clock: ClockKind) -> NonZeroUsize {
    clock.cores(scenario.cpu_cores)
}

/// Latency and queue-wait figures of a run.
pub(super) struct Latencies {
    pub(super) latency: LatencyHistogram,
    pub(super) queue: LatencyHistogram,
    /// The exact mean queue wait, not the histogram's: queueing theory is checked
    /// against it.
    pub(super) queue_mean: Duration,
}

impl Latencies {
    pub(super) fn of(run: &RunOutcome<()>) -> Self {
        let mut latency = LatencyHistogram::new();
        let mut queue = LatencyHistogram::new();
        let mut queue_total = Duration::ZERO;
        for call in &run.calls {
            if let (Some(wait), Some(service)) = (call.queue_wait(), call.service_time()) {
                latency.record(wait + service);
                queue.record(wait);
                queue_total += wait;
            }
        }
        let queue_mean = queue_total / u32::try_from(queue.len().max(1)).unwrap_or(u32::MAX);
        Self {
            latency,
            queue,
            queue_mean,
        }
    }
}

/// The `q` quantile in seconds. The histogram records a zero wait as its floor of 1 ns;
/// that is reported as the zero it was.
pub(super) fn quantile_s(h: &LatencyHistogram, q: f64) -> f64 {
    let d = h.quantile(q);
    if d <= Duration::from_nanos(1) {
        0.0
    } else {
        d.as_secs_f64()
    }
}

/// Successful calls per second of wall time.
pub(super) fn throughput(run: &RunOutcome<()>) -> f64 {
    if run.wall.is_zero() {
        0.0
    } else {
        run.count(CallStatus::Ok) as f64 / run.wall.as_secs_f64()
    }
}

/// The figures of one level.
fn measure(
    scenario: &Scenario,
    level: NonZeroUsize,
    run: &RunOutcome<()>,
    work: &Work,
    (baseline_wall, baseline_work, baseline_deadline_hit): (Duration, &Work, bool),
    cores: NonZeroUsize,
) -> LevelReport {
    let Latencies {
        latency,
        queue,
        queue_mean,
    } = Latencies::of(run);
    let ok = run.count(CallStatus::Ok);
    let calls = run.calls.len();
    // A run cut at its deadline did less work than the other: no ratio compares them.
    let comparable = !run.deadline_hit && !baseline_deadline_hit;
    let (speedup, bound) = if comparable {
        let bound = SpeedupBound::new(&scenario.plan, &baseline_work.common(work), level.get(), cores.get());
        (Some(ratio(baseline_wall, run.wall)), Some(bound))
    } else {
        (None, None)
    };
    let speedup_bound = bound.as_ref().map(|b| b.speedup_bound(baseline_wall));
    let secs = |d: Duration| d.as_secs_f64();
    LevelReport {
        max_concurrency: level.get(),
        wall_s: secs(run.wall),
        throughput: throughput(run),
        speedup,
        speedup_bound,
        efficiency: speedup.zip(speedup_bound).map(|(s, b)| s / b),
        binding: bound.map(|b| b.binding),
        deadline_hit: run.deadline_hit,
        max_in_flight: Some(run.max_in_flight()),
        p50_s: quantile_s(&latency, 0.5),
        p99_s: quantile_s(&latency, 0.99),
        queue_p50_s: quantile_s(&queue, 0.5),
        queue_p99_s: quantile_s(&queue, 0.99),
        queue_mean_s: secs(queue_mean),
        errors: calls - ok,
        error_rate: (calls - ok) as f64 / calls.max(1) as f64,
        retries: run.calls.iter().map(|c| u64::from(c.attempts.saturating_sub(1))).sum(),
    }
}
