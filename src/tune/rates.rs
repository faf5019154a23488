//! Open-loop saturation: the same scenario at growing arrival rates, one concurrency
//! level, to find the highest rate the system keeps up with.
//!
//! Below capacity, throughput follows the offered rate and latency stays near the
//! service time; past it, throughput stops at capacity and every later arrival queues
//! longer than the one before. Each rate redraws the arrivals from the same seed.

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;
use std::time::Duration;

use super::error::TuneError;
use super::model::{RateReport, RateSweepReport};
use super::recommend::Criteria;
use super::sweep::{Latencies, RunSettings, Runner, quantile_s, throughput};
use crate::scenario::Scenario;
use crate::units::fmt_duration;

/// Most rates one sweep may try.
pub const MAX_RATES: usize = 64;

/// Why a rates string was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RatesError {
    /// Nothing was given.
    #[error("no rates given (expected calls per second as a list like 10,20,40, or doubling like 10..160:x2)")]
    Empty,
    /// A rate is not a positive, finite number.
    #[error("`{0}` is not a positive number of calls per second (expected e.g. 12.5)")]
    NotARate(String),
    /// A range ends below its start.
    #[error("the range {0}..{1} ends below its start (expected START..END with START <= END)")]
    Backwards(f64, f64),
    /// A step is not positive, or a factor not above 1.
    #[error("`{0}` is not a valid step (expected :N with N > 0 to add N, or :xF with F > 1 to multiply by F)")]
    Step(String),
    /// Too many rates.
    #[error("more than {MAX_RATES} rates (expected fewer, or a larger step)")]
    TooMany,
}

/// Arrival rates in calls per second, increasing, as `10,20,40`, `10..50:10` or
/// `5..80:x2`.
///
/// # Examples
///
/// ```
/// use parabench::tune::rates::Rates;
///
/// let rates: Rates = "5..80:x2".parse().unwrap();
/// assert_eq!(rates.get(), [5.0, 10.0, 20.0, 40.0, 80.0]);
/// assert_eq!("10..30:10".parse::<Rates>().unwrap().get(), [10.0, 20.0, 30.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Rates(Vec<f64>);

impl Rates {
    /// The rates, sorted and deduplicated.
    ///
    /// # Errors
    ///
    /// [`RatesError`] when there are none, too many, or one is not positive and finite.
    pub fn new(mut rates: Vec<f64>) -> Result<Self, RatesError> {
        if let Some(bad) = rates.iter().find(|r| !(r.is_finite() && **r > 0.0)) {
            return Err(RatesError::NotARate(bad.to_string()));
        }
        rates.sort_by(f64::total_cmp);
        rates.dedup();
        match rates.len() {
            0 => Err(RatesError::Empty),
            n if n > MAX_RATES => Err(RatesError::TooMany),
            _ => Ok(Rates(rates)),
        }
    }

    /// The rates, increasing.
    pub fn get(&self) -> &[f64] {
        &self.0
    }
}

impl fmt::Display for Rates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&text.join(","))
    }
}

impl FromStr for Rates {
    type Err = RatesError;

    fn from_str(s: &str) -> Result<Self, RatesError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(RatesError::Empty);
        }
        let rates = match s.split_once("..") {
            None => s.split(',').map(rate).collect::<Result<Vec<_>, _>>()?,
            Some((start, rest)) => {
                let (end, step) = rest.split_once(':').ok_or_else(|| RatesError::Step(":?".into()))?;
                let (start, end) = (rate(start)?, rate(end)?);
                if end < start {
                    return Err(RatesError::Backwards(start, end));
                }
                let bad = || RatesError::Step(format!(":{step}"));
                let (add, mul) = match step.trim().strip_prefix('x') {
                    Some(f) => (0.0, f.trim().parse::<f64>().ok().filter(|f| *f > 1.0).ok_or_else(bad)?),
                    None => (
                        step.trim().parse::<f64>().ok().filter(|d| *d > 0.0).ok_or_else(bad)?,
                        1.0,
                    ),
                };
                let mut out = Vec::new();
                let mut r = start;
                // A little slack so that 0.1-steps reach their end despite rounding.
                while r <= end * (1.0 + 1e-9) {
                    if out.len() == MAX_RATES {
                        return Err(RatesError::TooMany);
                    }
                    out.push(r);
                    r = r * mul + add;
                }
                out
            }
        };
        Rates::new(rates)
    }
}

fn rate(text: &str) -> Result<f64, RatesError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && *r > 0.0)
        .ok_or_else(|| RatesError::NotARate(text.trim().to_string()))
}

/// Runs `scenario` at each of `rates` with `level` calls in flight, calling `progress`
/// after each.
///
/// # Errors
///
/// [`TuneError`] when the scenario has no `[arrivals]`, a rate brings too many calls,
/// or the runtime cannot start.
pub fn run(
    scenario: &Scenario,
    rates: &Rates,
    level: NonZeroUsize,
    settings: &RunSettings,
    criteria: &Criteria,
    mut progress: impl FnMut(&RateReport),
) -> Result<RateSweepReport, TuneError> {
    // Every rate is checked before anything runs, so a bad one is an input error rather
    // than a failure halfway through; each variant is built only when its turn comes.
    for &r in rates.get() {
        scenario.arrivals_at(r)?;
    }
    let runner = Runner::new(scenario, settings)?;
    let mut reports = Vec::with_capacity(rates.get().len());
    for &rate_per_s in rates.get() {
        let variant = scenario.with_arrival_rate(rate_per_s)?;
        let Some((run, _)) = runner.run(&variant, level)? else {
            break;
        };
        let l = Latencies::of(&run);
        let ok = run.count(crate::executor::CallStatus::Ok);
        let p99 = l.latency.quantile(0.99);
        let throughput = throughput(&run);
        let report = RateReport {
            rate_per_s,
            calls: run.calls.len(),
            wall_s: run.wall.as_secs_f64(),
            throughput,
            p50_s: quantile_s(&l.latency, 0.5),
            p99_s: quantile_s(&l.latency, 0.99),
            queue_mean_s: l.queue_mean.as_secs_f64(),
            queue_p99_s: quantile_s(&l.queue, 0.99),
            errors: run.calls.len() - ok,
            keeps_up: keeps_up(throughput, &variant, p99, criteria),
        };
        progress(&report);
        reports.push(report);
    }
    let sustained = reports.iter().take_while(|r| r.keeps_up).last().map(|r| r.rate_per_s);
    let first_short = reports.iter().find(|r| !r.keeps_up);
    let slo = criteria
        .slo_p99
        .map(|d| format!(" and p99 within the {} SLO", fmt_duration(d)))
        .unwrap_or_default();
    let share = format!("{:.0}%", criteria.target_share * 100.0);
    let reason = match (sustained, first_short) {
        _ if reports.len() < rates.get().len() => format!(
            "interrupted after {} of {} rates: no conclusion from a partial sweep.",
            reports.len(),
            rates.get().len()
        ),
        (Some(r), Some(short)) => format!(
            "at max_concurrency {level}, the system keeps up (throughput within {share} of the offered rate{slo}) \
             up to {r}/s and saturates by {}/s, where it completes {:.1} calls/s and p99 reaches {}.",
            short.rate_per_s,
            short.throughput,
            fmt_duration(Duration::from_secs_f64(short.p99_s))
        ),
        (Some(r), None) => format!(
            "at max_concurrency {level}, the system keeps up (throughput within {share} of the offered rate{slo}) \
             at every rate tried, up to {r}/s: try higher rates to find where it saturates."
        ),
        (None, _) => format!(
            "at max_concurrency {level}, the system does not keep up even at {}/s (throughput within {share} of the \
             offered rate{slo}).",
            rates.get()[0]
        ),
    };
    Ok(RateSweepReport {
        max_concurrency: level.get(),
        rates: reports,
        max_sustainable_rate_per_s: sustained,
        reason,
    })
}

/// Throughput within the target share of what arrived over the arrival window, and
/// p99 within the SLO.
fn keeps_up(throughput: f64, scenario: &Scenario, p99: Duration, criteria: &Criteria) -> bool {
    let offered = scenario.arrivals.as_ref().map_or(0.0, |a| {
        // Arriving calls come after every closed one.
        let arrived = scenario.plan.calls().len() - scenario.plan.closed_calls();
        arrived as f64 / a.duration.as_secs_f64()
    });
    // The calls that arrived, not the nominal rate: a Poisson count strays from its mean.
    throughput >= criteria.target_share * offered && criteria.slo_p99.is_none_or(|slo| p99 <= slo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_as_lists_steps_and_factors() {
        let parse = |s: &str| s.parse::<Rates>().map(|r| r.get().to_vec());
        assert_eq!(parse("40, 10,20"), Ok(vec![10.0, 20.0, 40.0]));
        assert_eq!(parse("0.5..1.5:0.5"), Ok(vec![0.5, 1.0, 1.5]));
        assert_eq!(parse("1..1000:x10"), Ok(vec![1.0, 10.0, 100.0, 1000.0]));
        assert_eq!(parse(""), Err(RatesError::Empty));
        assert_eq!(parse("0,1"), Err(RatesError::NotARate("0".into())));
        assert_eq!(parse("5..1:1"), Err(RatesError::Backwards(5.0, 1.0)));
        assert_eq!(parse("1..5:x1"), Err(RatesError::Step(":x1".into())));
        assert_eq!(parse("1..1000:1"), Err(RatesError::TooMany));
    }
}
