//! How the executor schedules a run: plain data, no tokio types.

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The default global limit on calls in flight.
pub const DEFAULT_MAX_CONCURRENCY: usize = 5;

/// The global limit on calls in flight, as a user states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concurrency {
    /// Exactly this many.
    Fixed(NonZeroUsize),
    /// min(2 × CPU cores, 10).
    Auto,
}

impl Concurrency {
    /// The limit on a machine with `cores` cores.
    pub fn resolve(self, cores: usize) -> NonZeroUsize {
        match self {
            Concurrency::Fixed(n) => n,
            Concurrency::Auto => NonZeroUsize::new((2 * cores).clamp(1, 10)).expect("at least 1"),
        }
    }
}

impl Default for Concurrency {
    fn default() -> Self {
        Concurrency::Fixed(NonZeroUsize::new(DEFAULT_MAX_CONCURRENCY).expect("non-zero"))
    }
}

/// How calls are admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Schedule {
    /// A sliding window: a call starts as soon as it is ready and a slot is free.
    #[default]
    Window,
    /// Fixed batches: up to `size` ready calls start together, and the next batch starts
    /// only when the slowest call of this one has ended (the `asyncio.gather` pattern).
    Batch {
        /// Calls per batch.
        size: NonZeroUsize,
    },
}

/// What happens to a call whose dependency did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnDependencyFailure {
    /// The call is not run; its outcome is `skipped`, naming the failed dependency.
    #[default]
    Skip,
    /// The call runs anyway, without that dependency's output.
    Run,
}

/// How much randomness spreads retries out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Jitter {
    /// Exactly the exponential backoff.
    None,
    /// Uniform in [0, backoff] (AWS's "full jitter").
    #[default]
    Full,
    /// backoff / 2 plus uniform in [0, backoff / 2].
    Equal,
}

/// Why a [`RetryPolicy`] was rejected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RetryError {
    /// The multiplier is below 1 or not finite.
    #[error("backoff multiplier must be a finite number >= 1, got {0}")]
    Multiplier(f64),
    /// The maximum backoff is below the initial one.
    #[error("max_backoff ({max:?}) is below initial_backoff ({initial:?})")]
    MaxBelowInitial {
        /// The initial backoff.
        initial: Duration,
        /// The maximum backoff.
        max: Duration,
    },
}

/// Retries with exponential backoff and jitter.
///
/// Attempt `n` (from 1) that fails is followed, if `n < max_attempts`, by a wait of
/// `min(initial_backoff × multiplierⁿ⁻¹, max_backoff)`, spread by the [`Jitter`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    max_attempts: NonZeroU32,
    initial_backoff: Duration,
    multiplier: f64,
    max_backoff: Duration,
    jitter: Jitter,
}

impl RetryPolicy {
    /// One attempt per call: no retries.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: NonZeroU32::MIN,
        initial_backoff: Duration::from_millis(50),
        multiplier: 2.0,
        max_backoff: Duration::from_secs(1),
        jitter: Jitter::Full,
    };

    /// A validated policy.
    ///
    /// # Errors
    ///
    /// - [`RetryError::Multiplier`] when `multiplier` is below 1 or not finite;
    /// - [`RetryError::MaxBelowInitial`] when `max_backoff < initial_backoff`.
    pub fn new(
        max_attempts: NonZeroU32,
        initial_backoff: Duration,
        multiplier: f64,
        max_backoff: Duration,
        jitter: Jitter,
    ) -> Result<Self, RetryError> {
        if !(multiplier.is_finite() && multiplier >= 1.0) {
            return Err(RetryError::Multiplier(multiplier));
        }
        if max_backoff < initial_backoff {
            return Err(RetryError::MaxBelowInitial {
                initial: initial_backoff,
                max: max_backoff,
            });
        }
        Ok(Self {
            max_attempts,
            initial_backoff,
            multiplier,
            max_backoff,
            jitter,
        })
    }

    /// Attempts per call, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts.get()
    }

    /// The wait after failed attempt `attempt` (from 1), before jitter.
    pub fn base_backoff(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.powi(attempt.saturating_sub(1).min(1024) as i32);
        let secs = (self.initial_backoff.as_secs_f64() * factor).min(self.max_backoff.as_secs_f64());
        Duration::from_secs_f64(secs)
    }

    /// The wait after failed attempt `attempt`, with jitter from `unit`, a uniform draw
    /// in [0, 1).
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let base = self.base_backoff(attempt);
        match self.jitter {
            Jitter::None => base,
            Jitter::Full => base.mul_f64(unit),
            Jitter::Equal => base / 2 + (base / 2).mul_f64(unit),
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::NONE
    }
}

/// Everything the executor needs to know besides the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutorConfig {
    /// Calls in flight at once, at most.
    pub max_concurrency: NonZeroUsize,
    /// Sliding window or fixed batches.
    pub schedule: Schedule,
    /// Limit on each attempt; `None` waits as long as the tool takes.
    pub attempt_timeout: Option<Duration>,
    /// Limit on the whole run; calls unfinished then are `cancelled`.
    pub deadline: Option<Duration>,
    /// Retries of failed and timed-out attempts.
    pub retry: RetryPolicy,
    /// Skip or run the dependents of a failed call.
    pub on_dependency_failure: OnDependencyFailure,
    /// Seed of the backoff jitter (paired like every other draw).
    pub seed: u64,
}

impl ExecutorConfig {
    /// The defaults with `max_concurrency` calls in flight at most.
    ///
    /// # Panics
    ///
    /// If `max_concurrency` is 0.
    pub fn with_max_concurrency(max_concurrency: usize) -> Self {
        Self {
            max_concurrency: NonZeroUsize::new(max_concurrency).expect("max_concurrency must be at least 1"),
            ..Self::default()
        }
    }

    /// The same run one call at a time: the sequential baseline.
    pub fn sequential(&self) -> Self {
        Self {
            max_concurrency: NonZeroUsize::MIN,
            schedule: Schedule::Window,
            ..self.clone()
        }
    }
}

impl Default for ExecutorConfig {
    /// Five calls in flight, a sliding window, no timeout, deadline or retries, skip the
    /// dependents of failed calls, seed 0.
    fn default() -> Self {
        Self {
            max_concurrency: Concurrency::default().resolve(1),
            schedule: Schedule::Window,
            attempt_timeout: None,
            deadline: None,
            retry: RetryPolicy::NONE,
            on_dependency_failure: OnDependencyFailure::Skip,
            seed: 0,
        }
    }
}

/// Which kind of run an [`ExecutorConfig`] makes in a comparison, as reports and
/// telemetry label it: the sequential baseline, a sliding window, or fixed batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    /// One call at a time: the baseline.
    Sequential,
    /// A sliding window of `max_concurrency` calls.
    Parallel,
    /// Fixed batches, each waiting for its slowest call.
    Batch,
}

impl RunMode {
    /// The mode as it appears in reports and telemetry.
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Sequential => "sequential",
            RunMode::Parallel => "parallel",
            RunMode::Batch => "batch",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_concurrency_is_twice_the_cores_capped_at_ten() {
        assert_eq!(Concurrency::Auto.resolve(2).get(), 4);
        assert_eq!(Concurrency::Auto.resolve(64).get(), 10);
        assert_eq!(Concurrency::default().resolve(64).get(), 5);
    }

    #[test]
    fn backoff_grows_then_caps() {
        let p = RetryPolicy::new(
            NonZeroU32::new(5).unwrap(),
            Duration::from_millis(50),
            2.0,
            Duration::from_millis(150),
            Jitter::None,
        )
        .unwrap();
        let b: Vec<_> = (1..=4).map(|a| p.backoff(a, 0.7).as_millis()).collect();
        assert_eq!(b, [50, 100, 150, 150]);
    }

    #[test]
    fn jitter_stays_within_its_range() {
        let mk = |jitter| {
            RetryPolicy::new(
                NonZeroU32::MIN,
                Duration::from_millis(100),
                2.0,
                Duration::from_secs(1),
                jitter,
            )
            .unwrap()
        };
        assert_eq!(mk(Jitter::Full).backoff(1, 0.25), Duration::from_millis(25));
        assert_eq!(mk(Jitter::Equal).backoff(1, 0.0), Duration::from_millis(50));
        assert_eq!(mk(Jitter::Equal).backoff(1, 0.5), Duration::from_millis(75));
    }

    #[test]
    fn invalid_policies_are_rejected() {
        let d = Duration::from_millis;
        assert_eq!(
            RetryPolicy::new(NonZeroU32::MIN, d(10), 0.5, d(100), Jitter::None),
            Err(RetryError::Multiplier(0.5))
        );
        assert!(matches!(
            RetryPolicy::new(NonZeroU32::MIN, d(100), 2.0, d(10), Jitter::None),
            Err(RetryError::MaxBelowInitial { .. })
        ));
    }
}
