//! In virtual time the executor's schedule equals that of a reference list scheduler
//! with the same rules, written here independently of the executor: at each instant,
//! first every call ending then ends, then ready calls start in order of priority
//! (higher first) and input order, each if the global limit and its tool's limit allow.

use std::collections::BTreeSet;
use std::time::Duration;

use parabench::clock::{Clock, virtual_runtime};
use parabench::executor::{CallContext, CallStatus, Executor, ExecutorConfig, Tool, ToolError};
use parabench::plan::{CallIdx, Plan, PlanBuilder, ToolSpec};
use proptest::prelude::*;

/// Waits each call's own latency on the run's clock.
struct Fixed {
    clock: Clock,
    latency: Vec<Duration>,
}

impl Tool for Fixed {
    type Output = ();

    async fn call<'a>(&'a self, ctx: CallContext<'a, ()>) -> Result<(), ToolError> {
        self.clock.sleep(self.latency[ctx.index().index()]).await;
        Ok(())
    }
}

#[derive(Debug)]
struct Case {
    plan: Plan,
    latency: Vec<Duration>,
    limit: usize,
    tool_limits: Vec<usize>,
}

/// (start, end) of every call under the reference rules.
fn reference(case: &Case) -> Vec<(Duration, Duration)> {
    let calls = case.plan.calls();
    let n = calls.len();
    let idxs: Vec<_> = case.plan.indices().collect();
    let deps = |i: usize| case.plan.deps(idxs[i]);
    let mut pending: Vec<usize> = (0..n).map(|i| deps(i).len()).collect();
    // Ready calls ordered by (priority descending, input order).
    let mut ready: BTreeSet<(i64, usize)> = (0..n)
        .filter(|&i| pending[i] == 0)
        .map(|i| (-(calls[i].priority as i64), i))
        .collect();
    let mut running: Vec<usize> = Vec::new();
    let mut per_tool = vec![0usize; case.tool_limits.len()];
    let mut times = vec![(Duration::ZERO, Duration::ZERO); n];
    let mut now = Duration::ZERO;
    loop {
        let candidates: Vec<(i64, usize)> = ready.iter().copied().collect();
        for (rank, i) in candidates {
            let tool = calls[i].tool.index();
            if running.len() < case.limit && per_tool[tool] < case.tool_limits[tool] {
                ready.remove(&(rank, i));
                running.push(i);
                per_tool[tool] += 1;
                times[i] = (now, now + case.latency[i]);
            }
        }
        let Some(next) = running.iter().map(|&i| times[i].1).min() else {
            break;
        };
        now = next;
        let (ended, still): (Vec<usize>, Vec<usize>) = running.iter().partition(|&&i| times[i].1 == now);
        running = still;
        for i in ended {
            per_tool[calls[i].tool.index()] -= 1;
            for (j, c) in calls.iter().enumerate() {
                if deps(j).iter().any(|d| d.index() == i) {
                    pending[j] -= 1;
                    if pending[j] == 0 {
                        ready.insert((-(c.priority as i64), j));
                    }
                }
            }
        }
    }
    times
}

fn case() -> impl Strategy<Value = Case> {
    let tools = prop::collection::vec(1usize..5, 1..4);
    (tools, 1usize..60, 1usize..9).prop_flat_map(|(tool_limits, n, limit)| {
        let nt = tool_limits.len();
        let calls = prop::collection::vec(
            (
                0..nt,
                -3i32..4,
                prop::collection::vec(any::<prop::sample::Index>(), 0..3),
                1u64..40,
            ),
            n,
        );
        (Just(tool_limits), calls, Just(limit)).prop_map(|(tool_limits, calls, limit)| {
            let mut b = PlanBuilder::new();
            let tools: Vec<_> = tool_limits
                .iter()
                .enumerate()
                .map(|(i, &l)| b.tool(ToolSpec::io(format!("t{i}")).with_max_concurrency(l)))
                .collect();
            let mut ids: Vec<CallIdx> = Vec::new();
            let mut latency = Vec::new();
            for (i, (tool, priority, deps, ms)) in calls.into_iter().enumerate() {
                let c = b.call_with_priority(format!("c{i}"), tools[tool], priority);
                if i > 0 {
                    for d in deps {
                        b.depends_on(c, ids[d.index(i)]);
                    }
                }
                ids.push(c);
                // Whole milliseconds make simultaneous ends common: the hard case.
                latency.push(Duration::from_millis(ms));
            }
            Case {
                plan: b.build().unwrap(),
                latency,
                limit,
                tool_limits,
            }
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_executor_schedules_exactly_like_the_reference(case in case()) {
        let clock = Clock::simulated();
        let tool = Fixed { clock: clock.clone(), latency: case.latency.clone() };
        let rt = virtual_runtime().unwrap();
        let run = rt.block_on(Executor::new(ExecutorConfig::with_max_concurrency(case.limit)).run(&case.plan, &tool, &clock));
        let want = reference(&case);
        for (i, (out, (start, end))) in run.calls.iter().zip(&want).enumerate() {
            prop_assert_eq!(out.status, CallStatus::Ok);
            prop_assert_eq!((out.start(), out.end()), (Some(*start), *end), "call {}", i);
        }
        prop_assert_eq!(run.wall, want.iter().map(|t| t.1).max().unwrap());
    }
}
