//! Completion lag: how long a finished attempt waited for the executor to handle it.
//!
//! An attempt's future is done when whatever it waits on wakes it for the last time (a
//! timer fires, a socket becomes readable); the executor learns it only when it next
//! polls that future, which can be later when many calls end together and the
//! executor's task handles them one by one. Timed at the poll, that wait would be booked
//! as the tool's service time: a constant 10 ms tool would report a p99 of 12 ms at a
//! thousand calls in flight. So an attempt that waits is polled with a waker of its own
//! that notes when it was woken; the last wake-up before the poll that completes it is
//! the attempt's end, and the rest, up to that poll, is the executor's lag.
//!
//! A wait on the real clock that the poll finds over ended at its deadline, whichever
//! timer woke its future and however late (the real clock waits on tokio's timer, then
//! on a precise one): the clock notes the deadline, and that is the end. A timer's
//! lateness is the harness's, so it is lag too.
//!
//! An attempt that completes on its first poll never waited: it has no lag, and costs
//! nothing here. On the virtual clock no time passes between a wake-up and its poll.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures::task::AtomicWaker;

use crate::clock::noting_deadlines;

/// No wake-up since the last poll.
const NOT_WOKEN: u64 = u64::MAX;

/// What wake-up times count from: one instant for the process, so that a stamp needs
/// no clock of its own (and a step future stays small).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The waker of an attempt that waits: notes the time, then wakes the executor's task.
struct WakeStamp {
    /// Nanoseconds since [`epoch`] of the last wake-up, or [`NOT_WOKEN`].
    woken_ns: AtomicU64,
    task: AtomicWaker,
}

impl Wake for WakeStamp {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let ns = u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(NOT_WOKEN - 1);
        self.woken_ns.store(ns, Ordering::Release);
        self.task.wake();
    }
}

pin_project_lite::pin_project! {
    /// Polls a future to completion and says when it was done: the instant of its last
    /// wake-up before the poll that completed it; `None` when it completed on its first
    /// poll (it never waited).
    pub(super) struct Stamped<F> {
        #[pin]
        fut: F,
        // Set once the future is seen waiting: it is polled with this stamp's waker.
        stamp: Option<Arc<WakeStamp>>,
    }
}

/// Times `fut`'s wake-ups on the wall clock.
pub(super) fn stamped<F: Future>(fut: F) -> Stamped<F> {
    // Read once before any wake-up, so none is timed before the epoch.
    let _ = epoch();
    Stamped { fut, stamp: None }
}

impl<F: Future> Future for Stamped<F> {
    type Output = (F::Output, Option<Instant>);

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(stamp) = &*this.stamp {
            // The wake-up that brought this poll; one during the poll is for the next.
            let woken = stamp.woken_ns.swap(NOT_WOKEN, Ordering::Acquire);
            stamp.task.register(cx.waker());
            let woken = (woken != NOT_WOKEN).then(|| epoch() + Duration::from_nanos(woken));
            let waker = Waker::from(stamp.clone());
            let (out, deadline) = noting_deadlines(|| this.fut.poll(&mut Context::from_waker(&waker)));
            // A clock wait found over on this poll ended at its deadline: whichever timer
            // woke it, and however late, the simulated work was over then. Any other
            // future was done when it was last woken.
            let done = deadline.or(woken);
            return out.map(|out| (out, done));
        }
        // Not the task's waker: the future is polled again at once, below, and what it
        // registers now would wake the executor's task directly at the end of its wait,
        // as well as through the stamp (twice per call, one wake-up spurious).
        let first = this
            .fut
            .as_mut()
            .poll(&mut Context::from_waker(crate::clock::probe_waker()));
        if first.is_ready() {
            return first.map(|out| (out, None));
        }
        let stamp = Arc::new(WakeStamp {
            woken_ns: AtomicU64::new(NOT_WOKEN),
            task: AtomicWaker::new(),
        });
        stamp.task.register(cx.waker());
        let waker = Waker::from(stamp.clone());
        *this.stamp = Some(stamp);
        // Polled again at once with the stamping waker, so that the wake-ups the future
        // registers from now on go through it. Only futures that wait pay for this.
        let (out, deadline) = noting_deadlines(|| this.fut.poll(&mut Context::from_waker(&waker)));
        out.map(|out| (out, deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_future_ready_at_once_has_no_wake_up() {
        let (out, done) = stamped(async { 7 }).await;
        assert_eq!((out, done), (7, None));
    }

    /// Counts the times it was woken.
    #[derive(Default)]
    struct Counter(std::sync::atomic::AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_waiting_future_holds_only_the_stamps_waker() {
        // The future keeps every waker it was polled with, as a timer that registers
        // on each poll would; waking them all should wake the task once, through the stamp.
        let seen = Arc::new(std::sync::Mutex::new(Vec::<Waker>::new()));
        let kept = seen.clone();
        let mut polls = 0;
        let fut = std::future::poll_fn(move |cx| {
            kept.lock().unwrap().push(cx.waker().clone());
            polls += 1;
            if polls > 2 { Poll::Ready(()) } else { Poll::Pending }
        });
        let mut stamped = std::pin::pin!(stamped(fut));
        let task = Arc::new(Counter::default());
        let waker = Waker::from(task.clone());
        assert!(stamped.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        seen.lock().unwrap().drain(..).for_each(Waker::wake);
        assert_eq!(task.0.load(Ordering::Relaxed), 1, "woken once, by the stamp");
        let Poll::Ready(((), done)) = stamped.as_mut().poll(&mut Context::from_waker(&waker)) else {
            panic!("ready on its third poll");
        };
        assert!(done.is_some(), "the wake-up was noted");
    }

    #[test]
    fn a_waiting_future_sees_one_waker_on_every_poll() {
        // A timer that registers again only when its waker changes must see the same
        // waker each time, or it holds a registration per poll.
        let seen = Arc::new(std::sync::Mutex::new(Vec::<Waker>::new()));
        let kept = seen.clone();
        let fut = std::future::poll_fn(move |cx| {
            kept.lock().unwrap().push(cx.waker().clone());
            Poll::<()>::Pending
        });
        let mut stamped = std::pin::pin!(stamped(fut));
        let task = Waker::from(Arc::new(Counter::default()));
        for _ in 0..3 {
            assert!(stamped.as_mut().poll(&mut Context::from_waker(&task)).is_pending());
        }
        let seen = seen.lock().unwrap();
        // The first poll's probe, then the stamp's on the second and every later poll.
        assert_eq!(seen.len(), 4);
        assert!(seen[1].will_wake(&seen[2]) && seen[2].will_wake(&seen[3]));
    }

    #[test]
    fn the_end_is_the_last_wake_up_not_the_poll_that_came_later() {
        // A current-thread runtime whose only thread is kept busy for 40 ms after the
        // wake-up: the poll that completes the future cannot come sooner.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let sent_at = Arc::new(std::sync::Mutex::new(None));
        let (done, polled) = rt.block_on(async {
            let waiter = tokio::spawn(async move {
                let ((), done) = stamped(async { rx.await.unwrap() }).await;
                (done, Instant::now())
            });
            tokio::task::yield_now().await;
            // Woken from another thread while this one is blocked: the wake-up is noted
            // at once, the poll waits for the thread.
            let at = sent_at.clone();
            std::thread::spawn(move || {
                *at.lock().unwrap() = Some(Instant::now());
                tx.send(()).unwrap();
            })
            .join()
            .unwrap();
            std::thread::sleep(Duration::from_millis(40));
            waiter.await.unwrap()
        });
        let sent = sent_at.lock().unwrap().unwrap();
        let done = done.expect("it waited, so its wake-up was noted");
        assert!(done >= sent, "{done:?} before the send at {sent:?}");
        assert!(
            polled >= done + Duration::from_millis(40),
            "polled {polled:?}, done {done:?}"
        );
    }
}
