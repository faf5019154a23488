//! What must hold of `parabench::scenario::parse` on any text whatever, shared by the
//! property tests (tests/scenario_fuzz.rs) and the cargo-fuzz target
//! (fuzz/fuzz_targets/scenario.rs), which include this file by path.
//!
//! `parse` returns either a scenario whose plan is a consistent DAG within the documented
//! limits, or one located error whose line, column and span lie in the text and whose
//! message is short and printable.

use std::path::Path;

use parabench::scenario::{MAX_ATTEMPTS, MAX_CALLS, MAX_DEPENDENCIES, MAX_DURATION, Scenario, ScenarioError, parse};

/// The file name every checked text is parsed under.
pub const PATH: &str = "fuzz.toml";

/// Longest message (bytes) a located error may have: a sentence, not a dump of the input.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// Parses `text` and checks the result; `Ok` carries the scenario when it was valid.
///
/// # Errors
///
/// What does not hold, as a sentence that quotes the text's start.
pub fn check(text: &str) -> Result<Option<Scenario>, String> {
    match parse(text, Path::new(PATH)) {
        Ok(scenario) => scenario_holds(&scenario).map(|()| Some(scenario)),
        Err(error) => error_holds(text, &error).map(|()| None),
    }
    .map_err(|problem| {
        let start: String = text.chars().take(300).collect();
        format!("{problem}\n--- input ({} bytes) starts:\n{start}", text.len())
    })
}

/// Whether `c` is one of the characters the scenario module refuses in ids and escapes
/// in messages (control and bidirectional controls).
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn error_holds(text: &str, error: &ScenarioError) -> Result<(), String> {
    let Some(at) = error.located() else {
        return Err(format!("parse gave an error without a location: {error}"));
    };
    if *at.source != *text {
        return Err("the error's source is not the text parsed".into());
    }
    let Some(before) = text.get(..at.span.start) else {
        return Err(format!("span {:?} does not start on a character of the text", at.span));
    };
    if text.get(at.span.clone()).is_none() {
        return Err(format!(
            "span {:?} is not within the text ({} bytes)",
            at.span,
            text.len()
        ));
    }
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    if (at.line, at.column) != (line, column) {
        return Err(format!(
            "line:column {}:{} where the span starts at {line}:{column}",
            at.line, at.column
        ));
    }
    let display = error.to_string();
    if !display.starts_with(&format!("{PATH}:{line}:{column}: ")) {
        return Err(format!("display {display:?} does not start with the location"));
    }
    if at.message.trim().is_empty() || at.label.trim().is_empty() {
        return Err(format!("empty message or label: {display:?}"));
    }
    if at.message.len() > MAX_MESSAGE_BYTES || at.label.len() > MAX_MESSAGE_BYTES {
        return Err(format!("a message of {} bytes: {:.300}", at.message.len(), at.message));
    }
    if let Some(c) = at.message.chars().chain(at.label.chars()).find(|&c| hidden(c)) {
        return Err(format!("U+{:04X} unescaped in {display:?}", u32::from(c)));
    }
    Ok(())
}

fn scenario_holds(s: &Scenario) -> Result<(), String> {
    let calls = s.plan.calls();
    if s.name.trim().is_empty() || s.name.chars().any(hidden) {
        return Err(format!("accepted the name {:?}", s.name));
    }
    if s.description
        .chars()
        .any(|c| hidden(c) && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(format!("accepted the description {:?}", s.description));
    }
    if calls.is_empty() || calls.len() > MAX_CALLS {
        return Err(format!("a plan of {} calls", calls.len()));
    }
    if s.models.len() != s.plan.tools().len() {
        return Err(format!("{} models for {} tools", s.models.len(), s.plan.tools().len()));
    }
    let mut ids = std::collections::HashSet::with_capacity(calls.len());
    let mut edges = 0usize;
    let idxs: Vec<_> = s.plan.indices().collect();
    let arrives = |i: usize| s.plan.arrival(idxs[i]).is_some();
    for (i, call) in calls.iter().enumerate() {
        if call.id.trim().is_empty() || call.id.chars().any(hidden) || !ids.insert(call.id.as_str()) {
            return Err(format!("accepted the call id {:?} (call {i})", call.id));
        }
        if call.tool.index() >= s.plan.tools().len() {
            return Err(format!("call {:?} has no tool", call.id));
        }
        let mut deps: Vec<usize> = s.plan.deps(idxs[i]).iter().map(|d| d.index()).collect();
        if deps.iter().any(|&d| d >= calls.len() || d == i) {
            return Err(format!(
                "call {:?} depends on {deps:?} of {} calls",
                call.id,
                calls.len()
            ));
        }
        deps.sort_unstable();
        if deps.windows(2).any(|w| w[0] == w[1]) {
            return Err(format!("call {:?} repeats a dependency: {deps:?}", call.id));
        }
        if arrives(i) && !deps.is_empty() {
            return Err(format!("arriving call {:?} has dependencies", call.id));
        }
        if deps.iter().any(|&d| arrives(d)) {
            return Err(format!("call {:?} depends on an arriving call", call.id));
        }
        edges += deps.len();
    }
    if edges > MAX_DEPENDENCIES {
        return Err(format!("{edges} dependencies"));
    }
    let order = s.plan.topological_order();
    let mut position = vec![usize::MAX; calls.len()];
    for (at, idx) in order.iter().enumerate() {
        position[idx.index()] = at;
    }
    if order.len() != calls.len() || position.contains(&usize::MAX) {
        return Err("the topological order is not a permutation of the calls".into());
    }
    for (i, call) in calls.iter().enumerate() {
        if let Some(d) = s.plan.deps(idxs[i]).iter().find(|d| position[d.index()] > position[i]) {
            return Err(format!(
                "{:?} comes before its dependency {:?}",
                call.id,
                calls[d.index()].id
            ));
        }
    }
    let e = &s.executor;
    if e.retry.max_attempts() == 0 || e.retry.max_attempts() > MAX_ATTEMPTS {
        return Err(format!("{} attempts", e.retry.max_attempts()));
    }
    if [e.attempt_timeout, e.deadline]
        .into_iter()
        .flatten()
        .any(|d| d.is_zero() || d > MAX_DURATION)
    {
        return Err(format!("timeout {:?}, deadline {:?}", e.attempt_timeout, e.deadline));
    }
    if s.plan
        .tools()
        .iter()
        .any(|t| t.name.trim().is_empty() || t.name.chars().any(hidden))
    {
        return Err("accepted a blank or unprintable tool name".into());
    }
    let x = &s.expect;
    let finite = [x.min_speedup, x.min_efficiency, x.min_success_rate]
        .into_iter()
        .flatten();
    if finite.into_iter().any(|v| !v.is_finite() || v < 0.0) {
        return Err(format!("accepted expectations {x:?}"));
    }
    Ok(())
}
