//! Statistics: HDR latency histograms ([`histogram`]), the source of every percentile,
//! and, for repeated measurements, the median, its range, and a confidence interval
//! that `run --repeat` reports and `compare` decides noise with.
//!
//! Below both telemetry and reports, which share the histograms.
//!
//! The interval is a percentile bootstrap of the median: it assumes no distribution
//! (wall times on a shared machine are skewed, with a long tail of slow runs), works
//! from three repetitions up, and, drawn from a generator with a fixed seed, gives the
//! same interval for the same figures every time, so a report and a comparison of it
//! are reproducible.

pub mod histogram;

pub use histogram::{LatencyHistogram, ToolHistograms};

/// The most of `intervals` (`[start, end)`) that overlap at one instant: one ending at an
/// instant makes room for one starting then, and one of no length overlaps nothing.
///
/// ```
/// // Two at once at 5; the third starts as the first ends.
/// assert_eq!(parabench::stats::max_overlap([(0, 10), (5, 8), (10, 12), (3, 3)]), 2);
/// ```
pub fn max_overlap<T: Ord + Copy>(intervals: impl IntoIterator<Item = (T, T)>) -> usize {
    let mut edges: Vec<(T, bool)> = intervals
        .into_iter()
        .filter(|(start, end)| start < end)
        .flat_map(|(start, end)| [(start, true), (end, false)])
        .collect();
    // At one instant, ends (false) sort before starts (true).
    edges.sort_unstable();
    let (mut now, mut most) = (0usize, 0usize);
    for (_, starts) in edges {
        if starts {
            now += 1;
            most = most.max(now);
        } else {
            now -= 1;
        }
    }
    most
}

use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Resamples of the bootstrap: enough that the 2.5 % and 97.5 % quantiles of the
/// resampled medians move by less than one sample point between seeds.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// The confidence level of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// The fixed seed of the bootstrap's generator.
const BOOTSTRAP_SEED: u64 = 0x7061_7261_6265_6e63;

/// The middle value of `values`, the mean of the two middle ones for an even count.
///
/// # Panics
///
/// If `values` is empty or holds a NaN.
pub fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "the median of nothing");
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    median_of_sorted(&sorted)
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The summary of one figure over its repetitions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// The median.
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The lower end of the confidence interval of the median.
    pub ci_low: f64,
    /// The upper end of the confidence interval of the median.
    pub ci_high: f64,
}

impl Spread {
    /// The median, range and [`CONFIDENCE`] bootstrap interval of `values`.
    ///
    /// One value gives an interval of that value alone: there is no spread to
    /// measure, which callers detect through the count, not the interval.
    ///
    /// # Examples
    ///
    /// ```
    /// use parabench::stats::Spread;
    /// let s = Spread::of(&[1.0, 3.0, 2.0]);
    /// assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
    /// assert!(s.min <= s.ci_low && s.ci_low <= s.ci_high && s.ci_high <= s.max);
    /// ```
    ///
    /// # Panics
    ///
    /// If `values` is empty or holds a NaN.
    pub fn of(values: &[f64]) -> Self {
        Self::with_confidence(values, CONFIDENCE)
    }

    /// [`Spread::of`] at another confidence level in (0, 1).
    ///
    /// # Panics
    ///
    /// If `values` is empty or holds a NaN, or `confidence` is outside (0, 1).
    pub fn with_confidence(values: &[f64], confidence: f64) -> Self {
        assert!(confidence > 0.0 && confidence < 1.0, "a confidence in (0, 1)");
        assert!(!values.is_empty(), "the spread of nothing");
        let mut sorted = values.to_vec();
        sorted.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
        let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
        let median = median_of_sorted(&sorted);
        if min == max {
            return Self {
                median,
                min,
                max,
                ci_low: min,
                ci_high: max,
            };
        }
        let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
        let mut resample = vec![0.0; sorted.len()];
        let mut medians: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
            .map(|_| {
                for slot in resample.iter_mut() {
                    *slot = sorted[rng.random_range(0..sorted.len())];
                }
                resample.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
                median_of_sorted(&resample)
            })
            .collect();
        medians.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
        let tail = (1.0 - confidence) / 2.0;
        Self {
            median,
            min,
            max,
            ci_low: quantile_of_sorted(&medians, tail),
            ci_high: quantile_of_sorted(&medians, 1.0 - tail),
        }
    }

    /// Whether the two intervals share no point: the difference of the medians is
    /// larger than the noise of either side.
    pub fn separated_from(&self, other: &Spread) -> bool {
        self.ci_low > other.ci_high || self.ci_high < other.ci_low
    }
}

/// The `q` quantile of sorted values, interpolating linearly between neighbours.
fn quantile_of_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
    }

    #[test]
    fn one_value_or_equal_values_have_no_spread() {
        let one = Spread::of(&[0.4]);
        assert_eq!((one.ci_low, one.median, one.ci_high), (0.4, 0.4, 0.4));
        let same = Spread::of(&[2.0; 10]);
        assert_eq!((same.min, same.ci_low, same.ci_high, same.max), (2.0, 2.0, 2.0, 2.0));
    }

    #[test]
    fn the_interval_is_reproducible_and_narrower_at_lower_confidence() {
        let values: Vec<f64> = (1..=21).map(f64::from).collect();
        assert_eq!(Spread::of(&values), Spread::of(&values));
        let wide = Spread::of(&values);
        let narrow = Spread::with_confidence(&values, 0.5);
        assert!(wide.ci_low <= narrow.ci_low && narrow.ci_high <= wide.ci_high);
        assert!(wide.ci_low < 11.0 && 11.0 < wide.ci_high, "{wide:?}");
        // The median of 21 uniform points has a standard error of about 2.3 points,
        // so a 95 % interval spans roughly ±4.5 around 11; allow for its discreteness.
        assert!(
            (5.0..=9.0).contains(&wide.ci_low) && (13.0..=17.0).contains(&wide.ci_high),
            "{wide:?}"
        );
    }

    #[test]
    fn separated_intervals_mean_beyond_noise() {
        let base = Spread::of(&[1.00, 1.02, 0.98, 1.01, 0.99]);
        let overlapping = Spread::of(&[1.01, 1.03, 0.99, 1.00, 1.02]);
        let slower = Spread::of(&[1.20, 1.22, 1.19, 1.21, 1.18]);
        assert!(!base.separated_from(&overlapping));
        assert!(base.separated_from(&slower) && slower.separated_from(&base));
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        fn samples() -> impl Strategy<Value = Vec<f64>> {
            prop::collection::vec(0.0f64..1e3, 1..30)
        }

        proptest! {
            #[test]
            fn the_interval_lies_within_the_range(values in samples()) {
                let s = Spread::of(&values);
                prop_assert!(s.min <= s.ci_low && s.ci_low <= s.ci_high && s.ci_high <= s.max);
                prop_assert!(s.min <= s.median && s.median <= s.max);
            }
        }
    }
}
