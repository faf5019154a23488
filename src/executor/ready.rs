//! Ready calls, best first: higher priority, then input order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

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
///
/// Calls mostly become ready already in rank order (equal priorities, in input order),
/// so ranks that arrive no better than the last one queued go to a FIFO in O(1); only
/// a rank that arrives out of order goes to a heap. Popping takes the better of the two
/// heads. On the zero-latency overhead bench this removes the heap's `pop`, the largest
/// single cost of a call.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    /// Ranks in decreasing order, best at the front.
    in_order: VecDeque<Rank>,
    /// Ranks that arrived better than the back of `in_order`.
    out_of_order: BinaryHeap<Rank>,
}

impl ReadyQueue {
    pub(crate) fn push(&mut self, rank: Rank) {
        match self.in_order.back() {
            Some(&last) if rank > last => self.out_of_order.push(rank),
            _ => self.in_order.push_back(rank),
        }
    }

    pub(crate) fn peek(&self) -> Option<Rank> {
        match (self.in_order.front(), self.out_of_order.peek()) {
            (Some(&a), Some(&b)) => Some(a.max(b)),
            (a, b) => a.or(b).copied(),
        }
    }

    pub(crate) fn pop(&mut self) -> Option<Rank> {
        match (self.in_order.front(), self.out_of_order.peek()) {
            (Some(a), Some(b)) if b > a => self.out_of_order.pop(),
            (Some(_), _) => self.in_order.pop_front(),
            (None, _) => self.out_of_order.pop(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.in_order.is_empty() && self.out_of_order.is_empty()
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

    mod proptests {
        use proptest::prelude::*;

        use super::*;

        /// Operations on the queue: push a call of some priority (its index is its
        /// input order), or pop.
        fn ops() -> impl Strategy<Value = Vec<Option<(i32, u32)>>> {
            proptest::collection::vec(proptest::option::weighted(0.6, (-2i32..3, 0u32..64)), 0..200)
        }

        proptest! {
            #[test]
            fn pops_in_the_order_of_a_plain_heap(ops in ops()) {
                let mut b = PlanBuilder::new();
                let t = b.tool(ToolSpec::io("t"));
                let ids: Vec<CallIdx> = (0..64).map(|i| b.call(format!("c{i}"), t)).collect();
                let mut queue = ReadyQueue::default();
                let mut reference = BinaryHeap::new();
                for op in ops {
                    match op {
                        Some((priority, i)) => {
                            let rank = Rank::new(priority, ids[i as usize]);
                            queue.push(rank);
                            reference.push(rank);
                        }
                        None => prop_assert_eq!(queue.pop(), reference.pop()),
                    }
                    prop_assert_eq!(queue.peek(), reference.peek().copied());
                    prop_assert_eq!(queue.is_empty(), reference.is_empty());
                }
            }
        }
    }
}
