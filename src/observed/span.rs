//! The spans an analysis keeps: tool calls and model calls, recognised from the
//! conventions agents already emit, whatever format they arrived in.
//!
//! Only what the analysis needs is kept (ids, times, the tool, an error flag), so a
//! trace of a million spans costs tens of megabytes, not the gigabyte of its file.

use std::collections::HashMap;

/// What a span is to the analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A tool call, of the tool with this id (see [`Spans::tool_name`]).
    Tool(u32),
    /// A model call: it ends one step of tool calls and starts the next.
    Model,
}

/// One recognised span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObservedSpan {
    /// Its trace.
    pub trace_id: [u8; 16],
    /// Its own id.
    pub span_id: [u8; 8],
    /// Its parent's id; zero for a root span.
    pub parent_span_id: [u8; 8],
    /// Start, in nanoseconds since the Unix epoch.
    pub start_ns: u64,
    /// End, in nanoseconds since the Unix epoch, never before the start.
    pub end_ns: u64,
    /// A tool call or a model call.
    pub role: Role,
    /// Whether it failed (status Error, or an `error.type` / `error` attribute).
    pub error: bool,
}

impl ObservedSpan {
    /// Its duration in nanoseconds.
    pub fn duration_ns(&self) -> u64 {
        self.end_ns - self.start_ns
    }
}

/// The attributes of a span that decide what it is, as each convention names them.
///
/// # Conventions
///
/// - OpenTelemetry GenAI: `gen_ai.operation.name = execute_tool` is a tool call (the tool
///   is `gen_ai.tool.name`, else the span name after `execute_tool `); `chat`,
///   `text_completion` and `generate_content` are model calls.
/// - OpenInference: `openinference.span.kind = TOOL` (the tool is `tool.name`, else the
///   span name); `LLM` is a model call.
/// - OpenLLMetry: `traceloop.span.kind = tool` (the tool is `traceloop.entity.name`);
///   `llm` is a model call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conventions<'a> {
    /// `gen_ai.operation.name`.
    pub gen_ai_operation: Option<&'a str>,
    /// `gen_ai.tool.name`.
    pub gen_ai_tool_name: Option<&'a str>,
    /// `openinference.span.kind`.
    pub openinference_kind: Option<&'a str>,
    /// `tool.name`.
    pub tool_name: Option<&'a str>,
    /// `traceloop.span.kind`.
    pub traceloop_kind: Option<&'a str>,
    /// `traceloop.entity.name`.
    pub traceloop_entity: Option<&'a str>,
    /// Whether an attribute said the span failed: `error.type` (OpenTelemetry),
    /// `error = true` or `otel.status_code = ERROR` (Jaeger's tags).
    pub error: bool,
}

/// An attribute's value, as far as recognition cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrValue<'a> {
    /// A string.
    Str(&'a str),
    /// A boolean.
    Bool(bool),
    /// Anything else.
    Other,
}

impl<'a> Conventions<'a> {
    /// Takes in one attribute of the span: one that decides what it is, or one that says
    /// it failed; anything else is ignored.
    pub fn observe(&mut self, key: &str, value: AttrValue<'a>) {
        let failed = match value {
            AttrValue::Str(s) => {
                !self.note(key, s) && (key == "error.type" || (key == "otel.status_code" && s == "ERROR"))
            }
            AttrValue::Bool(b) => b && key == "error",
            AttrValue::Other => false,
        };
        self.error |= failed;
    }

    /// Records `value` if `key` is one of the attributes that decide; returns whether it
    /// was.
    pub fn note(&mut self, key: &str, value: &'a str) -> bool {
        let slot = match key {
            "gen_ai.operation.name" => &mut self.gen_ai_operation,
            "gen_ai.tool.name" => &mut self.gen_ai_tool_name,
            "openinference.span.kind" => &mut self.openinference_kind,
            "tool.name" => &mut self.tool_name,
            "traceloop.span.kind" => &mut self.traceloop_kind,
            "traceloop.entity.name" => &mut self.traceloop_entity,
            _ => return false,
        };
        *slot = Some(value);
        true
    }

    /// What a span named `name` with these attributes is: a tool call (and its tool's
    /// name), a model call, or nothing the analysis keeps.
    ///
    /// ```
    /// use parabench::observed::span::{Conventions, Kind};
    ///
    /// let mut c = Conventions::default();
    /// c.note("gen_ai.operation.name", "execute_tool");
    /// assert_eq!(c.kind("execute_tool search"), Some(Kind::Tool("search")));
    /// ```
    pub fn kind(&self, name: &'a str) -> Option<Kind<'a>> {
        match self.gen_ai_operation {
            Some("execute_tool") => {
                let tool = self
                    .gen_ai_tool_name
                    .or_else(|| name.strip_prefix("execute_tool "))
                    .unwrap_or(name);
                return Some(Kind::Tool(tool));
            }
            Some("chat" | "text_completion" | "generate_content") => return Some(Kind::Model),
            _ => {}
        }
        match self.openinference_kind.map(str::to_ascii_uppercase).as_deref() {
            Some("TOOL") => return Some(Kind::Tool(self.tool_name.unwrap_or(name))),
            Some("LLM") => return Some(Kind::Model),
            _ => {}
        }
        match self.traceloop_kind.map(str::to_ascii_lowercase).as_deref() {
            Some("tool") => Some(Kind::Tool(self.traceloop_entity.unwrap_or(name))),
            Some("llm") => Some(Kind::Model),
            _ => None,
        }
    }
}

/// What [`Conventions::kind`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A tool call of this tool.
    Tool(&'a str),
    /// A model call.
    Model,
}

/// Every recognised span read so far, with the tools' names interned, and where every
/// other span sits in its trace.
#[derive(Clone, Debug, Default)]
pub struct Spans {
    spans: Vec<ObservedSpan>,
    tools: Vec<String>,
    tool_ids: HashMap<String, u32>,
    /// Spans read, recognised or not.
    pub seen: u64,
    /// Distinct traces seen (of recognised spans).
    traces: std::collections::HashSet<[u8; 16]>,
    /// Every trace seen, recognised spans or not, by its index in `links`.
    trace_index: HashMap<[u8; 16], u32>,
    trace_ids: Vec<[u8; 16]>,
    /// The spans that are neither tool nor model calls, with a parent: the wrappers
    /// (agent runs, chains, an MCP client's request) between the calls and what holds
    /// them, so steps can be found whatever the framework nests.
    links: Vec<Link>,
}

/// A span's place: its trace, its id and its parent's (zero for a root).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanIds {
    /// Its trace.
    pub trace_id: [u8; 16],
    /// Its own id.
    pub span_id: [u8; 8],
    /// Its parent's id; zero for a root span.
    pub parent_span_id: [u8; 8],
}

/// Where a span that is neither a tool nor a model call sits: 20 bytes, so a trace of a
/// million spans keeps its shape in 20 MB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// Its trace, by [`Spans::trace_index`].
    pub trace: u32,
    /// Its id.
    pub span_id: [u8; 8],
    /// Its parent's id.
    pub parent_span_id: [u8; 8],
}

impl Spans {
    /// Keeps `span` with its tool named `tool` (for a tool call).
    pub fn push(&mut self, mut span: ObservedSpan, kind: Kind<'_>) {
        span.role = match kind {
            Kind::Tool(name) => Role::Tool(self.tool_id(name)),
            Kind::Model => Role::Model,
        };
        self.traces.insert(span.trace_id);
        self.trace(span.trace_id);
        self.spans.push(span);
    }

    /// Keeps where a span that is neither a tool nor a model call sits; a root span
    /// (without a parent) needs no keeping.
    pub fn push_link(&mut self, ids: SpanIds) {
        if ids.parent_span_id == [0; 8] || ids.span_id == [0; 8] {
            return;
        }
        let trace = self.trace(ids.trace_id);
        self.links.push(Link {
            trace,
            span_id: ids.span_id,
            parent_span_id: ids.parent_span_id,
        });
    }

    fn trace(&mut self, id: [u8; 16]) -> u32 {
        if let Some(&t) = self.trace_index.get(&id) {
            return t;
        }
        let t = u32::try_from(self.trace_ids.len()).expect("fewer than 2^32 traces");
        self.trace_ids.push(id);
        self.trace_index.insert(id, t);
        t
    }

    fn tool_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.tool_ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.tools.len()).expect("fewer than 2^32 tools");
        self.tools.push(name.to_string());
        self.tool_ids.insert(name.to_string(), id);
        id
    }

    /// The recognised spans, in the order they were read.
    pub fn spans(&self) -> &[ObservedSpan] {
        &self.spans
    }

    /// The other spans with a parent, in the order they were read.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The index of trace `id` among every trace seen, if it was.
    pub fn trace_index(&self, id: &[u8; 16]) -> Option<u32> {
        self.trace_index.get(id).copied()
    }

    /// The name of tool `id`.
    pub fn tool_name(&self, id: u32) -> &str {
        &self.tools[id as usize]
    }

    /// How many tools were seen.
    pub fn tool_count(&self) -> usize {
        self.tools.len()
    }

    /// Distinct traces among the recognised spans.
    pub fn trace_count(&self) -> usize {
        self.traces.len()
    }

    /// Adds everything `other` read.
    pub fn extend(&mut self, other: Spans) {
        self.seen += other.seen;
        for span in other.spans {
            let kind = match span.role {
                Role::Tool(id) => Kind::Tool(&other.tools[id as usize]),
                Role::Model => Kind::Model,
            };
            self.push(span, kind);
        }
        for link in other.links {
            self.push_link(SpanIds {
                trace_id: other.trace_ids[link.trace as usize],
                span_id: link.span_id,
                parent_span_id: link.parent_span_id,
            });
        }
    }
}

/// A span of trace `[1; 16]` under parent `[parent; 8]`, from `start_ms` to `end_ms`
/// after the epoch (its role is set by [`Spans::push`]).
#[cfg(test)]
pub(crate) fn test_span(parent: u8, start_ms: u64, end_ms: u64) -> ObservedSpan {
    ObservedSpan {
        trace_id: [1; 16],
        span_id: [start_ms as u8, end_ms as u8, parent, (start_ms >> 8) as u8, 0, 0, 0, 1],
        parent_span_id: [parent; 8],
        start_ns: start_ms * 1_000_000,
        end_ns: end_ms * 1_000_000,
        role: Role::Model,
        error: false,
    }
}

/// A span of trace `[1; 16]` with id `[id; 8]` under parent `[parent; 8]`, from
/// `start_ms` to `end_ms` after the epoch (its role is set by [`Spans::push`]).
#[cfg(test)]
pub(crate) fn span(id: u8, parent: u8, start_ms: u64, end_ms: u64) -> ObservedSpan {
    ObservedSpan {
        trace_id: [1; 16],
        span_id: [id; 8],
        parent_span_id: [parent; 8],
        start_ns: start_ms * 1_000_000,
        end_ns: end_ms * 1_000_000,
        role: Role::Model,
        error: false,
    }
}

/// The parent link of a span of trace `[1; 16]` with id `[id; 8]` under `[parent; 8]`: a
/// wrapper or an agent span, neither a tool nor a model call.
#[cfg(test)]
pub(crate) fn link(id: u8, parent: u8) -> SpanIds {
    SpanIds {
        trace_id: [1; 16],
        span_id: [id; 8],
        parent_span_id: [parent; 8],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of<'a>(name: &'a str, attrs: &[(&str, &'a str)]) -> Option<Kind<'a>> {
        let mut c = Conventions::default();
        for (k, v) in attrs {
            c.note(k, v);
        }
        c.kind(name)
    }

    #[test]
    fn each_convention_names_its_tool_calls_and_model_calls() {
        let gen_ai = [
            ("gen_ai.operation.name", "execute_tool"),
            ("gen_ai.tool.name", "search"),
        ];
        assert_eq!(kind_of("anything", &gen_ai), Some(Kind::Tool("search")));
        assert_eq!(
            kind_of("execute_tool fetch", &[("gen_ai.operation.name", "execute_tool")]),
            Some(Kind::Tool("fetch"))
        );
        assert_eq!(
            kind_of("chat gpt-4o", &[("gen_ai.operation.name", "chat")]),
            Some(Kind::Model)
        );
        let oi = [("openinference.span.kind", "TOOL"), ("tool.name", "calculator")];
        assert_eq!(kind_of("Tool", &oi), Some(Kind::Tool("calculator")));
        assert_eq!(
            kind_of("lookup", &[("openinference.span.kind", "TOOL")]),
            Some(Kind::Tool("lookup"))
        );
        assert_eq!(
            kind_of("ChatOpenAI", &[("openinference.span.kind", "LLM")]),
            Some(Kind::Model)
        );
        let ll = [
            ("traceloop.span.kind", "tool"),
            ("traceloop.entity.name", "get_weather"),
        ];
        assert_eq!(kind_of("get_weather.tool", &ll), Some(Kind::Tool("get_weather")));
        assert_eq!(
            kind_of("openai.chat", &[("traceloop.span.kind", "llm")]),
            Some(Kind::Model)
        );
        // parabench's own attempt spans, chains, agents and HTTP spans are none of these.
        assert_eq!(kind_of("attempt", &[]), None);
        assert_eq!(kind_of("AgentExecutor", &[("openinference.span.kind", "CHAIN")]), None);
        assert_eq!(
            kind_of("invoke_agent", &[("gen_ai.operation.name", "invoke_agent")]),
            None
        );
    }
}
