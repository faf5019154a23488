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

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry::trace::{Span, SpanContext, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracer;

use super::names::{ATTEMPT_SPAN, BACKOFF_EVENT, EXECUTE_TOOL, RUN_SPAN, attr};
use crate::executor::{AttemptEnd, CallOutcome, CallStatus, Observer, RunMode};
use crate::plan::{CallIdx, Plan};
use crate::real::TraceContext;

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
    /// Per tool: its span's name, and its name and kind as attributes, made once.
    tools: Vec<(&'static str, [KeyValue; 2])>,
    anchor: SystemTime,
    run: Option<Context>,
    attempts: Attempts,
    /// With real tools: each call's span is started with its first attempt (not built
    /// when it ends), and its context published here, for the call to send its server.
    early: Option<Arc<CallSpans>>,
    /// Per call, its span while it runs (with `early` only).
    open: Vec<Option<Context>>,
}

/// The span context of each call of the run in progress, for real calls to send their
/// servers (`traceparent`): the server's spans then join the run's trace.
#[derive(Debug, Default)]
pub struct CallSpans {
    contexts: Mutex<Vec<Option<SpanContext>>>,
}

impl CallSpans {
    fn reset(&self, calls: usize) {
        let mut contexts = self.contexts.lock().unwrap_or_else(|p| p.into_inner());
        contexts.clear();
        contexts.resize(calls, None);
    }

    fn publish(&self, idx: CallIdx, context: SpanContext) {
        let mut contexts = self.contexts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = contexts.get_mut(idx.index()) {
            *slot = Some(context);
        }
    }
}

impl TraceContext for CallSpans {
    fn traceparent(&self, idx: CallIdx) -> Option<String> {
        let span = {
            let contexts = self.contexts.lock().unwrap_or_else(|p| p.into_inner());
            contexts.get(idx.index())?.clone()?
        };
        // The W3C propagator writes the header, as `parabench serve` reads it with one.
        let mut header = Traceparent(None);
        TraceContextPropagator::new().inject_context(&Context::new().with_remote_span_context(span), &mut header);
        header.0
    }
}

/// A carrier that keeps only `traceparent`: a call's span has no `tracestate` to send.
struct Traceparent(Option<String>);

impl Injector for Traceparent {
    fn set(&mut self, key: &str, value: String) {
        if key == "traceparent" {
            self.0 = Some(value);
        }
    }
}

/// The attempts of the calls in flight, until each call's spans are emitted. Each call
/// in flight borrows a list from a pool that is reused, so a call costs no allocation
/// here, and a call not in flight four bytes.
#[derive(Debug)]
struct Attempts {
    /// Per call: its list in `lists`, or `NONE`.
    list_of: Vec<u32>,
    lists: Vec<Vec<AttemptRecord>>,
    free: Vec<u32>,
}

impl Attempts {
    const NONE: u32 = u32::MAX;

    fn new(calls: usize) -> Self {
        Self {
            list_of: vec![Self::NONE; calls],
            lists: Vec::new(),
            free: Vec::new(),
        }
    }

    fn push(&mut self, idx: CallIdx, record: AttemptRecord) {
        let slot = &mut self.list_of[idx.index()];
        if *slot == Self::NONE {
            *slot = self.free.pop().unwrap_or_else(|| {
                self.lists.push(Vec::new());
                (self.lists.len() - 1) as u32
            });
        }
        self.lists[*slot as usize].push(record);
    }

    fn last_mut(&mut self, idx: CallIdx) -> Option<&mut AttemptRecord> {
        let slot = self.list_of[idx.index()];
        self.lists.get_mut(slot as usize)?.last_mut()
    }

    /// Hands the call's attempts to `each`, in order, and returns its list to the pool.
    fn take(&mut self, idx: CallIdx, mut each: impl FnMut(&AttemptRecord)) -> usize {
        let slot = std::mem::replace(&mut self.list_of[idx.index()], Self::NONE);
        let Some(list) = self.lists.get_mut(slot as usize) else {
            return 0;
        };
        list.iter().for_each(&mut each);
        let n = list.len();
        list.clear();
        self.free.push(slot);
        n
    }
}

/// A tool's span name, `execute_tool {tool}`, made once per process and tool: span names
/// are `Cow<'static, str>`, and an owned one would be copied for every call. What is kept
/// is bounded by the tool names a process sees.
fn span_name(tool: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let name = format!("{EXECUTE_TOOL} {tool}");
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(&known) = names.get(name.as_str()) {
        return known;
    }
    let name: &'static str = Box::leak(name.into_boxed_str());
    names.insert(name);
    name
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
            tools: plan
                .tools()
                .iter()
                .map(|t| {
                    let attributes = [
                        KeyValue::new(attr::GEN_AI_TOOL_NAME, Arc::<str>::from(t.name.as_str())),
                        KeyValue::new(attr::TOOL_KIND, t.kind.as_str()),
                    ];
                    (span_name(&t.name), attributes)
                })
                .collect(),
            anchor: SystemTime::UNIX_EPOCH,
            run: None,
            attempts: Attempts::new(plan.calls().len()),
            early: None,
            open: Vec::new(),
        }
    }

    /// Starts each call's span with its first attempt and publishes its context to
    /// `spans`, for real calls to send their servers.
    #[must_use]
    pub(crate) fn publishing(mut self, spans: Arc<CallSpans>) -> Self {
        self.early = Some(spans);
        self
    }

    /// Starts call `idx`'s span at `start`, as a child of the run span.
    fn start_call(&self, idx: CallIdx, start: SystemTime) -> Option<Context> {
        let run = self.run.as_ref()?;
        let call = self.plan.call(idx);
        let (span_name, [tool_name, tool_kind]) = &self.tools[call.tool.index()];
        let span = self
            .tracer
            .span_builder(*span_name)
            .with_kind(SpanKind::Internal)
            .with_start_time(start)
            .with_attributes([
                KeyValue::new(attr::GEN_AI_OPERATION, EXECUTE_TOOL),
                tool_name.clone(),
                KeyValue::new(attr::GEN_AI_TOOL_CALL_ID, call.id.to_string()),
                tool_kind.clone(),
                KeyValue::new(attr::PRIORITY, i64::from(call.priority)),
            ])
            .start_with_context(&self.tracer, run);
        Some(run.with_span(span))
    }

    fn at(&self, offset: Duration) -> SystemTime {
        self.anchor + offset
    }

    fn emit_call<O>(&mut self, idx: CallIdx, outcome: &CallOutcome<O>) {
        let Some(run) = &self.run else { return };
        let call = self.plan.call(idx);
        let (span_name, [tool_name, tool_kind]) = &self.tools[call.tool.index()];
        let start = outcome.start().unwrap_or(outcome.end());
        // A span started with the call's first attempt (real tools) gets what its end
        // tells; any other is built now, whole.
        let started = self.open.get_mut(idx.index()).and_then(Option::take);
        // Room for every attribute a call may have, so that none reallocates.
        let mut attributes = Vec::with_capacity(10);
        if started.is_none() {
            attributes.extend([
                KeyValue::new(attr::GEN_AI_OPERATION, EXECUTE_TOOL),
                tool_name.clone(),
                KeyValue::new(attr::GEN_AI_TOOL_CALL_ID, call.id.to_string()),
                tool_kind.clone(),
                KeyValue::new(attr::PRIORITY, i64::from(call.priority)),
            ]);
        }
        attributes.extend([
            KeyValue::new(attr::ATTEMPTS, i64::from(outcome.attempts)),
            KeyValue::new(attr::OUTCOME, outcome.status.as_str()),
        ]);
        if let Some(wait) = outcome.queue_wait() {
            attributes.push(KeyValue::new(attr::QUEUE_WAIT_S, wait.as_secs_f64()));
        }
        if let Some(cause) = outcome.cause {
            attributes.push(KeyValue::new(attr::CAUSE, self.plan.call(cause).id.to_string()));
        }
        if outcome.status != CallStatus::Ok {
            attributes.push(KeyValue::new(attr::ERROR_TYPE, outcome.status.as_str()));
        }
        let call_cx = match started {
            Some(cx) => {
                cx.span().set_attributes(attributes);
                cx
            }
            None => {
                let span = self
                    .tracer
                    .span_builder(*span_name)
                    .with_kind(SpanKind::Internal)
                    .with_start_time(self.at(start))
                    .with_attributes(attributes)
                    .start_with_context(&self.tracer, run);
                run.with_span(span)
            }
        };
        if outcome.status != CallStatus::Ok {
            call_cx.span().set_status(Status::error(self.failure(outcome)));
        }
        let (tracer, anchor) = (&self.tracer, self.anchor);
        let attempts = self.attempts.take(idx, |attempt| {
            let (end, result) = match attempt.end {
                Some((end, how)) => (end, attempt_outcome(how)),
                None => (outcome.end(), "cancelled"),
            };
            let mut child = tracer
                .span_builder(ATTEMPT_SPAN)
                .with_kind(SpanKind::Internal)
                .with_start_time(anchor + attempt.start)
                .with_attributes([
                    KeyValue::new(attr::ATTEMPT, i64::from(attempt.number)),
                    KeyValue::new(attr::OUTCOME, result),
                ])
                .start_with_context(tracer, &call_cx);
            if result != "ok" {
                child.set_status(Status::error(result));
            }
            if let Some(delay) = attempt.backoff {
                child.add_event_with_timestamp(
                    BACKOFF_EVENT,
                    anchor + end,
                    vec![KeyValue::new(attr::BACKOFF_S, delay.as_secs_f64())],
                );
            }
            child.end_with_timestamp(anchor + end);
        });
        call_cx.span().end_with_timestamp(self.at(outcome.end()));
        self.created.fetch_add(1 + attempts as u64, Ordering::Relaxed);
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
        if let Some(spans) = &self.early {
            spans.reset(self.plan.calls().len());
            self.open = (0..self.plan.calls().len()).map(|_| None).collect();
        }
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
        if self.early.is_some() && self.open.get(idx.index()).is_some_and(Option::is_none) {
            if let Some(cx) = self.start_call(idx, self.at(at)) {
                if let Some(spans) = &self.early {
                    spans.publish(idx, cx.span().span_context().clone());
                }
                self.open[idx.index()] = Some(cx);
            }
        }
        self.attempts.push(
            idx,
            AttemptRecord {
                number: attempt,
                start: at,
                end: None,
                backoff: None,
            },
        );
    }

    fn attempt_began(&mut self, idx: CallIdx, _: u32, at: Duration) {
        if let Some(last) = self.attempts.last_mut(idx) {
            last.start = at;
        }
    }

    fn attempt_ended(&mut self, idx: CallIdx, _: u32, at: Duration, end: AttemptEnd) {
        if let Some(last) = self.attempts.last_mut(idx) {
            last.end = Some((at, end));
        }
    }

    fn backoff(&mut self, idx: CallIdx, _: u32, _: Duration, delay: Duration) {
        if let Some(last) = self.attempts.last_mut(idx) {
            last.backoff = Some(delay);
        }
    }

    fn call_ended<O>(&mut self, idx: CallIdx, outcome: &CallOutcome<O>) {
        self.emit_call(idx, outcome);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    #[test]
    fn a_published_call_span_is_sent_as_its_w3c_traceparent() {
        let spans = CallSpans::default();
        spans.reset(2);
        let context = SpanContext::new(
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        spans.publish(CallIdx::new(1), context);
        assert_eq!(
            spans.traceparent(CallIdx::new(1)).as_deref(),
            Some("00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01")
        );
        // A call not yet started, and one beyond the run, send nothing.
        assert_eq!(spans.traceparent(CallIdx::new(0)), None);
        assert_eq!(spans.traceparent(CallIdx::new(7)), None);
    }
}
