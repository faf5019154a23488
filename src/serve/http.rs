//! The HTTP face: the SDK's streamable HTTP service at `/mcp`, with every protocol error
//! answered as a JSON-RPC error object.
//!
//! The SDK checks the protocol (hosts, media types, sessions, the body's shape) but
//! answers some of its refusals as plain text, which an MCP client can only show as "HTTP
//! 400". A thin layer in front parses the body first (a parse error is JSON-RPC's
//! -32700, a body that is no JSON-RPC message -32600, one over the limit -32600 with 413)
//! and turns any plain-text refusal of the SDK into a JSON-RPC error with the same
//! status and the request's id. A session's `DELETE` is answered 204, as clients expect.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::mcp::{Handler, MAX_BODY_BYTES, http_service};

/// JSON-RPC: the body is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: the JSON is not a valid request, or the protocol refuses it.
pub const INVALID_REQUEST: i64 = -32600;

/// The MCP endpoint at `/mcp`. Cancelling `shutdown` ends every session.
pub fn router(handler: Handler, shutdown: CancellationToken) -> axum::Router {
    axum::Router::new()
        .nest_service("/mcp", http_service(handler, shutdown))
        .layer(middleware::from_fn(jsonrpc_errors))
}

/// The SDK answers a session's `DELETE` with 202 Accepted; MCP clients expect 200 or 204
/// (the MCP Python SDK logs "Session termination failed: 202" on every close otherwise).
/// The session is closed by then, so 204 No Content is the answer.
fn session_ended(mut response: Response) -> Response {
    if response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
        *response.body_mut() = Body::empty();
        response.headers_mut().remove(header::CONTENT_TYPE);
        response.headers_mut().remove(header::CONTENT_LENGTH);
    }
    response
}

fn error(status: StatusCode, id: Value, code: i64, message: impl Into<String>) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}});
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn jsonrpc_errors(request: Request, next: Next) -> Response {
    if request.method() == Method::DELETE {
        return session_ended(next.run(request).await);
    }
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) if format!("{e:?}").contains("LengthLimit") => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                Value::Null,
                INVALID_REQUEST,
                format!("Invalid Request: the body is over the limit of {MAX_BODY_BYTES} bytes"),
            );
        }
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                INVALID_REQUEST,
                format!("Invalid Request: cannot read the body: {e}"),
            );
        }
    };
    let id = match serde_json::from_slice::<Value>(&bytes) {
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                PARSE_ERROR,
                format!("Parse error: {e} (expected a JSON-RPC 2.0 message)"),
            );
        }
        Ok(Value::Object(message)) if message.get("jsonrpc") == Some(&Value::from("2.0")) => {
            message.get("id").cloned().unwrap_or(Value::Null)
        }
        Ok(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                INVALID_REQUEST,
                "Invalid Request: expected a JSON-RPC 2.0 message (an object with \"jsonrpc\": \"2.0\")",
            );
        }
    };
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let plain = !response.headers().get(header::CONTENT_TYPE).is_some_and(|t| {
        let t = t.to_str().unwrap_or("");
        t.starts_with("application/json") || t.starts_with("text/event-stream")
    });
    if !(response.status().is_client_error() && plain) {
        return response;
    }
    let status = response.status();
    let text = match axum::body::to_bytes(response.into_body(), 64 * 1024).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = match text.as_str() {
        "" => format!("Invalid Request: refused with HTTP {status}"),
        text => text.to_string(),
    };
    let mut response = error(status, id, INVALID_REQUEST, message);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
