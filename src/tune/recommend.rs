//! The recommendation: the smallest level that gets close enough to peak throughput
//! while meeting the latency objective and the error budget, and what limits the curve.

use std::time::Duration;

use super::model::LevelReport;
use crate::plan::Plan;
use crate::units::fmt_duration;

/// The default share of peak throughput a recommended level must reach.
pub const DEFAULT_TARGET_SHARE: f64 = 0.95;

/// What a recommended level must meet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Criteria {
    /// Share of the peak throughput to reach, in (0, 1].
    pub target_share: f64,
    /// p99 end-to-end latency to stay under, if any.
    pub slo_p99: Option<Duration>,
    /// Share of calls that may fail, if bounded, in [0, 1].
    pub max_error_rate: Option<f64>,
}

impl Default for Criteria {
    /// 95% of peak throughput; no SLO, no error budget.
    fn default() -> Self {
        Self {
            target_share: DEFAULT_TARGET_SHARE,
            slo_p99: None,
            max_error_rate: None,
        }
    }
}

/// A recommended level, or none, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    /// The recommended `max_concurrency`; `None` when no level meets the SLO and the
    /// error budget.
    pub level: Option<usize>,
    /// One or two sentences: the rule that picked it and what limits the curve.
    pub reason: String,
}

/// Picks a level among `levels` (in increasing order) by `criteria`; `plan` and `cores`
/// name the bound that limits the curve.
///
/// # Panics
///
/// If `levels` is empty.
pub fn recommend(levels: &[LevelReport], criteria: &Criteria, plan: &Plan, cores: usize) -> Recommendation {
    // The first level of the highest throughput: on a plateau, where it was reached.
    let peak = levels
        .iter()
        .reduce(|best, l| if l.throughput > best.throughput { l } else { best })
        .expect("at least one level");
    let meets = |l: &&LevelReport| {
        criteria.slo_p99.is_none_or(|slo| l.p99_s <= slo.as_secs_f64())
            && criteria.max_error_rate.is_none_or(|max| l.error_rate <= max)
    };
    let top = levels.last().expect("at least one level");
    // Where the curve levelled off: the first level within the target share of the peak.
    let plateau = levels
        .iter()
        .find(|l| l.throughput >= criteria.target_share * peak.throughput)
        .unwrap_or(peak);
    let limit = limiting(top, plateau, plan, cores);
    let mut bounds = Vec::new();
    if let Some(slo) = criteria.slo_p99 {
        bounds.push(format!("whose p99 stays under the {} SLO", fmt_duration(slo)));
    }
    if let Some(max) = criteria.max_error_rate {
        bounds.push(format!("whose error rate stays within {}", percent(max)));
    }
    let bounds = if bounds.is_empty() {
        String::new()
    } else {
        format!(" {}", bounds.join(" and "))
    };
    let feasible: Vec<&LevelReport> = levels.iter().filter(meets).collect();
    let Some(best_feasible) = feasible.iter().max_by(|a, b| a.throughput.total_cmp(&b.throughput)) else {
        return Recommendation {
            level: None,
            reason: format!("no level{bounds}; {limit}."),
        };
    };
    let goal = criteria.target_share * peak.throughput;
    let (level, rule) = match feasible.iter().find(|l| l.throughput >= goal) {
        Some(l) => (
            l,
            format!(
                "the smallest level within {} of peak throughput ({:.1} calls/s at {}){bounds}",
                percent(1.0 - criteria.target_share),
                peak.throughput,
                peak.max_concurrency
            ),
        ),
        None => (
            best_feasible,
            format!(
                "the highest throughput of the levels{bounds}, {} of the peak",
                percent(best_feasible.throughput / peak.throughput)
            ),
        ),
    };
    // A limit that never bound says nothing: the same run had at most `m` calls in
    // flight, so every level from `m` up runs the same schedule, and `m` is the plateau.
    let unbound = level.max_in_flight.filter(|&m| m >= 1 && m < level.max_concurrency);
    let recommended = unbound.unwrap_or(level.max_concurrency);
    let plateau = match unbound {
        Some(m) => format!(
            "; at {} no more than {m} calls were ever in flight, so any level from {m} up runs the same \
             schedule and higher levels change nothing",
            level.max_concurrency
        ),
        None => String::new(),
    };
    let above = if recommended < top.max_concurrency {
        format!("; above {recommended}, {limit}")
    } else {
        format!("; {limit}")
    };
    Recommendation {
        level: Some(recommended),
        reason: format!("{recommended}: {rule}{plateau}{above}."),
    }
}

/// What limits throughput at the highest level tried, in words; `plateau` is the first
/// level within the target share of the peak.
fn limiting(top: &LevelReport, plateau: &LevelReport, plan: &Plan, cores: usize) -> String {
    let tool = |name: &str| plan.tools().iter().find(|t| t.name == name);
    let Some(term) = top.binding.as_deref() else {
        let cut = if top.deadline_hit {
            format!("at {} the run", top.max_concurrency)
        } else {
            "the baseline".to_string()
        };
        return format!(
            "{cut} hit the scenario's deadline, so no bound names the ceiling; throughput counts the calls that \
             succeeded within it"
        );
    };
    match term.split_once(':') {
        Some(("tool_limit", name)) => match tool(name).and_then(|t| t.max_concurrency) {
            Some(k) => format!("the {name} tool's own limit of {k} calls in flight sets the ceiling"),
            None => format!("the {name} tool's own limit sets the ceiling"),
        },
        Some(("rate_limit", name)) => match tool(name).and_then(|t| t.rate_limit_per_s) {
            Some(r) => format!("the {name} tool's rate limit of {r}/s sets the ceiling"),
            None => format!("the {name} tool's rate limit sets the ceiling"),
        },
        _ => match term {
            "critical_path" => "the DAG's critical path (its longest chain of dependent calls) sets the ceiling".into(),
            "cpu_cores" => format!("the {cores} CPU cores set the ceiling for the CPU-bound work"),
            "arrivals" => "the arrival rate sets the ceiling: calls cannot run before they arrive".into(),
            // The bound says more concurrency would help, but the measured curve stopped
            // rising: what limits it is outside the bound's model. Against a real server
            // that is the server (its workers, its pool, its own limits), which the
            // bound cannot see; the curve is what was measured, so it says so.
            _ if plateau.max_concurrency < top.max_concurrency => {
                let what = if plan.tools().iter().any(|t| t.kind.is_real()) {
                    "the real tools' own capacity (their servers'), which no bound can see"
                } else {
                    "a cost outside the bound's model (the executor's or the machine's)"
                };
                let change = top.throughput / plateau.throughput - 1.0;
                let moved = if change < 0.0 { "fell" } else { "rose only" };
                format!(
                    "throughput {moved} {} from {} to {} ({:.1} → {:.1} calls/s), though the global limit still \
                     binds at {}: the ceiling is {what}",
                    percent(change.abs()),
                    plateau.max_concurrency,
                    top.max_concurrency,
                    plateau.throughput,
                    top.throughput,
                    top.max_concurrency
                )
            }
            _ => format!(
                "the global limit still binds at {}: more concurrency would raise throughput further",
                top.max_concurrency
            ),
        },
    }
}

fn percent(share: f64) -> String {
    let p = share * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanBuilder, ToolSpec};

    fn level(n: usize, throughput: f64, p99_ms: u64, error_rate: f64, binding: &str) -> LevelReport {
        LevelReport {
            binding: Some(binding.into()),
            p50_s: 0.0,
            p99_s: p99_ms as f64 / 1e3,
            error_rate,
            ..LevelReport::fixture(n, throughput)
        }
    }

    fn plan() -> Plan {
        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("search").with_max_concurrency(3).with_rate_limit(10.0));
        b.call("c", t);
        b.build().unwrap()
    }

    #[test]
    fn the_smallest_level_near_the_peak_is_chosen_and_the_ceiling_named() {
        let levels = [
            level(1, 10.0, 900, 0.0, "max_concurrency"),
            level(2, 20.0, 500, 0.0, "max_concurrency"),
            level(4, 29.0, 300, 0.0, "tool_limit:search"),
            level(8, 30.0, 300, 0.0, "tool_limit:search"),
        ];
        let r = recommend(&levels, &Criteria::default(), &plan(), 2);
        assert_eq!(r.level, Some(4));
        assert_eq!(
            r.reason,
            "4: the smallest level within 5% of peak throughput (30.0 calls/s at 8); \
             above 4, the search tool's own limit of 3 calls in flight sets the ceiling."
        );
    }

    #[test]
    fn the_slo_and_the_error_budget_rule_levels_out() {
        let levels = [
            level(1, 10.0, 900, 0.0, "max_concurrency"),
            level(2, 20.0, 500, 0.0, "max_concurrency"),
            level(4, 29.0, 700, 0.0, "max_concurrency"),
            level(8, 30.0, 300, 0.2, "rate_limit:search"),
        ];
        let criteria = Criteria {
            slo_p99: Some(Duration::from_millis(600)),
            max_error_rate: Some(0.1),
            ..Criteria::default()
        };
        let r = recommend(&levels, &criteria, &plan(), 2);
        assert_eq!(r.level, Some(2));
        assert!(r.reason.starts_with("2: the highest throughput of the levels whose p99 stays under the 600.0ms SLO and whose error rate stays within 10%, 66.7% of the peak"), "{}", r.reason);
        assert!(r.reason.contains("rate limit of 10/s"), "{}", r.reason);

        let strict = Criteria {
            slo_p99: Some(Duration::from_millis(100)),
            ..Criteria::default()
        };
        let none = recommend(&levels, &strict, &plan(), 2);
        assert_eq!(none.level, None);
        assert!(
            none.reason
                .starts_with("no level whose p99 stays under the 100.0ms SLO"),
            "{}",
            none.reason
        );
    }

    #[test]
    fn a_curve_still_rising_says_so() {
        let levels = [
            level(1, 10.0, 1, 0.0, "max_concurrency"),
            level(2, 20.0, 1, 0.0, "max_concurrency"),
        ];
        let r = recommend(&levels, &Criteria::default(), &plan(), 2);
        assert_eq!(r.level, Some(2));
        assert!(r.reason.contains("global limit still binds at 2"), "{}", r.reason);
        assert!(r.reason.contains("would raise throughput further"), "{}", r.reason);
    }

    #[test]
    fn a_curve_that_stopped_rising_below_its_bound_names_the_servers_capacity() {
        // A real server with room for 4: the bound says 8 and 16 should help, and they
        // did not.
        let levels = [
            level(1, 18.0, 1, 0.0, "max_concurrency"),
            level(2, 35.0, 1, 0.0, "max_concurrency"),
            level(4, 64.0, 1, 0.0, "max_concurrency"),
            level(8, 75.0, 1, 0.0, "max_concurrency"),
            level(16, 74.0, 1, 0.0, "max_concurrency"),
        ];
        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::new("work", crate::plan::ToolKind::Mcp));
        b.call("c", t);
        let real = b.build().unwrap();
        let r = recommend(&levels, &Criteria::default(), &real, 2);
        assert_eq!(r.level, Some(8));
        assert!(
            r.reason.ends_with(
                "above 8, throughput fell 1.3% from 8 to 16 (75.0 → 74.0 calls/s), though the global limit still \
                 binds at 16: the ceiling is the real tools' own capacity (their servers'), which no bound can see."
            ),
            "{}",
            r.reason
        );
        assert!(!r.reason.contains("would raise"), "{}", r.reason);
        // The same curve from simulated tools: the cost is the executor's or the machine's.
        let r = recommend(&levels, &Criteria::default(), &plan(), 2);
        assert!(r.reason.contains("outside the bound's model"), "{}", r.reason);
        // A top level more than 5% above the one before still rises; less is a plateau.
        let rising = [
            level(8, 75.0, 1, 0.0, "max_concurrency"),
            level(16, 79.0, 1, 0.0, "max_concurrency"),
        ];
        let r = recommend(&rising, &Criteria::default(), &real, 2);
        assert!(r.reason.contains("would raise throughput further"), "{}", r.reason);
        let flat = [
            level(8, 75.0, 1, 0.0, "max_concurrency"),
            level(16, 78.0, 1, 0.0, "max_concurrency"),
        ];
        let r = recommend(&flat, &Criteria::default(), &real, 2);
        assert!(
            r.reason.contains("rose only 4% from 8 to 16 (75.0 → 78.0 calls/s)"),
            "{}",
            r.reason
        );
    }
}
