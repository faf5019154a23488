//! The figures a repetition is summarised by and two reports are compared on, each with
//! the direction that counts as better.
//!
//! One list serves both `run --repeat` (its summary) and `compare`, so a figure in a
//! report's summary is the same figure, under the same key, as in a comparison.

use serde::{Deserialize, Serialize};

use super::model::{RunMode, RunReport};

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

/// The figures of one repetition, in [`FigureKey`] order.
pub fn figures(runs: &[RunReport], speedup: Option<f64>, efficiency: Option<f64>) -> Vec<(FigureKey, f64)> {
    let key = |mode, tool: Option<&String>, figure| FigureKey {
        mode,
        tool: tool.cloned(),
        figure,
    };
    let mut out = Vec::new();
    if let Some(s) = speedup {
        out.push((key(None, None, Figure::Speedup), s));
    }
    if let Some(e) = efficiency {
        out.push((key(None, None, Figure::Efficiency), e));
    }
    for run in runs {
        let mode = Some(run.mode);
        // Saturating: a hand-edited report must not make a reader panic.
        let failed: usize = run.tools.values().map(|t| t.count.saturating_sub(t.ok)).sum();
        let retries: u64 = run.tools.values().map(|t| t.retries).sum();
        out.extend([
            (key(mode, None, Figure::WallS), run.wall_s),
            (key(mode, None, Figure::P50S), run.latency.p50_s),
            (key(mode, None, Figure::P90S), run.latency.p90_s),
            (key(mode, None, Figure::P99S), run.latency.p99_s),
            (key(mode, None, Figure::Errors), failed as f64),
            (key(mode, None, Figure::Retries), retries as f64),
        ]);
        for (name, t) in &run.tools {
            out.extend([
                (key(mode, Some(name), Figure::P50S), t.p50_s),
                (key(mode, Some(name), Figure::P90S), t.p90_s),
                (key(mode, Some(name), Figure::P99S), t.p99_s),
                (
                    key(mode, Some(name), Figure::Errors),
                    t.count.saturating_sub(t.ok) as f64,
                ),
                (key(mode, Some(name), Figure::Retries), t.retries as f64),
            ]);
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{Percentiles, ToolStats};

    fn run(mode: RunMode, wall_s: f64) -> RunReport {
        let tool = ToolStats {
            count: 10,
            ok: 7,
            retries: 4,
            p99_s: 0.3,
            ..ToolStats::default()
        };
        RunReport {
            mode,
            max_concurrency: 5,
            wall_s,
            deadline_hit: false,
            interrupted: false,
            success_rate: 0.7,
            latency: Percentiles {
                p50_s: 0.1,
                p90_s: 0.2,
                p99_s: 0.4,
                max_s: 0.5,
            },
            calls: Vec::new(),
            tools: [("b".to_string(), tool.clone()), ("a".to_string(), tool)].into(),
            histograms: Default::default(),
        }
    }

    #[test]
    fn figures_come_in_key_order_with_counts_summed_over_tools() {
        let runs = [run(RunMode::Parallel, 0.4), run(RunMode::Sequential, 2.0)];
        let figs = figures(&runs, Some(5.0), Some(1.0));
        let labels: Vec<String> = figs.iter().map(|(k, _)| k.label()).collect();
        assert_eq!(
            &labels[..4],
            ["speedup", "efficiency", "sequential wall_s", "sequential p50_s"]
        );
        assert_eq!(labels[8], "sequential a p50_s");
        assert_eq!(figs.len(), 2 + 2 * (6 + 2 * 5));
        let value = |label: &str| figs.iter().find(|(k, _)| k.label() == label).unwrap().1;
        assert_eq!(value("parallel errors"), 6.0);
        assert_eq!(value("parallel retries"), 8.0);
        assert_eq!(value("parallel b p99_s"), 0.3);
        assert_eq!(value("parallel wall_s"), 0.4);
    }

    #[test]
    fn a_hand_edited_count_below_ok_reads_as_no_errors() {
        let mut r = run(RunMode::Parallel, 1.0);
        for t in r.tools.values_mut() {
            t.ok = t.count + 3;
        }
        let figs = figures(&[r], None, None);
        let errors = figs.iter().find(|(k, _)| k.label() == "parallel errors").unwrap().1;
        assert_eq!(errors, 0.0);
    }

    #[test]
    fn only_speedup_and_efficiency_get_better_upwards() {
        assert_eq!(Figure::Speedup.better(), Better::Higher);
        assert_eq!(Figure::Efficiency.better(), Better::Higher);
        for f in [Figure::WallS, Figure::P99S, Figure::Errors, Figure::Retries] {
            assert_eq!(f.better(), Better::Lower);
        }
    }
}
