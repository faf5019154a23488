//! The MCP face of the service, on the official SDK (`rmcp`): the scenario's tools
//! listed, each `tools/call` served by [`Service::call`], over streamable HTTP or stdio.
//!
//! The SDK answers the protocol itself (malformed JSON-RPC, a request before
//! `initialize`, an unknown session, a body over the limit); this handler answers what
//! is parabench's: the tools, and a call of a tool the scenario does not have.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::log::ServedStatus;
use super::service::{CallRequest, Origin, Service};

/// The largest request body the HTTP transport accepts: far above any tool call's
/// arguments, and small enough that a runaway client cannot exhaust the server.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The session of calls that came without one: stdio's single client.
pub const STDIO_SESSION: &str = "stdio";

/// The session of HTTP requests that carry no session id (stateless clients).
pub const STATELESS_SESSION: &str = "stateless";

/// The service as an MCP server handler; cheap to clone (one per session).
#[derive(Clone, Debug)]
pub struct Handler {
    service: Arc<Service>,
    tools: Arc<[Tool]>,
}

impl Handler {
    /// Serves `service`'s tools.
    pub fn new(service: Arc<Service>) -> Self {
        let tools = service
            .tools()
            .iter()
            .map(|t| {
                let description = match t.spec.description.as_str() {
                    "" => format!("simulated tool `{}` (parabench)", t.spec.name),
                    text => text.to_string(),
                };
                Tool::new(t.spec.name.clone(), description, Arc::new(t.params.input_schema()))
            })
            .collect();
        Self { service, tools }
    }

    /// The tools as listed.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }
}

/// The session a request came in (the HTTP transport's session id, stdio's one client,
/// or the shared session of stateless requests) and its transport, as
/// `network.transport` names it.
fn session(context: &RequestContext<RoleServer>) -> (String, &'static str) {
    match context.extensions.get::<axum::http::request::Parts>() {
        None => (STDIO_SESSION.to_string(), "pipe"),
        Some(parts) => {
            let id = parts
                .headers
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .map_or_else(|| STATELESS_SESSION.to_string(), str::to_string);
            (id, "tcp")
        }
    }
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("parabench", env!("CARGO_PKG_VERSION")))
            .with_instructions("Simulated tools of a parabench scenario: call them as your agent would.")
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let (session, transport) = session(&context);
        let call = CallRequest {
            session: &session,
            tool: &request.name,
            arguments: request.arguments.map_or(Value::Null, Value::Object),
            origin: Origin {
                request_id: Some(context.id.to_string()),
                meta: Some(&context.meta.0.0),
                transport,
            },
        };
        let answer = self
            .service
            .call(call, &context.ct)
            .await
            // MCP: an unknown tool is a protocol error, invalid params.
            .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
        let content = vec![ContentBlock::text(answer.text)];
        Ok(match answer.status {
            ServedStatus::Ok => CallToolResult::success(content),
            _ => CallToolResult::error(content),
        }
        .into())
    }
}

/// The streamable HTTP service at one path: a session per client that initializes, the
/// protocol's checks of the SDK (loopback hosts only), bodies up to [`MAX_BODY_BYTES`].
/// Cancelling `shutdown` ends every session.
pub fn http_service(
    handler: Handler,
    shutdown: CancellationToken,
) -> StreamableHttpService<Handler, LocalSessionManager> {
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(shutdown)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        // Nothing is pushed between a call and its answer: no keep-alive pings to wait
        // on, and no reconnection to prime.
        .with_sse_keep_alive(None)
        .with_sse_retry(None);
    StreamableHttpService::new(move || Ok(handler.clone()), Default::default(), config)
}

/// Serves one client over standard input and output until it closes them or `shutdown`
/// is cancelled.
///
/// # Errors
///
/// When the client never initializes (the handshake fails).
pub async fn serve_stdio(handler: Handler, shutdown: CancellationToken) -> Result<(), std::io::Error> {
    let running = handler
        .serve_with_ct(rmcp::transport::io::stdio_pipes(), shutdown)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let _ = running.waiting().await;
    Ok(())
}
