//! Simulated time: a discrete-event clock that advances only when everything is idle.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::{Stalled, TimerEntry};

/// Builds the runtime a [`VirtualClock`] needs: current-thread, with tokio's time paused.
///
/// Tokio auto-advances paused time only when no task can make progress, which is exactly
/// the moment the virtual clock may jump to its next deadline.
///
/// # Errors
///
/// When tokio cannot build a runtime (out of file descriptors, for example).
pub fn virtual_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
}

type Entry = TimerEntry<Duration>;

#[derive(Debug, Default)]
struct State {
    now: Duration,
    seq: u64,
    heap: BinaryHeap<Reverse<Entry>>,
}

/// Simulated time at nanosecond resolution.
///
/// Sleeps register their deadline in a heap; [`VirtualClock::drive`], polled beside the
/// work on a runtime from [`virtual_runtime`], waits until every task is idle, then moves
/// time to the earliest deadline and wakes all sleepers due at that instant, in the order
/// they went to sleep. The same inputs therefore give the same schedule, and a run takes
/// as long as its events take to process, not as long as it simulates.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use parabench::clock::{virtual_runtime, Clock};
///
/// let clock = Clock::simulated();
/// let rt = virtual_runtime().unwrap();
/// let at = rt.block_on(clock.run(async {
///     clock.sleep(Duration::from_secs(3600)).await;
///     clock.sleep(Duration::from_nanos(1500)).await;
///     clock.now()
/// }));
/// assert_eq!(at.unwrap(), Duration::from_secs(3600) + Duration::from_nanos(1500));
/// ```
#[derive(Clone, Debug, Default)]
pub struct VirtualClock {
    state: Arc<Mutex<State>>,
}

impl VirtualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The simulated time.
    pub fn now(&self) -> Duration {
        self.state().now
    }

    /// Waits until the simulated time reaches `at`.
    pub fn sleep_until(&self, at: Duration) -> VirtualSleep {
        VirtualSleep {
            clock: self.clone(),
            at,
            registered: None,
        }
    }

    /// Advances time each time the runtime is idle; returns only if nothing waits on the
    /// clock while it is idle.
    pub async fn drive(&self) -> Stalled {
        loop {
            // Under paused time this completes only once no task can make progress.
            tokio::time::sleep(Duration::from_millis(1)).await;
            if !self.fire_next() {
                return Stalled;
            }
        }
    }

    /// Moves time to the earliest deadline and wakes everything due then; false if
    /// nothing waits on the clock.
    pub(super) fn fire_next(&self) -> bool {
        let mut due = Vec::new();
        {
            let mut state = self.state();
            let Some(Reverse(first)) = state.heap.pop() else {
                return false;
            };
            state.now = state.now.max(first.at);
            let now = state.now;
            due.push(first.waker);
            while state.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
                due.push(state.heap.pop().expect("peeked").0.waker);
            }
        }
        due.into_iter().for_each(Waker::wake);
        true
    }
}

/// Future of [`VirtualClock::sleep_until`].
#[derive(Debug)]
pub struct VirtualSleep {
    clock: VirtualClock,
    at: Duration,
    registered: Option<Waker>,
}

impl Future for VirtualSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut state = this.clock.state();
        if state.now >= this.at {
            return Poll::Ready(());
        }
        if !this.registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            state.seq += 1;
            let seq = state.seq;
            state.heap.push(Reverse(Entry {
                at: this.at,
                seq,
                waker: cx.waker().clone(),
            }));
            this.registered = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    #[test]
    fn sleepers_wake_at_their_exact_deadlines_in_order() {
        let clock = Clock::simulated();
        let rt = virtual_runtime().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sleeper = |d: u64| {
            let (clock, log) = (clock.clone(), log.clone());
            async move {
                clock.sleep(Duration::from_nanos(d)).await;
                log.lock().unwrap().push((d, clock.now()));
            }
        };
        let all = futures::future::join3(sleeper(2_500_001), sleeper(7), sleeper(2_500_001));
        rt.block_on(clock.run(all)).unwrap();
        let log = log.lock().unwrap();
        assert_eq!(
            *log,
            [
                (7, Duration::from_nanos(7)),
                (2_500_001, Duration::from_nanos(2_500_001)),
                (2_500_001, Duration::from_nanos(2_500_001))
            ]
        );
    }

    #[test]
    fn a_future_waiting_on_something_else_stalls_instead_of_hanging() {
        let clock = Clock::simulated();
        let rt = virtual_runtime().unwrap();
        let out = rt.block_on(clock.run(std::future::pending::<()>()));
        assert_eq!(out, Err(Stalled));
    }

    #[test]
    fn timeouts_fire_at_the_simulated_limit() {
        let clock = Clock::simulated();
        let rt = virtual_runtime().unwrap();
        let out = rt.block_on(clock.run(async {
            let r = clock
                .timeout(Duration::from_millis(30), clock.sleep(Duration::from_secs(10)))
                .await;
            (r, clock.now())
        }));
        assert_eq!(out.unwrap(), (Err(crate::clock::Elapsed), Duration::from_millis(30)));
    }
}
