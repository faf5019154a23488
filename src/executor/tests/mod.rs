//! Executor behaviour in simulated time, where every instant is exact.

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use super::*;
use crate::clock::{Clock, virtual_runtime};
use crate::plan::{CallIdx, PlanBuilder, ToolSpec};
use tokio_util::sync::CancellationToken;

mod real_clock;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What one call does, attempt after attempt.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Behaviour {
    pub(super) latency: Duration,
    /// The first this many attempts fail (after their latency).
    pub(super) failures: u32,
    /// The first this many attempts hang.
    pub(super) hangs: u32,
    pub(super) panics: bool,
    pub(super) permanent: bool,
}

/// A tool that does what its table says, on the run's clock. Its output is the call's
/// index plus the outputs of its dependencies, so tests can see what flowed where.
pub(super) struct Script {
    pub(super) clock: Clock,
    pub(super) calls: Vec<Behaviour>,
}

impl Tool for Script {
    type Output = u64;

    async fn call<'a>(&'a self, ctx: CallContext<'a, u64>) -> Result<u64, ToolError> {
        let b = self.calls[ctx.index().index()];
        if ctx.attempt() <= b.hangs {
            std::future::pending::<()>().await;
        }
        self.clock.sleep(b.latency).await;
        if b.panics {
            panic!("boom in {}", ctx.call().id);
        }
        if ctx.attempt() <= b.failures + b.hangs {
            return Err(if b.permanent {
                ToolError::permanent("bad request")
            } else {
                ToolError::new("flaky")
            });
        }
        Ok(ctx.index().index() as u64 + ctx.dependency_outputs().flatten().sum::<u64>())
    }
}

pub(super) fn run_script(plan: &Plan, calls: Vec<Behaviour>, config: ExecutorConfig) -> RunOutcome<u64> {
    let clock = Clock::simulated();
    let tool = Script {
        clock: clock.clone(),
        calls,
    };
    let rt = virtual_runtime().unwrap();
    rt.block_on(Executor::new(config).run(plan, &tool, &clock))
}

fn latencies(ms_each: &[u64]) -> Vec<Behaviour> {
    ms_each
        .iter()
        .map(|&m| Behaviour {
            latency: ms(m),
            ..Behaviour::default()
        })
        .collect()
}

fn starts(run: &RunOutcome<u64>) -> Vec<Option<Duration>> {
    run.calls.iter().map(|c| c.start()).collect()
}

fn independent(n: usize) -> (Plan, Vec<CallIdx>) {
    let mut b = PlanBuilder::new();
    let t = b.tool(ToolSpec::io("t"));
    let ids = (0..n).map(|i| b.call(format!("c{i}"), t)).collect();
    (b.build().unwrap(), ids)
}

#[test]
fn a_call_starts_when_its_own_dependencies_end_not_in_waves() {
    // The aiecs guide's case: a 200 ms call beside a chain of three 100 ms calls takes
    // 300 ms, not the 400 ms of wave-by-wave execution.
    let mut b = PlanBuilder::new();
    let t = b.tool(ToolSpec::io("t"));
    let a = b.call("a", t);
    let c1 = b.call("c1", t);
    let c2 = b.call("c2", t);
    let c3 = b.call("c3", t);
    b.depends_on(c2, c1);
    b.depends_on(c3, c2);
    let plan = b.build().unwrap();
    let run = run_script(&plan, latencies(&[200, 100, 100, 100]), ExecutorConfig::default());
    assert_eq!(run.wall, ms(300));
    assert_eq!(run.calls[c3.index()].start(), Some(ms(200)));
    assert_eq!(run.calls[a.index()].end(), ms(200));
    // Outputs flow along the edges: c3 = 3 + (2 + (1)). Every call keeps its own, the
    // ones others read (c1, c2) and the ones nobody does (a, c3).
    assert_eq!(run.calls[c3.index()].output, Some(6));
    let outputs: Vec<Option<u64>> = run.calls.iter().map(|c| c.output).collect();
    assert_eq!(outputs, [Some(0), Some(1), Some(3), Some(6)]);
}

#[test]
fn independent_calls_keep_their_outputs() {
    let mut b = PlanBuilder::new();
    let t = b.tool(ToolSpec::io("t"));
    b.generate("c", 3, t, 0);
    let plan = b.build().unwrap();
    assert!(!plan.has_dependencies());
    let run = run_script(&plan, latencies(&[30, 10, 20]), ExecutorConfig::default());
    let outputs: Vec<Option<u64>> = run.calls.iter().map(|c| c.output).collect();
    assert_eq!(outputs, [Some(0), Some(1), Some(2)]);
}

#[test]
fn a_call_is_held_until_its_arrival_and_its_queue_wait_counts_from_it() {
    // One slot, 100 ms calls arriving at 0, 50 and 300 ms: the second waits 50 ms for
    // the slot, and that wait is its queueing delay; the third finds the system idle.
    let mut b = PlanBuilder::new();
    let t = b.tool(ToolSpec::io("t"));
    let ids: Vec<CallIdx> = (0..3).map(|i| b.call(format!("c{i}"), t)).collect();
    for (&idx, at) in ids.iter().zip([0, 50, 300]) {
        b.arrives_at(idx, ms(at));
    }
    // A dependent of an early call that arrives late waits for its arrival too.
    let late = b.call("late", t);
    b.depends_on(late, ids[0]);
    b.arrives_at(late, ms(500));
    let plan = b.build().unwrap();
    let run = run_script(
        &plan,
        latencies(&[100, 100, 100, 10]),
        ExecutorConfig::with_max_concurrency(1),
    );
    let ready: Vec<_> = run.calls.iter().map(|c| c.ready()).collect();
    assert_eq!(ready, [Some(ms(0)), Some(ms(50)), Some(ms(300)), Some(ms(500))]);
    assert_eq!(starts(&run), [Some(ms(0)), Some(ms(100)), Some(ms(300)), Some(ms(500))]);
    let waits: Vec<_> = run.calls.iter().map(|c| c.queue_wait().unwrap()).collect();
    assert_eq!(waits, [ms(0), ms(50), ms(0), ms(0)]);
    assert_eq!(run.wall, ms(510));
}

#[test]
fn higher_priority_starts_first_and_ties_keep_input_order() {
    let mut b = PlanBuilder::new();
    let t = b.tool(ToolSpec::io("t"));
    b.call_with_priority("low", t, 0);
    b.call_with_priority("high", t, 5);
    b.call_with_priority("low2", t, 0);
    b.call_with_priority("mid", t, 1);
    let plan = b.build().unwrap();
    let run = run_script(
        &plan,
        latencies(&[10, 10, 10, 10]),
        ExecutorConfig::with_max_concurrency(1),
    );
    assert_eq!(starts(&run), [Some(ms(20)), Some(ms(0)), Some(ms(30)), Some(ms(10))]);
}

#[test]
fn a_tool_at_its_own_limit_does_not_hold_back_other_tools() {
    let mut b = PlanBuilder::new();
    let api = b.tool(ToolSpec::io("api").with_max_concurrency(1));
    let db = b.tool(ToolSpec::io("db"));
    for i in 0..3 {
        b.call_with_priority(format!("api{i}"), api, 9);
    }
    b.call("db0", db);
    b.call("db1", db);
    let plan = b.build().unwrap();
    let run = run_script(
        &plan,
        latencies(&[100, 100, 100, 50, 50]),
        ExecutorConfig::with_max_concurrency(3),
    );
    assert_eq!(
        starts(&run),
        [Some(ms(0)), Some(ms(100)), Some(ms(200)), Some(ms(0)), Some(ms(0))]
    );
    assert_eq!(run.wall, ms(300));
    assert_eq!(run.calls[1].queue_wait(), Some(ms(100)));
}

#[test]
fn a_rate_limit_spaces_attempt_starts() {
    let mut b = PlanBuilder::new();
    let api = b.tool(ToolSpec::io("api").with_rate_limit(10.0));
    let other = b.tool(ToolSpec::io("other"));
    for i in 0..4 {
        b.call(format!("a{i}"), api);
    }
    b.call("o", other);
    let plan = b.build().unwrap();
    let run = run_script(
        &plan,
        latencies(&[1, 1, 1, 1, 1]),
        ExecutorConfig::with_max_concurrency(10),
    );
    assert_eq!(
        starts(&run),
        [Some(ms(0)), Some(ms(100)), Some(ms(200)), Some(ms(300)), Some(ms(0))]
    );
}

fn retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::new(
        NonZeroU32::new(max_attempts).unwrap(),
        ms(50),
        2.0,
        ms(1000),
        Jitter::None,
    )
    .unwrap()
}

#[test]
fn failed_attempts_are_retried_after_exponential_backoff() {
    let (plan, _) = independent(1);
    let calls = vec![Behaviour {
        latency: ms(10),
        failures: 2,
        ..Behaviour::default()
    }];
    let config = ExecutorConfig {
        retry: retry(3),
        ..ExecutorConfig::default()
    };
    let run = run_script(&plan, calls, config);
    let c = &run.calls[0];
    assert_eq!((c.status, c.attempts), (CallStatus::Ok, 3));
    // 10 + 50 backoff + 10 + 100 backoff + 10.
    assert_eq!(c.end(), ms(180));
}

#[test]
fn the_last_failure_is_the_outcome_when_attempts_run_out() {
    let (plan, _) = independent(2);
    let mut calls = latencies(&[10, 10]);
    calls[0].failures = 5;
    calls[1].failures = 5;
    calls[1].permanent = true;
    let config = ExecutorConfig {
        retry: retry(3),
        ..ExecutorConfig::default()
    };
    let run = run_script(&plan, calls, config);
    assert_eq!((run.calls[0].status, run.calls[0].attempts), (CallStatus::Error, 3));
    assert_eq!(run.calls[0].error.as_ref().unwrap().to_string(), "flaky");
    // A permanent error is not retried.
    assert_eq!((run.calls[1].status, run.calls[1].attempts), (CallStatus::Error, 1));
}

#[test]
fn a_hanging_attempt_times_out_and_is_retried() {
    let (plan, _) = independent(2);
    let mut calls = latencies(&[10, 10]);
    calls[0].hangs = 1;
    calls[1].hangs = 9;
    let config = ExecutorConfig {
        attempt_timeout: Some(ms(100)),
        retry: retry(2),
        ..ExecutorConfig::default()
    };
    let run = run_script(&plan, calls, config);
    let (a, b) = (&run.calls[0], &run.calls[1]);
    assert_eq!((a.status, a.attempts, a.end()), (CallStatus::Ok, 2, ms(160)));
    assert_eq!((b.status, b.attempts, b.end()), (CallStatus::Timeout, 2, ms(250)));
}

#[test]
fn the_deadline_cancels_what_has_not_finished_and_keeps_what_has() {
    let mut b = PlanBuilder::new();
    let t = b.tool(ToolSpec::io("t"));
    let quick = b.call("quick", t);
    let slow = b.call("slow", t);
    let later = b.call("later", t);
    b.depends_on(later, slow);
    let plan = b.build().unwrap();
    let config = ExecutorConfig {
        deadline: Some(ms(100)),
        ..ExecutorConfig::default()
    };
    let run = run_script(&plan, latencies(&[10, 500, 10]), config);
    assert!(run.deadline_hit);
    assert_eq!(run.wall, ms(100));
    assert_eq!(run.calls[quick.index()].status, CallStatus::Ok);
    let s = &run.calls[slow.index()];
    assert_eq!(
        (s.status, s.start(), s.end()),
        (CallStatus::Cancelled, Some(ms(0)), ms(100))
    );
    let l = &run.calls[later.index()];
    assert_eq!((l.status, l.start(), l.attempts), (CallStatus::Cancelled, None, 0));
}

#[test]
fn a_stop_token_ends_the_run_at_once_and_keeps_what_had_ended() {
    let (plan, idx) = independent(4);
    let clock = Clock::simulated();
    let tool = Script {
        clock: clock.clone(),
        calls: latencies(&[10, 500, 10, 500]),
    };
    let stop = CancellationToken::new();
    let executor = Executor::new(ExecutorConfig::with_max_concurrency(2)).stop_on(stop.clone());
    let rt = virtual_runtime().unwrap();
    let run = rt.block_on(async {
        let interrupt = async {
            clock.sleep(ms(100)).await;
            stop.cancel();
        };
        tokio::join!(executor.run(&plan, &tool, &clock), interrupt).0
    });
    assert!(run.interrupted && !run.deadline_hit);
    assert_eq!(run.wall, ms(100));
    let status: Vec<_> = idx.iter().map(|i| run.calls[i.index()].status).collect();
    // c2 took c0's slot at 10 ms and ended at 20 ms; c1 and c3 were still in flight.
    assert_eq!(
        status,
        [
            CallStatus::Ok,
            CallStatus::Cancelled,
            CallStatus::Ok,
            CallStatus::Cancelled
        ]
    );
    let c3 = &run.calls[idx[3].index()];
    assert_eq!((c3.start(), c3.end(), c3.attempts), (Some(ms(20)), ms(100), 1));
}

/// Cancels its token as its call ends: a signal that arrives with the last result.
struct CancelsAsItEnds {
    clock: Clock,
    stop: CancellationToken,
}

impl Tool for CancelsAsItEnds {
    type Output = ();

    async fn call<'a>(&'a self, _: CallContext<'a, ()>) -> Result<(), ToolError> {
        self.clock.sleep(ms(10)).await;
        self.stop.cancel();
        Ok(())
    }
}

#[test]
fn a_token_cancelled_as_the_last_call_ends_interrupts_nothing() {
    let (plan, _) = independent(2);
    let clock = Clock::simulated();
    let stop = CancellationToken::new();
    let tool = CancelsAsItEnds {
        clock: clock.clone(),
        stop: stop.clone(),
    };
    let rt = virtual_runtime().unwrap();
    let run = rt.block_on(
        Executor::new(ExecutorConfig::default())
            .stop_on(stop.clone())
            .run(&plan, &tool, &clock),
    );
    assert!(stop.is_cancelled());
    assert!(!run.interrupted, "every call had ended");
    assert_eq!(run.count(CallStatus::Ok), 2);
}

#[test]
fn a_token_cancelled_before_the_run_runs_nothing() {
    let (plan, _) = independent(3);
    let clock = Clock::simulated();
    let tool = Script {
        clock: clock.clone(),
        calls: latencies(&[10, 10, 10]),
    };
    let stop = CancellationToken::new();
    stop.cancel();
    let rt = virtual_runtime().unwrap();
    let run = rt.block_on(
        Executor::new(ExecutorConfig::default())
            .stop_on(stop)
            .run(&plan, &tool, &clock),
    );
    assert!(run.interrupted);
    assert_eq!(run.count(CallStatus::Cancelled), 3);
    assert!(run.calls.iter().all(|c| c.attempts == 0 && c.start().is_none()));
}

#[test]
fn dependents_of_a_failure_are_skipped_naming_the_root_cause() {
    let mut b = PlanBuilder::new();
    let t = b.tool(ToolSpec::io("t"));
    let root = b.call("root", t);
    let mid = b.call("mid", t);
    let leaf = b.call("leaf", t);
    let other = b.call("other", t);
    b.depends_on(mid, root);
    b.depends_on(leaf, mid);
    let plan = b.build().unwrap();
    let mut calls = latencies(&[10, 10, 10, 10]);
    calls[0].failures = 1;
    let run = run_script(&plan, calls, ExecutorConfig::default());
    assert_eq!(run.calls[root.index()].status, CallStatus::Error);
    for skipped in [mid, leaf] {
        let c = &run.calls[skipped.index()];
        assert_eq!((c.status, c.cause, c.attempts), (CallStatus::Skipped, Some(root), 0));
    }
    assert_eq!(run.calls[other.index()].status, CallStatus::Ok);
}

#[test]
fn dependents_of_a_failure_can_run_anyway() {
    let mut b = PlanBuilder::new();
    let t = b.tool(ToolSpec::io("t"));
    let root = b.call("root", t);
    let dep = b.call("dep", t);
    b.depends_on(dep, root);
    let plan = b.build().unwrap();
    let mut calls = latencies(&[10, 10]);
    calls[0].failures = 1;
    let config = ExecutorConfig {
        on_dependency_failure: OnDependencyFailure::Run,
        ..ExecutorConfig::default()
    };
    let run = run_script(&plan, calls, config);
    let d = &run.calls[dep.index()];
    assert_eq!((d.status, d.start()), (CallStatus::Ok, Some(ms(10))));
    // The failed dependency contributes no output.
    assert_eq!(d.output, Some(1));
}

#[test]
fn a_panicking_tool_fails_only_its_own_call() {
    let (plan, _) = independent(3);
    let mut calls = latencies(&[10, 20, 30]);
    calls[1].panics = true;
    let run = run_script(&plan, calls, ExecutorConfig::default());
    assert_eq!(run.calls[1].status, CallStatus::Error);
    assert_eq!(
        run.calls[1].error.as_ref().unwrap().to_string(),
        "tool panicked: boom in c1"
    );
    assert_eq!(
        (run.calls[0].status, run.calls[2].status),
        (CallStatus::Ok, CallStatus::Ok)
    );
}

#[test]
fn batches_wait_for_their_slowest_call_while_a_window_does_not() {
    let (plan, _) = independent(6);
    let lat = [100, 10, 10, 100, 10, 10];
    let window = run_script(&plan, latencies(&lat), ExecutorConfig::with_max_concurrency(3));
    let batch = run_script(
        &plan,
        latencies(&lat),
        ExecutorConfig {
            schedule: Schedule::Batch {
                size: NonZeroUsize::new(3).unwrap(),
            },
            ..ExecutorConfig::with_max_concurrency(3)
        },
    );
    assert_eq!(window.wall, ms(110));
    assert_eq!(batch.wall, ms(200));
    assert_eq!(batch.calls[3].start(), Some(ms(100)));
}

#[test]
fn sequential_runs_one_call_at_a_time_in_input_order() {
    let (plan, _) = independent(3);
    let run = run_script(&plan, latencies(&[30, 10, 20]), ExecutorConfig::default().sequential());
    assert_eq!(starts(&run), [Some(ms(0)), Some(ms(30)), Some(ms(40))]);
    assert_eq!(run.wall, ms(60));
    assert_eq!(run.max_concurrency, 1);
}

#[test]
fn the_observer_sees_every_call_end_once() {
    let (plan, _) = independent(20);
    let clock = Clock::simulated();
    let tool = Script {
        clock: clock.clone(),
        calls: latencies(&[5; 20]),
    };
    let mut counter = StatusCounter::default();
    let rt = virtual_runtime().unwrap();
    rt.block_on(Executor::new(ExecutorConfig::with_max_concurrency(4)).run_observed(
        &plan,
        &tool,
        &clock,
        &mut counter,
    ));
    assert_eq!(counter.counts[0], 20);
    assert_eq!(counter.peak_in_flight, 4);
}

#[test]
fn a_step_future_stays_small_whatever_the_clock() {
    // Every call's step future is moved into the executor's `FuturesUnordered`; a clock's
    // sleep kept inline (~200 bytes) would make each one that large. Boxed, the backoff
    // and the timeout cost nothing to calls that use neither. (The executor's own timing,
    // its wake stamp and the instant the tool began, takes 24 bytes of the 152, and the
    // attempt's timeout, the tool's own or the run's, 8.)
    struct Ready;
    impl Tool for Ready {
        type Output = ();
        fn call<'a>(
            &'a self,
            _: CallContext<'a, ()>,
        ) -> impl std::future::Future<Output = Result<(), ToolError>> + Send + 'a {
            std::future::ready(Ok(()))
        }
    }
    let mut b = PlanBuilder::new();
    let t = b.tool(ToolSpec::io("t"));
    let idx = b.call("a", t);
    let plan = b.build().unwrap();
    let outputs = [std::sync::OnceLock::new()];
    for clock in [Clock::real(), Clock::simulated()] {
        let env = StepEnv {
            plan: &plan,
            tool: &Ready,
            clock: &clock,
            origin: Duration::ZERO,
            wall_origin: clock.wall_origin(),
            timeout: Some(ms(1)),
            outputs: &outputs,
        };
        let step = env.run(Step::Attempt { idx, attempt: 1 });
        assert!(
            std::mem::size_of_val(&step) <= 152,
            "{} bytes",
            std::mem::size_of_val(&step)
        );
        let real = crate::clock::RealClock::new();
        assert!(
            std::mem::size_of_val(&real.sleep_until(Duration::ZERO)) > 144,
            "the guard guards something"
        );
    }
}

#[test]
fn a_large_tool_future_is_stored_once_in_its_step() {
    // A tool future is made inside the step, not captured by it: captured by an async
    // block, it was stored twice (the capture and the copy it awaits), and every step,
    // with all those bytes, is moved to start.
    struct Large;
    impl Tool for Large {
        type Output = ();
        async fn call(&self, _: CallContext<'_, ()>) -> Result<(), ToolError> {
            let state = [7u8; 1024];
            tokio::task::yield_now().await;
            std::hint::black_box(&state);
            Ok(())
        }
    }
    let mut b = PlanBuilder::new();
    let t = b.tool(ToolSpec::io("t"));
    let idx = b.call("a", t);
    let plan = b.build().unwrap();
    let outputs = [std::sync::OnceLock::new()];
    let clock = Clock::real();
    let env = StepEnv {
        plan: &plan,
        tool: &Large,
        clock: &clock,
        origin: Duration::ZERO,
        wall_origin: clock.wall_origin(),
        timeout: None,
        outputs: &outputs,
    };
    let ctx = CallContext {
        idx,
        plan: &plan,
        attempt: 1,
        outputs: &outputs,
    };
    let tool_future = std::mem::size_of_val(&Large.call(ctx));
    let step = std::mem::size_of_val(&env.run(Step::Attempt { idx, attempt: 1 }));
    assert!(tool_future >= 1024, "{tool_future} bytes");
    assert!(
        step <= tool_future + 144,
        "{step} bytes for a tool future of {tool_future}"
    );
}

#[test]
fn a_clock_wait_is_the_size_of_a_simulated_one() {
    // Every future that may wait on a `Clock` carries its wait: the real one is boxed.
    let (clock, simulated) = (Clock::real(), crate::clock::VirtualClock::new());
    let wait = std::mem::size_of_val(&clock.sleep_until(Duration::ZERO));
    let real = std::mem::size_of_val(&crate::clock::RealClock::new().sleep_until(Duration::ZERO));
    let virt = std::mem::size_of_val(&simulated.sleep_until(Duration::ZERO));
    assert!(wait <= virt + 32, "{wait} bytes; simulated {virt}, real {real}");
    assert!(real > 2 * wait, "the real wait is the large one: {real} bytes");
}

mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// A random DAG: each call may depend on earlier ones; a few tools with optional
    /// limits; latencies with sub-millisecond parts; some calls failing; some arriving
    /// late (open-loop load).
    /// Tool, priority, dependencies, latency (ns), fails, arrival (ns).
    type CaseCall = (usize, i32, Vec<usize>, u64, bool, Option<u64>);

    #[derive(Debug, Clone)]
    struct Case {
        tools: Vec<Option<usize>>,
        calls: Vec<CaseCall>,
        limit: usize,
    }

    fn case() -> impl Strategy<Value = Case> {
        let tools = prop::collection::vec(prop::option::of(1usize..4), 1..4);
        (tools, 1usize..40, 1usize..8).prop_flat_map(|(tools, n, limit)| {
            let nt = tools.len();
            let calls = (0..n)
                .map(|i| {
                    (
                        0..nt,
                        -2i32..3,
                        prop::collection::vec(0..i.max(1), 0..3.min(i + 1)),
                        1u64..50_000_000,
                        prop::bool::weighted(0.1),
                        prop::option::weighted(0.3, 0u64..100_000_000),
                    )
                })
                .collect::<Vec<_>>();
            (Just(tools), calls, Just(limit)).prop_map(|(tools, calls, limit)| Case { tools, calls, limit })
        })
    }

    fn build(case: &Case) -> (Plan, Vec<Behaviour>) {
        let mut b = PlanBuilder::new();
        let tools: Vec<_> = case
            .tools
            .iter()
            .enumerate()
            .map(|(i, lim)| {
                let spec = ToolSpec::io(format!("t{i}"));
                b.tool(match lim {
                    Some(l) => spec.with_max_concurrency(*l),
                    None => spec,
                })
            })
            .collect();
        let mut behaviours = Vec::new();
        let mut ids = Vec::new();
        for (i, (tool, prio, deps, nanos, fails, arrival)) in case.calls.iter().enumerate() {
            let c = b.call_with_priority(format!("c{i}"), tools[*tool], *prio);
            if let Some(at) = arrival {
                b.arrives_at(c, Duration::from_nanos(*at));
            }
            for &d in deps {
                if d < i {
                    b.depends_on(c, ids[d]);
                }
            }
            ids.push(c);
            behaviours.push(Behaviour {
                latency: Duration::from_nanos(*nanos),
                failures: u32::from(*fails),
                ..Behaviour::default()
            });
        }
        (b.build().unwrap(), behaviours)
    }

    /// Most calls whose [start, end) intervals overlap at any instant, among `members`.
    fn peak(run: &RunOutcome<u64>, members: impl Fn(usize) -> bool) -> usize {
        let mut edges: Vec<(Duration, i32)> = Vec::new();
        for (i, c) in run.calls.iter().enumerate() {
            if let (Some(s), true) = (c.start(), members(i)) {
                edges.push((s, 1));
                edges.push((c.end(), -1));
            }
        }
        // Ends sort before starts at the same instant: a slot freed at t is reusable at t.
        edges.sort();
        let (mut now, mut most) = (0i32, 0i32);
        for (_, d) in edges {
            now += d;
            most = most.max(now);
        }
        most as usize
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn limits_dependencies_and_outcomes_hold(case in case()) {
            let (plan, behaviours) = build(&case);
            let run = run_script(&plan, behaviours.clone(), ExecutorConfig::with_max_concurrency(case.limit));
            prop_assert_eq!(run.calls.len(), plan.calls().len());
            prop_assert!(peak(&run, |_| true) <= case.limit);
            for (t, lim) in case.tools.iter().enumerate() {
                if let Some(lim) = lim {
                    let on_tool = |i: usize| plan.calls()[i].tool.index() == t;
                    prop_assert!(peak(&run, on_tool) <= *lim);
                }
            }
            for (i, idx) in plan.indices().enumerate() {
                let out = &run.calls[i];
                let failed_dep = plan.deps(idx).iter().any(|d| run.calls[d.index()].status != CallStatus::Ok);
                prop_assert_eq!(out.status == CallStatus::Skipped, failed_dep, "call {}", i);
                if let Some(start) = out.start() {
                    let arrival = plan.arrival(idx).unwrap_or_default();
                    prop_assert!(start >= arrival && out.ready() >= Some(arrival), "call {} ran before it arrived", i);
                    for d in plan.deps(idx) {
                        prop_assert!(run.calls[d.index()].end() <= start, "call {} started before dep {:?}", i, d);
                    }
                }
                let want = if failed_dep { CallStatus::Skipped } else if behaviours[i].failures > 0 { CallStatus::Error } else { CallStatus::Ok };
                prop_assert_eq!(out.status, want);
            }
        }

        #[test]
        fn the_same_inputs_give_the_same_schedule(case in case()) {
            let (plan, behaviours) = build(&case);
            let config = ExecutorConfig::with_max_concurrency(case.limit);
            let a = run_script(&plan, behaviours.clone(), config.clone());
            let b = run_script(&plan, behaviours, config);
            let key = |r: &RunOutcome<u64>| r.calls.iter().map(|c| (c.status, c.start(), c.end(), c.attempts)).collect::<Vec<_>>();
            prop_assert_eq!(key(&a), key(&b));
        }
    }
}

#[test]
fn calls_of_no_length_hold_no_slot_in_the_count_of_calls_in_flight() {
    let ms = Duration::from_millis;
    let call =
        |start: u64, end: u64| CallOutcome::<u64>::new(CallStatus::Ok, 1, Some(ms(start)), Some(ms(start)), ms(end));
    let run = RunOutcome {
        // Two overlapping calls, one of no length inside them, and one after.
        calls: vec![call(0, 10), call(5, 5), call(2, 8), call(10, 12)],
        wall: ms(12),
        max_concurrency: 4,
        deadline_hit: false,
        stalled: false,
        interrupted: false,
        start_lag: crate::stats::LatencyHistogram::new(),
        completion_lag: crate::stats::LatencyHistogram::new(),
    };
    assert_eq!(run.max_in_flight(), 2);
}
