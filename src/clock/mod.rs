//! The clocks that calls, backoffs, timeouts and rate limits wait on.
//!
//! Everything in parabench that waits does so through a [`Clock`], so the same executor
//! and simulated tools run in two worlds:
//!
//! - [`RealClock`]: wall time, with waits precise to tens of microseconds. Tokio's own
//!   timer rounds every sleep up to the next millisecond, which would turn a 1 ms tool into
//!   a 2 ms one and make every measured latency wrong.
//! - [`VirtualClock`]: simulated time. Nothing really waits: when every task is idle, time
//!   jumps to the next deadline. A scenario of hours runs in milliseconds, and the same
//!   inputs give the same schedule to the nanosecond.
//!
//! Times are [`Duration`]s since the clock's origin (the start of the run).

mod local;
mod precise;
mod real;
mod virtual_time;

use std::cmp::Ordering;
use std::future::Future;
use std::num::NonZeroUsize;
use std::task::Waker;
use std::time::Duration;

pub(crate) use local::{Advance, LocalTimers};
#[cfg(test)]
pub(crate) use precise::registrations_on_this_thread;
pub use real::RealClock;
pub(crate) use real::noting_deadlines;
pub use virtual_time::{VirtualClock, virtual_runtime};

/// Which clock runs are on: the choice, made once, from which the clock, the runtime
/// and the cores of every run follow (see [`ClockKind::cores`], [`ClockKind::runtime`]
/// and [`ClockKind::clock`]), so no two places decide them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ClockKind {
    /// Wall time: tools really wait and really compute.
    #[default]
    Real,
    /// Simulated time: deterministic, and as fast as the events can be processed.
    Virtual,
}

impl ClockKind {
    /// `real` or `virtual`, as in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::Real => "real",
            ClockKind::Virtual => "virtual",
        }
    }

    /// The cores CPU-bound work gets: on the virtual clock `modelled` (a scenario's
    /// `cpu_cores`) or else the machine's; on the real clock always the machine's.
    pub fn cores(self, modelled: Option<NonZeroUsize>) -> NonZeroUsize {
        match self {
            ClockKind::Virtual => modelled.unwrap_or_else(machine_cores),
            ClockKind::Real => machine_cores(),
        }
    }

    /// A runtime for runs on this clock: a paused current-thread runtime for virtual
    /// time ([`virtual_runtime`]), a multi-threaded one with a worker per core for real
    /// time.
    ///
    /// # Errors
    ///
    /// When the runtime cannot start.
    pub fn runtime(self, cores: NonZeroUsize) -> std::io::Result<tokio::runtime::Runtime> {
        match self {
            ClockKind::Virtual => virtual_runtime(),
            ClockKind::Real => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(cores.get())
                .enable_all()
                .build(),
        }
    }

    /// A fresh clock of this kind, its origin now (or at zero).
    pub fn clock(self) -> Clock {
        match self {
            ClockKind::Virtual => Clock::simulated(),
            ClockKind::Real => Clock::real(),
        }
    }
}

/// The cores of this machine.
pub fn machine_cores() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// An attempt ran past its timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("timed out")]
pub struct Elapsed;

/// The virtual clock found nothing left to wait for while futures were still pending:
/// something is waiting on a source of wake-ups that is not this clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the virtual clock stalled: a future waits on something other than the clock")]
pub struct Stalled;

/// Which clock a run uses; cheap to clone (clones share their time).
#[derive(Clone, Debug)]
pub enum Clock {
    /// Wall time with sub-millisecond waits.
    Real(RealClock),
    /// Simulated time; needs a paused current-thread runtime (see [`virtual_runtime`]).
    Virtual(VirtualClock),
}

impl Clock {
    /// A wall clock whose origin is now.
    pub fn real() -> Self {
        Clock::Real(RealClock::new())
    }

    /// A simulated clock at time zero.
    pub fn simulated() -> Self {
        Clock::Virtual(VirtualClock::new())
    }

    /// Whether this is simulated time.
    pub fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual(_))
    }

    /// The wall-clock instant a real clock counts from; `None` for simulated time.
    pub fn wall_origin(&self) -> Option<std::time::Instant> {
        match self {
            Clock::Real(c) => Some(c.origin()),
            Clock::Virtual(_) => None,
        }
    }

    /// Time since the origin.
    pub fn now(&self) -> Duration {
        match self {
            Clock::Real(c) => c.now(),
            Clock::Virtual(c) => c.now(),
        }
    }

    /// Waits until `now() >= at`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the wait and has no other effect.
    pub async fn sleep_until(&self, at: Duration) {
        match self {
            // Boxed: a real wait is five times the size of a simulated one, and every
            // future that may wait on a `Clock` would carry that size, to be moved on
            // each call, whichever clock the run uses. A real wait lasts long enough
            // that its allocation does not show.
            Clock::Real(c) => Box::pin(c.sleep_until(at)).await,
            Clock::Virtual(c) => c.sleep_until(at).await,
        }
    }

    /// Waits for `duration`.
    pub async fn sleep(&self, duration: Duration) {
        if !duration.is_zero() {
            self.sleep_until(self.now().saturating_add(duration)).await;
        }
    }

    /// Runs `fut` for at most `limit`; on expiry `fut` is dropped (cancelled).
    pub async fn timeout<F: Future>(&self, limit: Duration, fut: F) -> Result<F::Output, Elapsed> {
        let at = self.now().saturating_add(limit);
        tokio::select! {
            biased;
            out = fut => Ok(out),
            () = self.sleep_until(at) => Err(Elapsed),
        }
    }

    /// Moves simulated time forward whenever everything else is idle; completes only if
    /// the clock stalls. Poll it beside the work (as the executor does), or use
    /// [`Clock::run`]. On a real clock it never completes.
    pub async fn drive(&self) -> Stalled {
        match self {
            Clock::Real(_) => std::future::pending().await,
            Clock::Virtual(c) => c.drive().await,
        }
    }

    /// Simulated time only: moves time to the next deadline at once and wakes what is due,
    /// as [`Clock::drive`] does when the runtime is idle. Only for a caller that knows
    /// nothing else can run (no other task, and none of its own futures woken); false
    /// when nothing waits on the clock, or on a real clock.
    pub(crate) fn fire_next(&self) -> bool {
        match self {
            Clock::Real(_) => false,
            Clock::Virtual(c) => c.fire_next(),
        }
    }

    /// Runs `fut` to completion while driving the clock.
    ///
    /// # Errors
    ///
    /// [`Stalled`] if `fut` waits on something other than this clock under simulated time.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output, Stalled> {
        tokio::select! {
            biased;
            out = fut => Ok(out),
            stalled = self.drive() => Err(stalled),
        }
    }
}

/// A waker for a poll made only to see whether a future is ready at once: it wakes
/// nothing, and the clock's timers do not register it (a future so polled is polled again
/// at once with the waker that should hear its wake-ups).
///
/// Not `Waker::noop()`: whether a waker is that one cannot be told reliably (its vtable
/// may have several copies in a binary, and in release builds it does), and this one is
/// told by its data pointer, the address of an allocation of its own.
pub(crate) fn probe_waker() -> &'static Waker {
    struct Probe;
    impl std::task::Wake for Probe {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    static PROBE: std::sync::OnceLock<Waker> = std::sync::OnceLock::new();
    PROBE.get_or_init(|| Waker::from(std::sync::Arc::new(Probe)))
}

/// Whether `waker` is the [`probe_waker`].
fn is_probe(waker: &Waker) -> bool {
    std::ptr::eq(waker.data(), probe_waker().data())
}

/// A sleeper in a timer heap: ordered by deadline, then by the order it went to sleep,
/// so sleepers due at the same instant wake in a deterministic order.
#[derive(Debug)]
struct TimerEntry<T> {
    at: T,
    seq: u64,
    waker: Waker,
}

impl<T: Ord> PartialEq for TimerEntry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T: Ord> Eq for TimerEntry<T> {}

impl<T: Ord> PartialOrd for TimerEntry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> Ord for TimerEntry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.at.cmp(&other.at).then(self.seq.cmp(&other.seq))
    }
}
