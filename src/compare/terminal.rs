//! A comparison as text for a terminal: who is compared, how noise was judged, the
//! figures that differ, and the verdict.

use std::io::{self, Write};

use comfy_table::{CellAlignment, Table};

use super::fmt_change;
use super::model::{Comparison, Side, Verdict};
use crate::report::terminal::{STYLE, fmt_figure};

/// Writes `c` as text tables; figures that did not change are counted, not listed.
///
/// # Errors
///
/// When writing fails.
pub fn render(c: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "compare {}: {} → {} · threshold {}%",
        c.scenario, c.base.path, c.new.path, c.threshold_pct
    )?;
    writeln!(out, "  base  {}", describe(&c.base))?;
    writeln!(out, "  new   {}", describe(&c.new))?;
    writeln!(out, "noise: {}", c.noise_method.explain())?;
    let changed: Vec<_> = c.figures.iter().filter(|f| f.verdict != Verdict::Unchanged).collect();
    if !changed.is_empty() {
        let mut table = Table::new();
        table
            .load_style(STYLE)
            .set_header(vec!["figure", "base", "new", "change", "noise", "verdict"]);
        for f in &changed {
            table.add_row(vec![
                f.key.label(),
                fmt_figure(f.key.figure, f.base),
                fmt_figure(f.key.figure, f.new),
                fmt_change(f.change_pct),
                f.noise.as_str().to_string(),
                f.verdict.as_str().to_string(),
            ]);
        }
        for i in 1..6 {
            if let Some(column) = table.column_mut(i) {
                if i < 4 {
                    column.set_cell_alignment(CellAlignment::Right);
                }
                // No trailing blanks: a pasted table stays clean.
                column.set_padding((1, 0));
            }
        }
        // The verdict column is left-aligned and last: trim the blanks that pad it.
        for line in table.to_string().lines() {
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    let unchanged = c.figures.len() - changed.len();
    if changed.is_empty() {
        writeln!(out, "no change: all {} figures are the same", c.figures.len())?;
    } else if unchanged > 0 {
        writeln!(out, "{unchanged} more figures are the same")?;
    }
    for (side, only) in [("base", &c.only_in_base), ("new", &c.only_in_new)] {
        if !only.is_empty() {
            writeln!(out, "only in {side}: {}", only.join(", "))?;
        }
    }
    writeln!(out, "\n{}", headline(c))
}

/// One line for the verdict of the whole comparison.
pub fn headline(c: &Comparison) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if c.regressions > 0 {
        format!(
            "✗ {} beyond {}% and beyond noise, {}",
            plural(c.regressions, "regression"),
            c.threshold_pct,
            plural(c.improvements, "improvement")
        )
    } else {
        format!(
            "✓ no regression beyond {}% and beyond noise, {}",
            c.threshold_pct,
            plural(c.improvements, "improvement")
        )
    }
}

/// A side's clock, seed, repetitions and runs on one line.
pub fn describe(side: &Side) -> String {
    let runs: Vec<String> = side
        .runs
        .iter()
        .map(|r| format!("{} ×{}", r.mode.as_str(), r.max_concurrency))
        .collect();
    format!(
        "{} clock · seed {} · {} repetition{} · {}",
        side.clock,
        side.seed,
        side.repetitions,
        if side.repetitions == 1 { "" } else { "s" },
        runs.join(", ")
    )
}
