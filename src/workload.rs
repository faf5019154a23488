//! Synthetic plans of known shape: the workloads of the benches and of the scale run.
//!
//! Each shape has a makespan that can be worked out by hand for constant-latency calls,
//! so a bench or a test can check that it timed the run it meant to time before trusting
//! the figure.
//!
//! # Examples
//!
//! ```
//! use parabench::workload;
//!
//! let plan = workload::fan_out_in(3, 4);
//! assert_eq!(plan.calls().len(), 3 * (4 + 2));
//! // Every worker of group 0 waits for root 0; the join waits for every worker.
//! assert_eq!(plan.dependents(plan.indices().next().unwrap()).len(), 4);
//! ```

use crate::plan::{CallIdx, Plan, PlanBuilder, ToolSpec};

/// `n` independent calls of one I/O tool `noop`, ids `c1..`.
///
/// # Panics
///
/// If `n` is zero (a plan needs a call).
pub fn independent(n: usize) -> Plan {
    let mut plan = PlanBuilder::new();
    let tool = plan.tool(ToolSpec::io("noop"));
    plan.generate("c", n, tool, 0);
    plan.build().expect("n > 0 independent calls form a plan")
}

/// One root call that `dependents` calls depend on (a fan-out).
pub fn wide(dependents: usize) -> Plan {
    let mut plan = PlanBuilder::new();
    let tool = plan.tool(ToolSpec::io("io"));
    let root = plan.call("root", tool);
    for i in 1..=dependents as u64 {
        let call = plan.call_numbered("c", i, tool, 0);
        plan.depends_on(call, root);
    }
    plan.build().expect("a fan-out is a DAG")
}

/// `n` calls, each depending on the one before.
///
/// # Panics
///
/// If `n` is zero.
pub fn chain(n: usize) -> Plan {
    let mut plan = PlanBuilder::new();
    let tool = plan.tool(ToolSpec::io("io"));
    let mut prev: Option<CallIdx> = None;
    for i in 1..=n as u64 {
        let call = plan.call_numbered("c", i, tool, 0);
        if let Some(prev) = prev {
            plan.depends_on(call, prev);
        }
        prev = Some(call);
    }
    plan.build().expect("n > 0 chained calls form a DAG")
}

/// `groups` fan-out/fan-in groups, `groups × (fan + 2)` calls in all: a root per group
/// (`r{g}`, a search), `fan` workers that each need their group's root (`w{g}_{i}`, a
/// fetch), and a join per group that needs every worker of its group (`j{g}`, a summary),
/// numbered from 1.
///
/// Input order is every root, then every worker (group by group), then every join, so
/// with constant latency `L` and `max_concurrency = groups` the makespan is exactly
/// `(fan + 2) × L`: the roots fill one step, the workers `fan` full steps, and the joins,
/// all ready by then, the last one.
///
/// # Panics
///
/// If `groups` is zero.
pub fn fan_out_in(groups: usize, fan: usize) -> Plan {
    let mut plan = PlanBuilder::new();
    let search = plan.tool(ToolSpec::io("search"));
    let fetch = plan.tool(ToolSpec::io("fetch"));
    let summary = plan.tool(ToolSpec::io("summary"));
    let roots: Vec<CallIdx> = (1..=groups as u64)
        .map(|g| plan.call_numbered("r", g, search, 0))
        .collect();
    let mut workers = Vec::with_capacity(groups * fan);
    for (g, &root) in roots.iter().enumerate() {
        let prefix = format!("w{}_", g + 1);
        for i in 1..=fan as u64 {
            let call = plan.call_numbered(&prefix, i, fetch, 0);
            plan.depends_on(call, root);
            workers.push(call);
        }
    }
    for g in 0..groups {
        let join = plan.call_numbered("j", g as u64 + 1, summary, 0);
        for &worker in &workers[g * fan..(g + 1) * fan] {
            plan.depends_on(join, worker);
        }
        if fan == 0 {
            plan.depends_on(join, roots[g]);
        }
    }
    plan.build().expect("groups > 0 fan-out/fan-in groups form a DAG")
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;
    use std::time::Duration;

    use super::*;
    use crate::clock::{Clock, virtual_runtime};
    use crate::executor::{CallStatus, Executor, ExecutorConfig};
    use crate::sim::{SimTool, ToolModel};

    fn wall(plan: &Plan, limit: usize) -> Duration {
        let clock = Clock::simulated();
        let models = plan
            .tools()
            .iter()
            .map(|_| ToolModel::constant(Duration::from_millis(1)))
            .collect();
        let sim = SimTool::new(plan, models, 0, clock.clone(), NonZeroUsize::MIN).unwrap();
        let rt = virtual_runtime().unwrap();
        let run = rt.block_on(Executor::new(ExecutorConfig::with_max_concurrency(limit)).run(plan, &sim, &clock));
        assert_eq!(run.count(CallStatus::Ok), plan.calls().len());
        run.wall
    }

    #[test]
    fn shapes_have_the_calls_and_edges_they_promise() {
        assert_eq!(independent(7).calls().len(), 7);
        let w = wide(5);
        assert_eq!(w.dependents(w.indices().next().unwrap()).len(), 5);
        let c = chain(4);
        assert!(c.indices().skip(1).all(|i| c.deps(i).len() == 1));
        let f = fan_out_in(2, 3);
        assert_eq!(f.calls().len(), 10);
        assert_eq!(f.calls()[9].id, "j2");
        assert_eq!(f.deps(f.find("j1").unwrap()).len(), 3);
        let g = fan_out_in(2, 0);
        assert_eq!(g.deps(g.indices().nth(3).unwrap()).len(), 1);
    }

    #[test]
    fn makespans_match_the_analytic_values() {
        let ms = Duration::from_millis;
        assert_eq!(wall(&independent(10), 5), ms(2));
        assert_eq!(wall(&wide(10), 4), ms(1 + 3));
        assert_eq!(wall(&chain(6), 5), ms(6));
        assert_eq!(wall(&fan_out_in(10, 8), 10), ms(8 + 2));
        assert_eq!(wall(&fan_out_in(3, 0), 3), ms(2));
    }

    #[test]
    fn a_sole_waiter_moves_the_clock_itself_to_the_same_schedule() {
        use crate::executor::{Jitter, RetryPolicy};
        use crate::sim::{FailureModel, Latency, LimitPolicy};

        let ms = Duration::from_millis;
        // Dependencies, limits, retries with backoff, failures and hangs cut by timeouts: every
        // kind of instant the clock moves to.
        let plan = fan_out_in(20, 30);
        let model = ToolModel {
            latency: Latency::Uniform { min: ms(1), max: ms(9) },
            failure: FailureModel::new(0.2, 0.05).unwrap(),
            limit_policy: LimitPolicy::Wait,
        };
        let config = ExecutorConfig {
            attempt_timeout: Some(ms(8)),
            retry: RetryPolicy::new(std::num::NonZeroU32::new(3).unwrap(), ms(2), 2.0, ms(10), Jitter::Full).unwrap(),
            ..ExecutorConfig::with_max_concurrency(16)
        };
        let schedule = |sole: bool| {
            let clock = Clock::simulated();
            let sim = SimTool::new(&plan, vec![model.clone(); 3], 7, clock.clone(), NonZeroUsize::MIN).unwrap();
            let mut executor = Executor::new(config.clone());
            if sole {
                executor = executor.sole_waiter();
            }
            let run = virtual_runtime().unwrap().block_on(executor.run(&plan, &sim, &clock));
            let calls: Vec<_> = run
                .calls
                .iter()
                .map(|c| (c.status, c.attempts, c.start(), c.end()))
                .collect();
            (calls, run.wall)
        };
        let (alone, wall) = schedule(true);
        assert_eq!((alone.clone(), wall), schedule(false));
        let statuses: std::collections::HashSet<_> = alone.iter().map(|c| c.0).collect();
        assert!(
            statuses.len() >= 3,
            "errors, timeouts or skips as well as successes: {statuses:?}"
        );
    }
}
