//! Steps: the tool calls one model response issued.
//!
//! Frameworks nest their spans in three shapes (docs/observed.md draws them):
//!
//! 1. the tool spans and the model spans are siblings under the agent's span (most);
//! 2. each tool span sits alone in a wrapper of its own (LlamaIndex's `call_tool`);
//! 3. the model span sits in a wrapper of its own (ADK's `call_llm`).
//!
//! So a call's step is not found from its immediate parent but from the model calls of
//! its agent: the call's *holder* is its nearest ancestor that holds a model call (not
//! through another tool call: a tool that runs an agent of its own holds that agent's
//! model calls). The calls of one holder, in start order, form a step until a model call
//! of that holder starts between two of them (after the first started, by the time the
//! second started): the calls after it answer a later response. A call with no such
//! ancestor (a trace without model calls, such as parabench's own) is grouped with its
//! siblings, as its parent is the only holder there is.

use std::collections::HashMap;

use super::calls::Calls;
use super::span::{ObservedSpan, Role, Spans};
use super::tree::{Node, SpanTree};

/// One step: indices of its tool calls into [`Spans::spans`], by start time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The trace it belongs to.
    pub trace_id: [u8; 16],
    /// The span that holds its calls and its agent's model calls (the calls' parent when
    /// the trace has no model call above them).
    pub parent_span_id: [u8; 8],
    /// Its tool calls, earliest start first.
    pub calls: Vec<usize>,
}

impl Step {
    /// The sum of its calls' durations, in nanoseconds.
    pub fn work_ns(&self, spans: &[ObservedSpan]) -> u64 {
        self.calls.iter().map(|&i| spans[i].duration_ns()).sum()
    }

    /// From its first start to its last end, in nanoseconds.
    pub fn wall_ns(&self, spans: &[ObservedSpan]) -> u64 {
        let start = self.calls.iter().map(|&i| spans[i].start_ns).min().unwrap_or(0);
        let end = self.calls.iter().map(|&i| spans[i].end_ns).max().unwrap_or(0);
        end - start
    }

    /// The most of its calls running at one instant (a call ending at an instant has
    /// made room for one starting then).
    pub fn max_in_flight(&self, spans: &[ObservedSpan]) -> usize {
        let overlap = crate::stats::max_overlap(self.calls.iter().map(|&i| (spans[i].start_ns, spans[i].end_ns)));
        // Calls of no length overlap nothing, but one of them still ran.
        overlap.max(usize::from(!self.calls.is_empty()))
    }
}

/// The steps of every trace in `spans`, earliest first.
pub fn steps(spans: &Spans) -> Vec<Step> {
    let tree = SpanTree::new(spans);
    let calls = Calls::new(spans, &tree);
    steps_of(spans, &tree, &calls)
}

/// The steps of `calls` (see [`Calls`]) of `spans`, earliest first.
pub fn steps_of(spans: &Spans, tree: &SpanTree, calls: &Calls) -> Vec<Step> {
    let all = spans.spans();
    let is_tool = |node: Node| {
        tree.recognised(node)
            .is_some_and(|a| matches!(all[a].role, Role::Tool(_)))
    };
    // Per span holding model calls (not through a tool call), their start times.
    let mut models: HashMap<Node, Vec<u64>> = HashMap::new();
    for (i, span) in all.iter().enumerate() {
        if span.role != Role::Model {
            continue;
        }
        for node in tree.ancestors(i) {
            if is_tool(node) {
                break;
            }
            models.entry(node).or_default().push(span.start_ns);
        }
    }
    // Per holder, its calls.
    let mut groups: HashMap<Node, Vec<usize>> = HashMap::new();
    for i in calls.calls() {
        let (trace, _) = tree.node(i);
        let parent = (trace, all[i].parent_span_id);
        let holder = tree
            .ancestors(i)
            .take_while(|&node| !is_tool(node))
            .find(|node| models.contains_key(node))
            .unwrap_or(parent);
        groups.entry(holder).or_default().push(i);
    }
    let mut out = Vec::new();
    for (holder, mut members) in groups {
        let trace_id = all[members[0]].trace_id;
        let parent_span_id = holder.1;
        members.sort_by_key(|&i| (all[i].start_ns, all[i].end_ns, all[i].span_id));
        let mut starts = models.remove(&holder).unwrap_or_default();
        starts.sort_unstable();
        let mut next_model = 0;
        let mut current: Vec<usize> = Vec::new();
        for i in members {
            let start = all[i].start_ns;
            if let Some(&last) = current.last() {
                // A model call started after the previous call did and by the time this
                // one starts: this call answers a later response.
                while next_model < starts.len() && starts[next_model] <= all[last].start_ns {
                    next_model += 1;
                }
                if next_model < starts.len() && starts[next_model] <= start {
                    out.push(Step {
                        trace_id,
                        parent_span_id,
                        calls: std::mem::take(&mut current),
                    });
                }
            }
            current.push(i);
        }
        out.push(Step {
            trace_id,
            parent_span_id,
            calls: current,
        });
    }
    out.sort_by_key(|s| (all[s.calls[0]].start_ns, s.trace_id, s.parent_span_id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::span::{Kind, link, span, test_span};

    #[test]
    fn model_calls_split_the_tool_calls_of_one_parent_into_steps() {
        let mut spans = Spans::default();
        // Model call, three tools at once, model call, two tools one after the other.
        spans.push(test_span(7, 0, 10), Kind::Model);
        for (s, e) in [(10, 30), (10, 50), (11, 20)] {
            spans.push(test_span(7, s, e), Kind::Tool("search"));
        }
        spans.push(test_span(7, 50, 60), Kind::Model);
        spans.push(test_span(7, 60, 70), Kind::Tool("db"));
        spans.push(test_span(7, 70, 90), Kind::Tool("db"));
        // Another parent: its own step, even at the same time.
        spans.push(test_span(8, 12, 14), Kind::Tool("db"));
        let steps = steps(&spans);
        let all = spans.spans();
        let shape: Vec<(u8, usize, usize)> = steps
            .iter()
            .map(|s| (s.parent_span_id[0], s.calls.len(), s.max_in_flight(all)))
            .collect();
        assert_eq!(shape, [(7, 3, 3), (8, 1, 1), (7, 2, 1)]);
        assert_eq!(steps[0].wall_ns(all), 40_000_000);
        assert_eq!(steps[0].work_ns(all), (20 + 40 + 9) * 1_000_000);
        assert_eq!(steps[2].wall_ns(all), 30_000_000);
    }

    /// (holder, calls) of each step.
    fn shape(spans: &Spans) -> Vec<(u8, Vec<u8>)> {
        let all = spans.spans();
        steps(spans)
            .iter()
            .map(|s| {
                (
                    s.parent_span_id[0],
                    s.calls.iter().map(|&i| all[i].span_id[0]).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_call_in_a_wrapper_of_its_own_belongs_to_its_agents_step() {
        // LlamaIndex: agent 1; model call 2, then each tool span (20..) alone in its own
        // call_tool wrapper (10..); model call 3, two more; model call 4.
        let mut spans = Spans::default();
        spans.push(span(2, 1, 0, 10), Kind::Model);
        for (k, (s, e)) in [(10, 110), (11, 111), (12, 60)].into_iter().enumerate() {
            let k = k as u8;
            spans.push_link(link(10 + k, 1));
            spans.push(span(20 + k, 10 + k, s, e), Kind::Tool("search"));
        }
        spans.push(span(3, 1, 115, 125), Kind::Model);
        for (k, (s, e)) in [(130, 210), (131, 211)].into_iter().enumerate() {
            let k = k as u8 + 3;
            spans.push_link(link(10 + k, 1));
            spans.push(span(20 + k, 10 + k, s, e), Kind::Tool("fetch"));
        }
        spans.push(span(4, 1, 215, 220), Kind::Model);
        assert_eq!(shape(&spans), [(1, vec![20, 21, 22]), (1, vec![23, 24])]);
    }

    #[test]
    fn a_model_call_in_a_wrapper_of_its_own_still_splits_its_agents_steps() {
        // ADK's older spans: agent 1 holds call_llm wrappers (5, 6) with the model calls
        // (2, 3) in them, and the tool calls beside the wrappers.
        let mut spans = Spans::default();
        spans.push_link(link(5, 1));
        spans.push(span(2, 5, 0, 10), Kind::Model);
        spans.push(span(20, 1, 12, 112), Kind::Tool("search"));
        spans.push(span(21, 1, 12, 62), Kind::Tool("db"));
        spans.push_link(link(6, 1));
        spans.push(span(3, 6, 115, 125), Kind::Model);
        spans.push(span(22, 1, 126, 206), Kind::Tool("fetch"));
        // Earliest start first, then earliest end: db (21) before search (20).
        assert_eq!(shape(&spans), [(1, vec![21, 20]), (1, vec![22])]);
    }

    #[test]
    fn a_tool_that_runs_an_agent_keeps_that_agents_steps_apart() {
        // Agent 1: model 2, then the tool `research` (30), inside which agent 31 runs
        // model 32 and two searches; model 3 of agent 1 after it, then a db call.
        let mut spans = Spans::default();
        spans.push(span(2, 1, 0, 10), Kind::Model);
        spans.push(span(30, 1, 10, 200), Kind::Tool("research"));
        spans.push_link(link(31, 30));
        spans.push(span(32, 31, 11, 20), Kind::Model);
        spans.push(span(33, 31, 21, 120), Kind::Tool("search"));
        spans.push(span(34, 31, 21, 150), Kind::Tool("search"));
        spans.push(span(3, 1, 201, 210), Kind::Model);
        spans.push(span(40, 1, 211, 220), Kind::Tool("db"));
        assert_eq!(shape(&spans), [(1, vec![30]), (31, vec![33, 34]), (1, vec![40])]);
    }
}
