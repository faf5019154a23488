//! Simulated tools: latency distributions, failure models, I/O and CPU work.
//!
//! [`SimTool`] implements the executor's [`Tool`] trait for every tool of a plan. Each
//! attempt draws its latency and its fate from a generator keyed by (seed, call id,
//! attempt) (see [`crate::seed`]), so every run of a scenario, whatever its concurrency
//! or clock, sees the same per-call behaviour.

pub mod cpu;
pub mod failure;
pub mod latency;

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::RngExt;

pub use cpu::{Calibration, Core, CpuPool};
pub use failure::{FailureModel, Fate};
pub use latency::Latency;

use crate::clock::Clock;
use crate::executor::{CallContext, Tool, ToolError};
use crate::plan::{Plan, ToolKind};
use crate::seed::{self, Stream};

/// How one simulated tool behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolModel {
    /// Time per attempt: waiting for an I/O tool, CPU time for a CPU tool.
    pub latency: Latency,
    /// How often an attempt fails or hangs.
    pub failure: FailureModel,
    /// What a call beyond the tool's own limit meets when the tool is served to a client
    /// (`parabench serve`); parabench's own executor never sends one.
    pub limit_policy: LimitPolicy,
}

/// What a served tool does with a call beyond its own `max_concurrency`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LimitPolicy {
    /// The call waits for a slot.
    #[default]
    Wait,
    /// The call is answered at once with an error, as a rate-limited API does.
    Reject,
}

impl ToolModel {
    /// Always `latency`, never failing.
    pub fn constant(latency: Duration) -> Self {
        Self {
            latency: Latency::constant(latency),
            failure: FailureModel::NEVER,
            limit_policy: LimitPolicy::Wait,
        }
    }
}

impl ToolModel {
    /// What attempt `attempt` of the call keyed `key` (see [`seed::call_key`]) does under
    /// `seed`: the same draw every time.
    pub fn draw(&self, seed: u64, key: u64, attempt: u32) -> Draw {
        // Constant, never-failing tools skip the generators: that is the zero-latency
        // case the overhead benchmarks measure.
        let latency = match self.latency {
            Latency::Constant { value } => value,
            ref l => l.sample(&mut seed::rng(seed, key, attempt, Stream::Latency)),
        };
        let fate = if self.failure == FailureModel::NEVER {
            Fate::Succeed
        } else {
            self.failure
                .fate(seed::rng(seed, key, attempt, Stream::Failure).random())
        };
        Draw { latency, fate }
    }
}

/// What an attempt will do, drawn before it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draw {
    /// Its latency (CPU time for a CPU tool).
    pub latency: Duration,
    /// Whether it succeeds, fails or hangs.
    pub fate: Fate,
}

/// Where CPU-bound work runs.
#[derive(Clone, Debug)]
enum Cores {
    /// The plan has no CPU tools.
    None,
    /// Real work on a pool of threads, one per core.
    Real(CpuPool),
    /// Simulated: an attempt holds one of N virtual cores for its CPU time.
    Virtual(Arc<tokio::sync::Semaphore>),
}

/// Why a [`SimTool`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The plan and the models do not match.
    #[error("the plan has {tools} tools but {models} models were given")]
    ModelCount {
        /// Tools in the plan.
        tools: usize,
        /// Models given.
        models: usize,
    },
    /// The CPU pool could not start.
    #[error("cannot start the CPU pool: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
}

/// Every simulated tool of a plan, as one [`Tool`].
#[derive(Debug)]
pub struct SimTool {
    seed: u64,
    clock: Clock,
    kinds: Vec<ToolKind>,
    models: Vec<ToolModel>,
    call_keys: Vec<u64>,
    cores: Cores,
    /// Per call, the nanoseconds its attempts held a core (empty without CPU tools).
    core_time: Box<[AtomicU64]>,
}

impl SimTool {
    /// Simulates `plan`'s tools with `models` (one per tool, by [`ToolId`](crate::plan::ToolId)),
    /// waiting on `clock`, which must be the clock the executor runs on. CPU work runs on `cores` threads, or `cores` virtual cores
    /// under simulated time.
    ///
    /// # Errors
    ///
    /// When the number of models differs from the number of tools, or the CPU pool
    /// cannot start.
    pub fn new(
        plan: &Plan,
        models: Vec<ToolModel>,
        seed: u64,
        clock: Clock,
        cores: NonZeroUsize,
    ) -> Result<Self, SimError> {
        if models.len() != plan.tools().len() {
            return Err(SimError::ModelCount {
                tools: plan.tools().len(),
                models: models.len(),
            });
        }
        let uses_cpu = plan.tools().iter().any(|t| t.kind == ToolKind::Cpu);
        let cores = match (uses_cpu, clock.is_virtual()) {
            // Threads only where CPU tools need them.
            (false, _) => Cores::None,
            (true, true) => Cores::Virtual(Arc::new(tokio::sync::Semaphore::new(cores.get()))),
            (true, false) => Cores::Real(CpuPool::new(cores.get())?),
        };
        let core_time = match cores {
            Cores::None => Box::default(),
            _ => plan.calls().iter().map(|_| AtomicU64::new(0)).collect(),
        };
        Ok(Self {
            seed,
            clock,
            kinds: plan.tools().iter().map(|t| t.kind).collect(),
            models,
            call_keys: plan.calls().iter().map(|c| seed::call_key(&c.id)).collect(),
            cores,
            core_time,
        })
    }

    /// How long each call's attempts held a core, in plan order: an attempt's CPU work
    /// (cut short where its timeout or the run ended it), never its wait for a free core,
    /// its backoffs or a hang. Empty when the plan has no CPU tools.
    ///
    /// This is what the cores term of the speedup bound counts: the cores are busy
    /// for the sum of these, whatever the schedule.
    pub fn core_time(&self) -> Vec<Duration> {
        self.core_time
            .iter()
            .map(|ns| Duration::from_nanos(ns.load(Ordering::Relaxed)))
            .collect()
    }

    /// Books the time from now until the guard drops as call `idx` holding a core.
    fn hold_core(&self, idx: crate::plan::CallIdx) -> CoreHeld<'_> {
        CoreHeld {
            clock: &self.clock,
            since: self.clock.now(),
            total: &self.core_time[idx.index()],
        }
    }

    /// What attempt `attempt` of call `idx` does: the same in every run with this seed.
    pub fn draw(&self, idx: crate::plan::CallIdx, tool: crate::plan::ToolId, attempt: u32) -> Draw {
        self.models[tool.index()].draw(self.seed, self.call_keys[idx.index()], attempt)
    }

    /// Holds a core for `latency` of work.
    async fn compute(&self, idx: crate::plan::CallIdx, latency: Duration) {
        match &self.cores {
            Cores::Real(pool) => {
                let core = pool.acquire().await;
                let _held = self.hold_core(idx);
                core.work(latency).await;
            }
            Cores::Virtual(cores) => {
                let _core = cores.acquire().await.expect("the semaphore is never closed");
                let _held = self.hold_core(idx);
                self.clock.sleep(latency).await;
            }
            Cores::None => unreachable!("built with cores for every CPU tool"),
        }
    }

    /// Attempt `attempt` of call `idx` of `tool`: waits or works its drawn latency, then
    /// succeeds or fails as drawn (or hangs until its timeout).
    pub async fn attempt_at(
        &self,
        idx: crate::plan::CallIdx,
        tool: crate::plan::ToolId,
        attempt: u32,
    ) -> Result<(), ToolError> {
        let Draw { latency, fate } = self.draw(idx, tool, attempt);
        if fate == Fate::Hang {
            // Only the attempt's timeout or the run's deadline ends it.
            return std::future::pending().await;
        }
        match self.kinds[tool.index()] {
            // Boxed, so that an I/O call's future is not the size of a CPU call's.
            ToolKind::Cpu => Box::pin(self.compute(idx, latency)).await,
            // A real tool is never simulated; were it, it would wait as I/O does.
            ToolKind::Io | ToolKind::Mcp | ToolKind::Http => self.clock.sleep(latency).await,
        }
        match fate {
            Fate::Fail => Err(ToolError::new("simulated failure")),
            _ => Ok(()),
        }
    }
}

/// A core held by a call: adds the time it was held to the call's total when dropped,
/// which happens whether the work finished or its timeout cancelled it.
struct CoreHeld<'a> {
    clock: &'a Clock,
    since: Duration,
    total: &'a AtomicU64,
}

impl Drop for CoreHeld<'_> {
    fn drop(&mut self) {
        let held = self.clock.now().saturating_sub(self.since);
        let ns = u64::try_from(held.as_nanos()).unwrap_or(u64::MAX);
        self.total.fetch_add(ns, Ordering::Relaxed);
    }
}

impl Tool for SimTool {
    type Output = ();

    fn call<'a>(&'a self, ctx: CallContext<'a, ()>) -> impl Future<Output = Result<(), ToolError>> + Send + 'a {
        self.attempt_at(ctx.index(), ctx.call().tool, ctx.attempt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{CallStatus, Executor, ExecutorConfig};
    use crate::plan::{PlanBuilder, ToolSpec};

    #[test]
    fn a_timed_out_cpu_call_frees_its_core_at_its_timeout_and_held_it_until_then() {
        // One core: `long` needs 10 s of CPU and times out after 1 s; `short`, arriving
        // at 0.5 s, needs 100 ms and waits for the core until then.
        let mut b = PlanBuilder::new();
        let (long, short) = (b.tool(ToolSpec::cpu("long")), b.tool(ToolSpec::cpu("short")));
        b.call("long", long);
        let later = b.call("short", short);
        b.arrives_at(later, Duration::from_millis(500));
        let plan = b.build().unwrap();
        let models = vec![
            ToolModel::constant(Duration::from_secs(10)),
            ToolModel::constant(Duration::from_millis(100)),
        ];
        let clock = Clock::simulated();
        let rt = crate::clock::virtual_runtime().unwrap();
        let tool = SimTool::new(&plan, models, 1, clock.clone(), NonZeroUsize::MIN).unwrap();
        let config = ExecutorConfig {
            attempt_timeout: Some(Duration::from_secs(1)),
            ..ExecutorConfig::with_max_concurrency(2)
        };
        let run = rt.block_on(Executor::new(config).run(&plan, &tool, &clock));
        assert_eq!(run.calls[0].status, CallStatus::Timeout);
        assert_eq!(run.calls[0].end(), Duration::from_secs(1));
        // `short` started at 0.5 s (two slots) and held the core from 1 s to 1.1 s.
        assert_eq!(run.calls[1].status, CallStatus::Ok);
        assert_eq!(run.calls[1].end(), Duration::from_millis(1100));
        assert_eq!(tool.core_time(), [Duration::from_secs(1), Duration::from_millis(100)]);
    }

    #[test]
    fn hangs_and_io_hold_no_core() {
        let mut b = PlanBuilder::new();
        let (cpu, io) = (b.tool(ToolSpec::cpu("cpu")), b.tool(ToolSpec::io("io")));
        b.call("hang", cpu);
        b.call("wait", io);
        let plan = b.build().unwrap();
        let hang = ToolModel {
            latency: Latency::constant(Duration::from_millis(10)),
            failure: FailureModel::new(0.0, 1.0).unwrap(),
            limit_policy: LimitPolicy::Wait,
        };
        let models = vec![hang, ToolModel::constant(Duration::from_millis(10))];
        let clock = Clock::simulated();
        let rt = crate::clock::virtual_runtime().unwrap();
        let tool = SimTool::new(&plan, models, 1, clock.clone(), NonZeroUsize::MIN).unwrap();
        let config = ExecutorConfig {
            attempt_timeout: Some(Duration::from_millis(500)),
            ..ExecutorConfig::with_max_concurrency(2)
        };
        let run = rt.block_on(Executor::new(config).run(&plan, &tool, &clock));
        assert_eq!(run.calls[0].status, CallStatus::Timeout);
        assert_eq!(tool.core_time(), [Duration::ZERO, Duration::ZERO]);
    }
}
