//! Records when each attempt of each call started and ended, for the report's
//! `attempt_spans` (the HTML timeline draws retries as separate segments from them).
//!
//! The executor's outcome keeps only a call's first start and last end; the attempts in
//! between are seen only by an [`Observer`], so the harness runs one beside the caller's.

use std::time::Duration;

use crate::executor::{AttemptEnd, CallOutcome, Observer};
use crate::plan::CallIdx;
use crate::report::model::{AttemptOutcome, AttemptSpan};

/// The attempts of every call of one run, indexed by call.
///
/// Cheap: one push per attempt start, one store per attempt end, into vectors sized
/// once per run.
#[derive(Debug)]
pub(crate) struct AttemptLog {
    calls: Vec<Vec<AttemptSpan>>,
}

impl AttemptLog {
    /// A log for a run of `calls` calls.
    pub(crate) fn new(calls: usize) -> Self {
        Self {
            calls: vec![Vec::new(); calls],
        }
    }

    /// The attempts of each call, in input order.
    pub(crate) fn into_spans(self) -> Vec<Vec<AttemptSpan>> {
        self.calls
    }
}

impl Observer for AttemptLog {
    fn attempt_started(&mut self, idx: CallIdx, _attempt: u32, at: Duration, _in_flight: usize) {
        // Cancelled until it ends: an attempt the deadline cuts gets no `attempt_ended`.
        self.calls[idx.index()].push(AttemptSpan {
            start_s: at.as_secs_f64(),
            end_s: at.as_secs_f64(),
            outcome: AttemptOutcome::Cancelled,
        });
    }

    fn attempt_began(&mut self, idx: CallIdx, _attempt: u32, at: Duration) {
        // Its tool began after its admission: the attempt runs from then.
        if let Some(last) = self.calls[idx.index()].last_mut() {
            last.start_s = at.as_secs_f64();
        }
    }

    fn attempt_ended(&mut self, idx: CallIdx, _attempt: u32, at: Duration, end: AttemptEnd) {
        if let Some(last) = self.calls[idx.index()].last_mut() {
            last.end_s = at.as_secs_f64();
            last.outcome = end.into();
        }
    }

    fn call_ended<O>(&mut self, idx: CallIdx, outcome: &CallOutcome<O>) {
        // An attempt still open when the call ends was cut by the deadline at the call's end.
        if let Some(last) = self.calls[idx.index()].last_mut()
            && last.outcome == AttemptOutcome::Cancelled
        {
            last.end_s = outcome.end().as_secs_f64();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_runs_from_when_its_tool_began() {
        let mut plan = PlanBuilder::new();
        let t = plan.tool(ToolSpec::io("t"));
        let idx = plan.call("a", t);
        let ms = Duration::from_millis;
        let mut log = AttemptLog::new(1);
        log.attempt_started(idx, 1, ms(0), 1);
        log.attempt_began(idx, 1, ms(5));
        log.attempt_ended(idx, 1, ms(10), AttemptEnd::Ok);
        let spans = log.into_spans();
        assert_eq!((spans[0][0].start_s, spans[0][0].end_s), (0.005, 0.010));
    }
    use crate::clock::{Clock, virtual_runtime};
    use std::num::NonZeroU32;

    use crate::executor::{CallContext, CallStatus, Executor, ExecutorConfig, Jitter, RetryPolicy, Tool, ToolError};
    use crate::plan::{PlanBuilder, ToolSpec};

    /// Fails the first two attempts of every call after 10 ms, then succeeds after 10 ms;
    /// a call named `slow` hangs for a minute instead.
    struct FlakyThenOk(Clock);

    impl Tool for FlakyThenOk {
        type Output = ();

        async fn call(&self, cx: CallContext<'_, ()>) -> Result<(), ToolError> {
            if cx.call().id == "slow" {
                self.0.sleep(Duration::from_secs(60)).await;
            }
            self.0.sleep(Duration::from_millis(10)).await;
            if cx.attempt() < 3 {
                Err(ToolError::new("flaky"))
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn every_attempt_is_a_span_with_the_backoff_between_and_the_deadline_cuts_the_open_one() {
        let mut plan = PlanBuilder::new();
        let api = plan.tool(ToolSpec::io("api"));
        plan.call("flaky", api);
        plan.call("slow", api);
        let plan = plan.build().unwrap();
        let mut config = ExecutorConfig::with_max_concurrency(2);
        config.retry = RetryPolicy::new(
            NonZeroU32::new(3).unwrap(),
            Duration::from_millis(5),
            1.0,
            Duration::from_millis(5),
            Jitter::None,
        )
        .unwrap();
        config.deadline = Some(Duration::from_secs(1));
        let clock = Clock::simulated();
        let mut log = AttemptLog::new(2);
        let run = virtual_runtime().unwrap().block_on(Executor::new(config).run_observed(
            &plan,
            &FlakyThenOk(clock.clone()),
            &clock,
            &mut log,
        ));
        assert_eq!(run.calls[0].status, CallStatus::Ok);
        assert_eq!(run.calls[1].status, CallStatus::Cancelled);
        let spans = log.into_spans();
        let flaky: Vec<(f64, f64, AttemptOutcome)> = spans[0].iter().map(|s| (s.start_s, s.end_s, s.outcome)).collect();
        let ms = |m: u64| Duration::from_millis(m).as_secs_f64();
        assert_eq!(
            flaky,
            [
                (0.0, ms(10), AttemptOutcome::Error),
                (ms(15), ms(25), AttemptOutcome::Error),
                (ms(30), ms(40), AttemptOutcome::Ok),
            ]
        );
        assert_eq!(spans[0].len() as u32, run.calls[0].attempts);
        assert_eq!(spans[1].len(), 1);
        assert_eq!((spans[1][0].start_s, spans[1][0].end_s), (0.0, 1.0));
        assert_eq!(spans[1][0].outcome, AttemptOutcome::Cancelled);
    }
}
