//! One run of a plan at a time, on one clock and one runtime: what `run` and `tune`
//! share, so the clock, the runtime and the cores of a run are decided in one place.

use std::num::NonZeroUsize;

use tokio_util::sync::CancellationToken;

use super::HarnessError;
use crate::clock::ClockKind;
use crate::executor::{Executor, ExecutorConfig, Observer, RunOutcome};
use crate::report::Work;
use crate::scenario::Scenario;
use crate::sim::SimTool;

/// Runs a scenario (or variants of it with the same tools) under one configuration at a
/// time, each run on a fresh clock of one kind.
#[derive(Debug)]
pub(crate) struct Runner {
    runtime: tokio::runtime::Runtime,
    clock: ClockKind,
    cores: NonZeroUsize,
    seed: u64,
    interrupt: Option<CancellationToken>,
}

impl Runner {
    /// A runner for `scenario`'s runs on `clock`, drawing from `seed`, stopped early when
    /// `interrupt` is cancelled.
    pub(crate) fn new(
        scenario: &Scenario,
        clock: ClockKind,
        seed: u64,
        interrupt: Option<CancellationToken>,
    ) -> Result<Self, HarnessError> {
        let cores = clock.cores(scenario.cpu_cores);
        Ok(Self {
            runtime: clock.runtime(cores)?,
            clock,
            cores,
            seed,
            interrupt,
        })
    }

    /// The cores CPU-bound tools get.
    pub(crate) fn cores(&self) -> NonZeroUsize {
        self.cores
    }

    /// Whether the interrupt was cancelled: no further run should start.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(CancellationToken::is_cancelled)
    }

    /// One run of `scenario` under `config` (its seed set to the runner's), reported to
    /// `observer`: its outcome, and the work each call did for the speedup bound.
    pub(crate) fn run<B: Observer>(
        &self,
        scenario: &Scenario,
        mut config: ExecutorConfig,
        observer: &mut B,
    ) -> Result<(RunOutcome<()>, Work), HarnessError> {
        config.seed = self.seed;
        let clock = self.clock.clock();
        let tool = SimTool::new(
            &scenario.plan,
            scenario.models.clone(),
            self.seed,
            clock.clone(),
            self.cores,
        )?;
        // The run is the only future of its task.
        let mut executor = Executor::new(config).sole_waiter();
        if let Some(token) = &self.interrupt {
            executor = executor.stop_on(token.clone());
        }
        let outcome = self
            .runtime
            .block_on(executor.run_observed(&scenario.plan, &tool, &clock, observer));
        let core_time = tool.core_time();
        // Its per-call state (a key per call) is not needed past here: freed before the
        // work is counted, not after, which is when a large run peaks.
        drop(tool);
        let work = Work::of(&outcome, core_time);
        Ok((outcome, work))
    }
}
