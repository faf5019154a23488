//! Spans and metrics of a run over OTLP, when a collector is configured.
//!
//! Export hangs off the executor's [`Observer`](crate::executor::Observer) hooks: with
//! telemetry off the run's observer is `None` and costs one branch per hook. Calls
//! served to a client (`parabench serve`) are exported by [`served`] as each is answered.

pub mod config;
pub mod export;
pub mod metrics;
pub mod names;
pub mod served;
pub mod spans;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::SystemTime;

use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;

pub use config::{ConfigError, OtlpConfig, Protocol};
pub use export::{
    Destinations, ExportError, ExportSummary, Pipeline, ResourceInfo, TelemetrySummary, TraceFileSummary,
};
pub use metrics::{Instruments, MetricsObserver};
pub use served::{ServedCall, ServedCallTelemetry};
pub use spans::SpanObserver;

use crate::clock::ClockKind;
use crate::executor::RunMode;
use crate::plan::Plan;
use names::{SCENARIO_SPAN, SERVE_SPAN, attr};
use spans::Timeline;

/// The span queue of a server: 2^16 spans, about 10 s of the most calls a client sends.
const SERVED_SPAN_QUEUE: usize = 1 << 16;

/// The observer that exports one run: its spans, then its metrics.
pub type RunTelemetry<'p> = (SpanObserver<'p>, MetricsObserver);

/// Telemetry for one scenario: the OTLP pipeline, the `scenario {name}` span at the root
/// of the trace, and the metric instruments.
#[derive(Debug)]
pub struct Telemetry {
    pipeline: Pipeline,
    tracer: SdkTracer,
    instruments: Instruments,
    scenario_cx: Context,
    timeline: Timeline,
    spans_created: Arc<AtomicU64>,
    scenario: String,
    /// The context of each call's span, for real calls to send their servers.
    call_spans: Arc<spans::CallSpans>,
}

/// What a finished scenario measured: the figures its span and the speedup gauge carry.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ScenarioFigures {
    /// Sequential wall / parallel wall, when both ran and compare.
    pub speedup: Option<f64>,
    /// The work–span bound on the speedup.
    pub speedup_bound: Option<f64>,
    /// speedup / speedup_bound.
    pub efficiency: Option<f64>,
    /// The mode the speedup measured (parallel or batch).
    pub compared: Option<RunMode>,
    /// Whether the work was cut short (a signal): the trace then says so.
    pub partial: bool,
}

/// What the scenario span records about the run.
#[derive(Clone, Debug)]
pub struct ScenarioInfo<'a> {
    /// The scenario's name.
    pub name: &'a str,
    /// The seed of its draws.
    pub seed: u64,
    /// Real or virtual time.
    pub clock: ClockKind,
    /// Calls in its plan.
    pub calls: usize,
    /// How many runs (modes) it will make.
    pub runs: usize,
}

impl Telemetry {
    /// Starts exporting a scenario's telemetry to `destinations`.
    ///
    /// Must not be called from within an async runtime.
    ///
    /// # Errors
    ///
    /// [`ExportError`] when the exporters cannot be built.
    pub fn start(destinations: Destinations, info: &ScenarioInfo<'_>) -> Result<Self, ExportError> {
        // A call makes a span and one per attempt: three per call covers a retry each.
        let expected_spans = info.calls.saturating_mul(3).saturating_mul(info.runs) + 16;
        Self::start_root(destinations, info, SCENARIO_SPAN, expected_spans)
    }

    /// Starts exporting the telemetry of a scenario's tools served to a client
    /// (`parabench serve`): the root span is `serve {name}`, and each call's span comes
    /// from a [`ServedCallTelemetry`].
    ///
    /// Must not be called from within an async runtime.
    ///
    /// # Errors
    ///
    /// [`ExportError`] when the exporters cannot be built.
    pub fn start_serving(destinations: Destinations, info: &ScenarioInfo<'_>) -> Result<Self, ExportError> {
        // A server's spans come as fast as its clients call, for as long as they do: the
        // queue holds tens of seconds of the most a client can send (see the serve
        // benchmark in docs/benchmarks.md) while the exporter sends them every 500 ms.
        Self::start_root(destinations, info, SERVE_SPAN, SERVED_SPAN_QUEUE)
    }

    fn start_root(
        destinations: Destinations,
        info: &ScenarioInfo<'_>,
        root: &str,
        expected_spans: usize,
    ) -> Result<Self, ExportError> {
        let run_id = format!("{:016x}", rand::random::<u64>());
        let pipeline = Pipeline::start(
            destinations,
            &ResourceInfo {
                scenario: info.name.to_string(),
                run_id: run_id.clone(),
            },
            expected_spans,
        )?;
        let tracer = pipeline.tracer();
        let start = SystemTime::now();
        let span = tracer
            .span_builder(format!("{root} {}", info.name))
            .with_kind(SpanKind::Internal)
            .with_start_time(start)
            .with_attributes([
                KeyValue::new(attr::SCENARIO, info.name.to_string()),
                KeyValue::new(attr::SEED, info.seed as i64),
                KeyValue::new(attr::CLOCK, info.clock.as_str()),
                KeyValue::new(attr::RUN_ID, run_id),
            ])
            .start(&tracer);
        let instruments = Instruments::new(&pipeline.meter());
        Ok(Telemetry {
            spans_created: pipeline.spans_created(),
            instruments,
            scenario_cx: Context::new().with_span(span),
            timeline: Timeline::new(start, info.clock == ClockKind::Virtual),
            tracer,
            pipeline,
            scenario: info.name.to_string(),
            call_spans: Arc::default(),
        })
    }

    /// The observer for one run of `plan` in `mode`.
    pub fn run_observer<'p>(&self, plan: &'p Plan, mode: RunMode) -> RunTelemetry<'p> {
        let mut spans = SpanObserver::new(
            plan,
            self.tracer.clone(),
            self.scenario_cx.clone(),
            mode,
            self.timeline.clone(),
            self.spans_created.clone(),
        );
        if plan.tools().iter().any(|t| t.kind.is_real()) {
            spans = spans.publishing(self.call_spans.clone());
        }
        (spans, MetricsObserver::new(self.instruments.clone(), plan, mode))
    }

    /// Each real call's span context, as its `traceparent`: what the call sends its
    /// server, so the server's spans join the run's trace.
    pub fn trace_context(&self) -> Arc<dyn crate::real::TraceContext> {
        self.call_spans.clone()
    }

    /// The context of the scenario span, to parent other spans (such as the CLI's
    /// `tracing` spans) under it.
    pub fn context(&self) -> &Context {
        &self.scenario_cx
    }

    /// The tracer provider, for the `tracing` bridge.
    pub fn tracer_provider(&self) -> &opentelemetry_sdk::trace::SdkTracerProvider {
        self.pipeline.tracer_provider()
    }

    /// Ends the scenario span with what the scenario measured (`None` when it could not
    /// run), then flushes everything within the configured shutdown timeout.
    pub fn finish(self, figures: Option<&ScenarioFigures>) -> TelemetrySummary {
        let span = self.scenario_cx.span();
        if let Some(figures) = figures {
            let values = [
                (attr::SPEEDUP, figures.speedup),
                (attr::SPEEDUP_BOUND, figures.speedup_bound),
                (attr::EFFICIENCY, figures.efficiency),
            ];
            for (key, value) in values {
                if let Some(v) = value {
                    span.set_attribute(KeyValue::new(key, v));
                }
            }
            if let (Some(speedup), Some(mode)) = (figures.speedup, figures.compared) {
                self.instruments.record_speedup(&self.scenario, mode, speedup);
            }
        }
        // No figures (the run failed) or a run cut short: a trace that looks whole must be.
        if figures.is_none_or(|f| f.partial) {
            span.set_attribute(KeyValue::new(attr::PARTIAL, true));
        }
        span.end_with_timestamp(self.timeline.end().max(SystemTime::now()));
        self.spans_created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.pipeline.shutdown()
    }
}
