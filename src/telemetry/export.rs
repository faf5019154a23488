//! The OTLP pipeline: tracer and meter providers, their exporters, and a bounded shutdown.
//!
//! The executor never waits on the network. Spans go to the SDK's batch processor, whose
//! queue is sized from the plan and drained by its own thread; metrics are aggregated in
//! memory and pushed by a periodic reader's thread. The gRPC exporter runs its connection
//! on a small runtime of its own, so it keeps working while a virtual-time run has paused
//! its runtime's clock. Every export is bounded by a timeout, and so is the final flush:
//! a collector that is down, refuses, or accepts and never answers costs at most a few
//! seconds after the run, and one warning.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider, SpanData, SpanExporter,
};

use opentelemetry_proto::tonic::trace::v1::TracesData;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;

use super::config::{OtlpConfig, Protocol};
use super::names::attr;

/// The instrumentation scope of every span and metric parabench emits.
pub const SCOPE: &str = "parabench";

/// The batch processor's queue is sized to hold a whole run's spans, within reason.
const MIN_QUEUE: usize = 2_048;
const MAX_QUEUE: usize = 1 << 20;

/// What identifies this process's telemetry in a backend.
#[derive(Clone, Debug)]
pub struct ResourceInfo {
    /// The scenario's name (`parabench.scenario`).
    pub scenario: String,
    /// A fresh id per invocation (`parabench.run_id`).
    pub run_id: String,
}

/// Telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The exporter's runtime could not start.
    #[error("could not start the telemetry runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// An exporter could not be built from the configuration.
    #[error("could not set up OTLP export to {endpoint}: {reason}")]
    Build {
        /// Where it would have exported.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
}

/// Counts of what reached the collector, kept by the exporters themselves.
#[derive(Debug, Default)]
pub struct ExportStats {
    spans_exported: AtomicU64,
    spans_failed: AtomicU64,
    metric_exports: AtomicU64,
    metric_exports_failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ExportStats {
    fn record_error(&self, error: &dyn fmt::Display) {
        let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert_with(|| error.to_string());
    }
}

/// How the export went, for the end-of-run message.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportSummary {
    /// The collector's URL.
    pub endpoint: String,
    /// The protocol used.
    pub protocol: Protocol,
    /// Spans the observer handed to the SDK.
    pub spans_created: u64,
    /// Spans the collector accepted.
    pub spans_exported: u64,
    /// Spans in batches the collector refused or that timed out.
    pub spans_failed: u64,
    /// Metric pushes, and how many of them failed.
    pub metric_exports: u64,
    /// Metric pushes that failed.
    pub metric_exports_failed: u64,
    /// The first export error, if any.
    pub first_error: Option<String>,
    /// How long the end-of-run flush took.
    pub flush_time: Duration,
    /// Whether the flush gave up at its timeout.
    pub flush_timed_out: bool,
}

impl ExportSummary {
    /// Spans that did not reach the collector: refused, dropped from a full queue, or still
    /// queued when the flush gave up. (`spans_created`
    /// counts the run's spans; the CLI's few `tracing` spans are only seen by the
    /// exporter, hence the larger of the two counts.)
    pub fn spans_not_delivered(&self) -> u64 {
        self.spans_failed
            .max(self.spans_created.saturating_sub(self.spans_exported))
    }

    /// Whether everything arrived.
    pub fn is_complete(&self) -> bool {
        self.spans_not_delivered() == 0 && self.metric_exports_failed == 0 && !self.flush_timed_out
    }

    /// One line that says what went wrong, or `None` when nothing did.
    pub fn warning(&self) -> Option<String> {
        if self.is_complete() {
            return None;
        }
        let mut problems = Vec::new();
        if self.spans_not_delivered() > 0 {
            problems.push(format!("{} spans not delivered", self.spans_not_delivered()));
        }
        if self.metric_exports_failed > 0 {
            problems.push(format!(
                "{} of {} metric exports failed",
                self.metric_exports_failed, self.metric_exports
            ));
        }
        if self.flush_timed_out {
            problems.push(format!("gave up flushing after {:.1} s", self.flush_time.as_secs_f64()));
        }
        let cause = self
            .first_error
            .as_deref()
            .map(|e| format!(" (first error: {e})"))
            .unwrap_or_default();
        Some(format!(
            "telemetry export to {} over {} incomplete: {}{cause}; the local report is complete",
            self.endpoint,
            self.protocol.as_str(),
            problems.join(", ")
        ))
    }
}

/// A running pipeline: OTLP export, a trace file, or both. Shut it down with
/// [`Pipeline::shutdown`] to flush.
pub struct Pipeline {
    config: Option<OtlpConfig>,
    trace_file: Option<Arc<TraceFileStats>>,
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    stats: Arc<ExportStats>,
    spans_created: Arc<AtomicU64>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Where telemetry goes.
pub struct Destinations {
    /// An OTLP collector, for spans and metrics.
    pub otlp: Option<OtlpConfig>,
    /// Where to write the spans as OTLP/JSON Lines (`run --trace-file`): one
    /// `TracesData` object per line, ids in hex, times as decimal-string nanoseconds, as
    /// the Collector's `file` exporter writes them. No span is dropped on the way.
    pub trace_file: Option<Box<dyn Write + Send>>,
}

impl fmt::Debug for Destinations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Destinations")
            .field("otlp", &self.otlp)
            .field("trace_file", &self.trace_file.is_some())
            .finish()
    }
}

impl Destinations {
    /// Whether anything is to be exported at all.
    pub fn is_empty(&self) -> bool {
        self.otlp.is_none() && self.trace_file.is_none()
    }
}

impl Pipeline {
    /// Starts exporting to `destinations`. `expected_spans` sizes the OTLP span queue so
    /// that a run's spans are not dropped while the exporter catches up.
    ///
    /// Must not be called from within an async runtime (the HTTP client blocks).
    ///
    /// # Errors
    ///
    /// [`ExportError`] when the exporters cannot be built.
    pub fn start(destinations: Destinations, info: &ResourceInfo, expected_spans: usize) -> Result<Self, ExportError> {
        let Destinations { otlp, trace_file } = destinations;
        let stats = Arc::new(ExportStats::default());
        let resource = resource(info);
        let mut tracer_provider = SdkTracerProvider::builder().with_resource(resource.clone());
        let mut meter_provider = SdkMeterProvider::builder().with_resource(resource);
        let mut runtime = None;
        if let Some(config) = &otlp {
            let (processor, reader, rt) = otlp_exporters(config, &stats, expected_spans)?;
            tracer_provider = tracer_provider.with_span_processor(processor);
            meter_provider = meter_provider.with_reader(reader);
            runtime = Some(rt);
        }
        let trace_file = trace_file.map(|out| {
            let file_stats = Arc::new(TraceFileStats::default());
            let exporter = TraceFileExporter {
                out: Mutex::new(std::io::BufWriter::with_capacity(1 << 16, out)),
                resource: ResourceAttributesWithSchema::default(),
                stats: file_stats.clone(),
            };
            // The simple processor exports each span as it ends and never drops one.
            tracer_provider = std::mem::take(&mut tracer_provider)
                .with_span_processor(opentelemetry_sdk::trace::SimpleSpanProcessor::new(exporter));
            file_stats
        });
        Ok(Pipeline {
            config: otlp,
            trace_file,
            tracer_provider: tracer_provider.build(),
            meter_provider: meter_provider.build(),
            stats,
            spans_created: Arc::new(AtomicU64::new(0)),
            runtime,
        })
    }
}

/// The OTLP span processor and metric reader for `config`, and the runtime their
/// connections run on.
fn otlp_exporters(
    config: &OtlpConfig,
    stats: &Arc<ExportStats>,
    expected_spans: usize,
) -> Result<
    (
        BatchSpanProcessor,
        PeriodicReader<Counted<opentelemetry_otlp::MetricExporter>>,
        tokio::runtime::Runtime,
    ),
    ExportError,
> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("parabench-otlp")
        .enable_all()
        .build()?;
    let build_error = |reason: String| ExportError::Build {
        endpoint: config.endpoint.clone(),
        reason,
    };
    let (span_exporter, metric_exporter) = match config.protocol {
        Protocol::Grpc => {
            // tonic's channel spawns onto the runtime it is built in.
            let _inside = runtime.enter();
            let spans = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(config.signal_url("/v1/traces"))
                .with_timeout(config.export_timeout)
                .build()
                .map_err(|e| build_error(e.to_string()))?;
            let metrics = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(config.signal_url("/v1/metrics"))
                .with_timeout(config.export_timeout)
                .build()
                .map_err(|e| build_error(e.to_string()))?;
            (spans, metrics)
        }
        Protocol::HttpProtobuf => {
            // Its reqwest client speaks https through rustls, which needs a provider.
            crate::tls::install();
            let spans = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(config.signal_url("/v1/traces"))
                .with_timeout(config.export_timeout)
                .build()
                .map_err(|e| build_error(e.to_string()))?;
            let metrics = opentelemetry_otlp::MetricExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(config.signal_url("/v1/metrics"))
                .with_timeout(config.export_timeout)
                .build()
                .map_err(|e| build_error(e.to_string()))?;
            (spans, metrics)
        }
    };

    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(expected_spans.clamp(MIN_QUEUE, MAX_QUEUE))
        .with_max_export_batch_size(512)
        .with_scheduled_delay(Duration::from_millis(500))
        .build();
    let processor = BatchSpanProcessor::builder(Counted {
        inner: span_exporter,
        stats: stats.clone(),
    })
    .with_batch_config(batch)
    .build();
    let reader = PeriodicReader::builder(Counted {
        inner: metric_exporter,
        stats: stats.clone(),
    })
    .with_interval(config.metric_interval)
    .build();
    Ok((processor, reader, runtime))
}

impl Pipeline {
    /// The tracer for parabench's spans.
    pub fn tracer(&self) -> SdkTracer {
        self.tracer_provider.tracer(SCOPE)
    }

    /// The tracer provider, for the `tracing` bridge.
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.tracer_provider
    }

    /// The meter for parabench's metrics.
    pub fn meter(&self) -> Meter {
        self.meter_provider.meter(SCOPE)
    }

    /// A counter the span observers add to, so the summary can tell dropped spans.
    pub(crate) fn spans_created(&self) -> Arc<AtomicU64> {
        self.spans_created.clone()
    }

    /// Flushes and stops both providers, giving up after the configured shutdown timeout.
    /// Never blocks longer than that, whatever the collector does.
    pub fn shutdown(mut self) -> TelemetrySummary {
        let started = Instant::now();
        let (done, finished) = std::sync::mpsc::channel();
        let tracer_provider = self.tracer_provider.clone();
        let meter_provider = self.meter_provider.clone();
        let timeout = self.config.as_ref().map_or(DEFAULT_SHUTDOWN, |c| c.shutdown_timeout);
        // The SDK's shutdown blocks on its processor threads; a thread of our own keeps a
        // stuck export from holding the process past the timeout.
        let flusher = std::thread::Builder::new()
            .name("parabench-otlp-flush".into())
            .spawn(move || {
                let traces = tracer_provider.shutdown_with_timeout(timeout);
                let metrics = meter_provider.shutdown_with_timeout(timeout);
                let _ = done.send((traces, metrics));
            });
        let outcome = match flusher {
            Ok(_) => finished.recv_timeout(timeout + Duration::from_millis(500)).ok(),
            Err(_) => None,
        };
        let flush_time = started.elapsed();
        // Gave up waiting, or the SDK itself timed out flushing one of the two providers.
        let timed_out = match &outcome {
            None => None,
            Some((traces, metrics)) => [traces, metrics]
                .into_iter()
                .filter_map(|r| r.as_ref().err())
                .find(|e| matches!(e, opentelemetry_sdk::error::OTelSdkError::Timeout(_)))
                .map(|e| self.stats.record_error(e)),
        };
        self.summary(flush_time, outcome.is_none() || timed_out.is_some())
    }

    fn summary(&mut self, flush_time: Duration, flush_timed_out: bool) -> TelemetrySummary {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        let trace_file = self.trace_file.as_ref().map(|f| TraceFileSummary {
            spans_written: f.written.load(Ordering::Relaxed),
            error: f.error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        });
        let Some(config) = &self.config else {
            return TelemetrySummary { otlp: None, trace_file };
        };
        let s = &self.stats;
        let otlp = ExportSummary {
            endpoint: config.endpoint.clone(),
            protocol: config.protocol,
            spans_created: self.spans_created.load(Ordering::Relaxed),
            spans_exported: s.spans_exported.load(Ordering::Relaxed),
            spans_failed: s.spans_failed.load(Ordering::Relaxed),
            metric_exports: s.metric_exports.load(Ordering::Relaxed),
            metric_exports_failed: s.metric_exports_failed.load(Ordering::Relaxed),
            first_error: s.first_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            flush_time,
            flush_timed_out,
        };
        TelemetrySummary {
            otlp: Some(otlp),
            trace_file,
        }
    }
}

/// How long the final flush may take when no OTLP setting says.
const DEFAULT_SHUTDOWN: Duration = Duration::from_secs(5);

/// How each destination's export went.
#[derive(Clone, Debug, PartialEq)]
pub struct TelemetrySummary {
    /// The OTLP export, when there was one.
    pub otlp: Option<ExportSummary>,
    /// The trace file, when there was one.
    pub trace_file: Option<TraceFileSummary>,
}

/// How the trace file's writing went.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceFileSummary {
    /// Spans written.
    pub spans_written: u64,
    /// The first write that failed (a full disk, a closed pipe); the file is then
    /// incomplete.
    pub error: Option<String>,
}

/// What the trace file's exporter counted.
#[derive(Debug, Default)]
struct TraceFileStats {
    written: AtomicU64,
    error: Mutex<Option<String>>,
}

/// Writes each batch of spans as one line of OTLP/JSON: a `TracesData` object.
struct TraceFileExporter {
    out: Mutex<std::io::BufWriter<Box<dyn Write + Send>>>,
    resource: ResourceAttributesWithSchema,
    stats: Arc<TraceFileStats>,
}

impl fmt::Debug for TraceFileExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceFileExporter").finish_non_exhaustive()
    }
}

impl TraceFileExporter {
    fn write(&self, batch: Vec<SpanData>) -> std::io::Result<u64> {
        let n = batch.len() as u64;
        let data = TracesData {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        serde_json::to_writer(&mut *out, &data)?;
        out.write_all(b"\n")?;
        Ok(n)
    }

    fn fail(&self, error: &std::io::Error) -> OTelSdkResult {
        let mut first = self.stats.error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert_with(|| error.to_string());
        Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
            error.to_string(),
        ))
    }

    fn flush(&self) -> OTelSdkResult {
        let flushed = self.out.lock().unwrap_or_else(|p| p.into_inner()).flush();
        flushed.or_else(|e| self.fail(&e))
    }
}

impl SpanExporter for TraceFileExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let result = match self.write(batch) {
            Ok(n) => {
                self.stats.written.fetch_add(n, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => self.fail(&e),
        };
        std::future::ready(result)
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        self.flush()
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// The resource: service name (unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES`
/// name one), version, scenario and run id, plus `OTEL_RESOURCE_ATTRIBUTES`.
fn resource(info: &ResourceInfo) -> Resource {
    let named_by_env = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name="));
    let mut builder = Resource::builder();
    if !named_by_env {
        builder = builder.with_service_name("parabench");
    }
    builder
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new(attr::SCENARIO, info.scenario.clone()),
            KeyValue::new(attr::RUN_ID, info.run_id.clone()),
        ])
        .build()
}

/// An exporter that counts what it delivered, so dropped and refused data is reported
/// rather than lost silently.
#[derive(Debug)]
struct Counted<E> {
    inner: E,
    stats: Arc<ExportStats>,
}

impl SpanExporter for Counted<opentelemetry_otlp::SpanExporter> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let n = batch.len() as u64;
        let stats = self.stats.clone();
        let export = self.inner.export(batch);
        async move {
            let result = export.await;
            match &result {
                Ok(()) => stats.spans_exported.fetch_add(n, Ordering::Relaxed),
                Err(e) => {
                    stats.record_error(e);
                    stats.spans_failed.fetch_add(n, Ordering::Relaxed)
                }
            };
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl PushMetricExporter for Counted<opentelemetry_otlp::MetricExporter> {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        let stats = self.stats.clone();
        let export = self.inner.export(metrics);
        async move {
            let result = export.await;
            stats.metric_exports.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = &result {
                stats.record_error(e);
                stats.metric_exports_failed.fetch_add(1, Ordering::Relaxed);
            }
            result
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}
