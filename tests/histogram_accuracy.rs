//! The percentiles parabench reports come from HDR histograms. On a large virtual-time
//! sample they must agree with the analytic quantiles of the configured distribution
//! within the histogram's precision (0.1%) plus the sampling error of an empirical
//! quantile, sd(q̂) ≈ sqrt(p(1−p)/n) / f(x_p).

use std::path::Path;

use parabench::clock::ClockKind;
use parabench::harness::{self, Modes, RunRequest};
use parabench::report::Report;
use parabench::scenario;

const CALLS: usize = 100_000;
/// Standard normal quantiles and densities.
const Z50: f64 = 0.0;
const Z99: f64 = 2.326_347_874;

fn normal_pdf(z: f64) -> f64 {
    (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

fn run(latency: &str) -> Report {
    let text = format!(
        r#"
        name = "accuracy"
        seed = 9
        [executor]
        max_concurrency = 1000
        [tools.t]
        latency = {latency}
        [[generate]]
        tool = "t"
        count = {CALLS}
        "#
    );
    let scenario = scenario::parse(&text, Path::new("accuracy.toml")).expect("valid");
    let request = RunRequest {
        modes: Modes::Parallel,
        clock: ClockKind::Virtual,
        ..RunRequest::default()
    };
    harness::run(&scenario, &request).expect("runs")
}

/// Asserts `got` is within `sds` sampling deviations (relative `rel_sd`) plus 0.1%.
fn close(name: &str, got: f64, want: f64, rel_sd: f64) {
    let tolerance = want * (5.0 * rel_sd + 0.001);
    assert!(
        (got - want).abs() <= tolerance,
        "{name}: {got} vs analytic {want} (tolerance {tolerance})"
    );
}

#[test]
fn lognormal_median_and_p99_match_the_analytic_quantiles() {
    // median 100 ms, p99 800 ms: sigma = ln 8 / z99.
    let report = run(r#"{ dist = "lognormal", median = "100ms", p99 = "800ms" }"#);
    let tool = &report.runs[0].tools["t"];
    assert_eq!(tool.count, CALLS);
    let sigma = 8f64.ln() / Z99;
    let n = CALLS as f64;
    // For a lognormal, a quantile's relative sd is sigma · sd of the normal quantile.
    let rel_sd = |p: f64, z: f64| sigma * (p * (1.0 - p) / n).sqrt() / normal_pdf(z);
    close("p50", tool.p50_s, 0.100, rel_sd(0.5, Z50));
    close("p99", tool.p99_s, 0.800, rel_sd(0.99, Z99));
    // p90 from the same law.
    let z90 = 1.281_551_566;
    close("p90", tool.p90_s, (0.1f64.ln() + sigma * z90).exp(), rel_sd(0.9, z90));
}

#[test]
fn exponential_quantiles_match_minus_mean_ln_one_minus_p() {
    let report = run(r#"{ dist = "exponential", mean = "50ms" }"#);
    let tool = &report.runs[0].tools["t"];
    let n = CALLS as f64;
    for (p, got) in [(0.5f64, tool.p50_s), (0.9, tool.p90_s), (0.99, tool.p99_s)] {
        let want = -0.05 * (1.0 - p).ln();
        // f(x_p) = (1 − p) / mean, so the relative sd is sqrt(p/((1−p)n)) / −ln(1−p).
        let rel_sd = (p / ((1.0 - p) * n)).sqrt() / -(1.0 - p).ln();
        close(&format!("p{}", p * 100.0), got, want, rel_sd);
    }
}

#[test]
fn latencies_of_weeks_are_reported_as_drawn() {
    // Every draw lies between 10 and 20 days: a range that once ended at a week
    // reported every one of them as 7 days.
    let text = r#"
        name = "weeks"
        [tools.t]
        latency = { dist = "uniform", min = "10days", max = "20days" }
        [[generate]]
        tool = "t"
        count = 100
        "#;
    let scenario = scenario::parse(text, Path::new("weeks.toml")).expect("valid");
    let request = RunRequest {
        modes: Modes::Parallel,
        clock: ClockKind::Virtual,
        ..RunRequest::default()
    };
    let report = harness::run(&scenario, &request).expect("runs");
    let tool = &report.runs[0].tools["t"];
    let day = 24.0 * 3600.0;
    assert!(
        tool.p50_s > 10.0 * day && tool.p50_s < 20.0 * day,
        "{}",
        tool.p50_s / day
    );
    assert!(
        tool.max_s <= 20.0 * day * 1.001 && tool.max_s > 19.0 * day,
        "{}",
        tool.max_s / day
    );
}
