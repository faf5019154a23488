//! Real-clock waits that an executor fires on its own thread.
//!
//! A real-clock wait normally ends through timers on other threads: tokio's, then the
//! precise timer thread, whose wake-up reaches the executor's task through the kernel.
//! With a thousand calls in flight on two cores, those crossings are most of the lag
//! between a call's end and the executor handling it: the timer thread waits for a core,
//! the executor parks between completions and is woken again.
//!
//! An executor that owns every wait its task polls (`Executor::sole_waiter`) polls its
//! calls inside [`LocalTimers::scope`]. A wait polled there registers in that executor's
//! heap instead, and the executor, once nothing else can run, fires what is due itself:
//! it spins through the last [`SPIN`] before a deadline, and arms the precise timer for a
//! deadline further away than that. No call's end then passes through another thread
//! while calls end close together, which is when it mattered.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::{TimerEntry, is_probe, precise};

/// Below this distance from the earliest deadline the executor spins for it rather than
/// parking: a park and the wake-up that ends it cost tens to hundreds of microseconds on
/// a busy machine, and calls ending this close together would each pay it.
pub(crate) const SPIN: Duration = Duration::from_micros(120);

#[derive(Debug, Default)]
struct Timers {
    heap: BinaryHeap<Reverse<TimerEntry<Instant>>>,
    seq: u64,
}

thread_local! {
    /// While a [`LocalTimers::scope`] runs on this thread: its timers.
    static ACTIVE: RefCell<Option<Timers>> = const { RefCell::new(None) };
}

/// An executor's own timer heap for the real-clock waits it polls.
///
/// The heap moves into a thread-local for the length of each [`scope`](Self::scope), so
/// a wait registers without a lock, and the executor's task may move between threads
/// between polls.
#[derive(Debug, Default)]
pub(crate) struct LocalTimers {
    timers: Timers,
    /// The earliest instant the precise timer was asked to wake the executor at, while
    /// that is still to come: a later deadline needs no second request.
    armed: Option<Instant>,
}

/// What the executor should do after [`LocalTimers::advance`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Advance {
    /// Waits were fired: poll again.
    Fired,
    /// Nothing is due yet: return `Pending` and wait to be woken.
    Park,
}

impl LocalTimers {
    /// No waits yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Runs `poll` with this heap as the thread's: the real-clock waits polled in it
    /// register here. Scopes nest; the outer one is back when this one ends, even on a
    /// panic.
    pub(crate) fn scope<R>(&mut self, poll: impl FnOnce() -> R) -> R {
        /// Takes the heap back out of the thread-local, however the scope ends.
        struct Restore<'a> {
            timers: &'a mut Timers,
            outer: Option<Timers>,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                let outer = self.outer.take();
                if let Some(mine) = ACTIVE.with(|active| active.replace(outer)) {
                    *self.timers = mine;
                }
            }
        }
        let outer = ACTIVE.with(|active| active.replace(Some(std::mem::take(&mut self.timers))));
        let _restore = Restore {
            timers: &mut self.timers,
            outer,
        };
        poll()
    }

    /// The earliest deadline waiting, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Wakes every wait due by `now`, earliest first (equal deadlines in the order they
    /// registered); whether there was one.
    pub(crate) fn fire_due(&mut self, now: Instant) -> bool {
        let mut fired = false;
        while self.timers.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
            let Reverse(entry) = self.timers.heap.pop().expect("peeked");
            entry.waker.wake();
            fired = true;
        }
        fired
    }

    /// For an executor with nothing to poll: fires the earliest waits if they are due or
    /// within [`SPIN`] (spinning until then, unless `woken` says something else woke the
    /// task meanwhile), or else asks the precise timer to wake `task` [`SPIN`] before the
    /// earliest.
    pub(crate) fn advance(&mut self, task: &Waker, woken: impl Fn() -> bool) -> Advance {
        let Some(at) = self.next_deadline() else {
            return Advance::Park;
        };
        loop {
            let now = Instant::now();
            if now >= at {
                self.fire_due(now);
                return Advance::Fired;
            }
            if woken() {
                // The task is woken already: let its runtime poll it, which also gives
                // a future that yielded for the runtime's budget its turn.
                return Advance::Park;
            }
            if at - now > SPIN {
                // Woken early enough to spin out the rest: a parked thread's wake-up
                // takes tens of microseconds more than the timer's.
                let wake = at - SPIN;
                if self.armed.is_none_or(|armed| armed > wake || armed <= now) {
                    precise::register(wake, task.clone());
                    self.armed = Some(wake);
                }
                return Advance::Park;
            }
            std::hint::spin_loop();
        }
    }
}

/// Registers a wait for `deadline` in the timers of the scope running on this thread,
/// unless it is registered there with this waker already (`registered` remembers); false
/// when no scope runs, and the wait must register elsewhere.
///
/// The [`probe_waker`](super::probe_waker) is not registered: it wakes nothing.
pub(super) fn register(deadline: Instant, waker: &Waker, registered: &mut Option<Waker>) -> bool {
    ACTIVE.with(|active| {
        let mut active = active.borrow_mut();
        let Some(timers) = active.as_mut() else {
            return false;
        };
        let again = registered.as_ref().is_some_and(|w| w.will_wake(waker));
        if !again && !is_probe(waker) {
            timers.seq += 1;
            timers.heap.push(Reverse(TimerEntry {
                at: deadline,
                seq: timers.seq,
                waker: waker.clone(),
            }));
            *registered = Some(waker.clone());
        }
        true
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// Counts its wake-ups, and notes its name in a shared log when woken.
    struct Named(usize, Arc<std::sync::Mutex<Vec<usize>>>, AtomicUsize);

    impl Wake for Named {
        fn wake(self: Arc<Self>) {
            self.2.fetch_add(1, Ordering::Relaxed);
            self.1.lock().unwrap().push(self.0);
        }
    }

    fn wakers(n: usize) -> (Vec<Arc<Named>>, Arc<std::sync::Mutex<Vec<usize>>>) {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let named = (0..n)
            .map(|i| Arc::new(Named(i, log.clone(), AtomicUsize::new(0))))
            .collect();
        (named, log)
    }

    #[test]
    fn waits_register_only_inside_a_scope() {
        let (named, log) = wakers(1);
        let waker = Waker::from(named[0].clone());
        let at = Instant::now() + Duration::from_secs(60);
        let mut registered = None;
        assert!(!register(at, &waker, &mut registered), "no scope runs");
        assert!(registered.is_none());
        let mut timers = LocalTimers::new();
        assert!(timers.scope(|| register(at, &waker, &mut registered)));
        assert_eq!(timers.next_deadline(), Some(at));
        assert!(!register(at, &waker, &mut registered), "the scope is over");
        assert!(!timers.fire_due(at - Duration::from_nanos(1)), "not due yet");
        assert!(timers.fire_due(at));
        assert_eq!(*log.lock().unwrap(), [0]);
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn a_wait_polled_again_with_its_waker_registers_once() {
        let (named, _) = wakers(2);
        let (first, second) = (Waker::from(named[0].clone()), Waker::from(named[1].clone()));
        let at = Instant::now();
        let mut timers = LocalTimers::new();
        let mut registered = None;
        timers.scope(|| {
            register(at, super::super::probe_waker(), &mut registered);
            register(at, &first, &mut registered);
            register(at, &first, &mut registered);
            register(at, &second, &mut registered);
        });
        assert!(timers.fire_due(at));
        let counts: Vec<usize> = named.iter().map(|n| n.2.load(Ordering::Relaxed)).collect();
        assert_eq!(counts, [1, 1], "the probe is skipped, a repeated waker kept once");
        assert_eq!(timers.timers.heap.len(), 0);
    }

    #[test]
    fn waits_fire_in_the_order_of_their_deadlines() {
        let (named, log) = wakers(40);
        let base = Instant::now();
        let mut timers = LocalTimers::new();
        // Deadlines interleaved against the order of registration, some equal.
        let offsets: Vec<u64> = (0..40u64).map(|i| (i * 37) % 25).collect();
        timers.scope(|| {
            for (named, &us) in named.iter().zip(&offsets) {
                register(base + Duration::from_micros(us), &Waker::from(named.clone()), &mut None);
            }
        });
        assert!(timers.fire_due(base + Duration::from_secs(1)));
        let mut expected: Vec<(u64, usize)> = offsets.iter().copied().zip(0..).collect();
        expected.sort();
        let expected: Vec<usize> = expected.into_iter().map(|(_, i)| i).collect();
        assert_eq!(*log.lock().unwrap(), expected);
    }

    #[test]
    fn scopes_nest_and_survive_a_panic() {
        let (named, _) = wakers(2);
        let at = Instant::now();
        let (mut outer, mut inner) = (LocalTimers::new(), LocalTimers::new());
        outer.scope(|| {
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                inner.scope(|| {
                    register(at, &Waker::from(named[1].clone()), &mut None);
                    panic!("a poll panics");
                })
            }));
            assert!(panicked.is_err());
            // The outer scope is the thread's again.
            register(at, &Waker::from(named[0].clone()), &mut None);
        });
        assert!(inner.fire_due(at) && outer.fire_due(at));
        assert_eq!(named[0].2.load(Ordering::Relaxed), 1);
        assert_eq!(named[1].2.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn advance_fires_a_close_deadline_and_arms_a_far_one() {
        let (named, _) = wakers(2);
        let task = Waker::from(named[1].clone());
        let mut timers = LocalTimers::new();
        assert_eq!(timers.advance(&task, || false), Advance::Park, "nothing waits");
        let close = Instant::now() + SPIN / 4;
        timers.scope(|| register(close, &Waker::from(named[0].clone()), &mut None));
        assert_eq!(timers.advance(&task, || false), Advance::Fired);
        assert!(Instant::now() >= close, "fired before its deadline");
        assert_eq!(named[0].2.load(Ordering::Relaxed), 1);

        let far = Instant::now() + Duration::from_millis(30);
        timers.scope(|| register(far, &Waker::from(named[0].clone()), &mut None));
        assert_eq!(timers.advance(&task, || false), Advance::Park);
        assert_eq!(named[0].2.load(Ordering::Relaxed), 1, "not fired early");
        // The precise timer wakes the task in time to spin out the rest.
        while named[1].2.load(Ordering::Relaxed) == 0 {
            std::thread::sleep(Duration::from_micros(50));
        }
        assert!(Instant::now() >= far - SPIN);
        assert_eq!(timers.advance(&task, || false), Advance::Fired);
        assert!(Instant::now() >= far, "fired before its deadline");
        assert_eq!(named[0].2.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn advance_yields_to_a_wake_up_from_elsewhere() {
        let (named, _) = wakers(1);
        // A deadline that has passed by the time `advance` looks is fired first, woken
        // or not; so count only the tries where it had not.
        let mut checked = 0;
        for _ in 0..100 {
            let mut timers = LocalTimers::new();
            let close = Instant::now() + SPIN / 2;
            timers.scope(|| register(close, &Waker::from(named[0].clone()), &mut None));
            let advanced = timers.advance(Waker::noop(), || true);
            if Instant::now() < close {
                assert_eq!(advanced, Advance::Park, "spun while woken");
                checked += 1;
            }
        }
        assert!(checked > 0, "never looked before the deadline");
    }
}
