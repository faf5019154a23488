//! Jaeger JSON, as the Jaeger UI's "Download JSON" and its query API (`/api/traces`)
//! write it: `{"data": [{"traceID", "spans", "processes"}]}`, times in microseconds,
//! attributes as `tags`, the parent as a `CHILD_OF` reference.

use serde::Deserialize;

use super::otlp::SpanError;
use super::span::{AttrValue, Conventions, Kind, ObservedSpan, Role, SpanIds, Spans};

/// One trace of a Jaeger document.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JaegerTrace {
    /// Its spans.
    #[serde(default)]
    pub spans: Vec<JaegerSpan>,
}

/// One Jaeger span.
#[derive(Debug, Deserialize)]
pub struct JaegerSpan {
    /// 16 or 32 hex digits.
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// 16 hex digits.
    #[serde(rename = "spanID")]
    pub span_id: String,
    /// The span's name.
    #[serde(rename = "operationName", default)]
    pub operation_name: String,
    /// `CHILD_OF` names the parent.
    #[serde(default)]
    pub references: Vec<JaegerReference>,
    /// Microseconds since the Unix epoch.
    #[serde(rename = "startTime")]
    pub start_time: Option<u64>,
    /// Microseconds.
    pub duration: Option<u64>,
    /// The span's attributes.
    #[serde(default)]
    pub tags: Vec<JaegerTag>,
}

/// A reference to another span.
#[derive(Debug, Deserialize)]
pub struct JaegerReference {
    /// `CHILD_OF` or `FOLLOWS_FROM`.
    #[serde(rename = "refType")]
    pub ref_type: String,
    /// The span referred to.
    #[serde(rename = "spanID")]
    pub span_id: String,
}

/// A tag: a key and a value of any JSON type.
#[derive(Debug, Deserialize)]
pub struct JaegerTag {
    /// The attribute's key.
    pub key: String,
    /// Its value.
    #[serde(default)]
    pub value: serde_json::Value,
}

/// Keeps the tool and model calls of `traces`.
///
/// # Errors
///
/// [`SpanError`] for the first span that cannot be analysed: an id that is not hex of
/// the right length, or a span without a start time or duration.
pub fn collect(traces: &[JaegerTrace], out: &mut Spans) -> Result<(), SpanError> {
    let mut batch = Vec::new();
    let mut links = Vec::new();
    for trace in traces {
        for span in &trace.spans {
            out.seen += 1;
            let mut conventions = Conventions::default();
            for tag in &span.tags {
                let value = match &tag.value {
                    serde_json::Value::String(s) => AttrValue::Str(s),
                    serde_json::Value::Bool(b) => AttrValue::Bool(*b),
                    _ => AttrValue::Other,
                };
                conventions.observe(&tag.key, value);
            }
            let Some(kind) = conventions.kind(&span.operation_name) else {
                links.extend(link(span)?);
                continue;
            };
            let observed = checked(span, conventions.error)?;
            batch.push((observed, matches!(kind, Kind::Tool(_)).then(|| kind_name(kind))));
        }
    }
    for ids in links {
        out.push_link(ids);
    }
    for (span, tool) in batch {
        let kind = match &tool {
            Some(name) => Kind::Tool(name),
            None => Kind::Model,
        };
        out.push(span, kind);
    }
    Ok(())
}

/// Where a span that is no call sits (`None` for a root), its ids checked as a call's
/// are; its times are not read.
fn link(span: &JaegerSpan) -> Result<Option<SpanIds>, SpanError> {
    let ids = ids(span)?;
    Ok((ids.parent_span_id != [0; 8]).then_some(ids))
}

/// A span's trace id, id and parent id (zero for a root), each hex of the right length.
fn ids(span: &JaegerSpan) -> Result<SpanIds, SpanError> {
    let bad = |what: &'static str, text: &str, expected: usize| SpanError::BadId {
        span: span.span_id.clone(),
        trace: span.trace_id.clone(),
        what,
        len: text.len() / 2,
        expected,
    };
    let trace_id: [u8; 16] = padded_hex(&span.trace_id).ok_or_else(|| bad("trace id", &span.trace_id, 16))?;
    let span_id: [u8; 8] = padded_hex(&span.span_id).ok_or_else(|| bad("span id", &span.span_id, 8))?;
    let parent_span_id = match span.references.iter().find(|r| r.ref_type == "CHILD_OF") {
        Some(parent) => padded_hex(&parent.span_id).ok_or_else(|| bad("parent span id", &parent.span_id, 8))?,
        None => [0; 8],
    };
    Ok(SpanIds {
        trace_id,
        span_id,
        parent_span_id,
    })
}

fn kind_name(kind: Kind<'_>) -> String {
    match kind {
        Kind::Tool(name) => name.to_string(),
        Kind::Model => String::new(),
    }
}

fn checked(span: &JaegerSpan, error: bool) -> Result<ObservedSpan, SpanError> {
    let SpanIds {
        trace_id,
        span_id,
        parent_span_id,
    } = ids(span)?;
    let no_time = |which| SpanError::NoTime {
        span: span.span_id.clone(),
        trace: span.trace_id.clone(),
        which,
    };
    let start_us = span.start_time.filter(|t| *t > 0).ok_or_else(|| no_time("start"))?;
    let duration_us = span.duration.ok_or_else(|| no_time("end"))?;
    Ok(ObservedSpan {
        trace_id,
        span_id,
        parent_span_id,
        start_ns: start_us.saturating_mul(1000),
        end_ns: start_us.saturating_add(duration_us).saturating_mul(1000),
        role: Role::Model,
        error,
    })
}

/// Hex digits as `N` bytes, left-padded with zeros (Jaeger drops the leading zeros of a
/// 64-bit trace id); `None` when not hex or too long.
fn padded_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.is_empty() || text.len() > 2 * N || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let padded = format!("{text:0>width$}", width = 2 * N);
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&padded[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jaeger_download_reads_with_microsecond_times_and_short_trace_ids() {
        let doc = r#"[{"traceID":"d269b633813fc60c","spans":[
            {"traceID":"d269b633813fc60c","spanID":"00000000000000a1","operationName":"search",
             "references":[{"refType":"CHILD_OF","traceID":"d269b633813fc60c","spanID":"00000000000000a0"}],
             "startTime":1700000000000000,"duration":120000,
             "tags":[{"key":"openinference.span.kind","type":"string","value":"TOOL"},
                     {"key":"error","type":"bool","value":true}],"processID":"p1"}],
            "processes":{"p1":{"serviceName":"agent","tags":[]}}}]"#;
        let traces: Vec<JaegerTrace> = serde_json::from_str(doc).unwrap();
        let mut spans = Spans::default();
        collect(&traces, &mut spans).unwrap();
        let [span] = spans.spans() else { panic!() };
        assert_eq!(span.duration_ns(), 120_000_000);
        assert_eq!(span.trace_id[..8], [0; 8]);
        assert_eq!(span.parent_span_id, [0, 0, 0, 0, 0, 0, 0, 0xa0]);
        assert!(span.error);
        assert_eq!(spans.tool_name(0), "search");
    }

    #[test]
    fn ids_must_be_hex_of_the_right_length() {
        assert_eq!(padded_hex::<2>("a1"), Some([0, 0xa1]));
        assert_eq!(padded_hex::<2>("xyz"), None);
        assert_eq!(padded_hex::<2>("123456"), None);
        assert_eq!(padded_hex::<2>(""), None);
    }
}
