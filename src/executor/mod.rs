//! The scheduler: runs a [`Plan`] through a [`Tool`] under limits, retries, timeouts and
//! a deadline, and returns one outcome per call, in input order.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use parabench::clock::Clock;
//! use parabench::executor::{CallContext, CallStatus, Executor, ExecutorConfig, Tool, ToolError};
//! use parabench::plan::{PlanBuilder, ToolSpec};
//!
//! /// Waits 100 ms per call, on whatever clock the run uses.
//! struct Wait(Clock);
//!
//! impl Tool for Wait {
//!     type Output = ();
//!
//!     async fn call(&self, _: CallContext<'_, ()>) -> Result<(), ToolError> {
//!         self.0.sleep(Duration::from_millis(100)).await;
//!         Ok(())
//!     }
//! }
//!
//! let mut plan = PlanBuilder::new();
//! let api = plan.tool(ToolSpec::io("api"));
//! for i in 0..10 {
//!     plan.call(format!("c{i}"), api);
//! }
//! let plan = plan.build().unwrap();
//!
//! // Simulated time: ten 100 ms calls, five at a time, take exactly 200 ms.
//! let clock = Clock::simulated();
//! let rt = parabench::clock::virtual_runtime().unwrap();
//! let run = rt.block_on(Executor::new(ExecutorConfig::with_max_concurrency(5)).run(&plan, &Wait(clock.clone()), &clock));
//! assert_eq!(run.wall, Duration::from_millis(200));
//! assert!(run.calls.iter().all(|c| c.status == CallStatus::Ok));
//! ```

pub mod config;
mod lag;
pub mod limit;
pub mod observe;
pub mod outcome;
mod own_clock;
mod ready;
mod scheduler;
#[cfg(test)]
mod tests;
pub mod tool;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio_util::sync::CancellationToken;

pub use config::{
    Concurrency, ExecutorConfig, Jitter, OnDependencyFailure, RetryError, RetryPolicy, RunMode, Schedule,
};
pub use observe::{AttemptEnd, NoopObserver, Observer, StatusCounter};
pub use outcome::{CallOutcome, CallStatus, RunOutcome};
pub use tool::{BoxError, CallContext, Tool, ToolError};

use crate::clock::Clock;
use crate::plan::Plan;
use own_clock::{Next, OwnClock};
use scheduler::{Event, Failure, Scheduler, Step};

/// Runs plans under one [`ExecutorConfig`].
///
/// Calls are driven as futures on the task that awaits [`Executor::run`] (no task is
/// spawned per call): each is polled once where it starts, and only one that must wait
/// joins the set of calls in flight, so a call that completes at once allocates nothing.
/// The limits are counters on that task, taken without locks.
#[derive(Clone, Debug)]
pub struct Executor {
    config: ExecutorConfig,
    stop: Option<CancellationToken>,
    sole_waiter: bool,
}

impl Executor {
    /// An executor with this configuration.
    pub fn new(config: ExecutorConfig) -> Self {
        Self {
            config,
            stop: None,
            sole_waiter: false,
        }
    }

    /// Declares that, in the task that awaits a run, nothing but the executor waits on a
    /// simulated clock (no `join!` of another clock future beside it; spawned tasks are
    /// fine, it checks for those), that its tools never yield with
    /// `tokio::task::yield_now` (whose wake-up tokio holds back until the task yields),
    /// that no clock wait its calls poll is awaited by anything outside the run as well
    /// (through a shared future, say), and that no tool blocks its thread on a clock wait
    /// of its own (a `block_on` inside a call: only the executor, blocked with it, would
    /// fire that wait). The executor then keeps the clock itself:
    ///
    /// - In simulated time it moves the clock whenever its calls are all waiting, instead
    ///   of waiting for the runtime to notice that everything is idle: a quarter less time
    ///   on a run of a million calls, with the same schedule. Without it, a clock future
    ///   beside the executor in its task (a `sleep` that cancels the run, say) sees every
    ///   instant it should; with it, such a future could miss instants.
    /// - On the real clock it keeps the waits its calls make on that clock in timers of
    ///   its own, and fires them on its own thread: when the earliest is less than 120 µs
    ///   away it spins for it rather than park, and otherwise it is woken that long before
    ///   it. A call's end then no longer waits for a timer on another thread and a
    ///   wake-up through the kernel: at a thousand calls of 10 ms in flight on two cores,
    ///   the run's excess over the ideal fell from 6–11 % to 1.5–3.5 %, and its CPU time at
    ///   ten in flight by half (docs/benchmarks.md).
    ///
    /// `parabench run`, `tune` and `analyze` run their simulated tools this way.
    ///
    /// ```
    /// use parabench::executor::{Executor, ExecutorConfig};
    ///
    /// let executor = Executor::new(ExecutorConfig::default()).sole_waiter();
    /// # let _ = executor;
    /// ```
    pub fn sole_waiter(mut self) -> Self {
        self.sole_waiter = true;
        self
    }

    /// Stops runs early when `token` is cancelled (Ctrl-C, say): calls in flight are
    /// dropped, every unfinished call ends `cancelled` at that instant, and the run's
    /// outcome says it was [interrupted](RunOutcome::interrupted). What had already
    /// ended is kept as it was.
    ///
    /// ```
    /// use parabench::executor::{Executor, ExecutorConfig};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// let stop = CancellationToken::new();
    /// let executor = Executor::new(ExecutorConfig::default()).stop_on(stop.clone());
    /// // From a signal handler or another task: `stop.cancel()`.
    /// # let _ = executor;
    /// ```
    pub fn stop_on(mut self, token: CancellationToken) -> Self {
        self.stop = Some(token);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ExecutorConfig {
        &self.config
    }

    /// Runs every call of `plan` through `tool`, waiting on `clock`.
    ///
    /// Returns one outcome per call, in input order, whatever fails: a failing or
    /// panicking tool ends its own call, not the run.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels every call in flight.
    pub async fn run<T: Tool>(&self, plan: &Plan, tool: &T, clock: &Clock) -> RunOutcome<T::Output> {
        self.run_observed(plan, tool, clock, &mut NoopObserver).await
    }

    /// [`Executor::run`], reporting every step to `observer`.
    pub async fn run_observed<T: Tool, B: Observer>(
        &self,
        plan: &Plan,
        tool: &T,
        clock: &Clock,
        observer: &mut B,
    ) -> RunOutcome<T::Output> {
        let origin = clock.now();
        observer.run_started(self.config.max_concurrency.get());
        // Outputs that tools read while the run goes on: a call's dependencies', through
        // its `CallContext`. A cell per call when any call has dependencies; none without.
        let outputs: Vec<OnceLock<T::Output>> = if plan.has_dependencies() {
            plan.calls().iter().map(|_| OnceLock::new()).collect()
        } else {
            Vec::new()
        };
        let env = StepEnv {
            plan,
            tool,
            clock,
            origin,
            // Wake-ups are timed on the wall clock, where a wake-up and its poll can be
            // apart; in virtual time they never are.
            wall_origin: clock.wall_origin(),
            timeout: self.config.attempt_timeout,
            outputs: &outputs,
        };
        let mut sched = Scheduler::new(plan, &self.config);
        let mut in_flight = FuturesUnordered::new();
        let mut steps = Vec::new();
        let mut launcher = Launcher::new();
        // Events of steps that completed on the poll that started them.
        let mut done = Vec::new();
        let handle =
            |event: Event<T::Output>, steps: &mut Vec<Step>, sched: &mut Scheduler<'_, T::Output>, observer: &mut B| {
                if let Some((idx, output)) = sched.on_event(event, steps, observer) {
                    // Only a call's successful attempt lands here. An output no other call
                    // reads goes straight to its outcome: setting a `OnceLock` costs two
                    // atomic operations, a tenth of a zero-latency call.
                    match outputs.get(idx.index()) {
                        Some(cell) if !plan.dependents(idx).is_empty() => {
                            let _ = cell.set(output);
                        }
                        _ => sched.keep_output(idx, output),
                    }
                }
            };

        let deadline = async {
            match self.config.deadline {
                Some(limit) => clock.sleep_until(origin.saturating_add(limit)).await,
                None => std::future::pending().await,
            }
        };
        let stop = async {
            match &self.stop {
                Some(token) => token.cancelled().await,
                None => std::future::pending().await,
            }
        };
        let driver = clock.drive();
        tokio::pin!(deadline, stop, driver);
        let mut own = self.sole_waiter.then(|| OwnClock::new(clock)).flatten();

        let (mut deadline_hit, mut stalled, mut interrupted) = (false, false, false);
        sched.start(observer);
        loop {
            if !done.is_empty() {
                // Take every event that is already complete before starting anything, so
                // calls ending at the same instant free their slots together and the best
                // ready call gets them. Polling with a no-op waker here is sound: the
                // `select!` below re-registers the task's waker next time.
                for event in done.drain(..) {
                    handle(event, &mut steps, &mut sched, observer);
                }
                own_clock::scope(own.as_mut(), || {
                    while let Some(event) = in_flight.next().now_or_never().flatten() {
                        handle(event, &mut steps, &mut sched, observer);
                    }
                });
                launcher
                    .launch(|step| env.run(step), &mut steps, &mut in_flight, &mut done, &mut own)
                    .await;
                // A run of calls that all complete at once never waits: let the runtime
                // see to its other tasks now and then.
                tokio::task::consume_budget().await;
                continue;
            }
            // Checked before anything starts, as well as in the `select!` below: under a
            // steady stream of completions its biased order would reach `stop` only
            // when no call has ended, which may be long after the token was cancelled.
            if self.stop.as_ref().is_some_and(CancellationToken::is_cancelled) {
                // A token cancelled as the last calls ended interrupts nothing.
                interrupted = !sched.is_done();
                break;
            }
            let now = clock.now().saturating_sub(origin);
            sched.admit(now, &mut steps, observer);
            launcher
                .launch(|step| env.run(step), &mut steps, &mut in_flight, &mut done, &mut own)
                .await;
            if !done.is_empty() {
                continue;
            }
            if sched.is_done() {
                break;
            }
            let wake = sched.next_wake(now);
            let rate_wake = async {
                match wake {
                    Some(at) => clock.sleep_until(origin + at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(rate_wake);
            // One round of polls, in the order of a biased select.
            let mut round = |cx: &mut Context<'_>| {
                if let Poll::Ready(Some(event)) = in_flight.poll_next_unpin(cx) {
                    return Some(Woke::Event(event));
                }
                if rate_wake.as_mut().poll(cx).is_ready() {
                    return Some(Woke::Rate);
                }
                if deadline.as_mut().poll(cx).is_ready() {
                    return Some(Woke::Deadline);
                }
                if stop.as_mut().poll(cx).is_ready() {
                    return Some(Woke::Stop);
                }
                driver.as_mut().poll(cx).is_ready().then_some(Woke::Stalled)
            };
            // Written out rather than a `select!`, so that an executor that keeps its own
            // clock can move it (see `own_clock`).
            let woke = std::future::poll_fn(|task| {
                loop {
                    let ready = match &mut own {
                        Some(own) => own.round(task, &mut round),
                        None => round(task),
                    };
                    if let Some(woke) = ready {
                        return Poll::Ready(woke);
                    }
                    match own.as_mut().map(|own| own.advance(clock, task.waker())) {
                        Some(Next::Poll) => {}
                        Some(Next::Stalled) => return Poll::Ready(Woke::Stalled),
                        Some(Next::Park) | None => return Poll::Pending,
                    }
                }
            })
            .await;
            match woke {
                // Handled at the top of the loop, with every other event complete by then.
                Woke::Event(event) => done.push(event),
                Woke::Rate => {}
                Woke::Deadline => {
                    deadline_hit = true;
                    break;
                }
                Woke::Stop => {
                    interrupted = true;
                    break;
                }
                Woke::Stalled => {
                    stalled = true;
                    break;
                }
            }
        }
        drop(in_flight);
        drop(launcher);
        let end = clock.now().saturating_sub(origin);
        let end = match self.config.deadline {
            Some(limit) if deadline_hit => limit,
            _ => end,
        };
        if !sched.is_done() {
            sched.cancel_rest(end, observer);
        }
        let lags = sched.take_lags();
        let mut calls = sched.into_outcomes();
        for (call, output) in calls.iter_mut().zip(outputs) {
            if let Some(output) = output.into_inner() {
                call.output = Some(output);
            }
        }
        // The run lasts until its last event was handled.
        let wall = calls
            .iter()
            .map(|c| c.end())
            .max()
            .unwrap_or_default()
            .max(lags.handled);
        observer.run_ended(wall);
        RunOutcome {
            calls,
            wall,
            max_concurrency: self.config.max_concurrency.get(),
            deadline_hit,
            stalled,
            interrupted,
            start_lag: lags.start,
            completion_lag: lags.completion,
        }
    }
}

/// What ended the executor's wait for something to happen.
enum Woke<E> {
    Event(E),
    Rate,
    Deadline,
    Stop,
    Stalled,
}

/// A step's future in a heap slot of its own, so that it can be polled where it starts
/// and, if it must wait, move to the executor's `FuturesUnordered` without moving.
struct Slot<F>(Pin<Box<Option<F>>>);

impl<F: Future> Future for Slot<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // `Slot` is `Unpin`: the future it holds is pinned in its box.
        self.get_mut()
            .0
            .as_mut()
            .as_pin_mut()
            .expect("a launched step")
            .poll(cx)
    }
}

/// Starts steps: each step's future is polled once at once, in a reused slot. One that
/// completes there (a zero-latency call) costs no allocation and never enters the
/// `FuturesUnordered`; one that waits moves there in its slot, and a new slot is made for
/// the next.
struct Launcher<F> {
    spare: Option<Pin<Box<Option<F>>>>,
}

impl<F: Future> Launcher<F> {
    fn new() -> Self {
        Self { spare: None }
    }

    fn start_one(
        &mut self,
        fut: F,
        in_flight: &mut FuturesUnordered<Slot<F>>,
        cx: &mut Context<'_>,
    ) -> Option<F::Output> {
        let mut slot = self.spare.take().unwrap_or_else(|| Box::pin(None));
        slot.set(Some(fut));
        match slot.as_mut().as_pin_mut().expect("just set").poll(cx) {
            Poll::Ready(out) => {
                slot.set(None);
                self.spare = Some(slot);
                Some(out)
            }
            Poll::Pending => {
                in_flight.push(Slot(slot));
                None
            }
        }
    }
}

impl<F: Future> Launcher<F> {
    /// Starts every step of `steps`, in order, as `make` makes its future; the outputs of
    /// those that complete at once go to `done`.
    async fn launch(
        &mut self,
        make: impl Fn(Step) -> F,
        steps: &mut Vec<Step>,
        in_flight: &mut FuturesUnordered<Slot<F>>,
        done: &mut Vec<F::Output>,
        own: &mut Option<OwnClock>,
    ) {
        if steps.is_empty() {
            return;
        }
        std::future::poll_fn(|cx| {
            own_clock::scope(own.as_mut(), || {
                for step in steps.drain(..) {
                    done.extend(self.start_one(make(step), in_flight, cx));
                }
            });
            Poll::Ready(())
        })
        .await;
    }
}

/// What an attempt or a backoff needs to run, borrowed for the whole run.
struct StepEnv<'a, T: Tool> {
    plan: &'a Plan,
    tool: &'a T,
    clock: &'a Clock,
    origin: Duration,
    /// The real clock's origin, to time wake-ups; `None` in virtual time.
    wall_origin: Option<std::time::Instant>,
    /// The run's attempt timeout, where a tool has none of its own.
    timeout: Option<Duration>,
    outputs: &'a [OnceLock<T::Output>],
}

impl<'a, T: Tool> StepEnv<'a, T> {
    /// One future type for both kinds of step, so they share one `FuturesUnordered`.
    async fn run(&self, step: Step) -> Event<T::Output> {
        let (idx, attempt) = match step {
            Step::Backoff { idx, until } => {
                // Boxed, like the timeout below: a clock's sleep is ~200 bytes, and kept
                // inline it would make every step's future that large, to be moved into
                // the `FuturesUnordered` on each call (a fifth of the per-call overhead).
                Box::pin(self.clock.sleep_until(self.origin + until)).await;
                return Event::BackoffDone { idx };
            }
            Step::Attempt { idx, attempt } => (idx, attempt),
        };
        // The first poll: the tool begins now, perhaps well after its admission.
        let began = self.wall_origin.map(|_| self.clock.now().saturating_sub(self.origin));
        let ctx = CallContext {
            idx,
            plan: self.plan,
            attempt,
            outputs: self.outputs,
        };
        let work = async {
            // Made here, not captured from outside: a future captured by an async block
            // is stored beside the copy it awaits, which doubled every step's size (and
            // the bytes moved to start one) for a tool whose future is large.
            // A panicking tool fails its own call, not the run.
            let call = AssertUnwindSafe(self.tool.call(ctx)).catch_unwind();
            match self
                .plan
                .tool(self.plan.call(idx).tool)
                .attempt_timeout
                .or(self.timeout)
            {
                Some(limit) => Box::pin(self.clock.timeout(limit, call))
                    .await
                    .map_err(|_| Failure::Timeout),
                None => Ok(call.await),
            }
        };
        // Done at its last wake-up (a timeout's included), not when it was handled. In
        // virtual time no time passes between the two.
        let (result, woken) = match self.wall_origin {
            Some(_) => lag::stamped(work).await,
            None => (work.await, None),
        };
        let done = woken
            .zip(self.wall_origin)
            .map(|(at, origin)| at.saturating_duration_since(origin));
        let handled = self.clock.now().saturating_sub(self.origin);
        let end = done.map_or(handled, |d| d.saturating_sub(self.origin).min(handled));
        let result = match result {
            Ok(Ok(Ok(output))) => Ok(output),
            Ok(Ok(Err(error))) => Err(Failure::Error(error)),
            Ok(Err(panic)) => Err(Failure::Error(ToolError::permanent(panic_message(&*panic)))),
            Err(timeout) => Err(timeout),
        };
        Event::Attempt {
            idx,
            attempt,
            began,
            end,
            lag: done.map(|_| handled - end),
            result,
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)");
    format!("tool panicked: {text}")
}
