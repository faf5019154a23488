//! The tune report as a table per level, then the recommendation and the model.

use std::io::{self, Write};

use comfy_table::{CellAlignment, LineStyle, Table, TableStyle};

use super::model::TuneReport;
use crate::units::{count, fmt_secs};

/// Rules above and below the table and under its header, as in `parabench run`.
const STYLE: TableStyle = TableStyle::new()
    .top_border(LineStyle::none().fill('─').junction('─'))
    .header_separator(LineStyle::none().fill('─').junction('─'))
    .bottom_border(LineStyle::none().fill('─').junction('─'));

/// Writes `report` as text.
///
/// # Errors
///
/// When writing fails.
pub fn render(report: &TuneReport, out: &mut dyn Write) -> io::Result<()> {
    let load = match &report.arrivals {
        Some(a) => format!(
            "open loop: {} arrivals at {}/s for {}",
            a.process,
            a.rate_per_s,
            fmt_secs(a.duration_s)
        ),
        None => "closed batch".to_string(),
    };
    writeln!(
        out,
        "{} · seed {} · {} clock · {} · {load}",
        report.scenario,
        report.seed,
        report.clock,
        count(report.calls as u64, "call")
    )?;
    let mut table = Table::new();
    table.load_style(STYLE).set_header(vec![
        "limit",
        "wall",
        "calls/s",
        "speedup",
        "eff",
        "p50",
        "p99",
        "queue p50",
        "queue p99",
        "errors",
        "retries",
    ]);
    for l in &report.levels {
        let mark = if report.recommended == Some(l.max_concurrency) {
            "▶"
        } else {
            " "
        };
        table.add_row(vec![
            format!("{mark}{}", l.max_concurrency),
            fmt_secs(l.wall_s),
            format!("{:.1}", l.throughput),
            l.speedup.map_or("–".into(), |s| format!("{s:.2}×")),
            l.efficiency.map_or("–".into(), |e| format!("{:.0}%", e * 100.0)),
            fmt_secs(l.p50_s),
            fmt_secs(l.p99_s),
            fmt_secs(l.queue_p50_s),
            fmt_secs(l.queue_p99_s),
            l.errors.to_string(),
            l.retries.to_string(),
        ]);
    }
    for i in 0..11 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
            column.set_padding((1, 0));
        }
    }
    writeln!(out, "{table}")?;
    writeln!(
        out,
        "Latency is end to end (queue wait + service), from each call's readiness{}; eff = speedup / its bound.",
        if report.arrivals.is_some() {
            " or intended arrival"
        } else {
            ""
        }
    )?;
    match report.recommended {
        Some(n) => writeln!(out, "\nrecommended max_concurrency = {n}")?,
        None => writeln!(out, "\nno recommendation")?,
    }
    writeln!(out, "  {}", report.reason)?;
    match &report.usl {
        Some(u) => {
            let peak = u.peak_n.map_or("none".to_string(), |n| format!("{n:.1}"));
            writeln!(
                out,
                "\nUSL fit  λ = {:.2} calls/s  σ = {:.4}  κ = {:.2e}  N* = {peak}  R² = {:.3}",
                u.lambda, u.sigma, u.kappa, u.r_squared
            )?;
        }
        None => writeln!(out)?,
    }
    writeln!(out, "  {}", report.usl_note)?;
    if let Some(sweep) = &report.rate_sweep {
        writeln!(
            out,
            "\nopen loop by arrival rate, max_concurrency {}",
            sweep.max_concurrency
        )?;
        let mut table = Table::new();
        table.load_style(STYLE).set_header(vec![
            "rate/s",
            "calls",
            "wall",
            "calls/s",
            "p50",
            "p99",
            "queue mean",
            "queue p99",
            "errors",
            "keeps up",
        ]);
        for r in &sweep.rates {
            table.add_row(vec![
                format!("{}", r.rate_per_s),
                r.calls.to_string(),
                fmt_secs(r.wall_s),
                format!("{:.1}", r.throughput),
                fmt_secs(r.p50_s),
                fmt_secs(r.p99_s),
                fmt_secs(r.queue_mean_s),
                fmt_secs(r.queue_p99_s),
                r.errors.to_string(),
                if r.keeps_up { "yes" } else { "no" }.to_string(),
            ]);
        }
        for i in 0..10 {
            if let Some(column) = table.column_mut(i) {
                column.set_cell_alignment(CellAlignment::Right);
                column.set_padding((1, 0));
            }
        }
        writeln!(out, "{table}")?;
        writeln!(out, "  {}", sweep.reason)?;
    }
    Ok(())
}
