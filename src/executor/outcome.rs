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
/// All times are since the start of the run, on the run's clock. `ready` is when the
/// last dependency ended (the start of the run for a call without any), or the call's
/// intended [arrival](crate::plan::Call::arrival) if that is later; `start` is when
/// its first attempt began, so `start - ready` is the queue wait: time spent waiting for
/// a global or per-tool slot or the rate limit. `end - start` is the service time: every
/// attempt, and the backoffs between them.
#[derive(Debug)]
pub struct CallOutcome<O> {
    /// How the call ended.
    pub status: CallStatus,
    /// Attempts started (0 if the call never started).
    pub attempts: u32,
    /// When the call became ready to run, if it did.
    pub ready: Option<Duration>,
    /// When its first attempt started, if one did.
    pub start: Option<Duration>,
    /// When the call ended (or was skipped or cancelled).
    pub end: Duration,
    /// The output, for a call that succeeded.
    pub output: Option<O>,
    /// The last attempt's error, for a call that failed.
    pub error: Option<ToolError>,
    /// For a skipped call, the call whose failure caused it.
    pub cause: Option<CallIdx>,
}

impl<O> CallOutcome<O> {
    pub(super) fn pending() -> Self {
        Self {
            status: CallStatus::Cancelled,
            attempts: 0,
            ready: None,
            start: None,
            end: Duration::ZERO,
            output: None,
            error: None,
            cause: None,
        }
    }

    /// `start - ready`: how long the ready call waited for a slot.
    pub fn queue_wait(&self) -> Option<Duration> {
        Some(self.start?.saturating_sub(self.ready?))
    }

    /// `end - start`: every attempt and backoff.
    pub fn service_time(&self) -> Option<Duration> {
        Some(self.end.saturating_sub(self.start?))
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
        crate::stats::max_overlap(self.calls.iter().filter_map(|c| Some((c.start?, c.end))))
    }
}
