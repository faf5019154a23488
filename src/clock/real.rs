//! Wall time with sub-millisecond waits.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::{local, precise};

/// Tokio's timer wakes on millisecond ticks, after the deadline; hand over to the precise
/// timer thread this long before the deadline so the tick never overshoots it.
const HANDOVER: Duration = Duration::from_millis(2);

/// Wall time since an origin, with waits precise to tens of microseconds.
///
/// A wait sleeps on tokio's timer until shortly before its deadline (so a waiting call
/// occupies no thread), then hands the last stretch to one shared timer thread that
/// sleeps and spins briefly to wake it on time. A wait that an executor polls as its
/// task's sole waiter (`Executor::sole_waiter`) goes to that executor's
/// own timers instead, which it fires on its own thread.
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
        Wait {
            deadline,
            coarse: None,
            precise: precise::wait_until(deadline),
            local: None,
        }
        .await;
    }
}

pin_project_lite::pin_project! {
    /// A wait until `deadline`: in the timers of an executor that fires them itself when
    /// it polls the wait (see [`local`]); otherwise on tokio's timer up to
    /// [`HANDOVER`] before the deadline, then on the precise one.
    struct Wait {
        deadline: Instant,
        // Tokio's wait, while it runs; once it has ended, its instant has passed.
        #[pin]
        coarse: Option<tokio::time::Sleep>,
        precise: precise::WaitUntil,
        // The waker registered in an executor's timers.
        local: Option<Waker>,
    }
}

impl Future for Wait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let deadline = *this.deadline;
        let now = Instant::now();
        if now >= deadline {
            note_deadline(deadline);
            return Poll::Ready(());
        }
        if local::register(deadline, cx.waker(), this.local) {
            return Poll::Pending;
        }
        if this.coarse.is_none()
            && let Some(coarse) = deadline.checked_sub(HANDOVER)
            && coarse > now
        {
            this.coarse.set(Some(tokio::time::sleep_until(coarse.into())));
        }
        if let Some(coarse) = this.coarse.as_mut().as_pin_mut() {
            std::task::ready!(coarse.poll(cx));
            this.coarse.set(None);
        }
        std::task::ready!(Pin::new(this.precise).poll(cx));
        note_deadline(deadline);
        Poll::Ready(())
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
