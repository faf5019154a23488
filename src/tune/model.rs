//! The tune JSON contract (docs/contracts.md, "The tune report") as serde types.
//!
//! `schema_version` changes only when a field changes meaning or goes away; the JSON
//! Schema of each version is committed as `schemas/tune-v1.schema.json`.

use serde::{Deserialize, Serialize};

/// The version of the tune format this build writes.
pub const TUNE_SCHEMA_VERSION: u32 = 1;

/// A whole `parabench tune`: every level, the fitted model and the recommendation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuneReport {
    /// Format version; see [`TUNE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The scenario's name.
    pub scenario: String,
    /// `real` or `virtual`.
    pub clock: String,
    /// The seed of every random draw, the same at every level (paired samples).
    pub seed: u64,
    /// The parabench version that wrote the report.
    pub parabench_version: String,
    /// Calls per run.
    pub calls: usize,
    /// The open-loop load, when the scenario has `[arrivals]`.
    pub arrivals: Option<ArrivalsReport>,
    /// What the recommendation had to meet.
    pub criteria: CriteriaReport,
    /// One per level, in increasing order; level 1 is always there (the baseline).
    pub levels: Vec<LevelReport>,
    /// The recommended `max_concurrency`; `null` when no level meets the criteria.
    pub recommended: Option<usize>,
    /// Why, in one or two sentences, naming what limits the curve.
    pub reason: String,
    /// The USL fitted to the throughputs; `null` when it could not be fitted.
    pub usl: Option<UslReport>,
    /// What the fit says (or why there is none), in a sentence.
    pub usl_note: String,
    /// With `--rates`: the open-loop load at growing rates, at the recommended level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_sweep: Option<RateSweepReport>,
    /// Whether a signal (Ctrl-C, SIGTERM) cut the sweep short: the levels and rates
    /// that finished are kept; the one in progress is dropped, and nothing is
    /// recommended. False in reports written before interruption was recorded.
    #[serde(default)]
    pub partial: bool,
}

/// `[arrivals]` as it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArrivalsReport {
    /// `poisson` or `constant`.
    pub process: String,
    /// Offered load, calls per second.
    pub rate_per_s: f64,
    /// How long calls kept arriving.
    pub duration_s: f64,
}

/// The recommendation's criteria.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CriteriaReport {
    /// Share of peak throughput the recommended level must reach, in (0, 1].
    pub target_share: f64,
    /// The p99 end-to-end latency it must stay under, if any.
    pub slo_p99_s: Option<f64>,
    /// The share of calls that may fail, if bounded.
    pub max_error_rate: Option<f64>,
}

/// One concurrency level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelReport {
    /// The global limit of this run.
    pub max_concurrency: usize,
    /// From the start of the run to the end of its last call.
    pub wall_s: f64,
    /// Successful calls per second of wall time.
    pub throughput: f64,
    /// Wall time at level 1 / wall time here; null when this level's run or the
    /// baseline's hit the deadline (the two did different work).
    pub speedup: Option<f64>,
    /// The work–span bound on that speedup at this level; null with `speedup`.
    pub speedup_bound: Option<f64>,
    /// speedup / speedup_bound; null with `speedup`.
    pub efficiency: Option<f64>,
    /// What sets the bound here: `max_concurrency`, `critical_path`, `cpu_cores`,
    /// `tool_limit:NAME`, `rate_limit:NAME` or `arrivals`; null with `speedup`.
    pub binding: Option<String>,
    /// Whether this level's run hit the scenario's deadline, its unfinished calls
    /// cancelled. False in reports written before it was recorded.
    #[serde(default)]
    pub deadline_hit: bool,
    /// The most calls in flight at once in this level's run: below `max_concurrency`,
    /// the limit never bound, and every level from here up runs the same schedule.
    /// Absent in reports written before it was recorded.
    #[serde(default)]
    pub max_in_flight: Option<usize>,
    /// Median end-to-end latency (queue wait + service), from readiness or arrival.
    pub p50_s: f64,
    /// 99th percentile of end-to-end latency.
    pub p99_s: f64,
    /// Median queue wait (start − ready).
    pub queue_p50_s: f64,
    /// 99th percentile of queue wait.
    pub queue_p99_s: f64,
    /// Mean queue wait.
    pub queue_mean_s: f64,
    /// Calls that did not succeed (error, timeout, skipped or cancelled).
    pub errors: usize,
    /// errors / calls.
    pub error_rate: f64,
    /// Attempts beyond the first.
    pub retries: u64,
}

/// One arrival rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateReport {
    /// Offered load, calls per second.
    pub rate_per_s: f64,
    /// Calls that arrived.
    pub calls: usize,
    /// From the start of the run to the end of its last call.
    pub wall_s: f64,
    /// Successful calls per second of wall time.
    pub throughput: f64,
    /// Median end-to-end latency, from each call's intended arrival.
    pub p50_s: f64,
    /// 99th percentile of end-to-end latency.
    pub p99_s: f64,
    /// Mean queue wait.
    pub queue_mean_s: f64,
    /// 99th percentile of queue wait.
    pub queue_p99_s: f64,
    /// Calls that did not succeed.
    pub errors: usize,
    /// Whether throughput kept within the target share of the offered rate and the p99
    /// met the SLO (when given).
    pub keeps_up: bool,
}

/// A sweep over arrival rates at one concurrency level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateSweepReport {
    /// The `max_concurrency` every rate ran at.
    pub max_concurrency: usize,
    /// One per rate, increasing.
    pub rates: Vec<RateReport>,
    /// The highest rate below the first one that does not keep up; `null` if even the
    /// lowest does not.
    pub max_sustainable_rate_per_s: Option<f64>,
    /// Where the system saturates, in a sentence.
    pub reason: String,
}

/// The Universal Scalability Law fitted to the throughputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UslReport {
    /// Throughput of one worker, calls per second.
    pub lambda: f64,
    /// Contention.
    pub sigma: f64,
    /// Coherency.
    pub kappa: f64,
    /// N* = √((1−σ)/κ), where the curve peaks; `null` without a retrograde region.
    pub peak_n: Option<f64>,
    /// Share of the throughputs' variance the curve explains.
    pub r_squared: f64,
}

/// Why a JSON value is not a tune report this build reads.
#[derive(Debug, thiserror::Error)]
pub enum TuneReadError {
    /// A tune report of a format version this build does not know.
    #[error("tune report schema_version {found} is not supported (this parabench reads version {TUNE_SCHEMA_VERSION})")]
    UnknownVersion {
        /// The version in the file.
        found: u64,
    },
    /// Not the shape of a tune report.
    #[error("not a parabench tune report: {0}; expected JSON as written by `parabench tune --json`")]
    NotATuneReport(String),
}

impl TuneReport {
    /// Whether `value` looks like a tune report (rather than a run or compare report),
    /// whatever its version.
    pub fn is_tune_json(value: &serde_json::Value) -> bool {
        value.get("levels").is_some() && value.get("recommended").is_some()
    }

    /// Reads a tune report from parsed JSON, refusing versions other than
    /// [`TUNE_SCHEMA_VERSION`].
    ///
    /// # Errors
    ///
    /// [`TuneReadError`] when it is not a tune report of this version.
    pub fn from_json(value: serde_json::Value) -> Result<Self, TuneReadError> {
        match value.get("schema_version").map(serde_json::Value::as_u64) {
            Some(Some(v)) if v == u64::from(TUNE_SCHEMA_VERSION) => {}
            Some(Some(found)) => return Err(TuneReadError::UnknownVersion { found }),
            _ => return Err(TuneReadError::NotATuneReport("no numeric schema_version".into())),
        }
        serde_json::from_value(value).map_err(|e| TuneReadError::NotATuneReport(e.to_string()))
    }
}

#[cfg(test)]
impl TuneReport {
    /// A report of these levels, recommending `recommended`, with no fit and no SLO.
    pub(crate) fn fixture(levels: Vec<LevelReport>, recommended: Option<usize>) -> Self {
        TuneReport {
            schema_version: TUNE_SCHEMA_VERSION,
            scenario: "s".into(),
            clock: "virtual".into(),
            seed: 0,
            parabench_version: "0".into(),
            calls: 1,
            arrivals: None,
            criteria: CriteriaReport {
                target_share: 0.95,
                slo_p99_s: None,
                max_error_rate: None,
            },
            levels,
            recommended,
            reason: "r".into(),
            usl: None,
            usl_note: "n".into(),
            rate_sweep: None,
            partial: false,
        }
    }
}

#[cfg(test)]
impl LevelReport {
    /// A level with these figures and neutral others (p50 100 ms, p99 200 ms, no errors).
    pub(crate) fn fixture(max_concurrency: usize, throughput: f64) -> Self {
        LevelReport {
            max_concurrency,
            wall_s: 1.0,
            throughput,
            speedup: Some(1.0),
            speedup_bound: Some(1.0),
            efficiency: Some(1.0),
            binding: Some("max_concurrency".into()),
            deadline_hit: false,
            max_in_flight: Some(max_concurrency),
            p50_s: 0.1,
            p99_s: 0.2,
            queue_p50_s: 0.0,
            queue_p99_s: 0.0,
            queue_mean_s: 0.0,
            errors: 0,
            error_rate: 0.0,
            retries: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tune_reports_of_this_version_are_read() {
        let other = serde_json::json!({"schema_version": 2, "levels": [], "recommended": null});
        assert!(TuneReport::is_tune_json(&other));
        let err = TuneReport::from_json(other).unwrap_err().to_string();
        assert!(err.contains("schema_version 2 is not supported"), "{err}");
        let err = TuneReport::from_json(serde_json::json!({"schema_version": 1, "levels": [], "recommended": 4}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing field") && err.contains("parabench tune --json"),
            "{err}"
        );
        assert!(!TuneReport::is_tune_json(
            &serde_json::json!({"schema_version": 1, "runs": []})
        ));
    }
}
