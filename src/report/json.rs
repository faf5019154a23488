//! The report as JSON (DESIGN.md's contract), and reading one back.

use std::io::{self, Write};

use super::Render;
use super::model::{Report, SCHEMA_VERSION};
use super::summary::SpeedupSummary;

/// Renders a [`Report`] or a [`SpeedupSummary`] as pretty-printed JSON.
#[derive(Clone, Copy, Debug, Default)]
pub struct Json;

impl Render for Json {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, report)?;
        writeln!(out)
    }
}

impl Render<SpeedupSummary> for Json {
    fn render(&self, summary: &SpeedupSummary, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, summary)?;
        writeln!(out)
    }
}

/// Why a JSON report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not JSON, or not a report.
    #[error("not a parabench report: {0}")]
    Json(#[from] serde_json::Error),
    /// A report of a format version this build does not know.
    #[error("report schema_version {found} is not supported (this parabench reads version {SCHEMA_VERSION})")]
    UnknownVersion {
        /// The version in the file.
        found: u64,
    },
}

/// Parses a report, refusing versions other than [`SCHEMA_VERSION`] with a clear error.
///
/// # Errors
///
/// [`ReadError`] when the text is not a report of this version.
pub fn read(text: &str) -> Result<Report, ReadError> {
    #[derive(serde::Deserialize)]
    struct Version {
        schema_version: u64,
    }
    let Version { schema_version } = serde_json::from_str(text)?;
    if schema_version != u64::from(SCHEMA_VERSION) {
        return Err(ReadError::UnknownVersion { found: schema_version });
    }
    Ok(serde_json::from_str(text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_versions_are_refused() {
        let err = read(r#"{"schema_version": 2, "scenario": "x"}"#).unwrap_err();
        assert!(matches!(err, ReadError::UnknownVersion { found: 2 }));
        assert!(err.to_string().contains("reads version 1"));
        assert!(matches!(read("[]"), Err(ReadError::Json(_))));
    }
}
