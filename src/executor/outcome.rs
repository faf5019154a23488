//! What happened to each call: one [`CallOutcome`] per call, in input order.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::tool::ToolError;
use crate::plan::CallIdx;
use crate::stats::LatencyHistogram;

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallStatus {
    /// An attempt succeeded.
    Ok,
    /// The last attempt failed (or a tool error was permanent).
    Error,
    /// The last attempt ran past its timeout.
    Timeout,
    /// Never run: a dependency did not succeed.
    Skipped,
    /// Not finished when the run's deadline passed or the run was interrupted.
    Cancelled,
}

impl CallStatus {
    /// Every status, in report order.
    pub const ALL: [CallStatus; 5] = [
        CallStatus::Ok,
        CallStatus::Error,
        CallStatus::Timeout,
        CallStatus::Skipped,
        CallStatus::Cancelled,
    ];

    /// The status as it appears in reports and telemetry.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Ok => "ok",
            CallStatus::Error => "error",
            CallStatus::Timeout => "timeout",
            CallStatus::Skipped => "skipped",
            CallStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one call.
///
/// # Timing model
///
/// All times are since the start of the run, on the run's clock. [`ready`](Self::ready)
/// is when the last dependency ended (the start of the run for a call without any), or the
/// call's intended [arrival](crate::plan::Plan::arrival) if that is later;
/// [`start`](Self::start) is when its first attempt began, so `start - ready` is the queue
/// wait: time spent waiting for a global or per-tool slot or the rate limit.
/// `end - start` is the service time: every attempt, and the backoffs between them.
///
/// The three times are methods, not fields: kept as nanoseconds, they make an outcome 48
/// bytes instead of 72, and a run keeps one per call, up to ten million.
#[derive(Debug)]
pub struct CallOutcome<O> {
    /// How the call ended.
    pub status: CallStatus,
    /// Attempts started (0 if the call never started).
    pub attempts: u32,
    /// The output, for a call that succeeded.
    pub output: Option<O>,
    /// The last attempt's error, for a call that failed.
    pub error: Option<ToolError>,
    /// For a skipped call, the call whose failure caused it.
    pub cause: Option<CallIdx>,
    ready: Nanos,
    start: Nanos,
    end: Nanos,
}

impl<O> CallOutcome<O> {
    /// An outcome with these times, and no output, error or cause (set those fields
    /// after): for building a [`RunOutcome`] by hand, from runs made elsewhere, say.
    ///
    /// ```
    /// use std::time::Duration;
    /// use parabench::executor::{CallOutcome, CallStatus};
    ///
    /// let ms = Duration::from_millis;
    /// let call = CallOutcome::<()>::new(CallStatus::Ok, 1, Some(ms(0)), Some(ms(5)), ms(25));
    /// assert_eq!((call.queue_wait(), call.service_time()), (Some(ms(5)), Some(ms(20))));
    /// ```
    pub fn new(
        status: CallStatus,
        attempts: u32,
        ready: Option<Duration>,
        start: Option<Duration>,
        end: Duration,
    ) -> Self {
        let mut outcome = Self::pending();
        outcome.status = status;
        outcome.attempts = attempts;
        outcome.ready = ready.map_or(Nanos::NONE, Nanos::new);
        outcome.start = start.map_or(Nanos::NONE, Nanos::new);
        outcome.end = Nanos::new(end);
        outcome
    }

    pub(super) fn pending() -> Self {
        Self {
            status: CallStatus::Cancelled,
            attempts: 0,
            output: None,
            error: None,
            cause: None,
            ready: Nanos::NONE,
            start: Nanos::NONE,
            end: Nanos::ZERO,
        }
    }

    /// When the call became ready to run, if it did.
    pub fn ready(&self) -> Option<Duration> {
        self.ready.get()
    }

    /// When its first attempt started, if one did.
    pub fn start(&self) -> Option<Duration> {
        self.start.get()
    }

    /// When the call ended (or was skipped or cancelled).
    pub fn end(&self) -> Duration {
        self.end.get().unwrap_or_default()
    }

    pub(super) fn set_ready(&mut self, at: Duration) {
        self.ready = Nanos::new(at);
    }

    pub(super) fn set_start(&mut self, at: Duration) {
        self.start = Nanos::new(at);
    }

    pub(super) fn set_end(&mut self, at: Duration) {
        self.end = Nanos::new(at);
    }

    /// `start - ready`: how long the ready call waited for a slot.
    pub fn queue_wait(&self) -> Option<Duration> {
        Some(self.start()?.saturating_sub(self.ready()?))
    }

    /// `end - start`: every attempt and backoff.
    pub fn service_time(&self) -> Option<Duration> {
        Some(self.end().saturating_sub(self.start()?))
    }
}

/// A time since the start of the run in nanoseconds (enough for 584 years), or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Nanos(u64);

impl Nanos {
    const NONE: Nanos = Nanos(u64::MAX);
    const ZERO: Nanos = Nanos(0);

    fn new(at: Duration) -> Self {
        // Saturates one short of `NONE`: no run lasts that long.
        Nanos(u64::try_from(at.as_nanos()).unwrap_or(u64::MAX - 1).min(u64::MAX - 1))
    }

    fn get(self) -> Option<Duration> {
        (self != Self::NONE).then(|| Duration::from_nanos(self.0))
    }
}

/// The outcomes of a run.
#[derive(Debug)]
pub struct RunOutcome<O> {
    /// One per call, in input order.
    pub calls: Vec<CallOutcome<O>>,
    /// From the start of the run to the end of its last call.
    pub wall: Duration,
    /// The global limit the run had.
    pub max_concurrency: usize,
    /// Whether the deadline cut the run short.
    pub deadline_hit: bool,
    /// Whether the virtual clock stalled (a tool waited on something else than the clock).
    pub stalled: bool,
    /// Whether the run was stopped early through [`Executor::stop_on`](super::Executor::stop_on).
    pub interrupted: bool,
    /// The executor's start lag, per call on the real clock: from its admission to its
    /// tool's first poll, when the executor started other calls first. The call's start
    /// is the later instant, so this is in its queue wait, never in its service time;
    /// empty in virtual time.
    pub start_lag: LatencyHistogram,
    /// The executor's completion lag, per attempt that waited on the real clock: from
    /// the attempt being done (its last wake-up, which is its end) to the executor
    /// handling it. Booked here, never in a call's service time; empty in virtual time.
    pub completion_lag: LatencyHistogram,
}

impl<O> RunOutcome<O> {
    /// Calls with each status.
    pub fn count(&self, status: CallStatus) -> usize {
        self.calls.iter().filter(|c| c.status == status).count()
    }

    /// The most calls that held a slot (from first attempt to end) at any one instant.
    /// A slot freed at an instant is free for a call starting at that instant; a call of
    /// no length holds none.
    pub fn max_in_flight(&self) -> usize {
        crate::stats::max_overlap(self.calls.iter().filter_map(|c| Some((c.start()?, c.end()))))
    }

    /// The same outcome without its calls' outputs: what a report needs once the run,
    /// whose calls read each other's outputs, is over.
    pub fn without_outputs(self) -> RunOutcome<()> {
        RunOutcome {
            calls: self
                .calls
                .into_iter()
                .map(|c| CallOutcome {
                    status: c.status,
                    attempts: c.attempts,
                    output: c.output.map(|_| ()),
                    error: c.error,
                    cause: c.cause,
                    ready: c.ready,
                    start: c.start,
                    end: c.end,
                })
                .collect(),
            wall: self.wall,
            max_concurrency: self.max_concurrency,
            deadline_hit: self.deadline_hit,
            stalled: self.stalled,
            interrupted: self.interrupted,
            start_lag: self.start_lag,
            completion_lag: self.completion_lag,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_is_48_bytes() {
        assert_eq!(std::mem::size_of::<CallOutcome<()>>(), 48);
    }

    #[test]
    fn times_round_trip_to_the_nanosecond_and_none_stays_none() {
        let mut outcome = CallOutcome::<()>::pending();
        assert_eq!(
            (outcome.ready(), outcome.start(), outcome.end()),
            (None, None, Duration::ZERO)
        );
        let (ready, start, end) = (
            Duration::new(3, 999_999_999),
            Duration::from_nanos(4_000_000_001),
            Duration::from_secs(86_400 * 365 * 100),
        );
        outcome.set_ready(ready);
        outcome.set_start(start);
        outcome.set_end(end);
        assert_eq!(
            (outcome.ready(), outcome.start(), outcome.end()),
            (Some(ready), Some(start), end)
        );
        assert_eq!(outcome.queue_wait(), Some(Duration::from_nanos(2)));
        // Beyond 584 years a time saturates; it never reads as none.
        outcome.set_start(Duration::MAX);
        assert_eq!(outcome.start(), Some(Duration::from_nanos(u64::MAX - 1)));
    }
}
