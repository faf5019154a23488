//! The dependency graph as compressed rows: each call's dependencies, their reverse,
//! and an order that puts every call after its dependencies.

use super::{Call, CallIdx, PlanError};

/// Adjacency lists in one allocation (compressed sparse rows).
#[derive(Clone, Debug)]
pub(super) struct Csr {
    /// Where each row starts in `targets`, and one past the end; empty when there are
    /// no edges at all, so that a million independent calls keep no offsets.
    offsets: Vec<u32>,
    targets: Vec<CallIdx>,
}

impl Csr {
    const EMPTY: Csr = Csr {
        offsets: Vec::new(),
        targets: Vec::new(),
    };

    /// Each call's dependencies from `(call, dep)` edges: in the order added, each kept
    /// once (its first time), in linear time.
    pub(super) fn deps(calls: usize, edges: &[(CallIdx, CallIdx)]) -> Self {
        if edges.is_empty() {
            return Self::EMPTY;
        }
        let mut offsets = vec![0u32; calls + 1];
        for (call, _) in edges {
            offsets[call.index() + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut next = offsets.clone();
        let mut targets = vec![CallIdx(0); edges.len()];
        for &(call, dep) in edges {
            let slot = &mut next[call.index()];
            targets[*slot as usize] = dep;
            *slot += 1;
        }
        let mut rows = Self { offsets, targets };
        rows.remove_repeats();
        rows
    }

    /// Keeps the first of each row's repeated targets: `seen[d]` holds the last row (plus
    /// one) that kept `d`.
    fn remove_repeats(&mut self) {
        let rows = self.offsets.len() - 1;
        if (0..rows).all(|i| self.offsets[i + 1] - self.offsets[i] < 2) {
            return;
        }
        let mut seen = vec![0u32; rows];
        let mut kept = 0;
        let mut start = 0;
        for i in 0..rows {
            let stamp = i as u32 + 1;
            let end = self.offsets[i + 1] as usize;
            for at in start..end {
                let d = self.targets[at];
                if std::mem::replace(&mut seen[d.index()], stamp) != stamp {
                    self.targets[kept] = d;
                    kept += 1;
                }
            }
            start = end;
            self.offsets[i + 1] = kept as u32;
        }
        self.targets.truncate(kept);
    }

    /// The reverse edges: for each target, the rows that list it, in row order.
    pub(super) fn transposed(&self) -> Self {
        if self.targets.is_empty() {
            return Self::EMPTY;
        }
        let rows = self.offsets.len() - 1;
        let mut offsets = vec![0u32; rows + 1];
        for t in &self.targets {
            offsets[t.index() + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut next = offsets.clone();
        let mut targets = vec![CallIdx(0); self.targets.len()];
        for i in 0..rows {
            for t in self.row(i) {
                let slot = &mut next[t.index()];
                targets[*slot as usize] = CallIdx(i as u32);
                *slot += 1;
            }
        }
        Self { offsets, targets }
    }

    pub(super) fn row(&self, i: usize) -> &[CallIdx] {
        match self.offsets.get(i..i + 2) {
            Some(&[start, end]) => &self.targets[start as usize..end as usize],
            _ => &[],
        }
    }

    /// How many row offsets are kept (none without edges).
    #[cfg(test)]
    pub(super) fn offsets_kept(&self) -> usize {
        self.offsets.len()
    }

    /// Whether no row has an edge.
    pub(super) fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// Kahn's algorithm in input order; on a cycle, names one.
pub(super) fn topological_order(calls: &[Call], deps: &Csr, dependents: &Csr) -> Result<Vec<CallIdx>, PlanError> {
    if deps.is_empty() {
        return Ok((0..calls.len() as u32).map(CallIdx).collect());
    }
    let mut pending: Vec<u32> = (0..calls.len()).map(|i| deps.row(i).len() as u32).collect();
    let mut order: Vec<CallIdx> = Vec::with_capacity(calls.len());
    order.extend((0..calls.len()).filter(|&i| pending[i] == 0).map(|i| CallIdx(i as u32)));
    let mut next = 0;
    while next < order.len() {
        let idx = order[next];
        next += 1;
        for &d in dependents.row(idx.index()) {
            pending[d.index()] -= 1;
            if pending[d.index()] == 0 {
                order.push(d);
            }
        }
    }
    if order.len() == calls.len() {
        return Ok(order);
    }
    Err(PlanError::Cycle(find_cycle(calls, deps, &pending)))
}

/// Walks dependencies from a call left on a cycle (or behind one) until a call repeats.
fn find_cycle(calls: &[Call], deps: &Csr, pending: &[u32]) -> Vec<String> {
    let start = pending.iter().position(|&p| p > 0).expect("a call left unordered");
    let mut seen = vec![usize::MAX; calls.len()];
    let mut path = Vec::new();
    let mut at = start;
    while seen[at] == usize::MAX {
        seen[at] = path.len();
        path.push(at);
        // Some dependency of an unordered call is itself unordered.
        at = deps
            .row(at)
            .iter()
            .map(|d| d.index())
            .find(|&d| pending[d] > 0)
            .expect("an unordered call has an unordered dependency");
    }
    // `path[seen[at]..]` is the cycle, walked against the edges; report it along them.
    let mut cycle: Vec<String> = path[seen[at]..]
        .iter()
        .rev()
        .map(|&i| calls[i].id.to_string())
        .collect();
    cycle.push(cycle[0].clone());
    cycle
}
