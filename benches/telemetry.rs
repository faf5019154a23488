//! What telemetry costs a call: off, spans only, and spans + metrics exported over OTLP/gRPC
//! to an in-process receiver on 127.0.0.1; then how many spans per second the pipeline
//! sustains into that receiver without dropping any, and how long the end-of-run flush
//! takes.
//!
//! The calls return at once, so the figures are the executor's overhead plus what each
//! observer adds per call. Export itself runs on the SDK's threads; what the executor pays
//! is building the spans and handing them over.
//!
//!     cargo bench --bench telemetry
//!     cargo bench --bench telemetry -- --warm-up-time 1 --measurement-time 3

#[path = "../tests/common/otlp.rs"]
mod otlp;

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use parabench::clock::Clock;
use parabench::clock::ClockKind;
use parabench::executor::RunMode;
use parabench::executor::{CallContext, Executor, ExecutorConfig, Observer, Tool, ToolError};
use parabench::plan::{Plan, PlanBuilder, ToolSpec};
use parabench::telemetry::{Destinations, OtlpConfig, ScenarioInfo, Telemetry};

/// Calls per iteration.
const CALLS: usize = 1_000;
/// Calls in the sustained-throughput run.
const SUSTAINED_CALLS: usize = 100_000;

struct Noop;

impl Tool for Noop {
    type Output = ();

    fn call<'a>(&'a self, _: CallContext<'a, ()>) -> impl Future<Output = Result<(), ToolError>> + Send + 'a {
        std::future::ready(Ok(()))
    }
}

fn independent(n: usize) -> Plan {
    let mut plan = PlanBuilder::new();
    let tool = plan.tool(ToolSpec::io("noop"));
    for i in 0..n {
        plan.call(format!("c{i}"), tool);
    }
    plan.build().expect("a valid plan")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the tokio runtime")
}

/// Export to `receiver`, with a span queue large enough that the benchmark measures the
/// cost of making spans rather than of dropping them.
fn telemetry(receiver: &otlp::Receiver, expected_calls: usize) -> Telemetry {
    let config = OtlpConfig::resolve(Some(Some(receiver.endpoint())), |_| None)
        .expect("valid")
        .expect("on");
    Telemetry::start(
        Destinations {
            otlp: Some(config),
            trace_file: None,
        },
        &ScenarioInfo {
            name: "bench",
            seed: 0,
            clock: ClockKind::Real,
            calls: expected_calls,
            runs: 1,
        },
    )
    .expect("exporters build")
}

fn per_call_cost(c: &mut Criterion) {
    let rt = runtime();
    let plan = independent(CALLS);
    let clock = Clock::real();
    let executor = Executor::new(ExecutorConfig::with_max_concurrency(64));
    let receiver = otlp::Receiver::grpc();
    let tel = telemetry(&receiver, 1 << 18);

    let mut group = c.benchmark_group("telemetry_per_call");
    group.throughput(Throughput::Elements(CALLS as u64));
    // The executor with no observer at all: what "off" is compared with.
    group.bench_function(BenchmarkId::new("no_observer", CALLS), |b| {
        b.to_async(&rt).iter(|| async {
            black_box(executor.run(&plan, &Noop, &clock).await);
        });
    });
    group.bench_function(BenchmarkId::new("off", CALLS), |b| {
        b.to_async(&rt).iter(|| async {
            let mut off: Option<parabench::telemetry::RunTelemetry<'_>> = None;
            black_box(executor.run_observed(&plan, &Noop, &clock, &mut off).await);
        });
    });
    group.bench_function(BenchmarkId::new("spans", CALLS), |b| {
        b.to_async(&rt).iter(|| async {
            let (mut spans, _) = tel.run_observer(&plan, RunMode::Parallel);
            black_box(executor.run_observed(&plan, &Noop, &clock, &mut spans).await);
        });
    });
    group.bench_function(BenchmarkId::new("spans_metrics_export", CALLS), |b| {
        b.to_async(&rt).iter(|| async {
            let mut both = tel.run_observer(&plan, RunMode::Parallel);
            black_box(executor.run_observed(&plan, &Noop, &clock, &mut both).await);
        });
    });
    group.finish();
    let summary = tel.finish(None).otlp.expect("exported over OTLP");
    println!(
        "telemetry_per_call: {} spans made, {} exported, {} not delivered",
        summary.spans_created,
        summary.spans_exported,
        summary.spans_not_delivered()
    );
}

/// Spans per second into the receiver with none dropped, and the final flush time.
fn sustained_export() {
    let rt = runtime();
    let plan = independent(SUSTAINED_CALLS);
    let clock = Clock::real();
    let executor = Executor::new(ExecutorConfig::with_max_concurrency(64));
    let receiver = otlp::Receiver::grpc();
    let tel = telemetry(&receiver, SUSTAINED_CALLS);
    let started = Instant::now();
    let mut observer = tel.run_observer(&plan, RunMode::Parallel);
    rt.block_on(executor.run_observed(&plan, &Noop, &clock, &mut observer));
    observer.run_ended(Duration::ZERO);
    let run = started.elapsed();
    drop(observer);
    let summary = tel.finish(None).otlp.expect("exported over OTLP");
    let total = started.elapsed();
    let received = receiver.wait_for_spans(summary.spans_exported as usize, Duration::from_secs(10));
    println!(
        "sustained export: {} calls, {} spans made in {:.0} ms of run, {} received by the receiver, \
         {} not delivered; end-of-run flush {:.0} ms; {:.0} spans/s from run start to flushed",
        SUSTAINED_CALLS,
        summary.spans_created,
        run.as_secs_f64() * 1e3,
        received,
        summary.spans_not_delivered(),
        summary.flush_time.as_secs_f64() * 1e3,
        received as f64 / total.as_secs_f64(),
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    per_call_cost(&mut c);
    c.final_summary();
    if std::env::args().all(|a| a != "--list") {
        sustained_export();
    }
}
