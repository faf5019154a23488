//! Checks a scenario's `[expect]` table against what a run measured.

use std::time::Duration;

use super::model::{ExpectationResult, RunReport};
use crate::executor::RunMode;
use crate::scenario::Expectations;
use crate::units::fmt_duration;

/// What the expectations are checked against.
#[derive(Clone, Copy, Debug)]
pub struct Measured<'a> {
    /// The run under test (the parallel one, or the only one).
    pub run: &'a RunReport,
    /// Sequential wall / parallel wall, if both ran.
    pub speedup: Option<f64>,
    /// speedup / bound, if both ran.
    pub efficiency: Option<f64>,
    /// Why there is no speedup, when there is none: said of every expectation that
    /// needs one.
    pub no_speedup: &'a str,
}

/// Why a run of one mode has no speedup.
pub const ONE_MODE: &str = "not measured in this mode (needs --mode compare)";

/// Why a sequential run alone has no p99 to check: `max_p99` is of the parallel run.
pub const NO_PARALLEL_RUN: &str = "not measured in this mode (the p99 of the parallel run: needs --mode compare, \
                                   parallel or batch)";

/// Checks every expectation that is set, in a fixed order.
pub fn check(expect: &Expectations, measured: Measured<'_>) -> Vec<ExpectationResult> {
    let mut out = Vec::new();
    let mut at_least = |name: &str, want: Option<f64>, got: Option<f64>| {
        if let Some(want) = want {
            out.push(match got {
                Some(got) => ExpectationResult {
                    name: name.to_string(),
                    ok: Some(got >= want),
                    detail: format!("{got:.3} {} {want}", if got >= want { ">=" } else { "<" }),
                },
                None => ExpectationResult {
                    name: name.to_string(),
                    ok: None,
                    detail: measured.no_speedup.to_string(),
                },
            });
        }
    };
    at_least("min_speedup", expect.min_speedup, measured.speedup);
    at_least("min_efficiency", expect.min_efficiency, measured.efficiency);
    at_least(
        "min_success_rate",
        expect.min_success_rate,
        Some(measured.run.success_rate),
    );
    if let (Some(_), RunMode::Sequential) = (expect.max_p99, measured.run.mode) {
        out.push(ExpectationResult {
            name: "max_p99".to_string(),
            ok: None,
            detail: NO_PARALLEL_RUN.to_string(),
        });
    } else if let Some(max) = expect.max_p99 {
        let p99 = Duration::from_secs_f64(measured.run.latency.p99_s);
        let ok = p99 <= max;
        out.push(ExpectationResult {
            name: "max_p99".to_string(),
            ok: Some(ok),
            detail: format!(
                "{} {} {}",
                fmt_duration(p99),
                if ok { "<=" } else { ">" },
                fmt_duration(max)
            ),
        });
    }
    out
}

/// Every expectation that is set, none measured, because `why`.
pub fn not_measured_all(expect: &Expectations, why: &str) -> Vec<ExpectationResult> {
    [
        ("min_speedup", expect.min_speedup.is_some()),
        ("min_efficiency", expect.min_efficiency.is_some()),
        ("min_success_rate", expect.min_success_rate.is_some()),
        ("max_p99", expect.max_p99.is_some()),
    ]
    .into_iter()
    .filter(|(_, set)| *set)
    .map(|(name, _)| ExpectationResult {
        name: name.to_string(),
        ok: None,
        detail: format!("not measured: {why}"),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::Percentiles;

    fn run(success_rate: f64, p99_s: f64) -> RunReport {
        RunReport {
            mode: RunMode::Parallel,
            max_concurrency: 5,
            batch_size: None,
            wall_s: 1.0,
            deadline_hit: false,
            interrupted: false,
            success_rate,
            latency: Percentiles {
                p99_s,
                ..Percentiles::default()
            },
            calls: Vec::new(),
            tools: Default::default(),
            start_lag: None,
            completion_lag: None,
            histograms: Default::default(),
        }
    }

    #[test]
    fn unmeasured_expectations_keep_the_order_of_the_checked_ones() {
        let expect = Expectations {
            min_speedup: Some(2.0),
            min_efficiency: Some(0.5),
            min_success_rate: Some(0.9),
            max_p99: Some(Duration::from_millis(5)),
        };
        let measured = Measured {
            run: &run(1.0, 0.001),
            speedup: Some(3.0),
            efficiency: Some(0.9),
            no_speedup: ONE_MODE,
        };
        let names = |v: &[ExpectationResult]| v.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
        let skipped = not_measured_all(&expect, "the run was interrupted");
        assert_eq!(names(&skipped), names(&check(&expect, measured)));
        assert!(
            skipped
                .iter()
                .all(|e| e.ok.is_none() && e.detail.ends_with("interrupted"))
        );
    }

    #[test]
    fn each_expectation_passes_or_fails_on_its_own() {
        let expect = Expectations {
            min_speedup: Some(4.5),
            min_efficiency: Some(0.9),
            min_success_rate: Some(0.95),
            max_p99: Some(Duration::from_millis(500)),
        };
        let r = run(0.9, 0.4);
        let results = check(
            &expect,
            Measured {
                run: &r,
                speedup: Some(4.9),
                efficiency: Some(0.85),
                no_speedup: ONE_MODE,
            },
        );
        let oks: Vec<_> = results.iter().map(|r| (r.name.as_str(), r.ok)).collect();
        assert_eq!(
            oks,
            [
                ("min_speedup", Some(true)),
                ("min_efficiency", Some(false)),
                ("min_success_rate", Some(false)),
                ("max_p99", Some(true))
            ]
        );
        assert_eq!(results[0].detail, "4.900 >= 4.5");
        assert_eq!(results[3].detail, "400.0ms <= 500.0ms");
    }

    #[test]
    fn speedup_without_a_sequential_run_is_not_measured() {
        let expect = Expectations {
            min_speedup: Some(2.0),
            ..Expectations::default()
        };
        let r = run(1.0, 0.1);
        let results = check(
            &expect,
            Measured {
                run: &r,
                speedup: None,
                efficiency: None,
                no_speedup: ONE_MODE,
            },
        );
        assert_eq!(results[0].ok, None);
    }

    #[test]
    fn a_sequential_run_alone_has_no_p99_of_the_parallel_run_to_check() {
        let expect = Expectations {
            max_p99: Some(Duration::from_millis(450)),
            min_success_rate: Some(1.0),
            ..Expectations::default()
        };
        let mut r = run(1.0, 2.001);
        r.mode = RunMode::Sequential;
        let results = check(
            &expect,
            Measured {
                run: &r,
                speedup: None,
                efficiency: None,
                no_speedup: ONE_MODE,
            },
        );
        let max_p99 = results.iter().find(|e| e.name == "max_p99").unwrap();
        assert_eq!((max_p99.ok, max_p99.detail.as_str()), (None, NO_PARALLEL_RUN));
        // What a sequential run does measure is still checked.
        assert_eq!(results[0].ok, Some(true));
    }
}
