//! Real tools: the calls of a scenario's `kind = "mcp"` and `kind = "http"` tools, made
//! to the user's own MCP servers and HTTP endpoints, beside its simulated tools.
//!
//! [`RealTools::connect`] does everything that can fail before a run: it opens each MCP
//! server's session (starting a stdio server's command), lists its tools and checks that
//! every named one is there, and reaches every HTTP endpoint's host. What it cannot do is
//! an input error naming the tool and the server, never a run of failures. [`MixedTool`]
//! then runs a plan's calls, the simulated ones by [`SimTool`] and the real ones here,
//! with `${id.result}` in a call's params replaced by the real result of the call it names
//! ([`template`]).
//!
//! Failures keep their kind ([`RealError`]), which the report shows: a result with
//! `isError`, a JSON-RPC error, an HTTP status outside `ok_status`, a transport error (and
//! the executor's own timeout). Each fails the attempt, which retries under the run's
//! policy; a 429 or 503 with `Retry-After` waits at least that long.

pub mod http;
pub mod mcp;
pub mod template;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::executor::{CallContext, Tool, ToolError};
use crate::plan::CallIdx;
use crate::scenario::Scenario;
use crate::scenario::real::{McpServer, Sessions, Target};
use crate::sim::SimTool;

/// How long connecting to one server, or reaching one host, may take before the run.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why an attempt of a real call failed, by kind.
#[derive(Debug, thiserror::Error)]
pub enum RealError {
    /// The MCP server answered with a tool result marked `isError`.
    #[error("the tool's result is an error (isError): {0}")]
    IsError(String),
    /// The MCP server answered with a JSON-RPC error.
    #[error("JSON-RPC error {code}: {message}")]
    JsonRpc {
        /// The error's code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The HTTP endpoint answered with a status outside `ok_status`.
    #[error("HTTP {status}: {body}")]
    HttpStatus {
        /// The status.
        status: u16,
        /// The start of the response's body.
        body: String,
    },
    /// The request did not get an answer: refused, reset, a closed session, a dead child.
    #[error("transport: {0}")]
    Transport(String),
    /// The call's params could not be made (a reference to a field its result lacks).
    #[error("params: {0}")]
    Params(String),
}

impl RealError {
    /// The kind, as the report writes it.
    pub fn kind(&self) -> &'static str {
        match self {
            RealError::IsError(_) => "is_error",
            RealError::JsonRpc { .. } => "jsonrpc",
            RealError::HttpStatus { .. } => "http_status",
            RealError::Transport(_) => "transport",
            RealError::Params(_) => "params",
        }
    }

    /// The HTTP status, for an [`RealError::HttpStatus`].
    pub fn http_status(&self) -> Option<u16> {
        match self {
            RealError::HttpStatus { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Why the real tools cannot be used: an input error, before anything runs.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server could not be reached, or its command did not start.
    #[error("tool `{tool}`: cannot reach {server}: {why}")]
    Unreachable {
        /// The scenario's tool.
        tool: String,
        /// Its server: a URL, or a command line.
        server: String,
        /// What happened.
        why: String,
    },
    /// The MCP server does not list the tool.
    #[error("tool `{tool}`: {server} has no tool `{name}` (it lists: {listed})")]
    NoSuchTool {
        /// The scenario's tool.
        tool: String,
        /// Its server.
        server: String,
        /// The server's name for it.
        name: String,
        /// What the server lists.
        listed: String,
    },
    /// The tool's settings cannot be used (an unset environment variable, say).
    #[error("tool `{tool}`: {why}")]
    Invalid {
        /// The scenario's tool.
        tool: String,
        /// What is wrong.
        why: String,
    },
}

/// The W3C `traceparent` of a call's span, when the run is traced: what a real call sends
/// its server so the server's spans join the run's trace.
pub trait TraceContext: Send + Sync + std::fmt::Debug {
    /// The `traceparent` of call `idx`'s span, if there is one.
    fn traceparent(&self, idx: CallIdx) -> Option<String>;
}

/// One real tool, connected.
#[derive(Debug)]
enum Client {
    /// A tool of a server whose session every call shares.
    McpShared {
        connection: Arc<mcp::Connection>,
        name: String,
    },
    /// A tool of a server called on a session per call.
    McpPerCall { url: String, name: String },
    /// An HTTP endpoint (boxed: its client and parsed URL are many times the others).
    Http(Box<http::HttpClient>),
}

/// A scenario's real tools, connected and checked: every call of the run goes through
/// these.
pub struct RealTools {
    /// Per tool of the plan; `None` for a simulated one.
    clients: Vec<Option<Client>>,
    /// Sessions to close at the end.
    connections: Vec<Arc<mcp::Connection>>,
    /// Per call, its params (see [`Scenario::call_params`]).
    params: Vec<Option<Arc<Value>>>,
    /// What each tool calls, for the line printed before the run.
    targets: BTreeMap<String, String>,
    trace: Option<Arc<dyn TraceContext>>,
}

impl std::fmt::Debug for RealTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealTools")
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

impl RealTools {
    /// Connects to every real tool of `scenario` and checks it, making no call: MCP
    /// servers are initialized (stdio ones started) and their tools listed, HTTP hosts
    /// reached. Must run inside the runtime the calls will run on.
    ///
    /// # Errors
    ///
    /// [`ConnectError`] for the first tool that cannot be used; the sessions opened by
    /// then are closed.
    pub async fn connect(scenario: &Scenario) -> Result<Self, ConnectError> {
        crate::tls::install();
        let env = |name: &str| std::env::var(name).ok();
        let mut sessions: BTreeMap<McpServer, (Arc<mcp::Connection>, Vec<String>)> = BTreeMap::new();
        let mut clients = Vec::with_capacity(scenario.real.len());
        let mut targets = BTreeMap::new();
        let http_client = http::pool();
        let outcome: Result<(), ConnectError> = async {
            for (spec, real) in scenario.plan.tools().iter().zip(&scenario.real) {
                let Some(real) = real else {
                    clients.push(None);
                    continue;
                };
                let tool = spec.name.clone();
                let client = match &real.target {
                    Target::Mcp(m) => {
                        let server = m.server.describe();
                        targets.insert(tool.clone(), format!("mcp {server} (tool {})", m.tool));
                        let unreachable = |why: String| ConnectError::Unreachable {
                            tool: tool.clone(),
                            server: server.clone(),
                            why,
                        };
                        let (connection, listed) = match sessions.get(&m.server) {
                            Some(open) => open.clone(),
                            None => {
                                let opened = tokio::time::timeout(CONNECT_TIMEOUT, mcp::Connection::open(&m.server))
                                    .await
                                    .map_err(|_| unreachable(format!("no answer within {CONNECT_TIMEOUT:?}")))?
                                    .map_err(&unreachable)?;
                                let names = tokio::time::timeout(CONNECT_TIMEOUT, opened.tool_names())
                                    .await
                                    .map_err(|_| {
                                        unreachable(format!("no tools/list answer within {CONNECT_TIMEOUT:?}"))
                                    })?
                                    .map_err(&unreachable)?;
                                let open = (Arc::new(opened), names);
                                sessions.insert(m.server.clone(), open.clone());
                                open
                            }
                        };
                        if !listed.contains(&m.tool) {
                            return Err(ConnectError::NoSuchTool {
                                tool,
                                server,
                                name: m.tool.clone(),
                                listed: listed.join(", "),
                            });
                        }
                        match (&m.server, m.sessions) {
                            (McpServer::Http(url), Sessions::PerCall) => Client::McpPerCall {
                                url: url.clone(),
                                name: m.tool.clone(),
                            },
                            _ => Client::McpShared {
                                connection,
                                name: m.tool.clone(),
                            },
                        }
                    }
                    Target::Http(h) => {
                        let client = http::HttpClient::new(&tool, h, http_client.clone(), &env)?;
                        targets.insert(tool.clone(), format!("http {} {}", h.method.as_str(), h.url));
                        if let Some((host, port)) = client.socket() {
                            let reached = tokio::time::timeout(
                                CONNECT_TIMEOUT,
                                tokio::net::TcpStream::connect((host.as_str(), port)),
                            )
                            .await;
                            let why = match reached {
                                Ok(Ok(_)) => None,
                                Ok(Err(e)) => Some(e.to_string()),
                                Err(_) => Some(format!("no connection within {CONNECT_TIMEOUT:?}")),
                            };
                            if let Some(why) = why {
                                return Err(ConnectError::Unreachable {
                                    tool,
                                    server: client.origin(),
                                    why,
                                });
                            }
                        }
                        Client::Http(Box::new(client))
                    }
                };
                clients.push(Some(client));
            }
            Ok(())
        }
        .await;
        let connections: Vec<Arc<mcp::Connection>> = sessions.into_values().map(|(c, _)| c).collect();
        let tools = Self {
            clients,
            connections,
            params: scenario.call_params.clone(),
            targets,
            trace: None,
        };
        match outcome {
            Ok(()) => Ok(tools),
            Err(e) => {
                tools.close().await;
                Err(e)
            }
        }
    }

    /// Sends each call's span context (`traceparent`) with it, from `trace`.
    #[must_use]
    pub fn traced(mut self, trace: Arc<dyn TraceContext>) -> Self {
        self.trace = Some(trace);
        self
    }

    /// What each real tool calls, by tool: `mcp URL (tool NAME)`, `mcp COMMAND ...` or
    /// `http METHOD URL`.
    pub fn targets(&self) -> &BTreeMap<String, String> {
        &self.targets
    }

    /// Ends every session, and the servers started for them.
    pub async fn close(self) {
        drop(self.clients);
        for connection in self.connections {
            if let Ok(connection) = Arc::try_unwrap(connection) {
                connection.close().await;
            }
        }
    }

    /// One attempt of a real call: its result's text, kept only when a later call reads
    /// it.
    async fn call(&self, ctx: &CallContext<'_, Option<Arc<str>>>) -> Result<Option<Arc<str>>, ToolError> {
        let idx = ctx.index();
        let plan_call = ctx.call();
        let empty = Value::Object(serde_json::Map::new());
        let params = self
            .params
            .get(idx.index())
            .and_then(Option::as_ref)
            .map_or(&empty, |p| &**p);
        // Only a call with dependencies can refer to a result.
        let resolved;
        let params = if ctx.deps().is_empty() {
            params
        } else {
            let results: BTreeMap<&str, String> = ctx
                .deps()
                .iter()
                .zip(ctx.dependency_outputs())
                .map(|(&dep, output)| {
                    let id = ctx.plan().call(dep).id.as_str();
                    let text = match output {
                        Some(Some(text)) => text.to_string(),
                        // A simulated call's result, as `parabench serve` words it.
                        _ => format!("{}: simulated result", ctx.plan().tool(ctx.plan().call(dep).tool).name),
                    };
                    (id, text)
                })
                .collect();
            resolved = template::resolve(params, &|id| results.get(id).cloned()).map_err(ToolError::permanent)?;
            &resolved
        };
        let traceparent = self.trace.as_ref().and_then(|t| t.traceparent(idx));
        let traceparent = traceparent.as_deref();
        let text = match self.clients[plan_call.tool.index()].as_ref() {
            Some(Client::Http(client)) => client.call(params, traceparent).await?,
            Some(Client::McpShared { connection, name }) => {
                connection.call(name, arguments(params.clone()), traceparent).await?
            }
            Some(Client::McpPerCall { url, name }) => {
                mcp::call_once(url, name, arguments(params.clone()), traceparent).await?
            }
            None => return Err(ToolError::permanent("a simulated tool reached the real ones")),
        };
        // A result no call reads is not kept: a run of a million calls holds none.
        Ok((!ctx.plan().dependents(idx).is_empty()).then(|| Arc::from(text)))
    }
}

/// Params as MCP arguments: an object (anything else is wrapped as `{"value": ...}`).
fn arguments(params: Value) -> serde_json::Map<String, Value> {
    match params {
        Value::Object(map) => map,
        other => serde_json::Map::from_iter([("value".to_string(), other)]),
    }
}

/// Every tool of a plan, simulated and real, as one [`Tool`]: a call's output is the
/// real result's text, `None` for a simulated call.
#[derive(Debug)]
pub struct MixedTool<'a> {
    sim: SimTool,
    real: &'a RealTools,
}

impl<'a> MixedTool<'a> {
    /// The simulated tools of `sim` beside the real ones of `real`.
    pub fn new(sim: SimTool, real: &'a RealTools) -> Self {
        Self { sim, real }
    }

    /// How long each call's attempts held a core (the simulated CPU tools').
    pub fn core_time(&self) -> Vec<Duration> {
        self.sim.core_time()
    }
}

impl Tool for MixedTool<'_> {
    type Output = Option<Arc<str>>;

    async fn call(&self, ctx: CallContext<'_, Option<Arc<str>>>) -> Result<Option<Arc<str>>, ToolError> {
        let call = ctx.call();
        if ctx.plan().tool(call.tool).kind.is_real() {
            // Boxed: a real call's future (a request in the making, a client's state) is
            // many times a simulated one's, and every call's future is moved as it starts.
            return Box::pin(self.real.call(&ctx)).await;
        }
        self.sim
            .attempt_at(ctx.index(), call.tool, ctx.attempt())
            .await
            .map(|()| None)
    }
}
