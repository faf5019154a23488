//! Steps: the tool calls one model response issued.
//!
//! Tool spans of one trace with the same parent span form a group; a model-call span with
//! that parent which starts between two of them (after the first started, by the time the
//! second started) splits the group there: the calls after it answer a later response.

use std::collections::HashMap;

use super::span::{ObservedSpan, Role, Spans};

/// One step: indices of its tool calls into [`Spans::spans`], by start time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The trace it belongs to.
    pub trace_id: [u8; 16],
    /// The span its calls share as parent.
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
    let all = spans.spans();
    // Per (trace, parent): its tool calls, and the start times of its model calls.
    type Group = (Vec<usize>, Vec<u64>);
    let mut groups: HashMap<([u8; 16], [u8; 8]), Group> = HashMap::new();
    for (i, span) in all.iter().enumerate() {
        let group = groups.entry((span.trace_id, span.parent_span_id)).or_default();
        match span.role {
            Role::Tool(_) => group.0.push(i),
            Role::Model => group.1.push(span.start_ns),
        }
    }
    let mut out = Vec::new();
    for ((trace_id, parent_span_id), (mut calls, mut models)) in groups {
        if calls.is_empty() {
            continue;
        }
        calls.sort_by_key(|&i| (all[i].start_ns, all[i].end_ns, all[i].span_id));
        models.sort_unstable();
        let mut next_model = 0;
        let mut current: Vec<usize> = Vec::new();
        for i in calls {
            let start = all[i].start_ns;
            if let Some(&last) = current.last() {
                // A model call started after the previous call did and by the time this
                // one starts: this call answers a later response.
                while next_model < models.len() && models[next_model] <= all[last].start_ns {
                    next_model += 1;
                }
                if next_model < models.len() && models[next_model] <= start {
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
    use crate::observed::span::{Kind, test_span};

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
}
