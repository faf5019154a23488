//! A comparison as Markdown, for a pull-request comment.

use std::io::{self, Write};

use super::fmt_change;
use super::model::{Comparison, FigureChange, Verdict};
use super::terminal::{describe, headline};
use crate::report::terminal::fmt_figure;

/// Writes `c` as a Markdown section: the verdict first, then the figures that differ.
///
/// # Errors
///
/// When writing fails.
pub fn render(c: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### parabench compare: `{}`\n", code(&c.scenario))?;
    writeln!(out, "**{}**\n", headline(c))?;
    writeln!(out, "- base `{}`: {}", code(&c.base.path), describe(&c.base))?;
    writeln!(out, "- new `{}`: {}", code(&c.new.path), describe(&c.new))?;
    writeln!(out, "- noise: {}", c.noise_method.explain())?;
    for (side, only) in [("base", &c.only_in_base), ("new", &c.only_in_new)] {
        if !only.is_empty() {
            writeln!(out, "- only in {side}: {}", escape(&only.join(", ")))?;
        }
    }
    let changed: Vec<_> = c.figures.iter().filter(|f| f.verdict != Verdict::Unchanged).collect();
    if changed.is_empty() {
        return writeln!(out, "\nNo change: all {} figures are the same.", c.figures.len());
    }
    // What a reviewer must act on comes first; changes that do not count fold away.
    let (decisive, minor): (Vec<&FigureChange>, Vec<&FigureChange>) = changed
        .iter()
        .partition(|f| matches!(f.verdict, Verdict::Regressed | Verdict::Improved));
    if !decisive.is_empty() {
        writeln!(out)?;
        table(&decisive, out)?;
    }
    if !minor.is_empty() {
        writeln!(
            out,
            "\n<details><summary>{} changes within noise or below the threshold</summary>\n",
            minor.len()
        )?;
        table(&minor, out)?;
        writeln!(out, "\n</details>")?;
    }
    let unchanged = c.figures.len() - changed.len();
    if unchanged > 0 {
        writeln!(out, "\n{unchanged} more figures are the same.")?;
    }
    Ok(())
}

fn table(rows: &[&FigureChange], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "| figure | base | new | change | noise | verdict |")?;
    writeln!(out, "|---|---:|---:|---:|---|---|")?;
    for f in rows {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            escape(&f.key.label()),
            fmt_figure(f.key.figure, f.base),
            fmt_figure(f.key.figure, f.new),
            fmt_change(f.change_pct),
            f.noise.as_str(),
            f.verdict.as_str()
        )?;
    }
    Ok(())
}

/// Text for a code span, where backslash escapes do not apply: only a backtick could
/// end it early.
fn code(text: &str) -> String {
    text.replace('`', "'")
}

/// Keeps names from breaking the table or the formatting.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '|' | '`' | '*' | '_' | '<' | '>' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_break_the_table() {
        assert_eq!(escape("a|b_c"), "a\\|b\\_c");
        assert_eq!(code("my`file.json"), "my'file.json");
    }
}
