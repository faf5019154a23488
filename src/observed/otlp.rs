//! OTLP traces, as protobuf (the receiver) or OTLP/JSON (files and the receiver), into
//! recognised spans.
//!
//! OTLP/JSON comes as one `TracesData` or `ExportTraceServiceRequest` object
//! (`{"resourceSpans": [...]}`), Tempo's `{"batches": [...]}`, or JSON Lines of them, as
//! the Collector's `file` exporter writes: ids in hex, times as decimal strings or numbers.

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use serde::Deserialize;

use super::span::{AttrValue, Conventions, ObservedSpan, Role, SpanIds, Spans};

/// A span that cannot be analysed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    /// An id of the wrong length (16 bytes for a trace, 8 for a span).
    #[error("span {span} of trace {trace}: the {what} is {len} bytes (expected {expected}, hex-encoded in JSON)")]
    BadId {
        /// The span's id, in hex.
        span: String,
        /// Its trace's id, in hex.
        trace: String,
        /// Which id.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The length it must have.
        expected: usize,
    },
    /// A span without a start or an end time.
    #[error("span {span} of trace {trace} has no {which} time (expected startTimeUnixNano and endTimeUnixNano)")]
    NoTime {
        /// The span's id, in hex.
        span: String,
        /// Its trace's id, in hex.
        trace: String,
        /// `start` or `end`.
        which: &'static str,
    },
    /// A span that ends before it starts.
    #[error("span {span} of trace {trace} ends {by_ns} ns before it starts (expected end >= start)")]
    EndsBeforeStart {
        /// The span's id, in hex.
        span: String,
        /// Its trace's id, in hex.
        trace: String,
        /// By how much.
        by_ns: u64,
    },
}

/// One OTLP/JSON document: a `TracesData` or `ExportTraceServiceRequest`, or Tempo's
/// wrapper of the same resource spans.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TracesDocument {
    /// The resource spans of OTLP.
    #[serde(default)]
    pub resource_spans: Vec<ResourceSpans>,
    /// Tempo's name for the same.
    #[serde(default)]
    pub batches: Vec<ResourceSpans>,
}

impl TracesDocument {
    /// Whether the document has any of the keys of a trace document; an object with
    /// neither is some other JSON.
    pub fn is_empty(&self) -> bool {
        self.resource_spans.is_empty() && self.batches.is_empty()
    }

    /// Every resource's spans, whichever key held them.
    pub fn resource_spans(&self) -> impl Iterator<Item = &ResourceSpans> {
        self.resource_spans.iter().chain(&self.batches)
    }
}

/// Keeps the tool and model calls among `resource_spans`.
///
/// # Errors
///
/// [`SpanError`] for the first span that cannot be analysed; nothing of `resource_spans`
/// is kept then.
pub fn collect<'a>(
    resource_spans: impl IntoIterator<Item = &'a ResourceSpans>,
    out: &mut Spans,
) -> Result<(), SpanError> {
    let mut batch = Vec::new();
    let mut links = Vec::new();
    for resource in resource_spans {
        for scope in &resource.scope_spans {
            for span in &scope.spans {
                out.seen += 1;
                match recognise(span)? {
                    Some(kept) => batch.push(kept),
                    None => links.extend(link(span)?),
                }
            }
        }
    }
    for ids in links {
        out.push_link(ids);
    }
    for (span, tool) in batch {
        let kind = match &tool {
            Some(name) => super::span::Kind::Tool(name),
            None => super::span::Kind::Model,
        };
        out.push(span, kind);
    }
    Ok(())
}

/// Where a span that is no call sits (its trace, its id and its parent's; `None` for a
/// root). Its ids are checked as a call's are: a wrapper with a broken id would break the
/// tree the steps are found in. Its times are not read.
fn link(span: &Span) -> Result<Option<SpanIds>, SpanError> {
    let ids = ids(span)?;
    Ok((ids.parent_span_id != [0; 8]).then_some(ids))
}

/// A span's trace id, id and parent id (zero for a root), each of the right length.
fn ids(span: &Span) -> Result<SpanIds, SpanError> {
    let id = |bytes: &[u8], what: &'static str, expected: usize| SpanError::BadId {
        span: hex(&span.span_id),
        trace: hex(&span.trace_id),
        what,
        len: bytes.len(),
        expected,
    };
    let trace_id: [u8; 16] = span
        .trace_id
        .as_slice()
        .try_into()
        .map_err(|_| id(&span.trace_id, "trace id", 16))?;
    let span_id: [u8; 8] = span
        .span_id
        .as_slice()
        .try_into()
        .map_err(|_| id(&span.span_id, "span id", 8))?;
    let parent_span_id: [u8; 8] = match span.parent_span_id.len() {
        0 => [0; 8],
        _ => span
            .parent_span_id
            .as_slice()
            .try_into()
            .map_err(|_| id(&span.parent_span_id, "parent span id", 8))?,
    };
    Ok(SpanIds {
        trace_id,
        span_id,
        parent_span_id,
    })
}

/// The span as the analysis keeps it (with its tool's name, `None` for a model call), if
/// it is a tool or model call.
fn recognise(span: &Span) -> Result<Option<(ObservedSpan, Option<String>)>, SpanError> {
    let mut conventions = Conventions::default();
    for kv in &span.attributes {
        let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => AttrValue::Str(s),
            Some(Value::BoolValue(b)) => AttrValue::Bool(*b),
            _ => AttrValue::Other,
        };
        conventions.observe(&kv.key, value);
    }
    let Some(kind) = conventions.kind(&span.name) else {
        return Ok(None);
    };
    let observed = checked(span, conventions.error)?;
    Ok(Some((
        observed,
        match kind {
            super::span::Kind::Tool(name) => Some(name.to_string()),
            super::span::Kind::Model => None,
        },
    )))
}

fn checked(span: &Span, error: bool) -> Result<ObservedSpan, SpanError> {
    let ids_hex = || (hex(&span.span_id), hex(&span.trace_id));
    let SpanIds {
        trace_id,
        span_id,
        parent_span_id,
    } = ids(span)?;
    for (value, which) in [(span.start_time_unix_nano, "start"), (span.end_time_unix_nano, "end")] {
        if value == 0 {
            let (span, trace) = ids_hex();
            return Err(SpanError::NoTime { span, trace, which });
        }
    }
    if span.end_time_unix_nano < span.start_time_unix_nano {
        let (span_hex, trace) = ids_hex();
        return Err(SpanError::EndsBeforeStart {
            span: span_hex,
            trace,
            by_ns: span.start_time_unix_nano - span.end_time_unix_nano,
        });
    }
    let failed = span.status.as_ref().is_some_and(|s| s.code == StatusCode::Error as i32);
    Ok(ObservedSpan {
        trace_id,
        span_id,
        parent_span_id,
        start_ns: span.start_time_unix_nano,
        end_ns: span.end_time_unix_nano,
        role: Role::Model,
        error: error || failed,
    })
}

/// Bytes as lowercase hex, as OTLP/JSON writes ids.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_json_with_string_and_number_times_and_tempo_batches_reads() {
        let line = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
            {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173",
             "name":"execute_tool search","startTimeUnixNano":"1000","endTimeUnixNano":2500,
             "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"execute_tool"}}],
             "status":{"code":2}},
            {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175",
             "name":"attempt","startTimeUnixNano":"1000","endTimeUnixNano":"2500"}]}]}]}"#;
        let doc: TracesDocument = serde_json::from_str(line).unwrap();
        let mut spans = Spans::default();
        collect(doc.resource_spans(), &mut spans).unwrap();
        assert_eq!(spans.seen, 2);
        let [span] = spans.spans() else {
            panic!("{:?}", spans.spans())
        };
        assert_eq!((span.start_ns, span.end_ns, span.error), (1000, 2500, true));
        assert_eq!(span.role, Role::Tool(0));
        assert_eq!(spans.tool_name(0), "search");
        let tempo: TracesDocument = serde_json::from_str(&line.replace("resourceSpans", "batches")).unwrap();
        assert_eq!(tempo.resource_spans().count(), 1);
    }

    #[test]
    fn spans_that_cannot_be_analysed_are_named() {
        let span = |start: &str, end: &str| {
            format!(
                r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c",
                "spanId":"eee19b7ec3c1b174","name":"x","startTimeUnixNano":{start},"endTimeUnixNano":{end},
                "attributes":[{{"key":"openinference.span.kind","value":{{"stringValue":"TOOL"}}}}]}}]}}]}}]}}"#
            )
        };
        let read = |text: &str| {
            let doc: TracesDocument = serde_json::from_str(text).unwrap();
            collect(doc.resource_spans(), &mut Spans::default())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            read(&span("\"2000\"", "\"1000\"")),
            "span eee19b7ec3c1b174 of trace 5b8efff798038103d269b633813fc60c ends 1000 ns before it starts \
             (expected end >= start)"
        );
        assert!(
            read(&span("\"2000\"", "0")).contains("has no end time"),
            "{}",
            read(&span("1", "0"))
        );
    }
}
