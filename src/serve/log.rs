//! What the client did: every call as it arrived, started and ended, with what the
//! server saw of it on arrival (a retry of a failed call, a call beyond its tool's limit).
//!
//! A call's draws and whether it retries are keyed by its tool across every session,
//! not per session: clients that open a session per call are common, and per session
//! every call of theirs would be the first, with the same draws.
//!
//! A server's calls come from many tasks at once; each arrival and end takes one short
//! lock, which costs nothing beside an HTTP round trip.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a served call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServedStatus {
    /// Answered with a result.
    Ok,
    /// Answered with a tool error (`isError: true`): a simulated failure.
    Error,
    /// Ran past the scenario's attempt timeout (a hang, or a long call) and was answered
    /// with a tool error.
    Timeout,
    /// The client cancelled it (`notifications/cancelled`, or by dropping its request).
    Cancelled,
    /// Its tool was at its limit (`limit_policy = "reject"`): answered at once with a
    /// tool error.
    Rejected,
    /// Still in flight when the server stopped.
    Unfinished,
}

impl ServedStatus {
    /// As the report writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ServedStatus::Ok => "ok",
            ServedStatus::Error => "error",
            ServedStatus::Timeout => "timeout",
            ServedStatus::Cancelled => "cancelled",
            ServedStatus::Rejected => "rejected",
            ServedStatus::Unfinished => "unfinished",
        }
    }

    /// Whether a client would call again for it: it failed, timed out or was rejected.
    pub fn failed(self) -> bool {
        matches!(
            self,
            ServedStatus::Error | ServedStatus::Timeout | ServedStatus::Rejected
        )
    }
}

/// One call as the server saw it; times since the server started.
#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    /// The client session it came in, by its index in [`Snapshot::sessions`].
    pub session: usize,
    /// Its tool, by index.
    pub tool: usize,
    /// The how-many-th call of its tool (0 for the first), in every session: its draws.
    pub nth: u32,
    /// When its request arrived.
    pub arrive: Duration,
    /// When its service began (a slot and the rate allowed it); `None` if it never did.
    pub start: Option<Duration>,
    /// When it was answered; `None` while in flight.
    pub end: Option<Duration>,
    /// How it ended; `None` while in flight.
    pub status: Option<ServedStatus>,
    /// The same tool with the same arguments had failed before.
    pub retry: bool,
    /// Its tool already had as many calls in flight as its limit when it arrived.
    pub beyond_limit: bool,
}

/// A call's place in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallId(usize);

/// What [`CallLog::arrive`] tells the service about a new call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// Where to record its start and end.
    pub id: CallId,
    /// The how-many-th call of its tool: the key of its draws.
    pub nth: u32,
    /// Calls in flight at the server with this one (of every tool and session).
    pub in_flight: usize,
}

/// What [`CallLog::end`] tells the service about an answered call.
#[derive(Clone, Debug, PartialEq)]
pub struct Ended {
    /// The call, as the log now has it.
    pub record: CallRecord,
    /// Calls still in flight at the server.
    pub in_flight: usize,
}

/// Every call so far.
#[derive(Debug)]
pub struct CallLog {
    inner: Mutex<Inner>,
    /// Per tool, its limit on calls in flight (for `beyond_limit`).
    limits: Vec<Option<usize>>,
}

#[derive(Debug, Default)]
struct Inner {
    calls: Vec<CallRecord>,
    sessions: Vec<String>,
    session_ids: HashMap<String, usize>,
    /// Per tool, calls so far.
    counts: Vec<u32>,
    /// Per tool, calls arrived and not yet answered.
    in_flight: Vec<usize>,
    /// Their sum.
    total_in_flight: usize,
    /// Per tool, the arguments of calls that failed.
    failed: Vec<Vec<Value>>,
    /// Per call, its arguments while it is in flight (to remember them if it fails).
    arguments: HashMap<usize, Value>,
    /// Calls of a tool the scenario does not have.
    unknown_tool: usize,
}

/// The log at one instant: calls still in flight then are [`ServedStatus::Unfinished`],
/// ended at that instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// The calls, in arrival order.
    pub calls: Vec<CallRecord>,
    /// The sessions' names, by index.
    pub sessions: Vec<String>,
    /// Calls refused because their tool was unknown.
    pub unknown_tool: usize,
    /// When it was taken.
    pub at: Duration,
}

impl CallLog {
    /// An empty log for tools with these limits on calls in flight.
    pub fn new(limits: Vec<Option<usize>>) -> Self {
        let inner = Inner {
            in_flight: vec![0; limits.len()],
            counts: vec![0; limits.len()],
            failed: vec![Vec::new(); limits.len()],
            ..Inner::default()
        };
        Self {
            inner: Mutex::new(inner),
            limits,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves the log consistent: every
        // update below is complete before the lock is released.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a call of `tool` with `arguments` arriving at `at` in `session`.
    pub fn arrive(&self, session: &str, tool: usize, arguments: Value, at: Duration) -> Arrival {
        let mut inner = self.lock();
        let session = match inner.session_ids.get(session) {
            Some(&s) => s,
            None => {
                let s = inner.sessions.len();
                inner.sessions.push(session.to_string());
                inner.session_ids.insert(session.to_string(), s);
                s
            }
        };
        let nth = inner.counts[tool];
        inner.counts[tool] = nth.saturating_add(1);
        let retry = inner.failed[tool].contains(&arguments);
        let beyond_limit = self.limits[tool].is_some_and(|limit| inner.in_flight[tool] >= limit);
        inner.in_flight[tool] += 1;
        inner.total_in_flight += 1;
        let id = inner.calls.len();
        inner.arguments.insert(id, arguments);
        inner.calls.push(CallRecord {
            session,
            tool,
            nth,
            arrive: at,
            start: None,
            end: None,
            status: None,
            retry,
            beyond_limit,
        });
        Arrival {
            id: CallId(id),
            nth,
            in_flight: inner.total_in_flight,
        }
    }

    /// Records the start of call `id`'s service at `at`.
    pub fn start(&self, id: CallId, at: Duration) {
        self.lock().calls[id.0].start = Some(at);
    }

    /// Records the end of call `id` at `at` with `status`.
    pub fn end(&self, id: CallId, at: Duration, status: ServedStatus) -> Ended {
        let mut inner = self.lock();
        let call = &mut inner.calls[id.0];
        call.end = Some(at);
        call.status = Some(status);
        let record = call.clone();
        let tool = call.tool;
        inner.in_flight[tool] -= 1;
        inner.total_in_flight -= 1;
        let arguments = inner.arguments.remove(&id.0);
        if let (true, Some(arguments)) = (status.failed(), arguments) {
            let failed = &mut inner.failed[tool];
            if !failed.contains(&arguments) {
                failed.push(arguments);
            }
        }
        Ended {
            record,
            in_flight: inner.total_in_flight,
        }
    }

    /// Counts a call of a tool the scenario does not have.
    pub fn unknown_tool(&self) {
        self.lock().unknown_tool += 1;
    }

    /// The calls as of `at`.
    pub fn snapshot(&self, at: Duration) -> Snapshot {
        let inner = self.lock();
        let calls = inner
            .calls
            .iter()
            .map(|c| {
                let mut c = c.clone();
                if c.end.is_none() {
                    c.end = Some(at.max(c.arrive));
                    c.status = Some(ServedStatus::Unfinished);
                }
                c
            })
            .collect();
        Snapshot {
            calls,
            sessions: inner.sessions.clone(),
            unknown_tool: inner.unknown_tool,
            at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_each_tool_across_sessions_and_sees_retries_and_calls_beyond_the_limit() {
        let ms = Duration::from_millis;
        let log = CallLog::new(vec![Some(1), None]);
        let a = log.arrive("s1", 0, json!({"q": 1, "k": 2}), ms(0));
        let b = log.arrive("s1", 0, json!({"q": 2}), ms(1));
        let other = log.arrive("s2", 0, json!({"q": 1}), ms(1));
        // A client with a session per call still gets each call's own draws.
        assert_eq!((a.nth, b.nth, other.nth), (0, 1, 2));
        assert_eq!((a.in_flight, b.in_flight, other.in_flight), (1, 2, 3));
        assert_eq!(log.end(a.id, ms(5), ServedStatus::Error).in_flight, 2);
        let ended = log.end(b.id, ms(6), ServedStatus::Ok);
        assert_eq!(
            (ended.in_flight, ended.record.end, ended.record.nth),
            (1, Some(ms(6)), 1)
        );
        // The failed arguments again (keys in another order): a retry, in whichever
        // session it comes; other arguments are not.
        let again = log.arrive("s3", 0, json!({"k": 2, "q": 1}), ms(7));
        let other_arguments = log.arrive("s1", 0, json!({"q": 3}), ms(7));
        let snap = log.snapshot(ms(10));
        let by = |id: CallId| &snap.calls[id.0];
        assert!(by(again.id).retry && !by(other_arguments.id).retry && !by(b.id).retry);
        assert_eq!((by(again.id).nth, by(again.id).session), (3, 2));
        // The limit is 1: the second and third arrivals found it full.
        assert_eq!(
            snap.calls.iter().map(|c| c.beyond_limit).collect::<Vec<_>>(),
            [false, true, true, true, true]
        );
        assert_eq!(by(other.id).status, Some(ServedStatus::Unfinished));
        assert_eq!(by(other.id).end, Some(ms(10)));
        assert_eq!(snap.sessions, ["s1", "s2", "s3"]);
    }
}
