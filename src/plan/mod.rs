//! The plan: tools, calls and their dependency DAG, as plain data.
//!
//! A [`Plan`] is what the executor runs. It knows nothing of TOML (the scenario module
//! builds one from a file) nor of tokio (the executor schedules it), so an engineer can
//! build one in code and run real tools through it.
//!
//! # Examples
//!
//! ```
//! use parabench::plan::{PlanBuilder, ToolSpec};
//!
//! let mut plan = PlanBuilder::new();
//! let search = plan.tool(ToolSpec::io("search").with_max_concurrency(3));
//! let parse = plan.tool(ToolSpec::cpu("parse"));
//! let s1 = plan.call("s1", search);
//! let s2 = plan.call("s2", search);
//! let p = plan.call("p", parse);
//! plan.depends_on(p, s1);
//! plan.depends_on(p, s2);
//! let plan = plan.build().unwrap();
//!
//! assert_eq!(plan.calls().len(), 3);
//! assert_eq!(plan.dependents(s1), &[p]);
//! ```

mod ids;

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use ids::CallId;
use ids::IdIndex;
pub(crate) use ids::Repeat;

/// Index of a tool in its [`Plan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ToolId(u32);

impl ToolId {
    /// The position of the tool in [`Plan::tools`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Index of a call in its [`Plan`]: its position in input order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallIdx(u32);

impl CallIdx {
    /// The call at position `i`, for code that keeps positions as plain numbers.
    pub(crate) const fn new(i: u32) -> Self {
        Self(i)
    }

    /// The position of the call in [`Plan::calls`] (input order).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Whether a tool waits (I/O) or computes (CPU).
///
/// The distinction matters to the speedup bound: CPU-bound calls cannot run faster than
/// the machine's cores allow, however high the concurrency limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ToolKind {
    /// Waits on something outside the process (an API, a database); occupies no core.
    #[default]
    Io,
    /// Does work on one core for its whole duration.
    Cpu,
}

impl fmt::Display for ToolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ToolKind::Io => "io",
            ToolKind::Cpu => "cpu",
        })
    }
}

/// A tool's identity and the limits the executor enforces for it.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolSpec {
    /// Unique name, as it appears in reports and telemetry.
    pub name: String,
    /// I/O-bound or CPU-bound.
    pub kind: ToolKind,
    /// At most this many calls of this tool in flight at once (besides the global limit).
    pub max_concurrency: Option<NonZeroUsize>,
    /// At most this many attempts started per second (a rate-limited API).
    pub rate_limit_per_s: Option<f64>,
    /// What the tool does, in words (as `parabench serve` lists it); may be empty.
    pub description: String,
}

impl ToolSpec {
    /// An I/O-bound tool with no limits of its own.
    pub fn io(name: impl Into<String>) -> Self {
        Self::new(name, ToolKind::Io)
    }

    /// A CPU-bound tool with no limits of its own.
    pub fn cpu(name: impl Into<String>) -> Self {
        Self::new(name, ToolKind::Cpu)
    }

    /// A tool of the given kind with no limits of its own.
    pub fn new(name: impl Into<String>, kind: ToolKind) -> Self {
        Self {
            name: name.into(),
            kind,
            max_concurrency: None,
            rate_limit_per_s: None,
            description: String::new(),
        }
    }

    /// Limits the calls of this tool in flight at once.
    ///
    /// # Panics
    ///
    /// If `limit` is 0: such a tool could never run.
    pub fn with_max_concurrency(mut self, limit: usize) -> Self {
        self.max_concurrency = Some(NonZeroUsize::new(limit).expect("a tool's max_concurrency must be at least 1"));
        self
    }

    /// Limits the attempts of this tool started per second.
    pub fn with_rate_limit(mut self, per_s: f64) -> Self {
        self.rate_limit_per_s = Some(per_s);
        self
    }
}

/// One call of a tool: a node of the DAG.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// Unique id, as it appears in reports; also the key of the call's random draws.
    pub id: CallId,
    /// The tool this call runs.
    pub tool: ToolId,
    /// Among ready calls, higher priority starts first; ties keep input order.
    pub priority: i32,
    /// Calls that must end before this one starts, without duplicates.
    pub deps: Vec<CallIdx>,
    /// When the call arrives (open-loop load), since the start of the run: it is not
    /// ready before then, and its queue wait counts from then. `None` arrives at the
    /// start, as every call of a closed batch does.
    pub arrival: Option<Duration>,
}

/// Why a plan could not be built.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    /// The plan has no calls.
    #[error("the plan has no calls")]
    Empty,
    /// Two tools share a name.
    #[error("tool `{0}` is defined twice")]
    DuplicateTool(String),
    /// Two calls share an id.
    #[error("call id `{0}` is used twice")]
    DuplicateCall(String),
    /// A call depends on itself.
    #[error("call `{0}` depends on itself")]
    SelfDependency(String),
    /// A tool's own limit is not a positive, finite number.
    #[error("tool `{tool}` has an invalid rate limit {per_s} (expected a positive number of calls per second)")]
    InvalidRateLimit {
        /// The tool's name.
        tool: String,
        /// The rejected rate.
        per_s: f64,
    },
    /// The dependencies form a cycle; the calls are listed along it, first repeated last.
    #[error("dependency cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

/// Builds a [`Plan`] call by call; [`PlanBuilder::build`] checks it.
#[derive(Debug, Default)]
pub struct PlanBuilder {
    tools: Vec<ToolSpec>,
    calls: Vec<Call>,
    ids: IdIndex,
}

impl PlanBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool and returns its id.
    pub fn tool(&mut self, spec: ToolSpec) -> ToolId {
        self.tools.push(spec);
        ToolId((self.tools.len() - 1) as u32)
    }

    /// Adds a call of `tool` with priority 0 and returns its index.
    ///
    /// # Panics
    ///
    /// If `tool` was not returned by this builder.
    pub fn call(&mut self, id: impl Into<CallId>, tool: ToolId) -> CallIdx {
        self.call_with_priority(id, tool, 0)
    }

    /// Adds a call of `tool` with the given priority and returns its index.
    ///
    /// # Panics
    ///
    /// If `tool` was not returned by this builder.
    pub fn call_with_priority(&mut self, id: impl Into<CallId>, tool: ToolId, priority: i32) -> CallIdx {
        let idx = self.push(id.into(), tool, priority);
        self.ids.add(&self.calls[idx.index()].id, idx);
        idx
    }

    /// Adds a call `{prefix}{n}` of `tool`, as [`call_with_priority`] would.
    ///
    /// Numbered calls are what make a plan of a million calls cheap: a run of them
    /// numbered from 1 at consecutive indices is indexed as one prefix and a count, and
    /// never hashed id by id.
    ///
    /// [`call_with_priority`]: PlanBuilder::call_with_priority
    ///
    /// # Panics
    ///
    /// If `tool` was not returned by this builder.
    pub fn call_numbered(&mut self, prefix: &str, n: u64, tool: ToolId, priority: i32) -> CallIdx {
        let idx = self.push(CallId::numbered(prefix, n), tool, priority);
        if !self.ids.add_numbered(prefix, n, idx) {
            self.ids.add(&self.calls[idx.index()].id, idx);
        }
        idx
    }

    /// Adds `count` calls of `tool`, `{prefix}1..={prefix}{count}`, as a `[[generate]]`
    /// block does, and returns their indices.
    ///
    /// ```
    /// use parabench::plan::{PlanBuilder, ToolSpec};
    ///
    /// let mut plan = PlanBuilder::new();
    /// let search = plan.tool(ToolSpec::io("search"));
    /// let calls = plan.generate("s", 1000, search, 0);
    /// let plan = plan.build().unwrap();
    /// assert_eq!(plan.call(calls.start).id, "s1");
    /// assert_eq!(calls.end.index() - calls.start.index(), 1000);
    /// assert_eq!(plan.find("s1000").map(|c| c.index()), Some(999));
    /// ```
    ///
    /// # Panics
    ///
    /// If `tool` was not returned by this builder.
    pub fn generate(&mut self, prefix: &str, count: usize, tool: ToolId, priority: i32) -> Range<CallIdx> {
        self.calls.reserve(count);
        let start = CallIdx(self.calls.len() as u32);
        for n in 1..=count as u64 {
            self.call_numbered(prefix, n, tool, priority);
        }
        start..CallIdx(self.calls.len() as u32)
    }

    fn push(&mut self, id: CallId, tool: ToolId, priority: i32) -> CallIdx {
        assert!(tool.index() < self.tools.len(), "ToolId from another PlanBuilder");
        self.calls.push(Call {
            id,
            tool,
            priority,
            deps: Vec::new(),
            arrival: None,
        });
        CallIdx((self.calls.len() - 1) as u32)
    }

    /// Makes `call` wait for `dep` to end. Repeated edges are kept once: [`build`]
    /// removes them, keeping the first (until then, [`calls`] may show them).
    ///
    /// [`build`]: PlanBuilder::build
    /// [`calls`]: PlanBuilder::calls
    ///
    /// # Panics
    ///
    /// If either index was not returned by this builder.
    pub fn depends_on(&mut self, call: CallIdx, dep: CallIdx) {
        assert!(dep.index() < self.calls.len(), "CallIdx from another PlanBuilder");
        let deps = &mut self.calls[call.index()].deps;
        // Searching every earlier edge here would make a call with a million
        // dependencies cost 10^12 comparisons; `build` removes repeats in one pass.
        if deps.last() != Some(&dep) {
            deps.push(dep);
        }
    }

    /// Holds `call` until `at` after the start of the run: its intended arrival time in
    /// an open-loop load. The executor releases it then (or when its dependencies end,
    /// if later) and measures its latency from `at`, so time spent waiting for a slot
    /// is never hidden.
    ///
    /// # Panics
    ///
    /// If `call` was not returned by this builder.
    pub fn arrives_at(&mut self, call: CallIdx, at: Duration) {
        assert!(call.index() < self.calls.len(), "CallIdx from another PlanBuilder");
        self.calls[call.index()].arrival = Some(at);
    }

    /// The calls added so far, in input order.
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// The call with this id, among those added so far; when ids repeat, one of them.
    pub fn find(&self, id: &str) -> Option<CallIdx> {
        self.ids.get(id)
    }

    /// The length in bytes of the longest id added so far.
    pub(crate) fn longest_id(&self) -> usize {
        self.ids.longest()
    }

    /// The earliest call whose id an earlier call already has, with that call.
    pub(crate) fn repeated_id(&self) -> Option<Repeat> {
        self.ids.repeat()
    }

    /// Checks names, ids and the DAG, and freezes the plan.
    ///
    /// # Errors
    ///
    /// [`PlanError`] when the plan is empty, a tool name or call id repeats, a rate limit is
    /// not positive and finite, or the dependencies form a cycle.
    pub fn build(self) -> Result<Plan, PlanError> {
        let Self { tools, mut calls, ids } = self;
        if calls.is_empty() {
            return Err(PlanError::Empty);
        }
        remove_repeated_deps(&mut calls);
        let mut names = HashMap::with_capacity(tools.len());
        for tool in &tools {
            if names.insert(tool.name.as_str(), ()).is_some() {
                return Err(PlanError::DuplicateTool(tool.name.clone()));
            }
            if let Some(per_s) = tool.rate_limit_per_s
                && !(per_s.is_finite() && per_s > 0.0)
            {
                return Err(PlanError::InvalidRateLimit {
                    tool: tool.name.clone(),
                    per_s,
                });
            }
        }
        if let Some(repeat) = ids.repeat() {
            return Err(PlanError::DuplicateCall(calls[repeat.again.index()].id.to_string()));
        }
        for (i, call) in calls.iter().enumerate() {
            if call.deps.iter().any(|d| d.index() == i) {
                return Err(PlanError::SelfDependency(call.id.to_string()));
            }
        }
        let dependents = Csr::dependents(&calls);
        let topo = topological_order(&calls, &dependents)?;
        Ok(Plan {
            tools,
            calls,
            ids,
            dependents,
            topo,
        })
    }
}

/// Keeps the first of each call's repeated dependencies, in linear time: `seen[d]` holds
/// the last call (plus one) that kept `d`.
fn remove_repeated_deps(calls: &mut [Call]) {
    if calls.iter().all(|c| c.deps.len() < 2) {
        return;
    }
    let mut seen = vec![0u32; calls.len()];
    for (i, call) in calls.iter_mut().enumerate() {
        let stamp = i as u32 + 1;
        call.deps
            .retain(|d| std::mem::replace(&mut seen[d.index()], stamp) != stamp);
    }
}

/// A checked, immutable set of tools and calls forming a DAG.
#[derive(Clone, Debug)]
pub struct Plan {
    tools: Vec<ToolSpec>,
    calls: Vec<Call>,
    ids: IdIndex,
    dependents: Csr,
    topo: Vec<CallIdx>,
}

impl Plan {
    /// The tools, indexed by [`ToolId`].
    pub fn tools(&self) -> &[ToolSpec] {
        &self.tools
    }

    /// The tool with this id.
    pub fn tool(&self, id: ToolId) -> &ToolSpec {
        &self.tools[id.index()]
    }

    /// The calls in input order, indexed by [`CallIdx`].
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// The call at this index.
    pub fn call(&self, idx: CallIdx) -> &Call {
        &self.calls[idx.index()]
    }

    /// The call with this id.
    pub fn find(&self, id: &str) -> Option<CallIdx> {
        self.ids.get(id)
    }

    /// A builder holding this plan's tools and its first `len` calls, with their
    /// dependencies (which must lie among them) and arrival times, to add more calls to.
    ///
    /// # Panics
    ///
    /// If `len` is more than the plan's calls, or a kept call depends on one after them.
    pub fn builder_with_first(&self, len: usize) -> PlanBuilder {
        let calls = self.calls[..len].to_vec();
        assert!(
            calls.iter().flat_map(|c| &c.deps).all(|d| d.index() < len),
            "a kept call depends on a dropped one"
        );
        let mut ids = self.ids.clone();
        ids.truncate(len);
        PlanBuilder {
            tools: self.tools.clone(),
            calls,
            ids,
        }
    }

    /// Every call index, in input order.
    pub fn indices(&self) -> impl ExactSizeIterator<Item = CallIdx> + use<> {
        (0..self.calls.len() as u32).map(CallIdx)
    }

    /// The calls that list `idx` among their dependencies.
    pub fn dependents(&self, idx: CallIdx) -> &[CallIdx] {
        self.dependents.row(idx.index())
    }

    /// Every call once, each after all its dependencies.
    pub fn topological_order(&self) -> &[CallIdx] {
        &self.topo
    }

    /// The longest chain of dependent calls, given each call's duration (indexed by
    /// [`CallIdx`]): no schedule can finish sooner than this.
    ///
    /// # Panics
    ///
    /// If `durations` does not have one entry per call.
    pub fn critical_path(&self, durations: &[Duration]) -> Duration {
        self.longest_chain(durations, false)
    }

    /// Whether some call has an [arrival time](Call::arrival) (an open-loop load).
    pub fn has_arrivals(&self) -> bool {
        self.calls.iter().any(|c| c.arrival.is_some())
    }

    /// The longest chain of dependent calls, each starting no sooner than its arrival:
    /// with arrivals, no schedule can finish sooner than this (the last arrival plus its
    /// own work, at least). Equal to [`Plan::critical_path`] without arrivals.
    ///
    /// # Panics
    ///
    /// If `durations` does not have one entry per call.
    pub fn release_path(&self, durations: &[Duration]) -> Duration {
        self.longest_chain(durations, true)
    }

    fn longest_chain(&self, durations: &[Duration], releases: bool) -> Duration {
        assert_eq!(durations.len(), self.calls.len(), "one duration per call");
        let mut finish = vec![Duration::ZERO; self.calls.len()];
        let mut longest = Duration::ZERO;
        for &idx in &self.topo {
            let call = &self.calls[idx.index()];
            let released = if releases {
                call.arrival.unwrap_or_default()
            } else {
                Duration::ZERO
            };
            let start = call
                .deps
                .iter()
                .map(|d| finish[d.index()])
                .max()
                .unwrap_or_default()
                .max(released);
            let end = start + durations[idx.index()];
            finish[idx.index()] = end;
            longest = longest.max(end);
        }
        longest
    }
}

/// Adjacency lists in one allocation (compressed sparse rows).
#[derive(Clone, Debug)]
struct Csr {
    offsets: Vec<u32>,
    targets: Vec<CallIdx>,
}

impl Csr {
    fn dependents(calls: &[Call]) -> Self {
        let mut counts = vec![0u32; calls.len() + 1];
        for call in calls {
            for dep in &call.deps {
                counts[dep.index() + 1] += 1;
            }
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut next = counts.clone();
        let mut targets = vec![CallIdx(0); counts[calls.len()] as usize];
        for (i, call) in calls.iter().enumerate() {
            for dep in &call.deps {
                let slot = &mut next[dep.index()];
                targets[*slot as usize] = CallIdx(i as u32);
                *slot += 1;
            }
        }
        Self {
            offsets: counts,
            targets,
        }
    }

    fn row(&self, i: usize) -> &[CallIdx] {
        &self.targets[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// Kahn's algorithm in input order; on a cycle, names one.
fn topological_order(calls: &[Call], dependents: &Csr) -> Result<Vec<CallIdx>, PlanError> {
    let mut pending: Vec<usize> = calls.iter().map(|c| c.deps.len()).collect();
    let mut order: Vec<CallIdx> = (0..calls.len())
        .filter(|&i| pending[i] == 0)
        .map(|i| CallIdx(i as u32))
        .collect();
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
    Err(PlanError::Cycle(find_cycle(calls, &pending)))
}

/// Walks dependencies from a call left on a cycle (or behind one) until a call repeats.
fn find_cycle(calls: &[Call], pending: &[usize]) -> Vec<String> {
    let start = pending.iter().position(|&p| p > 0).expect("a call left unordered");
    let mut seen = vec![usize::MAX; calls.len()];
    let mut path = Vec::new();
    let mut at = start;
    while seen[at] == usize::MAX {
        seen[at] = path.len();
        path.push(at);
        // Some dependency of an unordered call is itself unordered.
        at = calls[at]
            .deps
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

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> PlanBuilder {
        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("t"));
        let mut prev = None;
        for i in 0..n {
            let c = b.call(format!("c{i}"), t);
            if let Some(p) = prev {
                b.depends_on(c, p);
            }
            prev = Some(c);
        }
        b
    }

    #[test]
    fn critical_path_of_a_chain_is_the_sum() {
        let plan = chain(3).build().unwrap();
        let d = [10, 20, 30].map(Duration::from_millis);
        assert_eq!(plan.critical_path(&d), Duration::from_millis(60));
    }

    #[test]
    fn critical_path_of_independent_calls_is_the_longest() {
        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("t"));
        for i in 0..3 {
            b.call(format!("c{i}"), t);
        }
        let plan = b.build().unwrap();
        let d = [10, 50, 30].map(Duration::from_millis);
        assert_eq!(plan.critical_path(&d), Duration::from_millis(50));
    }

    #[test]
    fn the_release_path_starts_each_call_no_sooner_than_its_arrival() {
        let mut b = chain(2);
        let t = ToolId(0);
        let late = b.call("late", t);
        b.arrives_at(late, Duration::from_millis(100));
        b.arrives_at(CallIdx(1), Duration::from_millis(50));
        let plan = b.build().unwrap();
        let d = [10, 20, 5].map(Duration::from_millis);
        assert!(plan.has_arrivals());
        assert_eq!(plan.critical_path(&d), Duration::from_millis(30));
        // c1 waits for its arrival at 50 ms (after c0's end at 10 ms); `late` ends at 105 ms.
        assert_eq!(plan.release_path(&d), Duration::from_millis(105));
    }

    #[test]
    fn a_cycle_is_named_along_its_edges() {
        let mut b = chain(3);
        // c0 now waits for c2: c0 -> c1 -> c2 -> c0 in "runs before" order.
        b.depends_on(CallIdx(0), CallIdx(2));
        let err = b.build().unwrap_err();
        let PlanError::Cycle(ids) = err else { panic!("{err:?}") };
        assert_eq!(ids.len(), 4);
        assert_eq!(ids.first(), ids.last());
        let mut members = ids[..3].to_vec();
        members.sort();
        assert_eq!(members, ["c0", "c1", "c2"]);
        assert_eq!(
            PlanError::Cycle(ids.clone()).to_string(),
            format!("dependency cycle: {}", ids.join(" -> "))
        );
    }

    #[test]
    fn a_call_behind_a_cycle_still_reports_the_cycle_itself() {
        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("t"));
        let a = b.call("a", t);
        let x = b.call("x", t);
        let y = b.call("y", t);
        b.depends_on(a, x);
        b.depends_on(x, y);
        b.depends_on(y, x);
        let PlanError::Cycle(ids) = b.build().unwrap_err() else {
            panic!()
        };
        assert!(!ids.contains(&"a".to_string()), "{ids:?}");
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn repeated_dependencies_are_kept_once_in_first_order() {
        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("t"));
        let [x, y, z, c] = ["x", "y", "z", "c"].map(|id| b.call(id, t));
        for dep in [y, x, y, y, z, x, z] {
            b.depends_on(c, dep);
        }
        b.depends_on(z, x);
        b.depends_on(z, x);
        let plan = b.build().unwrap();
        assert_eq!(plan.call(c).deps, [y, x, z]);
        assert_eq!(plan.call(z).deps, [x]);
    }

    #[test]
    fn duplicates_and_self_dependencies_are_rejected() {
        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("t"));
        b.call("a", t);
        b.call("a", t);
        assert_eq!(b.build().unwrap_err(), PlanError::DuplicateCall("a".into()));

        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("t"));
        let a = b.call("a", t);
        b.depends_on(a, a);
        assert_eq!(b.build().unwrap_err(), PlanError::SelfDependency("a".into()));

        assert_eq!(PlanBuilder::new().build().unwrap_err(), PlanError::Empty);
    }

    #[test]
    fn rate_limits_must_be_positive_and_finite() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut b = PlanBuilder::new();
            let t = b.tool(ToolSpec::io("t").with_rate_limit(bad));
            b.call("a", t);
            assert!(matches!(b.build(), Err(PlanError::InvalidRateLimit { .. })), "{bad}");
        }
    }

    #[test]
    fn topological_order_keeps_input_order_among_independent_calls() {
        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("t"));
        let a = b.call("a", t);
        let c = b.call("c", t);
        let d = b.call("d", t);
        b.depends_on(a, d);
        let plan = b.build().unwrap();
        assert_eq!(plan.topological_order(), &[c, d, a]);
        assert_eq!(plan.dependents(d), &[a]);
    }
}
