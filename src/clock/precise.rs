//! One timer thread that wakes futures within microseconds of their deadline.
//!
//! The thread sleeps on a condition variable until shortly before the earliest
//! deadline (the kernel's timer slack makes such sleeps overshoot by ~50 µs), then spins
//! the remainder. It only ever holds deadlines less than a couple of milliseconds away
//! (the real clock waits out the rest on tokio's timer), so the spinning is brief and
//! costs one thread at most, never a core per waiting call.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::TimerEntry;

/// Below this distance from a deadline the thread spins instead of sleeping.
const SPIN: Duration = Duration::from_micros(120);

type Entry = TimerEntry<Instant>;

#[derive(Default)]
struct Timers {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

struct Shared {
    timers: Mutex<Timers>,
    changed: Condvar,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<&'static Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            timers: Mutex::new(Timers::default()),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("parabench-timer".into())
            .spawn(move || run(shared))
            .expect("spawn the timer thread");
        shared
    })
}

fn run(shared: &Shared) {
    let mut woken = Vec::new();
    let mut timers = shared.timers.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let now = Instant::now();
        while let Some(Reverse(e)) = timers.heap.peek() {
            if e.at > now {
                break;
            }
            woken.push(timers.heap.pop().expect("peeked").0.waker);
        }
        if !woken.is_empty() {
            drop(timers);
            woken.drain(..).for_each(Waker::wake);
            timers = shared.timers.lock().unwrap_or_else(|e| e.into_inner());
            continue;
        }
        timers = match timers.heap.peek().map(|Reverse(e)| e.at - now) {
            None => shared.changed.wait(timers).unwrap_or_else(|e| e.into_inner()),
            Some(left) if left > SPIN => {
                shared
                    .changed
                    .wait_timeout(timers, left - SPIN)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            Some(_) => {
                // Release the lock while spinning so new deadlines can still register.
                drop(timers);
                std::hint::spin_loop();
                std::thread::yield_now();
                shared.timers.lock().unwrap_or_else(|e| e.into_inner())
            }
        };
    }
}

pub(super) fn register(at: Instant, waker: Waker) {
    #[cfg(test)]
    REGISTERED.with(|n| n.set(n.get() + 1));
    let shared = shared();
    let mut timers = shared.timers.lock().unwrap_or_else(|e| e.into_inner());
    let earliest = timers.heap.peek().is_none_or(|Reverse(e)| at < e.at);
    timers.seq += 1;
    let seq = timers.seq;
    timers.heap.push(Reverse(Entry { at, seq, waker }));
    drop(timers);
    if earliest {
        shared.changed.notify_one();
    }
}

#[cfg(test)]
thread_local! {
    static REGISTERED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many waits this thread has handed to the timer thread.
#[cfg(test)]
pub(crate) fn registrations_on_this_thread() -> u64 {
    REGISTERED.with(std::cell::Cell::get)
}

/// Completes at `deadline`, a few microseconds late at most on an idle machine.
pub(super) fn wait_until(deadline: Instant) -> WaitUntil {
    WaitUntil {
        deadline,
        registered: None,
    }
}

pub(super) struct WaitUntil {
    deadline: Instant,
    registered: Option<Waker>,
}

impl Future for WaitUntil {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        // A stale registration only causes a spurious wake-up, so re-register only when
        // the task's waker changed; a probe is polled again at once with the real one.
        if !self.registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) && !super::is_probe(cx.waker()) {
            register(self.deadline, cx.waker().clone());
            self.registered = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_never_end_before_their_deadline() {
        for micros in [0u64, 10, 300, 1500] {
            let deadline = Instant::now() + Duration::from_micros(micros);
            wait_until(deadline).await;
            assert!(Instant::now() >= deadline, "{micros} µs");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_waits_all_complete() {
        let start = Instant::now();
        let waits = (0..200u64).map(|i| wait_until(start + Duration::from_micros(i * 7)));
        futures::future::join_all(waits).await;
        assert!(Instant::now() >= start + Duration::from_micros(199 * 7));
    }

    #[test]
    fn a_probing_poll_registers_nothing() {
        let mut wait = wait_until(Instant::now() + Duration::from_secs(60));
        let before = registrations_on_this_thread();
        let probe = super::super::probe_waker();
        assert!(Pin::new(&mut wait).poll(&mut Context::from_waker(probe)).is_pending());
        assert_eq!(registrations_on_this_thread(), before);
        let waker = Waker::from(std::sync::Arc::new(Ignore));
        assert!(Pin::new(&mut wait).poll(&mut Context::from_waker(&waker)).is_pending());
        assert!(Pin::new(&mut wait).poll(&mut Context::from_waker(&waker)).is_pending());
        assert_eq!(registrations_on_this_thread(), before + 1, "registered once");
    }

    struct Ignore;

    impl std::task::Wake for Ignore {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    #[test]
    fn waiters_wake_in_the_order_of_their_deadlines() {
        // On a current-thread runtime a task runs in the order it was woken, so the order
        // in which the waits end is the timer thread's order of waking them.
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let ended = std::sync::Mutex::new(Vec::new());
        // Far enough ahead that every wait registers before the first deadline passes.
        let start = Instant::now() + Duration::from_millis(50);
        // Deadlines interleaved against the order the waits begin, some equal.
        let offsets: Vec<u64> = (0..60u64).map(|i| (i * 37) % 50 * 20).collect();
        rt.block_on(futures::future::join_all(offsets.iter().enumerate().map(|(i, &us)| {
            let ended = &ended;
            async move {
                wait_until(start + Duration::from_micros(us)).await;
                ended.lock().unwrap().push((us, i));
            }
        })));
        let ended = ended.into_inner().unwrap();
        let mut sorted = ended.clone();
        // By deadline; equal deadlines in the order they went to sleep.
        sorted.sort();
        assert_eq!(ended, sorted);
    }
}
