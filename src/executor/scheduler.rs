//! The scheduler's state: which calls are ready, which may start, what a finished call
//! releases. Plain data on the executor's task; no locks, no clock, no futures.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use rand::RngExt;

use super::config::{ExecutorConfig, OnDependencyFailure, Schedule};
use super::limit::{RateLimit, Slots};
use super::observe::{AttemptEnd, Observer};
use super::outcome::{CallOutcome, CallStatus};
use super::ready::{Rank, ReadyQueue};
use super::tool::ToolError;
use crate::plan::{CallIdx, Plan};
use crate::seed::{self, Stream};
use crate::stats::LatencyHistogram;

/// Work for the executor to start.
#[derive(Clone, Copy, Debug)]
pub(super) enum Step {
    /// Run attempt `attempt` of a call.
    Attempt { idx: CallIdx, attempt: u32 },
    /// Wait until `until` before retrying a call.
    Backoff { idx: CallIdx, until: Duration },
}

/// Why an attempt did not succeed.
#[derive(Debug)]
pub(super) enum Failure {
    Error(ToolError),
    Timeout,
}

/// What finished: an attempt (with the time it ended) or a backoff.
#[derive(Debug)]
pub(super) enum Event<O> {
    Attempt {
        idx: CallIdx,
        attempt: u32,
        /// When its tool began running (its first poll), on the real clock: later than
        /// its admission when the executor started others first.
        began: Option<Duration>,
        /// When it was done: its last wake-up, or when it was handled if it never waited.
        end: Duration,
        /// From `end` to when the executor handled it, if it waited on a wall clock.
        lag: Option<Duration>,
        result: Result<O, Failure>,
    },
    BackoffDone {
        idx: CallIdx,
    },
}

/// Per-tool queues and limits.
#[derive(Debug)]
struct Lane {
    ready: ReadyQueue,
    /// Calls whose backoff is over; they hold their slots and wait only for the rate.
    retries: VecDeque<CallIdx>,
    slots: Slots,
    rate: Option<RateLimit>,
}

impl Lane {
    fn rate_allows(&self, now: Duration) -> bool {
        self.rate.is_none_or(|r| r.allows(now))
    }

    fn take_rate(&mut self, now: Duration) {
        if let Some(rate) = &mut self.rate {
            rate.take(now);
        }
    }
}

/// Fixed batches: ready calls wait here until the current batch has drained.
#[derive(Debug)]
struct Batches {
    size: usize,
    waiting: ReadyQueue,
    /// Calls of the current batch not yet started.
    admitted: usize,
}

pub(super) struct Scheduler<'a, O> {
    plan: &'a Plan,
    config: &'a ExecutorConfig,
    lanes: Vec<Lane>,
    global: Slots,
    batches: Option<Batches>,
    pending_deps: Vec<u32>,
    outcomes: Vec<CallOutcome<O>>,
    finished: usize,
    worklist: Vec<CallIdx>,
    /// Calls free to run but for their arrival time (open-loop load), earliest first.
    held: BinaryHeap<Reverse<(Duration, CallIdx)>>,
    lags: Lags,
}

/// The executor's own delays over a run (real clock): never part of a call's service.
/// Two significant digits: they are recorded on every call.
#[derive(Debug)]
pub(super) struct Lags {
    /// Per first attempt: from its admission to its tool's first poll.
    pub(super) start: LatencyHistogram,
    /// Per attempt that waited: from its last wake-up (it was done) to its handling.
    pub(super) completion: LatencyHistogram,
    /// When the last event was handled.
    pub(super) handled: Duration,
}

impl Default for Lags {
    fn default() -> Self {
        Self {
            start: LatencyHistogram::growing(2),
            completion: LatencyHistogram::growing(2),
            handled: Duration::ZERO,
        }
    }
}

impl<'a, O> Scheduler<'a, O> {
    pub(super) fn new(plan: &'a Plan, config: &'a ExecutorConfig) -> Self {
        let lanes = plan
            .tools()
            .iter()
            .map(|t| Lane {
                ready: ReadyQueue::default(),
                retries: VecDeque::new(),
                slots: t.max_concurrency.map_or_else(Slots::unlimited, |n| Slots::new(n.get())),
                rate: t.rate_limit_per_s.map(RateLimit::new),
            })
            .collect();
        let batches = match config.schedule {
            Schedule::Window => None,
            Schedule::Batch { size } => Some(Batches {
                size: size.get(),
                waiting: ReadyQueue::default(),
                admitted: 0,
            }),
        };
        Self {
            plan,
            config,
            lanes,
            global: Slots::new(config.max_concurrency.get()),
            batches,
            // Empty for a plan without dependencies: a million independent calls keep no
            // count of zeros.
            pending_deps: if plan.has_dependencies() {
                plan.indices().map(|i| plan.deps(i).len() as u32).collect()
            } else {
                Vec::new()
            },
            outcomes: plan.calls().iter().map(|_| CallOutcome::pending()).collect(),
            finished: 0,
            worklist: Vec::new(),
            held: BinaryHeap::new(),
            lags: Lags::default(),
        }
    }

    /// Marks the calls without dependencies ready, or holds them until they arrive.
    pub(super) fn start(&mut self, observer: &mut impl Observer) {
        for idx in self.plan.indices() {
            if self.pending_deps.get(idx.index()).is_none_or(|&n| n == 0) {
                self.release(idx, Duration::ZERO, observer);
            }
        }
    }

    pub(super) fn is_done(&self) -> bool {
        self.finished == self.outcomes.len()
    }

    /// Starts everything the limits allow at `now`, appending the work to `steps`.
    pub(super) fn admit(&mut self, now: Duration, steps: &mut Vec<Step>, observer: &mut impl Observer) {
        while let Some(&Reverse((at, idx))) = self.held.peek()
            && at <= now
        {
            self.held.pop();
            // Ready at the intended arrival, not at `now`: a late wake-up of the executor
            // is queueing the call saw, and must show in its latency.
            self.make_ready(idx, at, observer);
        }
        // Retries first: they already hold their slots.
        for lane in &mut self.lanes {
            while let Some(&idx) = lane.retries.front() {
                if !lane.rate_allows(now) {
                    break;
                }
                lane.retries.pop_front();
                lane.take_rate(now);
                let outcome = &mut self.outcomes[idx.index()];
                outcome.attempts += 1;
                let attempt = outcome.attempts;
                observer.attempt_started(idx, attempt, now, self.global.used());
                steps.push(Step::Attempt { idx, attempt });
            }
        }
        while self.global.has_room() {
            if let Some(batches) = &mut self.batches
                && batches.admitted == 0
            {
                // A new batch opens only once the previous one has fully ended.
                if self.global.used() > 0 || batches.waiting.is_empty() {
                    break;
                }
                while batches.admitted < batches.size
                    && let Some(rank) = batches.waiting.pop()
                {
                    let lane = self.plan.call(rank.call()).tool.index();
                    self.lanes[lane].ready.push(rank);
                    batches.admitted += 1;
                }
            }
            let Some(lane) = self.best_lane(now) else {
                break;
            };
            let lane = &mut self.lanes[lane];
            let idx = lane.ready.pop().expect("best lane has a ready call").call();
            lane.slots.acquire();
            lane.take_rate(now);
            self.global.acquire();
            if let Some(batches) = &mut self.batches {
                batches.admitted -= 1;
            }
            let outcome = &mut self.outcomes[idx.index()];
            outcome.set_start(now);
            outcome.attempts = 1;
            observer.attempt_started(idx, 1, now, self.global.used());
            steps.push(Step::Attempt { idx, attempt: 1 });
        }
    }

    /// The lane whose head call should start next, among lanes that may start one now.
    fn best_lane(&self, now: Duration) -> Option<usize> {
        self.lanes
            .iter()
            .enumerate()
            .filter(|(_, l)| l.slots.has_room() && l.rate_allows(now))
            .filter_map(|(i, l)| Some((l.ready.peek()?, i)))
            .max()
            .map(|(_, i)| i)
    }

    /// When waiting work may next start by the clock alone: a rate limit lets it, or a
    /// held call arrives.
    pub(super) fn next_wake(&self, now: Duration) -> Option<Duration> {
        let global_room = self.global.has_room();
        let arrival = self.held.peek().map(|Reverse((at, _))| *at);
        self.lanes
            .iter()
            .filter(|l| !l.retries.is_empty() || (global_room && l.slots.has_room() && !l.ready.is_empty()))
            .filter_map(|l| l.rate.map(|r| r.next_start()))
            .chain(arrival)
            .filter(|&at| at > now)
            .min()
    }

    /// Applies a finished attempt or backoff; may queue a backoff in `steps`.
    pub(super) fn on_event(
        &mut self,
        event: Event<O>,
        steps: &mut Vec<Step>,
        observer: &mut impl Observer,
    ) -> Option<(CallIdx, O)> {
        let (idx, attempt, end, result) = match event {
            Event::BackoffDone { idx } => {
                let lane = self.plan.call(idx).tool.index();
                self.lanes[lane].retries.push_back(idx);
                return None;
            }
            Event::Attempt {
                idx,
                attempt,
                began,
                end,
                lag,
                result,
            } => {
                self.executor_lag(idx, attempt, began, end, lag, observer);
                (idx, attempt, end, result)
            }
        };
        let failure = match result {
            Ok(output) => {
                observer.attempt_ended(idx, attempt, end, AttemptEnd::Ok);
                self.finish(idx, CallStatus::Ok, end, observer);
                return Some((idx, output));
            }
            Err(failure) => failure,
        };
        let (status, retryable, error) = match failure {
            Failure::Timeout => (CallStatus::Timeout, true, None),
            Failure::Error(e) => (CallStatus::Error, e.is_retryable(), Some(e)),
        };
        let ended = if status == CallStatus::Timeout {
            AttemptEnd::Timeout
        } else {
            AttemptEnd::Error
        };
        observer.attempt_ended(idx, attempt, end, ended);
        let retry = &self.config.retry;
        if retryable && attempt < retry.max_attempts() {
            let key = seed::call_key(&self.plan.call(idx).id);
            let unit: f64 = seed::rng(self.config.seed, key, attempt, Stream::Jitter).random();
            // A server that said how long to wait (`Retry-After`) is waited for at least.
            let told = error.as_ref().and_then(ToolError::retry_delay).unwrap_or_default();
            let delay = retry.backoff(attempt, unit).max(told);
            observer.backoff(idx, attempt, end, delay);
            steps.push(Step::Backoff {
                idx,
                until: end + delay,
            });
            return None;
        }
        self.outcomes[idx.index()].error = error;
        self.finish(idx, status, end, observer);
        None
    }

    /// Books the executor's own delays around an attempt: its start lag (admitted, then
    /// polled later) moves the call's start to when its tool began; its completion lag
    /// (done, then handled later) is recorded. Neither is ever service time.
    fn executor_lag(
        &mut self,
        idx: CallIdx,
        attempt: u32,
        began: Option<Duration>,
        end: Duration,
        lag: Option<Duration>,
        observer: &mut impl Observer,
    ) {
        if let Some(lag) = lag {
            self.lags.completion.record(lag);
            self.lags.handled = self.lags.handled.max(end + lag);
        }
        let Some(began) = began else { return };
        let outcome = &mut self.outcomes[idx.index()];
        if attempt == 1
            && let Some(admitted) = outcome.start()
        {
            let began = began.clamp(admitted, end);
            self.lags.start.record(began - admitted);
            outcome.set_start(began);
            observer.attempt_began(idx, attempt, began);
        }
    }

    /// The executor's delays measured so far, taken.
    pub(super) fn take_lags(&mut self) -> Lags {
        std::mem::take(&mut self.lags)
    }

    /// Records a call's end, frees its slots and releases its dependents.
    fn finish(&mut self, idx: CallIdx, status: CallStatus, at: Duration, observer: &mut impl Observer) {
        let outcome = &mut self.outcomes[idx.index()];
        outcome.status = status;
        outcome.set_end(at);
        self.finished += 1;
        self.global.release();
        self.lanes[self.plan.call(idx).tool.index()].slots.release();
        observer.call_ended(idx, &self.outcomes[idx.index()]);
        self.release_dependents(idx, status, at, observer);
    }

    /// Counts down the dependencies of `idx`'s dependents, skipping (transitively, and
    /// without recursion, as chains can be a million calls deep) those that cannot run.
    fn release_dependents(&mut self, idx: CallIdx, status: CallStatus, at: Duration, observer: &mut impl Observer) {
        let skip = self.config.on_dependency_failure == OnDependencyFailure::Skip;
        let mut work = std::mem::take(&mut self.worklist);
        work.push(idx);
        let mut first = Some(status);
        while let Some(done) = work.pop() {
            let status = first.take().unwrap_or(CallStatus::Skipped);
            let cause = (skip && status != CallStatus::Ok).then(|| self.outcomes[done.index()].cause.unwrap_or(done));
            for &dep in self.plan.dependents(done) {
                let d = dep.index();
                // A waiting call's `cause` holds the first of its dependencies to fail
                // until it is skipped (no other state per call for it: at ten million
                // calls, a separate list took 80 MB).
                if let Some(cause) = cause {
                    self.outcomes[d].cause.get_or_insert(cause);
                }
                self.pending_deps[d] -= 1;
                if self.pending_deps[d] > 0 {
                    continue;
                }
                match self.outcomes[d].cause {
                    Some(_) => {
                        let outcome = &mut self.outcomes[d];
                        outcome.status = CallStatus::Skipped;
                        outcome.set_end(at);
                        self.finished += 1;
                        observer.call_ended(dep, &self.outcomes[d]);
                        work.push(dep);
                    }
                    None => self.release(dep, at, observer),
                }
            }
        }
        self.worklist = work;
    }

    /// `idx` may run from `at` on (its dependencies ended): ready now, or held until its
    /// arrival time.
    fn release(&mut self, idx: CallIdx, at: Duration, observer: &mut impl Observer) {
        match self.plan.arrival(idx) {
            Some(arrival) if arrival > at => self.held.push(Reverse((arrival, idx))),
            _ => self.make_ready(idx, at, observer),
        }
    }

    fn make_ready(&mut self, idx: CallIdx, at: Duration, observer: &mut impl Observer) {
        self.outcomes[idx.index()].set_ready(at);
        observer.call_ready(idx, at);
        let call = self.plan.call(idx);
        let rank = Rank::new(call.priority, idx);
        match &mut self.batches {
            Some(batches) => batches.waiting.push(rank),
            None => self.lanes[call.tool.index()].ready.push(rank),
        }
    }

    /// Ends every unfinished call as cancelled at `at` (the deadline passed, or the
    /// virtual clock stalled).
    pub(super) fn cancel_rest(&mut self, at: Duration, observer: &mut impl Observer) {
        // Only this method sets the final status `cancelled`, so every call still marked
        // with the placeholder is unfinished.
        for idx in self.plan.indices() {
            let outcome = &mut self.outcomes[idx.index()];
            if outcome.status == CallStatus::Cancelled {
                outcome.set_end(at);
                // A call still waiting may hold the dependency that failed; it was
                // cancelled, not skipped.
                outcome.cause = None;
                self.finished += 1;
                observer.call_ended(idx, &self.outcomes[idx.index()]);
            }
        }
    }

    /// Keeps the output of a call that succeeded in its outcome.
    pub(super) fn keep_output(&mut self, idx: CallIdx, output: O) {
        self.outcomes[idx.index()].output = Some(output);
    }

    pub(super) fn into_outcomes(self) -> Vec<CallOutcome<O>> {
        self.outcomes
    }
}
