//! The served report as text: per tool what the client did with it, then the analysis
//! of its steps (as `analyze` prints it), then what stands out.

use std::io::{self, Write};

use super::report::ServedReport;
use crate::observed::terminal::{Terminal as AnalysisTerminal, right_aligned, table};
use crate::report::Render;
use crate::units::{count, fmt_secs};

/// Renders a [`ServedReport`] as text tables.
#[derive(Clone, Copy, Debug, Default)]
pub struct Terminal;

impl Render<ServedReport> for Terminal {
    fn render(&self, r: &ServedReport, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "served `{}` (seed {}) for {} · {} from {}",
            r.scenario,
            r.seed,
            fmt_secs(r.served_s),
            count(r.served.calls as u64, "call"),
            count(r.sessions.len() as u64, "session")
        )?;
        let mut tools = table([
            "tool",
            "calls",
            "ok",
            "failed",
            "cancelled",
            "rejected",
            "retries",
            "in flight",
            "limit",
            "beyond",
            "service p50",
            "p99",
        ]);
        for (name, t) in &r.served_tools {
            let n = |s: &str| t.statuses.get(s).copied().unwrap_or(0);
            let limit = match (t.max_concurrency, t.rate_limit) {
                (Some(c), Some(rate)) => format!("{c} ({}), {rate}/s", t.limit_policy),
                (Some(c), None) => format!("{c} ({})", t.limit_policy),
                (None, Some(rate)) => format!("{rate}/s ({})", t.limit_policy),
                (None, None) => "-".into(),
            };
            tools.add_row(vec![
                name.clone(),
                t.calls.to_string(),
                n("ok").to_string(),
                (n("error") + n("timeout")).to_string(),
                n("cancelled").to_string(),
                n("rejected").to_string(),
                t.retries.to_string(),
                t.max_in_flight.to_string(),
                limit,
                t.beyond_limit.to_string(),
                fmt_secs(t.service_p50_s),
                fmt_secs(t.service_p99_s),
            ]);
        }
        writeln!(out, "{}\n", right_aligned(tools, 1..12))?;
        if r.served.calls > 0 {
            AnalysisTerminal.render(&r.analysis, out)?;
        }
        for note in &r.notes {
            writeln!(out, "! {note}")?;
        }
        Ok(())
    }
}
