//! Open-loop load in virtual time: latency counts from each call's intended arrival, so
//! queueing shows, and it matches queueing theory.

mod common;

use std::path::Path;

use parabench::clock::ClockKind;
use parabench::harness::{self, Modes, RunRequest};
use parabench::report::RunReport;

/// Poisson arrivals at `rate` for `secs` to one tool of `service` latency, `c` in flight.
fn scenario(rate: f64, secs: u64, service: &str, c: usize) -> parabench::scenario::Scenario {
    let source = format!(
        r#"
name = "open"
seed = 11
[executor]
max_concurrency = {c}
[tools.api]
latency = {service}
[arrivals]
process = "poisson"
rate = {rate}
duration = "{secs}s"
"#
    );
    parabench::scenario::parse(&source, Path::new("open.toml")).unwrap_or_else(|e| panic!("{e}"))
}

fn run_parallel(scenario: &parabench::scenario::Scenario) -> RunReport {
    let request = RunRequest {
        modes: Modes::Parallel,
        clock: ClockKind::Virtual,
        ..RunRequest::default()
    };
    let report = harness::run(scenario, &request).unwrap();
    report.runs.into_iter().next().unwrap()
}

/// (arrival, end-to-end latency) of every call, in seconds.
fn latencies(run: &RunReport) -> Vec<(f64, f64)> {
    run.calls
        .iter()
        .map(|c| {
            let arrival = c.queued_s.unwrap();
            (arrival, c.end_s - arrival)
        })
        .collect()
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    sum / n as f64
}

#[test]
fn above_capacity_latency_grows_with_time() {
    // Capacity 2 / 100 ms = 20 calls/s against 40 arriving per second: by time t about
    // 20t calls are queued, which take t to serve, so a call arriving at t waits about
    // (λ / cμ − 1) t = t.
    let run = run_parallel(&scenario(40.0, 20, r#"{ dist = "constant", value = "100ms" }"#, 2));
    let by_time = latencies(&run);
    let quarter = |q: f64| mean(by_time.iter().filter(|(t, _)| (*t / 5.0).floor() == q).map(|(_, l)| *l));
    let quarters: Vec<f64> = (0..4).map(|q| quarter(f64::from(q))).collect();
    assert!(quarters.windows(2).all(|w| w[1] > w[0] + 1.0), "{quarters:?}");
    let late = by_time.iter().filter(|(t, _)| *t >= 18.0).map(|(t, l)| l / t);
    let slope = mean(late);
    assert!(
        (slope - 1.0).abs() < 0.1,
        "latency / arrival time near the end: {slope}"
    );
    // The p99 is dominated by the queue, not the 100 ms of service.
    assert!(run.latency.p99_s > 8.0, "{:?}", run.latency);
}

#[test]
fn well_below_capacity_latency_stays_near_the_service_time() {
    // 5 calls/s against a capacity of 40/s (utilisation 12.5%).
    let run = run_parallel(&scenario(5.0, 200, r#"{ dist = "constant", value = "100ms" }"#, 4));
    let by_time = latencies(&run);
    assert!(by_time.len() > 900, "{}", by_time.len());
    let mean_latency = mean(by_time.iter().map(|(_, l)| *l));
    assert!((0.1..0.101).contains(&mean_latency), "mean latency {mean_latency}");
    assert!(
        (run.latency.p50_s - 0.1).abs() < 0.1 * 0.001 + 1e-9,
        "{:?}",
        run.latency
    );
    // Late calls are no slower than early ones: nothing builds up.
    let early = mean(by_time.iter().filter(|(t, _)| *t < 100.0).map(|(_, l)| *l));
    let late = mean(by_time.iter().filter(|(t, _)| *t >= 100.0).map(|(_, l)| *l));
    assert!((late - early).abs() < 0.002, "{early} vs {late}");
}

/// Erlang's C formula: the probability that an arrival must wait in an M/M/c queue with
/// offered load `a` = λ/μ.
fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / f64::from(c);
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / f64::from(k);
        sum += term;
    }
    let top = term * a / f64::from(c) / (1.0 - rho);
    top / (sum + top)
}

#[test]
fn the_mean_queue_wait_matches_the_erlang_c_formula() {
    // M/M/4 at λ = 30/s, 1/μ = 100 ms: a = 3, ρ = 0.75, about 60 000 calls.
    let (c, lambda, mu) = (4u32, 30.0, 10.0);
    let run = run_parallel(&scenario(
        lambda,
        2000,
        r#"{ dist = "exponential", mean = "100ms" }"#,
        c as usize,
    ));
    let waits: Vec<f64> = run
        .calls
        .iter()
        .map(|c| c.start_s.unwrap() - c.queued_s.unwrap())
        .collect();
    assert!(waits.len() > 55_000, "{}", waits.len());
    let measured = mean(waits.iter().copied());
    let a = lambda / mu;
    let expected = erlang_c(c, a) / (f64::from(c) * mu - lambda);
    assert!(
        (measured - expected).abs() < 0.04 * expected,
        "mean queue wait {measured:.5}s, Erlang C {expected:.5}s"
    );
    // And the share of calls that waited at all is Erlang C itself.
    let waited = waits.iter().filter(|w| **w > 0.0).count() as f64 / waits.len() as f64;
    assert!((waited - erlang_c(c, a)).abs() < 0.02, "{waited} vs {}", erlang_c(c, a));
}

#[test]
fn erlang_c_matches_a_textbook_value() {
    // M/M/2 with a = 1 (ρ = 0.5): C = 1/3.
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn tune_shows_where_the_shipped_open_loop_scenario_saturates() {
    let scenario = parabench::scenario::load(&common::root().join("scenarios/open_loop.toml")).unwrap();
    let request = parabench::tune::TuneRequest {
        levels: "1,2,4,8".parse().unwrap(),
        clock: ClockKind::Virtual,
        seed: None,
        criteria: parabench::tune::Criteria {
            slo_p99: Some(std::time::Duration::from_millis(500)),
            ..Default::default()
        },
        rates: None,
        interrupt: None,
    };
    let report = parabench::tune::run(&scenario, &request, |_| {}).unwrap();
    let offered = report.calls as f64 / 20.0;
    let [one, two, four, eight] = &report.levels[..] else {
        panic!("four levels")
    };
    // Below capacity (1 and 2 in flight at 100 ms for search) the queue grows: throughput
    // falls short of the offered load and p99 is seconds, not the service time.
    for saturated in [one, two] {
        assert!(saturated.throughput < 0.9 * offered, "{saturated:?}");
        assert!(saturated.p99_s > 2.0, "{saturated:?}");
    }
    for keeping_up in [four, eight] {
        assert!(keeping_up.throughput > 0.98 * offered, "{keeping_up:?} vs {offered}");
        assert_eq!(keeping_up.binding.as_deref(), Some("arrivals"));
    }
    assert_eq!(report.recommended, Some(4), "{}", report.reason);
    assert!(
        report.reason.contains("arrival rate sets the ceiling"),
        "{}",
        report.reason
    );
    assert!(report.arrivals.is_some());
}

#[test]
fn a_rate_sweep_finds_the_capacity_of_an_m_d_c_system() {
    // Two slots of 100 ms: capacity 20 calls/s. Rates below it keep up; above it,
    // throughput stops at capacity and latency grows.
    let scenario = scenario(5.0, 30, r#"{ dist = "constant", value = "100ms" }"#, 2);
    let rates: parabench::tune::Rates = "5,10,15,30,40".parse().unwrap();
    let criteria = parabench::tune::Criteria::default();
    let level = std::num::NonZeroUsize::new(2).unwrap();
    let settings = parabench::tune::sweep::RunSettings {
        clock: ClockKind::Virtual,
        seed: 11,
        interrupt: None,
    };
    let sweep = parabench::tune::rates::run(&scenario, &rates, level, &settings, &criteria, |_| {}).unwrap();
    let keeps: Vec<bool> = sweep.rates.iter().map(|r| r.keeps_up).collect();
    assert_eq!(keeps, [true, true, true, false, false], "{sweep:#?}");
    assert_eq!(sweep.max_sustainable_rate_per_s, Some(15.0));
    for over in &sweep.rates[3..] {
        assert!((over.throughput - 20.0).abs() < 0.05 * 20.0, "{over:?}");
    }
    assert!(sweep.rates.windows(2).all(|w| w[1].p99_s >= w[0].p99_s), "{sweep:#?}");
    // Well below capacity the median call does not wait; Poisson bursts still queue a few.
    assert!((sweep.rates[0].p50_s - 0.1).abs() < 1e-3, "{:?}", sweep.rates[0]);
    assert!(sweep.rates[0].p99_s < 0.25, "{:?}", sweep.rates[0]);
    assert!(sweep.rates[4].p99_s > 10.0, "{:?}", sweep.rates[4]);
    assert!(
        sweep.reason.contains("up to 15/s and saturates by 30/s"),
        "{}",
        sweep.reason
    );
}

#[test]
fn the_speedup_bound_of_an_open_loop_run_is_set_by_the_arrivals() {
    // The parallel run cannot end before the last arrival plus its own service, however
    // many calls may be in flight; `run` names that bound.
    let scenario = parabench::scenario::load(&common::root().join("scenarios/open_loop.toml")).unwrap();
    let request = RunRequest {
        clock: ClockKind::Virtual,
        ..RunRequest::default()
    };
    let report = harness::run(&scenario, &request).unwrap();
    let bound = report.bound.unwrap();
    assert_eq!(bound.binding, "arrivals");
    let last_arrival = report.runs[1]
        .calls
        .iter()
        .filter_map(|c| c.queued_s)
        .fold(0.0, f64::max);
    assert!(
        bound.makespan_lower_s > last_arrival && last_arrival > 19.0,
        "{bound:?}"
    );
    assert!(report.runs[1].wall_s >= bound.makespan_lower_s);
}

/// Poisson arrivals at 20/s for 5 s to a 10 ms tool, 4 in flight, with this seed in
/// the file.
fn small_with_seed(seed: u64) -> parabench::scenario::Scenario {
    let source = format!(
        "name = \"open\"\nseed = {seed}\n[executor]\nmax_concurrency = 4\n[tools.api]\n\
         latency = {{ dist = \"constant\", value = \"10ms\" }}\n[arrivals]\nprocess = \"poisson\"\n\
         rate = 20.0\nduration = \"5s\"\n"
    );
    parabench::scenario::parse(&source, Path::new("open.toml")).unwrap()
}

/// The arrival times of a run, in seconds.
fn arrivals(run: &RunReport) -> Vec<f64> {
    run.calls.iter().map(|c| c.queued_s.unwrap()).collect()
}

#[test]
fn arrivals_come_from_the_seed_of_the_run() {
    let file = small_with_seed(11);
    let run_with = |seed: u64| {
        let request = RunRequest {
            modes: Modes::Parallel,
            clock: ClockKind::Virtual,
            seed: Some(seed),
            ..RunRequest::default()
        };
        harness::run(&file, &request).unwrap()
    };
    // `--seed 12` draws the arrivals a file with `seed = 12` draws, and says so.
    let reseeded = run_with(12);
    let written = small_with_seed(12);
    let from_file = run_parallel(&written);
    assert_eq!(reseeded.seed, 12);
    assert_eq!(arrivals(&reseeded.runs[0]), arrivals(&from_file));
    // Another seed, other arrivals; the file's own seed, the file's own arrivals.
    assert_ne!(arrivals(&run_with(13).runs[0]), arrivals(&reseeded.runs[0]));
    assert_eq!(arrivals(&run_with(11).runs[0]), arrivals(&run_parallel(&file)));
}

#[test]
fn every_varied_repetition_draws_its_own_arrivals() {
    let file = small_with_seed(11);
    let request = RunRequest {
        clock: ClockKind::Virtual,
        ..RunRequest::default()
    };
    let repeat = harness::Repeat {
        count: std::num::NonZeroUsize::new(3).unwrap(),
        vary_seed: true,
    };
    let report = harness::run_repeated(&file, &request, repeat, |_| parabench::executor::NoopObserver).unwrap();
    let calls: Vec<usize> = report.repetitions.iter().map(|r| r.runs[0].call_count()).collect();
    let walls: Vec<f64> = report.repetitions.iter().map(|r| r.runs[0].wall_s).collect();
    // Poisson counts around 100: three equal counts and walls would be a replay.
    assert!(
        calls.windows(2).any(|w| w[0] != w[1]) || walls.windows(2).any(|w| w[0] != w[1]),
        "{calls:?} {walls:?}"
    );
}

#[test]
fn a_tune_with_another_seed_draws_its_arrivals_and_rates_from_it() {
    let file = small_with_seed(11);
    let tune = |scenario: &parabench::scenario::Scenario, seed: Option<u64>| {
        let request = parabench::tune::TuneRequest {
            levels: "1,4".parse().unwrap(),
            clock: ClockKind::Virtual,
            seed,
            criteria: parabench::tune::Criteria::default(),
            rates: Some("10,40".parse().unwrap()),
            interrupt: None,
        };
        let report = parabench::tune::run(scenario, &request, |_| {}).unwrap();
        let rates = report.rate_sweep.unwrap().rates;
        (
            report.levels.iter().map(|l| l.wall_s).collect::<Vec<_>>(),
            rates.iter().map(|r| (r.calls, r.wall_s)).collect::<Vec<_>>(),
        )
    };
    let written = small_with_seed(12);
    let reseeded = tune(&file, Some(12));
    assert_eq!(reseeded, tune(&written, None));
    assert_ne!(reseeded, tune(&file, None));
}
