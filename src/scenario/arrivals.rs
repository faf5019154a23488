//! Open-loop load: calls that arrive at a rate for a duration, rather than all at once.
//!
//! A closed batch hides queueing: the next call is issued only when a slot frees, so a
//! saturated system looks merely slow. Here each call has an intended arrival time drawn
//! in advance from the scenario's seed; the executor holds it until then and measures
//! its latency from then, so time spent waiting for a slot shows (no coordinated
//! omission), and the same seed gives the same arrivals at every concurrency level.

use std::borrow::Cow;
use std::time::Duration;

use rand::RngExt;
use rand_distr::{Distribution, Exp};

use super::{MAX_CALLS, Scenario};
use crate::plan::{Plan, PlanBuilder, PlanError, ToolId};
use crate::seed::{self, Stream};

/// How arrival times are spaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrivalProcess {
    /// Exponential gaps of mean 1 / rate: independent users (an M/…/c queue's input).
    Poisson,
    /// Exactly 1 / rate apart, the first at time zero.
    Constant,
}

impl ArrivalProcess {
    /// `poisson` or `constant`, as in the scenario file.
    pub fn as_str(self) -> &'static str {
        match self {
            ArrivalProcess::Poisson => "poisson",
            ArrivalProcess::Constant => "constant",
        }
    }
}

/// `[arrivals]`: calls arriving at `rate_per_s` for `duration`, each of a tool drawn
/// from `mix`.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrivals {
    /// Poisson or constant spacing.
    pub process: ArrivalProcess,
    /// Mean calls per second; positive and finite.
    pub rate_per_s: f64,
    /// Calls arrive in [0, duration).
    pub duration: Duration,
    /// Each arriving call's tool, drawn with these relative weights (all positive).
    pub mix: Vec<(ToolId, f64)>,
    /// Arriving calls are `{id_prefix}{i}`, i from 1.
    pub id_prefix: String,
}

impl Arrivals {
    /// The calls this load is expected to bring: rate × duration.
    pub fn expected_calls(&self) -> f64 {
        self.rate_per_s * self.duration.as_secs_f64()
    }

    /// The arrival times and tools, drawn from `seed`: the same seed gives the same load.
    ///
    /// At most `limit` calls are drawn (a Poisson count can exceed its mean).
    ///
    /// # Panics
    ///
    /// If the rate is not positive and finite or the mix is empty (a scenario's
    /// `[arrivals]` is checked for both).
    pub fn draw(&self, seed: u64, limit: usize) -> Vec<(Duration, ToolId)> {
        let mut rng = seed::rng(seed, seed::call_key("[arrivals]"), 0, Stream::Latency);
        let total_weight: f64 = self.mix.iter().map(|(_, w)| w).sum();
        let gap = Exp::new(self.rate_per_s).expect("a positive rate");
        let mut out = Vec::new();
        let mut t = 0.0;
        let end = self.duration.as_secs_f64();
        while out.len() < limit {
            let at = match self.process {
                ArrivalProcess::Constant => out.len() as f64 / self.rate_per_s,
                ArrivalProcess::Poisson => {
                    t += gap.sample(&mut rng);
                    t
                }
            };
            if at >= end {
                break;
            }
            let mut pick = rng.random::<f64>() * total_weight;
            let tool = self
                .mix
                .iter()
                .find(|(_, w)| {
                    pick -= w;
                    pick < 0.0
                })
                .or(self.mix.last())
                .expect("a non-empty mix")
                .0;
            out.push((Duration::from_secs_f64(at), tool));
        }
        out
    }

    /// Adds the arriving calls to `builder`, after every call already in it.
    pub(crate) fn add_calls(&self, builder: &mut PlanBuilder, seed: u64) {
        let room = MAX_CALLS.saturating_sub(builder.calls().len());
        for (i, (at, tool)) in self.draw(seed, room).into_iter().enumerate() {
            let idx = builder.call_numbered(&self.id_prefix, i as u64 + 1, tool, 0);
            builder.arrives_at(idx, at);
        }
    }
}

/// Why [`Scenario::with_arrival_rate`] could not rebuild the scenario.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ArrivalsError {
    /// The scenario has no `[arrivals]` table.
    #[error("the scenario has no [arrivals] table, so it has no arrival rate to change")]
    NoArrivals,
    /// The rate is not a positive, finite number.
    #[error("an arrival rate must be a positive, finite number of calls per second, got {0}")]
    Rate(f64),
    /// The rate brings more calls than a scenario may have.
    #[error(
        "an arrival rate of {rate_per_s}/s brings the scenario to about {calls:.0} calls, above the limit of {MAX_CALLS}"
    )]
    TooManyCalls {
        /// The rate asked for.
        rate_per_s: f64,
        /// The calls the scenario would have: its closed calls and the arriving ones.
        calls: f64,
    },
    /// The rebuilt plan is not valid (no call arrives at so low a rate, say).
    #[error(transparent)]
    Plan(#[from] PlanError),
}

impl Scenario {
    /// The scenario as a run with `seed` sees it: its arrival times (if it has
    /// `[arrivals]`) drawn from `seed`, like every other draw of that run, and `seed` as
    /// its seed. Borrowed when nothing changes.
    ///
    /// The file's arrivals are drawn from the file's seed when it is parsed; a run with
    /// another seed (`--seed`, a `--vary-seed` repetition) must not replay them.
    ///
    /// # Errors
    ///
    /// [`ArrivalsError::Plan`] when no call at all arrives under `seed` and the
    /// scenario has no other call.
    pub fn with_seed(&self, seed: u64) -> Result<Cow<'_, Scenario>, ArrivalsError> {
        match &self.arrivals {
            Some(arrivals) if seed != self.seed => {
                let reseeded = Scenario { seed, ..self.clone() };
                Ok(Cow::Owned(reseeded.with_arrival_rate(arrivals.rate_per_s)?))
            }
            _ => Ok(Cow::Borrowed(self)),
        }
    }

    /// The same scenario with arrivals at `rate_per_s` instead: the closed calls are
    /// kept, the arriving ones drawn anew from the scenario's seed.
    ///
    /// # Errors
    ///
    /// [`ArrivalsError`] when the scenario has no arrivals, the rate is not positive
    /// and finite or brings too many calls, or no call arrives at all.
    pub fn with_arrival_rate(&self, rate_per_s: f64) -> Result<Scenario, ArrivalsError> {
        let arrivals = self.arrivals_at(rate_per_s)?;
        let mut builder = closed_part(&self.plan);
        arrivals.add_calls(&mut builder, self.seed);
        Ok(Scenario {
            plan: builder.build()?,
            arrivals: Some(arrivals),
            ..self.clone()
        })
    }
}

impl Scenario {
    /// The scenario's arrivals at `rate_per_s`, checked without drawing them: cheap
    /// enough to validate every rate of a sweep before anything runs.
    ///
    /// # Errors
    ///
    /// As [`Scenario::with_arrival_rate`], except for a load in which no call arrives.
    pub fn arrivals_at(&self, rate_per_s: f64) -> Result<Arrivals, ArrivalsError> {
        let Some(arrivals) = &self.arrivals else {
            return Err(ArrivalsError::NoArrivals);
        };
        if !(rate_per_s.is_finite() && rate_per_s > 0.0) {
            return Err(ArrivalsError::Rate(rate_per_s));
        }
        let arrivals = Arrivals {
            rate_per_s,
            ..arrivals.clone()
        };
        // The closed calls stay, so they count against the limit too: otherwise the draw
        // would stop at the limit and the run would quietly offer less than the rate.
        let closed = self.plan.closed_calls();
        let calls = arrivals.expected_calls() + closed as f64;
        if calls > MAX_CALLS as f64 {
            return Err(ArrivalsError::TooManyCalls { rate_per_s, calls });
        }
        Ok(arrivals)
    }
}

/// A builder holding `plan`'s tools and its calls without an arrival time.
fn closed_part(plan: &Plan) -> PlanBuilder {
    // Arriving calls come last and nothing depends on them, so the closed calls keep
    // their indices and edges.
    plan.builder_with_first(plan.closed_calls())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrivals(process: ArrivalProcess, rate_per_s: f64, secs: u64) -> Arrivals {
        Arrivals {
            process,
            rate_per_s,
            duration: Duration::from_secs(secs),
            mix: vec![(tool(0), 3.0), (tool(1), 1.0)],
            id_prefix: "a".into(),
        }
    }

    fn tool(i: usize) -> ToolId {
        let mut b = PlanBuilder::new();
        let mut last = None;
        for n in 0..=i {
            last = Some(b.tool(crate::plan::ToolSpec::io(format!("t{n}"))));
        }
        last.unwrap()
    }

    #[test]
    fn constant_arrivals_are_evenly_spaced_from_zero() {
        let times: Vec<_> = arrivals(ArrivalProcess::Constant, 4.0, 1)
            .draw(7, usize::MAX)
            .into_iter()
            .map(|(at, _)| at)
            .collect();
        let ms = Duration::from_millis;
        assert_eq!(times, [ms(0), ms(250), ms(500), ms(750)]);
    }

    #[test]
    fn poisson_arrivals_have_the_rate_and_the_mix_asked_for() {
        let a = arrivals(ArrivalProcess::Poisson, 100.0, 200);
        let drawn = a.draw(7, usize::MAX);
        // 20 000 arrivals expected; the count's standard deviation is sqrt(20 000) ≈ 141.
        assert!((drawn.len() as f64 - 20_000.0).abs() < 5.0 * 141.0, "{}", drawn.len());
        assert!(drawn.windows(2).all(|w| w[0].0 <= w[1].0));
        let first = drawn.iter().filter(|(_, t)| *t == tool(0)).count() as f64 / drawn.len() as f64;
        assert!((first - 0.75).abs() < 0.02, "{first}");
        assert_eq!(drawn, a.draw(7, usize::MAX), "the same seed, the same load");
        assert_ne!(drawn, a.draw(8, usize::MAX));
        assert_eq!(a.draw(7, 10).len(), 10);
    }
}
