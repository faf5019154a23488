//! The JSON report contract (docs/contracts.md, "The run report") as serde types.
//!
//! `schema_version` changes only when a field changes meaning or goes away; the JSON
//! Schema of each version is committed under `schemas/`.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use super::figure::{Better, Figure, FigureKey};
use crate::executor::{AttemptEnd, CallStatus, RunMode, RunOutcome};
use crate::plan::Plan;
use crate::real::RealError;
use crate::stats::{LatencyHistogram, ToolHistograms};
use crate::telemetry::ScenarioFigures;

/// The version of the report format this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// How a report's latencies came about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Samples {
    /// Drawn from (seed, call, attempt): every run of the report saw the same per-call
    /// latencies and failures.
    #[default]
    Paired,
    /// Measured from real tools: each run's are its own.
    Measured,
}

/// A whole `parabench run`: its runs, the speedup and the expectations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Format version; see [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The scenario's name.
    pub scenario: String,
    /// The seed of every random draw.
    pub seed: u64,
    /// `real` or `virtual`.
    pub clock: String,
    /// How the runs' latencies came about: drawn from the seed, the same in each run
    /// (`paired`), or measured from real tools, each run its own (`measured`).
    #[serde(default)]
    pub samples: Samples,
    /// The parabench version that wrote the report.
    pub parabench_version: String,
    /// The runs, in the order they ran.
    pub runs: Vec<RunReport>,
    /// Sequential wall time / parallel wall time, when both ran.
    pub speedup: Option<f64>,
    /// The work–span bound on the speedup.
    pub speedup_bound: Option<f64>,
    /// speedup / speedup_bound.
    pub efficiency: Option<f64>,
    /// How the bound was derived, when it was.
    pub bound: Option<BoundReport>,
    /// The scenario's expectations, checked.
    pub expectations: Vec<ExpectationResult>,
    /// With `run --repeat N` and N > 1: every repetition, the first included, whose
    /// figures the fields above repeat. Absent for a single run, and in reports written
    /// before repetitions existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repetitions: Vec<Repetition>,
    /// With N > 1: each figure's median, range and confidence interval over the
    /// repetitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Whether the run was interrupted (Ctrl-C, SIGTERM) before it was complete: the
    /// report holds what was measured until then. An interrupted run's figures are its
    /// own, and no speedup or expectation is derived from one. False in reports written
    /// before interruption was recorded.
    #[serde(default)]
    pub partial: bool,
    /// In a partial report of `run --repeat N`: N, the repetitions asked for. Those that
    /// finished are in `repetitions` (or, when only the first did, are the report
    /// itself); the one cut short is dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetitions_requested: Option<usize>,
    /// When a run of the comparison ended at its deadline with calls cancelled: the runs
    /// did different work, so `speedup`, `speedup_bound` and `efficiency` are null, and
    /// this says what does compare, the calls each run completed within the deadline.
    /// Absent otherwise, and in reports written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_deadline: Option<DeadlineComparison>,
}

/// The calls each run of a comparison completed within the run's deadline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadlineComparison {
    /// The deadline of each run, in seconds.
    pub deadline_s: f64,
    /// Each run, in the order they ran.
    pub runs: Vec<CompletedCalls>,
    /// Calls the parallel (or batch) run completed per call the sequential run
    /// completed; null when the sequential run completed none.
    pub ratio: Option<f64>,
}

impl DeadlineComparison {
    /// The comparison of `runs` under `deadline`.
    pub fn new(deadline: Duration, runs: &[RunReport]) -> Self {
        let runs: Vec<CompletedCalls> = runs.iter().map(CompletedCalls::of).collect();
        let ratio = match runs.as_slice() {
            [seq, par] if seq.mode == RunMode::Sequential && seq.completed > 0 => {
                Some(par.completed as f64 / seq.completed as f64)
            }
            _ => None,
        };
        Self {
            deadline_s: deadline.as_secs_f64(),
            runs,
            ratio,
        }
    }
}

/// How many of a run's calls ended before its deadline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompletedCalls {
    /// Which run.
    pub mode: RunMode,
    /// Calls that ended with an outcome of their own (ok, error, timeout or skipped),
    /// not cancelled by the deadline.
    pub completed: usize,
    /// Of those, the calls that succeeded.
    pub ok: usize,
    /// Every call of the run.
    pub calls: usize,
}

impl CompletedCalls {
    fn of(run: &RunReport) -> Self {
        let cancelled: usize = run.tools.values().map(|t| t.cancelled).sum();
        let calls = run.call_count();
        Self {
            mode: run.mode,
            completed: calls - cancelled,
            ok: run.tools.values().map(|t| t.ok).sum(),
            calls,
        }
    }
}

impl Report {
    /// What the scenario's telemetry records of this report.
    pub fn scenario_figures(&self) -> ScenarioFigures {
        ScenarioFigures {
            speedup: self.speedup,
            speedup_bound: self.speedup_bound,
            efficiency: self.efficiency,
            compared: self.runs.last().map(|r| r.mode),
            partial: self.partial,
        }
    }

    /// The figures of each repetition: those of [`Report::repetitions`], or of the
    /// report's own runs when it holds a single one.
    pub fn repetition_figures(&self) -> Vec<Vec<(FigureKey, f64)>> {
        if self.repetitions.is_empty() {
            vec![figures(&self.runs, self.speedup, self.efficiency)]
        } else {
            self.repetitions
                .iter()
                .map(|r| figures(&r.runs, r.speedup, r.efficiency))
                .collect()
        }
    }

    /// The seed of each repetition, in order.
    pub fn repetition_seeds(&self) -> Vec<u64> {
        if self.repetitions.is_empty() {
            vec![self.seed]
        } else {
            self.repetitions.iter().map(|r| r.seed).collect()
        }
    }
}

/// One repetition of the whole comparison under `run --repeat`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Repetition {
    /// 1 for the first repetition.
    pub index: usize,
    /// The seed of its draws: the report's seed, or one derived from it with
    /// `--vary-seed`.
    pub seed: u64,
    /// Its runs, with `calls` left empty: the per-call detail is kept for the first
    /// repetition only, in the report's own `runs`.
    pub runs: Vec<RunReport>,
    /// Sequential wall time / parallel wall time, when both ran.
    pub speedup: Option<f64>,
    /// The work–span bound on the speedup.
    pub speedup_bound: Option<f64>,
    /// speedup / speedup_bound.
    pub efficiency: Option<f64>,
}

/// Each figure over the repetitions of a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// How many repetitions ran.
    pub repetitions: usize,
    /// Whether each repetition drew from its own seed (`--vary-seed`).
    pub vary_seed: bool,
    /// The confidence level of the intervals, such as 0.95.
    pub confidence: f64,
    /// How the interval was computed.
    pub method: String,
    /// One entry per figure, in the order of [`FigureKey`].
    pub figures: Vec<FigureSummary>,
}

/// One figure's median, range and confidence interval over the repetitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FigureSummary {
    /// Which figure.
    #[serde(flatten)]
    pub key: FigureKey,
    /// The median over the repetitions.
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The lower end of the confidence interval of the median.
    pub ci_low: f64,
    /// The upper end of the confidence interval of the median.
    pub ci_high: f64,
}

/// The terms of the speedup bound, in seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoundReport {
    /// Sum of the sequential run's call durations (T1).
    pub total_work_s: f64,
    /// The longest dependency chain (T∞).
    pub critical_path_s: f64,
    /// Time no parallel schedule can beat: the largest of the terms below.
    pub makespan_lower_s: f64,
    /// What sets that time: `max_concurrency`, `critical_path`, `cpu_cores`,
    /// `tool_limit:NAME` or `rate_limit:NAME`.
    pub binding: String,
    /// Every term, by the name used in `binding`.
    pub terms_s: BTreeMap<String, f64>,
}

/// One run of the scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// sequential, parallel or batch.
    pub mode: RunMode,
    /// The global limit of this run.
    pub max_concurrency: usize,
    /// A batch run's batch size: at most this many of its calls in flight, whatever its
    /// `max_concurrency` allows. Absent for other runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// From the start of the run to the end of its last call.
    pub wall_s: f64,
    /// Whether the deadline cut the run short.
    pub deadline_hit: bool,
    /// Whether the run was stopped early (Ctrl-C, SIGTERM): calls unfinished then are
    /// `cancelled`.
    #[serde(default)]
    pub interrupted: bool,
    /// Calls that succeeded / all calls.
    pub success_rate: f64,
    /// Percentiles of end-to-end latency (end − ready) over calls that started.
    pub latency: Percentiles,
    /// One per call, in input order; empty when the run was made with
    /// [`CallRecords::Omit`] (`run --no-calls`).
    pub calls: Vec<CallReport>,
    /// Per tool, by name.
    pub tools: BTreeMap<String, ToolStats>,
    /// The executor's start lag (real clock): how long admitted calls waited for their
    /// first poll while the executor started others. In queue waits, never in service
    /// times; absent in virtual time and in reports written before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_lag: Option<LagFigures>,
    /// The executor's completion lag (real clock): how long attempts that were done
    /// waited for the executor to handle them. Kept out of every service time; absent in
    /// virtual time and in reports written before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_lag: Option<LagFigures>,
    /// Per tool, the HDR histograms behind the percentiles. Not part of the JSON report:
    /// `--hlog` writes them as an HdrHistogram interval log.
    #[serde(skip)]
    pub histograms: BTreeMap<String, ToolHistograms>,
}

/// One call of a run. Times are seconds from the start of the run, on its clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallReport {
    /// The call's id.
    pub id: String,
    /// Its tool's name.
    pub tool: String,
    /// The ids of its dependencies.
    pub deps: Vec<String>,
    /// ok, error, timeout, skipped or cancelled.
    pub status: CallStatus,
    /// Attempts started.
    pub attempts: u32,
    /// When it became ready (all dependencies ended).
    pub queued_s: Option<f64>,
    /// When its first attempt started.
    pub start_s: Option<f64>,
    /// When it ended.
    pub end_s: f64,
    /// The last error, for a failed call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The kind of a failed call's last failure: `timeout`, or for a real tool
    /// `is_error`, `jsonrpc`, `http_status`, `transport` or `params`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// For an `http_status` failure, the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// For a skipped call, the id of the failed call that caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Each attempt, in order: `attempts` entries. The gap between two is the backoff;
    /// the call holds its slot through it. Empty for a call that never started, and in
    /// reports written before attempts were recorded.
    #[serde(default)]
    pub attempt_spans: Vec<AttemptSpan>,
}

/// One attempt of a call. Times are seconds from the start of the run, on its clock.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptSpan {
    /// When the attempt started.
    pub start_s: f64,
    /// When it ended, or when the deadline cut it.
    pub end_s: f64,
    /// How it ended.
    pub outcome: AttemptOutcome,
}

/// How one attempt ended: as [`AttemptEnd`], or cut by the run's deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptOutcome {
    /// It returned a result.
    Ok,
    /// It returned an error.
    Error,
    /// It ran past its timeout.
    Timeout,
    /// The deadline passed while it ran.
    Cancelled,
}

impl From<AttemptEnd> for AttemptOutcome {
    fn from(end: AttemptEnd) -> Self {
        match end {
            AttemptEnd::Ok => AttemptOutcome::Ok,
            AttemptEnd::Error => AttemptOutcome::Error,
            AttemptEnd::Timeout => AttemptOutcome::Timeout,
        }
    }
}

/// One of the executor's own delays over a run, as percentiles: its start lag (a call
/// admitted, its tool first polled later) or its completion lag (an attempt done, handled
/// later).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LagFigures {
    /// Attempts timed.
    pub attempts: u64,
    /// Median lag.
    pub p50_s: f64,
    /// 99th percentile.
    pub p99_s: f64,
    /// Largest.
    pub max_s: f64,
}

impl LagFigures {
    /// The figures of `lag`; `None` when it holds nothing (virtual time, or no attempt
    /// waited).
    pub fn of(lag: &LatencyHistogram) -> Option<Self> {
        (!lag.is_empty()).then(|| Self {
            attempts: lag.len(),
            p50_s: lag.quantile(0.5).as_secs_f64(),
            p99_s: lag.quantile(0.99).as_secs_f64(),
            max_s: lag.max().as_secs_f64(),
        })
    }
}

/// Latency percentiles in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50_s: f64,
    /// 90th percentile.
    pub p90_s: f64,
    /// 99th percentile.
    pub p99_s: f64,
    /// Largest.
    pub max_s: f64,
}

impl Percentiles {
    /// The percentiles of a histogram.
    pub fn of(h: &LatencyHistogram) -> Self {
        Self {
            p50_s: h.quantile(0.5).as_secs_f64(),
            p90_s: h.quantile(0.9).as_secs_f64(),
            p99_s: h.quantile(0.99).as_secs_f64(),
            max_s: h.max().as_secs_f64(),
        }
    }
}

/// What one tool did in a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolStats {
    /// `io` or `cpu`.
    pub kind: String,
    /// Calls of this tool.
    pub count: usize,
    /// Calls that succeeded.
    pub ok: usize,
    /// Calls that failed.
    pub error: usize,
    /// Calls whose last attempt timed out.
    pub timeout: usize,
    /// Calls skipped because a dependency failed.
    pub skipped: usize,
    /// Calls cut by the deadline.
    pub cancelled: usize,
    /// Attempts beyond the first.
    pub retries: u64,
    /// Median service time (end − start: attempts and backoffs).
    pub p50_s: f64,
    /// 90th percentile of service time.
    pub p90_s: f64,
    /// 99th percentile of service time.
    pub p99_s: f64,
    /// Largest service time.
    pub max_s: f64,
    /// 99th percentile of queue wait (start − ready).
    pub queue_p99_s: f64,
    /// The tool's own limit on calls in flight, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<usize>,
    /// The tool's rate limit in attempt starts per second, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_s: Option<f64>,
}

/// One expectation of the scenario, checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectationResult {
    /// The key in `[expect]`, such as `min_speedup`.
    pub name: String,
    /// Whether it held; `None` when this run did not measure it.
    pub ok: Option<bool>,
    /// Measured against expected, such as `4.9 >= 4.5`.
    pub detail: String,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Most calls a run may keep a record of each ([`CallRecords::Keep`], which `--html`
/// needs): about a gigabyte of records per million calls and run. Larger scenarios (up
/// to [`MAX_CALLS`](crate::scenario::MAX_CALLS)) run with [`CallRecords::Omit`].
pub const MAX_CALL_RECORDS: usize = 2_000_000;

/// Whether a report keeps one record per call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CallRecords {
    /// Every call's times, attempts and error: what the timelines are drawn from.
    #[default]
    Keep,
    /// Only the per-tool figures and histograms, for runs where a record per call would
    /// not fit in memory (about 500 bytes each, a million calls to a run).
    Omit,
}

/// The real tool's failure behind `error`, if that is what it was.
fn real_error(error: Option<&crate::executor::ToolError>) -> Option<&RealError> {
    error.and_then(|e| e.get_ref().downcast_ref::<RealError>())
}

/// The kind of a call's failure, as the report writes it.
fn failure_kind(status: CallStatus, real: Option<&RealError>) -> Option<String> {
    match (status, real) {
        (CallStatus::Timeout, _) => Some("timeout".into()),
        (CallStatus::Error, Some(e)) => Some(e.kind().into()),
        _ => None,
    }
}

impl RunReport {
    /// Summarises a run of `plan`, with a record of each call.
    pub fn new<O>(plan: &Plan, mode: RunMode, run: &RunOutcome<O>) -> Self {
        Self::build(plan, mode, run, CallRecords::Keep)
    }

    /// Summarises a run of `plan`, keeping a record of each call or not.
    pub fn build<O>(plan: &Plan, mode: RunMode, run: &RunOutcome<O>, records: CallRecords) -> Self {
        let mut service: Vec<LatencyHistogram> = plan.tools().iter().map(|_| LatencyHistogram::new()).collect();
        let mut queue = service.clone();
        let mut latency = LatencyHistogram::new();
        let mut tools: Vec<ToolStats> = plan
            .tools()
            .iter()
            .map(|t| ToolStats {
                kind: t.kind.to_string(),
                max_concurrency: t.max_concurrency.map(NonZeroUsize::get),
                rate_limit_per_s: t.rate_limit_per_s,
                ..ToolStats::default()
            })
            .collect();
        let mut calls = match records {
            CallRecords::Keep => Vec::with_capacity(run.calls.len()),
            CallRecords::Omit => Vec::new(),
        };
        for ((idx, call), out) in plan.indices().zip(plan.calls()).zip(&run.calls) {
            let t = call.tool.index();
            let stats = &mut tools[t];
            stats.count += 1;
            stats.retries += u64::from(out.attempts.saturating_sub(1));
            match out.status {
                CallStatus::Ok => stats.ok += 1,
                CallStatus::Error => stats.error += 1,
                CallStatus::Timeout => stats.timeout += 1,
                CallStatus::Skipped => stats.skipped += 1,
                CallStatus::Cancelled => stats.cancelled += 1,
            }
            if let (Some(s), Some(q)) = (out.service_time(), out.queue_wait()) {
                service[t].record(s);
                queue[t].record(q);
                latency.record(s + q);
            }
            if records == CallRecords::Omit {
                continue;
            }
            calls.push(CallReport {
                id: call.id.to_string(),
                tool: plan.tool(call.tool).name.clone(),
                deps: plan.deps(idx).iter().map(|d| plan.call(*d).id.to_string()).collect(),
                status: out.status,
                attempts: out.attempts,
                queued_s: out.ready().map(secs),
                start_s: out.start().map(secs),
                end_s: secs(out.end()),
                error: out.error.as_ref().map(ToString::to_string),
                failure: failure_kind(out.status, real_error(out.error.as_ref())),
                http_status: real_error(out.error.as_ref()).and_then(RealError::http_status),
                cause: out.cause.map(|c| plan.call(c).id.to_string()),
                attempt_spans: Vec::new(),
            });
        }
        for (t, stats) in tools.iter_mut().enumerate() {
            let p = Percentiles::of(&service[t]);
            (stats.p50_s, stats.p90_s, stats.p99_s, stats.max_s) = (p.p50_s, p.p90_s, p.p99_s, p.max_s);
            stats.queue_p99_s = secs(queue[t].quantile(0.99));
        }
        let ok = run.count(CallStatus::Ok);
        RunReport {
            mode,
            max_concurrency: run.max_concurrency,
            batch_size: None,
            wall_s: secs(run.wall),
            deadline_hit: run.deadline_hit,
            interrupted: run.interrupted,
            success_rate: ok as f64 / run.calls.len().max(1) as f64,
            latency: Percentiles::of(&latency),
            calls,
            tools: plan.tools().iter().map(|t| t.name.clone()).zip(tools).collect(),
            start_lag: LagFigures::of(&run.start_lag),
            completion_lag: LagFigures::of(&run.completion_lag),
            histograms: plan
                .tools()
                .iter()
                .zip(service.into_iter().zip(queue))
                .map(|(t, (service, queue_wait))| (t.name.clone(), ToolHistograms { service, queue_wait }))
                .collect(),
        }
    }

    /// Calls in this run (counted per tool, so also without per-call records).
    pub fn call_count(&self) -> usize {
        self.tools.values().map(|t| t.count).sum()
    }

    /// Attaches each call's attempts, as recorded while the run ran, one list per call
    /// in input order.
    ///
    /// # Panics
    ///
    /// When `spans` does not hold one list per call.
    pub fn with_attempt_spans(mut self, spans: Vec<Vec<AttemptSpan>>) -> Self {
        assert_eq!(spans.len(), self.calls.len(), "one list of attempts per call");
        for (call, spans) in self.calls.iter_mut().zip(spans) {
            call.attempt_spans = spans;
        }
        self
    }
}

/// The figures of one repetition, in [`FigureKey`] order.
pub fn figures(runs: &[RunReport], speedup: Option<f64>, efficiency: Option<f64>) -> Vec<(FigureKey, f64)> {
    let key = |mode, tool: Option<&String>, figure| FigureKey {
        mode,
        tool: tool.cloned(),
        figure,
    };
    let mut out = Vec::new();
    if let Some(s) = speedup {
        out.push((key(None, None, Figure::Speedup), s));
    }
    if let Some(e) = efficiency {
        out.push((key(None, None, Figure::Efficiency), e));
    }
    for run in runs {
        let mode = Some(run.mode);
        // Saturating: a hand-edited report must not make a reader panic.
        let failed: usize = run.tools.values().map(|t| t.count.saturating_sub(t.ok)).sum();
        let retries: u64 = run.tools.values().map(|t| t.retries).sum();
        out.extend([
            (key(mode, None, Figure::WallS), run.wall_s),
            (key(mode, None, Figure::P50S), run.latency.p50_s),
            (key(mode, None, Figure::P90S), run.latency.p90_s),
            (key(mode, None, Figure::P99S), run.latency.p99_s),
            (key(mode, None, Figure::Errors), failed as f64),
            (key(mode, None, Figure::Retries), retries as f64),
        ]);
        for (name, t) in &run.tools {
            out.extend([
                (key(mode, Some(name), Figure::P50S), t.p50_s),
                (key(mode, Some(name), Figure::P90S), t.p90_s),
                (key(mode, Some(name), Figure::P99S), t.p99_s),
                (
                    key(mode, Some(name), Figure::Errors),
                    t.count.saturating_sub(t.ok) as f64,
                ),
                (key(mode, Some(name), Figure::Retries), t.retries as f64),
            ]);
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(mode: RunMode, wall_s: f64) -> RunReport {
        let tool = ToolStats {
            count: 10,
            ok: 7,
            retries: 4,
            p99_s: 0.3,
            ..ToolStats::default()
        };
        RunReport {
            mode,
            max_concurrency: 5,
            batch_size: None,
            wall_s,
            deadline_hit: false,
            interrupted: false,
            success_rate: 0.7,
            latency: Percentiles {
                p50_s: 0.1,
                p90_s: 0.2,
                p99_s: 0.4,
                max_s: 0.5,
            },
            calls: Vec::new(),
            tools: [("b".to_string(), tool.clone()), ("a".to_string(), tool)].into(),
            start_lag: None,
            completion_lag: None,
            histograms: Default::default(),
        }
    }

    #[test]
    fn figures_come_in_key_order_with_counts_summed_over_tools() {
        let runs = [run(RunMode::Parallel, 0.4), run(RunMode::Sequential, 2.0)];
        let figs = figures(&runs, Some(5.0), Some(1.0));
        let labels: Vec<String> = figs.iter().map(|(k, _)| k.label()).collect();
        assert_eq!(
            &labels[..4],
            ["speedup", "efficiency", "sequential wall_s", "sequential p50_s"]
        );
        assert_eq!(labels[8], "sequential a p50_s");
        assert_eq!(figs.len(), 2 + 2 * (6 + 2 * 5));
        let value = |label: &str| figs.iter().find(|(k, _)| k.label() == label).unwrap().1;
        assert_eq!(value("parallel errors"), 6.0);
        assert_eq!(value("parallel retries"), 8.0);
        assert_eq!(value("parallel b p99_s"), 0.3);
        assert_eq!(value("parallel wall_s"), 0.4);
    }

    #[test]
    fn a_hand_edited_count_below_ok_reads_as_no_errors() {
        let mut r = run(RunMode::Parallel, 1.0);
        for t in r.tools.values_mut() {
            t.ok = t.count + 3;
        }
        let figs = figures(&[r], None, None);
        let errors = figs.iter().find(|(k, _)| k.label() == "parallel errors").unwrap().1;
        assert_eq!(errors, 0.0);
    }

    #[test]
    fn only_speedup_and_efficiency_get_better_upwards() {
        assert_eq!(Figure::Speedup.better(), Better::Higher);
        assert_eq!(Figure::Efficiency.better(), Better::Higher);
        for f in [Figure::WallS, Figure::P99S, Figure::Errors, Figure::Retries] {
            assert_eq!(f.better(), Better::Lower);
        }
    }
}
