//! The tune report as a self-contained HTML page: throughput and p99 against
//! `max_concurrency`, the USL fit, the SLO line and the recommended level, with the
//! reason in words.
//!
//! Same shell as the run page (`crate::report::html`): the tune JSON embedded as it is,
//! an inline canvas script (`html/tune.js`), no request to any host.

use std::io::{self, Write};

use super::model::TuneReport;
use super::usl::UslFit;
use crate::report::html::{page, script_json};

/// The tune page's script.
const TUNE_JS: &str = include_str!("html/tune.js");

/// Points of the fitted curve drawn between the lowest and the highest level.
const CURVE_POINTS: usize = 120;

/// Why a tune report cannot be drawn as a page.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TuneHtmlError {
    /// No level to plot.
    #[error(
        "the tune report has no levels to draw; expected a report with at least one level, as written by \
         `parabench tune --json`"
    )]
    NoLevels,
}

/// What the page needs beyond the report, computed here so the model has one
/// implementation: the fitted curve as `[max_concurrency, throughput]` points.
#[derive(serde::Serialize)]
struct PageData {
    usl_curve: Vec<[f64; 2]>,
}

/// Writes `report` as a self-contained HTML page.
///
/// # Errors
///
/// An [`io::ErrorKind::InvalidInput`] error wrapping [`TuneHtmlError`] when the report
/// has no level; otherwise only when writing fails.
pub fn render(report: &TuneReport, out: &mut dyn Write) -> io::Result<()> {
    let (Some(first), Some(last)) = (report.levels.first(), report.levels.last()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, TuneHtmlError::NoLevels));
    };
    let (lo, hi) = (first.max_concurrency as f64, last.max_concurrency as f64);
    let usl_curve = report
        .usl
        .as_ref()
        .map(|u| {
            let fit = UslFit {
                lambda: u.lambda,
                sigma: u.sigma,
                kappa: u.kappa,
                r_squared: u.r_squared,
            };
            // Even steps in log N, as the page draws N on a log axis when the levels span
            // a wide range; on a linear axis the points are merely denser at the left.
            (0..=CURVE_POINTS)
                .map(|i| {
                    let n = lo * (hi / lo).powf(i as f64 / CURVE_POINTS as f64);
                    [n, fit.throughput(n)]
                })
                .filter(|[_, x]| x.is_finite())
                .collect()
        })
        .unwrap_or_default();
    let title = format!("parabench tune · {}", report.scenario);
    let html = page(
        &title,
        TUNE_JS,
        &[
            ("tune-data", script_json(report)?),
            ("page-data", script_json(&PageData { usl_curve })?),
        ],
    );
    out.write_all(html.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::model::{LevelReport, UslReport};

    fn level(n: usize, throughput: f64) -> LevelReport {
        LevelReport::fixture(n, throughput)
    }

    fn report(levels: Vec<LevelReport>) -> TuneReport {
        TuneReport {
            seed: 1,
            calls: 10,
            usl: Some(UslReport {
                lambda: 10.0,
                sigma: 0.0,
                kappa: 0.0,
                peak_n: None,
                r_squared: 1.0,
            }),
            ..TuneReport::fixture(levels, Some(4))
        }
    }

    fn page_data(html: &str) -> serde_json::Value {
        let start = html.find("id=\"page-data\">").unwrap() + "id=\"page-data\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        serde_json::from_str(&html[start..end]).unwrap()
    }

    #[test]
    fn the_curve_spans_the_levels_and_follows_the_fit() {
        let mut html = Vec::new();
        render(&report(vec![level(1, 10.0), level(8, 80.0)]), &mut html).unwrap();
        let curve = page_data(&String::from_utf8(html).unwrap())["usl_curve"].clone();
        let points = curve.as_array().unwrap();
        assert_eq!(points.len(), CURVE_POINTS + 1);
        assert_eq!(points[0], serde_json::json!([1.0, 10.0]));
        let [n, x] = [
            points[CURVE_POINTS][0].as_f64().unwrap(),
            points[CURVE_POINTS][1].as_f64().unwrap(),
        ];
        // λ = 10, σ = κ = 0: linear scaling, X(N) = 10 N.
        assert!((n - 8.0).abs() < 1e-9 && (x - 80.0).abs() < 1e-6, "{n} {x}");
    }

    #[test]
    fn a_report_without_levels_is_refused() {
        let err = render(&report(Vec::new()), &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("no levels to draw"), "{err}");
    }
}
