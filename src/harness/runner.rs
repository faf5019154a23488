//! One run of a plan at a time, on one clock and one runtime: what `run` and `tune`
//! share, so the clock, the runtime and the cores of a run are decided in one place.

use std::num::NonZeroUsize;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::HarnessError;
use crate::clock::ClockKind;
use crate::executor::{Executor, ExecutorConfig, Observer, RunOutcome};
use crate::real::{MixedTool, RealTools, TraceContext};
use crate::report::Work;
use crate::scenario::{Scenario, ScenarioError};
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
    /// The scenario's real tools, connected for the runner's whole life: every run of
    /// the command (sequential and parallel, each level of a sweep) uses the same
    /// sessions and servers, opened and checked before the first.
    real: Option<RealTools>,
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
        let has_real = scenario.real.iter().any(Option::is_some);
        let runtime = match (has_real, clock) {
            // One thread for the executor and the connections of real calls alike: each
            // answer then wakes the executor where it already runs, rather than a thread
            // parked elsewhere. At 64 calls in flight to a local endpoint, a runtime of a
            // worker per core reached 0.61-0.68 of `oha`'s rate, this one 0.81-0.92
            // (docs/benchmarks.md).
            (true, ClockKind::Real) => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
            _ => clock.runtime(cores)?,
        };
        let real = match scenario.real.iter().flatten().next() {
            None => None,
            // A real server cannot run in simulated time: said where the tool's kind is.
            Some(real) if clock == ClockKind::Virtual => {
                return Err(HarnessError::Scenario(ScenarioError::Invalid(real.kind_site.clone())));
            }
            Some(_) => Some(runtime.block_on(RealTools::connect(scenario))?),
        };
        Ok(Self {
            runtime,
            clock,
            cores,
            seed,
            interrupt,
            real,
        })
    }

    /// Sends each real call's span context to its server, from `trace`.
    pub(crate) fn traced(&mut self, trace: Arc<dyn TraceContext>) {
        if let Some(real) = self.real.take() {
            self.real = Some(real.traced(trace));
        }
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
        let sim = SimTool::new(
            &scenario.plan,
            scenario.models.clone(),
            self.seed,
            clock.clone(),
            self.cores,
        )?;
        let mut executor = Executor::new(config);
        if let Some(token) = &self.interrupt {
            executor = executor.stop_on(token.clone());
        }
        let Some(real) = &self.real else {
            // The run is the only future of its task.
            let executor = executor.sole_waiter();
            let outcome = self
                .runtime
                .block_on(executor.run_observed(&scenario.plan, &sim, &clock, observer));
            let core_time = sim.core_time();
            // Its per-call state (a key per call) is not needed past here: freed before
            // the work is counted, not after, which is when a large run peaks.
            drop(sim);
            let work = Work::of(&outcome, core_time);
            return Ok((outcome, work));
        };
        // Real calls pass their results to their dependents; the report needs none.
        let tool = MixedTool::new(sim, real);
        let outcome = self
            .runtime
            .block_on(executor.run_observed(&scenario.plan, &tool, &clock, observer));
        let work = Work::of(&outcome, tool.core_time());
        Ok((outcome.without_outputs(), work))
    }
}

impl Drop for Runner {
    /// Ends the real tools' sessions, and the servers started for them.
    fn drop(&mut self) {
        if let Some(real) = self.real.take() {
            self.runtime.block_on(real.close());
        }
    }
}
