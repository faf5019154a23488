//! Matching two reports figure by figure: by scenario, then run mode, tool and figure
//! name, and naming what exists on one side only.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{COMPARE_SCHEMA_VERSION, Comparison, FigureChange, RunLimit, Side};
use super::noise::{change_pct, judge, method, verdict};
use super::{CompareError, Threshold};
use crate::executor::RunMode;
use crate::report::Report;
use crate::report::model::FigureKey;
use crate::report::repetitions::values_by_figure;
use crate::stats::Spread;

/// A report and the file it came from.
#[derive(Clone, Copy, Debug)]
pub struct Labeled<'a> {
    /// The report.
    pub report: &'a Report,
    /// Where it was read from, as shown to users.
    pub path: &'a str,
}

/// Compares `new` with `base`.
///
/// # Errors
///
/// [`CompareError::DifferentScenarios`] when the reports are of different scenarios,
/// [`CompareError::Partial`] when either was cut short.
pub fn compare(base: Labeled<'_>, new: Labeled<'_>, threshold: Threshold) -> Result<Comparison, CompareError> {
    if let Some(partial) = [&base, &new].into_iter().find(|side| side.report.partial) {
        return Err(CompareError::Partial {
            path: partial.path.to_string(),
        });
    }
    if base.report.scenario != new.report.scenario {
        return Err(CompareError::DifferentScenarios {
            base_path: base.path.to_string(),
            base: base.report.scenario.clone(),
            new_path: new.path.to_string(),
            new: new.report.scenario.clone(),
        });
    }
    let method = method(base.report, new.report);
    let base_values = values_by_figure(&base.report.repetition_figures());
    let new_values = values_by_figure(&new.report.repetition_figures());
    let threshold_pct = threshold.percent();

    let figures: Vec<FigureChange> = base_values
        .iter()
        .filter_map(|(key, b)| new_values.get(key).map(|n| (key, b, n)))
        // Reports read from JSON hold only finite numbers; one built in code might not.
        .filter(|(_, b, n)| b.iter().chain(n.iter()).all(|v| v.is_finite()))
        .map(|(key, b, n)| {
            let (bs, ns) = (Spread::of(b), Spread::of(n));
            let noise = judge(method, &bs, &ns);
            let better = key.figure.better();
            FigureChange {
                key: key.clone(),
                better,
                base: bs.median,
                new: ns.median,
                base_interval: (b.len() > 1).then_some([bs.ci_low, bs.ci_high]),
                new_interval: (n.len() > 1).then_some([ns.ci_low, ns.ci_high]),
                change_pct: change_pct(bs.median, ns.median),
                noise,
                verdict: verdict(better, bs.median, ns.median, noise, threshold_pct),
            }
        })
        .collect();
    let count = |v| figures.iter().filter(|f| f.verdict == v).count();
    Ok(Comparison {
        schema_version: COMPARE_SCHEMA_VERSION,
        scenario: base.report.scenario.clone(),
        base: side(base),
        new: side(new),
        threshold_pct,
        noise_method: method,
        only_in_base: only_in(&base_values, &new_values),
        only_in_new: only_in(&new_values, &base_values),
        regressions: count(super::model::Verdict::Regressed),
        improvements: count(super::model::Verdict::Improved),
        figures,
    })
}

fn side(labeled: Labeled<'_>) -> Side {
    let r = labeled.report;
    Side {
        path: labeled.path.to_string(),
        clock: r.clock.clone(),
        seed: r.seed,
        repetitions: r.repetition_seeds().len(),
        parabench_version: r.parabench_version.clone(),
        runs: r
            .runs
            .iter()
            .map(|run| RunLimit {
                mode: run.mode,
                max_concurrency: run.max_concurrency,
            })
            .collect(),
    }
}

/// What `ours` has and `theirs` lacks, at the coarsest level that explains it: a whole
/// run, a tool within a run, or a single figure.
fn only_in(ours: &BTreeMap<FigureKey, Vec<f64>>, theirs: &BTreeMap<FigureKey, Vec<f64>>) -> Vec<String> {
    let modes: BTreeSet<Option<RunMode>> = theirs.keys().map(|k| k.mode).collect();
    let tools: BTreeSet<(Option<RunMode>, Option<&String>)> =
        theirs.keys().map(|k| (k.mode, k.tool.as_ref())).collect();
    let mut out = BTreeSet::new();
    for key in ours.keys().filter(|k| !theirs.contains_key(*k)) {
        let label = match (key.mode, &key.tool) {
            (Some(mode), _) if !modes.contains(&Some(mode)) => format!("the {} run", mode.as_str()),
            (Some(mode), Some(tool)) if !tools.contains(&(Some(mode), Some(tool))) => {
                format!("tool {tool} in the {} run", mode.as_str())
            }
            _ => key.label(),
        };
        out.insert(label);
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::clock::ClockKind;
    use crate::compare::Verdict;
    use crate::harness::{self, RunRequest};

    /// A virtual-time report of 6 calls of `api` (100 ms) and, when `with_db`, 2 of `db`.
    fn report(name: &str, limit: usize, with_db: bool) -> Report {
        let mut text = format!(
            "name = \"{name}\"\n[executor]\nmax_concurrency = {limit}\n\
             [tools.api]\nlatency = {{ dist = \"constant\", value = \"100ms\" }}\n\
             [[generate]]\ntool = \"api\"\ncount = 6\n"
        );
        if with_db {
            text.push_str(
                "[tools.db]\nlatency = { dist = \"constant\", value = \"10ms\" }\n\
                 [[generate]]\ntool = \"db\"\ncount = 2\nid_prefix = \"d\"\n",
            );
        }
        let scenario = crate::scenario::parse(&text, Path::new("test.toml")).unwrap();
        let request = RunRequest {
            clock: ClockKind::Virtual,
            ..RunRequest::default()
        };
        harness::run(&scenario, &request).unwrap()
    }

    fn labeled(report: &Report) -> Labeled<'_> {
        Labeled { report, path: "r.json" }
    }

    #[test]
    fn swapping_the_sides_turns_regressions_into_improvements() {
        let (fast, slow) = (report("s", 3, false), report("s", 1, false));
        let forward = compare(labeled(&fast), labeled(&slow), Threshold::default()).unwrap();
        let back = compare(labeled(&slow), labeled(&fast), Threshold::default()).unwrap();
        assert!(forward.regressions > 0);
        assert_eq!(
            (forward.regressions, forward.improvements),
            (back.improvements, back.regressions)
        );
        for (f, b) in forward.figures.iter().zip(&back.figures) {
            let mirrored = match f.verdict {
                Verdict::Regressed => Verdict::Improved,
                Verdict::Improved => Verdict::Regressed,
                v => v,
            };
            assert_eq!(b.verdict, mirrored, "{}", f.key.label());
        }
    }

    #[test]
    fn a_tool_on_one_side_is_named_once_per_run() {
        let (both, api_only) = (report("s", 3, true), report("s", 3, false));
        let c = compare(labeled(&both), labeled(&api_only), Threshold::default()).unwrap();
        assert_eq!(
            c.only_in_base,
            ["tool db in the parallel run", "tool db in the sequential run"]
        );
        assert!(c.only_in_new.is_empty());
        assert!(c.figures.iter().all(|f| f.key.tool.as_deref() != Some("db")));
    }

    #[test]
    fn reports_of_two_scenarios_are_refused() {
        let err = compare(
            labeled(&report("a", 3, false)),
            labeled(&report("b", 3, false)),
            Threshold::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("scenario `a`") && err.to_string().contains("scenario `b`"));
    }

    #[test]
    fn a_partial_report_on_either_side_is_refused() {
        let whole = report("s", 3, false);
        let cut = Report {
            partial: true,
            ..report("s", 3, false)
        };
        for (base, new) in [(&whole, &cut), (&cut, &whole)] {
            let base = Labeled {
                report: base,
                path: "base.json",
            };
            let new = Labeled {
                report: new,
                path: "new.json",
            };
            let err = compare(base, new, Threshold::default()).unwrap_err();
            let cut_path = if base.report.partial { "base.json" } else { "new.json" };
            assert_eq!(err, CompareError::Partial { path: cut_path.into() });
        }
        assert!(compare(labeled(&whole), labeled(&whole), Threshold::default()).is_ok());
    }
}
