//! Comparing two run reports: did a change make things slower, beyond noise?
//!
//! [`compare`] matches the reports by scenario, run mode, tool and figure, takes each
//! figure's median over the repetitions of each side, and decides whether the
//! difference is beyond a [`Threshold`] and beyond noise ([`noise`]). Renderers write
//! the [`Comparison`] as a terminal table ([`terminal`]) or a pull-request comment
//! ([`markdown`]); its JSON is the serde form of [`model`].
//!
//! # Examples
//!
//! ```
//! use parabench::compare::{Labeled, Threshold, compare};
//! # use parabench::harness::{self, RunRequest};
//! use parabench::clock::ClockKind;
//! # use std::num::NonZeroUsize;
//! # let scenario = parabench::scenario::load("scenarios/independent_io.toml".as_ref()).unwrap();
//! let run = |limit| {
//!     let request = RunRequest {
//!         clock: ClockKind::Virtual,
//!         max_concurrency: NonZeroUsize::new(limit),
//!         ..RunRequest::default()
//!     };
//!     harness::run(&scenario, &request).unwrap()
//! };
//! let (base, new) = (run(5), run(2));
//! let c = compare(
//!     Labeled { report: &base, path: "base.json" },
//!     Labeled { report: &new, path: "new.json" },
//!     Threshold::from_percent(5.0).unwrap(),
//! )
//! .unwrap();
//! // 20 calls of 100 ms at 2 in flight instead of 5: the parallel run takes 1 s, not 0.4 s.
//! let wall = c.figures.iter().find(|f| f.key.label() == "parallel wall_s").unwrap();
//! assert_eq!((wall.base, wall.new, wall.change_pct), (0.4, 1.0, Some(150.0)));
//! assert!(c.regressions > 0);
//! ```

pub mod markdown;
pub mod matching;
pub mod model;
pub mod noise;
pub mod terminal;

use std::str::FromStr;

pub use matching::{Labeled, compare};
pub use model::{Comparison, FigureChange, Noise, NoiseMethod, Verdict};

/// Why two reports cannot be compared.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    /// The reports are of different scenarios.
    #[error(
        "{base_path} is a report of scenario `{base}` and {new_path} of scenario `{new}`: compare reports of one scenario"
    )]
    DifferentScenarios {
        /// The base's file.
        base_path: String,
        /// The base's scenario.
        base: String,
        /// The new report's file.
        new_path: String,
        /// The new report's scenario.
        new: String,
    },
    /// A report is partial: its run was interrupted, so its figures stop short and
    /// would read as a change.
    #[error(
        "{path} is a partial report (its run was interrupted): compare needs complete runs; run the scenario again"
    )]
    Partial {
        /// The partial report's file.
        path: String,
    },
}

/// The smallest change, in percent of the base, that counts as a regression or an
/// improvement; `5%` by default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold(f64);

/// Why a threshold could not be parsed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected a percentage such as `5%` or `0.5` (meaning 0.5%), zero or more, got `{0}`")]
pub struct ThresholdError(String);

impl Threshold {
    /// A threshold of `percent` percent.
    ///
    /// # Errors
    ///
    /// [`ThresholdError`] unless `percent` is finite and not negative.
    pub fn from_percent(percent: f64) -> Result<Self, ThresholdError> {
        if percent.is_finite() && percent >= 0.0 {
            Ok(Self(percent))
        } else {
            Err(ThresholdError(percent.to_string()))
        }
    }

    /// The threshold in percent.
    pub fn percent(self) -> f64 {
        self.0
    }
}

impl Default for Threshold {
    fn default() -> Self {
        Self(5.0)
    }
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    /// `5%` or `5`: both mean five percent.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let number = s.trim().strip_suffix('%').unwrap_or(s.trim());
        number
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|p| Self::from_percent(p).ok())
            .ok_or_else(|| ThresholdError(s.to_string()))
    }
}

/// A change in percent for tables: `+150.0%`, `−60.0%`, `0.0%`, or `from 0`.
pub fn fmt_change(change_pct: Option<f64>) -> String {
    match change_pct {
        None => "from 0".to_string(),
        Some(0.0) => "0.0%".to_string(),
        // Below 0.05 % one decimal would read 0.0 %, hiding which way it moved.
        Some(c) if c.abs() < 0.05 => format!("{}{:.2}%", if c > 0.0 { "+" } else { "−" }, c.abs()),
        Some(c) if c > 0.0 => format!("+{c:.1}%"),
        Some(c) => format!("−{:.1}%", -c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_with_or_without_a_percent_sign() {
        assert_eq!("5%".parse(), Ok(Threshold(5.0)));
        assert_eq!(" 0.5 ".parse(), Ok(Threshold(0.5)));
        assert_eq!("0%".parse(), Ok(Threshold(0.0)));
        for bad in ["", "%", "-1%", "five", "NaN", "inf%"] {
            let err = bad.parse::<Threshold>().unwrap_err();
            assert!(err.to_string().contains("expected a percentage"), "{bad}: {err}");
        }
    }

    #[test]
    fn changes_read_with_their_sign() {
        assert_eq!(fmt_change(Some(150.0)), "+150.0%");
        assert_eq!(fmt_change(Some(-60.0)), "−60.0%");
        assert_eq!(fmt_change(Some(0.0)), "0.0%");
        assert_eq!(fmt_change(None), "from 0");
        assert_eq!(fmt_change(Some(-0.012)), "−0.01%");
    }
}
