//! The sweep as an SVG chart: throughput and p99 against concurrency, the fitted USL
//! curve, the SLO line and the recommended level; after a rate sweep, a second panel of
//! throughput and p99 against the offered arrival rate.
//!
//! Only plotters' SVG backend is used: the file is standalone text that opens in any
//! browser, and no font or bitmap library is linked.

use plotters::prelude::*;

use plotters::chart::DualCoordChartContext;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;

use super::model::{RateSweepReport, TuneReport};
use super::usl::UslFit;

/// Width and height of the chart, in pixels.
pub const SIZE: (u32, u32) = (960, 560);

/// Why the chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ChartError(e.to_string())
    }
}

/// How the concurrency axis is drawn: levels that span a wide range (doubling) read
/// best on a log₂ axis.
#[derive(Clone, Copy)]
struct Axis {
    log: bool,
}

impl Axis {
    fn x(self, n: f64) -> f64 {
        if self.log { n.log2() } else { n }
    }

    fn n(self, x: f64) -> f64 {
        if self.log { x.exp2() } else { x }
    }
}

/// How the latency axis is drawn, in milliseconds or their log₁₀.
#[derive(Clone, Copy)]
struct LatencyAxis {
    log: bool,
    /// The bottom of a log axis, a power of ten.
    floor_ms: f64,
}

impl LatencyAxis {
    fn y(self, ms: f64) -> f64 {
        if self.log { ms.max(self.floor_ms).log10() } else { ms }
    }

    fn ms(self, y: f64) -> f64 {
        if self.log { 10f64.powf(y) } else { y }
    }
}

/// A latency tick label: "500ms", "2.5s".
fn fmt_ms(ms: f64) -> String {
    if ms == 0.0 {
        "0".into()
    } else if ms >= 1000.0 {
        format!("{}s", (ms / 10.0).round() / 100.0)
    } else if ms >= 1.0 {
        format!("{}ms", (ms * 10.0).round() / 10.0)
    } else {
        format!("{}µs", (ms * 1000.0).round())
    }
}

/// The latency axis for these p99s (ms): log₁₀ when they span more than a factor of
/// 20 (a saturated level beside healthy ones), so the SLO and the healthy levels stay
/// readable; and its range.
fn latency_axis(ms: &[f64]) -> (LatencyAxis, std::ops::Range<f64>) {
    let lo_ms = ms.iter().copied().filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
    let hi_ms = ms.iter().copied().fold(0.0, f64::max);
    let log = lo_ms.is_finite() && hi_ms / lo_ms > 20.0;
    let axis = LatencyAxis {
        log,
        // A zero p99 sits at the bottom of a log axis rather than at minus infinity.
        floor_ms: if log { 10f64.powf(lo_ms.log10().floor()) } else { 0.0 },
    };
    let range = if log {
        axis.y(axis.floor_ms)..hi_ms.log10().ceil()
    } else {
        0.0..hi_ms.max(1e-6) * 1.15
    };
    (axis, range)
}

const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const RED: RGBColor = RGBColor(214, 39, 40);
const GREEN: RGBColor = RGBColor(44, 160, 44);
const GREY: RGBColor = RGBColor(127, 127, 127);

fn legend_line(color: RGBColor, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width))
}

/// Draws `report` as an SVG document: throughput and p99 by level and, after a rate
/// sweep, a second panel of throughput and p99 by arrival rate.
///
/// # Errors
///
/// [`ChartError`] when drawing fails (it does not for a report with at least one level).
pub fn render(report: &TuneReport) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let height = if report.rate_sweep.is_some() {
            SIZE.1 * 2
        } else {
            SIZE.1
        };
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, height)).into_drawing_area();
        root.fill(&WHITE)?;
        match &report.rate_sweep {
            None => draw_levels(&root, report)?,
            Some(sweep) => {
                let (top, bottom) = root.split_vertically(SIZE.1);
                draw_levels(&top, report)?;
                draw_rates(&bottom, report, sweep)?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}

/// Throughput (measured and fitted) and p99 against the level.
fn draw_levels<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, report: &TuneReport) -> Result<(), ChartError> {
    let levels = &report.levels;
    let (lo, hi) = (
        levels.first().map_or(1, |l| l.max_concurrency) as f64,
        levels.last().map_or(1, |l| l.max_concurrency) as f64,
    );
    let axis = Axis { log: hi / lo >= 16.0 };
    let (x0, x1) = (axis.x(lo), axis.x(hi).max(axis.x(lo) + 1.0));
    let pad = (x1 - x0) * 0.04;
    let x_range = (x0 - pad)..(x1 + pad);
    let fit = report.usl.as_ref().map(|u| UslFit {
        lambda: u.lambda,
        sigma: u.sigma,
        kappa: u.kappa,
        r_squared: u.r_squared,
    });
    let curve: Vec<(f64, f64)> = match fit {
        Some(fit) => (0..=200)
            .map(|i| x0 + (x1 - x0) * f64::from(i) / 200.0)
            .map(|x| (x, fit.throughput(axis.n(x))))
            .collect(),
        None => Vec::new(),
    };
    let top_x = levels
        .iter()
        .map(|l| l.throughput)
        .chain(curve.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.15;
    let slo_ms = report.criteria.slo_p99_s.map(|s| s * 1e3);
    let ms: Vec<f64> = levels.iter().map(|l| l.p99_s * 1e3).chain(slo_ms).collect();
    let (p99_axis, y_range) = latency_axis(&ms);

    let caption = format!(
        "{}: throughput and p99 by max_concurrency ({} clock)",
        report.scenario, report.clock
    );
    let mut chart = dual_chart(area, caption, x_range, top_x, y_range.clone())?;
    let tick = move |x: &f64| format!("{}", (axis.n(*x) * 100.0).round() / 100.0);
    chart
        .configure_mesh()
        .x_desc(if axis.log {
            "max_concurrency (log scale)"
        } else {
            "max_concurrency"
        })
        .y_desc("throughput (calls/s)")
        // On a log axis, one label per doubling: 1, 2, 4, ... rather than 1.41.
        .x_labels(if axis.log { (x1 - x0).round() as usize + 1 } else { 10 })
        .x_label_formatter(&tick)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    configure_latency_axis(&mut chart, p99_axis, &y_range)?;

    let measured: Vec<(f64, f64)> = levels
        .iter()
        .map(|l| (axis.x(l.max_concurrency as f64), l.throughput))
        .collect();
    draw_throughput(&mut chart, measured)?;
    if !curve.is_empty() {
        chart
            .draw_series(DashedLineSeries::new(curve, 6, 4, BLUE.mix(0.6).stroke_width(2)))?
            .label("USL fit")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.mix(0.6)));
    }
    let p99: Vec<(f64, f64)> = levels
        .iter()
        .map(|l| (axis.x(l.max_concurrency as f64), p99_axis.y(l.p99_s * 1e3)))
        .collect();
    draw_p99(&mut chart, p99, slo_ms.map(|slo| (slo, p99_axis.y(slo))), x0..x1)?;
    if let Some(n) = report.recommended {
        mark(&mut chart, axis.x(n as f64), top_x, format!("recommended: {n}"))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}

/// Throughput against the offered rate (with the line where they are equal) and p99,
/// at one level: where the two lines part, the system saturates.
fn draw_rates<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    report: &TuneReport,
    sweep: &RateSweepReport,
) -> Result<(), ChartError> {
    let rates = &sweep.rates;
    let (lo, hi) = (
        rates.first().map_or(1.0, |r| r.rate_per_s),
        rates.last().map_or(1.0, |r| r.rate_per_s),
    );
    let x1 = if hi > lo { hi } else { lo * 2.0 };
    let pad = (x1 - lo) * 0.04;
    let x_range = (lo - pad)..(x1 + pad);
    let top = rates
        .iter()
        .map(|r| r.throughput.max(r.rate_per_s))
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.15;
    let slo_ms = report.criteria.slo_p99_s.map(|s| s * 1e3);
    let ms: Vec<f64> = rates.iter().map(|r| r.p99_s * 1e3).chain(slo_ms).collect();
    let (p99_axis, y_range) = latency_axis(&ms);
    let caption = format!(
        "{}: throughput and p99 by arrival rate at max_concurrency {}",
        report.scenario, sweep.max_concurrency
    );
    let mut chart = dual_chart(area, caption, x_range, top, y_range.clone())?;
    chart
        .configure_mesh()
        .x_desc("offered arrival rate (calls/s)")
        .y_desc("throughput (calls/s)")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    configure_latency_axis(&mut chart, p99_axis, &y_range)?;
    chart
        .draw_series(DashedLineSeries::new(
            vec![(lo, lo), (x1, x1)],
            6,
            4,
            GREY.stroke_width(1),
        ))?
        .label("throughput = offered rate")
        .legend(legend_line(GREY, 1));
    let measured: Vec<(f64, f64)> = rates.iter().map(|r| (r.rate_per_s, r.throughput)).collect();
    draw_throughput(&mut chart, measured)?;
    let p99: Vec<(f64, f64)> = rates
        .iter()
        .map(|r| (r.rate_per_s, p99_axis.y(r.p99_s * 1e3)))
        .collect();
    draw_p99(&mut chart, p99, slo_ms.map(|slo| (slo, p99_axis.y(slo))), lo..x1)?;
    if let Some(r) = sweep.max_sustainable_rate_per_s {
        mark(&mut chart, r, top, format!("keeps up to {r}/s"))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}

/// The panel both charts share: a caption, throughput on the left axis (from 0 to `top`)
/// and p99 on the right (`latency`, in the latency axis's units).
fn dual_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: String,
    x: std::ops::Range<f64>,
    top: f64,
    latency: std::ops::Range<f64>,
) -> Result<Dual<'a, DB>, ChartError> {
    Ok(ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 22))
        .margin(18)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .right_y_label_area_size(70)
        .build_cartesian_2d(x.clone(), 0.0..top)?
        .set_secondary_coord(x, latency))
}

/// Measured throughput on the left axis: a line through dots.
fn draw_throughput<DB: DrawingBackend>(chart: &mut Dual<'_, DB>, points: Vec<(f64, f64)>) -> Result<(), ChartError> {
    chart
        .draw_series(LineSeries::new(points.clone(), BLUE.stroke_width(2)))?
        .label("throughput (measured)")
        .legend(legend_line(BLUE, 2));
    chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, BLUE.filled())))?;
    Ok(())
}

/// p99 on the right axis, and the SLO (`(ms, y on the axis)`) as a dashed line across `x`.
fn draw_p99<DB: DrawingBackend>(
    chart: &mut Dual<'_, DB>,
    points: Vec<(f64, f64)>,
    slo: Option<(f64, f64)>,
    x: std::ops::Range<f64>,
) -> Result<(), ChartError> {
    chart
        .draw_secondary_series(LineSeries::new(points.clone(), ORANGE.stroke_width(2)))?
        .label("p99 latency (right axis)")
        .legend(legend_line(ORANGE, 2));
    chart.draw_secondary_series(points.iter().map(|&p| TriangleMarker::new(p, 5, ORANGE.filled())))?;
    if let Some((ms, y)) = slo {
        chart
            .draw_secondary_series(DashedLineSeries::new(
                vec![(x.start, y), (x.end, y)],
                8,
                5,
                RED.stroke_width(1),
            ))?
            .label(format!("p99 SLO ({ms:.0} ms)"))
            .legend(legend_line(RED, 1));
    }
    Ok(())
}

/// A chart with throughput on the left axis and latency on the right.
type Dual<'a, DB> = DualCoordChartContext<
    'a,
    DB,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
>;

/// The right axis: p99, labelled as durations, one label per decade on a log scale.
fn configure_latency_axis<DB: DrawingBackend>(
    chart: &mut Dual<'_, DB>,
    axis: LatencyAxis,
    range: &std::ops::Range<f64>,
) -> Result<(), ChartError> {
    let tick = move |y: &f64| fmt_ms(axis.ms(*y));
    chart
        .configure_secondary_axes()
        .y_desc(if axis.log {
            "p99 end-to-end latency (log scale)"
        } else {
            "p99 end-to-end latency"
        })
        .y_labels(if axis.log {
            (range.end - range.start) as usize + 1
        } else {
            10
        })
        .y_label_formatter(&tick)
        .draw()?;
    Ok(())
}

/// A labelled vertical line at `x`, from 0 to `top` on the left axis.
fn mark<DB: DrawingBackend>(chart: &mut Dual<'_, DB>, x: f64, top: f64, label: String) -> Result<(), ChartError> {
    chart
        .draw_series(LineSeries::new(vec![(x, 0.0), (x, top)], GREEN.stroke_width(2)))?
        .label(label.clone())
        .legend(legend_line(GREEN, 2));
    // A few pixels right of the line, so the label does not sit on it.
    chart.draw_series(std::iter::once(
        EmptyElement::at((x, top * 0.97)) + Text::new(label, (6, 0), ("sans-serif", 15).into_font().color(&GREEN)),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::model::LevelReport;

    fn level(n: usize, throughput: f64) -> LevelReport {
        LevelReport::fixture(n, throughput)
    }

    fn report(levels: Vec<LevelReport>, recommended: Option<usize>) -> TuneReport {
        TuneReport {
            // Characters that SVG must escape.
            scenario: "s & <t>".into(),
            ..TuneReport::fixture(levels, recommended)
        }
    }

    #[test]
    fn degenerate_sweeps_still_draw_well_formed_svg() {
        let cases = [
            report(vec![level(1, 0.0)], None),
            report(vec![level(1, 5.0), level(3, 9.0)], Some(3)),
            report(vec![level(1, 5.0), level(64, 9.0)], None),
            // A saturated level beside healthy ones: a log latency axis, one zero p99.
            report(
                vec![
                    LevelReport {
                        p99_s: 30.0,
                        ..level(1, 1.0)
                    },
                    LevelReport {
                        p99_s: 0.05,
                        ..level(2, 2.0)
                    },
                    LevelReport {
                        p99_s: 0.0,
                        ..level(4, 2.0)
                    },
                ],
                Some(2),
            ),
        ];
        for r in cases {
            let svg = render(&r).unwrap();
            let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
            let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).map(str::trim).collect();
            // The scenario's name is escaped, not injected as markup.
            assert!(texts.iter().any(|t| t.starts_with("s & <t>")), "{texts:?}");
            assert_eq!(
                texts.iter().any(|t| t.starts_with("recommended")),
                r.recommended.is_some()
            );
            let log = texts.iter().any(|t| t.contains("(log scale)") && t.contains("latency"));
            assert_eq!(log, r.levels.iter().any(|l| l.p99_s >= 30.0), "{texts:?}");
        }
        assert_eq!(fmt_ms(2500.0), "2.5s");
        assert_eq!(fmt_ms(12.34), "12.3ms");
        assert_eq!(fmt_ms(0.25), "250µs");
        assert_eq!(fmt_ms(0.0), "0");
        {}
    }
}
