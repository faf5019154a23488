//! The analysis of observed steps (docs/observed.md): per tool,
//! per step and in total, what the calls did and what the executor would have done with
//! them, the same calls at other limits, a recommended limit, and what stands out.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::calls::{CallRole, Calls};
use super::ideal::{IdealSpec, Replay, ReplayRun};
use super::otlp::hex;
use super::span::{Role, Spans};
use super::steps::{Step, steps_of};
use super::tree::SpanTree;
use crate::executor::CallStatus;
use crate::report::{SpeedupBound, Work};
use crate::stats::LatencyHistogram;
use crate::tune::recommend::{Criteria, DEFAULT_TARGET_SHARE, recommend};
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
    /// How far the recommendation may go.
    pub recommend_up_to: RecommendUpTo,
}

/// The highest level the recommendation may name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecommendUpTo {
    /// The most calls any step had in flight at once: the calls' durations were observed
    /// at that concurrency and no higher, and a real tool may slow down beyond it (the
    /// ideal schedule cannot know). `analyze`'s rule.
    #[default]
    Observed,
    /// The widest step: the tools' times are known at any concurrency (`parabench serve`
    /// draws them from the scenario, and the ideal keeps each tool's own limits).
    Widest,
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
    /// Tool spans that are not calls, and why (a summary of a step's calls).
    #[serde(default)]
    pub set_aside: Vec<SetAside>,
    /// Calls whose spans hold another span of the same tool: an agent's trace joined with
    /// the trace of the server it called. Absent when there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined: Option<Joined>,
}

/// Tool spans set aside, for one reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetAside {
    /// `summary`.
    pub reason: String,
    /// How many.
    pub spans: usize,
    /// In words.
    pub text: String,
}

/// What joining an agent's trace with its server's shows: per call, the server's time
/// and the client's overhead around it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Joined {
    /// Calls with a span of the server inside.
    pub calls: usize,
    /// The server's spans inside them (more than `calls` when a client retried inside
    /// one call).
    pub inner_spans: usize,
    /// Median overhead: the call as the client saw it, less the server's time.
    pub overhead_p50_s: f64,
    /// 99th percentile overhead.
    pub overhead_p99_s: f64,
    /// Every joined call, in step order.
    pub per_call: Vec<JoinedCall>,
}

/// One joined call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JoinedCall {
    /// Its step, by index into `steps`.
    pub step: usize,
    /// Its tool.
    pub tool: String,
    /// The client's span, in hex.
    pub span_id: String,
    /// The call as the client saw it.
    pub client_s: f64,
    /// The server's time (its spans of the call).
    pub server_s: f64,
    /// client_s - server_s, never below zero.
    pub overhead_s: f64,
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
    /// Joined traces: the median of the client's overhead around its calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead_p50_s: Option<f64>,
    /// Joined traces: its 99th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead_p99_s: Option<f64>,
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
    /// Joined traces: the median of the client's overhead around its calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead_p50_s: Option<f64>,
    /// Joined traces: its 99th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead_p99_s: Option<f64>,
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
/// [`steps_of`]), with each tool span resolved to a call, a part of one, or a summary
/// set aside (see [`Calls`]).
///
/// # Errors
///
/// [`AnalysisError`] when the replay's runtime cannot start.
pub fn analyse(spans: &Spans, request: &AnalysisRequest) -> Result<Analysis, AnalysisError> {
    let tree = SpanTree::new(spans);
    let calls = Calls::new(spans, &tree);
    let steps = steps_of(spans, &tree, &calls);
    analyse_calls(spans, &calls, &steps, request)
}

/// Analyses `spans`, every tool span a call, grouped into `steps` (each of their calls
/// in one step) as `request` says.
///
/// # Errors
///
/// [`AnalysisError`] when the replay's runtime cannot start.
pub fn analyse_steps(spans: &Spans, steps: &[Step], request: &AnalysisRequest) -> Result<Analysis, AnalysisError> {
    analyse_calls(spans, &Calls::every(spans), steps, request)
}

fn analyse_calls(
    spans: &Spans,
    calls: &Calls,
    steps: &[Step],
    request: &AnalysisRequest,
) -> Result<Analysis, AnalysisError> {
    let all = spans.spans();
    let mut analysis = Analysis {
        schema_version: ANALYSIS_SCHEMA_VERSION,
        kind: "analysis".into(),
        sources: request.sources.clone(),
        traces: spans.trace_count(),
        spans: spans.seen,
        max_concurrency: request.max_concurrency.map(NonZeroUsize::get),
        tools: tool_figures(spans, calls, steps),
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
        set_aside: set_aside(calls),
        joined: None,
    };
    let Ok(replay) = Replay::new(spans, steps, &request.ideal) else {
        return Ok(analysis);
    };
    let widest = steps.iter().map(|s| s.calls.len()).max().unwrap_or(1);
    let unlimited = NonZeroUsize::new(widest).unwrap_or(NonZeroUsize::MIN);
    let observed = steps.iter().map(|s| s.max_in_flight(all)).max().unwrap_or(1);
    let up_to = match request.recommend_up_to {
        RecommendUpTo::Observed => NonZeroUsize::new(observed).unwrap_or(NonZeroUsize::MIN).min(unlimited),
        RecommendUpTo::Widest => unlimited,
    };
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
        .chain([unlimited, ideal_limit, up_to])
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
        let (overhead_p50_s, overhead_p99_s) = overhead_quantiles(step.calls.iter().copied(), spans, calls);
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
            overhead_p50_s,
            overhead_p99_s,
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
    analysis.joined = joined(spans, calls, steps);

    // The what-if table, and the levels the recommendation chooses among: the asked
    // levels up to the highest it may name, and that one.
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
    let mut levels: Vec<NonZeroUsize> = request
        .levels
        .with_baseline()
        .get()
        .iter()
        .copied()
        .filter(|&l| l <= up_to)
        .collect();
    levels.push(up_to);
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
    if up_to < unlimited {
        // What the ideal would gain beyond what was observed, said but not recommended.
        let at_top = run_at(up_to).wall.as_secs_f64();
        if unlimited_wall < at_top * DEFAULT_TARGET_SHARE {
            analysis.reason = format!(
                "{} No step had more than {observed} calls in flight, so the calls' times are not known above \
                 that: the ideal schedule at {widest} would take {} instead of {} ({:.2}× faster) if they held; \
                 measure at that concurrency to know (`parabench serve`, or a run with real tools).",
                analysis.reason,
                fmt_duration(Duration::from_secs_f64(unlimited_wall)),
                fmt_duration(Duration::from_secs_f64(at_top)),
                ratio(at_top, unlimited_wall)
            );
        }
    }
    Ok(analysis)
}

/// What was set aside, per reason.
fn set_aside(calls: &Calls) -> Vec<SetAside> {
    let mut out = Vec::new();
    let n = calls.count(CallRole::Summary);
    if n > 0 {
        out.push(SetAside {
            reason: "summary".into(),
            spans: n,
            text: format!(
                "{n} tool {} only summarised a step's calls (a tool name in parentheses, such as ADK's \
                 `execute_tool (merged)` of `(merged tools)`): not calls",
                plural(n, "span", "spans")
            ),
        });
    }
    let n = calls.count(CallRole::Answer);
    if n > 0 {
        out.push(SetAside {
            reason: "answer".into(),
            spans: n,
            text: format!(
                "{n} tool {} gave the agent's final answer (smolagents' `final_answer`): the end of a run, not a \
                 call",
                plural(n, "span", "spans")
            ),
        });
    }
    out
}

/// The joined calls: per call, the client's span, the server's time inside it, and the
/// overhead between them.
fn joined(spans: &Spans, calls: &Calls, steps: &[Step]) -> Option<Joined> {
    if calls.inner_ns.is_empty() {
        return None;
    }
    let all = spans.spans();
    let secs = |ns: u64| Duration::from_nanos(ns).as_secs_f64();
    let mut per_call = Vec::new();
    for (k, step) in steps.iter().enumerate() {
        for &i in &step.calls {
            let (Some(&inner), Role::Tool(t)) = (calls.inner_ns.get(&i), all[i].role) else {
                continue;
            };
            let client = all[i].duration_ns();
            per_call.push(JoinedCall {
                step: k,
                tool: spans.tool_name(t).to_string(),
                span_id: hex(&all[i].span_id),
                client_s: secs(client),
                server_s: secs(inner),
                overhead_s: secs(client.saturating_sub(inner)),
            });
        }
    }
    let (p50, p99) = overhead_quantiles(per_call_indices(steps, calls), spans, calls);
    Some(Joined {
        calls: per_call.len(),
        inner_spans: calls.inner(),
        overhead_p50_s: p50.unwrap_or(0.0),
        overhead_p99_s: p99.unwrap_or(0.0),
        per_call,
    })
}

fn per_call_indices<'a>(steps: &'a [Step], calls: &'a Calls) -> impl Iterator<Item = usize> + 'a {
    steps
        .iter()
        .flat_map(|s| s.calls.iter().copied())
        .filter(|i| calls.inner_ns.contains_key(i))
}

/// The p50 and p99 of the client's overhead around those of `members` that hold the
/// server's spans; `None` when none does.
fn overhead_quantiles(
    members: impl Iterator<Item = usize>,
    spans: &Spans,
    calls: &Calls,
) -> (Option<f64>, Option<f64>) {
    let all = spans.spans();
    let mut histogram = LatencyHistogram::new();
    for i in members {
        if let Some(&inner) = calls.inner_ns.get(&i) {
            histogram.record(Duration::from_nanos(all[i].duration_ns().saturating_sub(inner)));
        }
    }
    if histogram.is_empty() {
        return (None, None);
    }
    let q = |q: f64| Some(histogram.quantile(q).as_secs_f64());
    (q(0.5), q(0.99))
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// A trace id short enough to read: a prefix of it, its first 8 hex digits, as the
/// trace is looked up by. A Jaeger 64-bit id padded to 128 bits (16 leading zeros) shows
/// the first 8 digits of the 64-bit id Jaeger itself shows.
pub fn short_trace(id: &str) -> &str {
    let id = match id.len() {
        32 if id.starts_with("0000000000000000") => &id[16..],
        _ => id,
    };
    &id[..id.len().min(8)]
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 1.0 }
}

/// Per tool: count, errors and duration quantiles from an HDR histogram, over the calls
/// of `steps`; and, for joined calls, the client's overhead.
fn tool_figures(spans: &Spans, calls: &Calls, steps: &[Step]) -> BTreeMap<String, ToolFigures> {
    let all = spans.spans();
    let mut per_tool: Vec<Option<(LatencyHistogram, usize, Vec<usize>)>> = vec![None; spans.tool_count()];
    for &i in steps.iter().flat_map(|s| &s.calls) {
        let Role::Tool(t) = all[i].role else { continue };
        let (histogram, errors, members) =
            per_tool[t as usize].get_or_insert_with(|| (LatencyHistogram::new(), 0, Vec::new()));
        histogram.record(Duration::from_nanos(all[i].duration_ns()));
        *errors += usize::from(all[i].error || calls.inner_error.get(&i).copied().unwrap_or(false));
        members.push(i);
    }
    per_tool
        .into_iter()
        .enumerate()
        .filter_map(|(t, figures)| {
            let (h, errors, members) = figures?;
            let q = |q: f64| h.quantile(q).as_secs_f64();
            let (overhead_p50_s, overhead_p99_s) = overhead_quantiles(members.into_iter(), spans, calls);
            Some((
                spans.tool_name(t as u32).to_string(),
                ToolFigures {
                    count: h.len() as usize,
                    errors,
                    p50_s: q(0.5),
                    p90_s: q(0.9),
                    p99_s: q(0.99),
                    max_s: h.max().as_secs_f64(),
                    overhead_p50_s,
                    overhead_p99_s,
                },
            ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_trace_id_is_a_prefix_of_the_id_jaeger_shows() {
        // A leading zero is part of the id: `af765191` is no prefix of it.
        assert_eq!(short_trace("0af7651916cd43dd8448eb211c80319c"), "0af76519");
        // Jaeger's 64-bit ids, padded to 128 bits, show as their 16 digits.
        assert_eq!(short_trace("00000000000000000b269b633813fc60"), "0b269b63");
        assert_eq!(short_trace("00000000000000000000000000000000"), "00000000");
        assert_eq!(short_trace("abc"), "abc");
    }
}
