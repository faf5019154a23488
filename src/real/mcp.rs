//! `kind = "mcp"`: calls of a tool of an MCP server, on the official SDK's client
//! (`rmcp`): over streamable HTTP, or to a child process over stdio.
//!
//! By default a server gets one session for the whole command (`sessions = "shared"`),
//! connected, initialized and its tools listed before anything runs, and shared by every
//! tool of that server: calls go out on it at once, as an agent's do. With
//! `sessions = "per-call"`, each call opens a session of its own, calls, and closes it,
//! as some clients do (a cost the report then holds).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject, MetaObject};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceError, ServiceExt};

use super::RealError;
use crate::executor::ToolError;
use crate::scenario::real::McpServer;

/// Requests one session may have in flight: far above any `max_concurrency` a sweep
/// tries (the SDK's default, 16, would quietly cap a level of 32).
const MAX_REQUESTS_IN_FLIGHT: usize = 4096;

/// Lines of a child server's standard error kept for messages.
const STDERR_LINES: usize = 20;

/// A session with one server.
pub struct Connection {
    service: RunningService<RoleClient, ()>,
    /// The last lines a child server wrote on standard error.
    stderr: Option<Arc<Mutex<VecDeque<String>>>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects to `server` and initializes a session: for stdio, starts the command.
    ///
    /// # Errors
    ///
    /// Why it could not: the command did not start, the server did not answer or
    /// refused to initialize (with what a child server wrote on standard error).
    pub async fn open(server: &McpServer) -> Result<Self, String> {
        match server {
            McpServer::Http(url) => {
                let service = ().serve(http_transport(url)).await.map_err(|e| e.to_string())?;
                Ok(Self { service, stderr: None })
            }
            McpServer::Stdio(command) => {
                // `parabench` is this very binary, wherever it is: the shipped stdio
                // example needs nothing installed.
                let program = match command[0].as_str() {
                    "parabench" => std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?,
                    other => std::path::PathBuf::from(other),
                };
                let mut cmd = tokio::process::Command::new(program);
                cmd.args(&command[1..]);
                let (process, stderr) = TokioChildProcess::builder(cmd)
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("cannot start {}: {e}", command[0]))?;
                let tail = Arc::new(Mutex::new(VecDeque::new()));
                if let Some(stderr) = stderr {
                    tokio::spawn(keep_tail(stderr, tail.clone()));
                }
                match ().serve(process).await {
                    Ok(service) => Ok(Self {
                        service,
                        stderr: Some(tail),
                    }),
                    Err(e) => {
                        // Give the dying process a moment to say why on standard error.
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        Err(with_stderr(e.to_string(), &tail))
                    }
                }
            }
        }
    }

    /// The names of the server's tools.
    ///
    /// # Errors
    ///
    /// When the server does not answer `tools/list`.
    pub async fn tool_names(&self) -> Result<Vec<String>, String> {
        let tools = self.service.peer().list_all_tools().await.map_err(|e| e.to_string())?;
        Ok(tools.into_iter().map(|t| t.name.to_string()).collect())
    }

    /// One `tools/call` of `tool` with `arguments`.
    pub async fn call(
        &self,
        tool: &str,
        arguments: JsonObject,
        traceparent: Option<&str>,
    ) -> Result<String, ToolError> {
        let mut params = CallToolRequestParams::new(tool.to_string()).with_arguments(arguments);
        if let Some(traceparent) = traceparent {
            // The W3C context in `_meta`, as the OpenTelemetry MCP conventions (SEP-414)
            // have clients send it: the server's spans join the run's trace.
            let mut meta = MetaObject::new();
            meta.set_traceparent(traceparent);
            params.meta = Some(meta.into());
        }
        match self.service.peer().call_tool(params).await {
            Ok(result) => text_of(result),
            Err(ServiceError::McpError(e)) => Err(ToolError::new(RealError::JsonRpc {
                code: i64::from(e.code.0),
                message: e.message.to_string(),
            })),
            Err(e) => {
                let message = match &self.stderr {
                    Some(tail) => with_stderr(e.to_string(), tail),
                    None => e.to_string(),
                };
                Err(ToolError::new(RealError::Transport(message)))
            }
        }
    }

    /// Ends the session (and a child server).
    pub async fn close(self) {
        let _ = self.service.cancel().await;
    }
}

/// A call on a session of its own: opened, used once, closed.
pub async fn call_once(
    url: &str,
    tool: &str,
    arguments: JsonObject,
    traceparent: Option<&str>,
) -> Result<String, ToolError> {
    let connection = Connection::open(&McpServer::Http(url.to_string()))
        .await
        .map_err(|e| ToolError::new(RealError::Transport(e)))?;
    let result = connection.call(tool, arguments, traceparent).await;
    connection.close().await;
    result
}

fn http_transport(url: &str) -> StreamableHttpClientTransport<reqwest::Client> {
    StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).max_concurrent_requests(MAX_REQUESTS_IN_FLIGHT),
    )
}

/// A result's text content, concatenated; a result with `isError` fails the attempt.
fn text_of(result: CallToolResult) -> Result<String, ToolError> {
    let text: String = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
        .collect();
    match result.is_error {
        Some(true) => Err(ToolError::new(RealError::IsError(text))),
        _ => Ok(text),
    }
}

async fn keep_tail(stderr: tokio::process::ChildStderr, tail: Arc<Mutex<VecDeque<String>>>) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut tail = tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if tail.len() == STDERR_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

fn with_stderr(message: String, tail: &Mutex<VecDeque<String>>) -> String {
    let tail = tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if tail.is_empty() {
        return message;
    }
    let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
    format!("{message}; its standard error ended with:\n  {}", lines.join("\n  "))
}
