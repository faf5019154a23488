//! The speedup and its work–span bound.
//!
//! With total work T1 (the sum of call durations), critical path T∞ (the longest
//! dependency chain), limit p and c cores for CPU work, no schedule finishes sooner than
//! max(T1 / p, T∞, CPU work / c). Per-tool limits and rate limits add terms of the same
//! kind: a tool limited to k calls at once needs at least its work / k, and a tool
//! limited to r starts per second needs at least (attempts − 1) / r. The speedup can
//! therefore never exceed (sequential wall time) / that lower bound.
//!
//! Durations come from the sequential run: each call's service time there is the work
//! it needs with nothing competing, and paired sampling makes it the same call in both
//! runs.

use std::collections::BTreeMap;
use std::time::Duration;

use super::model::BoundReport;
use crate::executor::RunOutcome;
use crate::plan::{Plan, ToolKind};

/// How far above its bound a measured speedup may be before it is not trusted: wall
/// times on a shared machine carry a percent or so of noise, and the sequential run,
/// with one call at a time, absorbs none of it.
pub const BOUND_TOLERANCE: f64 = 1.02;

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
    /// The bound for running `plan` with `limit` calls in flight and `cores` cores,
    /// given its sequential run.
    ///
    /// # Panics
    ///
    /// If `sequential` is not a run of `plan`, or `limit` or `cores` is zero.
    pub fn new<O>(plan: &Plan, sequential: &RunOutcome<O>, limit: usize, cores: usize) -> Self {
        assert!(limit > 0 && cores > 0, "limit and cores must be positive");
        assert_eq!(plan.calls().len(), sequential.calls.len(), "a run of this plan");
        let durations: Vec<Duration> = sequential
            .calls
            .iter()
            .map(|c| c.service_time().unwrap_or_default())
            .collect();
        let total_work: Duration = durations.iter().sum();
        let critical_path = plan.critical_path(&durations);

        let mut work_per_tool = vec![Duration::ZERO; plan.tools().len()];
        let mut attempts_per_tool = vec![0u64; plan.tools().len()];
        for ((call, d), out) in plan.calls().iter().zip(&durations).zip(&sequential.calls) {
            work_per_tool[call.tool.index()] += *d;
            attempts_per_tool[call.tool.index()] += u64::from(out.attempts);
        }

        let mut terms = BTreeMap::new();
        terms.insert("max_concurrency".to_string(), total_work / limit as u32);
        terms.insert("critical_path".to_string(), critical_path);
        if plan.has_arrivals() {
            // Open-loop load: nothing ends before the last call has arrived and run.
            terms.insert("arrivals".to_string(), plan.release_path(&durations));
        }
        let cpu_work: Duration = plan
            .tools()
            .iter()
            .zip(&work_per_tool)
            .filter(|(t, _)| t.kind == ToolKind::Cpu)
            .map(|(_, w)| *w)
            .sum();
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
                CallOutcome {
                    status: CallStatus::Ok,
                    attempts: 1,
                    ready: Some(start),
                    start: Some(start),
                    end: Duration::from_millis(t),
                    output: None,
                    error: None,
                    cause: None,
                }
            })
            .collect();
        RunOutcome {
            calls,
            wall: Duration::from_millis(t),
            max_concurrency: 1,
            deadline_hit: false,
            stalled: false,
            interrupted: false,
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
        let bound = SpeedupBound::new(&plan, &seq, 5, 2);
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
        let bound = SpeedupBound::new(&plan, &sequential(&[20; 8]), 8, 2);
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
        let bound = SpeedupBound::new(&plan, &sequential(&[50; 4]), 5, 2);
        assert_eq!(bound.binding, "critical_path");
        assert_eq!(bound.terms["tool_limit:t"], Duration::from_millis(100));
        assert_eq!(bound.terms["rate_limit:t"], Duration::from_millis(30));
        assert!((bound.speedup_bound(Duration::from_millis(200)) - 1.0).abs() < 1e-9);
    }
}
