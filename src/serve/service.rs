//! The simulated service of each call: a scenario's tools as a server runs them, with
//! the simulation's draws and the executor's rate limit, on the real clock.
//!
//! A call of tool `t` is the `n`-th of `t` the server was sent, in any session; its
//! latency and fate are the draws of attempt `n` of the call keyed by `t`'s name (see
//! [`ToolModel::draw`]), so a client that makes the same calls in the same order meets
//! the same service, whether it keeps one session or opens one per call.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::log::{Arrival, CallLog, Ended, ServedStatus, Snapshot};
use crate::clock::Clock;
use crate::executor::limit::RateLimit;
use crate::plan::{ToolKind, ToolSpec};
use crate::scenario::{Scenario, ToolParams};
use crate::seed;
use crate::sim::{CpuPool, Fate, LimitPolicy, SimError, ToolModel};
use crate::telemetry::ServedCallTelemetry;
use crate::telemetry::served::ServedCall;
use crate::units::fmt_duration;

/// One tool as served.
#[derive(Debug)]
pub struct ServedTool {
    /// Its name, limits and kind.
    pub spec: ToolSpec,
    /// Its latency and failures, and what a call beyond its limit meets.
    pub model: ToolModel,
    /// Its parameters, as its input schema lists them.
    pub params: ToolParams,
    /// The key of its draws.
    key: u64,
    /// Its slots, when it has a limit.
    slots: Option<Arc<Semaphore>>,
    /// Its rate, when it has one.
    rate: Option<Mutex<RateLimit>>,
}

/// What a call was answered with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// How it ended.
    pub status: ServedStatus,
    /// The text of the result (or of the error).
    pub text: String,
}

/// A call as it reached the server.
#[derive(Clone, Debug)]
pub struct CallRequest<'a> {
    /// The client session it came in.
    pub session: &'a str,
    /// The tool it calls.
    pub tool: &'a str,
    /// Its arguments (`Value::Null` when it had none).
    pub arguments: Value,
    /// Where it came from, for its span.
    pub origin: Origin<'a>,
}

impl<'a> CallRequest<'a> {
    /// A call of `tool` from `session`, with nothing known of its origin.
    pub fn new(session: &'a str, tool: &'a str, arguments: Value) -> Self {
        Self {
            session,
            tool,
            arguments,
            origin: Origin::default(),
        }
    }
}

/// What a call's span records of its request.
#[derive(Clone, Debug, Default)]
pub struct Origin<'a> {
    /// The JSON-RPC id of the request.
    pub request_id: Option<String>,
    /// The request's `params._meta`, where a client propagates its trace context.
    pub meta: Option<&'a serde_json::Map<String, Value>>,
    /// `tcp` (streamable HTTP) or `pipe` (stdio).
    pub transport: &'static str,
}

/// A call of a tool the scenario does not have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown tool `{0}`")]
pub struct UnknownTool(pub String);

/// The scenario's tools, serving calls and logging what the client did.
#[derive(Debug)]
pub struct Service {
    clock: Clock,
    /// The wall-clock time of the clock's start, for spans.
    epoch: SystemTime,
    /// Spans and metrics of each call as it is answered, when exported.
    telemetry: Option<ServedCallTelemetry>,
    seed: u64,
    /// The scenario's attempt timeout: what ends a hang when the client does not.
    timeout: Option<Duration>,
    tools: Vec<ServedTool>,
    cpu: Option<CpuPool>,
    log: CallLog,
}

impl Service {
    /// Serves `scenario`'s tools, its CPU work on `cores` threads; the clock starts now.
    ///
    /// # Errors
    ///
    /// When the CPU pool cannot start.
    pub fn new(scenario: &Scenario, cores: NonZeroUsize) -> Result<Self, SimError> {
        let tools: Vec<ServedTool> = scenario
            .plan
            .tools()
            .iter()
            .zip(&scenario.models)
            .zip(&scenario.params)
            .map(|((spec, model), params)| ServedTool {
                key: seed::call_key(&spec.name),
                slots: spec.max_concurrency.map(|n| Arc::new(Semaphore::new(n.get()))),
                rate: spec.rate_limit_per_s.map(|r| Mutex::new(RateLimit::new(r))),
                spec: spec.clone(),
                model: model.clone(),
                params: params.clone(),
            })
            .collect();
        let cpu = match tools.iter().any(|t| t.spec.kind == ToolKind::Cpu) {
            true => Some(CpuPool::new(cores.get())?),
            false => None,
        };
        let log = CallLog::new(
            tools
                .iter()
                .map(|t| t.spec.max_concurrency.map(NonZeroUsize::get))
                .collect(),
        );
        Ok(Self {
            clock: Clock::real(),
            epoch: SystemTime::now(),
            telemetry: None,
            seed: scenario.seed,
            timeout: scenario.executor.attempt_timeout,
            tools,
            cpu,
            log,
        })
    }

    /// Exports each call's span and metrics to `telemetry` as the call is answered.
    #[must_use]
    pub fn with_telemetry(mut self, telemetry: ServedCallTelemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    /// The tools served, in the scenario's order.
    pub fn tools(&self) -> &[ServedTool] {
        &self.tools
    }

    /// Time since the service started.
    pub fn now(&self) -> Duration {
        self.clock.now()
    }

    /// The calls so far; those in flight are unfinished as of now.
    pub fn snapshot(&self) -> Snapshot {
        self.log.snapshot(self.clock.now())
    }

    /// Serves `request` until it is answered or `cancel` fires.
    ///
    /// # Errors
    ///
    /// [`UnknownTool`] when the scenario has no such tool (the call is counted, not
    /// logged).
    pub async fn call(&self, request: CallRequest<'_>, cancel: &CancellationToken) -> Result<Answer, UnknownTool> {
        let Some(t) = self.tools.iter().position(|t| t.spec.name == request.tool) else {
            self.log.unknown_tool();
            return Err(UnknownTool(request.tool.to_string()));
        };
        let arrival = self.log.arrive(request.session, t, request.arguments, self.clock.now());
        if let Some(telemetry) = &self.telemetry {
            telemetry.in_flight(arrival.in_flight);
        }
        let status = tokio::select! {
            biased;
            () = cancel.cancelled() => ServedStatus::Cancelled,
            status = self.serve(&self.tools[t], arrival) => status,
        };
        let ended = self.log.end(arrival.id, self.clock.now(), status);
        if let Some(telemetry) = &self.telemetry {
            self.export(telemetry, &ended, request.session, &request.origin);
        }
        Ok(Answer {
            status,
            text: self.text(&self.tools[t], status),
        })
    }

    fn export(&self, telemetry: &ServedCallTelemetry, ended: &Ended, session: &str, origin: &Origin<'_>) {
        let call = &ended.record;
        let at = |d: Duration| self.epoch + d;
        let status = call.status.unwrap_or(ServedStatus::Unfinished);
        telemetry.in_flight(ended.in_flight);
        telemetry.ended(&ServedCall {
            tool: call.tool,
            session,
            request_id: origin.request_id.as_deref(),
            meta: origin.meta,
            transport: origin.transport,
            arrive: at(call.arrive),
            start: call.start.map(at),
            end: at(call.end.unwrap_or(call.arrive)),
            outcome: status.as_str(),
            // A failed call's answer is a tool error; a cancelled one's is never read.
            tool_error: status.failed(),
            nth: call.nth,
            retry: call.retry,
            beyond_limit: call.beyond_limit,
        });
    }

    /// Waits for a slot and the rate, then does the drawn work. Dropping the future
    /// (a cancellation) frees the slot and stops any CPU work.
    async fn serve(&self, tool: &ServedTool, arrival: Arrival) -> ServedStatus {
        let reject = tool.model.limit_policy == LimitPolicy::Reject;
        let _slot: Option<OwnedSemaphorePermit> = match &tool.slots {
            None => None,
            Some(slots) if reject => match slots.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => return ServedStatus::Rejected,
            },
            Some(slots) => Some(slots.clone().acquire_owned().await.expect("never closed")),
        };
        if let Some(rate) = &tool.rate {
            let at = {
                let mut rate = rate.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = self.clock.now();
                if reject && !rate.allows(now) {
                    return ServedStatus::Rejected;
                }
                // The start is booked now, so calls waiting for the rate start in the order
                // they arrived, spaced as a run spaces them.
                let at = rate.next_start().max(now);
                rate.take(at);
                at
            };
            self.clock.sleep_until(at).await;
        }
        self.log.start(arrival.id, self.clock.now());
        let draw = tool.model.draw(self.seed, tool.key, arrival.nth);
        let work = async {
            if draw.fate == Fate::Hang {
                // Only the client's cancellation or the timeout ends it.
                return std::future::pending().await;
            }
            match (tool.spec.kind, &self.cpu) {
                (ToolKind::Cpu, Some(pool)) => pool.work(draw.latency).await,
                _ => self.clock.sleep(draw.latency).await,
            }
            match draw.fate {
                Fate::Fail => ServedStatus::Error,
                _ => ServedStatus::Ok,
            }
        };
        match self.timeout {
            Some(limit) => self.clock.timeout(limit, work).await.unwrap_or(ServedStatus::Timeout),
            None => work.await,
        }
    }

    fn text(&self, tool: &ServedTool, status: ServedStatus) -> String {
        let name = &tool.spec.name;
        match status {
            ServedStatus::Ok => format!("{name}: simulated result"),
            ServedStatus::Error => format!("{name}: simulated failure"),
            ServedStatus::Timeout => format!(
                "{name}: timed out after {}",
                self.timeout.map_or("?".into(), fmt_duration)
            ),
            ServedStatus::Rejected => match (tool.spec.max_concurrency, tool.spec.rate_limit_per_s) {
                (Some(n), Some(r)) => format!("{name}: rejected, at its limit of {n} calls in flight or {r} calls/s"),
                (Some(n), None) => format!("{name}: rejected, at its limit of {n} calls in flight"),
                (None, Some(r)) => format!("{name}: rejected, over its rate of {r} calls/s"),
                (None, None) => format!("{name}: rejected"),
            },
            ServedStatus::Cancelled => format!("{name}: cancelled"),
            ServedStatus::Unfinished => format!("{name}: unfinished"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(text: &str) -> Scenario {
        crate::scenario::parse(text, Path::new("served.toml")).unwrap()
    }

    const TOOLS: &str = r#"
        name = "served"
        seed = 7
        [executor]
        timeout = "50ms"
        [tools.flaky]
        latency = { dist = "uniform", min = "1ms", max = "3ms" }
        failure_rate = 0.3
        timeout_rate = 0.2
        [tools.one]
        latency = { dist = "constant", value = "30ms" }
        max_concurrency = 1
        limit_policy = "reject"
        [[calls]]
        id = "a"
        tool = "flaky"
    "#;

    #[tokio::test]
    async fn the_same_calls_meet_the_same_service_whatever_sessions_they_come_in() {
        let never = CancellationToken::new();
        let mut runs = Vec::new();
        // One client on one session, then one that opens a session per call, each on a
        // server of its own.
        for per_call in [false, true] {
            let service = Service::new(&scenario(TOOLS), NonZeroUsize::MIN).unwrap();
            let mut statuses = Vec::new();
            for i in 0..12 {
                let session = if per_call { format!("s{i}") } else { "one".into() };
                let answer = service
                    .call(CallRequest::new(&session, "flaky", Value::Null), &never)
                    .await
                    .unwrap();
                statuses.push(answer.status);
            }
            runs.push(statuses);
        }
        assert_eq!(runs[0], runs[1]);
        // Seed 7 gives each fate at least once in 12 calls.
        for status in [ServedStatus::Ok, ServedStatus::Error, ServedStatus::Timeout] {
            assert!(runs[0].contains(&status), "{status:?} in {:?}", runs[0]);
        }
    }

    #[tokio::test]
    async fn a_call_beyond_a_rejecting_limit_is_rejected_at_once_and_a_cancelled_one_frees_its_slot() {
        let service = Arc::new(Service::new(&scenario(TOOLS), NonZeroUsize::MIN).unwrap());
        let cancel = CancellationToken::new();
        let first = {
            let (service, cancel) = (service.clone(), cancel.clone());
            tokio::spawn(async move { service.call(CallRequest::new("s", "one", Value::Null), &cancel).await })
        };
        while service.snapshot().calls.first().and_then(|c| c.start).is_none() {
            tokio::task::yield_now().await;
        }
        let never = CancellationToken::new();
        let second = service
            .call(CallRequest::new("s", "one", Value::Null), &never)
            .await
            .unwrap();
        assert_eq!(second.status, ServedStatus::Rejected);
        assert!(second.text.contains("limit of 1"), "{}", second.text);
        cancel.cancel();
        assert_eq!(first.await.unwrap().unwrap().status, ServedStatus::Cancelled);
        let third = service
            .call(CallRequest::new("s", "one", Value::Null), &never)
            .await
            .unwrap();
        assert_eq!(third.status, ServedStatus::Ok);
        let err = service
            .call(CallRequest::new("s", "nope", Value::Null), &never)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "unknown tool `nope`");
        let snap = service.snapshot();
        assert_eq!(snap.unknown_tool, 1);
        assert_eq!(snap.calls.len(), 3);
        assert!(snap.calls[1].beyond_limit && !snap.calls[2].beyond_limit);
    }
}
