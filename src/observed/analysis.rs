//! The analysis of observed steps (DESIGN.md, "Contract: observed workloads"): per tool,
//! per step and in total, what the calls did and what the executor would have done with
//! them, the same calls at other limits, a recommended limit, and what stands out.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ideal::{IdealSpec, Replay, ReplayRun};
use super::otlp::hex;
use super::span::{Role, Spans};
use super::steps::{Step, steps};
use crate::executor::CallStatus;
use crate::report::{SpeedupBound, Work};
use crate::stats::LatencyHistogram;
use crate::tune::recommend::{Criteria, recommend};
use crate::tune::{LevelReport, Levels};
use crate::units::fmt_duration;

/// The version of the analysis format this build writes and reads.
pub const ANALYSIS_SCHEMA_VERSION: u32 = 1;

/// A step of this many calls or more, all of them in flight at once, is named as a fan-out
/// no limit held.
pub const FAN_OUT_CALLS: usize = 32;

/// What to compute.
#[derive(Clone, Debug)]
pub struct AnalysisRequest {
    /// The limit of the ideal schedule each step is compared with; `None`: unlimited.
    pub max_concurrency: Option<NonZeroUsize>,
    /// The limits of the what-if table.
    pub levels: Levels,
    /// Where the spans came from, for the report.
    pub sources: Vec<String>,
    /// The tools' own limits and the calls' times in the ideal; default: none, and each
    /// span's duration.
    pub ideal: IdealSpec,
}

/// The whole analysis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Format version; see [`ANALYSIS_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `analysis`.
    pub kind: String,
    /// The files read, or the receiver's addresses.
    pub sources: Vec<String>,
    /// Distinct traces with a tool or model call.
    pub traces: usize,
    /// Spans read, recognised or not.
    pub spans: u64,
    /// The limit the ideal schedule had; null: unlimited.
    pub max_concurrency: Option<usize>,
    /// Per tool.
    pub tools: BTreeMap<String, ToolFigures>,
    /// Per step, earliest first.
    pub steps: Vec<StepFigures>,
    /// Over every step.
    pub total: TotalFigures,
    /// The steps' total makespan at each limit, and unlimited (null) last.
    pub what_if: Vec<WhatIf>,
    /// The recommended limit, by the rules of `tune`; null without steps.
    pub recommended: Option<usize>,
    /// Why.
    pub reason: String,
    /// Steps that stand out: run one call at a time although they held several, or
    /// many calls at once with nothing holding them back.
    #[serde(default)]
    pub findings: Vec<Finding>,
}

/// One tool's calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolFigures {
    /// Calls of the tool.
    pub count: usize,
    /// Of which failed.
    pub errors: usize,
    /// Median duration.
    pub p50_s: f64,
    /// 90th percentile.
    pub p90_s: f64,
    /// 99th percentile.
    pub p99_s: f64,
    /// Longest.
    pub max_s: f64,
}

/// One step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepFigures {
    /// Its trace, in hex.
    pub trace_id: String,
    /// The span its calls share as parent, in hex.
    pub parent_span_id: String,
    /// Its tool calls.
    pub calls: usize,
    /// Calls per tool.
    pub tools: BTreeMap<String, usize>,
    /// The sum of its calls' durations.
    pub work_s: f64,
    /// Its first start to its last end.
    pub wall_s: f64,
    /// The most of its calls in flight at once.
    pub max_in_flight: usize,
    /// work_s / wall_s.
    pub speedup: f64,
    /// The makespan of the same durations, independent, at `max_concurrency`.
    pub ideal_wall_s: f64,
    /// ideal_wall_s / wall_s.
    pub efficiency: f64,
}

/// Over every step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TotalFigures {
    /// Steps.
    pub steps: usize,
    /// Tool calls in them.
    pub calls: usize,
    /// The sum of every call's duration.
    pub work_s: f64,
    /// The sum of the steps' walls: the time spent in tools.
    pub wall_s: f64,
    /// The sum of the steps' ideal makespans.
    pub ideal_wall_s: f64,
    /// work_s / wall_s.
    pub speedup: f64,
    /// ideal_wall_s / wall_s.
    pub efficiency: f64,
}

/// The steps replayed at one limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WhatIf {
    /// The limit; null: unlimited.
    pub max_concurrency: Option<usize>,
    /// The total of the steps' makespans.
    pub wall_s: f64,
    /// The total work over that.
    pub speedup: f64,
}

/// A step that stands out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `serial` or `fan_out`.
    pub kind: String,
    /// The step, by its index in `steps`.
    pub step: usize,
    /// In words.
    pub text: String,
}

/// Why nothing could be analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The replay's runtime could not start.
    #[error("cannot start the replay's runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Analyses `spans` as `request` says, in the steps their traces show (see
/// [`steps`]).
///
/// # Errors
///
/// [`AnalysisError`] when the replay's runtime cannot start.
pub fn analyse(spans: &Spans, request: &AnalysisRequest) -> Result<Analysis, AnalysisError> {
    analyse_steps(spans, &steps(spans), request)
}

/// Analyses `spans` grouped into `steps` (each of their calls in one step) as `request`
/// says.
///
/// # Errors
///
/// [`AnalysisError`] when the replay's runtime cannot start.
pub fn analyse_steps(spans: &Spans, steps: &[Step], request: &AnalysisRequest) -> Result<Analysis, AnalysisError> {
    let all = spans.spans();
    let tools = tool_figures(spans);
    let mut analysis = Analysis {
        schema_version: ANALYSIS_SCHEMA_VERSION,
        kind: "analysis".into(),
        sources: request.sources.clone(),
        traces: spans.trace_count(),
        spans: spans.seen,
        max_concurrency: request.max_concurrency.map(NonZeroUsize::get),
        tools,
        steps: Vec::new(),
        total: TotalFigures {
            steps: 0,
            calls: 0,
            work_s: 0.0,
            wall_s: 0.0,
            ideal_wall_s: 0.0,
            speedup: 1.0,
            efficiency: 1.0,
        },
        what_if: Vec::new(),
        recommended: None,
        reason: "no tool calls were found: nothing to recommend".into(),
        findings: Vec::new(),
    };
    let Ok(replay) = Replay::new(spans, steps, &request.ideal) else {
        return Ok(analysis);
    };
    let widest = steps.iter().map(|s| s.calls.len()).max().unwrap_or(1);
    let unlimited = NonZeroUsize::new(widest).unwrap_or(NonZeroUsize::MIN);
    let ideal_limit = request.max_concurrency.map_or(unlimited, |n| n.min(unlimited));
    // Every limit replayed once: a limit above the widest step runs the same schedule as
    // the widest, so it is not replayed again.
    let effective = |l: NonZeroUsize| l.min(unlimited);
    let mut limits: Vec<NonZeroUsize> = request
        .levels
        .with_baseline()
        .get()
        .iter()
        .map(|&l| effective(l))
        .chain([unlimited, ideal_limit])
        .collect();
    limits.sort_unstable();
    limits.dedup();
    let step_work = |s: &Step| {
        s.calls
            .iter()
            .map(|&i| request.ideal.duration_ns(i, &all[i]))
            .sum::<u64>()
    };
    let work_s = steps.iter().map(step_work).sum::<u64>() as f64 / 1e9;
    let runs = replay_all(&replay, &limits, ideal_limit, work_s)?;
    let run_at = |l: NonZeroUsize| runs.iter().find(|r| r.limit == effective(l)).expect("replayed");
    let ideal = run_at(ideal_limit);
    let ideal_steps = ideal.steps.as_deref().expect("kept for the ideal limit");

    let secs = |ns: u64| Duration::from_nanos(ns).as_secs_f64();
    for (k, step) in steps.iter().enumerate() {
        let (work, wall) = (step_work(step), step.wall_ns(all));
        let ideal_wall = ideal_steps[k].as_secs_f64();
        let mut per_tool = BTreeMap::new();
        for &i in &step.calls {
            if let Role::Tool(t) = all[i].role {
                *per_tool.entry(spans.tool_name(t).to_string()).or_insert(0) += 1;
            }
        }
        analysis.steps.push(StepFigures {
            trace_id: hex(&step.trace_id),
            parent_span_id: hex(&step.parent_span_id),
            calls: step.calls.len(),
            tools: per_tool,
            work_s: secs(work),
            wall_s: secs(wall),
            max_in_flight: step.max_in_flight(all),
            speedup: ratio(secs(work), secs(wall)),
            ideal_wall_s: ideal_wall,
            efficiency: ratio(ideal_wall, secs(wall)),
        });
    }
    let work: f64 = analysis.steps.iter().map(|s| s.work_s).sum();
    let wall: f64 = analysis.steps.iter().map(|s| s.wall_s).sum();
    let ideal_wall = ideal.wall.as_secs_f64();
    analysis.total = TotalFigures {
        steps: steps.len(),
        calls: replay.calls(),
        work_s: work,
        wall_s: wall,
        ideal_wall_s: ideal_wall,
        speedup: ratio(work, wall),
        efficiency: ratio(ideal_wall, wall),
    };
    analysis.findings = findings(&analysis.steps);

    // The what-if table, and the levels the recommendation chooses among: the asked
    // levels, and the widest step (where no limit binds any more).
    for &level in request.levels.get() {
        let wall = run_at(level).wall.as_secs_f64();
        analysis.what_if.push(WhatIf {
            max_concurrency: Some(level.get()),
            wall_s: wall,
            speedup: ratio(work, wall),
        });
    }
    let unlimited_wall = run_at(unlimited).wall.as_secs_f64();
    analysis.what_if.push(WhatIf {
        max_concurrency: None,
        wall_s: unlimited_wall,
        speedup: ratio(work, unlimited_wall),
    });
    let mut levels: Vec<NonZeroUsize> = request.levels.with_baseline().get().to_vec();
    levels.push(unlimited);
    levels.sort_unstable();
    levels.dedup();
    let level_reports: Vec<LevelReport> = levels
        .iter()
        .map(|&level| LevelReport {
            max_concurrency: level.get(),
            ..run_at(level).report.clone()
        })
        .collect();
    let recommendation = recommend(&level_reports, &Criteria::default(), replay.plan(), 1);
    analysis.recommended = recommendation.level;
    analysis.reason = recommendation.reason;
    Ok(analysis)
}

/// A trace id short enough to read: its first 8 hex digits after any leading zeros
/// (Jaeger's 64-bit trace ids are zero-padded to 128 bits).
pub fn short_trace(id: &str) -> &str {
    let trimmed = id.trim_start_matches('0');
    let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
    &trimmed[..trimmed.len().min(8)]
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 1.0 }
}

/// Per tool: count, errors and duration quantiles from an HDR histogram.
fn tool_figures(spans: &Spans) -> BTreeMap<String, ToolFigures> {
    let mut per_tool: Vec<(LatencyHistogram, usize)> =
        (0..spans.tool_count()).map(|_| (LatencyHistogram::new(), 0)).collect();
    for span in spans.spans() {
        if let Role::Tool(t) = span.role {
            let (histogram, errors) = &mut per_tool[t as usize];
            histogram.record(Duration::from_nanos(span.duration_ns()));
            *errors += usize::from(span.error);
        }
    }
    per_tool
        .into_iter()
        .enumerate()
        .map(|(t, (h, errors))| {
            let q = |q: f64| h.quantile(q).as_secs_f64();
            (
                spans.tool_name(t as u32).to_string(),
                ToolFigures {
                    count: h.len() as usize,
                    errors,
                    p50_s: q(0.5),
                    p90_s: q(0.9),
                    p99_s: q(0.99),
                    max_s: h.max().as_secs_f64(),
                },
            )
        })
        .collect()
}

/// One limit's replay, kept small: a run of millions of calls is summed up and dropped.
#[derive(Debug)]
struct Replayed {
    limit: NonZeroUsize,
    wall: Duration,
    /// Each step's makespan, kept for the ideal limit only.
    steps: Option<Vec<Duration>>,
    report: LevelReport,
}

/// Replays at each of `limits`, on as many threads as the machine has cores (each run is
/// single-threaded virtual time, and independent of the others).
fn replay_all(
    replay: &Replay,
    limits: &[NonZeroUsize],
    keep_steps: NonZeroUsize,
    work_s: f64,
) -> Result<Vec<Replayed>, AnalysisError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(limits.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<Vec<Replayed>, AnalysisError> {
                    let runtime = super::ideal::runtime()?;
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&limit) = limits.get(i) else {
                            return Ok(done);
                        };
                        let run = replay.run(&runtime, limit);
                        let report = level_report(replay, &run, limit, work_s);
                        done.push(Replayed {
                            limit,
                            wall: run.wall,
                            steps: (limit == keep_steps).then_some(run.steps),
                            report,
                        });
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a replay thread does not panic"))
            .collect::<Vec<_>>()
    });
    let mut all = Vec::with_capacity(limits.len());
    for result in results {
        all.extend(result?);
    }
    Ok(all)
}

/// A replay at one level as `tune` measures a level, for its recommendation rules.
fn level_report(replay: &Replay, run: &ReplayRun, level: NonZeroUsize, work_s: f64) -> LevelReport {
    let outcome = &run.outcome;
    let wall = run.wall.as_secs_f64();
    let mut latency = LatencyHistogram::new();
    for (i, call) in outcome.calls.iter().enumerate() {
        if !replay.is_call(i) {
            continue;
        }
        if let (Some(wait), Some(service)) = (call.queue_wait(), call.service_time()) {
            latency.record(wait + service);
        }
    }
    let bound = SpeedupBound::new(replay.plan(), &Work::of(outcome, Vec::new()), level.get(), 1);
    let speedup = ratio(work_s, wall);
    let speedup_bound = ratio(work_s, bound.makespan_lower.as_secs_f64());
    let calls = replay.calls();
    let ok = outcome.count(CallStatus::Ok);
    LevelReport {
        max_concurrency: level.get(),
        wall_s: wall,
        throughput: ratio(calls as f64, wall),
        speedup: Some(speedup),
        speedup_bound: Some(speedup_bound),
        efficiency: Some(ratio(speedup, speedup_bound)),
        binding: Some(bound.binding),
        deadline_hit: false,
        max_in_flight: Some(outcome.max_in_flight()),
        p50_s: latency.quantile(0.5).as_secs_f64(),
        p99_s: latency.quantile(0.99).as_secs_f64(),
        queue_p50_s: 0.0,
        queue_p99_s: 0.0,
        queue_mean_s: 0.0,
        errors: outcome.calls.len() - ok,
        error_rate: 0.0,
        retries: 0,
    }
}

/// Steps run one call at a time although they held several, and steps that ran many
/// calls all at once.
fn findings(steps: &[StepFigures]) -> Vec<Finding> {
    let secs = |s: f64| fmt_duration(Duration::from_secs_f64(s));
    let mut out = Vec::new();
    for (k, step) in steps.iter().enumerate() {
        let trace = short_trace(&step.trace_id);
        if step.calls > 1 && step.max_in_flight == 1 {
            out.push(Finding {
                kind: "serial".into(),
                step: k,
                text: format!(
                    "step {} (trace {trace}…) ran serially: {} calls, {}; {} possible",
                    k + 1,
                    step.calls,
                    secs(step.wall_s),
                    secs(step.ideal_wall_s)
                ),
            });
        }
        if step.calls >= FAN_OUT_CALLS && step.max_in_flight == step.calls {
            out.push(Finding {
                kind: "fan_out".into(),
                step: k,
                text: format!(
                    "step {} (trace {trace}…) ran all {} calls at once: nothing limited how many were in flight",
                    k + 1,
                    step.calls
                ),
            });
        }
    }
    out
}
