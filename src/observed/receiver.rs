//! An OTLP trace receiver: OTLP/HTTP (`POST /v1/traces`, protobuf or JSON, plain or
//! gzip) and OTLP/gRPC (`TraceService/Export`), collecting the tool and model calls of
//! whatever agent exports to it, for `analyze --listen`.
//!
//! Metrics and logs sent to the same endpoints (an agent's exporter sends all three) are
//! accepted and dropped, so the agent sees no errors for them.
//!
//! A payload it cannot use gets the answer the OTLP specification gives: 400 for one
//! that does not decode or holds a span that cannot be analysed, 413 for a body over
//! the limit, 415 for a content type other than protobuf or JSON (gRPC: its
//! `INVALID_ARGUMENT` and `RESOURCE_EXHAUSTED`), and the receiver keeps serving. Nothing
//! of a refused payload is kept.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;

use super::otlp::{self, TracesDocument};
use super::span::Spans;

/// The largest request body taken, compressed or not (the Collector's own default for
/// OTLP/HTTP is 20 MiB; agents' batches are far smaller).
pub const MAX_BODY: usize = 32 << 20;

/// Where to listen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listen {
    /// OTLP/HTTP; port 0 picks a free one.
    pub http: Option<SocketAddr>,
    /// OTLP/gRPC; port 0 picks a free one.
    pub grpc: Option<SocketAddr>,
}

/// What has arrived so far.
#[derive(Debug, Default)]
struct Collected {
    spans: Mutex<Spans>,
    requests: AtomicU64,
    refused: AtomicU64,
}

impl Collected {
    /// Adds the spans of one request, or none of them.
    fn take(&self, request: &ExportTraceServiceRequest) -> Result<(), otlp::SpanError> {
        let mut batch = Spans::default();
        otlp::collect(&request.resource_spans, &mut batch)?;
        self.spans.lock().unwrap_or_else(PoisonError::into_inner).extend(batch);
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn refuse(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts for the live line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Spans received (recognised or not).
    pub spans: u64,
    /// Traces with a tool or model call.
    pub traces: usize,
    /// Tool and model calls kept.
    pub calls: usize,
    /// Requests taken.
    pub requests: u64,
    /// Requests refused.
    pub refused: u64,
}

/// A running receiver.
#[derive(Debug)]
pub struct Receiver {
    collected: Arc<Collected>,
    http: Option<SocketAddr>,
    grpc: Option<SocketAddr>,
    stop: CancellationToken,
    runtime: tokio::runtime::Runtime,
}

impl Receiver {
    /// Binds the addresses of `listen` and starts serving on a runtime of its own.
    ///
    /// # Errors
    ///
    /// When an address cannot be bound or the runtime cannot start.
    pub fn start(listen: Listen) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("parabench-receiver")
            .enable_all()
            .build()?;
        let collected = Arc::new(Collected::default());
        let stop = CancellationToken::new();
        let http = match listen.http {
            None => None,
            Some(addr) => {
                let listener = runtime.block_on(tokio::net::TcpListener::bind(addr))?;
                let bound = listener.local_addr()?;
                let app = Router::new()
                    .route("/v1/traces", post(http_export))
                    .route("/v1/metrics", post(ignored))
                    .route("/v1/logs", post(ignored))
                    .layer(DefaultBodyLimit::max(MAX_BODY))
                    .with_state(collected.clone());
                let stop = stop.clone();
                runtime.spawn(async move {
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(stop.cancelled_owned())
                        .await;
                });
                Some(bound)
            }
        };
        let grpc = match listen.grpc {
            None => None,
            Some(addr) => {
                let listener = runtime.block_on(tokio::net::TcpListener::bind(addr))?;
                let bound = listener.local_addr()?;
                let service = TraceServiceServer::new(Grpc(collected.clone()))
                    .accept_compressed(CompressionEncoding::Gzip)
                    .max_decoding_message_size(MAX_BODY);
                let stop = stop.clone();
                let incoming = tokio_stream_of(listener);
                runtime.spawn(async move {
                    let _ = tonic::transport::Server::builder()
                        .add_service(service)
                        .add_service(MetricsServiceServer::new(Ignored).accept_compressed(CompressionEncoding::Gzip))
                        .add_service(LogsServiceServer::new(Ignored).accept_compressed(CompressionEncoding::Gzip))
                        .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
                        .await;
                });
                Some(bound)
            }
        };
        Ok(Self {
            collected,
            http,
            grpc,
            stop,
            runtime,
        })
    }

    /// The OTLP/HTTP address bound.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http
    }

    /// The OTLP/gRPC address bound.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc
    }

    /// What has arrived so far.
    pub fn counts(&self) -> Counts {
        let spans = self.collected.spans.lock().unwrap_or_else(PoisonError::into_inner);
        Counts {
            spans: spans.seen,
            traces: spans.trace_count(),
            calls: spans.spans().len(),
            requests: self.collected.requests.load(Ordering::Relaxed),
            refused: self.collected.refused.load(Ordering::Relaxed),
        }
    }

    /// Stops serving (requests in progress finish) and returns what arrived.
    pub fn stop(self) -> Spans {
        self.stop.cancel();
        self.runtime.shutdown_timeout(std::time::Duration::from_secs(2));
        let collected =
            Arc::try_unwrap(self.collected).map(|c| c.spans.into_inner().unwrap_or_else(PoisonError::into_inner));
        match collected {
            Ok(spans) => spans,
            // A handler still holds it (the runtime gave up waiting): copy what is there.
            Err(shared) => std::mem::take(&mut *shared.spans.lock().unwrap_or_else(PoisonError::into_inner)),
        }
    }
}

/// The listener's connections as the stream tonic serves.
fn tokio_stream_of(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}

/// Why an OTLP/HTTP request was refused.
#[derive(Debug)]
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], self.1).into_response()
    }
}

/// `POST /v1/traces`.
async fn http_export(State(collected): State<Arc<Collected>>, headers: HeaderMap, body: Bytes) -> Response {
    match decode_http(&headers, &body).and_then(|(request, json)| {
        collected
            .take(&request)
            .map(|()| json)
            .map_err(|e| Refusal(StatusCode::BAD_REQUEST, e.to_string()))
    }) {
        Ok(json) => {
            let response = ExportTraceServiceResponse { partial_success: None };
            if json {
                ([(header::CONTENT_TYPE, "application/json")], "{}").into_response()
            } else {
                (
                    [(header::CONTENT_TYPE, "application/x-protobuf")],
                    response.encode_to_vec(),
                )
                    .into_response()
            }
        }
        Err(refusal) => {
            collected.refuse();
            refusal.into_response()
        }
    }
}

/// The request of an OTLP/HTTP body, and whether it was JSON.
fn decode_http(headers: &HeaderMap, body: &[u8]) -> Result<(ExportTraceServiceRequest, bool), Refusal> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = match content_type.as_str() {
        "application/x-protobuf" | "application/protobuf" => false,
        "application/json" => true,
        other => {
            return Err(Refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content type {other:?} is not OTLP (expected application/x-protobuf or application/json)"),
            ));
        }
    };
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let unzipped;
    let body = match encoding.as_str() {
        "identity" | "" => body,
        "gzip" => {
            // Read one byte past the limit: a small body that inflates without end is
            // refused rather than held.
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .take(MAX_BODY as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| Refusal(StatusCode::BAD_REQUEST, format!("the gzip body does not inflate: {e}")))?;
            if out.len() > MAX_BODY {
                return Err(Refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body inflates to more than {MAX_BODY} bytes"),
                ));
            }
            unzipped = out;
            &unzipped
        }
        other => {
            return Err(Refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content encoding {other:?} is not supported (expected gzip or none)"),
            ));
        }
    };
    let request = if json {
        let doc: TracesDocument = serde_json::from_slice(body).map_err(|e| {
            Refusal(
                StatusCode::BAD_REQUEST,
                format!("not an OTLP/JSON ExportTraceServiceRequest: {e}"),
            )
        })?;
        ExportTraceServiceRequest {
            resource_spans: doc.resource_spans.into_iter().chain(doc.batches).collect(),
        }
    } else {
        ExportTraceServiceRequest::decode(body).map_err(|e| {
            Refusal(
                StatusCode::BAD_REQUEST,
                format!("not an OTLP protobuf ExportTraceServiceRequest: {e}"),
            )
        })?
    };
    Ok((request, json))
}

/// `POST /v1/metrics` and `/v1/logs`: taken and dropped, in the encoding they came in.
async fn ignored(headers: HeaderMap) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if json {
        ([(header::CONTENT_TYPE, "application/json")], "{}").into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/x-protobuf")], Vec::<u8>::new()).into_response()
    }
}

/// The metrics and logs services of gRPC: taken and dropped.
#[derive(Debug)]
struct Ignored;

#[tonic::async_trait]
impl MetricsService for Ignored {
    async fn export(
        &self,
        _: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl LogsService for Ignored {
    async fn export(
        &self,
        _: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        Ok(tonic::Response::new(ExportLogsServiceResponse {
            partial_success: None,
        }))
    }
}

/// The gRPC service.
#[derive(Debug)]
struct Grpc(Arc<Collected>);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        match self.0.take(request.get_ref()) {
            Ok(()) => Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success: None,
            })),
            Err(e) => {
                self.0.refuse();
                Err(tonic::Status::invalid_argument(e.to_string()))
            }
        }
    }
}
