//! Regressions between two bench runs, for CI: criterion's comparisons with a saved
//! baseline, and two speedup summaries.
//!
//! Criterion compares a run with a baseline (`cargo bench -- --baseline NAME`) and writes
//! the relative change of each benchmark to `<criterion>/<id>/change/estimates.json`, but
//! it never fails the run. [`criterion_changes`] reads those files; [`slower_than`] keeps
//! the changes that are both larger than a threshold and statistically real.
//! [`compare_summaries`] does the same for the speedup figures of two summaries.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::summary::SpeedupSummary;
use crate::units::fmt_secs;

/// Why the comparisons could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RegressionError {
    /// A directory or file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A `change/estimates.json` is not what criterion writes.
    #[error("{path}: not a criterion change estimate (expected {{\"mean\": {{\"point_estimate\": ..}}}}): {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        source: serde_json::Error,
    },
}

/// One benchmark's change against the baseline, as criterion estimated it.
#[derive(Clone, Debug, PartialEq)]
pub struct CriterionChange {
    /// The benchmark's id: its directory under the criterion directory, such as
    /// `zero_latency_c5/parabench/noop`.
    pub id: String,
    /// Relative change of the mean time: 0.05 is 5 % slower.
    pub mean: f64,
    /// Lower end of the confidence interval of that change.
    pub lower_bound: f64,
    /// Upper end of the confidence interval of that change.
    pub upper_bound: f64,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

/// Every current comparison under criterion's output directory `dir`, sorted by id.
///
/// A comparison is current when its `change/estimates.json` is not older than the
/// benchmark's `new/estimates.json`: criterion leaves the change of an earlier
/// comparison in place when a later run compares with nothing.
///
/// # Errors
///
/// [`RegressionError`] when `dir` cannot be read or a change file is not criterion's.
pub fn criterion_changes(dir: &Path) -> Result<Vec<CriterionChange>, RegressionError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        let entries = std::fs::read_dir(&at).map_err(|source| RegressionError::Io {
            path: at.clone(),
            source,
        })?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            let change = path.join("change").join("estimates.json");
            if change.is_file() && is_current(&change, &path.join("new").join("estimates.json")) {
                let id = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().into_owned();
                found.push(read_change(&change, id)?);
            }
            // Criterion's own folders hold no further benchmarks.
            let name = entry.file_name();
            if !matches!(name.to_str(), Some("change" | "new" | "base" | "report")) {
                pending.push(path);
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

fn is_current(change: &Path, new: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(change), modified(new)) {
        (Some(change), Some(new)) => change >= new,
        _ => true,
    }
}

fn read_change(path: &Path, id: String) -> Result<CriterionChange, RegressionError> {
    let text = std::fs::read_to_string(path).map_err(|source| RegressionError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let estimates: Estimates = serde_json::from_str(&text).map_err(|source| RegressionError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(CriterionChange {
        id,
        mean: estimates.mean.point_estimate,
        lower_bound: estimates.mean.confidence_interval.lower_bound,
        upper_bound: estimates.mean.confidence_interval.upper_bound,
    })
}

/// Criterion's mean time of benchmark `id` (such as `independent_io/sequential`) under
/// its output directory `dir`, if criterion measured it at or after `since`: an older
/// estimate belongs to an earlier run.
pub fn criterion_mean(dir: &Path, id: &str, since: std::time::SystemTime) -> Option<std::time::Duration> {
    let path = dir.join(id).join("new").join("estimates.json");
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    if modified < since {
        return None;
    }
    let estimates: Estimates = serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
    let ns = estimates.mean.point_estimate;
    (ns.is_finite() && ns > 0.0).then(|| std::time::Duration::from_secs_f64(ns / 1e9))
}

/// The changes that are slower by more than `threshold` (0.05 is 5 %) and whose whole
/// confidence interval is a slowdown, so noise alone does not fail a build.
pub fn slower_than(changes: &[CriterionChange], threshold: f64) -> Vec<Regression> {
    changes
        .iter()
        .filter(|c| c.mean > threshold && c.lower_bound > 0.0)
        .map(|c| Regression {
            subject: c.id.clone(),
            detail: format!(
                "mean time {:+.1}% (95% interval {:+.1}% to {:+.1}%), above {:.1}%",
                c.mean * 100.0,
                c.lower_bound * 100.0,
                c.upper_bound * 100.0,
                threshold * 100.0
            ),
        })
        .collect()
}

/// One regression, said in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    /// The benchmark or scenario.
    pub subject: String,
    /// What got worse, by how much.
    pub detail: String,
}

impl fmt::Display for Regression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.detail)
    }
}

/// What two speedup summaries compared, and what got worse.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SummaryComparison {
    /// Scenarios found in both summaries.
    pub compared: usize,
    /// Scenarios of the baseline that the current summary lacks, in baseline order.
    pub missing: Vec<String>,
    /// What got worse in the scenarios compared.
    pub regressions: Vec<Regression>,
}

impl SummaryComparison {
    /// What a CI gate fails on: every regression, and every scenario of the baseline
    /// missing from the current summary unless `allow_missing` (a bench run filtered on
    /// purpose).
    pub fn failures(&self, allow_missing: bool) -> Vec<Regression> {
        let missing = self
            .missing
            .iter()
            .filter(|_| !allow_missing)
            .map(|scenario| Regression {
                subject: scenario.clone(),
                detail: "in the baseline but missing from the current summary (pass --allow-missing for a filtered \
                     bench run)"
                    .to_string(),
            });
        self.regressions.iter().cloned().chain(missing).collect()
    }
}

/// Compares `current` with `baseline`, scenario by scenario: a speedup lower by more
/// than `threshold` (relative) or no longer measured (a run now hits its deadline), a
/// p99 higher by more than `threshold`, or expectations that held and no longer do.
///
/// Scenarios of the baseline missing from `current` are listed apart: a scenario that
/// disappeared is a regression to a CI gate, unless the bench was filtered on purpose.
pub fn compare_summaries(baseline: &SpeedupSummary, current: &SpeedupSummary, threshold: f64) -> SummaryComparison {
    let mut out = SummaryComparison {
        missing: baseline
            .rows
            .iter()
            .filter(|r| current.row(&r.scenario).is_none())
            .map(|r| r.scenario.clone())
            .collect(),
        ..SummaryComparison::default()
    };
    for now in &current.rows {
        let Some(before) = baseline.row(&now.scenario) else {
            continue;
        };
        out.compared += 1;
        let mut regressed = |detail: String| {
            out.regressions.push(Regression {
                subject: now.scenario.clone(),
                detail,
            });
        };
        match (before.speedup, now.speedup) {
            (Some(before), Some(now)) if now < before * (1.0 - threshold) => regressed(format!(
                "speedup {before:.3}× → {now:.3}× ({:+.1}%)",
                (now / before - 1.0) * 100.0
            )),
            (Some(before), None) => regressed(format!(
                "speedup {before:.3}× → not measured (a run now hits the scenario's deadline)"
            )),
            _ => {}
        }
        if now.p99_s > before.p99_s * (1.0 + threshold) {
            regressed(format!("p99 {} → {}", fmt_secs(before.p99_s), fmt_secs(now.p99_s)));
        }
        if before.expect_held == Some(true) && now.expect_held == Some(false) {
            regressed(format!(
                "expectations held, now fail: {}",
                now.failed_expectations.join("; ")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::summary::SummaryRow;
    use crate::bench::summary::tests::{TEN_AT_FIVE, virtual_report};
    use crate::harness::Modes;

    fn change_file(dir: &Path, id: &str, mean: f64, lower: f64, upper: f64) {
        let bench = dir.join(id);
        std::fs::create_dir_all(bench.join("new")).unwrap();
        std::fs::create_dir_all(bench.join("change")).unwrap();
        std::fs::write(bench.join("new/estimates.json"), "{}").unwrap();
        let estimate = |p: f64| {
            format!(
                r#"{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{lower},"upper_bound":{upper}}},"point_estimate":{p},"standard_error":0.01}}"#
            )
        };
        std::fs::write(
            bench.join("change/estimates.json"),
            format!(r#"{{"mean":{},"median":{}}}"#, estimate(mean), estimate(mean)),
        )
        .unwrap();
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("parabench-regression-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn criterion_changes_are_found_and_judged_against_the_threshold() {
        let dir = temp("criterion");
        change_file(&dir, "zero_latency_c5/parabench/noop", 0.12, 0.08, 0.16);
        change_file(&dir, "zero_latency_c5/joinset_semaphore", 0.03, 0.01, 0.05);
        change_file(&dir, "dag/chain_10000", 0.20, -0.05, 0.45);
        change_file(&dir, "dag/wide", -0.30, -0.35, -0.25);
        std::fs::create_dir_all(dir.join("report")).unwrap();

        let changes = criterion_changes(&dir).unwrap();
        let ids: Vec<&str> = changes.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "dag/chain_10000",
                "dag/wide",
                "zero_latency_c5/joinset_semaphore",
                "zero_latency_c5/parabench/noop"
            ]
        );
        let slow = slower_than(&changes, 0.05);
        // 3 % is under the threshold; +20 % with an interval reaching -5 % may be noise.
        assert_eq!(slow.len(), 1, "{slow:?}");
        assert_eq!(slow[0].subject, "zero_latency_c5/parabench/noop");
        assert_eq!(
            slow[0].detail,
            "mean time +12.0% (95% interval +8.0% to +16.0%), above 5.0%"
        );
        assert_eq!(slower_than(&changes, 0.15).len(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_change_files_and_missing_directories_are_errors_naming_the_path() {
        let dir = temp("bad");
        let bench = dir.join("g/f/change");
        std::fs::create_dir_all(&bench).unwrap();
        std::fs::write(bench.join("estimates.json"), r#"{"median": 1}"#).unwrap();
        let err = criterion_changes(&dir).unwrap_err();
        assert!(
            err.to_string().contains("g/f/change/estimates.json") && err.to_string().contains("point_estimate"),
            "{err}"
        );
        let err = criterion_changes(&dir.join("missing")).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn criterion_means_are_read_only_when_fresh() {
        let dir = temp("mean");
        let before = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        change_file(&dir, "g/f", 0.0, 0.0, 0.0);
        let estimate =
            r#"{"mean":{"confidence_interval":{"lower_bound":1.0,"upper_bound":3.0},"point_estimate":2500.0}}"#;
        std::fs::write(dir.join("g/f/new/estimates.json"), estimate).unwrap();
        assert_eq!(
            criterion_mean(&dir, "g/f", before),
            Some(std::time::Duration::from_nanos(2500))
        );
        let after = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        assert_eq!(criterion_mean(&dir, "g/f", after), None, "measured before the run");
        assert_eq!(criterion_mean(&dir, "g/missing", before), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stale_changes_are_ignored() {
        let dir = temp("stale");
        change_file(&dir, "g/f", 0.5, 0.4, 0.6);
        // A later run without a baseline rewrites `new` and leaves the old `change`.
        let new = dir.join("g/f/new/estimates.json");
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&new)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert!(criterion_changes(&dir).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn summaries_regress_on_speedup_p99_and_expectations() {
        let report = virtual_report(TEN_AT_FIVE, Modes::Compare);
        let row = SummaryRow::from_report(&report, "ten.toml", None).unwrap();
        let mut held = row.clone();
        held.expect_held = Some(true);
        held.failed_expectations.clear();
        let baseline = SpeedupSummary::new("virtual", vec![held.clone()]);

        let same = compare_summaries(&baseline, &baseline, 0.05);
        assert_eq!((same.compared, same.regressions.len()), (1, 0));

        let mut worse = row.clone();
        worse.speedup = Some(4.0);
        worse.p99_s = 0.3;
        let mut unrelated = held.clone();
        unrelated.scenario = "only_in_current".into();
        unrelated.speedup = Some(0.1);
        let current = SpeedupSummary::new("virtual", vec![worse, unrelated]);
        let found: Vec<String> = compare_summaries(&baseline, &current, 0.05)
            .regressions
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "ten: speedup 5.000× → 4.000× (-20.0%)",
                "ten: p99 200.0ms → 300.0ms",
                "ten: expectations held, now fail: max_p99: 200.0ms > 150.0ms"
            ]
        );
        // Within the threshold, nothing is reported.
        let mut slightly = held.clone();
        slightly.speedup = Some(4.9);
        let within = compare_summaries(&baseline, &SpeedupSummary::new("virtual", vec![slightly]), 0.05);
        assert!(within.regressions.is_empty());
        // A speedup that is no longer measured regressed.
        let mut cut = held;
        cut.speedup = None;
        let found = compare_summaries(&baseline, &SpeedupSummary::new("virtual", vec![cut]), 0.05);
        assert_eq!(
            found.regressions[0].to_string(),
            "ten: speedup 5.000× → not measured (a run now hits the scenario's deadline)"
        );
    }

    #[test]
    fn scenarios_missing_from_the_current_summary_are_listed() {
        let report = virtual_report(TEN_AT_FIVE, Modes::Compare);
        let row = SummaryRow::from_report(&report, "ten.toml", None).unwrap();
        let mut other = row.clone();
        other.scenario = "other".into();
        let baseline = SpeedupSummary::new("virtual", vec![row.clone(), other]);
        let found = compare_summaries(&baseline, &SpeedupSummary::new("virtual", vec![row.clone()]), 0.05);
        assert_eq!(
            (found.compared, found.missing.as_slice()),
            (1, ["other".to_string()].as_slice())
        );
        let mut renamed = row;
        renamed.scenario = "renamed".into();
        let none = compare_summaries(&baseline, &SpeedupSummary::new("virtual", vec![renamed]), 0.05);
        assert_eq!((none.compared, none.missing.len()), (0, 2));
    }
}
