//! OpenTelemetry metrics of a run, with the names and attributes of the telemetry contract.
//!
//! Latency histograms use explicit buckets rather than exponential histograms: a
//! collector's Prometheus exporter turns explicit buckets into the classic
//! `parabench_tool_duration_seconds_bucket` series that every Grafana version can draw as
//! a heatmap and feed to `histogram_quantile`, while exponential histograms need native
//! histogram support end to end. The buckets run from 100 µs to 10 minutes, about three
//! per decade (1, 2.5, 5), which is what tool latencies span: a cache hit to an LLM call.
//! Percentiles that must be exact come from the local HDR histograms, not from these.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{AsyncInstrument, Counter, Gauge, Histogram, Meter, ObservableGauge};

use super::names::metric;
use crate::executor::{AttemptEnd, CallOutcome, CallStatus, Observer, RunMode};
use crate::plan::{CallIdx, Plan};

/// Bucket boundaries of the latency histograms, in seconds.
pub const LATENCY_BUCKETS_S: [f64; 20] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 600.0,
];

/// The instruments, created once per process.
#[derive(Clone, Debug)]
pub struct Instruments {
    pub(super) duration: Histogram<f64>,
    pub(super) queue_wait: Histogram<f64>,
    pub(super) calls: Counter<u64>,
    pub(super) retries: Counter<u64>,
    /// What `in_flight` reads when the metrics are collected.
    pub(super) in_flight_now: InFlight,
    _in_flight: ObservableGauge<i64>,
    limit: Gauge<i64>,
    speedup: Gauge<f64>,
}

impl Instruments {
    /// Creates the instruments on `meter`.
    pub fn new(meter: &Meter) -> Self {
        let in_flight_now = InFlight::default();
        let read = in_flight_now.clone();
        Instruments {
            duration: meter
                .f64_histogram(metric::TOOL_DURATION)
                .with_unit("s")
                .with_description("Service time of a tool call, from its first attempt to its end")
                .with_boundaries(LATENCY_BUCKETS_S.to_vec())
                .build(),
            queue_wait: meter
                .f64_histogram(metric::TOOL_QUEUE_WAIT)
                .with_unit("s")
                .with_description("Time a ready call waited for a slot")
                .with_boundaries(LATENCY_BUCKETS_S.to_vec())
                .build(),
            calls: meter
                .u64_counter(metric::TOOL_CALLS)
                .with_description("Tool calls ended, by outcome")
                .build(),
            retries: meter
                .u64_counter(metric::TOOL_RETRIES)
                .with_description("Attempts after a call's first")
                .build(),
            _in_flight: meter
                .i64_observable_gauge(metric::IN_FLIGHT)
                .with_description("Calls holding a slot")
                .with_callback(move |gauge| read.observe(gauge))
                .build(),
            in_flight_now,
            limit: meter
                .i64_gauge(metric::MAX_CONCURRENCY)
                .with_description("The run's global concurrency limit")
                .build(),
            speedup: meter
                .f64_gauge(metric::SPEEDUP)
                .with_description("Sequential wall time over parallel wall time")
                .build(),
        }
    }

    /// Records a scenario's measured speedup of its `mode` (parallel or batch) run over
    /// the sequential one.
    pub fn record_speedup(&self, scenario: &str, mode: RunMode, speedup: f64) {
        let attributes = [
            KeyValue::new(metric::SCENARIO, scenario.to_string()),
            KeyValue::new(metric::MODE, mode.as_str()),
        ];
        self.speedup.record(speedup, &attributes);
    }
}

/// The calls in flight of each mode, as plain counters that the `in_flight` gauge reads
/// when the metrics are collected: a gauge exports only its last value, so setting it
/// on every attempt through the SDK (an attribute lookup each time, two per call) paid
/// for values nobody sees.
#[derive(Clone, Debug, Default)]
pub struct InFlight(Arc<Mutex<Vec<ModeCell>>>);

/// A mode's attribute and its calls in flight.
type ModeCell = (KeyValue, Arc<AtomicI64>);

impl InFlight {
    /// The counter of runs in `mode` (`parallel`, `served`, ...); from now on exported.
    pub fn of(&self, mode: &'static str) -> Arc<AtomicI64> {
        let mut cells = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, cell)) = cells.iter().find(|(kv, _)| kv.value.as_str() == mode) {
            return cell.clone();
        }
        let cell = Arc::new(AtomicI64::new(0));
        cells.push((KeyValue::new(metric::MODE, mode), cell.clone()));
        cell
    }

    fn observe(&self, gauge: &dyn AsyncInstrument<i64>) {
        let cells = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for (mode, cell) in cells.iter() {
            gauge.observe(cell.load(Ordering::Relaxed), std::slice::from_ref(mode));
        }
    }
}

/// Records one run's metrics. Attribute sets are built once per tool, so recording a call
/// allocates nothing.
#[derive(Debug)]
pub struct MetricsObserver {
    instruments: Instruments,
    /// Per tool, per outcome (in [`CallStatus::ALL`] order): tool, mode, outcome.
    by_outcome: Vec<[[KeyValue; 3]; 5]>,
    /// Per tool: tool, mode.
    by_tool: Vec<[KeyValue; 2]>,
    mode: [KeyValue; 1],
    tool_of: Vec<u32>,
    in_flight: Arc<AtomicI64>,
}

impl MetricsObserver {
    /// An observer for a run of `plan` in `mode`.
    pub fn new(instruments: Instruments, plan: &Plan, mode: RunMode) -> Self {
        let mode_kv = KeyValue::new(metric::MODE, mode.as_str());
        let by_outcome = plan
            .tools()
            .iter()
            .map(|t| {
                CallStatus::ALL.map(|status| {
                    [
                        KeyValue::new(metric::TOOL, t.name.clone()),
                        mode_kv.clone(),
                        KeyValue::new(metric::OUTCOME, status.as_str()),
                    ]
                })
            })
            .collect();
        let by_tool = plan
            .tools()
            .iter()
            .map(|t| [KeyValue::new(metric::TOOL, t.name.clone()), mode_kv.clone()])
            .collect();
        MetricsObserver {
            by_outcome,
            by_tool,
            mode: [mode_kv],
            tool_of: plan.calls().iter().map(|c| c.tool.index() as u32).collect(),
            in_flight: instruments.in_flight_now.of(mode.as_str()),
            instruments,
        }
    }
}

impl Observer for MetricsObserver {
    fn run_started(&mut self, max_concurrency: usize) {
        self.instruments
            .limit
            .record(i64::try_from(max_concurrency).unwrap_or(i64::MAX), &self.mode);
        self.in_flight.store(0, Ordering::Relaxed);
        // Zero for every tool, so a tool that never retries still has a series to plot;
        // after this only retries are added.
        for by_tool in &self.by_tool {
            self.instruments.retries.add(0, by_tool);
        }
    }

    fn run_ended(&mut self, _: Duration) {
        self.in_flight.store(0, Ordering::Relaxed);
    }

    fn attempt_started(&mut self, _: CallIdx, _: u32, _: Duration, in_flight: usize) {
        self.in_flight
            .store(i64::try_from(in_flight).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    fn attempt_ended(&mut self, _: CallIdx, _: u32, _: Duration, _: AttemptEnd) {
        // Only this run's task changes it, so a load and a store are enough.
        let now = self.in_flight.load(Ordering::Relaxed);
        self.in_flight.store((now - 1).max(0), Ordering::Relaxed);
    }

    fn call_ended<O>(&mut self, idx: CallIdx, outcome: &CallOutcome<O>) {
        let tool = self.tool_of[idx.index()] as usize;
        let status = CallStatus::ALL.iter().position(|s| *s == outcome.status).unwrap_or(0);
        let i = &self.instruments;
        i.calls.add(1, &self.by_outcome[tool][status]);
        if let (Some(service), Some(wait)) = (outcome.service_time(), outcome.queue_wait()) {
            i.duration.record(service.as_secs_f64(), &self.by_outcome[tool][status]);
            i.queue_wait.record(wait.as_secs_f64(), &self.by_tool[tool]);
        }
        if outcome.attempts > 1 {
            i.retries.add(u64::from(outcome.attempts - 1), &self.by_tool[tool]);
        }
    }
}
