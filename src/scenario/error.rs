//! Scenario errors that point into the file: path, line, column, byte span and a label.
//!
//! The library only records where and what; the CLI renders these with miette, so the
//! scenario module stays free of terminal concerns and other front ends can reuse it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read, or is too large to be a scenario.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system (or the size check) said.
        source: std::io::Error,
    },
    /// The file was read but is not a valid scenario; the error points into it.
    #[error("{0}")]
    Invalid(Box<Located>),
}

impl ScenarioError {
    /// The location in the file, unless the file could not be read at all.
    pub fn located(&self) -> Option<&Located> {
        match self {
            ScenarioError::Io { .. } => None,
            ScenarioError::Invalid(located) => Some(located),
        }
    }
}

/// A problem at a place in a scenario file.
///
/// Displays as `{path}:{line}:{column}: {message}`, the form editors and CI logs turn
/// into links.
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    /// The file, as given to [`load`](super::load) or [`parse`](super::parse).
    pub path: PathBuf,
    /// The whole text of the file, so a renderer can show the span in context.
    pub source: Arc<str>,
    /// Byte offsets into `source`, on character boundaries; may be empty (a point).
    pub span: Range<usize>,
    /// Line of `span.start`, from 1.
    pub line: usize,
    /// Column of `span.start` in characters, from 1.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
    /// A short text to show under the span.
    pub label: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

impl std::error::Error for Located {}

/// The file being checked: turns byte spans into [`Located`] errors.
#[derive(Debug)]
pub(crate) struct SourceMap {
    path: PathBuf,
    source: Arc<str>,
}

impl SourceMap {
    pub(crate) fn new(path: &Path, source: &str) -> Self {
        Self {
            path: path.to_owned(),
            source: source.into(),
        }
    }

    /// The text under `span`, cut at the end of the source; "" when the span is not on
    /// character boundaries.
    pub(crate) fn text(&self, span: Range<usize>) -> &str {
        let end = span.end.min(self.source.len());
        self.source.get(span.start..end).unwrap_or("")
    }

    /// The line (from 1) of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> usize {
        let end = self.floor(offset);
        self.source.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// An error at `span`.
    pub(crate) fn error(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> ScenarioError {
        // Spans come from toml, from our own searches or are empty; clamping keeps a bad one
        // from ever panicking a renderer that slices the source.
        let start = self.floor(span.start);
        let end = self.ceil(span.end.max(start));
        let line_start = self.source[..start].rfind('\n').map_or(0, |i| i + 1);
        ScenarioError::Invalid(Box::new(Located {
            path: self.path.clone(),
            source: Arc::clone(&self.source),
            span: start..end,
            line: self.line(start),
            column: self.source[line_start..start].chars().count() + 1,
            message: message.into(),
            label: label.into(),
        }))
    }

    /// A syntax or shape error reported by the toml deserializer.
    pub(crate) fn toml(&self, err: &toml::de::Error) -> ScenarioError {
        let span = err.span().unwrap_or(0..0);
        let mut message = err.message().trim().replace('\n', "; ");
        if message == "duplicate key" {
            message = format!(
                "duplicate key `{}` (expected each key once per table)",
                self.text(span.clone())
            );
        }
        let label = toml_label(&message);
        self.error(span, message, label)
    }

    fn floor(&self, offset: usize) -> usize {
        let mut at = offset.min(self.source.len());
        while !self.source.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    fn ceil(&self, offset: usize) -> usize {
        let mut at = offset.min(self.source.len());
        while !self.source.is_char_boundary(at) {
            at += 1;
        }
        at
    }
}

/// A short label for a toml or serde message: what was expected, where the message says.
fn toml_label(message: &str) -> String {
    if message.starts_with("unknown field") {
        return "unknown key".into();
    }
    if message.starts_with("missing field") {
        return "a required key is missing".into();
    }
    if message.starts_with("duplicate key") {
        return "defined twice".into();
    }
    match message.rfind("expected ") {
        Some(i) => message[i..].trim_end_matches(')').to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(err: ScenarioError) -> Located {
        match err {
            ScenarioError::Invalid(l) => *l,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let map = SourceMap::new(Path::new("s.toml"), "a = 1\nné = \"x\"\n");
        let at = located(map.error(10..13, "bad", "here"));
        assert_eq!((at.line, at.column), (2, 4));
        assert_eq!(at.to_string(), "s.toml:2:4: bad");
    }

    #[test]
    fn spans_outside_the_source_are_clamped_to_char_boundaries() {
        let map = SourceMap::new(Path::new("s.toml"), "é");
        let at = located(map.error(1..99, "bad", "here"));
        assert_eq!(at.span, 0..2);
        assert_eq!(&at.source[at.span.clone()], "é");
        #[allow(clippy::reversed_empty_ranges)]
        let at = located(map.error(7..3, "bad", "here"));
        assert_eq!(at.span, 2..2);
    }

    #[test]
    fn labels_of_serde_messages_say_what_was_expected() {
        assert_eq!(
            toml_label("invalid type: integer `5`, expected a string"),
            "expected a string"
        );
        assert_eq!(
            toml_label("unknown field `nmae`, expected one of `name`"),
            "unknown key"
        );
    }
}
