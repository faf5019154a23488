//! The speedup summary as Markdown: a table to paste into a pull request or a CI job's
//! summary page.

use std::io::{self, Write};

use super::summary::{SpeedupSummary, SummaryRow};
use crate::executor::RunMode;
use crate::report::Render;
use crate::units::fmt_secs;

/// Renders a [`SpeedupSummary`] as a Markdown page.
///
/// # Examples
///
/// ```
/// use parabench::report::Render;
/// use parabench::bench::markdown::Markdown;
/// use parabench::bench::summary::SpeedupSummary;
///
/// let mut out = Vec::new();
/// Markdown.render(&SpeedupSummary::new("virtual", Vec::new()), &mut out).unwrap();
/// assert!(String::from_utf8(out).unwrap().starts_with("# parabench speedup report"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Markdown;

impl Render<SpeedupSummary> for Markdown {
    /// Writes `summary` to `out`: the speedup table, what the bench measured, and the
    /// expectations that failed.
    fn render(&self, summary: &SpeedupSummary, out: &mut dyn Write) -> io::Result<()> {
        let rows = &summary.rows;
        let judged: Vec<&SummaryRow> = rows.iter().filter(|r| r.expect_held.is_some()).collect();
        let held = judged.iter().filter(|r| r.expect_held == Some(true)).count();
        writeln!(out, "# parabench speedup report\n")?;
        writeln!(
            out,
            "{} clock · parabench {} · {} scenarios · expectations held in {held} of {}\n",
            summary.clock,
            summary.parabench_version,
            rows.len(),
            judged.len()
        )?;
        writeln!(
            out,
            "| scenario | calls | sequential | parallel | speedup | bound (set by) | efficiency | p99 | expect |"
        )?;
        writeln!(out, "|---|--:|--:|--:|--:|---|--:|--:|:-:|")?;
        for r in rows {
            writeln!(
                out,
                "| {} | {} | {} | {} {}×{} | {} | {} | {} | {} | {} |",
                cell(&r.scenario),
                r.calls,
                fmt_secs(r.sequential_s),
                fmt_secs(r.parallel_s),
                if r.parallel_mode == RunMode::Batch {
                    "batch "
                } else {
                    ""
                },
                r.max_concurrency,
                r.speedup.map_or("–".into(), |s| format!("{s:.2}×")),
                match (r.speedup_bound, &r.binding) {
                    (Some(b), Some(binding)) => format!("{b:.2}× ({})", cell(binding)),
                    _ => "– (a run hit its deadline)".into(),
                },
                r.efficiency.map_or("–".into(), |e| format!("{:.1}%", e * 100.0)),
                fmt_secs(r.p99_s),
                match r.expect_held {
                    Some(true) => "✓",
                    Some(false) => "✗",
                    None => "–",
                }
            )?;
        }
        writeln!(
            out,
            "\nsequential and parallel are wall times on the {} clock; speedup = sequential / parallel; \
             bound = the work–span limit on the speedup; efficiency = speedup / bound; p99 = end-to-end \
             call latency in the parallel run.",
            summary.clock
        )?;

        let benched: Vec<&SummaryRow> = rows.iter().filter(|r| r.bench.is_some()).collect();
        if !benched.is_empty() {
            writeln!(out, "\n## Time to run each mode on this machine (criterion mean)\n")?;
            writeln!(out, "| scenario | sequential run | parallel run |")?;
            writeln!(out, "|---|--:|--:|")?;
            for r in benched {
                let bench = r.bench.expect("filtered on bench");
                writeln!(
                    out,
                    "| {} | {} | {} |",
                    cell(&r.scenario),
                    fmt_secs(bench.sequential_s),
                    fmt_secs(bench.parallel_s)
                )?;
            }
        }

        let failed: Vec<&SummaryRow> = rows.iter().filter(|r| r.expect_held == Some(false)).collect();
        if !failed.is_empty() {
            writeln!(out, "\n## Expectations that did not hold\n")?;
            for r in failed {
                for e in &r.failed_expectations {
                    writeln!(out, "- `{}` {}", r.scenario, cell(e))?;
                }
            }
        }
        Ok(())
    }
}

/// Text safe inside a table cell: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::summary::tests::{TEN_AT_FIVE, virtual_report};
    use crate::bench::summary::{BenchTimes, SummaryRow};
    use crate::harness::Modes;

    fn render(summary: &SpeedupSummary) -> String {
        let mut out = Vec::new();
        Markdown.render(summary, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_row_per_scenario_with_its_figures() {
        let report = virtual_report(TEN_AT_FIVE, Modes::Compare);
        let mut row = SummaryRow::from_report(&report, "ten.toml", None).unwrap();
        let mut other = row.clone();
        other.scenario = "a|b".into();
        other.expect_held = None;
        other.failed_expectations.clear();
        other.bench = Some(BenchTimes {
            sequential_s: 0.000_25,
            parallel_s: 0.0015,
        });
        row.bench = None;
        let mut batch = row.clone();
        batch.scenario = "batched".into();
        batch.parallel_mode = RunMode::Batch;
        let text = render(&SpeedupSummary::new("virtual", vec![row, other, batch]));
        assert!(
            text.contains(
                "| ten | 10 | 1.000s | 200.0ms ×5 | 5.00× | 5.00× (max_concurrency) | 100.0% | 200.0ms | ✗ |"
            ),
            "{text}"
        );
        assert!(text.contains("| a\\|b | 10 |"), "pipes are escaped:\n{text}");
        assert!(text.contains("| batched | 10 | 1.000s | 200.0ms batch ×5 |"), "{text}");
        assert!(text.contains("expectations held in 0 of 2"), "{text}");
        assert!(text.contains("| a\\|b | 250µs | 1.5ms |"), "{text}");
        assert!(!text.contains("| ten | 1.000s"), "no bench row without bench times");
        assert!(text.contains("- `ten` max_p99: 200.0ms > 150.0ms"), "{text}");
    }

    #[test]
    fn an_empty_summary_still_renders_its_header() {
        let text = render(&SpeedupSummary::new("real", Vec::new()));
        assert!(text.contains("real clock"));
        assert!(text.contains("0 scenarios"));
        assert!(!text.contains("## "), "no sections without rows:\n{text}");
    }
}
