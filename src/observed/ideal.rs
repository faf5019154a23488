//! What the same calls would have taken: the observed durations replayed by parabench's
//! own executor in virtual time, each step after the one before, at a limit on calls in
//! flight.
//!
//! Each step's calls are independent and wait for a zero-length barrier call that ends
//! the step before, so one run of the executor gives every step's makespan (barrier to
//! barrier) with edges linear in the calls, however wide the steps.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use super::span::{ObservedSpan, Role, Spans};
use super::steps::Step;
use crate::clock::{Clock, virtual_runtime};
use crate::executor::{CallContext, Executor, ExecutorConfig, RunOutcome, Tool, ToolError};
use crate::plan::{CallIdx, Plan, PlanBuilder, PlanError, ToolSpec};

/// What the ideal schedule keeps to beyond the calls' order: each tool's own limits, and
/// the time each call takes.
#[derive(Clone, Debug, Default)]
pub struct IdealSpec {
    /// Per tool name, the limits the ideal keeps to, as a run of the tool would (the
    /// tools `parabench serve` serves); a tool not named has none.
    pub tools: HashMap<String, ToolLimits>,
    /// Per span (by its index in [`Spans::spans`]), the time the call takes; empty: each
    /// span's duration. A served call's is its service time: its wait for its tool's slot
    /// is what the ideal schedules, not part of the call.
    pub service_ns: Vec<u64>,
}

/// A tool's own limits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ToolLimits {
    /// At most this many of its calls at once.
    pub max_concurrency: Option<NonZeroUsize>,
    /// At most this many of its calls started per second.
    pub rate_limit_per_s: Option<f64>,
}

impl IdealSpec {
    /// The time span `i` (`span`) takes in the ideal, in nanoseconds.
    pub fn duration_ns(&self, i: usize, span: &ObservedSpan) -> u64 {
        self.service_ns.get(i).copied().unwrap_or_else(|| span.duration_ns())
    }
}

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
    /// The plan of `steps` of `spans`: a tool per observed tool (with its limits in
    /// `ideal`), a call per tool call (taking its time in `ideal`).
    ///
    /// # Errors
    ///
    /// [`PlanError`] when there is no step at all.
    pub fn new(spans: &Spans, steps: &[Step], ideal: &IdealSpec) -> Result<Self, PlanError> {
        let all = spans.spans();
        let mut b = PlanBuilder::new();
        let tools: Vec<_> = (0..spans.tool_count())
            .map(|t| {
                let name = spans.tool_name(t as u32);
                let mut spec = ToolSpec::io(name);
                if let Some(limits) = ideal.tools.get(name) {
                    spec.max_concurrency = limits.max_concurrency;
                    spec.rate_limit_per_s = limits.rate_limit_per_s;
                }
                b.tool(spec)
            })
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
                durations.push(Duration::from_nanos(ideal.duration_ns(i, &all[i])));
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
            _ => run.outcome.calls[self.barriers[k - 1].index()].end(),
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
        let executor = Executor::new(ExecutorConfig::with_max_concurrency(limit.get())).sole_waiter();
        let outcome = runtime.block_on(executor.run(&self.plan, &tool, &clock));
        let mut before = Duration::ZERO;
        let steps = self
            .barriers
            .iter()
            .map(|b| {
                let end = outcome.calls[b.index()].end();
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
        let replay = Replay::new(&spans, &steps, &IdealSpec::default()).unwrap();
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

    #[test]
    fn the_ideal_keeps_each_tool_limit_and_replays_the_given_times() {
        let mut spans = Spans::default();
        // Four calls at once, each seen for 100 ms of which 40 ms were spent waiting.
        for _ in 0..4 {
            spans.push(test_span(1, 0, 100), Kind::Tool("search"));
        }
        let steps = steps(&spans);
        let ideal = IdealSpec {
            tools: HashMap::from([(
                "search".to_string(),
                ToolLimits {
                    max_concurrency: NonZeroUsize::new(2),
                    rate_limit_per_s: None,
                },
            )]),
            service_ns: vec![60_000_000; 4],
        };
        let replay = Replay::new(&spans, &steps, &ideal).unwrap();
        let run = replay.run(&runtime().unwrap(), NonZeroUsize::new(8).unwrap());
        // Two at a time, 60 ms each.
        assert_eq!(run.wall, Duration::from_millis(120));
        assert_eq!(run.outcome.max_in_flight(), 2);
    }
}
