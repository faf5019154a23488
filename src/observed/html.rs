//! The analysis as a self-contained HTML page, on the shell of the run page
//! (`crate::report::html`): the findings, the what-if curve, and the steps that lost
//! most, each drawn as it happened beside the executor's ideal schedule of the same
//! calls.

use std::io::{self, Write};
use std::num::NonZeroUsize;

use serde::Serialize;

use super::analysis::Analysis;
use super::ideal::{IdealSpec, Replay, runtime};
use super::span::{Role, Spans};
use super::steps::{Step, steps};
use crate::report::html::{page, script_json};

/// The page's script.
const ANALYSIS_JS: &str = include_str!("html/analysis.js");

/// Steps drawn at most: those that lost most against their ideal.
pub const STEPS_DRAWN: usize = 40;
/// Calls drawn at most over every drawn step (each twice: as it happened, and ideal).
pub const BARS_DRAWN: usize = 20_000;

/// What the page draws beyond the analysis: the schedules of the steps shown.
#[derive(Debug, Serialize)]
struct PageData {
    /// Tool names, by the index the bars use.
    tools: Vec<String>,
    /// The steps drawn, in order.
    steps: Vec<StepDrawing>,
    /// Steps in the analysis, drawn or not.
    steps_total: usize,
}

/// One step's calls: `[tool, start_s, end_s]` from the step's start, as they happened
/// and in the ideal schedule.
#[derive(Debug, Serialize)]
struct StepDrawing {
    index: usize,
    observed: Vec<[f64; 3]>,
    ideal: Vec<[f64; 3]>,
}

/// Writes the page of `analysis`, drawing the schedules from `spans`.
///
/// # Errors
///
/// When the replay's runtime cannot start, or writing fails.
pub fn render(analysis: &Analysis, spans: &Spans, out: &mut dyn Write) -> io::Result<()> {
    render_steps(
        "parabench analyze",
        analysis,
        None,
        spans,
        &steps(spans),
        &IdealSpec::default(),
        out,
    )
}

/// Writes the page of `analysis` titled `title`, drawing the schedules of `steps` of
/// `spans`, their ideal as `ideal` says. `served`, when the calls were served to a client
/// (`parabench serve`), is what the page shows of them per tool: the `served-data`
/// block, read by the page's script.
///
/// # Errors
///
/// When the replay's runtime cannot start, or writing fails.
pub fn render_steps(
    title: &str,
    analysis: &Analysis,
    served: Option<&serde_json::Value>,
    spans: &Spans,
    steps: &[Step],
    ideal: &IdealSpec,
    out: &mut dyn Write,
) -> io::Result<()> {
    let all = spans.spans();
    let mut drawn: Vec<usize> = (0..steps.len()).collect();
    drawn.sort_by(|&a, &b| {
        let lost = |k: usize| analysis.steps[k].wall_s - analysis.steps[k].ideal_wall_s;
        lost(b).total_cmp(&lost(a)).then(a.cmp(&b))
    });
    drawn.truncate(STEPS_DRAWN);
    drawn.sort_unstable();
    let mut budget = BARS_DRAWN;
    drawn.retain(|&k| {
        let fits = steps[k].calls.len() <= budget;
        budget = budget.saturating_sub(steps[k].calls.len());
        fits
    });
    let mut drawings = Vec::with_capacity(drawn.len());
    if let Ok(replay) = Replay::new(spans, steps, ideal) {
        let widest = steps.iter().map(|s| s.calls.len()).max().unwrap_or(1);
        let limit = analysis.max_concurrency.unwrap_or(widest).clamp(1, widest.max(1));
        let run = replay.run(&runtime()?, NonZeroUsize::new(limit).unwrap_or(NonZeroUsize::MIN));
        for k in drawn {
            let step = &steps[k];
            let first = step.calls.iter().map(|&i| all[i].start_ns).min().unwrap_or(0);
            let tool = |i: usize| match all[i].role {
                Role::Tool(t) => f64::from(t),
                Role::Model => -1.0,
            };
            let observed = step
                .calls
                .iter()
                .map(|&i| {
                    let at = |ns: u64| (ns - first) as f64 / 1e9;
                    [tool(i), at(all[i].start_ns), at(all[i].end_ns)]
                })
                .collect();
            let origin = replay.step_start(&run, k);
            let ideal = replay
                .members(k)
                .zip(&step.calls)
                .map(|(idx, &i)| {
                    let call = &run.outcome.calls[idx];
                    let start = call.start().unwrap_or(call.end()).saturating_sub(origin).as_secs_f64();
                    [tool(i), start, call.end().saturating_sub(origin).as_secs_f64()]
                })
                .collect();
            drawings.push(StepDrawing {
                index: k,
                observed,
                ideal,
            });
        }
    }
    let data = PageData {
        tools: (0..spans.tool_count())
            .map(|t| spans.tool_name(t as u32).to_string())
            .collect(),
        steps: drawings,
        steps_total: steps.len(),
    };
    let html = page(
        title,
        ANALYSIS_JS,
        &[
            ("analysis-data", script_json(analysis)?),
            ("page-data", script_json(&data)?),
            ("served-data", script_json(&served)?),
        ],
    );
    out.write_all(html.as_bytes())
}
