//! Tools that misbehave: a panic fails only its own call, a hang is cut off at the
//! timeout and leaves no task behind, and a storm of failures with retries still ends
//! within the run's deadline. Each runs on a real multi-threaded runtime, as a user's
//! own tools would.

mod common;

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use common::{parabench, read_json, temp_dir, text, write};
use parabench::clock::{Clock, virtual_runtime};
use parabench::executor::{
    CallContext, CallStatus, Executor, ExecutorConfig, Jitter, RetryPolicy, RunOutcome, Tool, ToolError,
};
use parabench::plan::{Plan, PlanBuilder, ToolSpec};
use parabench::scenario::{self, Scenario};
use parabench::sim::SimTool;

/// Far above what any run here needs: a deadlock fails the test instead of hanging CI.
const WATCHDOG: Duration = Duration::from_secs(60);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A runtime like the one `parabench run` uses for the real clock.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `work` on another thread and fails if it does not return within the watchdog.
fn within_watchdog<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(WATCHDOG)
        .expect("the run finished (no deadlock) and did not panic")
}

/// Up to `attempts` attempts, 1 ms apart.
fn retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(NonZeroU32::new(attempts).unwrap(), ms(1), 1.0, ms(1), Jitter::None).unwrap()
}

fn independent(n: usize) -> Plan {
    let mut plan = PlanBuilder::new();
    let t = plan.tool(ToolSpec::io("t"));
    for i in 0..n {
        plan.call(format!("c{i}"), t);
    }
    plan.build().unwrap()
}

/// Panics in every third call, on a spawned task in half of those, so both a panic in
/// the call's own future and one surfacing through a `JoinHandle` are covered.
struct Panicky;

impl Tool for Panicky {
    type Output = usize;

    async fn call(&self, ctx: CallContext<'_, usize>) -> Result<usize, ToolError> {
        let i = ctx.index().index();
        tokio::time::sleep(ms(2)).await;
        match i % 6 {
            0 => panic!("tool bug in call {i}"),
            3 => tokio::spawn(async move { panic!("task bug in call {i}") })
                .await
                .map_err(ToolError::permanent),
            _ => Ok(i),
        }
    }
}

#[test]
fn a_panicking_tool_fails_its_own_calls_and_the_run_goes_on() {
    let run = within_watchdog(|| {
        let plan = independent(60);
        let config = ExecutorConfig {
            retry: retries(3),
            ..ExecutorConfig::with_max_concurrency(8)
        };
        runtime().block_on(Executor::new(config).run(&plan, &Panicky, &Clock::real()))
    });
    assert_eq!(run.calls.len(), 60);
    for (i, call) in run.calls.iter().enumerate() {
        match i % 6 {
            0 => {
                assert_eq!(call.status, CallStatus::Error);
                // A panic is a bug, not a transient failure: it is not retried.
                assert_eq!(call.attempts, 1);
                let message = call.error.as_ref().unwrap().to_string();
                assert_eq!(message, format!("tool panicked: tool bug in call {i}"));
            }
            3 => {
                assert_eq!(call.status, CallStatus::Error);
                let message = call.error.as_ref().unwrap().to_string();
                assert!(message.contains(&format!("task bug in call {i}")), "{message}");
            }
            _ => assert_eq!((call.status, call.output), (CallStatus::Ok, Some(i))),
        }
    }
}

/// Counts the attempt futures alive: created on each call, dropped when it ends or is
/// cancelled.
#[derive(Clone, Default)]
struct Live(Arc<AtomicUsize>);

struct LiveGuard(Arc<AtomicUsize>);

impl Live {
    fn enter(&self) -> LiveGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        LiveGuard(self.0.clone())
    }

    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A well-behaved client of a backend that never answers: each attempt hands its
/// request to a spawned task (as HTTP clients do) and aborts it if it is itself dropped.
struct Hangs {
    live: Live,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Tool for Hangs {
    type Output = ();

    async fn call(&self, ctx: CallContext<'_, ()>) -> Result<(), ToolError> {
        let _alive = self.live.enter();
        if ctx.index().index() % 2 == 0 {
            tokio::time::sleep(ms(1)).await;
            return Ok(());
        }
        let request = AbortOnDrop(tokio::spawn(std::future::pending()));
        std::future::pending::<()>().await;
        drop(request);
        Ok(())
    }
}

/// Waits until the runtime has no task left, or the watchdog runs out.
fn alive_tasks_settle(rt: &tokio::runtime::Runtime) -> usize {
    let start = std::time::Instant::now();
    // An aborted task is freed when a worker next sees it, a moment after the abort.
    while rt.metrics().num_alive_tasks() > 0 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(ms(5));
    }
    rt.metrics().num_alive_tasks()
}

#[test]
fn a_hanging_tool_is_cut_off_at_its_timeout_and_leaves_no_task() {
    let live = Live::default();
    let tool = Hangs { live: live.clone() };
    let (run, tasks) = within_watchdog(move || {
        let plan = independent(40);
        let config = ExecutorConfig {
            attempt_timeout: Some(ms(30)),
            retry: retries(2),
            ..ExecutorConfig::with_max_concurrency(10)
        };
        let rt = runtime();
        let run = rt.block_on(Executor::new(config).run(&plan, &tool, &Clock::real()));
        (run, alive_tasks_settle(&rt))
    });
    assert_eq!(live.count(), 0, "every attempt's future was dropped");
    assert_eq!(tasks, 0, "tasks still alive after the run");
    for (i, call) in run.calls.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(call.status, CallStatus::Ok);
        } else {
            assert_eq!((call.status, call.attempts), (CallStatus::Timeout, 2));
        }
    }
}

/// Simulated tools that hang (I/O) or compute past the timeout (CPU), as a scenario
/// describes them, driven by the library on a runtime the test owns.
const HANGING_SIM: &str = r#"name = "hanging_sim"
[executor]
max_concurrency = 8
timeout = "40ms"
[executor.retry]
max_attempts = 2
initial_backoff = "5ms"
[tools.flaky_api]
latency = { dist = "constant", value = "5ms" }
timeout_rate = 0.5
[tools.heavy]
kind = "cpu"
latency = { dist = "constant", value = "500ms" }
[[generate]]
count = 30
id_prefix = "api"
tool = "flaky_api"
[[generate]]
count = 4
id_prefix = "cpu"
tool = "heavy"
"#;

/// Runs the simulated tools of the scenario `source` in real time, on a runtime the test
/// owns; returns the outcome and the tasks still alive once the run is over.
fn simulate_in_real_time(source: &'static str, seed: u64) -> (RunOutcome<()>, usize) {
    within_watchdog(move || {
        let scenario: Scenario = scenario::parse(source, Path::new("sim.toml")).unwrap();
        let clock = Clock::real();
        let cores = NonZeroUsize::new(2).unwrap();
        let tool = SimTool::new(&scenario.plan, scenario.models.clone(), seed, clock.clone(), cores).unwrap();
        let rt = runtime();
        let run = rt.block_on(Executor::new(scenario.executor.clone()).run(&scenario.plan, &tool, &clock));
        drop(tool);
        (run, alive_tasks_settle(&rt))
    })
}

#[test]
fn simulated_hangs_and_overlong_cpu_work_are_cancelled_without_leaking_tasks() {
    let (run, tasks) = simulate_in_real_time(HANGING_SIM, 7);
    assert_eq!(tasks, 0, "tasks still alive after the run");
    let timeouts = run.count(CallStatus::Timeout);
    assert!(timeouts >= 4, "every CPU call and some API calls time out: {timeouts}");
    assert!(
        run.calls[30..]
            .iter()
            .all(|c| c.status == CallStatus::Timeout && c.attempts == 2)
    );
    assert_eq!(run.count(CallStatus::Ok) + timeouts, 34);
}

/// Every attempt fails, and each call retries with backoff far longer than the deadline
/// leaves: the run must end at the deadline, not after the retries.
const STORM: &str = r#"name = "storm"
[executor]
max_concurrency = 16
deadline = "2s"
[executor.retry]
max_attempts = 10
initial_backoff = "100ms"
multiplier = 2.0
max_backoff = "5s"
jitter = "full"
[tools.down]
latency = { dist = "exponential", mean = "20ms" }
failure_rate = 1.0
[[generate]]
count = 500
id_prefix = "c"
tool = "down"
"#;

fn assert_storm_outcome(run: &RunOutcome<()>, deadline: Duration) {
    assert!(run.deadline_hit);
    assert_eq!(run.wall, deadline);
    assert!(run.calls.iter().all(|c| c.end() <= deadline));
    assert_eq!(run.count(CallStatus::Ok), 0);
    assert_eq!(run.count(CallStatus::Error) + run.count(CallStatus::Cancelled), 500);
    // A call keeps its slot through its backoffs, so only the first few ever started,
    // and each of those retried again and again until the deadline cut it off.
    let started = run.calls.iter().filter(|c| c.attempts > 0).count();
    let attempts: u32 = run.calls.iter().map(|c| c.attempts).sum();
    assert!(
        started >= 16 && attempts as usize >= 3 * started,
        "{attempts} attempts by {started} calls"
    );
}

#[test]
fn a_failure_storm_ends_at_the_deadline_in_virtual_time() {
    let scenario = scenario::parse(STORM, Path::new("storm.toml")).unwrap();
    let clock = Clock::simulated();
    let cores = NonZeroUsize::new(2).unwrap();
    let tool = SimTool::new(&scenario.plan, scenario.models.clone(), 1, clock.clone(), cores).unwrap();
    let rt = virtual_runtime().unwrap();
    let run = rt.block_on(Executor::new(scenario.executor.clone()).run(&scenario.plan, &tool, &clock));
    assert_storm_outcome(&run, Duration::from_secs(2));
}

#[test]
fn a_failure_storm_ends_at_the_deadline_in_real_time() {
    let (run, tasks) = simulate_in_real_time(STORM, 1);
    assert_storm_outcome(&run, Duration::from_secs(2));
    assert_eq!(tasks, 0, "tasks still alive after the run");
}

#[test]
fn a_failure_storm_through_the_binary_reports_every_call() {
    let dir = temp_dir("storm");
    let scenario = write(&dir, "storm.toml", STORM);
    let json = dir.join("storm.json");
    let (code, stdout, stderr) = text(&parabench(&[
        "run",
        scenario.to_str().unwrap(),
        "--clock",
        "virtual",
        "--json",
        json.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("hit the deadline"), "{stdout}");
    let report = read_json(&json);
    for run in report["runs"].as_array().unwrap() {
        assert_eq!(run["deadline_hit"], true);
        assert_eq!(run["wall_s"], 2.0);
        assert_eq!(run["success_rate"], 0.0);
        assert_eq!(run["calls"].as_array().unwrap().len(), 500);
    }
}
