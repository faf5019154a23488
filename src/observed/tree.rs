//! The span tree of each trace, as far as the analysis needs it: from any span, its
//! ancestors, and which of them are recognised calls.
//!
//! Trace files are input: a parent link may point to a span that never arrived, or
//! (in a broken file) loop back on itself. Walks stop at the first unknown parent and
//! after [`MAX_DEPTH`] steps, so neither can hang or crash an analysis.

use std::collections::HashMap;

use super::span::Spans;

/// The deepest ancestry a walk follows: far beyond any framework's nesting (tens of
/// levels), and a bound on a cycle of parent links.
pub const MAX_DEPTH: usize = 512;

/// A span in the tree: its trace (by [`Spans::trace_index`]) and its id.
pub type Node = (u32, [u8; 8]);

/// Parents of every span, and where the recognised spans are.
#[derive(Debug)]
pub struct SpanTree {
    parents: HashMap<Node, [u8; 8]>,
    recognised: HashMap<Node, usize>,
    /// Per recognised span, its node.
    nodes: Vec<Node>,
}

impl SpanTree {
    /// The tree of everything `spans` read.
    pub fn new(spans: &Spans) -> Self {
        let all = spans.spans();
        let mut parents = HashMap::with_capacity(all.len() + spans.links().len());
        let mut recognised = HashMap::with_capacity(all.len());
        let mut nodes = Vec::with_capacity(all.len());
        for (i, span) in all.iter().enumerate() {
            let trace = spans
                .trace_index(&span.trace_id)
                .expect("a kept span's trace is indexed");
            let node = (trace, span.span_id);
            if span.parent_span_id != [0; 8] {
                parents.insert(node, span.parent_span_id);
            }
            recognised.insert(node, i);
            nodes.push(node);
        }
        for link in spans.links() {
            parents.entry((link.trace, link.span_id)).or_insert(link.parent_span_id);
        }
        Self {
            parents,
            recognised,
            nodes,
        }
    }

    /// The node of recognised span `i`.
    pub fn node(&self, i: usize) -> Node {
        self.nodes[i]
    }

    /// The recognised span at `node`, if it is one.
    pub fn recognised(&self, node: Node) -> Option<usize> {
        self.recognised.get(&node).copied()
    }

    /// The ancestors of recognised span `i`, nearest first, as far as they are known
    /// (every parent id is given, the last one perhaps of a span that never arrived).
    pub fn ancestors(&self, i: usize) -> Ancestors<'_> {
        let (trace, id) = self.nodes[i];
        Ancestors {
            tree: self,
            trace,
            next: self.parents.get(&(trace, id)).copied(),
            depth: 0,
        }
    }
}

/// See [`SpanTree::ancestors`].
#[derive(Debug)]
pub struct Ancestors<'a> {
    tree: &'a SpanTree,
    trace: u32,
    next: Option<[u8; 8]>,
    depth: usize,
}

impl Iterator for Ancestors<'_> {
    type Item = Node;

    fn next(&mut self) -> Option<Node> {
        let id = self.next?;
        if self.depth >= MAX_DEPTH {
            self.next = None;
            return None;
        }
        self.depth += 1;
        let node = (self.trace, id);
        self.next = self.tree.parents.get(&node).copied();
        Some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::span::{Kind, link, test_span};

    #[test]
    fn ancestors_climb_through_unrecognised_spans_and_stop_at_a_loop() {
        let mut spans = Spans::default();
        // tool -> [7;8] (a wrapper) -> [9;8] (the root, never read as a span).
        spans.push(test_span(7, 0, 10), Kind::Tool("search"));
        spans.push_link(link(7, 9));
        // A loop of two wrappers above another tool.
        spans.push(test_span(3, 0, 10), Kind::Tool("db"));
        spans.push_link(link(3, 4));
        spans.push_link(link(4, 3));
        let tree = SpanTree::new(&spans);
        let up: Vec<[u8; 8]> = tree.ancestors(0).map(|(_, id)| id).collect();
        assert_eq!(up, [[7; 8], [9; 8]]);
        assert_eq!(tree.ancestors(1).count(), MAX_DEPTH);
        assert_eq!(tree.recognised(tree.node(1)), Some(1));
    }
}
