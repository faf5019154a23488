//! Turns located scenario errors into miette reports with the offending source line.

use std::io::IsTerminal;
use std::ops::Range;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource, SourceSpan};

use crate::scenario::ScenarioError;

/// Longest line, in bytes, that an excerpt shows. miette pads its underline with a
/// format width, which Rust caps at 65,535 (a span further right panics in miette 7.6),
/// and a line of megabytes helps no one read the error.
const MAX_EXCERPT_LINE: usize = 1000;

/// Most lines a span may cover and still be underlined whole; a longer one (a table
/// followed by a million blank lines) is shown by its first character.
const MAX_EXCERPT_LINES: usize = 40;

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
struct Located {
    message: String,
    #[source_code]
    code: NamedSource<String>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
}

/// The error as text for stderr, said once, as cargo and rustc say theirs: on a
/// terminal, the source excerpt with the span underlined under the message; otherwise (a
/// pipe, a log, an editor's build output) one `error: path:line:column: message` line
/// that editors and grep understand. An error with no excerpt to show is that line too.
pub(super) fn render(error: &ScenarioError) -> String {
    render_for(error, std::io::stderr().is_terminal())
}

fn render_for(error: &ScenarioError, terminal: bool) -> String {
    let line = format!("error: {error}\n");
    if !terminal {
        return line;
    }
    let Some(loc) = error.located() else {
        return line;
    };
    let Some(span) = excerpt_span(&loc.source, loc.span.clone()) else {
        return line;
    };
    let diagnostic = Located {
        message: loc.message.clone(),
        code: NamedSource::new(loc.path.display().to_string(), loc.source.to_string()),
        span: (span.start, span.len()).into(),
        label: loc.label.clone(),
    };
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode()).with_context_lines(1);
    let mut out = String::new();
    // Rendering into a String cannot fail.
    let _ = handler.render_report(&mut out, &diagnostic);
    out
}

/// The span to underline, or `None` when a line the excerpt would print (the span's, and
/// one of context on each side) is longer than [`MAX_EXCERPT_LINE`].
fn excerpt_span(source: &str, span: Range<usize>) -> Option<Range<usize>> {
    let covered = source.get(span.clone())?;
    let span = if covered.lines().count() > MAX_EXCERPT_LINES {
        span.start..span.start
    } else {
        span
    };
    let line_start = |at: usize| source[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = |at: usize| source[at..].find('\n').map_or(source.len(), |i| at + i);
    let first = line_start(span.start);
    let from = line_start(first.saturating_sub(1));
    let last = line_end(span.end);
    let to = line_end((last + 1).min(source.len()));
    source[from..to]
        .split('\n')
        .all(|line| line.len() <= MAX_EXCERPT_LINE)
        .then_some(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_spans_are_underlined_as_they_are() {
        let source = "a = 1\nb = [\n2,\n]\nc = 3\n";
        assert_eq!(excerpt_span(source, 6..16), Some(6..16));
        assert_eq!(excerpt_span(source, 0..0), Some(0..0));
        assert_eq!(
            excerpt_span(source, source.len()..source.len()),
            Some(source.len()..source.len())
        );
    }

    #[test]
    fn long_lines_near_the_span_leave_out_the_excerpt() {
        let long = "x".repeat(MAX_EXCERPT_LINE + 1);
        let on_the_line = format!("a = \"{long}\" z\n");
        assert_eq!(
            excerpt_span(&on_the_line, on_the_line.len() - 2..on_the_line.len() - 1),
            None
        );
        let next_line = format!("a = 1\n{long}\n");
        assert_eq!(excerpt_span(&next_line, 0..1), None);
        let two_lines_on = format!("a = 1\nb = 2\n{long}\n");
        assert_eq!(excerpt_span(&two_lines_on, 0..1), Some(0..1));
    }

    #[test]
    fn spans_over_many_lines_are_shown_by_their_start() {
        let source = format!("[[generate]]{}x = 1\n", "\n".repeat(10 * MAX_EXCERPT_LINES));
        assert_eq!(excerpt_span(&source, 0..source.len()), Some(0..0));
    }

    #[test]
    fn a_span_beyond_column_65535_renders_without_panicking() {
        let source = format!("name = \"{}\" x\n", "é".repeat(70_000));
        let err = crate::scenario::parse(&source, std::path::Path::new("wide.toml")).unwrap_err();
        let text = render_for(&err, true);
        assert!(text.starts_with("error: wide.toml:1:"), "{}", &text[..80]);
        assert!(text.len() < 1000, "no excerpt of the long line");
    }

    #[test]
    fn an_error_is_said_once_as_a_box_on_a_terminal_and_as_a_line_elsewhere() {
        let err = crate::scenario::parse("name = \"x\"\nseed = -1\n", std::path::Path::new("x.toml")).unwrap_err();
        let line = render_for(&err, false);
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(line.starts_with("error: x.toml:2:8: "), "{line}");
        let boxed = render_for(&err, true);
        assert!(
            !boxed.contains("error: x.toml"),
            "the message once, in the box: {boxed}"
        );
        assert!(boxed.contains("x.toml:2:8") && boxed.contains("seed = -1"), "{boxed}");
        let message = err.located().unwrap().message.clone();
        assert_eq!(boxed.matches(message.as_str()).count(), 1, "{boxed}");
    }
}
