//! Ready calls, best first: higher priority, then input order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::plan::CallIdx;

/// The rank of a ready call; the greatest runs first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Rank {
    priority: i32,
    order: Reverse<CallIdx>,
}

impl Rank {
    pub(crate) fn new(priority: i32, idx: CallIdx) -> Self {
        Self {
            priority,
            order: Reverse(idx),
        }
    }

    pub(crate) fn call(self) -> CallIdx {
        self.order.0
    }
}

/// A priority queue of ready calls.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    heap: BinaryHeap<Rank>,
}

impl ReadyQueue {
    pub(crate) fn push(&mut self, rank: Rank) {
        self.heap.push(rank);
    }

    pub(crate) fn peek(&self) -> Option<Rank> {
        self.heap.peek().copied()
    }

    pub(crate) fn pop(&mut self) -> Option<Rank> {
        self.heap.pop()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanBuilder, ToolSpec};

    #[test]
    fn higher_priority_first_then_input_order() {
        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("t"));
        let ids: Vec<CallIdx> = (0..4).map(|i| b.call(format!("c{i}"), t)).collect();
        let mut q = ReadyQueue::default();
        q.push(Rank::new(0, ids[2]));
        q.push(Rank::new(0, ids[0]));
        q.push(Rank::new(5, ids[3]));
        q.push(Rank::new(-1, ids[1]));
        let order: Vec<CallIdx> = std::iter::from_fn(|| q.pop().map(Rank::call)).collect();
        assert_eq!(order, [ids[3], ids[0], ids[2], ids[1]]);
    }
}
