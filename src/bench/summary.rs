//! The speedup summary: one row per scenario, as `cargo bench --bench speedup` writes it
//! (JSON and Markdown), and the input of `parabench bench-check`.
//!
//! A row condenses one compare run ([`Report`]): both wall times, the speedup against its
//! work–span bound, the parallel run's p99 and whether `[expect]` held, plus what the
//! bench measured on this machine (criterion's mean time to run each mode).
//!
//! `schema_version` follows the rules of the run report; the JSON Schema of each version
//! is committed as `schemas/speedup-summary-v{N}.schema.json`.

use serde::{Deserialize, Serialize};

use crate::executor::RunMode;
use crate::report::Render;
use crate::report::Report;
use crate::report::json::Json;

/// The version of the summary format this build writes and reads.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// Every scenario a speedup bench ran, in the order it ran them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeedupSummary {
    /// Format version; see [`SUMMARY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `real` or `virtual`: the clock the scenarios ran on.
    pub clock: String,
    /// The parabench version that wrote the summary.
    pub parabench_version: String,
    /// One per scenario.
    pub rows: Vec<SummaryRow>,
}

/// One scenario's compare run, condensed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryRow {
    /// The scenario's name.
    pub scenario: String,
    /// The file it came from, as given to the bench.
    pub file: String,
    /// Calls in the scenario.
    pub calls: usize,
    /// `parallel` (sliding window) or `batch`: the mode compared with the sequential run.
    pub parallel_mode: RunMode,
    /// The parallel run's global limit.
    pub max_concurrency: usize,
    /// Wall time of the sequential run, on the scenario's clock.
    pub sequential_s: f64,
    /// Wall time of the parallel run, on the scenario's clock.
    pub parallel_s: f64,
    /// sequential_s / parallel_s; `None` when a run hit the scenario's deadline (the
    /// two runs then did different work, see [`Report::within_deadline`]).
    pub speedup: Option<f64>,
    /// The work–span bound on the speedup; `None` with `speedup`.
    pub speedup_bound: Option<f64>,
    /// The term that sets the bound (`max_concurrency`, `critical_path`, ...); `None`
    /// with `speedup`.
    pub binding: Option<String>,
    /// speedup / speedup_bound; `None` with `speedup`.
    pub efficiency: Option<f64>,
    /// 99th percentile of end-to-end call latency in the parallel run.
    pub p99_s: f64,
    /// Whether every expectation of `[expect]` held; `None` when it sets none.
    pub expect_held: Option<bool>,
    /// The expectations that did not hold, as `name: detail`.
    pub failed_expectations: Vec<String>,
    /// What criterion measured on this machine, when it did.
    pub bench: Option<BenchTimes>,
}

/// Criterion's mean time to run each mode of a scenario (the whole `parabench run` work:
/// runtime, simulated tools, executor, report), in seconds of this machine's time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchTimes {
    /// Mean time of one sequential run.
    pub sequential_s: f64,
    /// Mean time of one parallel run.
    pub parallel_s: f64,
}

/// Why a summary row or file could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// The report is not of a compare run (it lacks the sequential or the parallel run).
    #[error("scenario `{0}`: the report has no speedup (a sequential and a parallel run are needed)")]
    NotACompareRun(String),
    /// Not JSON, or not a summary.
    #[error("not a parabench speedup summary: {0}")]
    Json(#[from] serde_json::Error),
    /// A summary of a format version this build does not know.
    #[error(
        "speedup summary schema_version {found} is not supported (this parabench reads version {SUMMARY_SCHEMA_VERSION})"
    )]
    UnknownVersion {
        /// The version in the file.
        found: u64,
    },
}

impl SummaryRow {
    /// Condenses `report`, a compare run of the scenario in `file`.
    ///
    /// # Errors
    ///
    /// [`SummaryError::NotACompareRun`] unless the report has a sequential and a parallel
    /// run, and so a speedup (or, where a run hit its deadline, the calls each completed).
    pub fn from_report(report: &Report, file: &str, bench: Option<BenchTimes>) -> Result<Self, SummaryError> {
        let not_compare = || SummaryError::NotACompareRun(report.scenario.clone());
        let [sequential, parallel] = report.runs.as_slice() else {
            return Err(not_compare());
        };
        if sequential.mode != RunMode::Sequential {
            return Err(not_compare());
        }
        if report.speedup.is_none() && report.within_deadline.is_none() {
            return Err(not_compare());
        }
        let failed_expectations: Vec<String> = report
            .expectations
            .iter()
            .filter(|e| e.ok != Some(true))
            .map(|e| format!("{}: {}", e.name, e.detail))
            .collect();
        Ok(Self {
            scenario: report.scenario.clone(),
            file: file.to_string(),
            calls: parallel.call_count(),
            parallel_mode: parallel.mode,
            max_concurrency: parallel.max_concurrency,
            sequential_s: sequential.wall_s,
            parallel_s: parallel.wall_s,
            speedup: report.speedup,
            speedup_bound: report.speedup_bound,
            binding: report.bound.as_ref().map(|b| b.binding.clone()),
            efficiency: report.efficiency,
            p99_s: parallel.latency.p99_s,
            expect_held: (!report.expectations.is_empty()).then_some(failed_expectations.is_empty()),
            failed_expectations,
            bench,
        })
    }
}

impl SpeedupSummary {
    /// A summary of `rows` on `clock`, written by this build.
    pub fn new(clock: &str, rows: Vec<SummaryRow>) -> Self {
        Self {
            schema_version: SUMMARY_SCHEMA_VERSION,
            clock: clock.to_string(),
            parabench_version: env!("CARGO_PKG_VERSION").to_string(),
            rows,
        }
    }

    /// The summary as pretty-printed JSON, ending in a newline (what [`Json`] writes).
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        Json.render(self, &mut out).expect("writing to memory succeeds");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// Parses a summary, refusing versions other than [`SUMMARY_SCHEMA_VERSION`] with a
    /// clear error.
    ///
    /// # Errors
    ///
    /// [`SummaryError`] when the text is not a summary of this version.
    pub fn read(text: &str) -> Result<Self, SummaryError> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: u64,
        }
        let Version { schema_version } = serde_json::from_str(text)?;
        if schema_version != u64::from(SUMMARY_SCHEMA_VERSION) {
            return Err(SummaryError::UnknownVersion { found: schema_version });
        }
        Ok(serde_json::from_str(text)?)
    }

    /// The row of `scenario`, if the summary has one.
    pub fn row(&self, scenario: &str) -> Option<&SummaryRow> {
        self.rows.iter().find(|r| r.scenario == scenario)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::clock::ClockKind;
    use crate::harness::{self, Modes, RunRequest};
    use crate::scenario;

    /// A compare run of an inline scenario in virtual time.
    pub(crate) fn virtual_report(source: &str, modes: Modes) -> Report {
        let scenario = scenario::parse(source, std::path::Path::new("inline.toml")).unwrap();
        let request = RunRequest {
            modes,
            clock: ClockKind::Virtual,
            ..RunRequest::default()
        };
        harness::run(&scenario, &request).unwrap()
    }

    pub(crate) const TEN_AT_FIVE: &str = r#"
        name = "ten"
        [executor]
        max_concurrency = 5
        [tools.api]
        latency = { dist = "constant", value = "100ms" }
        [[generate]]
        tool = "api"
        count = 10
        [expect]
        min_speedup = 4.0
        max_p99 = "150ms"
    "#;

    #[test]
    fn a_row_holds_the_analytic_figures_of_its_run() {
        let report = virtual_report(TEN_AT_FIVE, Modes::Compare);
        let row = SummaryRow::from_report(&report, "ten.toml", None).unwrap();
        // Ten 100 ms calls: 1 s one at a time, 200 ms five at a time; the limit binds.
        assert_eq!((row.sequential_s, row.parallel_s), (1.0, 0.2));
        assert_eq!(
            (row.speedup, row.speedup_bound, row.efficiency),
            (Some(5.0), Some(5.0), Some(1.0))
        );
        assert_eq!(row.binding.as_deref(), Some("max_concurrency"));
        assert_eq!(
            (row.calls, row.max_concurrency, row.parallel_mode),
            (10, 5, RunMode::Parallel)
        );
        // The second wave waits 100 ms for a slot: its end-to-end latency is 200 ms.
        assert!((row.p99_s - 0.2).abs() < 0.2 * 1e-3, "{}", row.p99_s);
        assert_eq!(row.expect_held, Some(false));
        assert_eq!(row.failed_expectations, ["max_p99: 200.0ms > 150.0ms"]);
    }

    #[test]
    fn a_scenario_without_expectations_has_no_verdict() {
        let source = TEN_AT_FIVE.split("[expect]").next().unwrap();
        let row = SummaryRow::from_report(&virtual_report(source, Modes::Compare), "f", None).unwrap();
        assert_eq!(row.expect_held, None);
        assert!(row.failed_expectations.is_empty());
    }

    #[test]
    fn a_report_without_both_runs_is_refused() {
        let report = virtual_report(TEN_AT_FIVE, Modes::Parallel);
        let err = SummaryRow::from_report(&report, "ten.toml", None).unwrap_err();
        assert!(
            matches!(err, SummaryError::NotACompareRun(ref s) if s == "ten"),
            "{err}"
        );
    }

    #[test]
    fn summaries_round_trip_and_unknown_versions_are_refused() {
        let report = virtual_report(TEN_AT_FIVE, Modes::Compare);
        let bench = BenchTimes {
            sequential_s: 1e-4,
            parallel_s: 2e-4,
        };
        let summary = SpeedupSummary::new(
            "virtual",
            vec![SummaryRow::from_report(&report, "f", Some(bench)).unwrap()],
        );
        let read = SpeedupSummary::read(&summary.to_json()).unwrap();
        assert_eq!(read, summary);
        assert_eq!(read.row("ten").and_then(|r| r.speedup), Some(5.0));
        assert!(read.row("other").is_none());

        let err = SpeedupSummary::read(r#"{"schema_version": 9, "rows": []}"#).unwrap_err();
        assert!(matches!(err, SummaryError::UnknownVersion { found: 9 }));
        assert!(err.to_string().contains("reads version 1"), "{err}");
        assert!(matches!(SpeedupSummary::read("{}"), Err(SummaryError::Json(_))));
    }
}
