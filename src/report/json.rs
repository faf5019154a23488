//! The report as JSON (the contract of docs/contracts.md), and reading one back.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::error::Category;

use super::Render;
use super::model::{Report, SCHEMA_VERSION};

/// Renders a [`Report`] (or any other serializable document, such as the speedup
/// summary of the benches) as pretty-printed JSON, ending in a newline.
#[derive(Clone, Copy, Debug, Default)]
pub struct Json;

impl<T: serde::Serialize + ?Sized> Render<T> for Json {
    fn render(&self, document: &T, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, document)?;
        writeln!(out)
    }
}

/// What a reader of a report expects, for error messages.
const EXPECTED: &str = "expected a parabench run report (JSON as written by `parabench run --json`)";

/// Why a JSON report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing in the file.
    #[error("the file is empty; {EXPECTED}")]
    Empty,
    /// The JSON stops before its end: a write that was cut short.
    #[error("the JSON ends early at line {line}, column {column} (a truncated file?); {EXPECTED}")]
    Truncated {
        /// The last line read.
        line: usize,
        /// The column on it.
        column: usize,
    },
    /// Not JSON at all.
    #[error("not JSON ({0}); {EXPECTED}")]
    NotJson(serde_json::Error),
    /// JSON, but not the shape of a run report.
    #[error("not a parabench run report: {detail}; {EXPECTED}")]
    NotAReport {
        /// What is wrong with it.
        detail: String,
    },
    /// A report of a format version this build does not know.
    #[error("report schema_version {found} is not supported (this parabench reads version {SCHEMA_VERSION})")]
    UnknownVersion {
        /// The version in the file.
        found: u64,
    },
}

impl ReadError {
    /// Sorts a parse error of `text`: an end of input, or an error past the last
    /// content (a newline inside a string that was cut), means the file was truncated.
    fn of_json(e: serde_json::Error, text: &str) -> Self {
        let content_lines = text.trim_end().lines().count();
        match e.classify() {
            Category::Eof => ReadError::Truncated {
                line: e.line(),
                column: e.column(),
            },
            Category::Syntax if e.line() > content_lines => ReadError::Truncated {
                line: content_lines,
                column: text.trim_end().lines().last().map_or(0, |l| l.chars().count()),
            },
            Category::Syntax | Category::Io => ReadError::NotJson(e),
            Category::Data => ReadError::NotAReport { detail: e.to_string() },
        }
    }
}

/// Why a report file could not be read: the error names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadFileError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not a report this build reads.
    #[error("{}: {source}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        source: ReadError,
    },
}

/// Parses a report, refusing versions other than [`SCHEMA_VERSION`] with a clear error.
///
/// # Errors
///
/// [`ReadError`] when the text is not a report of this version.
pub fn read(text: &str) -> Result<Report, ReadError> {
    if text.trim().is_empty() {
        return Err(ReadError::Empty);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ReadError::of_json(e, text))?;
    let Some(object) = value.as_object() else {
        return Err(ReadError::NotAReport {
            detail: "the JSON is not an object".to_string(),
        });
    };
    if object.contains_key("levels") && object.contains_key("recommended") {
        return Err(ReadError::NotAReport {
            detail: "this is a `parabench tune` report".to_string(),
        });
    }
    if object.contains_key("base") && object.contains_key("figures") {
        return Err(ReadError::NotAReport {
            detail: "this is a `parabench compare` report".to_string(),
        });
    }
    match object.get("schema_version") {
        None => {
            return Err(ReadError::NotAReport {
                detail: "it has no schema_version".to_string(),
            });
        }
        Some(v) => match v.as_u64() {
            Some(found) if found == u64::from(SCHEMA_VERSION) => {}
            Some(found) => return Err(ReadError::UnknownVersion { found }),
            None => {
                return Err(ReadError::NotAReport {
                    detail: format!("its schema_version is {v}, not a version number"),
                });
            }
        },
    }
    serde_json::from_value(value).map_err(|e| ReadError::of_json(e, text))
}

/// Reads and parses the report in `path`, as [`read`] does.
///
/// # Errors
///
/// [`ReadFileError`], naming the file, when it cannot be read or is not a report of
/// this version.
pub fn read_file(path: &Path) -> Result<Report, ReadFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read(&text).map_err(|source| ReadFileError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_versions_are_refused() {
        let err = read(r#"{"schema_version": 2, "scenario": "x"}"#).unwrap_err();
        assert!(matches!(err, ReadError::UnknownVersion { found: 2 }));
        assert!(err.to_string().contains("reads version 1"));
    }

    #[test]
    fn each_kind_of_bad_input_says_what_it_is() {
        let cases = [
            ("", "the file is empty"),
            ("{\"schema_version\": 1, \"scen", "ends early at line 1"),
            ("{\"schema_version\": 1,\n \"scen\n", "ends early at line 2, column 6"),
            ("{\"a\": 1}}", "not JSON"),
            ("schema_version = 1", "not JSON"),
            ("[]", "not an object"),
            ("{\"name\": \"x\"}", "no schema_version"),
            ("{\"schema_version\": \"1\"}", "not a version number"),
            (
                "{\"schema_version\": 1, \"levels\": [], \"recommended\": 4}",
                "`parabench tune` report",
            ),
            ("{\"schema_version\": 1, \"scenario\": \"x\"}", "missing field `seed`"),
        ];
        for (text, want) in cases {
            let message = read(text).unwrap_err().to_string();
            assert!(message.contains(want), "{text:?}: {message}");
            if !message.contains("schema_version 2") {
                assert!(message.contains("expected a parabench run report"), "{message}");
            }
        }
    }

    #[test]
    fn file_errors_name_the_file() {
        let missing = read_file(Path::new("no/such/base.json")).unwrap_err().to_string();
        assert!(missing.starts_with("cannot read no/such/base.json: "), "{missing}");
    }
}
