//! Real tools (`kind = "mcp"`, `kind = "http"`): their keys checked offline, and the keys
//! of one kind refused on a tool of the other, each at its place in the file.

use toml::Spanned;

use crate::plan::ToolKind;
use crate::scenario::error::{SourceMap, quoted};
use crate::scenario::model::{SessionsName, ToolTable};
use crate::scenario::real::{HttpMethod, HttpTool, McpServer, McpTool, RealTool, Sessions, Target};

use super::Result;

/// The keys only real tools take, with the kind they belong to.
const REAL_KEYS: [(&str, &str); 8] = [
    ("server", "mcp"),
    ("command", "mcp"),
    ("tool", "mcp"),
    ("sessions", "mcp"),
    ("url", "http"),
    ("method", "http"),
    ("headers", "http"),
    ("ok_status", "http"),
];

/// Where each key of `t` is written, when it is.
fn present(t: &ToolTable) -> Vec<(&'static str, std::ops::Range<usize>)> {
    let spans = [
        ("server", t.server.as_ref().map(Spanned::span)),
        ("command", t.command.as_ref().map(Spanned::span)),
        ("tool", t.tool.as_ref().map(Spanned::span)),
        ("sessions", t.sessions.as_ref().map(Spanned::span)),
        ("url", t.url.as_ref().map(Spanned::span)),
        ("method", t.method.as_ref().map(Spanned::span)),
        ("headers", t.headers.as_ref().map(Spanned::span)),
        ("ok_status", t.ok_status.as_ref().map(Spanned::span)),
        ("latency", t.latency.as_ref().map(Spanned::span)),
        ("failure_rate", t.failure_rate.as_ref().map(Spanned::span)),
        ("timeout_rate", t.timeout_rate.as_ref().map(Spanned::span)),
        ("limit_policy", t.limit_policy.as_ref().map(Spanned::span)),
        ("params", t.params.as_ref().map(Spanned::span)),
    ];
    spans.into_iter().filter_map(|(k, s)| Some((k, s?))).collect()
}

/// A simulated tool with a key of a real one is an error at that key.
pub(super) fn refuse_real_keys(name: &Spanned<String>, t: &ToolTable, map: &SourceMap) -> Result<()> {
    for (key, span) in present(t) {
        if let Some((_, kind)) = REAL_KEYS.iter().find(|(k, _)| *k == key) {
            return Err(map.error(
                span,
                format!(
                    "`{key}` is a key of real tools, and tool {} is simulated (expected kind = \"{kind}\" above it, \
                     or no `{key}`)",
                    quoted(name.get_ref())
                ),
                format!("a key of kind = \"{kind}\""),
            ));
        }
    }
    Ok(())
}

/// What a real tool of `kind` calls, its keys checked.
pub(super) fn real_tool(name: &Spanned<String>, t: &ToolTable, kind: ToolKind, map: &SourceMap) -> Result<RealTool> {
    let n = name.get_ref();
    let kind_name = kind.as_str();
    for (key, span) in present(t) {
        let wrong_kind = REAL_KEYS
            .iter()
            .find(|(k, _)| *k == key)
            .filter(|(_, k)| *k != kind_name);
        let simulated_only = ["latency", "failure_rate", "timeout_rate", "limit_policy", "params"].contains(&key);
        if let Some((_, other)) = wrong_kind {
            return Err(map.error(
                span,
                format!(
                    "`{key}` is a key of kind = \"{other}\", and tool {} is kind = \"{kind_name}\"",
                    quoted(n)
                ),
                format!("not a key of kind = \"{kind_name}\""),
            ));
        }
        if simulated_only {
            return Err(map.error(
                span,
                format!(
                    "`{key}` is a key of simulated tools; tool {} is a real one (kind = \"{kind_name}\"): its \
                     latency and failures are what its server does, measured",
                    quoted(n)
                ),
                "a key of simulated tools",
            ));
        }
    }
    let kind_span = t.kind.as_ref().map_or(name.span(), Spanned::span);
    let kind_site = match map.error(
        kind_span,
        format!(
            "tool {} is a real tool (kind = \"{kind_name}\"): its calls reach a real server, on the real clock only \
             (expected --clock real, the default, or a simulated tool)",
            quoted(n)
        ),
        "a real tool",
    ) {
        crate::scenario::ScenarioError::Invalid(located) => located,
        crate::scenario::ScenarioError::Io { .. } => unreachable!("a source map only makes located errors"),
    };
    let target = match kind {
        ToolKind::Mcp => Target::Mcp(mcp(name, t, map)?),
        _ => Target::Http(http(name, t, map)?),
    };
    Ok(RealTool { target, kind_site })
}

fn mcp(name: &Spanned<String>, t: &ToolTable, map: &SourceMap) -> Result<McpTool> {
    let n = name.get_ref();
    let server = match (&t.server, &t.command) {
        (Some(_), Some(command)) => {
            return Err(map.error(
                command.span(),
                format!(
                    "tool {} has both `server` and `command` (expected one of them)",
                    quoted(n)
                ),
                "one of server and command",
            ));
        }
        (None, None) => {
            return Err(map.error(
                t.kind.as_ref().map_or(name.span(), Spanned::span),
                format!(
                    "tool {} has no server (expected server = \"http://HOST:PORT/mcp\" for streamable HTTP, or \
                     command = [\"program\", \"arg\"] for stdio)",
                    quoted(n)
                ),
                "server or command missing",
            ));
        }
        (Some(url), None) => McpServer::Http(checked_url(url, "server", map)?),
        (None, Some(command)) => {
            let words: Vec<String> = command.get_ref().iter().map(|w| w.get_ref().clone()).collect();
            if words.first().is_none_or(|w| w.trim().is_empty()) {
                return Err(map.error(
                    command.span(),
                    "`command` must name a program (expected e.g. command = [\"python3\", \"server.py\"])",
                    "expected a program and its arguments",
                ));
            }
            McpServer::Stdio(words)
        }
    };
    let tool = match &t.tool {
        Some(tool) if tool.get_ref().trim().is_empty() => {
            return Err(map.error(
                tool.span(),
                "`tool` must not be empty (expected the server's name for the tool)",
                "empty",
            ));
        }
        Some(tool) => tool.get_ref().clone(),
        None => n.clone(),
    };
    let sessions = match t.sessions.as_ref().map(|s| *s.get_ref()) {
        None | Some(SessionsName::Shared) => Sessions::Shared,
        Some(SessionsName::PerCall) => Sessions::PerCall,
    };
    if let (Sessions::PerCall, McpServer::Stdio(_), Some(at)) = (sessions, &server, &t.sessions) {
        return Err(map.error(
            at.span(),
            format!(
                "tool {} has sessions = \"per-call\", but a stdio server has one session only (expected \
                 server = URL for a session per call, or sessions = \"shared\")",
                quoted(n)
            ),
            "per-call needs server = URL",
        ));
    }
    Ok(McpTool { server, tool, sessions })
}

fn http(name: &Spanned<String>, t: &ToolTable, map: &SourceMap) -> Result<HttpTool> {
    let n = name.get_ref();
    let Some(url) = &t.url else {
        return Err(map.error(
            t.kind.as_ref().map_or(name.span(), Spanned::span),
            format!(
                "tool {} has no `url` (expected url = \"http://HOST:PORT/PATH\")",
                quoted(n)
            ),
            "url missing",
        ));
    };
    let url = checked_url(url, "url", map)?;
    let method = match &t.method {
        None => HttpMethod::Get,
        Some(m) => {
            let wanted = m.get_ref().to_ascii_uppercase();
            let Some((_, method)) = HttpMethod::ALL.iter().find(|(name, _)| *name == wanted) else {
                let names: Vec<&str> = HttpMethod::ALL.iter().map(|(name, _)| *name).collect();
                return Err(map.error(
                    m.span(),
                    format!(
                        "unknown method {} (expected one of: {})",
                        quoted(m.get_ref()),
                        names.join(", ")
                    ),
                    "expected an HTTP method",
                ));
            };
            *method
        }
    };
    let mut headers = Vec::new();
    for (key, value) in t.headers.as_ref().map(|h| h.get_ref().iter()).into_iter().flatten() {
        let valid_name = !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !valid_name || value.get_ref().chars().any(|c| c.is_control()) {
            return Err(map.error(
                value.span(),
                format!(
                    "header {} cannot be sent (expected a name of visible characters without `:`, and a value \
                     without control characters)",
                    quoted(key)
                ),
                "not a valid header",
            ));
        }
        headers.push((key.clone(), value.get_ref().clone()));
    }
    let mut ok_status = Vec::new();
    for status in t.ok_status.as_ref().map(|s| s.get_ref().iter()).into_iter().flatten() {
        match u16::try_from(*status.get_ref()) {
            Ok(code) if (100..=599).contains(&code) => ok_status.push(code),
            _ => {
                return Err(map.error(
                    status.span(),
                    format!(
                        "{} is no HTTP status (expected a number from 100 to 599)",
                        status.get_ref()
                    ),
                    "expected an HTTP status",
                ));
            }
        }
    }
    Ok(HttpTool {
        url,
        method,
        headers,
        ok_status,
    })
}

/// An `http://` or `https://` URL with a host.
fn checked_url(url: &Spanned<String>, key: &str, map: &SourceMap) -> Result<String> {
    let text = url.get_ref();
    let rest = text.strip_prefix("http://").or_else(|| text.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !text.contains(char::is_whitespace) => {
            Ok(text.clone())
        }
        _ => Err(map.error(
            url.span(),
            format!(
                "{key} {} is not an http:// or https:// URL with a host (expected e.g. \"http://127.0.0.1:8000/mcp\")",
                quoted(text)
            ),
            "expected a URL",
        )),
    }
}

/// The params of every call of a real tool, as the JSON the tool is sent (references to
/// other calls' results still in their strings), by call index; empty when no tool is
/// real. Generated calls share their block's params.
pub(super) fn call_params(
    file: &crate::scenario::model::ScenarioFile,
    counts: &[usize],
    plan: &crate::plan::Plan,
) -> Vec<Option<std::sync::Arc<serde_json::Value>>> {
    if !plan.tools().iter().any(|t| t.kind.is_real()) {
        return Vec::new();
    }
    let json = |p: Option<&Spanned<toml::Table>>| {
        std::sync::Arc::new(p.map_or(serde_json::Value::Object(serde_json::Map::new()), |p| {
            to_json(&toml::Value::Table(p.get_ref().clone()))
        }))
    };
    let mut out: Vec<Option<std::sync::Arc<serde_json::Value>>> = vec![None; plan.calls().len()];
    let is_real = |i: usize| plan.tool(plan.calls()[i].tool).kind.is_real();
    for (i, call) in file.calls.iter().enumerate() {
        if is_real(i) {
            out[i] = Some(json(call.get_ref().params.as_ref()));
        }
    }
    let mut i = file.calls.len();
    for (block, &count) in file.generate.iter().zip(counts) {
        if count > 0 && is_real(i) {
            let params = json(block.get_ref().params.as_ref());
            for slot in &mut out[i..i + count] {
                *slot = Some(params.clone());
            }
        }
        i += count;
    }
    // Arriving calls have no params of their own: an empty object.
    let empty = std::sync::Arc::new(serde_json::Value::Object(serde_json::Map::new()));
    for (j, slot) in out.iter_mut().enumerate().skip(i) {
        if is_real(j) {
            *slot = Some(empty.clone());
        }
    }
    out
}

/// A TOML value as JSON: dates and times as the strings TOML writes them.
fn to_json(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number)
        }
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
        toml::Value::Table(t) => serde_json::Value::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}
