//! The speedup and its work–span bound.
//!
//! No schedule of a plan finishes sooner than the largest of these terms, each the time
//! one resource needs for the work that really holds it:
//!
//! - `max_concurrency`: every call holds a global slot from its first attempt to its
//!   end, backoffs and hangs included, so the slots need the sum of call durations
//!   (T1) over the limit p.
//! - `critical_path`: a call starts only after its dependencies end, so the longest
//!   dependency chain (T∞) runs end to end; with arrival times (`arrivals`), each call of
//!   it starts no sooner than it arrives.
//! - `cpu_cores`: CPU work occupies a core, and only CPU work does: the time attempts of
//!   CPU tools held a core, over the c cores. A backoff, a hang or a wait for a free core
//!   holds none.
//! - `tool_limit:NAME`: a tool limited to k calls at once holds one of its k slots for
//!   the whole of each of its calls, so it needs its calls' durations over k.
//! - `rate_limit:NAME`: a tool limited to r attempt starts per second needs
//!   (attempts − 1) / r between its first and last start.
//!
//! The speedup can therefore never exceed (sequential wall time) / the largest term.
//!
//! The work is what both runs of the comparison did: per call, the smaller of its
//! duration (core time, attempts) in the sequential run and in the parallel run. With
//! paired sampling the two are the same calls, and the sequential figure is the smaller
//! (nothing competed with it); where the parallel run did less (an attempt timed out
//! while it waited for a core, say), its own figure keeps the bound a true bound of the
//! run it is compared with. On the virtual clock the efficiency therefore never exceeds 1.

use std::collections::BTreeMap;
use std::time::Duration;

use super::model::BoundReport;
use crate::executor::RunOutcome;
use crate::plan::Plan;

/// How far above its bound a measured speedup may be before it is not trusted: wall
/// times on a shared machine carry a percent or so of noise, and the sequential run,
/// with one call at a time, absorbs none of it.
pub const BOUND_TOLERANCE: f64 = 1.02;

/// The term of the limit on calls in flight.
pub const MAX_CONCURRENCY: &str = "max_concurrency";

/// The same term when a batch run's batch size, below its `max_concurrency`, is the limit.
pub const BATCH_SIZE: &str = "batch_size";

/// The lower bound on the parallel makespan and the terms it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct SpeedupBound {
    /// T1: the sum of call durations.
    pub total_work: Duration,
    /// T∞: the longest dependency chain.
    pub critical_path: Duration,
    /// The largest term: no parallel run can be faster.
    pub makespan_lower: Duration,
    /// The name of the largest term.
    pub binding: String,
    /// Every term by name.
    pub terms: BTreeMap<String, Duration>,
}

impl SpeedupBound {
    /// The bound for running `plan` with `limit` calls in flight and `cores` cores, given
    /// the `work` its calls did (see [`Work::common`]).
    ///
    /// # Panics
    ///
    /// If `work` is not of a run of `plan`, or `limit` or `cores` is zero.
    pub fn new(plan: &Plan, work: &Work, limit: usize, cores: usize) -> Self {
        assert!(limit > 0 && cores > 0, "limit and cores must be positive");
        assert_eq!(plan.calls().len(), work.slot.len(), "the work of this plan");
        let total_work: Duration = work.slot.iter().sum();
        let critical_path = plan.critical_path(&work.slot);

        let mut work_per_tool = vec![Duration::ZERO; plan.tools().len()];
        let mut attempts_per_tool = vec![0u64; plan.tools().len()];
        for ((call, d), attempts) in plan.calls().iter().zip(&work.slot).zip(&work.attempts) {
            work_per_tool[call.tool.index()] += *d;
            attempts_per_tool[call.tool.index()] += u64::from(*attempts);
        }

        let mut terms = BTreeMap::new();
        terms.insert(MAX_CONCURRENCY.to_string(), total_work / limit as u32);
        terms.insert("critical_path".to_string(), critical_path);
        if plan.has_arrivals() {
            // Open-loop load: nothing ends before the last call has arrived and run.
            terms.insert("arrivals".to_string(), plan.release_path(&work.slot));
        }
        let cpu_work: Duration = work.core.iter().sum();
        if !cpu_work.is_zero() {
            terms.insert("cpu_cores".to_string(), cpu_work / cores as u32);
        }
        for (i, tool) in plan.tools().iter().enumerate() {
            if let Some(k) = tool.max_concurrency {
                terms.insert(format!("tool_limit:{}", tool.name), work_per_tool[i] / k.get() as u32);
            }
            if let Some(rate) = tool.rate_limit_per_s
                && attempts_per_tool[i] > 1
            {
                let span = Duration::from_secs_f64((attempts_per_tool[i] - 1) as f64 / rate);
                terms.insert(format!("rate_limit:{}", tool.name), span);
            }
        }
        // Ties go to the first name in this order of preference.
        let preference = ["critical_path", "cpu_cores", "max_concurrency"];
        let (binding, makespan_lower) = terms
            .iter()
            .max_by_key(|(name, d)| {
                let rank = preference.iter().position(|p| p == name).map_or(0, |r| 3 - r);
                (**d, rank)
            })
            .map(|(n, d)| (n.clone(), *d))
            .expect("at least two terms");
        Self {
            total_work,
            critical_path,
            makespan_lower,
            binding,
            terms,
        }
    }

    /// The bound with its concurrency term named `term`: [`BATCH_SIZE`] when a batch run's
    /// batches, smaller than its `max_concurrency`, set how many calls run at once.
    #[must_use]
    pub fn named(mut self, term: &str) -> Self {
        if term != MAX_CONCURRENCY
            && let Some(d) = self.terms.remove(MAX_CONCURRENCY)
        {
            self.terms.insert(term.to_string(), d);
            if self.binding == MAX_CONCURRENCY {
                self.binding = term.to_string();
            }
        }
        self
    }

    /// The largest speedup over a sequential run that took `sequential_wall`.
    pub fn speedup_bound(&self, sequential_wall: Duration) -> f64 {
        ratio(sequential_wall, self.makespan_lower)
    }

    /// The bound as it appears in the JSON report.
    pub fn to_report(&self) -> BoundReport {
        BoundReport {
            total_work_s: self.total_work.as_secs_f64(),
            critical_path_s: self.critical_path.as_secs_f64(),
            makespan_lower_s: self.makespan_lower.as_secs_f64(),
            binding: self.binding.clone(),
            terms_s: self.terms.iter().map(|(k, v)| (k.clone(), v.as_secs_f64())).collect(),
        }
    }
}

/// What each call of a run held, in plan order: the figures the bound's terms add up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Work {
    /// Per call, its service time: the span it held its global and tool slots.
    slot: Vec<Duration>,
    /// Per call, the time its attempts held a core (empty when no tool is CPU-bound).
    core: Vec<Duration>,
    /// Per call, the attempts it started.
    attempts: Vec<u32>,
}

impl Work {
    /// The work of `run`, with `core_time` the time each call held a core (as the
    /// simulated tools count it, see [`crate::sim::SimTool::core_time`]; empty when no
    /// tool is CPU-bound).
    ///
    /// # Panics
    ///
    /// If `core_time` is neither empty nor one entry per call.
    pub fn of<O>(run: &RunOutcome<O>, core_time: Vec<Duration>) -> Self {
        assert!(
            core_time.is_empty() || core_time.len() == run.calls.len(),
            "one core time per call"
        );
        Self {
            slot: run.calls.iter().map(|c| c.service_time().unwrap_or_default()).collect(),
            core: core_time,
            attempts: run.calls.iter().map(|c| c.attempts).collect(),
        }
    }

    /// The work both runs did: per call, the smaller figure of the two.
    ///
    /// # Panics
    ///
    /// If the two are not of the same plan.
    pub fn common(&self, other: &Work) -> Work {
        assert_eq!(self.slot.len(), other.slot.len(), "two runs of one plan");
        let min =
            |a: &[Duration], b: &[Duration]| -> Vec<Duration> { a.iter().zip(b).map(|(a, b)| *a.min(b)).collect() };
        Work {
            slot: min(&self.slot, &other.slot),
            core: min(&self.core, &other.core),
            attempts: self
                .attempts
                .iter()
                .zip(&other.attempts)
                .map(|(a, b)| *a.min(b))
                .collect(),
        }
    }
}

/// `a / b`, or 1 when `b` is zero (nothing to speed up).
pub fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        1.0
    } else {
        a.as_secs_f64() / b.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{CallOutcome, CallStatus};
    use crate::plan::{PlanBuilder, ToolSpec};

    fn sequential(durations: &[u64]) -> RunOutcome<()> {
        let mut t = 0;
        let calls = durations
            .iter()
            .map(|&d| {
                let start = Duration::from_millis(t);
                t += d;
                CallOutcome::new(CallStatus::Ok, 1, Some(start), Some(start), Duration::from_millis(t))
            })
            .collect();
        RunOutcome {
            calls,
            wall: Duration::from_millis(t),
            max_concurrency: 1,
            deadline_hit: false,
            stalled: false,
            interrupted: false,
            start_lag: crate::stats::LatencyHistogram::new(),
            completion_lag: crate::stats::LatencyHistogram::new(),
        }
    }

    #[test]
    fn independent_io_is_bound_by_the_limit() {
        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("t"));
        for i in 0..10 {
            b.call(format!("c{i}"), t);
        }
        let plan = b.build().unwrap();
        let seq = sequential(&[100; 10]);
        let bound = SpeedupBound::new(&plan, &Work::of(&seq, Vec::new()), 5, 2);
        assert_eq!(bound.binding, "max_concurrency");
        assert_eq!(bound.makespan_lower, Duration::from_millis(200));
        assert!((bound.speedup_bound(seq.wall) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn cpu_work_is_bound_by_the_cores_and_chains_by_their_length() {
        let mut b = PlanBuilder::new();
        let cpu = b.tool(ToolSpec::cpu("parse"));
        for i in 0..8 {
            b.call(format!("c{i}"), cpu);
        }
        let plan = b.build().unwrap();
        let work = Work::of(&sequential(&[20; 8]), vec![Duration::from_millis(20); 8]);
        let bound = SpeedupBound::new(&plan, &work, 8, 2);
        assert_eq!(bound.binding, "cpu_cores");
        assert_eq!(bound.makespan_lower, Duration::from_millis(80));

        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("t").with_max_concurrency(2).with_rate_limit(100.0));
        let mut prev = b.call("c0", t);
        for i in 1..4 {
            let c = b.call(format!("c{i}"), t);
            b.depends_on(c, prev);
            prev = c;
        }
        let plan = b.build().unwrap();
        let bound = SpeedupBound::new(&plan, &Work::of(&sequential(&[50; 4]), Vec::new()), 5, 2);
        assert_eq!(bound.binding, "critical_path");
        assert_eq!(bound.terms["tool_limit:t"], Duration::from_millis(100));
        assert_eq!(bound.terms["rate_limit:t"], Duration::from_millis(30));
        assert!((bound.speedup_bound(Duration::from_millis(200)) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_cores_count_only_the_time_attempts_held_a_core() {
        // Four CPU calls that each failed once: 50 ms of work, a 1 s backoff, 50 ms of
        // work again. Only the 100 ms of work per call holds a core.
        let mut b = PlanBuilder::new();
        let cpu = b.tool(ToolSpec::cpu("work"));
        for i in 0..4 {
            b.call(format!("c{i}"), cpu);
        }
        let plan = b.build().unwrap();
        let seq = sequential(&[1100; 4]);
        let bound = SpeedupBound::new(&plan, &Work::of(&seq, vec![Duration::from_millis(100); 4]), 4, 1);
        assert_eq!(bound.terms["cpu_cores"], Duration::from_millis(400));
        assert_eq!(bound.terms["max_concurrency"], Duration::from_millis(1100));
        assert_eq!(bound.binding, "critical_path");
        assert_eq!(bound.makespan_lower, Duration::from_millis(1100));
    }

    #[test]
    fn the_common_work_of_two_runs_is_the_smaller_per_call() {
        let seq = Work::of(&sequential(&[100, 100]), vec![Duration::from_millis(100); 2]);
        // The parallel run's second call timed out after 30 ms of waiting for a core and
        // 10 ms of work, where the sequential one ran its whole 100 ms.
        let par = Work {
            slot: vec![Duration::from_millis(150), Duration::from_millis(40)],
            core: vec![Duration::from_millis(100), Duration::from_millis(10)],
            attempts: vec![1, 1],
        };
        let common = seq.common(&par);
        assert_eq!(common.slot, [100, 40].map(Duration::from_millis));
        assert_eq!(common.core, [100, 10].map(Duration::from_millis));
        assert_eq!(common, par.common(&seq));
    }
}
