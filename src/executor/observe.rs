//! The one narrow interface through which telemetry watches a run.
//!
//! Every hook defaults to doing nothing, so [`NoopObserver`] compiles away and a run with
//! telemetry off pays for nothing but the calls themselves.

use std::time::Duration;

use super::outcome::{CallOutcome, CallStatus};
use crate::plan::CallIdx;

/// How one attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptEnd {
    /// It returned a result.
    Ok,
    /// It returned an error.
    Error,
    /// It ran past its timeout.
    Timeout,
}

/// Watches a run. Times are since the start of the run, on the run's clock.
pub trait Observer {
    /// The run starts, with `max_concurrency` slots: time zero of every `at` below.
    fn run_started(&mut self, max_concurrency: usize) {
        let _ = max_concurrency;
    }

    /// The run ended after `wall`; every call has had its [`Observer::call_ended`].
    fn run_ended(&mut self, wall: Duration) {
        let _ = wall;
    }

    /// All of `idx`'s dependencies ended; it waits for a slot.
    fn call_ready(&mut self, idx: CallIdx, at: Duration) {
        let _ = (idx, at);
    }

    /// An attempt of `idx` started; `in_flight` calls now hold a slot.
    fn attempt_started(&mut self, idx: CallIdx, attempt: u32, at: Duration, in_flight: usize) {
        let _ = (idx, attempt, at, in_flight);
    }

    /// The tool of an attempt of `idx` began running at `at`, later than its
    /// [`attempt_started`](Observer::attempt_started): the executor admitted it, then
    /// started others before polling it (its start lag). Real clock only; comes just
    /// before [`attempt_ended`](Observer::attempt_ended). The call's outcome starts here.
    fn attempt_began(&mut self, idx: CallIdx, attempt: u32, at: Duration) {
        let _ = (idx, attempt, at);
    }

    /// An attempt of `idx` ended.
    fn attempt_ended(&mut self, idx: CallIdx, attempt: u32, at: Duration, end: AttemptEnd) {
        let _ = (idx, attempt, at, end);
    }

    /// `idx` waits `delay` before its next attempt.
    fn backoff(&mut self, idx: CallIdx, attempt: u32, at: Duration, delay: Duration) {
        let _ = (idx, attempt, at, delay);
    }

    /// `idx` ended with its final outcome.
    fn call_ended<O>(&mut self, idx: CallIdx, outcome: &CallOutcome<O>) {
        let _ = (idx, outcome);
    }
}

/// Forwards every hook to the observer, so a caller can lend one out.
impl<B: Observer + ?Sized> Observer for &mut B {
    fn run_started(&mut self, max_concurrency: usize) {
        (**self).run_started(max_concurrency);
    }
    fn run_ended(&mut self, wall: Duration) {
        (**self).run_ended(wall);
    }
    fn call_ready(&mut self, idx: CallIdx, at: Duration) {
        (**self).call_ready(idx, at);
    }
    fn attempt_started(&mut self, idx: CallIdx, attempt: u32, at: Duration, in_flight: usize) {
        (**self).attempt_started(idx, attempt, at, in_flight);
    }
    fn attempt_began(&mut self, idx: CallIdx, attempt: u32, at: Duration) {
        (**self).attempt_began(idx, attempt, at);
    }
    fn attempt_ended(&mut self, idx: CallIdx, attempt: u32, at: Duration, end: AttemptEnd) {
        (**self).attempt_ended(idx, attempt, at, end);
    }
    fn backoff(&mut self, idx: CallIdx, attempt: u32, at: Duration, delay: Duration) {
        (**self).backoff(idx, attempt, at, delay);
    }
    fn call_ended<O>(&mut self, idx: CallIdx, outcome: &CallOutcome<O>) {
        (**self).call_ended(idx, outcome);
    }
}

/// An observer that may be switched off: `None` costs one branch per hook.
impl<B: Observer> Observer for Option<B> {
    fn run_started(&mut self, max_concurrency: usize) {
        if let Some(b) = self {
            b.run_started(max_concurrency);
        }
    }
    fn run_ended(&mut self, wall: Duration) {
        if let Some(b) = self {
            b.run_ended(wall);
        }
    }
    fn call_ready(&mut self, idx: CallIdx, at: Duration) {
        if let Some(b) = self {
            b.call_ready(idx, at);
        }
    }
    fn attempt_started(&mut self, idx: CallIdx, attempt: u32, at: Duration, in_flight: usize) {
        if let Some(b) = self {
            b.attempt_started(idx, attempt, at, in_flight);
        }
    }
    fn attempt_began(&mut self, idx: CallIdx, attempt: u32, at: Duration) {
        if let Some(b) = self {
            b.attempt_began(idx, attempt, at);
        }
    }
    fn attempt_ended(&mut self, idx: CallIdx, attempt: u32, at: Duration, end: AttemptEnd) {
        if let Some(b) = self {
            b.attempt_ended(idx, attempt, at, end);
        }
    }
    fn backoff(&mut self, idx: CallIdx, attempt: u32, at: Duration, delay: Duration) {
        if let Some(b) = self {
            b.backoff(idx, attempt, at, delay);
        }
    }
    fn call_ended<O>(&mut self, idx: CallIdx, outcome: &CallOutcome<O>) {
        if let Some(b) = self {
            b.call_ended(idx, outcome);
        }
    }
}

/// Two observers watching the same run, `.0` first.
impl<A: Observer, B: Observer> Observer for (A, B) {
    fn run_started(&mut self, max_concurrency: usize) {
        self.0.run_started(max_concurrency);
        self.1.run_started(max_concurrency);
    }
    fn run_ended(&mut self, wall: Duration) {
        self.0.run_ended(wall);
        self.1.run_ended(wall);
    }
    fn call_ready(&mut self, idx: CallIdx, at: Duration) {
        self.0.call_ready(idx, at);
        self.1.call_ready(idx, at);
    }
    fn attempt_started(&mut self, idx: CallIdx, attempt: u32, at: Duration, in_flight: usize) {
        self.0.attempt_started(idx, attempt, at, in_flight);
        self.1.attempt_started(idx, attempt, at, in_flight);
    }
    fn attempt_began(&mut self, idx: CallIdx, attempt: u32, at: Duration) {
        self.0.attempt_began(idx, attempt, at);
        self.1.attempt_began(idx, attempt, at);
    }
    fn attempt_ended(&mut self, idx: CallIdx, attempt: u32, at: Duration, end: AttemptEnd) {
        self.0.attempt_ended(idx, attempt, at, end);
        self.1.attempt_ended(idx, attempt, at, end);
    }
    fn backoff(&mut self, idx: CallIdx, attempt: u32, at: Duration, delay: Duration) {
        self.0.backoff(idx, attempt, at, delay);
        self.1.backoff(idx, attempt, at, delay);
    }
    fn call_ended<O>(&mut self, idx: CallIdx, outcome: &CallOutcome<O>) {
        self.0.call_ended(idx, outcome);
        self.1.call_ended(idx, outcome);
    }
}

/// Observes nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopObserver;

impl Observer for NoopObserver {}

/// Counts ended calls by status; handy in tests and examples.
#[derive(Clone, Debug, Default)]
pub struct StatusCounter {
    /// Calls ended with each status, indexed like [`CallStatus::ALL`].
    pub counts: [usize; 5],
    /// The most calls in flight at once.
    pub peak_in_flight: usize,
}

impl Observer for StatusCounter {
    fn attempt_started(&mut self, _: CallIdx, _: u32, _: Duration, in_flight: usize) {
        self.peak_in_flight = self.peak_in_flight.max(in_flight);
    }

    fn call_ended<O>(&mut self, _: CallIdx, outcome: &CallOutcome<O>) {
        let i = CallStatus::ALL
            .iter()
            .position(|s| *s == outcome.status)
            .expect("listed");
        self.counts[i] += 1;
    }
}
