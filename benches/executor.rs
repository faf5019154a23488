//! Per-call overhead of the executor with zero-latency tools and telemetry off, against the
//! hand-written alternatives an engineer would otherwise reach for (a `JoinSet` guarded by a
//! semaphore, `futures`' `buffered` and `buffer_unordered`, and `buffered` timing each
//! call as a harness must: two clock reads), and its cost on large DAGs in virtual time.
//!
//! Every tool returns at once, so what is timed is pure scheduling: admission, limits,
//! bookkeeping of outcomes. Criterion reports it per call (`Throughput::Elements`).
//!
//! The executor and the `futures` combinators poll calls on the task that awaits them (here
//! the thread in `block_on`); the `JoinSet` baseline spawns a task per call onto the two
//! workers, which is what it would do in an application.

use std::future::Future;
use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use parabench::clock::{Clock, virtual_runtime};
use parabench::executor::{CallContext, CallStatus, Executor, ExecutorConfig, Tool, ToolError};
use parabench::plan::Plan;
use parabench::sim::{SimTool, ToolModel};
use parabench::workload::{chain, fan_out_in, independent, wide};
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Independent calls per iteration: more than the highest limit, so every level runs a
/// full window.
const CALLS: usize = 4096;
/// The limits compared: one at a time, the default of the pattern under test, a wide
/// window, and one wide enough that the limit never binds.
const LIMITS: [usize; 4] = [1, 5, 64, 1024];
/// Calls in the DAG benchmarks (besides the wide DAG's root).
const DAG_CALLS: usize = 10_000;

/// A tool that succeeds at once: the executor's overhead is all that is left to measure.
struct Noop;

impl Tool for Noop {
    type Output = ();

    fn call<'a>(&'a self, _: CallContext<'a, ()>) -> impl Future<Output = Result<(), ToolError>> + Send + 'a {
        std::future::ready(Ok(()))
    }
}

/// The baselines' call: the same zero-latency work as [`Noop`], addressed by index.
async fn noop_call(i: usize) -> Result<(), ToolError> {
    black_box(i);
    Ok(())
}

/// [`noop_call`] with the start and end it had on `clock`: the least that anything
/// which times each call pays (two reads of the clock), so the floor for a harness.
async fn timed_call(clock: &Clock, i: usize) -> (Duration, Duration, Result<(), ToolError>) {
    let start = clock.now();
    let result = noop_call(i).await;
    (start, clock.now(), result)
}

/// The multi-thread runtime every overhead benchmark runs on, built once, outside the
/// timed closures (as tokio's own benches/sync_semaphore.rs does).
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the tokio runtime")
}

async fn joinset_semaphore(n: usize, limit: usize) -> Vec<Result<(), ToolError>> {
    let semaphore = Arc::new(Semaphore::new(limit));
    let mut set = JoinSet::new();
    for i in 0..n {
        // Taking the permit before spawning bounds the tasks alive, not only those running.
        let permit = semaphore.clone().acquire_owned().await.expect("never closed");
        set.spawn(async move {
            let result = noop_call(i).await;
            drop(permit);
            (i, result)
        });
    }
    let mut results: Vec<Option<Result<(), ToolError>>> = (0..n).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (i, result) = joined.expect("the call does not panic");
        results[i] = Some(result);
    }
    results.into_iter().map(|r| r.expect("every call joined")).collect()
}

fn overhead(c: &mut Criterion) {
    let rt = runtime();
    let plan = independent(CALLS);
    let sim = SimTool::new(
        &plan,
        vec![ToolModel::constant(Duration::ZERO)],
        0,
        Clock::real(),
        NonZeroUsize::MIN,
    )
    .expect("one model per tool");
    let clock = Clock::real();

    for limit in LIMITS {
        let mut group = c.benchmark_group(format!("zero_latency_c{limit}"));
        group.throughput(Throughput::Elements(CALLS as u64));
        let executor = Executor::new(ExecutorConfig::with_max_concurrency(limit));

        group.bench_function(BenchmarkId::new("parabench", "noop"), |b| {
            b.to_async(&rt).iter(|| async {
                let run = executor.run(&plan, &Noop, &clock).await;
                debug_assert_eq!(run.count(CallStatus::Ok), CALLS);
                run
            });
        });
        group.bench_function(BenchmarkId::new("parabench", "simtool"), |b| {
            b.to_async(&rt).iter(|| async {
                let run = executor.run(&plan, &sim, &clock).await;
                debug_assert_eq!(run.count(CallStatus::Ok), CALLS);
                run
            });
        });
        group.bench_function("joinset_semaphore", |b| {
            b.to_async(&rt).iter(|| joinset_semaphore(CALLS, limit));
        });
        group.bench_function("futures_buffered", |b| {
            b.to_async(&rt).iter(|| {
                futures::stream::iter(0..CALLS)
                    .map(noop_call)
                    .buffered(limit)
                    .collect::<Vec<_>>()
            });
        });
        group.bench_function("futures_buffered_timed", |b| {
            b.to_async(&rt).iter(|| {
                futures::stream::iter(0..CALLS)
                    .map(|i| timed_call(&clock, i))
                    .buffered(limit)
                    .collect::<Vec<_>>()
            });
        });
        group.bench_function("futures_buffer_unordered", |b| {
            b.to_async(&rt).iter(|| {
                futures::stream::iter(0..CALLS)
                    .map(|i| async move { (i, noop_call(i).await) })
                    .buffer_unordered(limit)
                    .collect::<Vec<_>>()
            });
        });
        group.finish();
    }
}

fn dag(c: &mut Criterion) {
    let rt = virtual_runtime().expect("build the virtual runtime");
    // One clock for the whole benchmark: each run measures from its own start, so the
    // time left over from earlier iterations does not matter.
    let clock = Clock::simulated();
    let model = |plan: &Plan| vec![ToolModel::constant(Duration::from_millis(1)); plan.tools().len()];

    let mut group = c.benchmark_group("dag");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(DAG_CALLS as u64));

    // 100 groups of a root, 98 dependents and a join: 10,000 calls with fan-out and fan-in.
    let groups = 100;
    for (name, plan, limit) in [
        ("wide_1x10000_c64", wide(DAG_CALLS), 64),
        ("chain_10000", chain(DAG_CALLS), 5),
        (
            "fan_out_in_100x100_c100",
            fan_out_in(groups, DAG_CALLS / groups - 2),
            groups,
        ),
    ] {
        let sim = SimTool::new(&plan, model(&plan), 0, clock.clone(), NonZeroUsize::MIN).expect("one model per tool");
        let executor = Executor::new(ExecutorConfig::with_max_concurrency(limit));
        // Check once, untimed, that the run is the one we mean to time.
        let run = rt.block_on(executor.run(&plan, &sim, &clock));
        assert_eq!(run.count(CallStatus::Ok), plan.calls().len(), "{name}");
        let ms = |n: usize| Duration::from_millis(n as u64);
        let expected = match name {
            "chain_10000" => ms(DAG_CALLS),
            "fan_out_in_100x100_c100" => ms(DAG_CALLS / groups),
            _ => ms(1 + DAG_CALLS.div_ceil(limit)),
        };
        assert_eq!(run.wall, expected, "{name}");
        group.bench_function(name, |b| {
            b.to_async(&rt)
                .iter(|| async { executor.run(&plan, &sim, &clock).await });
        });
    }
    group.finish();
}

/// Shorter than criterion's defaults (3 s, 5 s): 23 benchmarks still take about 100 s.
/// Set here rather than per group, so `--warm-up-time` and `--measurement-time` on the
/// command line still override them.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = overhead, dag
}
criterion_main!(benches);
