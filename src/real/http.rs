//! `kind = "http"`: a call is one request on a pooled client (hyper's, from hyper-util;
//! https through hyper-rustls). GET sends the params as the query string, any other
//! method as a JSON body; the result is the response's body.
//!
//! hyper's client rather than reqwest's: at 64 calls in flight against a local endpoint
//! that answers at once, reqwest's layers (redirects, decompression, its own pool) held
//! it to about half of what `oha` reaches on the same machine; hyper's own client, which
//! `oha` builds on too, to nine tenths (docs/benchmarks.md).

use std::time::{Duration, SystemTime};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::Url;
use serde_json::Value;

use super::{ConnectError, RealError};
use crate::executor::ToolError;
use crate::scenario::real::{HttpMethod, HttpTool};

/// The most of a response body a failure's message quotes.
const QUOTED_BODY: usize = 200;

/// The pooled client every HTTP tool of a run shares.
pub type Pool = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A pool of keep-alive connections, http and https.
///
/// # Errors
///
/// When the system's root certificates cannot be read (https only needs them).
pub fn pool() -> Pool {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(hyper_util::rt::TokioExecutor::new()).build(https)
}

/// One HTTP tool, ready to call.
#[derive(Debug)]
pub struct HttpClient {
    client: Pool,
    url: Url,
    /// `url`, as hyper takes it.
    uri: Uri,
    method: Method,
    headers: HeaderMap,
    ok_status: Vec<u16>,
}

impl HttpClient {
    /// The tool of `spec` on `client`, its headers' `${env.NAME}` read from `env`.
    ///
    /// # Errors
    ///
    /// [`ConnectError`] for an unset variable, or a header or URL that cannot be sent.
    pub fn new(
        tool: &str,
        spec: &HttpTool,
        client: Pool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConnectError> {
        let invalid = |why: String| ConnectError::Invalid {
            tool: tool.to_string(),
            why,
        };
        let url = Url::parse(&spec.url).map_err(|e| invalid(format!("url {}: {e}", spec.url)))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &spec.headers {
            let value = super::template::with_env(value, env).map_err(|var| {
                invalid(format!(
                    "header {name} needs the environment variable {var}, which is not set"
                ))
            })?;
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(format!("header {name}: {e}")))?;
            let value = HeaderValue::from_str(&value).map_err(|e| invalid(format!("header {name}: {e}")))?;
            headers.insert(name, value);
        }
        let method = match spec.method {
            HttpMethod::Get => Method::GET,
            HttpMethod::Post => Method::POST,
            HttpMethod::Put => Method::PUT,
            HttpMethod::Patch => Method::PATCH,
            HttpMethod::Delete => Method::DELETE,
        };
        let uri = url
            .as_str()
            .parse()
            .map_err(|e| invalid(format!("url {}: {e}", spec.url)))?;
        Ok(Self {
            client,
            uri,
            url,
            method,
            headers,
            ok_status: spec.ok_status.clone(),
        })
    }

    /// Where it sends its calls: scheme, host and port.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }

    /// The host and port to check before the run.
    pub fn socket(&self) -> Option<(String, u16)> {
        Some((self.url.host_str()?.to_string(), self.url.port_or_known_default()?))
    }

    /// One attempt: the request with `params`, and `traceparent` when the run is traced.
    pub async fn call(&self, params: &Value, traceparent: Option<&str>) -> Result<String, ToolError> {
        let transport = |why: String| ToolError::new(RealError::Transport(why));
        let query = match (&self.method, params) {
            (&Method::GET, Value::Object(map)) if !map.is_empty() => Some(map),
            _ => None,
        };
        let body = match self.method {
            Method::GET => None,
            _ => Some(serde_json::to_vec(params).unwrap_or_default()),
        };
        let uri = match query {
            // Without params, the endpoint as parsed once.
            None => self.uri.clone(),
            Some(map) => {
                let mut url = self.url.clone();
                let mut pairs = url.query_pairs_mut();
                for (key, value) in map {
                    for v in query_values(value) {
                        pairs.append_pair(key, &v);
                    }
                }
                drop(pairs);
                url.as_str().parse().map_err(|e| transport(format!("{url}: {e}")))?
            }
        };
        let mut request = Request::builder().method(self.method.clone()).uri(uri);
        if let Some(headers) = request.headers_mut() {
            if !self.headers.is_empty() {
                headers.extend(self.headers.clone());
            }
            if body.is_some() {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            if let Some(value) = traceparent.and_then(|t| HeaderValue::from_str(t).ok()) {
                headers.insert("traceparent", value);
            }
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| transport(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| transport(describe(&e)))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| transport(describe(&e)))?
            .to_bytes();
        let body = String::from_utf8_lossy(&body).into_owned();
        if self.is_ok(status) {
            return Ok(body);
        }
        let error = RealError::HttpStatus {
            status: status.as_u16(),
            body: body.chars().take(QUOTED_BODY).collect(),
        };
        Err(match retry_after {
            // A server that is shedding load says when to come back.
            Some(delay) if matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) => {
                ToolError::retry_after(error, delay)
            }
            _ => ToolError::new(error),
        })
    }

    fn is_ok(&self, status: StatusCode) -> bool {
        match self.ok_status.as_slice() {
            [] => status.is_success(),
            ok => ok.contains(&status.as_u16()),
        }
    }
}

/// A param as query values: strings as they are, arrays one value per item, anything
/// else as its JSON.
fn query_values(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(query_values).collect(),
        Value::Null => vec![String::new()],
        other => vec![other.to_string()],
    }
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// A transport error with its causes, which hyper keeps apart.
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_as_seconds_or_as_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let delay = retry_after(&headers).unwrap();
        assert!(
            (Duration::from_secs(118)..=Duration::from_secs(120)).contains(&delay),
            "{delay:?}"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn params_become_query_values() {
        assert_eq!(query_values(&serde_json::json!("a b")), ["a b"]);
        assert_eq!(query_values(&serde_json::json!([1, "x"])), ["1", "x"]);
        assert_eq!(query_values(&serde_json::json!({"k": 1})), [r#"{"k":1}"#]);
    }
}
