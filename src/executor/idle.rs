//! Simulated time without a round trip through the runtime.
//!
//! The virtual clock moves on once every task is idle, which it learns from tokio's
//! paused timer: one park of the runtime, and its timer wheel, for every simulated
//! instant, about a fifth of a run of millions of calls. The executor can often tell for
//! itself: when it is the runtime's only task and none of its futures has been woken
//! since it last polled them all, nothing can run until the clock moves, so it moves the
//! clock itself. It tells by polling its futures through a waker that notes each wake
//! (and passes it on to the task's own).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Waker};

use futures::task::{ArcWake, AtomicWaker};

use crate::clock::Clock;

/// Notes whether anything woke the executor's futures since the last [`Idle::watch`].
pub(super) struct Idle {
    watch: Arc<Watch>,
    waker: Waker,
    runtime: tokio::runtime::Handle,
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

impl Idle {
    /// For a simulated clock on a tokio runtime; `None` otherwise (a real clock moves on
    /// by itself).
    pub(super) fn new(clock: &Clock) -> Option<Self> {
        if !clock.is_virtual() {
            return None;
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let watch = Arc::new(Watch {
            woken: AtomicBool::new(false),
            task: AtomicWaker::new(),
        });
        Some(Self {
            waker: futures::task::waker(watch.clone()),
            watch,
            runtime,
        })
    }

    /// The context to poll the futures with: the task's waker, watched.
    pub(super) fn watch(&self, task: &Context<'_>) -> Context<'_> {
        self.watch.task.register(task.waker());
        Context::from_waker(&self.waker)
    }

    /// Starts a round of polls with nothing woken.
    pub(super) fn reset(&self) {
        self.watch.woken.store(false, Ordering::Release);
    }

    /// Whether nothing can run until the clock moves: nothing woke the futures polled
    /// since [`Idle::reset`], none of them was put off for the task's coop budget (tokio
    /// wakes those only once the task yields), and no other task exists.
    pub(super) fn quiet(&self) -> bool {
        !self.watch.woken.load(Ordering::Acquire)
            && tokio::task::coop::has_budget_remaining()
            && self.runtime.metrics().num_alive_tasks() == 0
    }
}
