//! Wall time with sub-millisecond waits.

use std::time::{Duration, Instant};

use super::precise;

/// Tokio's timer wakes on millisecond ticks, after the deadline; hand over to the precise
/// timer thread this long before the deadline so the tick never overshoots it.
const HANDOVER: Duration = Duration::from_millis(2);

/// Wall time since an origin, with waits precise to tens of microseconds.
///
/// A wait sleeps on tokio's timer until shortly before its deadline (so a waiting call
/// occupies no thread), then hands the last stretch to one shared timer thread that
/// sleeps and spins briefly to wake it on time.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// use parabench::clock::RealClock;
///
/// let clock = RealClock::new();
/// clock.sleep_until(Duration::from_micros(1500)).await;
/// assert!(clock.now() >= Duration::from_micros(1500));
/// # });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RealClock {
    origin: Instant,
}

impl RealClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Self { origin: Instant::now() }
    }

    /// The instant this clock counts from.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Time since the origin.
    pub fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Waits until `now() >= at`.
    pub async fn sleep_until(&self, at: Duration) {
        let Some(deadline) = self.origin.checked_add(at) else {
            return std::future::pending().await;
        };
        if let Some(coarse) = deadline.checked_sub(HANDOVER)
            && coarse > Instant::now()
        {
            tokio::time::sleep_until(coarse.into()).await;
        }
        precise::wait_until(deadline).await;
    }
}

impl Default for RealClock {
    fn default() -> Self {
        Self::new()
    }
}
