//! A rate limit: at most one attempt start per interval.

use std::time::Duration;

/// Spaces attempt starts at least `1 / rate` apart (a token bucket of depth one).
///
/// A burst-free limit is the conservative reading of "N calls per second": it is what a
/// server enforcing the rate over any window will accept.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    interval: Duration,
    next: Duration,
}

impl RateLimit {
    /// At most `per_s` starts per second.
    ///
    /// # Panics
    ///
    /// If `per_s` is not positive and finite (the plan checks it).
    pub fn new(per_s: f64) -> Self {
        assert!(per_s.is_finite() && per_s > 0.0, "rate must be positive");
        Self {
            interval: Duration::from_secs_f64(1.0 / per_s),
            next: Duration::ZERO,
        }
    }

    /// The earliest time the next attempt may start.
    pub fn next_start(&self) -> Duration {
        self.next
    }

    /// Whether an attempt may start at `now`.
    pub fn allows(&self, now: Duration) -> bool {
        now >= self.next
    }

    /// Records an attempt starting at `now`.
    pub fn take(&mut self, now: Duration) {
        self.next = self.next.max(now) + self.interval;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_are_spaced_by_the_interval() {
        let ms = Duration::from_millis;
        let mut r = RateLimit::new(20.0);
        assert!(r.allows(ms(0)));
        r.take(ms(0));
        assert!(!r.allows(ms(49)));
        assert_eq!(r.next_start(), ms(50));
        r.take(ms(50));
        // Idle time does not build up a burst.
        r.take(ms(500));
        assert_eq!(r.next_start(), ms(550));
    }
}
