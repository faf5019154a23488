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

mod graph;
mod ids;

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use graph::{Csr, topological_order};
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
    /// A real tool of an MCP server: waits on the server, occupies no core here.
    Mcp,
    /// A real HTTP endpoint: waits on it, occupies no core here.
    Http,
}

impl ToolKind {
    /// The kind as scenarios, reports and telemetry write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolKind::Io => "io",
            ToolKind::Cpu => "cpu",
            ToolKind::Mcp => "mcp",
            ToolKind::Http => "http",
        }
    }

    /// Whether calls of this kind reach a real server rather than a simulation.
    pub fn is_real(self) -> bool {
        matches!(self, ToolKind::Mcp | ToolKind::Http)
    }
}

impl fmt::Display for ToolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    /// Each attempt's own timeout, in place of the run's; `None`: the run's.
    pub attempt_timeout: Option<Duration>,
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
            attempt_timeout: None,
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
///
/// Its dependencies and arrival time are the plan's ([`Plan::deps`], [`Plan::arrival`]):
/// kept beside the calls, a call is 32 bytes, and a plan of ten million calls fits in
/// memory with room to run it.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// Unique id, as it appears in reports; also the key of the call's random draws.
    pub id: CallId,
    /// The tool this call runs.
    pub tool: ToolId,
    /// Among ready calls, higher priority starts first; ties keep input order.
    pub priority: i32,
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
    /// (call, dependency), in the order added.
    edges: Vec<(CallIdx, CallIdx)>,
    /// Indexed by call; shorter than `calls` where the rest have none.
    arrivals: Vec<Option<Duration>>,
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
        self.calls.push(Call { id, tool, priority });
        CallIdx((self.calls.len() - 1) as u32)
    }

    /// Makes `call` wait for `dep` to end. Repeated edges are kept once: [`build`]
    /// removes them, keeping the first.
    ///
    /// [`build`]: PlanBuilder::build
    ///
    /// # Panics
    ///
    /// If either index was not returned by this builder.
    pub fn depends_on(&mut self, call: CallIdx, dep: CallIdx) {
        assert!(
            call.index() < self.calls.len() && dep.index() < self.calls.len(),
            "CallIdx from another PlanBuilder"
        );
        // Searching every earlier edge here would make a call with a million
        // dependencies cost 10^12 comparisons; `build` removes repeats in one pass.
        if self.edges.last() != Some(&(call, dep)) {
            self.edges.push((call, dep));
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
        if self.arrivals.len() <= call.index() {
            self.arrivals.resize(call.index() + 1, None);
        }
        self.arrivals[call.index()] = Some(at);
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
        let Self {
            tools,
            calls,
            ids,
            edges,
            mut arrivals,
        } = self;
        if calls.is_empty() {
            return Err(PlanError::Empty);
        }
        let deps = Csr::deps(calls.len(), &edges);
        drop(edges);
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
            if deps.row(i).iter().any(|d| d.index() == i) {
                return Err(PlanError::SelfDependency(call.id.to_string()));
            }
        }
        let dependents = deps.transposed();
        let topo = topological_order(&calls, &deps, &dependents)?;
        if arrivals.iter().all(Option::is_none) {
            arrivals = Vec::new();
        } else {
            arrivals.resize(calls.len(), None);
        }
        Ok(Plan {
            tools,
            calls,
            ids,
            deps,
            dependents,
            arrivals,
            topo,
        })
    }
}

/// A checked, immutable set of tools and calls forming a DAG.
#[derive(Clone, Debug)]
pub struct Plan {
    tools: Vec<ToolSpec>,
    calls: Vec<Call>,
    ids: IdIndex,
    deps: Csr,
    dependents: Csr,
    /// Indexed by call; empty when no call has an arrival time.
    arrivals: Vec<Option<Duration>>,
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
        let edges: Vec<(CallIdx, CallIdx)> = (0..len)
            .flat_map(|i| self.deps.row(i).iter().map(move |&d| (CallIdx(i as u32), d)))
            .collect();
        assert!(
            edges.iter().all(|(_, d)| d.index() < len),
            "a kept call depends on a dropped one"
        );
        let mut ids = self.ids.clone();
        ids.truncate(len);
        PlanBuilder {
            tools: self.tools.clone(),
            calls: self.calls[..len].to_vec(),
            ids,
            edges,
            arrivals: self.arrivals.iter().take(len).copied().collect(),
        }
    }

    /// Every call index, in input order.
    pub fn indices(&self) -> impl ExactSizeIterator<Item = CallIdx> + use<> {
        (0..self.calls.len() as u32).map(CallIdx)
    }

    /// Whether any call depends on another.
    pub fn has_dependencies(&self) -> bool {
        !self.deps.is_empty()
    }

    /// The calls that must end before `idx` starts, without repeats, in the order they
    /// were added.
    pub fn deps(&self, idx: CallIdx) -> &[CallIdx] {
        self.deps.row(idx.index())
    }

    /// The calls that list `idx` among their dependencies.
    pub fn dependents(&self, idx: CallIdx) -> &[CallIdx] {
        self.dependents.row(idx.index())
    }

    /// When call `idx` arrives (open-loop load), since the start of the run: it is not
    /// ready before then, and its queue wait counts from then. `None` arrives at the
    /// start, as every call of a closed batch does.
    pub fn arrival(&self, idx: CallIdx) -> Option<Duration> {
        self.arrivals.get(idx.index()).copied().flatten()
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

    /// How many calls come before the first with an [arrival time](Plan::arrival): the
    /// closed part of an open-loop load, or every call of a closed one.
    pub fn closed_calls(&self) -> usize {
        if self.arrivals.is_empty() {
            return self.calls.len();
        }
        self.arrivals.iter().take_while(|a| a.is_none()).count()
    }

    /// Whether some call has an [arrival time](Plan::arrival) (an open-loop load).
    pub fn has_arrivals(&self) -> bool {
        !self.arrivals.is_empty()
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
        // Finish times are read only through dependencies: without any, none are kept.
        let mut finish = if self.deps.is_empty() {
            Vec::new()
        } else {
            vec![Duration::ZERO; self.calls.len()]
        };
        let mut longest = Duration::ZERO;
        for &idx in &self.topo {
            let released = if releases {
                self.arrival(idx).unwrap_or_default()
            } else {
                Duration::ZERO
            };
            let start = self
                .deps(idx)
                .iter()
                .map(|d| finish[d.index()])
                .max()
                .unwrap_or_default()
                .max(released);
            let end = start + durations[idx.index()];
            if let Some(finish) = finish.get_mut(idx.index()) {
                *finish = end;
            }
            longest = longest.max(end);
        }
        longest
    }
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
    fn independent_calls_keep_no_graph_and_their_paths_are_the_longest_call() {
        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("t"));
        b.generate("c", 3, t, 0);
        b.arrives_at(CallIdx(1), Duration::from_millis(50));
        b.arrives_at(CallIdx(2), Duration::from_millis(100));
        let plan = b.build().unwrap();
        assert!(!plan.has_dependencies());
        assert_eq!((plan.deps.offsets_kept(), plan.dependents.offsets_kept()), (0, 0));
        assert!(
            plan.indices()
                .all(|i| plan.deps(i).is_empty() && plan.dependents(i).is_empty())
        );
        assert_eq!(plan.topological_order(), [CallIdx(0), CallIdx(1), CallIdx(2)]);
        let d = [10, 20, 5].map(Duration::from_millis);
        assert_eq!(plan.critical_path(&d), Duration::from_millis(20));
        assert_eq!(plan.release_path(&d), Duration::from_millis(105));
        // The same calls with an edge take the general path, and agree where it does not bind.
        let mut b = plan.builder_with_first(3);
        b.depends_on(CallIdx(2), CallIdx(0));
        let linked = b.build().unwrap();
        assert!(linked.has_dependencies());
        assert_eq!(linked.release_path(&d), Duration::from_millis(105));
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
        assert_eq!(plan.deps(c), [y, x, z]);
        assert_eq!(plan.deps(z), [x]);
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
    fn a_builder_from_a_plans_first_calls_keeps_their_edges_ids_and_arrivals() {
        let mut b = PlanBuilder::new();
        let t = b.tool(ToolSpec::io("t"));
        let root = b.call("root", t);
        let block = b.generate("g", 3, t, 1);
        for i in block.start.index()..block.end.index() {
            b.depends_on(CallIdx(i as u32), root);
        }
        let late = b.call_numbered("r", 1, t, 0);
        b.arrives_at(late, Duration::from_millis(5));
        let plan = b.build().unwrap();
        assert_eq!(plan.closed_calls(), 4);

        let mut again = plan.builder_with_first(plan.closed_calls());
        assert_eq!(again.find("r1"), None);
        assert_eq!(again.find("g3"), Some(CallIdx(3)));
        let r = again.call_numbered("r", 1, t, 0);
        again.arrives_at(r, Duration::from_millis(7));
        let rebuilt = again.build().unwrap();
        assert_eq!(rebuilt.deps(CallIdx(2)), [root]);
        assert_eq!(rebuilt.calls()[2].priority, 1);
        assert_eq!(rebuilt.arrival(r), Some(Duration::from_millis(7)));
        assert_eq!(rebuilt.arrival(CallIdx(3)), None);
        assert_eq!(rebuilt.find("r1"), Some(r));
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
