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
        let mut message = tidy(&in_toml_words(&err.message().trim().replace('\n', "; ")));
        if message.starts_with("invalid type: table, expected an array") && !self.text(span.clone()).starts_with("[[") {
            message.push_str(" (an array of tables is written [[NAME]], once before each entry)");
        }
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

/// Characters of user text a message quotes before cutting it short.
const QUOTED_CHARS: usize = 60;

/// Names an "expected one of" list shows before saying how many more there are.
const LISTED_NAMES: usize = 12;

/// `text` in backquotes for a message: see [`shown`].
pub(crate) fn quoted(text: &str) -> String {
    format!("`{}`", shown(text))
}

/// User text as a message shows it: [`hidden`] characters escaped (`\u{202e}`), so a
/// message cannot rewrite the terminal it is printed to, and cut after [`QUOTED_CHARS`]
/// characters, so a megabyte-long id gives a one-line message.
pub(crate) fn shown(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == QUOTED_CHARS {
            out.push('…');
            break;
        }
        push_shown(&mut out, c);
    }
    out
}

/// Appends `c`, escaped (`\u{1b}`) when it is [`hidden`].
fn push_shown(out: &mut String, c: char) {
    if hidden(c) {
        out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
    } else {
        out.push(c);
    }
}

/// Whether `c` acts on a terminal or on the text around it instead of showing itself:
/// control characters (NUL, ESC, newline, DEL, C1) and the bidirectional controls that
/// can make text read differently from what it is (U+061C, U+200E/F, U+202A–E,
/// U+2066–9).
pub(crate) fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A number as a message shows it: as written for everyday magnitudes, in scientific
/// notation for tiny or huge ones (`1e-300` rather than three hundred zeros).
pub(crate) fn number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() || (1e-4..1e15).contains(&x.abs()) {
        x.to_string()
    } else {
        format!("{x:e}")
    }
}

/// `names` joined by commas, at most [`LISTED_NAMES`] of them and then how many more.
pub(crate) fn one_of(names: &[&str]) -> String {
    let listed: Vec<String> = names.iter().take(LISTED_NAMES).map(|n| shown(n)).collect();
    match names.len().saturating_sub(LISTED_NAMES) {
        0 => listed.join(", "),
        more => format!("{}, … ({more} more)", listed.join(", ")),
    }
}

/// Longest toml or serde message shown, in characters, after [`tidy`] cut its quotes.
const MESSAGE_CHARS: usize = 400;

/// A toml or serde message made safe to print: [`hidden`] characters escaped, each part
/// in backquotes or double quotes cut after [`QUOTED_CHARS`] characters, and the whole
/// after [`MESSAGE_CHARS`]. Serde quotes an unknown key or a wrong value whole, and
/// either may be megabytes long or carry an escape sequence.
fn tidy(message: &str) -> String {
    let mut out = String::new();
    // Characters since the opening quote, while inside one.
    let mut inside: Option<usize> = None;
    let mut kept = 0;
    for c in message.chars() {
        if c == '`' || c == '"' {
            inside = if inside.is_some() { None } else { Some(0) };
        } else if let Some(n) = inside {
            inside = Some(n + 1);
            if n > QUOTED_CHARS {
                continue;
            }
        }
        if kept == MESSAGE_CHARS {
            out.push('…');
            break;
        }
        kept += 1;
        if inside == Some(QUOTED_CHARS + 1) {
            out.push('…');
        } else {
            push_shown(&mut out, c);
        }
    }
    out
}

/// Serde's names for types, in the words of TOML and of the scenario format.
const TOML_WORDS: [(&str, &str); 9] = [
    // An integer beyond 64 bits is not a wrong type but a number out of range.
    (
        "` as i128, expected i64",
        "` is out of range, expected an integer from -9223372036854775808 to 9223372036854775807",
    ),
    ("expected i64", "expected an integer"),
    ("expected u64", "expected an integer from 0 to 18446744073709551615"),
    ("expected i32", "expected an integer from -2147483648 to 2147483647"),
    ("expected f64", "expected a number"),
    ("invalid type: sequence", "invalid type: array"),
    ("invalid type: map", "invalid type: table"),
    ("expected a sequence", "expected an array"),
    ("expected a map", "expected a table"),
];

/// `message` with serde's type names (i64, sequence, map) in TOML's words.
fn in_toml_words(message: &str) -> String {
    let message = if message.contains("` as i128") {
        message.trim_start_matches("invalid type: ")
    } else {
        message
    };
    TOML_WORDS
        .iter()
        .fold(message.to_owned(), |m, (serde, toml)| m.replace(serde, toml))
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
    fn quoted_text_is_escaped_and_cut_short() {
        assert_eq!(quoted("s1"), "`s1`");
        assert_eq!(quoted("検索"), "`検索`");
        assert_eq!(quoted("a\u{0}b\u{1b}[2J"), "`a\\u{0}b\\u{1b}[2J`");
        assert_eq!(quoted("\u{202e}x"), "`\\u{202e}x`");
        let long = quoted(&"x".repeat(1_000_000));
        assert_eq!(long.chars().count(), QUOTED_CHARS + 3);
        assert!(long.ends_with("…`"));
    }

    #[test]
    fn numbers_of_extreme_magnitude_are_shown_in_scientific_notation() {
        assert_eq!(number(1.5), "1.5");
        assert_eq!(number(20.0), "20");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::NEG_INFINITY), "-inf");
        assert_eq!(number(1e-300), "1e-300");
        assert_eq!(number(-1.7e308), "-1.7e308");
    }

    #[test]
    fn long_lists_of_names_say_how_many_more() {
        assert_eq!(one_of(&["a", "b"]), "a, b");
        let names: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let list = one_of(&names);
        assert!(list.starts_with("t0, t1, "), "{list}");
        assert!(list.ends_with("t11, … (88 more)"), "{list}");
    }

    #[test]
    fn toml_messages_are_escaped_and_their_quotes_cut_short() {
        assert_eq!(
            tidy("unknown field `a\u{1b}b`, expected `name`"),
            "unknown field `a\\u{1b}b`, expected `name`"
        );
        let long = format!("unknown field `{}`, expected one of `name`", "k".repeat(10_000));
        let tidied = tidy(&long);
        assert_eq!(
            tidied,
            format!("unknown field `{}…`, expected one of `name`", "k".repeat(QUOTED_CHARS))
        );
        let unquoted = tidy(&"word ".repeat(10_000));
        assert_eq!(unquoted.chars().count(), MESSAGE_CHARS + 1);
    }

    #[test]
    fn serde_type_names_become_toml_words() {
        assert_eq!(
            in_toml_words("invalid type: integer `99999999999999999999` as i128, expected i64"),
            "integer `99999999999999999999` is out of range, expected an integer from -9223372036854775808 to \
             9223372036854775807"
        );
        assert_eq!(
            in_toml_words("invalid type: map, expected a sequence"),
            "invalid type: table, expected an array"
        );
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
