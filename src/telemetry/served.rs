//! Spans and metrics of calls served to a client (`parabench serve`), emitted as each
//! call is answered.
//!
//! A served call's span follows the OpenTelemetry conventions for MCP servers: named
//! `tools/call {tool}`, kind Server, with `mcp.method.name`, `mcp.session.id`,
//! `jsonrpc.request.id` and the GenAI tool attributes. When the client propagated its
//! trace context in the request's `params._meta` (`traceparent`, `tracestate`; MCP
//! SEP-414), the span is a child of the client's span, so the agent's trace and the
//! server's spans are one trace in Jaeger; it then links to the `serve {scenario}` root.
//! Without one, the span is a child of that root.
//!
//! The metrics are a run's (`parabench.tool.*`, `parabench.executor.in_flight`) with
//! `mode = served`, so the same dashboards draw a served client beside a run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{Link, Span, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracer;

use super::Telemetry;
use super::metrics::Instruments;
use super::names::{MCP_TOOLS_CALL, attr, metric};

/// The `mode` of served calls' metrics.
pub const SERVED_MODE: &str = "served";

/// One served call, as its span and metrics record it.
#[derive(Clone, Debug)]
pub struct ServedCall<'a> {
    /// Its tool, by index in the tools given to [`ServedCallTelemetry::new`].
    pub tool: usize,
    /// The client session it came in.
    pub session: &'a str,
    /// The JSON-RPC id of its request.
    pub request_id: Option<&'a str>,
    /// The request's `params._meta`, where a client propagates its trace context
    /// (`traceparent`, `tracestate`).
    pub meta: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// `tcp` (streamable HTTP) or `pipe` (stdio).
    pub transport: &'static str,
    /// When its request arrived.
    pub arrive: SystemTime,
    /// When its service began; `None` when it never did (rejected, or cancelled while
    /// it waited).
    pub start: Option<SystemTime>,
    /// When it was answered.
    pub end: SystemTime,
    /// How it ended, as the report writes it.
    pub outcome: &'static str,
    /// Whether it was answered with a tool error (`isError: true`).
    pub tool_error: bool,
    /// The how-many-th call of its tool, in any session.
    pub nth: u32,
    /// The same arguments had failed before.
    pub retry: bool,
    /// Its tool was at its limit when it arrived.
    pub beyond_limit: bool,
}

/// Exports served calls; cheap to clone, shared by the server's tasks.
#[derive(Clone, Debug)]
pub struct ServedCallTelemetry {
    tracer: SdkTracer,
    root: Context,
    instruments: Instruments,
    /// Per tool: its span name and its name as an attribute value.
    tools: Arc<[(String, opentelemetry::StringValue)]>,
    created: Arc<AtomicU64>,
    /// What the in-flight gauge reads for `mode = served`.
    in_flight: Arc<std::sync::atomic::AtomicI64>,
}

impl ServedCallTelemetry {
    /// Telemetry of calls of `tools`, under `telemetry`'s root span.
    pub fn new<'a>(telemetry: &Telemetry, tools: impl IntoIterator<Item = &'a str>) -> Self {
        let tools = tools
            .into_iter()
            .map(|name| (format!("{MCP_TOOLS_CALL} {name}"), name.to_string().into()))
            .collect();
        ServedCallTelemetry {
            tracer: telemetry.tracer.clone(),
            root: telemetry.scenario_cx.clone(),
            instruments: telemetry.instruments.clone(),
            tools,
            created: telemetry.spans_created.clone(),
            in_flight: telemetry.instruments.in_flight_now.of(SERVED_MODE),
        }
    }

    /// Records the calls in flight at the server (arrived, not yet answered).
    pub fn in_flight(&self, calls: usize) {
        let value = i64::try_from(calls).unwrap_or(i64::MAX);
        self.in_flight.store(value, std::sync::atomic::Ordering::Relaxed);
    }

    /// Exports an answered call: its span and its metrics.
    pub fn ended(&self, call: &ServedCall<'_>) {
        let (span_name, tool) = &self.tools[call.tool];
        let tool_kv = || KeyValue::new(metric::TOOL, tool.clone());
        let mode = KeyValue::new(metric::MODE, SERVED_MODE);
        let outcome = KeyValue::new(metric::OUTCOME, call.outcome);
        let i = &self.instruments;
        let by_outcome = [tool_kv(), mode.clone(), outcome];
        let by_tool = [tool_kv(), mode];
        i.calls.add(1, &by_outcome);
        i.retries.add(u64::from(call.retry), &by_tool);
        // From arrival to start: the wait for a slot or the rate.
        let wait = call
            .start
            .map(|start| start.duration_since(call.arrive).unwrap_or_default().as_secs_f64());
        if let (Some(start), Some(wait)) = (call.start, wait) {
            let service = call.end.duration_since(start).unwrap_or_default();
            i.queue_wait.record(wait, &by_tool);
            i.duration.record(service.as_secs_f64(), &by_outcome);
        }

        let mut attributes = vec![
            KeyValue::new(attr::MCP_METHOD, MCP_TOOLS_CALL),
            KeyValue::new(attr::MCP_SESSION_ID, call.session.to_string()),
            KeyValue::new(attr::NETWORK_TRANSPORT, call.transport),
            KeyValue::new(attr::GEN_AI_OPERATION, super::names::EXECUTE_TOOL),
            KeyValue::new(attr::GEN_AI_TOOL_NAME, tool.clone()),
            KeyValue::new(attr::OUTCOME, call.outcome),
            KeyValue::new(attr::CALL_NTH, i64::from(call.nth)),
            KeyValue::new(attr::RETRY, call.retry),
            KeyValue::new(attr::BEYOND_LIMIT, call.beyond_limit),
        ];
        if let Some(id) = call.request_id {
            attributes.push(KeyValue::new(attr::JSONRPC_REQUEST_ID, id.to_string()));
        }
        if let Some(wait) = wait {
            attributes.push(KeyValue::new(attr::QUEUE_WAIT_S, wait));
        }
        if call.tool_error {
            // The MCP convention's error class of a result with `isError: true`.
            attributes.push(KeyValue::new(attr::ERROR_TYPE, "tool_error"));
        }
        let empty = serde_json::Map::new();
        let client = TraceContextPropagator::new().extract(&JsonContext(call.meta.unwrap_or(&empty)));
        let from_client = client.span().span_context().is_valid();
        let mut builder = self
            .tracer
            .span_builder(span_name.clone())
            .with_kind(SpanKind::Server)
            .with_start_time(call.arrive)
            .with_attributes(attributes);
        let parent = if from_client {
            builder = builder.with_links(vec![Link::with_context(self.root.span().span_context().clone())]);
            &client
        } else {
            &self.root
        };
        let mut span = builder.start_with_context(&self.tracer, parent);
        if call.tool_error {
            span.set_status(Status::error(call.outcome));
        }
        span.end_with_timestamp(call.end);
        self.created.fetch_add(1, Ordering::Relaxed);
    }
}

/// A JSON object's string fields as trace context: a request's `_meta`.
struct JsonContext<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl Extractor for JsonContext<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(serde_json::Value::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}
