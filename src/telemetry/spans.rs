//! Spans of a run, built from the executor's observer hooks with explicit timestamps.
//!
//! Every span's start and end is the run's anchor plus the offset the executor reports,
//! on the run's own clock. In real time the anchor is the wall-clock instant the run
//! started; in virtual time the runs are laid end to end from the scenario's start, so a
//! simulated ten-minute run shows in a trace viewer exactly as it would have happened.
//! The `tracing` bridge cannot set timestamps, which is why these spans go through the
//! OpenTelemetry tracer API.
//!
//! A call's spans are emitted when the call ends, when all of its attempts are known; a
//! call's queue wait is the gap between its ready time (`parabench.queue_wait_s`) and the
//! start of its `execute_tool` span.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;

use super::names::{ATTEMPT_SPAN, BACKOFF_EVENT, EXECUTE_TOOL, RUN_SPAN, attr};
use crate::executor::{AttemptEnd, CallOutcome, CallStatus, Observer, RunMode};
use crate::plan::{CallIdx, Plan};

/// Where the next run's spans start, shared by a scenario's runs.
#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    cursor: Arc<Mutex<SystemTime>>,
    /// Virtual time: runs follow each other on the simulated timeline.
    simulated: bool,
}

impl Timeline {
    pub(crate) fn new(start: SystemTime, simulated: bool) -> Self {
        Timeline {
            cursor: Arc::new(Mutex::new(start)),
            simulated,
        }
    }

    fn cursor(&self) -> std::sync::MutexGuard<'_, SystemTime> {
        self.cursor.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The anchor of a run starting now.
    fn run_anchor(&self) -> SystemTime {
        if self.simulated {
            *self.cursor()
        } else {
            SystemTime::now()
        }
    }

    fn run_ended(&self, end: SystemTime) {
        let mut cursor = self.cursor();
        *cursor = (*cursor).max(end);
    }

    /// The latest instant any run reached.
    pub(crate) fn end(&self) -> SystemTime {
        *self.cursor()
    }
}

/// An attempt seen so far.
#[derive(Clone, Copy, Debug)]
struct AttemptRecord {
    number: u32,
    start: Duration,
    end: Option<(Duration, AttemptEnd)>,
    backoff: Option<Duration>,
}

/// Emits the `run {mode}` span and one `execute_tool {tool}` span per call, with an
/// `attempt` child per attempt.
#[derive(Debug)]
pub struct SpanObserver<'p> {
    plan: &'p Plan,
    tracer: SdkTracer,
    parent: Context,
    mode: RunMode,
    timeline: Timeline,
    created: Arc<AtomicU64>,
    span_names: Vec<Cow<'static, str>>,
    anchor: SystemTime,
    run: Option<Context>,
    attempts: Vec<Vec<AttemptRecord>>,
}

impl<'p> SpanObserver<'p> {
    pub(crate) fn new(
        plan: &'p Plan,
        tracer: SdkTracer,
        parent: Context,
        mode: RunMode,
        timeline: Timeline,
        created: Arc<AtomicU64>,
    ) -> Self {
        SpanObserver {
            plan,
            tracer,
            parent,
            mode,
            timeline,
            created,
            span_names: plan
                .tools()
                .iter()
                .map(|t| Cow::Owned(format!("{EXECUTE_TOOL} {}", t.name)))
                .collect(),
            anchor: SystemTime::UNIX_EPOCH,
            run: None,
            attempts: vec![Vec::new(); plan.calls().len()],
        }
    }

    fn at(&self, offset: Duration) -> SystemTime {
        self.anchor + offset
    }

    fn emit_call<O>(&mut self, idx: CallIdx, outcome: &CallOutcome<O>) {
        let Some(run) = &self.run else { return };
        let call = self.plan.call(idx);
        let tool = self.plan.tool(call.tool);
        let start = outcome.start.unwrap_or(outcome.end);
        let mut attributes = vec![
            KeyValue::new(attr::GEN_AI_OPERATION, EXECUTE_TOOL),
            KeyValue::new(attr::GEN_AI_TOOL_NAME, tool.name.clone()),
            KeyValue::new(attr::GEN_AI_TOOL_CALL_ID, call.id.to_string()),
            KeyValue::new(attr::TOOL_KIND, tool.kind.to_string()),
            KeyValue::new(attr::PRIORITY, i64::from(call.priority)),
            KeyValue::new(attr::ATTEMPTS, i64::from(outcome.attempts)),
            KeyValue::new(attr::OUTCOME, outcome.status.as_str()),
        ];
        if let Some(wait) = outcome.queue_wait() {
            attributes.push(KeyValue::new(attr::QUEUE_WAIT_S, wait.as_secs_f64()));
        }
        if let Some(cause) = outcome.cause {
            attributes.push(KeyValue::new(attr::CAUSE, self.plan.call(cause).id.to_string()));
        }
        if outcome.status != CallStatus::Ok {
            attributes.push(KeyValue::new(attr::ERROR_TYPE, outcome.status.as_str()));
        }
        let mut span = self
            .tracer
            .span_builder(self.span_names[call.tool.index()].clone())
            .with_kind(SpanKind::Internal)
            .with_start_time(self.at(start))
            .with_attributes(attributes)
            .start_with_context(&self.tracer, run);
        if outcome.status != CallStatus::Ok {
            span.set_status(Status::error(self.failure(outcome)));
        }
        let call_cx = run.with_span(span);
        let attempts = std::mem::take(&mut self.attempts[idx.index()]);
        for attempt in &attempts {
            let (end, result) = match attempt.end {
                Some((end, how)) => (end, attempt_outcome(how)),
                None => (outcome.end, "cancelled"),
            };
            let mut child = self
                .tracer
                .span_builder(ATTEMPT_SPAN)
                .with_kind(SpanKind::Internal)
                .with_start_time(self.at(attempt.start))
                .with_attributes([
                    KeyValue::new(attr::ATTEMPT, i64::from(attempt.number)),
                    KeyValue::new(attr::OUTCOME, result),
                ])
                .start_with_context(&self.tracer, &call_cx);
            if result != "ok" {
                child.set_status(Status::error(result));
            }
            if let Some(delay) = attempt.backoff {
                child.add_event_with_timestamp(
                    BACKOFF_EVENT,
                    self.at(end),
                    vec![KeyValue::new(attr::BACKOFF_S, delay.as_secs_f64())],
                );
            }
            child.end_with_timestamp(self.at(end));
        }
        call_cx.span().end_with_timestamp(self.at(outcome.end));
        self.created.fetch_add(1 + attempts.len() as u64, Ordering::Relaxed);
    }

    fn failure<O>(&self, outcome: &CallOutcome<O>) -> String {
        match (&outcome.error, outcome.cause) {
            (Some(e), _) => e.to_string(),
            (None, Some(cause)) => format!(
                "{}: dependency {} failed",
                outcome.status.as_str(),
                self.plan.call(cause).id
            ),
            (None, None) => outcome.status.as_str().to_string(),
        }
    }
}

fn attempt_outcome(end: AttemptEnd) -> &'static str {
    match end {
        AttemptEnd::Ok => "ok",
        AttemptEnd::Error => "error",
        AttemptEnd::Timeout => "timeout",
    }
}

impl Observer for SpanObserver<'_> {
    fn run_started(&mut self, max_concurrency: usize) {
        self.anchor = self.timeline.run_anchor();
        let span = self
            .tracer
            .span_builder(format!("{RUN_SPAN} {}", self.mode.as_str()))
            .with_kind(SpanKind::Internal)
            .with_start_time(self.anchor)
            .with_attributes([
                KeyValue::new(attr::MODE, self.mode.as_str()),
                KeyValue::new(attr::MAX_CONCURRENCY, max_concurrency as i64),
                KeyValue::new(attr::CALLS, self.plan.calls().len() as i64),
            ])
            .start_with_context(&self.tracer, &self.parent);
        self.run = Some(self.parent.with_span(span));
    }

    fn run_ended(&mut self, wall: Duration) {
        let end = self.at(wall);
        if let Some(run) = self.run.take() {
            let span = run.span();
            span.set_attribute(KeyValue::new(attr::WALL_S, wall.as_secs_f64()));
            span.end_with_timestamp(end);
            self.created.fetch_add(1, Ordering::Relaxed);
        }
        self.timeline.run_ended(end);
    }

    fn attempt_started(&mut self, idx: CallIdx, attempt: u32, at: Duration, _: usize) {
        self.attempts[idx.index()].push(AttemptRecord {
            number: attempt,
            start: at,
            end: None,
            backoff: None,
        });
    }

    fn attempt_began(&mut self, idx: CallIdx, _: u32, at: Duration) {
        if let Some(last) = self.attempts[idx.index()].last_mut() {
            last.start = at;
        }
    }

    fn attempt_ended(&mut self, idx: CallIdx, _: u32, at: Duration, end: AttemptEnd) {
        if let Some(last) = self.attempts[idx.index()].last_mut() {
            last.end = Some((at, end));
        }
    }

    fn backoff(&mut self, idx: CallIdx, _: u32, _: Duration, delay: Duration) {
        if let Some(last) = self.attempts[idx.index()].last_mut() {
            last.backoff = Some(delay);
        }
    }

    fn call_ended<O>(&mut self, idx: CallIdx, outcome: &CallOutcome<O>) {
        self.emit_call(idx, outcome);
    }
}
