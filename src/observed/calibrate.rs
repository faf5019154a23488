//! A scenario calibrated from observed calls (`analyze --scenario`): a tool per observed
//! tool with its empirical latency and error rate, the model calls as a tool of their
//! own, and the steps in order, each after the one before, so `run` and `tune` can
//! explore what the agent did.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use super::span::{Role, Spans};
use super::steps::Step;
use crate::stats::LatencyHistogram;

/// The scenario's name.
pub const NAME: &str = "observed";

/// The TOML of the calibrated scenario.
///
/// Each step is preceded by a call of the model tool (the response that issued it; a
/// zero-latency `step` tool where the traces had no model calls), which waits for every
/// call of the step before, so the steps run in order and the edges stay linear in the
/// calls. `max_concurrency` is the most calls any step had in flight, as the agent ran
/// them; `[sweep]` tries the `levels` and that.
pub fn scenario(spans: &Spans, steps: &[Step], levels: &[usize], sources: &[String]) -> String {
    let all = spans.spans();
    let mut tools: Vec<(LatencyHistogram, usize)> =
        (0..spans.tool_count()).map(|_| (LatencyHistogram::new(), 0)).collect();
    let mut model = LatencyHistogram::new();
    for span in all.iter().filter(|s| s.role == Role::Model) {
        model.record(Duration::from_nanos(span.duration_ns()));
    }
    // The calls only: a summary set aside, or a server's span inside its client's, is not
    // one more call of its tool.
    for &i in steps.iter().flat_map(|s| &s.calls) {
        if let Role::Tool(t) = all[i].role {
            tools[t as usize].0.record(Duration::from_nanos(all[i].duration_ns()));
            tools[t as usize].1 += usize::from(all[i].error);
        }
    }
    // Keys of their own, even for names that clean up alike (`a.b` and `a_b`).
    let mut names: Vec<String> = Vec::with_capacity(spans.tool_count());
    for t in 0..spans.tool_count() {
        let key = toml_key(spans.tool_name(t as u32));
        let mut unique = key.clone();
        let mut n = 2;
        while names.contains(&unique) {
            unique = format!("{key}_{n}");
            n += 1;
        }
        names.push(unique);
    }
    let taken = |n: &str| names.iter().any(|t| t == n);
    let boundary = ["model", "model_call", "llm_call"]
        .into_iter()
        .find(|n| !taken(n))
        .unwrap_or("parabench_model")
        .to_string();
    let widest = steps.iter().map(|s| s.max_in_flight(all)).max().unwrap_or(1).max(1);

    let mut out = String::new();
    let calls: usize = steps.iter().map(|s| s.calls.len()).sum();
    let _ = writeln!(
        out,
        "# Calibrated by `parabench analyze --scenario` from {}.",
        sources.join(", ")
    );
    let _ = writeln!(
        out,
        "# {calls} tool calls in {} steps; each step after the one before, as observed.",
        steps.len()
    );
    let _ = writeln!(out, "name = \"{NAME}\"");
    let _ = writeln!(
        out,
        "description = \"calibrated from {calls} observed tool calls in {} steps\"",
        steps.len()
    );
    let _ = writeln!(
        out,
        "seed = 1\n\n[executor]\n# The most calls the agent had in flight in a step."
    );
    let _ = writeln!(out, "max_concurrency = {widest}\n");
    for (t, (h, errors)) in tools.iter().enumerate().filter(|(_, (h, _))| !h.is_empty()) {
        let _ = writeln!(out, "[tools.{}]", names[t]);
        let _ = writeln!(out, "latency = {}", empirical(h));
        if *errors > 0 {
            let _ = writeln!(out, "failure_rate = {}", *errors as f64 / h.len().max(1) as f64);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "[tools.{boundary}]");
    if model.is_empty() {
        let _ = writeln!(out, "# The traces had no model calls: a step boundary of no length.");
        let _ = writeln!(out, "latency = {{ dist = \"constant\", value = \"0s\" }}\n");
    } else {
        let _ = writeln!(out, "# The model calls between the steps.");
        let _ = writeln!(out, "latency = {}\n", empirical(&model));
    }
    let mut previous: Vec<String> = Vec::new();
    for (k, step) in steps.iter().enumerate() {
        let boundary_id = format!("m{}", k + 1);
        let _ = writeln!(out, "[[calls]]\nid = \"{boundary_id}\"\ntool = \"{boundary}\"");
        if !previous.is_empty() {
            let _ = writeln!(out, "depends_on = [{}]", quoted_list(&previous));
        }
        out.push('\n');
        let mut per_tool: BTreeMap<usize, usize> = BTreeMap::new();
        for &i in &step.calls {
            if let Role::Tool(t) = all[i].role {
                *per_tool.entry(t as usize).or_default() += 1;
            }
        }
        previous.clear();
        for (t, count) in per_tool {
            let prefix = format!("s{}_{}_", k + 1, names[t]);
            let _ = writeln!(
                out,
                "[[generate]]\ntool = \"{}\"\ncount = {count}\nid_prefix = \"{prefix}\"\ndepends_on = [\"{boundary_id}\"]\n",
                names[t]
            );
            previous.extend((1..=count).map(|i| format!("{prefix}{i}")));
        }
    }
    let mut sweep: Vec<usize> = levels.iter().copied().chain([widest]).collect();
    sweep.sort_unstable();
    sweep.dedup();
    let list: Vec<String> = sweep.iter().map(ToString::to_string).collect();
    let _ = writeln!(out, "[sweep]\nmax_concurrency = [{}]", list.join(", "));
    out
}

/// `{ dist = "empirical", min, p50, p90, p99, max }` of a histogram, to the nanosecond.
fn empirical(h: &LatencyHistogram) -> String {
    let ns = |d: Duration| format!("\"{}ns\"", d.as_nanos());
    format!(
        "{{ dist = \"empirical\", min = {}, p50 = {}, p90 = {}, p99 = {}, max = {} }}",
        ns(h.quantile(0.0)),
        ns(h.quantile(0.5)),
        ns(h.quantile(0.9)),
        ns(h.quantile(0.99)),
        ns(h.max())
    )
}

/// A tool name as a TOML key and an id part: letters, digits, `_` and `-` kept, anything
/// else `_`.
fn toml_key(name: &str) -> String {
    let key: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if key.is_empty() { "tool".into() } else { key }
}

fn quoted_list(ids: &[String]) -> String {
    ids.iter().map(|id| format!("\"{id}\"")).collect::<Vec<_>>().join(", ")
}
