//! What the same calls would have taken: the observed durations replayed by parabench's
//! own executor in virtual time, each step after the one before, at a limit on calls in
//! flight.
//!
//! Each step's calls are independent and wait for a zero-length barrier call that ends
//! the step before, so one run of the executor gives every step's makespan (barrier to
//! barrier) with edges linear in the calls, however wide the steps.

use std::num::NonZeroUsize;
use std::time::Duration;

use super::span::{Role, Spans};
use super::steps::Step;
use crate::clock::{Clock, virtual_runtime};
use crate::executor::{CallContext, Executor, ExecutorConfig, RunOutcome, Tool, ToolError};
use crate::plan::{CallIdx, Plan, PlanBuilder, PlanError, ToolSpec};

/// The observed steps as a plan the executor can run.
#[derive(Debug)]
pub struct Replay {
    plan: Plan,
    durations: Vec<Duration>,
    /// Per step, the index of the barrier call that ends it.
    barriers: Vec<CallIdx>,
    /// Per call of the plan, whether it is a barrier.
    is_barrier: Vec<bool>,
    /// Per step, the plan indices of its calls, in the order of the step's calls.
    members: Vec<std::ops::Range<usize>>,
    /// The tool calls (not barriers).
    calls: usize,
}

/// What one replay at a limit gave.
#[derive(Debug)]
pub struct ReplayRun {
    /// Each step's makespan, in order.
    pub steps: Vec<Duration>,
    /// Their total: the wall time of the whole replay.
    pub wall: Duration,
    /// The executor's outcomes (barriers included).
    pub outcome: RunOutcome<()>,
}

/// Sleeps each call's observed duration on the run's clock.
struct Durations<'a> {
    clock: Clock,
    durations: &'a [Duration],
}

impl Tool for Durations<'_> {
    type Output = ();

    async fn call(&self, ctx: CallContext<'_, ()>) -> Result<(), ToolError> {
        self.clock.sleep(self.durations[ctx.index().index()]).await;
        Ok(())
    }
}

impl Replay {
    /// The plan of `steps` of `spans`: a tool per observed tool, a call per tool call.
    ///
    /// # Errors
    ///
    /// [`PlanError`] when there is no step at all.
    pub fn new(spans: &Spans, steps: &[Step]) -> Result<Self, PlanError> {
        let all = spans.spans();
        let mut b = PlanBuilder::new();
        let tools: Vec<_> = (0..spans.tool_count())
            .map(|t| b.tool(ToolSpec::io(spans.tool_name(t as u32))))
            .collect();
        // A name no tool can have: the steps' barriers.
        let barrier_tool = b.tool(ToolSpec::io("\u{0}step"));
        let mut durations = Vec::new();
        let mut barriers = Vec::with_capacity(steps.len());
        let mut calls = 0;
        let mut ranges = Vec::with_capacity(steps.len());
        for (k, step) in steps.iter().enumerate() {
            let mut members = Vec::with_capacity(step.calls.len());
            for (j, &i) in step.calls.iter().enumerate() {
                let Role::Tool(tool) = all[i].role else {
                    continue;
                };
                let idx = b.call(format!("s{k}.{j}"), tools[tool as usize]);
                if let Some(&before) = barriers.last() {
                    b.depends_on(idx, before);
                }
                durations.push(Duration::from_nanos(all[i].duration_ns()));
                members.push(idx);
                calls += 1;
            }
            ranges.push(members.first().map_or(0, |m| m.index())..members.last().map_or(0, |m| m.index() + 1));
            let barrier = b.call(format!("s{k}"), barrier_tool);
            durations.push(Duration::ZERO);
            for idx in members {
                b.depends_on(barrier, idx);
            }
            barriers.push(barrier);
        }
        let plan = b.build()?;
        let mut is_barrier = vec![false; plan.calls().len()];
        for b in &barriers {
            is_barrier[b.index()] = true;
        }
        Ok(Self {
            plan,
            durations,
            barriers,
            is_barrier,
            members: ranges,
            calls,
        })
    }

    /// The plan replayed (barrier calls included).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Tool calls in the plan, barriers excluded.
    pub fn calls(&self) -> usize {
        self.calls
    }

    /// The plan indices of step `k`'s calls, in the order of the step's calls.
    pub fn members(&self, k: usize) -> std::ops::Range<usize> {
        self.members[k].clone()
    }

    /// When step `k` of `run` began: the end of the step before it.
    pub fn step_start(&self, run: &ReplayRun, k: usize) -> Duration {
        match k {
            0 => Duration::ZERO,
            _ => run.outcome.calls[self.barriers[k - 1].index()].end,
        }
    }

    /// Whether call `idx` is a tool call rather than a barrier.
    pub fn is_call(&self, idx: usize) -> bool {
        !self.is_barrier[idx]
    }

    /// Runs the replay with at most `limit` calls in flight, on `runtime`'s virtual clock.
    pub fn run(&self, runtime: &tokio::runtime::Runtime, limit: NonZeroUsize) -> ReplayRun {
        let clock = Clock::simulated();
        let tool = Durations {
            clock: clock.clone(),
            durations: &self.durations,
        };
        let executor = Executor::new(ExecutorConfig::with_max_concurrency(limit.get()));
        let outcome = runtime.block_on(executor.run(&self.plan, &tool, &clock));
        let mut before = Duration::ZERO;
        let steps = self
            .barriers
            .iter()
            .map(|b| {
                let end = outcome.calls[b.index()].end;
                let makespan = end - before;
                before = end;
                makespan
            })
            .collect();
        ReplayRun {
            steps,
            wall: outcome.wall,
            outcome,
        }
    }
}

/// A runtime for replays.
///
/// # Errors
///
/// When the runtime cannot start.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    virtual_runtime()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::span::{Kind, test_span};
    use crate::observed::steps::steps;

    #[test]
    fn each_step_replays_after_the_last_at_each_limit() {
        let mut spans = Spans::default();
        // Step 1: four calls of 100 ms run one after another; step 2: one call of 50 ms
        // and one of 200 ms at once.
        for i in 0..4 {
            spans.push(test_span(1, i * 100, (i + 1) * 100), Kind::Tool("search"));
        }
        spans.push(test_span(2, 1000, 1050), Kind::Tool("db"));
        spans.push(test_span(2, 1000, 1200), Kind::Tool("db"));
        let steps = steps(&spans);
        let replay = Replay::new(&spans, &steps).unwrap();
        assert_eq!(replay.calls(), 6);
        let rt = runtime().unwrap();
        let ms = Duration::from_millis;
        let one = replay.run(&rt, NonZeroUsize::MIN);
        assert_eq!(
            (one.steps.as_slice(), one.wall),
            ([ms(400), ms(250)].as_slice(), ms(650))
        );
        let two = replay.run(&rt, NonZeroUsize::new(2).unwrap());
        assert_eq!(two.steps, [ms(200), ms(200)]);
        let wide = replay.run(&rt, NonZeroUsize::new(4).unwrap());
        assert_eq!(
            (wide.steps.as_slice(), wide.wall),
            ([ms(100), ms(200)].as_slice(), ms(300))
        );
    }
}
