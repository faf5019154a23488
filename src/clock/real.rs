//! Wall time with sub-millisecond waits.

use std::cell::Cell;
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
        note_deadline(deadline);
    }
}

thread_local! {
    /// While a poll runs under [`noting_deadlines`]: the deadline of the last real-clock
    /// wait that ended in it.
    static NOTED: Cell<Noted> = const { Cell::new(Noted::Off) };
}

#[derive(Clone, Copy)]
enum Noted {
    Off,
    Listening(Option<Instant>),
}

fn note_deadline(deadline: Instant) {
    NOTED.with(|noted| {
        if let Noted::Listening(_) = noted.get() {
            noted.set(Noted::Listening(Some(deadline)));
        }
    });
}

/// Runs `poll` (one poll of a future) and returns the deadline of the last real-clock
/// wait that ended during it.
///
/// A wait ends at its deadline, but the poll that finds it over can come later: the
/// executor uses the deadline as the moment the wait's future was done, where the
/// future's last wake-up may have come from an earlier, coarser timer.
pub(crate) fn noting_deadlines<R>(poll: impl FnOnce() -> R) -> (R, Option<Instant>) {
    let outer = NOTED.with(|noted| noted.replace(Noted::Listening(None)));
    let out = poll();
    let noted = NOTED.with(|noted| match noted.replace(outer) {
        Noted::Listening(at) => at,
        Noted::Off => None,
    });
    // A wait inside nests in the poll around it too.
    if let (Some(at), Noted::Listening(_)) = (noted, outer) {
        note_deadline(at);
    }
    (out, noted)
}

impl Default for RealClock {
    fn default() -> Self {
        Self::new()
    }
}
