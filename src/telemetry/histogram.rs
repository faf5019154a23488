//! HDR latency histograms: the source of every percentile parabench reports.
//!
//! Keeping every sample and sorting is exact but grows with the run; an HDR histogram
//! at 3 significant digits is bounded in memory and off by at most 0.1%, which is far
//! below the noise of any latency worth measuring.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest trackable latency: one week, in nanoseconds.
const HIGHEST_NS: u64 = 7 * 24 * 3600 * 1_000_000_000;

/// A tool's histograms in one run: how long its calls ran, and how long they waited for a
/// slot first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolHistograms {
    /// Service time: first attempt's start to the call's end.
    pub service: LatencyHistogram,
    /// Queue wait: ready to first attempt's start.
    pub queue_wait: LatencyHistogram,
}

/// A histogram of durations with nanosecond units and 3 significant digits.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use parabench::telemetry::LatencyHistogram;
///
/// let mut h = LatencyHistogram::new();
/// for ms in 1..=100 {
///     h.record(Duration::from_millis(ms));
/// }
/// let p99 = h.quantile(0.99).as_secs_f64();
/// assert!((p99 - 0.099).abs() < 0.099 * 0.001);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyHistogram {
    inner: Histogram<u64>,
}

impl LatencyHistogram {
    /// An empty histogram covering 1 ns to one week.
    pub fn new() -> Self {
        Self {
            inner: Histogram::new_with_bounds(1, HIGHEST_NS, 3).expect("valid bounds"),
        }
    }

    /// Records one latency; longer than a week counts as a week.
    pub fn record(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos())
            .unwrap_or(u64::MAX)
            .clamp(1, HIGHEST_NS);
        self.inner.saturating_record(ns);
    }

    /// Latencies recorded.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The latency at quantile `q` in [0, 1] (nearest rank, at most 0.1% high);
    /// zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.is_empty() {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.inner.value_at_quantile(q))
    }

    /// The largest latency recorded (at most 0.1% high).
    pub fn max(&self) -> Duration {
        if self.is_empty() {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.inner.max())
    }

    /// The mean latency.
    pub fn mean(&self) -> Duration {
        Duration::from_nanos(self.inner.mean() as u64)
    }

    /// The underlying HDR histogram (nanoseconds).
    pub fn get_ref(&self) -> &Histogram<u64> {
        &self.inner
    }

    /// Adds every value of `other` (in nanoseconds, such as one read from an interval log).
    /// Values beyond a week count as a week.
    pub fn add(&mut self, other: &Histogram<u64>) {
        for v in other.iter_recorded() {
            let ns = v.value_iterated_to().clamp(1, HIGHEST_NS);
            self.inner.saturating_record_n(ns, v.count_at_value());
        }
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_nearest_rank_within_a_tenth_of_a_percent() {
        let mut h = LatencyHistogram::new();
        let samples: Vec<u64> = (1..=1000).map(|i| i * 1_237).collect();
        for &s in &samples {
            h.record(Duration::from_nanos(s));
        }
        for q in [0.5, 0.9, 0.99, 1.0] {
            let rank = ((q * samples.len() as f64).ceil() as usize).max(1);
            let exact = samples[rank - 1] as f64;
            let got = h.quantile(q).as_nanos() as f64;
            assert!(got >= exact && got <= exact * 1.001, "q{q}: {got} vs {exact}");
        }
        assert!(h.quantile(0.5) <= h.quantile(0.9));
        assert_eq!(h.len(), 1000);
    }

    #[test]
    fn empty_and_extreme_values_are_safe() {
        let mut h = LatencyHistogram::new();
        assert_eq!(h.quantile(0.99), Duration::ZERO);
        h.record(Duration::ZERO);
        h.record(Duration::from_secs(30 * 24 * 3600));
        assert!(h.max() >= Duration::from_secs(7 * 24 * 3600 - 1));
    }
}
