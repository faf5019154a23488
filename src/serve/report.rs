//! The report of a served session (docs/serve.md, "What it reports"): the calls grouped
//! into steps and analysed as `analyze` analyses a trace, beside the ideal at the
//! scenario's limits, plus every call and, per tool, what the client did with it.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::log::{CallRecord, ServedStatus, Snapshot};
use super::service::ServedTool;
use crate::observed::analysis::{Analysis, AnalysisError, AnalysisRequest, RecommendUpTo, analyse_steps};
use crate::observed::ideal::{IdealSpec, ToolLimits};
use crate::observed::span::{Kind, ObservedSpan, Role, Spans};
use crate::observed::steps::Step;
use crate::sim::LimitPolicy;
use crate::stats::LatencyHistogram;
use crate::tune::Levels;
use crate::units::count;

/// The version of the served report this build writes.
pub const SERVED_SCHEMA_VERSION: u32 = 1;

/// The default step gap (`serve --step-gap`): a call arriving within this long of the end
/// of the step's calls so far (or while one of them is in flight) belongs to that step.
pub const STEP_GAP: Duration = Duration::from_millis(10);

/// The whole report: `analyze`'s fields (with `kind` = `served`), then the served ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServedReport {
    /// Steps, total, what-if and the recommendation, as `analyze` writes them.
    #[serde(flatten)]
    pub analysis: Analysis,
    /// The scenario served.
    pub scenario: String,
    /// The seed of its draws.
    pub seed: u64,
    /// A call arriving within this long of its step's last answer joined that step, in
    /// seconds (`--step-gap`).
    pub step_gap_s: f64,
    /// How long the server ran, in seconds.
    pub served_s: f64,
    /// The client sessions, by the index the calls use.
    pub sessions: Vec<String>,
    /// Over every call.
    pub served: ServedTotals,
    /// Per tool of the scenario, called or not.
    pub served_tools: BTreeMap<String, ServedToolFigures>,
    /// Every call, in arrival order.
    pub calls: Vec<ServedCall>,
    /// What stands out about the client, in words.
    pub notes: Vec<String>,
}

/// Over every call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServedTotals {
    /// Calls of the scenario's tools.
    pub calls: usize,
    /// Per status (`ok`, `error`, `timeout`, `cancelled`, `rejected`, `unfinished`).
    pub statuses: BTreeMap<String, usize>,
    /// Calls repeating a failed call's tool and arguments.
    pub retries: usize,
    /// Calls that arrived while their tool had its limit's worth in flight.
    pub beyond_limit: usize,
    /// Calls of tools the scenario does not have (answered with a protocol error).
    pub unknown_tool: usize,
    /// The most calls in flight at once, from arrival to answer.
    pub max_in_flight: usize,
}

/// One tool's calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServedToolFigures {
    /// Its limit on calls in flight; null: none.
    pub max_concurrency: Option<usize>,
    /// Its rate limit, calls per second; null: none.
    pub rate_limit: Option<f64>,
    /// `wait` or `reject`.
    pub limit_policy: String,
    /// Calls.
    pub calls: usize,
    /// Per status.
    pub statuses: BTreeMap<String, usize>,
    /// Retries of failed calls.
    pub retries: usize,
    /// Calls beyond its limit.
    pub beyond_limit: usize,
    /// The most of its calls in flight at once, as the client sent them.
    pub max_in_flight: usize,
    /// Median service time (from its start, after any wait for a slot or the rate).
    pub service_p50_s: f64,
    /// 99th percentile service time.
    pub service_p99_s: f64,
}

/// One call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServedCall {
    /// Its session, by index into `sessions`.
    pub session: usize,
    /// Its tool.
    pub tool: String,
    /// When it arrived, seconds since the server started.
    pub arrive_s: f64,
    /// When its service began; null: never (rejected, or cancelled while waiting).
    pub start_s: Option<f64>,
    /// When it was answered.
    pub end_s: f64,
    /// How it ended.
    pub status: ServedStatus,
    /// It repeated a failed call.
    pub retry: bool,
    /// It arrived beyond its tool's limit.
    pub beyond_limit: bool,
}

/// How to analyse.
#[derive(Clone, Debug)]
pub struct ServedRequest {
    /// The client's own limit, for the ideal; `None`: unlimited.
    pub max_concurrency: Option<NonZeroUsize>,
    /// The what-if levels.
    pub levels: Levels,
    /// Where it was served, for the report.
    pub endpoint: String,
    /// The scenario's name.
    pub scenario: String,
    /// Its seed.
    pub seed: u64,
    /// How long after a step's last answer a call may arrive and still join it.
    pub step_gap: Duration,
}

/// The served calls as spans (one trace per session, arrival to answer), with the
/// service time of each for the ideal.
pub fn spans(snapshot: &Snapshot, tools: &[ServedTool]) -> (Spans, IdealSpec) {
    let mut spans = Spans::default();
    let mut service_ns = Vec::with_capacity(snapshot.calls.len());
    for (i, call) in snapshot.calls.iter().enumerate() {
        let end = call.end.unwrap_or(snapshot.at);
        let mut trace_id = [0; 16];
        trace_id[8..].copy_from_slice(&(call.session as u64 + 1).to_be_bytes());
        spans.push(
            ObservedSpan {
                trace_id,
                span_id: (i as u64 + 1).to_be_bytes(),
                parent_span_id: [0; 8],
                start_ns: ns(call.arrive),
                end_ns: ns(end.max(call.arrive)),
                role: Role::Model,
                error: call.status != Some(ServedStatus::Ok),
            },
            Kind::Tool(&tools[call.tool].spec.name),
        );
        service_ns.push(call.start.map_or(0, |s| ns(end.saturating_sub(s))));
    }
    spans.seen = snapshot.calls.len() as u64;
    let tools = tools
        .iter()
        .map(|t| {
            let limits = ToolLimits {
                max_concurrency: t.spec.max_concurrency,
                rate_limit_per_s: t.spec.rate_limit_per_s,
            };
            (t.spec.name.clone(), limits)
        })
        .collect();
    (spans, IdealSpec { tools, service_ns })
}

/// The steps of served calls, across every session: in arrival order, a call joins the
/// step before it when it arrives while one of the step's calls is in flight or within
/// `gap` of its last answer. Clients that open a session per call are common, so a
/// session says nothing of which response a call answers; time does. A step takes the
/// trace (the session) of its first call.
pub fn steps(spans: &Spans, gap: Duration) -> Vec<Step> {
    let all = spans.spans();
    let mut calls: Vec<usize> = (0..all.len()).collect();
    calls.sort_by_key(|&i| (all[i].start_ns, i));
    let gap = u64::try_from(gap.as_nanos()).unwrap_or(u64::MAX);
    let mut out = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut until: u64 = 0;
    let close = |current: &mut Vec<usize>, out: &mut Vec<Step>| {
        if let Some(&first) = current.first() {
            out.push(Step {
                trace_id: all[first].trace_id,
                parent_span_id: [0; 8],
                calls: std::mem::take(current),
            });
        }
    };
    for i in calls {
        if !current.is_empty() && all[i].start_ns > until.saturating_add(gap) {
            close(&mut current, &mut out);
        }
        until = if current.is_empty() {
            all[i].end_ns
        } else {
            until.max(all[i].end_ns)
        };
        current.push(i);
    }
    close(&mut current, &mut out);
    out
}

/// The report of `snapshot` of calls of `tools`.
///
/// # Errors
///
/// [`AnalysisError`] when the ideal's replay cannot start its runtime.
pub fn report(
    snapshot: &Snapshot,
    tools: &[ServedTool],
    request: &ServedRequest,
) -> Result<ServedReport, AnalysisError> {
    let (spans, ideal) = spans(snapshot, tools);
    let steps = steps(&spans, request.step_gap);
    let analysis_request = AnalysisRequest {
        max_concurrency: request.max_concurrency,
        levels: request.levels.clone(),
        sources: vec![request.endpoint.clone()],
        ideal,
        // The served tools' times are drawn, not observed: known at any concurrency.
        recommend_up_to: RecommendUpTo::Widest,
    };
    let mut analysis = analyse_steps(&spans, &steps, &analysis_request)?;
    analysis.kind = "served".into();
    let secs = |d: Duration| d.as_secs_f64();
    let calls: Vec<ServedCall> = snapshot
        .calls
        .iter()
        .map(|c| ServedCall {
            session: c.session,
            tool: tools[c.tool].spec.name.clone(),
            arrive_s: secs(c.arrive),
            start_s: c.start.map(secs),
            end_s: secs(c.end.unwrap_or(snapshot.at)),
            status: c.status.unwrap_or(ServedStatus::Unfinished),
            retry: c.retry,
            beyond_limit: c.beyond_limit,
        })
        .collect();
    let served_tools = tool_figures(snapshot, tools);
    let mut served = ServedTotals {
        calls: calls.len(),
        unknown_tool: snapshot.unknown_tool,
        max_in_flight: in_flight(snapshot.calls.iter()),
        ..ServedTotals::default()
    };
    for call in &calls {
        *served.statuses.entry(call.status.as_str().into()).or_default() += 1;
        served.retries += usize::from(call.retry);
        served.beyond_limit += usize::from(call.beyond_limit);
    }
    let mut per_session = vec![0; snapshot.sessions.len()];
    for call in &snapshot.calls {
        per_session[call.session] += 1;
    }
    let notes = notes(&served, &served_tools, &per_session);
    Ok(ServedReport {
        analysis,
        scenario: request.scenario.clone(),
        seed: request.seed,
        step_gap_s: secs(request.step_gap),
        served_s: secs(snapshot.at),
        sessions: snapshot.sessions.clone(),
        served,
        served_tools,
        calls,
        notes,
    })
}

/// Writes the page of `report` (`analyze`'s page): its steps as the client made them
/// (grouped as `request` says) beside the ideal, drawn from `snapshot`.
///
/// # Errors
///
/// When the replay's runtime cannot start, or writing fails.
pub fn html(
    report: &ServedReport,
    snapshot: &Snapshot,
    tools: &[ServedTool],
    request: &ServedRequest,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let (spans, ideal) = spans(snapshot, tools);
    let steps = steps(&spans, request.step_gap);
    // What the page shows per tool: the report without its per-call records.
    let served = serde_json::json!({
        "scenario": report.scenario,
        "seed": report.seed,
        "step_gap_s": report.step_gap_s,
        "served_s": report.served_s,
        "sessions": report.sessions.len(),
        "served": report.served,
        "served_tools": report.served_tools,
        "notes": report.notes,
    });
    crate::observed::html::render_steps(
        "parabench serve",
        &report.analysis,
        Some(&served),
        &spans,
        &steps,
        &ideal,
        out,
    )
}

/// `d` in nanoseconds, saturating.
fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The most of `calls` in flight at once, arrival to answer.
fn in_flight<'a>(calls: impl Iterator<Item = &'a CallRecord>) -> usize {
    crate::stats::max_overlap(calls.map(|c| (ns(c.arrive), ns(c.end.unwrap_or(c.arrive)))))
}

fn tool_figures(snapshot: &Snapshot, tools: &[ServedTool]) -> BTreeMap<String, ServedToolFigures> {
    tools
        .iter()
        .enumerate()
        .map(|(t, tool)| {
            let mine: Vec<&CallRecord> = snapshot.calls.iter().filter(|c| c.tool == t).collect();
            let mut service = LatencyHistogram::new();
            let mut statuses = BTreeMap::new();
            for c in &mine {
                if let (Some(start), Some(end)) = (c.start, c.end) {
                    service.record(end.saturating_sub(start));
                }
                let status = c.status.unwrap_or(ServedStatus::Unfinished);
                *statuses.entry(status.as_str().to_string()).or_default() += 1;
            }
            let figures = ServedToolFigures {
                max_concurrency: tool.spec.max_concurrency.map(NonZeroUsize::get),
                rate_limit: tool.spec.rate_limit_per_s,
                limit_policy: match tool.model.limit_policy {
                    LimitPolicy::Wait => "wait".into(),
                    LimitPolicy::Reject => "reject".into(),
                },
                calls: mine.len(),
                statuses,
                retries: mine.iter().filter(|c| c.retry).count(),
                beyond_limit: mine.iter().filter(|c| c.beyond_limit).count(),
                max_in_flight: in_flight(mine.iter().copied()),
                service_p50_s: service.quantile(0.5).as_secs_f64(),
                service_p99_s: service.quantile(0.99).as_secs_f64(),
            };
            (tool.spec.name.clone(), figures)
        })
        .collect()
}

/// What stands out: calls beyond a tool's limit, failures never retried, cancellations.
fn notes(served: &ServedTotals, tools: &BTreeMap<String, ServedToolFigures>, per_session: &[usize]) -> Vec<String> {
    let mut notes = Vec::new();
    if per_session.len() > 1 && per_session.iter().all(|&n| n <= 1) {
        notes.push(format!(
            "it opened a session per call ({} sessions): steps are grouped by time across sessions",
            per_session.len()
        ));
    }
    for (name, t) in tools {
        if let (true, Some(limit)) = (t.beyond_limit > 0, t.max_concurrency) {
            notes.push(format!(
                "it sent {} to `{name}` beyond its limit of {limit} (at most {} in flight; {} {})",
                count(t.beyond_limit as u64, "call"),
                t.max_in_flight,
                match t.limit_policy.as_str() {
                    "reject" => "rejected",
                    _ => "waited",
                },
                match t.limit_policy.as_str() {
                    "reject" => t.statuses.get("rejected").copied().unwrap_or(0).to_string(),
                    _ => "for a slot".into(),
                }
            ));
        }
    }
    let status = |s: &str| served.statuses.get(s).copied().unwrap_or(0) as u64;
    let failed = status("error") + status("timeout") + status("rejected");
    match (failed, served.retries) {
        (0, _) => {}
        (f, 0) => notes.push(format!("{} failed and it never retried one", count(f, "call"))),
        (f, r) => notes.push(format!(
            "{} failed; {} retried a failed one",
            count(f, "call"),
            count(r as u64, "call")
        )),
    }
    if status("cancelled") > 0 {
        notes.push(format!("it cancelled {}", count(status("cancelled"), "call")));
    }
    match status("unfinished") {
        0 => {}
        1 => notes.push("1 call was still in flight when the server stopped".into()),
        n => notes.push(format!("{n} calls were still in flight when the server stopped")),
    }
    if served.unknown_tool > 0 {
        notes.push(format!(
            "{} named a tool the scenario does not have",
            count(served.unknown_tool as u64, "call")
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(session: usize, arrive_ms: u64, end_ms: u64) -> CallRecord {
        let ms = Duration::from_millis;
        CallRecord {
            session,
            tool: 0,
            nth: 0,
            arrive: ms(arrive_ms),
            start: Some(ms(arrive_ms)),
            end: Some(ms(end_ms)),
            status: Some(ServedStatus::Ok),
            retry: false,
            beyond_limit: false,
        }
    }

    #[test]
    fn calls_overlapping_or_within_the_gap_form_a_step_across_sessions() {
        let scenario = crate::scenario::parse(
            "name = \"s\"\n[tools.t]\nlatency = { dist = \"constant\", value = \"1ms\" }\n[[calls]]\nid = \"a\"\ntool = \"t\"\n",
            std::path::Path::new("s.toml"),
        )
        .unwrap();
        let service = super::super::service::Service::new(&scenario, NonZeroUsize::MIN).unwrap();
        let snapshot = Snapshot {
            calls: vec![
                // Two at once, one 5 ms after they end (same step), then one 50 ms later
                // (a new step)...
                call(0, 0, 100),
                call(0, 1, 120),
                call(0, 125, 200),
                call(0, 250, 300),
                // ...and, at the same time as the first, one in a session of its own: a
                // client that opens a session per call.
                call(1, 0, 100),
                call(2, 260, 270),
            ],
            sessions: vec!["a".into(), "b".into(), "c".into()],
            unknown_tool: 0,
            at: Duration::from_millis(400),
        };
        let (spans, _) = spans(&snapshot, service.tools());
        let shape = |gap| -> Vec<Vec<usize>> { steps(&spans, gap).into_iter().map(|s| s.calls).collect() };
        assert_eq!(shape(STEP_GAP), [vec![0, 4, 1, 2], vec![3, 5]]);
        // A wider gap takes the late calls in; none takes in only the overlapping ones.
        assert_eq!(shape(Duration::from_millis(50)), [vec![0, 4, 1, 2, 3, 5]]);
        assert_eq!(shape(Duration::ZERO), [vec![0, 4, 1], vec![2], vec![3, 5]]);
    }
}
