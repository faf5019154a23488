//! The analysis as text for a terminal: per tool, the steps that matter, the total, what
//! stands out, the what-if table and the recommendation.

use std::io::{self, Write};
use std::time::Duration;

use comfy_table::{CellAlignment, Table};

use super::analysis::{Analysis, short_trace};
use crate::report::Render;
use crate::report::terminal::STYLE;
use crate::units::{count, fmt_duration, fmt_secs};

/// Steps listed in full; the rest are summed up in one line (the JSON has them all).
const STEPS_SHOWN: usize = 12;

/// Renders an [`Analysis`] as text tables.
#[derive(Clone, Copy, Debug, Default)]
pub struct Terminal;

impl Render<Analysis> for Terminal {
    fn render(&self, a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{} · {} · {} · {} in {}",
            a.sources.join(", "),
            count(a.spans, "span"),
            count(a.traces as u64, "trace"),
            count(a.total.calls as u64, "tool call"),
            count(a.total.steps as u64, "step")
        )?;
        if a.total.steps == 0 {
            writeln!(
                out,
                "no tool calls found (expected spans with gen_ai.operation.name = execute_tool, \
                 openinference.span.kind = TOOL or traceloop.span.kind = tool)"
            )?;
            return Ok(());
        }
        // Joined with the server's trace: the client's overhead around its calls too.
        let joined = a.joined.is_some();
        let mut header = vec!["tool", "calls", "errors", "p50", "p90", "p99", "max"];
        if joined {
            header.extend(["overhead p50", "overhead p99"]);
        }
        let mut tools = table(header);
        for (name, t) in &a.tools {
            let mut row = vec![
                name.clone(),
                t.count.to_string(),
                t.errors.to_string(),
                fmt_secs(t.p50_s),
                fmt_secs(t.p90_s),
                fmt_secs(t.p99_s),
                fmt_secs(t.max_s),
            ];
            if joined {
                row.extend([t.overhead_p50_s, t.overhead_p99_s].map(|o| o.map_or("-".into(), fmt_secs)));
            }
            tools.add_row(row);
        }
        let columns = if joined { 1..9 } else { 1..7 };
        writeln!(out, "{}", right_aligned(tools, columns))?;
        for aside in &a.set_aside {
            writeln!(out, "set aside: {}", aside.text)?;
        }
        if let Some(j) = &a.joined {
            writeln!(
                out,
                "joined with the server's trace: {} hold {} of their own tool; the client's overhead around each \
                 call (its span less the server's) p50 {}, p99 {}",
                count(j.calls as u64, "call"),
                count(j.inner_spans as u64, "span"),
                fmt_secs(j.overhead_p50_s),
                fmt_secs(j.overhead_p99_s)
            )?;
        }
        writeln!(out)?;

        let ideal = a.max_concurrency.map_or("unlimited".to_string(), |n| format!("at {n}"));
        let mut steps = table(["step", "trace", "calls", "in flight", "work", "wall", "ideal", "eff"]);
        // The steps that lost most against their ideal, then the rest in order.
        let mut order: Vec<usize> = (0..a.steps.len()).collect();
        order.sort_by(|&x, &y| {
            let lost = |k: usize| a.steps[k].wall_s - a.steps[k].ideal_wall_s;
            lost(y).total_cmp(&lost(x)).then(x.cmp(&y))
        });
        order.truncate(STEPS_SHOWN);
        order.sort_unstable();
        for &k in &order {
            let s = &a.steps[k];
            steps.add_row(vec![
                (k + 1).to_string(),
                short_trace(&s.trace_id).to_string(),
                s.calls.to_string(),
                s.max_in_flight.to_string(),
                fmt_secs(s.work_s),
                fmt_secs(s.wall_s),
                fmt_secs(s.ideal_wall_s),
                format!("{:.0}%", s.efficiency * 100.0),
            ]);
        }
        writeln!(out, "{}", right_aligned(steps, 2..8))?;
        if a.steps.len() > order.len() {
            writeln!(
                out,
                "({} steps shown: those that lost most against their ideal; --json has every step)",
                order.len()
            )?;
        }
        let t = &a.total;
        writeln!(
            out,
            "\nin tools {} over {} · ideal ({ideal}) {} · efficiency {:.1}% · work {} · speedup {:.2}×",
            fmt_secs(t.wall_s),
            count(t.steps as u64, "step"),
            fmt_secs(t.ideal_wall_s),
            t.efficiency * 100.0,
            fmt_secs(t.work_s),
            t.speedup
        )?;
        for finding in &a.findings {
            writeln!(out, "! {}", finding.text)?;
        }
        writeln!(out, "\nwhat if max_concurrency were")?;
        for w in &a.what_if {
            let level = w.max_concurrency.map_or("unlimited".to_string(), |n| n.to_string());
            writeln!(
                out,
                "  {level:>9}  {:>9}  {:.2}×",
                fmt_duration(Duration::from_secs_f64(w.wall_s)),
                w.speedup
            )?;
        }
        match a.recommended {
            Some(n) => writeln!(out, "\nrecommended max_concurrency = {n}")?,
            None => writeln!(out, "\nno recommendation")?,
        }
        writeln!(out, "  {}", a.reason)
    }
}

pub(crate) fn table(header: impl IntoIterator<Item = &'static str>) -> Table {
    let mut t = Table::new();
    t.load_style(STYLE);
    t.set_header(header.into_iter().collect::<Vec<_>>());
    t
}

pub(crate) fn right_aligned(mut t: Table, columns: std::ops::Range<usize>) -> Table {
    for i in columns {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
            c.set_padding((1, 0));
        }
    }
    t
}
