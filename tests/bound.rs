//! The speedup bound is a true bound: on the virtual clock, where nothing but the
//! schedule decides the wall time, no run of any scenario beats it.
//!
//! Scenarios are drawn at random with everything that makes a call hold a resource for
//! longer or shorter than its work: CPU tools on few cores, failures retried after
//! backoffs, hangs ended by timeouts (which may also cut CPU work that waited for a
//! core), per-tool limits, rate limits, dependencies, batches and arrivals.

use std::fmt::Write;
use std::path::Path;

use parabench::clock::ClockKind;
use parabench::harness::{self, RunRequest};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct ToolCase {
    cpu: bool,
    /// Constant latency in µs, or a uniform range.
    latency_us: (u64, Option<u64>),
    failure_rate: f64,
    timeout_rate: f64,
    max_concurrency: Option<u8>,
    rate_limit: Option<f64>,
}

#[derive(Clone, Debug)]
struct Case {
    seed: u64,
    cpu_cores: u8,
    max_concurrency: u8,
    batch: Option<u8>,
    timeout_ms: Option<u64>,
    max_attempts: u8,
    backoff_ms: u64,
    jitter: &'static str,
    run_dependents: bool,
    tools: Vec<ToolCase>,
    /// Tool, priority, dependencies on earlier calls.
    calls: Vec<(usize, i8, Vec<usize>)>,
    arrivals: Option<(f64, u64)>,
}

fn tool() -> impl Strategy<Value = ToolCase> {
    (
        any::<bool>(),
        (1u64..300_000, prop::option::of(0u64..200_000)),
        prop_oneof![Just(0.0), 0.0f64..0.6],
        prop_oneof![Just(0.0), 0.0f64..0.3],
        prop::option::of(1u8..4),
        prop::option::weighted(0.2, 2.0f64..200.0),
    )
        .prop_map(
            |(cpu, (base, spread), failure_rate, timeout_rate, max_concurrency, rate_limit)| ToolCase {
                cpu,
                latency_us: (base, spread.map(|s| base + s)),
                failure_rate,
                timeout_rate,
                max_concurrency,
                rate_limit,
            },
        )
}

fn case() -> impl Strategy<Value = Case> {
    let head = (
        any::<u64>(),
        1u8..4,
        1u8..9,
        prop::option::weighted(0.2, 1u8..6),
        prop::option::of(20u64..400),
        1u8..4,
        0u64..300,
        prop::sample::select(vec!["none", "full", "equal"]),
        any::<bool>(),
    );
    let body = (
        prop::collection::vec(tool(), 1..4),
        1usize..25,
        prop::option::weighted(0.2, (5.0f64..200.0, 50u64..500)),
    );
    (head, body).prop_flat_map(|(head, (tools, n, arrivals))| {
        let nt = tools.len();
        let calls: Vec<_> = (0..n)
            .map(|i| (0..nt, -1i8..2, prop::collection::vec(0..i.max(1), 0..2.min(i + 1))))
            .collect();
        (Just(head), Just(tools), calls, Just(arrivals)).prop_map(|(head, tools, calls, arrivals)| {
            let (seed, cpu_cores, max_concurrency, batch, timeout_ms, max_attempts, backoff_ms, jitter, run_dependents) =
                head;
            Case {
                seed,
                cpu_cores,
                max_concurrency,
                batch,
                timeout_ms,
                max_attempts,
                backoff_ms,
                jitter,
                run_dependents,
                tools,
                calls,
                arrivals,
            }
        })
    })
}

/// The case as a scenario file. A hang needs a timeout to end it, so a tool hangs only
/// when attempts have one.
fn scenario(case: &Case) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "name = \"bound\"\nseed = {}\ncpu_cores = {}",
        case.seed, case.cpu_cores
    );
    let _ = writeln!(s, "[executor]\nmax_concurrency = {}", case.max_concurrency);
    if let Some(ms) = case.timeout_ms {
        let _ = writeln!(s, "timeout = \"{ms}ms\"");
    }
    if let Some(size) = case.batch {
        let _ = writeln!(s, "mode = \"batch\"\nbatch_size = {size}");
    }
    if case.run_dependents {
        let _ = writeln!(s, "on_dependency_failure = \"run\"");
    }
    let _ = writeln!(
        s,
        "[executor.retry]\nmax_attempts = {}\ninitial_backoff = \"{}ms\"\njitter = \"{}\"",
        case.max_attempts, case.backoff_ms, case.jitter
    );
    for (i, t) in case.tools.iter().enumerate() {
        let _ = writeln!(s, "[tools.t{i}]\nkind = \"{}\"", if t.cpu { "cpu" } else { "io" });
        match t.latency_us {
            (v, None) => writeln!(s, "latency = {{ dist = \"constant\", value = \"{v}us\" }}"),
            (lo, Some(hi)) => writeln!(
                s,
                "latency = {{ dist = \"uniform\", min = \"{lo}us\", max = \"{hi}us\" }}"
            ),
        }
        .unwrap();
        let _ = writeln!(s, "failure_rate = {}", t.failure_rate);
        if case.timeout_ms.is_some() {
            let _ = writeln!(s, "timeout_rate = {}", t.timeout_rate);
        }
        if let Some(k) = t.max_concurrency {
            let _ = writeln!(s, "max_concurrency = {k}");
        }
        if let Some(r) = t.rate_limit {
            let _ = writeln!(s, "rate_limit = {r}");
        }
    }
    for (i, (tool, priority, deps)) in case.calls.iter().enumerate() {
        let deps: Vec<String> = deps.iter().filter(|d| **d < i).map(|d| format!("\"c{d}\"")).collect();
        let _ = writeln!(
            s,
            "[[calls]]\nid = \"c{i}\"\ntool = \"t{tool}\"\npriority = {priority}\ndepends_on = [{}]",
            deps.join(", ")
        );
    }
    if let Some((rate, ms)) = case.arrivals {
        let _ = writeln!(
            s,
            "[arrivals]\nprocess = \"poisson\"\nrate = {rate}\nduration = \"{ms}ms\""
        );
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_virtual_run_beats_its_bound(case in case()) {
        let text = scenario(&case);
        let scenario = match parabench::scenario::parse(&text, Path::new("bound.toml")) {
            Ok(s) => s,
            // An arrival load too light to bring a single call: nothing to check.
            Err(e) if e.to_string().contains("no arrivals") => return Ok(()),
            Err(e) => panic!("{e}\n{text}"),
        };
        let request = RunRequest { clock: ClockKind::Virtual, ..RunRequest::default() };
        let report = harness::run(&scenario, &request).unwrap();
        let (Some(speedup), Some(bound), Some(efficiency)) =
            (report.speedup, report.speedup_bound, report.efficiency)
        else {
            prop_assert!(report.runs.iter().any(|r| r.deadline_hit), "no speedup without a deadline\n{text}");
            return Ok(());
        };
        prop_assert!(
            efficiency <= 1.0 + 1e-9,
            "speedup {speedup} above its bound {bound} (efficiency {efficiency}, bound {:?})\n{text}",
            report.bound
        );
    }
}

/// The case of the issue that found the fault: CPU calls that fail, back off for a
/// second and retry, on one core. The backoffs hold the calls' slots but no core, so
/// the cores term is the attempts' CPU work alone, and the bound is set by the longest
/// call (work, backoff, work), not by the core.
#[test]
fn retried_cpu_calls_count_only_their_work_against_the_cores() {
    let text = r#"name = "cpu_retry"
seed = 42
cpu_cores = 1
[executor]
max_concurrency = 4
[executor.retry]
max_attempts = 2
initial_backoff = "1s"
jitter = "none"
[tools.work]
kind = "cpu"
latency = { dist = "constant", value = "50ms" }
failure_rate = 0.5
[[generate]]
tool = "work"
count = 4
id_prefix = "c"
"#;
    let scenario = parabench::scenario::parse(text, Path::new("cpu_retry.toml")).unwrap();
    let request = RunRequest {
        clock: ClockKind::Virtual,
        ..RunRequest::default()
    };
    let report = harness::run(&scenario, &request).unwrap();
    let sequential = &report.runs[0];
    let attempts: u32 = sequential.calls.iter().map(|c| c.attempts).sum();
    assert!(attempts > 4, "some call retried");
    let bound = report.bound.unwrap();
    let cores = bound.terms_s["cpu_cores"];
    assert!(
        (cores - 0.05 * f64::from(attempts)).abs() < 1e-9,
        "{cores} for {attempts} attempts"
    );
    assert_eq!(bound.binding, "critical_path");
    // The longest call: 50 ms of work, 1 s of backoff, 50 ms of work.
    assert!((bound.makespan_lower_s - 1.1).abs() < 1e-9, "{bound:?}");
    let efficiency = report.efficiency.unwrap();
    assert!(efficiency <= 1.0 && efficiency > 0.9, "{efficiency}");
}
