//! The figures a repetition is summarised by and two reports are compared on, each with
//! the direction that counts as better.
//!
//! One list serves both `run --repeat` (its summary) and `compare`, so a figure in a
//! report's summary is the same figure, under the same key, as in a comparison.

use serde::{Deserialize, Serialize};

use crate::executor::RunMode;

/// A figure of a run, a tool, or the whole comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// Sequential wall time / parallel wall time.
    Speedup,
    /// Speedup / its work–span bound.
    Efficiency,
    /// Wall time of a run.
    WallS,
    /// Median latency: end-to-end for a run, service time for a tool.
    P50S,
    /// 90th percentile latency.
    P90S,
    /// 99th percentile latency.
    P99S,
    /// Calls that did not succeed (error, timeout, skipped or cancelled).
    Errors,
    /// Attempts beyond the first.
    Retries,
}

/// Which way a figure gets better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Less is better: times, errors, retries.
    Lower,
    /// More is better: speedup, efficiency.
    Higher,
}

impl Figure {
    /// The name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Figure::Speedup => "speedup",
            Figure::Efficiency => "efficiency",
            Figure::WallS => "wall_s",
            Figure::P50S => "p50_s",
            Figure::P90S => "p90_s",
            Figure::P99S => "p99_s",
            Figure::Errors => "errors",
            Figure::Retries => "retries",
        }
    }

    /// The direction that counts as an improvement.
    pub fn better(self) -> Better {
        match self {
            Figure::Speedup | Figure::Efficiency => Better::Higher,
            _ => Better::Lower,
        }
    }

    /// Whether the figure is a time in seconds.
    pub fn is_seconds(self) -> bool {
        matches!(self, Figure::WallS | Figure::P50S | Figure::P90S | Figure::P99S)
    }
}

/// Where a figure belongs: the whole comparison (no mode), a run, or a tool in a run.
///
/// Ordered so that the comparison's figures come first, then each run followed by its
/// tools by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FigureKey {
    /// The run, or none for speedup and efficiency.
    pub mode: Option<RunMode>,
    /// The tool within the run, or none for the run as a whole.
    pub tool: Option<String>,
    /// Which figure.
    pub figure: Figure,
}

impl FigureKey {
    /// A label such as `parallel api p99_s` or `speedup`.
    pub fn label(&self) -> String {
        let mut parts: Vec<&str> = Vec::with_capacity(3);
        if let Some(mode) = self.mode {
            parts.push(mode.as_str());
        }
        if let Some(tool) = &self.tool {
            parts.push(tool);
        }
        parts.push(self.figure.as_str());
        parts.join(" ")
    }
}
