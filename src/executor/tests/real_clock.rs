//! The executor on the real clock: the same semantics, and its own delays (start and
//! completion lag) kept out of every call's service time. Only orderings and lower bounds
//! set by blocking the executor's thread, never speeds.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_time_runs_the_same_semantics() {
    let (plan, _) = independent(10);
    let clock = Clock::real();
    let tool = Script {
        clock: clock.clone(),
        calls: latencies(&[2; 10]),
    };
    let run = Executor::new(ExecutorConfig::with_max_concurrency(5))
        .run(&plan, &tool, &clock)
        .await;
    assert_eq!(run.count(CallStatus::Ok), 10);
    // Five at a time: the sixth call cannot start before a first one ended.
    let sixth = run.calls.iter().filter_map(|c| c.start()).max().unwrap();
    let first_end = run.calls.iter().map(|c| c.end()).min().unwrap();
    assert!(sixth >= first_end);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_time_holds_a_call_until_its_arrival() {
    let mut b = PlanBuilder::new();
    let t = b.tool(ToolSpec::io("t"));
    let early = b.call("early", t);
    let late = b.call("late", t);
    b.arrives_at(late, ms(15));
    let plan = b.build().unwrap();
    let clock = Clock::real();
    let tool = Script {
        clock: clock.clone(),
        calls: latencies(&[1, 1]),
    };
    let run = Executor::new(ExecutorConfig::with_max_concurrency(5))
        .run(&plan, &tool, &clock)
        .await;
    // Only orderings, never speeds: the call starts at or after its arrival, and its
    // queue wait counts from the arrival, not from the start of the run.
    let late = &run.calls[late.index()];
    assert_eq!(late.ready(), Some(ms(15)));
    assert!(late.start().unwrap() >= ms(15), "{late:?}");
    assert!(run.calls[early.index()].start().unwrap() < ms(15));
}

#[test]
fn a_call_done_while_the_executor_is_busy_ends_when_it_was_done_and_the_wait_is_lag() {
    // Call 0 waits for a message; call 1 sends it, then holds the executor's only thread
    // for 40 ms inside its poll. Call 0 is done at the send, but the executor can handle
    // it only after call 1's poll returns: 40 ms of lag that is not call 0's service.
    struct Handoff {
        tx: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
        rx: std::sync::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
    }
    impl Tool for Handoff {
        type Output = ();
        async fn call<'a>(&'a self, ctx: CallContext<'a, ()>) -> Result<(), ToolError> {
            if ctx.index().index() == 0 {
                let rx = self.rx.lock().unwrap().take().unwrap();
                rx.await.map_err(ToolError::permanent)
            } else {
                // Call 0 has had its first poll (and registered its waker) by now.
                tokio::task::yield_now().await;
                self.tx.lock().unwrap().take().unwrap().send(()).unwrap();
                std::thread::sleep(ms(40));
                Ok(())
            }
        }
    }
    let (plan, _) = independent(2);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tool = Handoff {
        tx: std::sync::Mutex::new(Some(tx)),
        rx: std::sync::Mutex::new(Some(rx)),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let clock = Clock::real();
    let run = rt.block_on(Executor::new(ExecutorConfig::with_max_concurrency(2)).run(&plan, &tool, &clock));
    assert_eq!(run.count(CallStatus::Ok), 2);
    let (waited, blocker) = (&run.calls[0], &run.calls[1]);
    // Done at the send, which came before the 40 ms block: its end is that much before
    // the blocker's, and the executor's lag holds the 40 ms.
    assert!(waited.end() + ms(40) <= blocker.end(), "{waited:?} {blocker:?}");
    assert!(run.completion_lag.max() >= ms(40), "{:?}", run.completion_lag.max());
    assert!(run.wall >= blocker.end());
    // In virtual time nothing waits for the executor: no lag is recorded.
    let (plan, _) = independent(3);
    let clock = Clock::simulated();
    let tool = Script {
        clock: clock.clone(),
        calls: latencies(&[5, 5, 5]),
    };
    let run = virtual_runtime()
        .unwrap()
        .block_on(Executor::new(ExecutorConfig::with_max_concurrency(3)).run(&plan, &tool, &clock));
    assert_eq!((run.completion_lag.len(), run.wall), (0, ms(5)));
}

#[test]
fn a_call_admitted_behind_a_slow_first_poll_starts_when_its_tool_begins() {
    // Both calls are admitted at once; the first one's first poll holds the executor's
    // thread for 40 ms, so the second's tool begins 40 ms after its admission. That wait
    // is the executor's start lag: in the call's queue wait, not in its service time.
    struct SlowFirstPoll;
    impl Tool for SlowFirstPoll {
        type Output = ();
        async fn call<'a>(&'a self, ctx: CallContext<'a, ()>) -> Result<(), ToolError> {
            if ctx.index().index() == 0 {
                std::thread::sleep(ms(40));
            }
            Ok(())
        }
    }
    let (plan, _) = independent(2);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let clock = Clock::real();
    let run = rt.block_on(Executor::new(ExecutorConfig::with_max_concurrency(2)).run(&plan, &SlowFirstPoll, &clock));
    let second = &run.calls[1];
    assert!(second.start().unwrap() >= ms(40), "{second:?}");
    assert!(second.service_time().unwrap() < second.queue_wait().unwrap());
    assert!(run.start_lag.max() >= ms(40), "{:?}", run.start_lag.max());
    assert_eq!(run.start_lag.len(), 2);
}

#[test]
fn a_sole_waiter_fires_its_calls_waits_on_its_own_thread() {
    // 50 calls of 1.5 ms in flight at once, on a runtime of one thread. As its task's
    // sole waiter the executor fires their waits itself, and asks the shared timer thread
    // only to wake it before the earliest (again after a gap between deadlines, which a
    // busy machine can open while the calls start); otherwise every call's wait registers
    // there when it starts (below tokio's coarse stage, so no deadline can pass first
    // unless the thread stalls for 1.5 ms between two polls of one call).
    let registrations = |sole: bool| {
        let (plan, _) = independent(50);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let clock = Clock::real();
        let tool = Script {
            clock: clock.clone(),
            calls: vec![
                Behaviour {
                    latency: Duration::from_micros(1500),
                    ..Behaviour::default()
                };
                50
            ],
        };
        let mut executor = Executor::new(ExecutorConfig::with_max_concurrency(50));
        if sole {
            executor = executor.sole_waiter();
        }
        let before = crate::clock::registrations_on_this_thread();
        let run = rt.block_on(executor.run(&plan, &tool, &clock));
        assert_eq!(run.count(CallStatus::Ok), 50);
        for call in &run.calls {
            assert!(call.service_time().unwrap() >= Duration::from_micros(1500), "{call:?}");
        }
        crate::clock::registrations_on_this_thread() - before
    };
    let shared = registrations(false);
    let own = registrations(true);
    assert!(shared >= 40, "{shared} registrations");
    assert!(own * 4 <= shared, "{own} registrations against {shared}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sole_waiter_keeps_timeouts_backoffs_and_the_deadline() {
    let (plan, _) = independent(3);
    let clock = Clock::real();
    let tool = Script {
        clock: clock.clone(),
        calls: vec![
            // Hangs on its first attempt until the 100 ms timeout, then takes 2 ms.
            Behaviour {
                latency: ms(2),
                hangs: 1,
                ..Behaviour::default()
            },
            // Fails once after 2 ms, then succeeds.
            Behaviour {
                latency: ms(2),
                failures: 1,
                ..Behaviour::default()
            },
            // Times out at 100 ms; its second attempt, from 103 ms, outlasts the run's 180 ms
            // deadline (far enough from both ends for a late timer on a busy machine).
            Behaviour {
                latency: ms(500),
                ..Behaviour::default()
            },
        ],
    };
    let config = ExecutorConfig {
        attempt_timeout: Some(ms(100)),
        deadline: Some(ms(180)),
        retry: RetryPolicy::new(NonZeroU32::new(2).unwrap(), ms(3), 1.0, ms(3), Jitter::None).unwrap(),
        ..ExecutorConfig::with_max_concurrency(3)
    };
    let run = tokio::time::timeout(
        Duration::from_secs(10),
        Executor::new(config).sole_waiter().run(&plan, &tool, &clock),
    )
    .await
    .expect("the run ends");
    let (hung, failed, long) = (&run.calls[0], &run.calls[1], &run.calls[2]);
    assert_eq!((hung.status, hung.attempts), (CallStatus::Ok, 2));
    assert!(hung.end() >= ms(100 + 3 + 2), "{hung:?}");
    assert_eq!((failed.status, failed.attempts), (CallStatus::Ok, 2));
    assert!(failed.end() >= ms(2 + 3 + 2), "{failed:?}");
    assert_eq!((long.status, long.attempts), (CallStatus::Cancelled, 2));
    assert!(run.deadline_hit);
    assert_eq!(run.wall, ms(180));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sole_waiter_stops_when_told_while_its_calls_wait() {
    // The stop comes from another thread while the executor waits for deadlines of its
    // own: it wakes the executor, which ends the run before any call could have.
    let (plan, _) = independent(4);
    let clock = Clock::real();
    let tool = Script {
        clock: clock.clone(),
        calls: latencies(&[500; 4]),
    };
    let stop = CancellationToken::new();
    let cancel = stop.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(ms(20));
        cancel.cancel();
    });
    let run = Executor::new(ExecutorConfig::with_max_concurrency(4))
        .sole_waiter()
        .stop_on(stop)
        .run(&plan, &tool, &clock)
        .await;
    stopper.join().unwrap();
    assert!(run.interrupted);
    assert_eq!(run.count(CallStatus::Cancelled), 4);
    assert!(run.wall >= ms(20) && run.wall < ms(500), "{:?}", run.wall);
}
