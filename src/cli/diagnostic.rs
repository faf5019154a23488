//! Turns located scenario errors into miette reports with the offending source line.

use std::io::IsTerminal;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource, SourceSpan};

use crate::scenario::ScenarioError;

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

/// The error as text for stderr: a `path:line:column: message` line that editors and
/// grep understand, then the source excerpt with the span underlined.
pub(super) fn render(error: &ScenarioError) -> String {
    let mut out = format!("error: {error}\n");
    let Some(loc) = error.located() else {
        return out;
    };
    let diagnostic = Located {
        message: loc.message.clone(),
        code: NamedSource::new(loc.path.display().to_string(), loc.source.to_string()),
        span: (loc.span.start, loc.span.end.saturating_sub(loc.span.start)).into(),
        label: loc.label.clone(),
    };
    let theme = if std::io::stderr().is_terminal() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    // Rendering into a String cannot fail.
    let _ = handler.render_report(&mut out, &diagnostic);
    out
}
