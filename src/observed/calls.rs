//! Which tool spans are calls.
//!
//! Most tool spans are one call each, but three kinds are not:
//!
//! - **Summaries.** After a response's parallel calls, Google ADK writes a span of a few
//!   microseconds, `execute_tool (merged)`, whose tool is `(merged tools)`: it stands for
//!   the calls already traced, not for one more. A tool whose name is in parentheses is
//!   such a placeholder (no framework lets a function be named so); its spans are set
//!   aside and counted.
//! - **The answer.** smolagents ends a run with a call of its tool `final_answer`, which
//!   does nothing but hand the answer back: set aside and counted too.
//! - **The server's side of a call.** When an agent's trace is joined with the trace of
//!   the server it called (the MCP request carries the trace context), the server's span
//!   of the call (`tools/call search`, itself `execute_tool`) lies inside the agent's own
//!   span of it. A tool span inside another span of the same tool is part of that call:
//!   the outer span is the call as the agent saw it, the inner one the server's time, and
//!   the difference the client's overhead around it.

use std::collections::{HashMap, HashSet};

use super::span::{Role, Spans};
use super::tree::SpanTree;

/// What a tool span is to the analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallRole {
    /// One call.
    Call,
    /// A summary of other calls: set aside.
    Summary,
    /// The framework's way of giving the final answer: set aside.
    Answer,
    /// Part of the call of this outer span (its index in [`Spans::spans`]).
    Inner(usize),
}

/// Every tool span, resolved.
#[derive(Clone, Debug, Default)]
pub struct Calls {
    /// Per span of [`Spans::spans`], its role; `None` for a model call.
    pub roles: Vec<Option<CallRole>>,
    /// Per call with spans inside it, the time its innermost spans of the same tool took,
    /// in nanoseconds: the server's time, when the trace is joined with the server's.
    pub inner_ns: HashMap<usize, u64>,
    /// Per call with spans inside it, whether one of them failed.
    pub inner_error: HashMap<usize, bool>,
}

impl Calls {
    /// Resolves the tool spans of `spans`.
    pub fn new(spans: &Spans, tree: &SpanTree) -> Self {
        let all = spans.spans();
        let mut calls = Calls {
            roles: Vec::with_capacity(all.len()),
            ..Calls::default()
        };
        // Spans with a span of their tool inside: not the server's side itself.
        let mut holding = HashSet::new();
        for (i, span) in all.iter().enumerate() {
            let Role::Tool(tool) = span.role else {
                calls.roles.push(None);
                continue;
            };
            let name = spans.tool_name(tool);
            if is_placeholder(name) {
                calls.roles.push(Some(CallRole::Summary));
                continue;
            }
            if ANSWER_TOOLS.contains(&name) {
                calls.roles.push(Some(CallRole::Answer));
                continue;
            }
            // The outermost span of the same tool above it, and the nearest one.
            let mut same_tool = tree
                .ancestors(i)
                .filter_map(|node| tree.recognised(node))
                .filter(|&a| all[a].role == span.role);
            match same_tool.next() {
                Some(nearest) => {
                    holding.insert(nearest);
                    let outer = same_tool.last().unwrap_or(nearest);
                    calls.roles.push(Some(CallRole::Inner(outer)));
                }
                None => calls.roles.push(Some(CallRole::Call)),
            }
        }
        // A call's innermost spans are the server's: a client library may wrap the call
        // in a span of the same tool again (FastMCP's `tools/call search` between the
        // agent's `execute_tool search` and the server's).
        for (i, role) in calls.roles.iter().enumerate() {
            if let (Some(CallRole::Inner(outer)), false) = (role, holding.contains(&i)) {
                *calls.inner_ns.entry(*outer).or_default() += all[i].duration_ns();
                *calls.inner_error.entry(*outer).or_default() |= all[i].error;
            }
        }
        calls
    }

    /// Every tool span a call, as they are when each was made by the one who reports
    /// it (`parabench serve`'s own calls).
    pub fn every(spans: &Spans) -> Self {
        Calls {
            roles: spans
                .spans()
                .iter()
                .map(|s| matches!(s.role, Role::Tool(_)).then_some(CallRole::Call))
                .collect(),
            ..Calls::default()
        }
    }

    /// The spans that are calls, in the order they were read.
    pub fn calls(&self) -> impl Iterator<Item = usize> + '_ {
        self.roles
            .iter()
            .enumerate()
            .filter_map(|(i, r)| (*r == Some(CallRole::Call)).then_some(i))
    }

    /// Whether span `i` is a call.
    pub fn is_call(&self, i: usize) -> bool {
        self.roles.get(i) == Some(&Some(CallRole::Call))
    }

    /// Spans of this role.
    pub fn count(&self, role: CallRole) -> usize {
        self.roles.iter().filter(|r| **r == Some(role)).count()
    }

    /// Spans that are part of an outer call.
    pub fn inner(&self) -> usize {
        self.roles
            .iter()
            .filter(|r| matches!(r, Some(CallRole::Inner(_))))
            .count()
    }
}

/// Tools that only hand the agent's answer back: smolagents' `final_answer`, which its
/// `ToolCallingAgent` must call to end a run.
pub const ANSWER_TOOLS: [&str; 1] = ["final_answer"];

/// A tool name no function can have: in parentheses, like ADK's `(merged tools)`.
pub fn is_placeholder(tool: &str) -> bool {
    tool.len() > 2 && tool.starts_with('(') && tool.ends_with(')')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::span::{Kind, link, span};

    #[test]
    fn a_summary_is_set_aside_and_a_span_inside_one_of_its_tool_is_part_of_it() {
        let mut spans = Spans::default();
        // The agent's call (1), a client library's span of it (7, the same tool again),
        // the MCP client's request (2, no call), the server's span of it (3); a call of
        // another tool inside the agent's call (4); ADK's summary (5).
        spans.push(span(1, 9, 0, 100), Kind::Tool("search"));
        spans.push(span(7, 1, 2, 98), Kind::Tool("search"));
        spans.push_link(link(2, 7));
        let mut server = span(3, 2, 10, 90);
        server.error = true;
        spans.push(server, Kind::Tool("search"));
        spans.push(span(4, 1, 20, 30), Kind::Tool("db"));
        spans.push(span(5, 9, 100, 100), Kind::Tool("(merged tools)"));
        spans.push(span(6, 9, 0, 5), Kind::Model);
        spans.push(span(8, 9, 200, 200), Kind::Tool("final_answer"));
        let calls = Calls::new(&spans, &SpanTree::new(&spans));
        assert_eq!(
            calls.roles,
            [
                Some(CallRole::Call),
                Some(CallRole::Inner(0)),
                Some(CallRole::Inner(0)),
                Some(CallRole::Call),
                Some(CallRole::Summary),
                None,
                Some(CallRole::Answer)
            ]
        );
        assert_eq!(calls.calls().collect::<Vec<_>>(), [0, 3]);
        assert_eq!(
            (
                calls.count(CallRole::Summary),
                calls.count(CallRole::Answer),
                calls.inner()
            ),
            (1, 1, 2)
        );
        assert_eq!(calls.inner_ns[&0], 80_000_000);
        assert!(calls.inner_error[&0]);
        assert!(!is_placeholder("()") && !is_placeholder("search") && is_placeholder("(merged tools)"));
    }
}
