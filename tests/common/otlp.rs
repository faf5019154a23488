//! An in-process OTLP receiver on 127.0.0.1, over gRPC (tonic, from opentelemetry-proto's
//! generated collector services) or HTTP/protobuf (hyper), that keeps what it receives;
//! plus collectors that misbehave: a closed port and one that accepts and never answers.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, metric};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// Everything a receiver got.
#[derive(Debug, Default)]
pub struct Received {
    pub traces: Vec<ExportTraceServiceRequest>,
    pub metrics: Vec<ExportMetricsServiceRequest>,
}

/// A receiver running on its own runtime until dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    received: Arc<Mutex<Received>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

#[derive(Clone)]
struct Store(Arc<Mutex<Received>>);

#[tonic::async_trait]
impl TraceService for Store {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().traces.push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Store {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().metrics.push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

impl Receiver {
    /// An OTLP/gRPC receiver.
    pub fn grpc() -> Self {
        let rt = runtime();
        let store = Store(Arc::default());
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(store.clone()).max_decoding_message_size(256 << 20))
            .add_service(MetricsServiceServer::new(store.clone()).max_decoding_message_size(256 << 20))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
        rt.spawn(server);
        Receiver {
            addr,
            received: store.0,
            runtime: Some(rt),
        }
    }

    /// An OTLP/HTTP receiver (protobuf bodies on /v1/traces and /v1/metrics).
    pub fn http() -> Self {
        let rt = runtime();
        let store = Store(Arc::default());
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = store.clone();
        rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let store = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(req, store.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver {
            addr,
            received: store.0,
            runtime: Some(rt),
        }
    }

    /// The base URL to give the exporter.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received, with its service name.
    pub fn spans(&self) -> Vec<Span> {
        let got = self.received.lock().unwrap();
        got.traces
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| ss.spans.clone())
            .collect()
    }

    /// The resource attributes of the first span batch.
    pub fn resource(&self) -> Vec<KeyValue> {
        let got = self.received.lock().unwrap();
        got.traces
            .first()
            .and_then(|r| r.resource_spans.first())
            .and_then(|rs| rs.resource.clone())
            .map(|r| r.attributes)
            .unwrap_or_default()
    }

    /// Every metric received, in order of arrival (cumulative: later is more).
    pub fn metrics(&self) -> Vec<Metric> {
        let got = self.received.lock().unwrap();
        got.metrics
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| sm.metrics.clone())
            .collect()
    }

    /// Every metrics batch received, with its resource and scopes, in order of arrival.
    pub fn resource_metrics(&self) -> Vec<ResourceMetrics> {
        let got = self.received.lock().unwrap();
        got.metrics.iter().flat_map(|r| r.resource_metrics.clone()).collect()
    }

    /// The names of the metrics received.
    pub fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.metrics().into_iter().map(|m| m.name).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Waits up to `timeout` for `n` spans to arrive.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> usize {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let got = self.spans().len();
            if got >= n || std::time::Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn handle(req: Request<Incoming>, store: Store) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_string();
    let body = req.into_body().collect().await?.to_bytes();
    let reply = match path.as_str() {
        "/v1/traces" => match ExportTraceServiceRequest::decode(body) {
            Ok(r) => {
                store.0.lock().unwrap().traces.push(r);
                Some(ExportTraceServiceResponse::default().encode_to_vec())
            }
            Err(_) => None,
        },
        "/v1/metrics" => match ExportMetricsServiceRequest::decode(body) {
            Ok(r) => {
                store.0.lock().unwrap().metrics.push(r);
                Some(ExportMetricsServiceResponse::default().encode_to_vec())
            }
            Err(_) => None,
        },
        _ => None,
    };
    let response = match reply {
        Some(bytes) => Response::builder()
            .header("content-type", "application/x-protobuf")
            .body(Full::new(Bytes::from(bytes))),
        None => Response::builder().status(400).body(Full::new(Bytes::new())),
    };
    Ok(response.unwrap())
}

/// A port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A collector that accepts connections and never answers; it holds them until dropped.
pub struct Hanging {
    pub addr: SocketAddr,
    _runtime: Receiver,
}

pub fn hanging() -> Hanging {
    let rt = runtime();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    Hanging {
        addr,
        _runtime: Receiver {
            addr,
            received: Arc::default(),
            runtime: Some(rt),
        },
    }
}

/// A span's attribute as text, integer or float.
pub fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

pub fn attr_str<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attr(attributes, key)? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

pub fn attr_i64(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attr(attributes, key)? {
        any_value::Value::IntValue(i) => Some(*i),
        _ => None,
    }
}

pub fn attr_f64(attributes: &[KeyValue], key: &str) -> Option<f64> {
    match attr(attributes, key)? {
        any_value::Value::DoubleValue(f) => Some(*f),
        _ => None,
    }
}

/// The histogram data points of `name`, latest per attribute set.
pub fn histogram_points(
    metrics: &[Metric],
    name: &str,
) -> Vec<opentelemetry_proto::tonic::metrics::v1::HistogramDataPoint> {
    let mut latest: Vec<opentelemetry_proto::tonic::metrics::v1::HistogramDataPoint> = Vec::new();
    for m in metrics.iter().filter(|m| m.name == name) {
        if let Some(metric::Data::Histogram(h)) = &m.data {
            for p in &h.data_points {
                match latest.iter_mut().find(|q| q.attributes == p.attributes) {
                    Some(q) if q.count <= p.count => *q = p.clone(),
                    Some(_) => {}
                    None => latest.push(p.clone()),
                }
            }
        }
    }
    latest
}

/// The counter (sum) data points of `name`, latest per attribute set, as (attributes, value).
pub fn counter_points(metrics: &[Metric], name: &str) -> Vec<(Vec<KeyValue>, u64)> {
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
    let mut latest: Vec<(Vec<KeyValue>, u64)> = Vec::new();
    for m in metrics.iter().filter(|m| m.name == name) {
        if let Some(metric::Data::Sum(s)) = &m.data {
            for p in &s.data_points {
                let v = match p.value {
                    Some(Value::AsInt(i)) => i as u64,
                    Some(Value::AsDouble(d)) => d as u64,
                    None => 0,
                };
                match latest.iter_mut().find(|(a, _)| *a == p.attributes) {
                    Some((_, q)) => *q = (*q).max(v),
                    None => latest.push((p.attributes.clone(), v)),
                }
            }
        }
    }
    latest
}
