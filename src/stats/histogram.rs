//! HDR latency histograms: the source of every percentile parabench reports.
//!
//! Keeping every sample and sorting is exact but grows with the run; an HDR histogram
//! at 3 significant digits is bounded in memory and off by at most 0.1%, which is far
//! below the noise of any latency worth measuring.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest trackable latency, in nanoseconds: about 292 years, the largest bound HDR
/// histograms take. Every duration a scenario can produce fits: its durations are at
/// most a year (a draw of a heavy tail is capped there too), and a call's service time
/// is at most its 100 attempts and the backoffs between them.
const HIGHEST_NS: u64 = u64::MAX / 2;

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
/// use parabench::stats::LatencyHistogram;
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
    /// An empty histogram covering 1 ns to about 292 years.
    pub fn new() -> Self {
        Self {
            inner: Histogram::new_with_bounds(1, HIGHEST_NS, 3).expect("valid bounds"),
        }
    }

    /// An empty histogram of `digits` significant digits (1 to 5) that grows with what it
    /// records, from a few kilobytes: for figures recorded on every call where 1 % is
    /// precise enough (the executor's own lag), where a full-range histogram's half a
    /// megabyte of zeroed counts per run would cost more than the calls.
    ///
    /// # Panics
    ///
    /// When `digits` is not 1 to 5.
    pub fn growing(digits: u8) -> Self {
        let mut inner = Histogram::new_with_bounds(1, 2, digits).expect("1 to 5 significant digits");
        inner.auto(true);
        Self { inner }
    }

    /// Records one latency; beyond the range (292 years, which no scenario can reach)
    /// counts as its end.
    pub fn record(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos())
            .unwrap_or(u64::MAX)
            .clamp(1, HIGHEST_NS);
        // A growing histogram widens to take it; a full-range one holds it already.
        if !self.inner.is_auto_resize() || self.inner.record(ns).is_err() {
            self.inner.saturating_record(ns);
        }
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
    /// Values beyond the range count as its end.
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
    fn a_growing_histogram_keeps_its_digits_over_any_range() {
        let mut h = LatencyHistogram::growing(2);
        for us in 1..=10_000u64 {
            h.record(Duration::from_micros(us));
        }
        for (q, exact) in [(0.5, 5_000.0), (0.99, 9_900.0), (1.0, 10_000.0)] {
            let got = h.quantile(q).as_secs_f64() * 1e6;
            assert!((got - exact).abs() <= exact * 0.01, "q{q}: {got} µs, not {exact}");
        }
        h.record(Duration::from_secs(3600));
        assert!((h.max().as_secs_f64() - 3600.0).abs() <= 36.0);
        assert_eq!(h.len(), 10_001);
    }

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
        h.record(Duration::MAX);
        assert!(h.max() >= Duration::from_secs(292 * 365 * 24 * 3600));
    }

    #[test]
    fn every_duration_a_scenario_can_produce_is_held_within_a_tenth_of_a_percent() {
        // A month (above the week this range once ended at), the year a scenario's
        // durations may reach, and 100 attempts of a year with a year of backoff each.
        let year = crate::scenario::MAX_DURATION;
        for d in [Duration::from_secs(30 * 24 * 3600), year, year * 200] {
            let mut h = LatencyHistogram::new();
            h.record(d);
            let (got, want) = (h.max().as_secs_f64(), d.as_secs_f64());
            assert!((got - want).abs() <= want * 0.001, "{got} for {want}");
        }
    }
}
