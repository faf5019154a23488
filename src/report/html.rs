//! The report as one self-contained HTML page: the schedule of each run as a timeline,
//! calls in flight against the limits, and the speedup explained.
//!
//! One file that opens offline: the run's JSON report is embedded, the style and the
//! script are inlined, and a Content-Security-Policy forbids every request. The charts
//! are drawn on canvas by a small script of our own (`html/run.js`), so ten thousand
//! calls stay one element each way, not ten thousand.
//!
//! The page shell (`html/page.html`) knows nothing of runs: `page` takes a title, a
//! script and named JSON blocks. The run page is one script over it; the tune page
//! (`crate::tune::html`) is another script and its own data over the same shell.

use std::collections::HashMap;
use std::io::{self, Write};

use super::Render;
use super::model::{Report, RunReport};

pub mod condensed;

/// The shell every page shares: CSP, the error catcher, placeholders.
const PAGE: &str = include_str!("html/page.html");
/// The style every page shares.
const STYLE: &str = include_str!("html/style.css");
/// Helpers every page's script uses: axes, units, tooltips, canvas set-up.
const COMMON_JS: &str = include_str!("html/common.js");
/// The run page: summary, timelines, in-flight charts, per-tool table.
const RUN_JS: &str = include_str!("html/run.js");

/// Renders a run [`Report`] as a self-contained HTML page.
///
/// A report with nothing to draw is refused (see [`check`]): the page would be blank.
#[derive(Clone, Copy, Debug, Default)]
pub struct Html;

/// Why a report cannot be drawn as a page.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum HtmlError {
    /// No run holds a call: an empty run, or a report whose calls were left out.
    #[error(
        "the report has no calls to draw (an empty run, or one made with --no-calls); expected a report of a \
         run with at least one call, as written by `parabench run --json`"
    )]
    NoCalls,
}

/// Whether `report` can be drawn.
///
/// # Errors
///
/// [`HtmlError::NoCalls`] when no run holds a call.
pub fn check(report: &Report) -> Result<(), HtmlError> {
    if report.runs.iter().all(|r| r.calls.is_empty()) {
        return Err(HtmlError::NoCalls);
    }
    Ok(())
}

impl Render for Html {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        check(report).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // One time axis for every run, so the parallel run is visibly shorter.
        let horizon_s = report
            .runs
            .iter()
            .flat_map(|r| std::iter::once(r.wall_s).chain(r.calls.iter().map(|c| c.end_s)))
            .fold(0.0, f64::max);
        let mut derived = PageData {
            horizon_s,
            critical_paths: Vec::new(),
            condensed: Vec::new(),
        };
        // Per run, the calls drawn one by one when it is condensed.
        let mut shown: Vec<Option<Vec<usize>>> = Vec::new();
        for run in &report.runs {
            let path = critical_path(run);
            match condensed::condense(run) {
                None => {
                    derived.critical_paths.push(path);
                    derived.condensed.push(None);
                    shown.push(None);
                }
                Some((figures, calls)) => {
                    // The path's calls that are drawn, by their place among those drawn.
                    let at: HashMap<usize, usize> = calls.iter().enumerate().map(|(k, &i)| (i, k)).collect();
                    derived
                        .critical_paths
                        .push(path.iter().filter_map(|i| at.get(i).copied()).collect());
                    derived.condensed.push(Some(figures));
                    shown.push(Some(calls));
                }
            }
        }
        let report_json = match shown.iter().all(Option::is_none) {
            true => script_json(report)?,
            false => script_json(&with_calls_shown(report, &shown))?,
        };
        let title = format!("parabench · {}", report.scenario);
        let page = page(
            &title,
            RUN_JS,
            &[("report-data", report_json), ("page-data", script_json(&derived)?)],
        );
        out.write_all(page.as_bytes())
    }
}

/// What the page needs beyond the report, computed here so it is tested in Rust.
#[derive(serde::Serialize)]
struct PageData {
    /// The time axis of every run: the latest end.
    horizon_s: f64,
    /// Per run, the indices of the calls on its critical path, first to last (among the
    /// calls drawn, for a condensed run).
    critical_paths: Vec<Vec<usize>>,
    /// Per run, what is drawn instead of every call when it has too many (`null`: every
    /// call is drawn).
    condensed: Vec<Option<condensed::Condensed>>,
}

/// `report` with only the calls `shown` of each condensed run: what the page embeds.
fn with_calls_shown(report: &Report, shown: &[Option<Vec<usize>>]) -> Report {
    let runs = report
        .runs
        .iter()
        .zip(shown)
        .map(|(run, shown)| match shown {
            None => run.clone(),
            Some(calls) => RunReport {
                mode: run.mode,
                max_concurrency: run.max_concurrency,
                batch_size: run.batch_size,
                wall_s: run.wall_s,
                deadline_hit: run.deadline_hit,
                interrupted: run.interrupted,
                success_rate: run.success_rate,
                latency: run.latency,
                calls: calls.iter().map(|&i| run.calls[i].clone()).collect(),
                tools: run.tools.clone(),
                start_lag: run.start_lag,
                completion_lag: run.completion_lag,
                histograms: Default::default(),
            },
        })
        .collect();
    Report {
        schema_version: report.schema_version,
        scenario: report.scenario.clone(),
        seed: report.seed,
        clock: report.clock.clone(),
        samples: report.samples,
        parabench_version: report.parabench_version.clone(),
        runs,
        speedup: report.speedup,
        speedup_bound: report.speedup_bound,
        efficiency: report.efficiency,
        bound: report.bound.clone(),
        expectations: report.expectations.clone(),
        repetitions: report.repetitions.clone(),
        summary: report.summary.clone(),
        partial: report.partial,
        repetitions_requested: report.repetitions_requested,
        within_deadline: report.within_deadline.clone(),
    }
}

/// The chain of dependencies that ended the run: from the call that ended last among
/// those that started, back through the dependency that ended last (the one that made
/// it ready), to a call without dependencies. Indices into `run.calls`, first to last.
///
/// Calls on it waited for each other; shortening any other call does not end the run
/// sooner. A call whose queue wait is long on this path was held by a limit rather
/// than by its dependencies. Unknown dependency ids (a hand-edited report) are ignored,
/// and a cycle stops the walk.
pub fn critical_path(run: &RunReport) -> Vec<usize> {
    let index: HashMap<&str, usize> = run.calls.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let last_end = |candidates: &mut dyn Iterator<Item = usize>| {
        candidates.fold(None, |best: Option<usize>, i| match best {
            Some(b) if run.calls[b].end_s >= run.calls[i].end_s => Some(b),
            _ => Some(i),
        })
    };
    let Some(mut current) = last_end(&mut (0..run.calls.len()).filter(|&i| run.calls[i].start_s.is_some())) else {
        return Vec::new();
    };
    let mut path = vec![current];
    let mut seen = vec![false; run.calls.len()];
    seen[current] = true;
    while let Some(dep) = last_end(
        &mut run.calls[current]
            .deps
            .iter()
            .filter_map(|d| index.get(d.as_str()).copied()),
    ) {
        if std::mem::replace(&mut seen[dep], true) {
            break;
        }
        path.push(dep);
        current = dep;
    }
    path.reverse();
    path
}

/// The page shell filled in: the shared helpers and `script` inlined after the data
/// blocks, each `(id, json)` in a `<script type="application/json">` block the script
/// reads (with `readData(id)`). Every page of parabench is one of these.
pub(crate) fn page(title: &str, script: &str, data: &[(&str, String)]) -> String {
    let data_blocks: String = data
        .iter()
        .map(|(id, json)| format!("<script type=\"application/json\" id=\"{id}\">{json}</script>\n"))
        .collect();
    fill(
        PAGE,
        &[
            ("TITLE", &escape_html(title)),
            ("STYLE", STYLE),
            ("DATA", &data_blocks),
            ("SCRIPT", &[COMMON_JS, script].join("\n")),
        ],
    )
}

/// Replaces each `{{NAME}}` of `template` in one pass, so a value that happens to
/// contain a placeholder (a scenario named `{{SCRIPT}}`) is never filled in again.
///
/// # Panics
///
/// When the template names a placeholder not in `values`: a bug in the template.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let close = open + rest[open..].find("}}").expect("a placeholder is closed");
        let name = &rest[open + 2..close];
        let value = values
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no value for placeholder {name}"))
            .1;
        out.push_str(&rest[..open]);
        out.push_str(value);
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    out
}

/// `value` as JSON that is safe inside a `<script>` element: `<` is escaped, so no
/// string in the report (a call id of `</script>`) can end the element early.
pub(crate) fn script_json(value: &impl serde::Serialize) -> io::Result<String> {
    Ok(serde_json::to_string(value)?.replace('<', "\\u003c"))
}

/// Text safe inside an HTML element or attribute.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::CallStatus;
    use crate::executor::RunMode;
    use crate::report::model::{CallReport, Percentiles};

    fn call(id: &str, deps: &[&str], start_s: f64, end_s: f64) -> CallReport {
        CallReport {
            id: id.to_string(),
            tool: "t".to_string(),
            deps: deps.iter().map(ToString::to_string).collect(),
            status: CallStatus::Ok,
            attempts: 1,
            queued_s: Some(start_s),
            start_s: Some(start_s),
            end_s,
            error: None,
            failure: None,
            http_status: None,
            cause: None,
            attempt_spans: Vec::new(),
        }
    }

    fn run(calls: Vec<CallReport>) -> RunReport {
        RunReport {
            mode: RunMode::Parallel,
            max_concurrency: 4,
            batch_size: None,
            wall_s: calls.iter().map(|c| c.end_s).fold(0.0, f64::max),
            deadline_hit: false,
            interrupted: false,
            success_rate: 1.0,
            latency: Percentiles::default(),
            calls,
            tools: Default::default(),
            start_lag: None,
            completion_lag: None,
            histograms: Default::default(),
        }
    }

    #[test]
    fn the_critical_path_follows_the_dependency_that_ended_last() {
        // a ─┬─ c ── e        e ends last; c (not d) made it ready, a (not b) made c ready.
        // b ─┘   d ──┘
        let r = run(vec![
            call("a", &[], 0.0, 3.0),
            call("b", &[], 0.0, 1.0),
            call("c", &["a", "b"], 3.0, 5.0),
            call("d", &["b"], 1.0, 2.0),
            call("e", &["c", "d"], 5.0, 6.0),
            call("f", &[], 0.0, 5.5),
        ]);
        assert_eq!(critical_path(&r), [0, 2, 4]);
    }

    #[test]
    fn the_critical_path_skips_calls_that_never_started_and_survives_bad_deps() {
        let mut skipped = call("late", &["a"], 0.0, 9.0);
        skipped.start_s = None;
        let r = run(vec![
            call("a", &["b", "nobody"], 1.0, 2.0),
            call("b", &["a"], 0.0, 1.0),
            skipped,
        ]);
        // `late` ended last but never ran; the a ⇄ b cycle stops the walk.
        assert_eq!(critical_path(&r), [1, 0]);
        assert!(critical_path(&run(Vec::new())).is_empty());
    }

    #[test]
    fn placeholders_are_filled_once_and_data_cannot_close_its_script() {
        assert_eq!(fill("<{{A}}|{{B}}>", &[("A", "{{B}}"), ("B", "b")]), "<{{B}}|b>");
        let json = script_json(&serde_json::json!({"id": "</script><script>alert(1)"})).unwrap();
        assert!(!json.contains('<'), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["id"], "</script><script>alert(1)");
        assert_eq!(escape_html("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn a_report_without_calls_is_refused() {
        let report = Report {
            schema_version: 1,
            scenario: "empty".to_string(),
            seed: 1,
            clock: "virtual".to_string(),
            samples: Default::default(),
            parabench_version: "0".to_string(),
            runs: vec![run(Vec::new())],
            speedup: None,
            speedup_bound: None,
            efficiency: None,
            bound: None,
            expectations: Vec::new(),
            repetitions: Vec::new(),
            summary: None,
            partial: false,
            repetitions_requested: None,
            within_deadline: None,
        };
        assert_eq!(check(&report), Err(HtmlError::NoCalls));
        let err = Html.render(&report, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("no calls to draw"), "{err}");
    }
}
