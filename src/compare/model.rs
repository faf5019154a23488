//! The comparison of two reports as serde types: the `compare --json` contract,
//! whose JSON Schema is `schemas/compare-v1.schema.json`.

use serde::{Deserialize, Serialize};

use crate::executor::RunMode;
use crate::report::model::{Better, FigureKey};

/// The version of the comparison format this build writes.
pub const COMPARE_SCHEMA_VERSION: u32 = 1;

/// Two reports of one scenario, figure by figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Format version; see [`COMPARE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The scenario both reports ran.
    pub scenario: String,
    /// The baseline.
    pub base: Side,
    /// The report compared with it.
    pub new: Side,
    /// A change smaller than this, in percent of the base, is not a regression.
    pub threshold_pct: f64,
    /// How differences were told from noise.
    pub noise_method: NoiseMethod,
    /// What only the base has: runs, tools in a run, or figures.
    pub only_in_base: Vec<String>,
    /// What only the new report has.
    pub only_in_new: Vec<String>,
    /// Every figure both reports have, in [`FigureKey`] order.
    pub figures: Vec<FigureChange>,
    /// Figures worse beyond the threshold and beyond noise: a non-zero count makes
    /// `compare` exit 2.
    pub regressions: usize,
    /// Figures better beyond the threshold and beyond noise.
    pub improvements: usize,
}

/// One of the two reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// The file it was read from.
    pub path: String,
    /// `real` or `virtual`.
    pub clock: String,
    /// Its base seed.
    pub seed: u64,
    /// How many repetitions it holds.
    pub repetitions: usize,
    /// The parabench version that wrote it.
    pub parabench_version: String,
    /// Its runs' modes and limits.
    pub runs: Vec<RunLimit>,
}

/// A run's mode and global limit, so that a changed limit shows beside its effects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLimit {
    /// sequential, parallel or batch.
    pub mode: RunMode,
    /// Its max_concurrency.
    pub max_concurrency: usize,
}

/// How differences were told from noise, for the whole comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseMethod {
    /// Both reports ran in virtual time on the same seeds: every run is exact, so
    /// every difference is real.
    Exact,
    /// Both reports hold repetitions: a difference is beyond noise when the confidence
    /// intervals of the two medians do not overlap.
    Intervals,
    /// A side holds a single repetition: noise cannot be told, and the threshold
    /// alone decides.
    ThresholdOnly,
}

impl NoiseMethod {
    /// One sentence for readers of the terminal and Markdown outputs.
    pub fn explain(self) -> &'static str {
        match self {
            NoiseMethod::Exact => {
                "virtual time on both sides with the same seeds: every difference is exact, so it is real"
            }
            NoiseMethod::Intervals => {
                "beyond noise when the 95% bootstrap intervals of the medians over the repetitions do not overlap"
            }
            NoiseMethod::ThresholdOnly => {
                "a side has one repetition, so noise cannot be told from a change (run with --repeat); the threshold alone decides"
            }
        }
    }
}

/// One figure, base against new.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FigureChange {
    /// Which figure.
    #[serde(flatten)]
    pub key: FigureKey,
    /// Which way is better.
    pub better: Better,
    /// The base's median over its repetitions.
    pub base: f64,
    /// The new report's median.
    pub new: f64,
    /// The base's confidence interval of the median; none with one repetition.
    pub base_interval: Option<[f64; 2]>,
    /// The new report's interval.
    pub new_interval: Option<[f64; 2]>,
    /// (new − base) / base in percent; none when the base is 0 and the new value not.
    pub change_pct: Option<f64>,
    /// Whether the difference stands out from the noise.
    pub noise: Noise,
    /// The conclusion.
    pub verdict: Verdict,
}

/// Whether one figure's difference stands out from the noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Noise {
    /// Exact runs (virtual time, same seeds): the difference is real.
    Exact,
    /// The intervals do not overlap.
    Beyond,
    /// The intervals overlap: the difference may be noise.
    Within,
    /// A side has one repetition: cannot tell.
    Unknown,
}

/// What a figure's change amounts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The same value.
    Unchanged,
    /// Worse, beyond the threshold and not explained by noise.
    Regressed,
    /// Better, beyond the threshold and not explained by noise.
    Improved,
    /// Different, but within the noise of the repetitions.
    WithinNoise,
    /// Different, but by no more than the threshold.
    BelowThreshold,
}

impl Verdict {
    /// A mark and a word for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Unchanged => "= unchanged",
            Verdict::Regressed => "✗ regressed",
            Verdict::Improved => "✓ improved",
            Verdict::WithinNoise => "~ within noise",
            Verdict::BelowThreshold => "· below threshold",
        }
    }
}

impl Noise {
    /// A word for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Noise::Exact => "exact",
            Noise::Beyond => "beyond",
            Noise::Within => "within",
            Noise::Unknown => "cannot tell",
        }
    }
}
