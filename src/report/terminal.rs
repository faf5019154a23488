//! The report as an aligned table for a terminal, readable at 80 columns.

use std::io::{self, Write};
use std::time::Duration;

use comfy_table::{CellAlignment, LineStyle, Table, TableStyle};

use super::Render;
use super::model::{
    AttemptOutcome, DeadlineComparison, Figure, LagFigures, Report, RunReport, Samples, Summary, ToolStats,
};
use super::speedup::BOUND_TOLERANCE;
use crate::units::{count, fmt_duration, fmt_secs};

/// Renders a [`Report`] as text tables.
#[derive(Clone, Copy, Debug, Default)]
pub struct Terminal;

/// Rules above and below the table and under its header; nothing between rows or
/// columns, so ten columns fit in 80 characters.
pub const STYLE: TableStyle = TableStyle::new()
    .top_border(LineStyle::none().fill('─').junction('─'))
    .header_separator(LineStyle::none().fill('─').junction('─'))
    .bottom_border(LineStyle::none().fill('─').junction('─'));

impl Render for Terminal {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let calls = report.runs.first().map_or(0, RunReport::call_count);
        writeln!(
            out,
            "{} · seed {} · {} clock · {}",
            report.scenario,
            report.seed,
            report.clock,
            count(calls as u64, "call")
        )?;
        writeln!(out, "{}", runs_table(report))?;
        writeln!(
            out,
            "Per run: end-to-end latency (queue wait + service). Per tool: service time."
        )?;
        if report.samples == Samples::Measured {
            writeln!(
                out,
                "Real tools: each run's latencies were measured, not drawn: the runs are not paired samples, and the \
                 speedup compares two measurements of the same calls."
            )?;
        }
        write_faults(out, &report.runs)?;
        write_executor_lag(out, &report.runs)?;
        if report.partial {
            if report.runs.iter().any(|r| r.interrupted) {
                writeln!(
                    out,
                    "! interrupted: the report holds what was measured until then (unfinished calls were \
                     cancelled); no speedup or expectation is derived from it"
                )?;
            } else {
                // The first repetition finished; a later one was cut short and dropped.
                let finished = report.repetitions.len().max(1);
                let asked = report
                    .repetitions_requested
                    .map_or(String::new(), |n| format!(" of {n}"));
                writeln!(
                    out,
                    "! interrupted after {finished}{asked} repetitions: the figures are those of the repetitions \
                     that finished; the one cut short was dropped"
                )?;
            }
        }
        for run in report.runs.iter().filter(|r| r.deadline_hit) {
            writeln!(
                out,
                "! the {} run hit the deadline: unfinished calls were cancelled",
                run.mode.as_str()
            )?;
        }
        if let Some(within) = &report.within_deadline {
            write_within_deadline(out, within)?;
        }
        if let (Some(speedup), Some(bound), Some(eff)) = (report.speedup, report.speedup_bound, report.efficiency) {
            let binding = report.bound.as_ref().map_or("", |b| b.binding.as_str());
            writeln!(
                out,
                "\nspeedup {speedup:.2}×  ·  bound {bound:.2}× (set by {binding})  ·  efficiency {:.1}%",
                eff * 100.0
            )?;
            if eff > BOUND_TOLERANCE {
                writeln!(
                    out,
                    "! the speedup is more than 2% above its bound: the sequential run was slowed by something \
                     other than the work (machine noise); rerun before trusting the figure"
                )?;
            }
        }
        if let Some(summary) = &report.summary {
            write_summary(out, summary)?;
        }
        if !report.expectations.is_empty() {
            writeln!(out, "\nexpectations")?;
            for e in &report.expectations {
                let mark = match e.ok {
                    Some(true) => "✓",
                    Some(false) => "✗",
                    None => "–",
                };
                writeln!(out, "  {mark} {:<18} {}", e.name, e.detail)?;
            }
        }
        Ok(())
    }
}

/// What went wrong and what the executor did about it, a line for each run where
/// anything did: retries, attempts that timed out, calls that failed, dependents skipped.
fn write_faults(out: &mut dyn Write, runs: &[RunReport]) -> io::Result<()> {
    let lines: Vec<String> = runs
        .iter()
        .filter_map(|r| {
            let sum = |f: fn(&ToolStats) -> usize| r.tools.values().map(f).sum::<usize>() as u64;
            let retries: u64 = r.tools.values().map(|t| t.retries).sum();
            // Attempts that timed out, as recorded; without per-call records (--no-calls),
            // the calls whose last attempt did.
            let timed_out = if r.calls.is_empty() {
                sum(|t| t.timeout)
            } else {
                r.calls
                    .iter()
                    .flat_map(|c| &c.attempt_spans)
                    .filter(|a| a.outcome == AttemptOutcome::Timeout)
                    .count() as u64
            };
            let (failed, skipped) = (sum(|t| t.error + t.timeout), sum(|t| t.skipped));
            if retries + timed_out + failed + skipped == 0 {
                return None;
            }
            let mut parts = vec![match retries {
                1 => "1 retry".to_string(),
                n => format!("{n} retries"),
            }];
            parts.push(format!("{} timed out", count(timed_out, "attempt")));
            parts.push(format!("{} failed", count(failed, "call")));
            if skipped > 0 {
                parts.push(format!("{skipped} skipped (a dependency failed)"));
            }
            Some(format!("  {:<11} {}", r.mode.as_str(), parts.join(" · ")))
        })
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "Faults (retries and timeouts per attempt; failed after every attempt):\n{}",
        lines.join("\n")
    )
}

/// The executor's own delays, a line for each real-clock run that measured them: what
/// the service times above leave out.
fn write_executor_lag(out: &mut dyn Write, runs: &[RunReport]) -> io::Result<()> {
    let figures = |lag: &LagFigures| {
        format!(
            "p50 {} · p99 {} · max {}",
            fmt_secs(lag.p50_s),
            fmt_secs(lag.p99_s),
            fmt_secs(lag.max_s)
        )
    };
    let measured: Vec<String> = runs
        .iter()
        .filter(|r| r.start_lag.is_some() || r.completion_lag.is_some())
        .map(|r| {
            let mut parts = Vec::new();
            if let Some(lag) = &r.start_lag {
                parts.push(format!("start {}", figures(lag)));
            }
            if let Some(lag) = &r.completion_lag {
                parts.push(format!("completion {}", figures(lag)));
            }
            format!("  {:<11} {}", r.mode.as_str(), parts.join("  ·  "))
        })
        .collect();
    if measured.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "Executor lag (admitted → begun, done → handled; never in a service time):\n{}",
        measured.join("\n")
    )
}

/// What compares when a run hit its deadline: the calls each run completed.
fn write_within_deadline(out: &mut dyn Write, within: &DeadlineComparison) -> io::Result<()> {
    let deadline = fmt_duration(Duration::from_secs_f64(within.deadline_s));
    writeln!(
        out,
        "\nno speedup: a run hit its {deadline} deadline, so the runs did different work"
    )?;
    let runs: Vec<String> = within
        .runs
        .iter()
        .map(|r| format!("{} {} of {} calls ({} ok)", r.mode.as_str(), r.completed, r.calls, r.ok))
        .collect();
    let ratio = match (within.ratio, within.runs.last()) {
        (Some(r), Some(last)) => format!(": {r:.2}× as many in the {} run", last.mode.as_str()),
        _ => String::new(),
    };
    writeln!(out, "completed within the deadline: {}{ratio}", runs.join(", "))
}

/// The figures a reader checks first, over every repetition: the table above shows the
/// first repetition only.
fn write_summary(out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
    writeln!(
        out,
        "\n{} repetitions ({}); the table above is the first. Median, {:.0}% interval of the median, range:",
        summary.repetitions,
        if summary.vary_seed { "a seed each" } else { "same seed" },
        summary.confidence * 100.0
    )?;
    let mut table = Table::new();
    table
        .load_style(STYLE)
        .set_header(vec!["figure", "median", "interval", "min", "max"]);
    let shown = summary.figures.iter().filter(|f| {
        f.key.tool.is_none()
            && matches!(
                f.key.figure,
                Figure::Speedup | Figure::Efficiency | Figure::WallS | Figure::P50S | Figure::P99S
            )
    });
    for f in shown {
        let fmt = |v| fmt_figure(f.key.figure, v);
        table.add_row(vec![
            f.key.label(),
            fmt(f.median),
            format!("[{}, {}]", fmt(f.ci_low), fmt(f.ci_high)),
            fmt(f.min),
            fmt(f.max),
        ]);
    }
    for i in 1..5 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
            column.set_padding((1, 0));
        }
    }
    writeln!(out, "{table}")
}

/// A figure's value in its own unit: a duration, a speedup (×), an efficiency (%), or
/// a count.
pub fn fmt_figure(figure: Figure, value: f64) -> String {
    match figure {
        f if f.is_seconds() => fmt_secs(value),
        Figure::Speedup => format!("{value:.2}×"),
        Figure::Efficiency => format!("{:.1}%", value * 100.0),
        _ if value.fract() == 0.0 => format!("{value:.0}"),
        _ => format!("{value:.1}"),
    }
}

fn runs_table(report: &Report) -> Table {
    let mut table = Table::new();
    table.load_style(STYLE).set_header(vec![
        "run / tool",
        "wall",
        "calls",
        "ok",
        "failed",
        "p50",
        "p90",
        "p99",
        "max",
    ]);
    for run in &report.runs {
        let ok: usize = run.tools.values().map(|t| t.ok).sum();
        let p = run.latency;
        table.add_row(vec![
            // ×N: at most N calls in flight, which a batch's size may hold below the limit.
            format!(
                "{} ×{}",
                run.mode.as_str(),
                run.batch_size
                    .map_or(run.max_concurrency, |b| b.min(run.max_concurrency))
            ),
            fmt_secs(run.wall_s),
            run.call_count().to_string(),
            ok.to_string(),
            (run.call_count() - ok).to_string(),
            fmt_secs(p.p50_s),
            fmt_secs(p.p90_s),
            fmt_secs(p.p99_s),
            fmt_secs(p.max_s),
        ]);
        for (name, t) in &run.tools {
            table.add_row(vec![
                format!("  {name}"),
                String::new(),
                t.count.to_string(),
                t.ok.to_string(),
                (t.count - t.ok).to_string(),
                fmt_secs(t.p50_s),
                fmt_secs(t.p90_s),
                fmt_secs(t.p99_s),
                fmt_secs(t.max_s),
            ]);
        }
    }
    for i in 1..9 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
            // One space between right-aligned numbers keeps the table within 80 columns.
            column.set_padding((1, 0));
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::SCHEMA_VERSION;

    fn report(speedup: f64, bound: f64) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            scenario: "s".into(),
            seed: 1,
            clock: "real".into(),
            samples: Default::default(),
            parabench_version: "0".into(),
            runs: Vec::new(),
            speedup: Some(speedup),
            speedup_bound: Some(bound),
            efficiency: Some(speedup / bound),
            bound: None,
            expectations: Vec::new(),
            repetitions: Vec::new(),
            summary: None,
            partial: false,
            repetitions_requested: None,
            within_deadline: None,
        }
    }

    fn rendered(r: &Report) -> String {
        let mut out = Vec::new();
        Terminal.render(r, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_speedup_above_its_bound_is_flagged() {
        assert!(rendered(&report(2.09, 2.0)).contains("above its bound"));
        let fine = rendered(&report(2.01, 2.0));
        assert!(fine.contains("speedup 2.01×") && !fine.contains("above its bound"));
    }

    #[test]
    fn a_report_cut_short_between_repetitions_says_how_many_finished() {
        let r = Report {
            partial: true,
            repetitions_requested: Some(3),
            ..report(4.0, 4.0)
        };
        let text = rendered(&r);
        assert!(text.contains("! interrupted after 1 of 3 repetitions"), "{text}");
        // The figures are the finished repetition's own, so they are shown.
        assert!(text.contains("speedup 4.00×"), "{text}");
        assert!(!text.contains("no speedup"), "{text}");
    }

    #[test]
    fn repetitions_add_a_summary_of_medians_and_intervals() {
        use crate::executor::RunMode;
        use crate::report::model::{FigureKey, FigureSummary};
        let mut r = report(5.0, 5.0);
        assert!(!rendered(&r).contains("repetitions"), "a single run has no summary");
        let figure = |mode, figure, median, ci: [f64; 2]| FigureSummary {
            key: FigureKey {
                mode,
                tool: None,
                figure,
            },
            median,
            min: ci[0],
            max: ci[1],
            ci_low: ci[0],
            ci_high: ci[1],
        };
        r.summary = Some(Summary {
            repetitions: 5,
            vary_seed: false,
            confidence: 0.95,
            method: String::new(),
            figures: vec![
                figure(None, Figure::Speedup, 4.98, [4.9, 5.0]),
                figure(Some(RunMode::Parallel), Figure::WallS, 0.4016, [0.4002, 0.41]),
                figure(Some(RunMode::Parallel), Figure::Retries, 0.0, [0.0, 0.0]),
            ],
        });
        let text = rendered(&r);
        assert!(text.contains("5 repetitions (same seed)"), "{text}");
        assert!(text.contains("[4.90×, 5.00×]"), "{text}");
        assert!(text.contains("401.6ms  [400.2ms, 410.0ms]"), "{text}");
        assert!(!text.contains("retries"), "only the main figures are shown: {text}");
    }

    #[test]
    fn durations_fit_a_cell() {
        let cases = [
            (0.0, "0"),
            (0.000_85, "850µs"),
            (0.120_34, "120.3ms"),
            (1.0021, "1.002s"),
            (123.0, "2m03s"),
        ];
        for (s, want) in cases {
            assert_eq!(fmt_secs(s), want);
        }
    }
}
