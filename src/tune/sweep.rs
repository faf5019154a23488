//! Runs a scenario once per concurrency level, on the same seed, and measures each run.
//!
//! Every level draws the same per-call latencies, failures and arrival times (paired
//! samples, see [`crate::seed`]), so levels differ only in concurrency. Level 1 is the
//! sequential baseline of every speedup and of the work–span bound.

use std::num::NonZeroUsize;
use std::time::Duration;

use super::Levels;
use super::model::LevelReport;
use crate::clock::{Clock, virtual_runtime};
use crate::executor::{CallStatus, Executor, RunOutcome, Schedule};
use crate::harness::{ClockKind, HarnessError, machine_cores};
use crate::report::SpeedupBound;
use crate::report::speedup::ratio;
use crate::scenario::Scenario;
use crate::sim::SimTool;
use crate::telemetry::LatencyHistogram;

/// What to sweep, resolved from flags and the scenario.
#[derive(Clone, Debug)]
pub struct SweepPlan {
    /// The levels; 1 is added if missing.
    pub levels: Levels,
    /// The clock every level runs on.
    pub clock: ClockKind,
    /// The seed of every level.
    pub seed: u64,
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
    let cores = cores(scenario, sweep.clock);
    let runtime = match sweep.clock {
        ClockKind::Virtual => virtual_runtime()?,
        ClockKind::Real => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores.get())
            .enable_all()
            .build()?,
    };
    let levels = sweep.levels.with_baseline();
    let mut baseline: Option<RunOutcome<()>> = None;
    let mut reports = Vec::with_capacity(levels.get().len());
    for &level in levels.get() {
        let clock = match sweep.clock {
            ClockKind::Virtual => Clock::simulated(),
            ClockKind::Real => Clock::real(),
        };
        let tool = SimTool::new(
            &scenario.plan,
            scenario.models.clone(),
            sweep.seed,
            clock.clone(),
            cores,
        )?;
        let mut config = scenario.executor.clone();
        config.seed = sweep.seed;
        config.max_concurrency = level;
        config.schedule = Schedule::Window;
        let outcome = runtime.block_on(Executor::new(config).run(&scenario.plan, &tool, &clock));
        let report = match &baseline {
            Some(base) => measure(scenario, level, &outcome, base, cores),
            None => {
                // The first level is 1: the baseline of itself and of every other level.
                let report = measure(scenario, level, &outcome, &outcome, cores);
                baseline = Some(outcome);
                report
            }
        };
        progress(&report);
        reports.push(report);
    }
    Ok(reports)
}

/// The cores CPU tools get: the scenario's under simulated time, the machine's in real
/// time (as in `parabench run`).
pub fn cores(scenario: &Scenario, clock: ClockKind) -> NonZeroUsize {
    match clock {
        ClockKind::Virtual => scenario.cpu_cores.unwrap_or_else(machine_cores),
        ClockKind::Real => machine_cores(),
    }
}

/// The figures of one level.
fn measure(
    scenario: &Scenario,
    level: NonZeroUsize,
    run: &RunOutcome<()>,
    baseline: &RunOutcome<()>,
    cores: NonZeroUsize,
) -> LevelReport {
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
    let ok = run.count(CallStatus::Ok);
    let calls = run.calls.len();
    let bound = SpeedupBound::new(&scenario.plan, baseline, level.get(), cores.get());
    let speedup = ratio(baseline.wall, run.wall);
    let speedup_bound = bound.speedup_bound(baseline.wall);
    let secs = |d: Duration| d.as_secs_f64();
    LevelReport {
        max_concurrency: level.get(),
        wall_s: secs(run.wall),
        throughput: if run.wall.is_zero() {
            0.0
        } else {
            ok as f64 / secs(run.wall)
        },
        speedup,
        speedup_bound,
        efficiency: speedup / speedup_bound,
        binding: bound.binding,
        p50_s: secs(latency.quantile(0.5)),
        p99_s: secs(latency.quantile(0.99)),
        queue_p50_s: secs(queue.quantile(0.5)),
        queue_p99_s: secs(queue.quantile(0.99)),
        // The exact mean, not the histogram's: queueing theory is checked against it.
        queue_mean_s: secs(queue_total) / queue.len().max(1) as f64,
        errors: calls - ok,
        error_rate: (calls - ok) as f64 / calls.max(1) as f64,
        retries: run.calls.iter().map(|c| u64::from(c.attempts.saturating_sub(1))).sum(),
    }
}
