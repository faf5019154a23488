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
    /// All of `idx`'s dependencies ended; it waits for a slot.
    fn call_ready(&mut self, idx: CallIdx, at: Duration) {
        let _ = (idx, at);
    }

    /// An attempt of `idx` started; `in_flight` calls now hold a slot.
    fn attempt_started(&mut self, idx: CallIdx, attempt: u32, at: Duration, in_flight: usize) {
        let _ = (idx, attempt, at, in_flight);
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
