//! The clock an executor keeps for itself when it is its task's sole waiter
//! ([`Executor::sole_waiter`](super::Executor::sole_waiter)).
//!
//! - Simulated time moves on once every task is idle, which the clock learns from
//!   tokio's paused timer: one park of the runtime, and its timer wheel, for every
//!   simulated instant, about a fifth of a run of millions of calls. The executor can
//!   often tell for itself: when it is the runtime's only task and none of its futures
//!   has been woken since it last polled them all, nothing can run until the clock
//!   moves, so it moves the clock itself.
//! - Real time: a call's wait ends through timers on other threads, and its wake-up
//!   reaches the executor through the kernel, a crossing that each of a thousand calls
//!   ending close together would pay. The executor instead keeps its calls' waits in
//!   timers of its own ([`LocalTimers`]) and fires them on its own thread.
//!
//! Either way it tells whether anything else woke its futures by polling them through a
//! waker that notes each wake (and passes it on to the task's own).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Waker};

use futures::task::{ArcWake, AtomicWaker};

use crate::clock::{Advance, Clock, LocalTimers};

/// The executor's hold on its clock; see the module docs.
pub(super) struct OwnClock {
    watch: Arc<Watch>,
    waker: Waker,
    kind: Kind,
}

enum Kind {
    /// Moves simulated time, when `runtime` has no other task.
    Virtual(tokio::runtime::Handle),
    /// Fires real-clock waits.
    Real(LocalTimers),
}

/// What to do once a round of polls found nothing ready.
pub(super) enum Next {
    /// The clock moved, or waits were fired: poll again.
    Poll,
    /// Return `Pending`: the task is woken when there is something to do.
    Park,
    /// Simulated time with nothing left to wait for.
    Stalled,
}

struct Watch {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl ArcWake for Watch {
    fn wake_by_ref(watch: &Arc<Self>) {
        watch.woken.store(true, Ordering::Release);
        watch.task.wake();
    }
}

impl OwnClock {
    /// For `clock`; `None` for a simulated clock outside a tokio runtime.
    pub(super) fn new(clock: &Clock) -> Option<Self> {
        let kind = if clock.is_virtual() {
            Kind::Virtual(tokio::runtime::Handle::try_current().ok()?)
        } else {
            Kind::Real(LocalTimers::new())
        };
        let watch = Arc::new(Watch {
            woken: AtomicBool::new(false),
            task: AtomicWaker::new(),
        });
        Some(Self {
            waker: futures::task::waker(watch.clone()),
            watch,
            kind,
        })
    }

    /// One round of polls with nothing woken yet: `poll` gets the task's waker, watched,
    /// and the real-clock waits it polls go to the executor's timers.
    pub(super) fn round<R>(&mut self, task: &Context<'_>, poll: impl FnOnce(&mut Context<'_>) -> R) -> R {
        self.watch.woken.store(false, Ordering::Release);
        self.watch.task.register(task.waker());
        let mut cx = Context::from_waker(&self.waker);
        match &mut self.kind {
            Kind::Real(timers) => timers.scope(|| poll(&mut cx)),
            Kind::Virtual(_) => poll(&mut cx),
        }
    }

    /// After a round found nothing ready: moves the clock if nothing else can run.
    pub(super) fn advance(&mut self, clock: &Clock, task: &Waker) -> Next {
        match &mut self.kind {
            Kind::Virtual(runtime) => {
                // Nothing can run until the clock moves when nothing woke the futures
                // polled this round, none of them was put off for the task's coop budget
                // (tokio wakes those only once the task yields), and no other task exists.
                let quiet = !self.watch.woken.load(Ordering::Acquire)
                    && tokio::task::coop::has_budget_remaining()
                    && runtime.metrics().num_alive_tasks() == 0;
                if !quiet {
                    Next::Park
                } else if clock.fire_next() {
                    Next::Poll
                } else {
                    Next::Stalled
                }
            }
            Kind::Real(timers) => {
                let watch = &self.watch;
                match timers.advance(task, || watch.woken.load(Ordering::Acquire)) {
                    Advance::Fired => Next::Poll,
                    Advance::Park => Next::Park,
                }
            }
        }
    }
}

/// Runs `poll` (polls of the executor's futures with a waker of its own) where the
/// real-clock waits it polls go to the executor's timers, if it keeps any.
pub(super) fn scope<R>(own: Option<&mut OwnClock>, poll: impl FnOnce() -> R) -> R {
    match own {
        Some(OwnClock {
            kind: Kind::Real(timers),
            ..
        }) => timers.scope(poll),
        _ => poll(),
    }
}
