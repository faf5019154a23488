//! Trace files, their format told from their content (never from their name): one
//! OTLP/JSON or Jaeger JSON document, or JSON Lines of OTLP/JSON documents, read a line
//! at a time so a file of a gigabyte is read in bounded memory.
//!
//! A file that is none of these, a truncated line, a span without times or one that
//! ends before it starts is an error naming the file and the line; nothing of a file
//! with an error is kept.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use serde::Deserialize;

use super::jaeger::{self, JaegerTrace};
use super::otlp::{self, SpanError};
use super::span::Spans;

/// What a trace file held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One OTLP/JSON document (`TracesData`, `ExportTraceServiceRequest`, Tempo's
    /// `batches`).
    OtlpJson,
    /// OTLP/JSON documents, one per line (the Collector's `file` exporter,
    /// `parabench run --trace-file`).
    OtlpJsonLines,
    /// A Jaeger JSON document.
    Jaeger,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::OtlpJson => "OTLP/JSON",
            Format::OtlpJsonLines => "OTLP/JSON Lines",
            Format::Jaeger => "Jaeger JSON",
        })
    }
}

/// What a trace file should look like, for messages.
const EXPECTED: &str = "expected OTLP/JSON ({\"resourceSpans\": [...]}, or one per line), Tempo's \
                        {\"batches\": [...]} or Jaeger JSON ({\"data\": [...]})";

/// Why a trace file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not JSON, truncated JSON, or JSON that is not a trace.
    #[error("{path}:{line}:{column}: {reason}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the problem.
        line: usize,
        /// Its column.
        column: usize,
        /// What was wrong, and what was expected.
        reason: String,
    },
    /// A span that cannot be analysed.
    #[error("{path}:{line}: {error}")]
    Span {
        /// The file.
        path: PathBuf,
        /// The line of the document that holds the span.
        line: usize,
        /// What is wrong with it.
        error: SpanError,
    },
}

/// One document, whichever format: the key it has says which.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    resource_spans: Option<Vec<ResourceSpans>>,
    batches: Option<Vec<ResourceSpans>>,
    data: Option<Vec<JaegerTrace>>,
}

impl Document {
    /// Adds its spans to `out`; `Err(None)` when it is not a trace document at all.
    fn collect(&self, out: &mut Spans) -> Result<bool, Option<SpanError>> {
        if let Some(traces) = &self.data {
            jaeger::collect(traces, out).map_err(Some)?;
            return Ok(true);
        }
        if self.resource_spans.is_none() && self.batches.is_none() {
            return Err(None);
        }
        let all = self.resource_spans.iter().chain(&self.batches).flatten();
        otlp::collect(all, out).map_err(Some)?;
        Ok(false)
    }
}

/// Reads the trace file at `path` into `out`, and says what format it was.
///
/// # Errors
///
/// [`ReadError`] naming the file and line; `out` is then left as it was.
pub fn read_file(path: &Path, out: &mut Spans) -> Result<Format, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let json = |line: usize, column: usize, reason: String| ReadError::Json {
        path: path.to_path_buf(),
        line,
        column,
        reason,
    };
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?);
    let mut text = String::new();
    let mut number = 0;
    // The first line with something on it decides: a whole document on it means JSON
    // Lines; the start of one means a document over many lines.
    loop {
        text.clear();
        if reader.read_line(&mut text).map_err(io)? == 0 {
            return Err(json(number.max(1), 1, format!("the file holds no trace; {EXPECTED}")));
        }
        number += 1;
        if !text.trim().is_empty() {
            break;
        }
    }
    if !text.trim_start().starts_with('{') {
        return Err(json(number, 1, format!("not a JSON object; {EXPECTED}")));
    }
    let mut read = Spans::default();
    let format = match serde_json::from_str::<Document>(&text) {
        Ok(first) => {
            let jaeger = apply(&first, &mut read, path, number)?;
            let mut lines = 1;
            loop {
                text.clear();
                if reader.read_line(&mut text).map_err(io)? == 0 {
                    break;
                }
                number += 1;
                if text.trim().is_empty() {
                    continue;
                }
                let doc: Document = serde_json::from_str(&text).map_err(|e| json(number, e.column(), describe(&e)))?;
                apply(&doc, &mut read, path, number)?;
                lines += 1;
            }
            match (jaeger, lines) {
                (true, _) => Format::Jaeger,
                (false, 1) => Format::OtlpJson,
                (false, _) => Format::OtlpJsonLines,
            }
        }
        Err(e) if e.is_eof() => {
            // A document over many lines: read it whole, for errors at their real line.
            let file = BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?);
            let doc: Document = serde_json::from_reader(file).map_err(|e| json(e.line(), e.column(), describe(&e)))?;
            if apply(&doc, &mut read, path, 1)? {
                Format::Jaeger
            } else {
                Format::OtlpJson
            }
        }
        Err(e) => return Err(json(number, e.column(), describe(&e))),
    };
    out.extend(read);
    Ok(format)
}

fn apply(doc: &Document, out: &mut Spans, path: &Path, line: usize) -> Result<bool, ReadError> {
    doc.collect(out).map_err(|e| match e {
        Some(error) => ReadError::Span {
            path: path.to_path_buf(),
            line,
            error,
        },
        None => ReadError::Json {
            path: path.to_path_buf(),
            line,
            column: 1,
            reason: format!("a JSON object, but not a trace; {EXPECTED}"),
        },
    })
}

/// A JSON error in words, with what was expected.
fn describe(e: &serde_json::Error) -> String {
    if e.is_eof() {
        format!("the JSON ends early (a truncated file or line?); {EXPECTED}")
    } else {
        let what = e.to_string();
        // serde_json appends " at line L column C"; the location is ours to give.
        let what = what.split(" at line ").next().unwrap_or(&what);
        format!("{what}; {EXPECTED}")
    }
}
