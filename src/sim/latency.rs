//! Latency distributions of simulated tools.

use std::time::Duration;

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp, LogNormal, Normal, Pareto};

/// The standard normal quantile at 0.99: a lognormal's p99 is exp(μ + Z99·σ).
const Z99: f64 = 2.326_347_874_040_840_8;

/// Longest latency a draw can produce: one year (365.25 days), the longest duration a
/// scenario accepts for any parameter. The heavy tails (lognormal, exponential, pareto,
/// normal) are capped there so a sample is always a valid [`Duration`] that every
/// histogram holds; a parameter beyond it is refused where the scenario gives it.
pub const MAX_LATENCY: Duration = Duration::from_secs(31_557_600);

/// How long one attempt of a simulated tool takes.
///
/// For an I/O tool this is the time it waits; for a CPU tool, the CPU time it works on
/// one core.
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    /// Always `value`.
    Constant {
        /// The latency.
        value: Duration,
    },
    /// Uniform in [`min`, `max`].
    Uniform {
        /// Smallest latency.
        min: Duration,
        /// Largest latency.
        max: Duration,
    },
    /// Normal, truncated at zero (negative draws are drawn again).
    Normal {
        /// Mean before truncation.
        mean: Duration,
        /// Standard deviation before truncation.
        stddev: Duration,
    },
    /// Lognormal: ln(latency in seconds) is normal with mean `mu` and deviation `sigma`.
    LogNormal {
        /// Mean of the log of the latency in seconds.
        mu: f64,
        /// Standard deviation of the log.
        sigma: f64,
    },
    /// Exponential (memoryless waits).
    Exponential {
        /// The mean latency.
        mean: Duration,
    },
    /// Pareto: heavy-tailed, at least `scale`.
    Pareto {
        /// The minimum latency.
        scale: Duration,
        /// The tail index: smaller is heavier; the mean is finite only above 1.
        shape: f64,
    },
    /// Piecewise linear through the given percentiles.
    Empirical {
        /// Latency at percentile 0.
        min: Duration,
        /// Median.
        p50: Duration,
        /// 90th percentile.
        p90: Duration,
        /// 99th percentile.
        p99: Duration,
        /// Latency at percentile 100.
        max: Duration,
    },
}

/// Why a latency distribution was rejected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LatencyError {
    /// A parameter must be strictly positive.
    #[error("`{0}` must be greater than zero")]
    NotPositive(&'static str),
    /// A parameter is NaN or infinite, or negative where that makes no sense.
    #[error("`{0}` must be a finite, non-negative number")]
    NotFinite(&'static str),
    /// Two parameters are out of order.
    #[error("`{low}` must not exceed `{high}`")]
    Order {
        /// The parameter that must be smaller.
        low: &'static str,
        /// The parameter that must be larger.
        high: &'static str,
    },
}

impl Latency {
    /// Always `value`.
    pub fn constant(value: Duration) -> Self {
        Latency::Constant { value }
    }

    /// The lognormal with this median and 99th percentile.
    ///
    /// # Errors
    ///
    /// When `median` is zero or `p99` is below `median`.
    pub fn lognormal(median: Duration, p99: Duration) -> Result<Self, LatencyError> {
        if median.is_zero() {
            return Err(LatencyError::NotPositive("median"));
        }
        if p99 < median {
            return Err(LatencyError::Order {
                low: "median",
                high: "p99",
            });
        }
        let mu = median.as_secs_f64().ln();
        let sigma = (p99.as_secs_f64() / median.as_secs_f64()).ln() / Z99;
        Ok(Latency::LogNormal { mu, sigma })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    ///
    /// [`LatencyError`] naming the parameter that makes no sense.
    pub fn validate(&self) -> Result<(), LatencyError> {
        use LatencyError::*;
        let order = |low: Duration, high: Duration, l, h| {
            if low > high {
                Err(Order { low: l, high: h })
            } else {
                Ok(())
            }
        };
        match *self {
            Latency::Constant { .. } | Latency::Normal { .. } => Ok(()),
            Latency::Uniform { min, max } => order(min, max, "min", "max"),
            Latency::LogNormal { mu, sigma } => {
                if !mu.is_finite() {
                    return Err(NotFinite("mu"));
                }
                if !(sigma.is_finite() && sigma >= 0.0) {
                    return Err(NotFinite("sigma"));
                }
                Ok(())
            }
            Latency::Exponential { mean } if mean.is_zero() => Err(NotPositive("mean")),
            Latency::Exponential { .. } => Ok(()),
            Latency::Pareto { scale, .. } if scale.is_zero() => Err(NotPositive("scale")),
            Latency::Pareto { shape, .. } if !(shape.is_finite() && shape > 0.0) => Err(NotPositive("shape")),
            Latency::Pareto { .. } => Ok(()),
            Latency::Empirical {
                min,
                p50,
                p90,
                p99,
                max,
            } => {
                order(min, p50, "min", "p50")?;
                order(p50, p90, "p50", "p90")?;
                order(p90, p99, "p90", "p99")?;
                order(p99, max, "p99", "max")
            }
        }
    }

    /// One draw.
    ///
    /// # Panics
    ///
    /// If the distribution does not pass [`Latency::validate`].
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        let secs = match *self {
            Latency::Constant { value } => return value,
            Latency::Uniform { min, max } => {
                return min + (max - min).mul_f64(rng.random::<f64>());
            }
            Latency::Normal { mean, stddev } => {
                let normal = Normal::new(mean.as_secs_f64(), stddev.as_secs_f64()).expect("validated");
                // Rejection keeps the shape of the truncated normal; the bound on tries
                // only matters for means far below zero, which validation allows as 0.
                (0..64).map(|_| normal.sample(rng)).find(|&s| s >= 0.0).unwrap_or(0.0)
            }
            Latency::LogNormal { mu, sigma } => LogNormal::new(mu, sigma).expect("validated").sample(rng),
            Latency::Exponential { mean } => Exp::new(1.0 / mean.as_secs_f64()).expect("validated").sample(rng),
            Latency::Pareto { scale, shape } => Pareto::new(scale.as_secs_f64(), shape).expect("validated").sample(rng),
            Latency::Empirical {
                min,
                p50,
                p90,
                p99,
                max,
            } => {
                let q: f64 = rng.random();
                let knots = [(0.0, min), (0.5, p50), (0.9, p90), (0.99, p99), (1.0, max)];
                let i = knots.windows(2).position(|w| q < w[1].0).unwrap_or(3);
                let ((q0, a), (q1, b)) = (knots[i], knots[i + 1]);
                a.as_secs_f64() + (b.as_secs_f64() - a.as_secs_f64()) * (q - q0) / (q1 - q0)
            }
        };
        Duration::try_from_secs_f64(secs).map_or(MAX_LATENCY, |d| d.min(MAX_LATENCY))
    }

    /// The mean of the distribution, where it is finite and known in closed form.
    pub fn mean(&self) -> Option<Duration> {
        let secs = match *self {
            Latency::Constant { value } => value.as_secs_f64(),
            Latency::Uniform { min, max } => (min.as_secs_f64() + max.as_secs_f64()) / 2.0,
            Latency::Normal { mean, stddev } if mean >= stddev * 4 => mean.as_secs_f64(),
            Latency::Normal { .. } => return None,
            Latency::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Latency::Exponential { mean } => mean.as_secs_f64(),
            Latency::Pareto { scale, shape } if shape > 1.0 => shape * scale.as_secs_f64() / (shape - 1.0),
            Latency::Pareto { .. } => return None,
            Latency::Empirical {
                min,
                p50,
                p90,
                p99,
                max,
            } => {
                let s = |d: Duration| d.as_secs_f64();
                0.5 * (s(min) + s(p50)) / 2.0
                    + 0.4 * (s(p50) + s(p90)) / 2.0
                    + 0.09 * (s(p90) + s(p99)) / 2.0
                    + 0.01 * (s(p99) + s(max)) / 2.0
            }
        };
        Duration::try_from_secs_f64(secs).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{Stream, rng};

    fn draws(l: &Latency, n: usize) -> Vec<f64> {
        let mut out: Vec<f64> = (0..n)
            .map(|i| l.sample(&mut rng(7, i as u64, 1, Stream::Latency)).as_secs_f64())
            .collect();
        out.sort_by(f64::total_cmp);
        out
    }

    fn quantile(sorted: &[f64], q: f64) -> f64 {
        sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
    }

    #[test]
    fn lognormal_from_median_and_p99_hits_both() {
        let ms = Duration::from_millis;
        let l = Latency::lognormal(ms(120), ms(800)).unwrap();
        let d = draws(&l, 40_000);
        let (p50, p99) = (quantile(&d, 0.5), quantile(&d, 0.99));
        assert!((p50 - 0.120).abs() < 0.004, "p50 {p50}");
        assert!((p99 - 0.800).abs() < 0.06, "p99 {p99}");
    }

    #[test]
    fn sample_means_match_the_analytic_means() {
        let ms = Duration::from_millis;
        let cases = [
            Latency::Uniform {
                min: ms(10),
                max: ms(30),
            },
            Latency::Exponential { mean: ms(50) },
            Latency::Pareto {
                scale: ms(10),
                shape: 3.0,
            },
            Latency::Normal {
                mean: ms(100),
                stddev: ms(10),
            },
            Latency::Empirical {
                min: ms(1),
                p50: ms(10),
                p90: ms(40),
                p99: ms(90),
                max: ms(200),
            },
        ];
        for l in cases {
            let d = draws(&l, 40_000);
            let mean = d.iter().sum::<f64>() / d.len() as f64;
            let want = l.mean().unwrap().as_secs_f64();
            assert!((mean - want).abs() / want < 0.03, "{l:?}: {mean} vs {want}");
        }
    }

    #[test]
    fn empirical_passes_through_its_percentiles() {
        let ms = Duration::from_millis;
        let l = Latency::Empirical {
            min: ms(0),
            p50: ms(10),
            p90: ms(40),
            p99: ms(90),
            max: ms(200),
        };
        let d = draws(&l, 50_000);
        for (q, want) in [(0.5, 0.010), (0.9, 0.040), (0.99, 0.090)] {
            assert!((quantile(&d, q) - want).abs() < want * 0.05, "q{q}");
        }
        assert!(d[d.len() - 1] <= 0.200);
    }

    #[test]
    fn truncated_normal_never_goes_negative() {
        let l = Latency::Normal {
            mean: Duration::from_millis(1),
            stddev: Duration::from_millis(5),
        };
        assert!(draws(&l, 5_000).iter().all(|&s| s >= 0.0));
    }

    #[test]
    fn nonsense_parameters_are_named() {
        let ms = Duration::from_millis;
        assert_eq!(
            Latency::lognormal(ms(0), ms(1)),
            Err(LatencyError::NotPositive("median"))
        );
        assert_eq!(
            Latency::lognormal(ms(10), ms(1)),
            Err(LatencyError::Order {
                low: "median",
                high: "p99"
            })
        );
        assert_eq!(
            Latency::Uniform { min: ms(2), max: ms(1) }.validate(),
            Err(LatencyError::Order {
                low: "min",
                high: "max"
            })
        );
        assert_eq!(
            Latency::Exponential { mean: ms(0) }.validate(),
            Err(LatencyError::NotPositive("mean"))
        );
        assert_eq!(
            Latency::Pareto {
                scale: ms(1),
                shape: f64::NAN
            }
            .validate(),
            Err(LatencyError::NotPositive("shape"))
        );
    }

    #[test]
    fn heavy_tails_are_clamped_not_panicking() {
        let l = Latency::Pareto {
            scale: Duration::from_secs(1),
            shape: 0.01,
        };
        assert!(draws(&l, 1_000).iter().all(|&s| s <= MAX_LATENCY.as_secs_f64()));
    }
}
