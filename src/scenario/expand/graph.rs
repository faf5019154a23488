//! The calls and their dependency graph: `[[calls]]`, `[[generate]]` blocks, explicit
//! `depends_on` and detected `${id.field}` edges, their totals, self-references and
//! cycles, and the [`Plan`](crate::plan::Plan) they build.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use crate::plan::{CallIdx, Plan, PlanBuilder, PlanError, ToolId};
use crate::scenario::arrivals::Arrivals;
use crate::scenario::error::{ScenarioError, SourceMap, number, one_of, quoted, shown};
use crate::scenario::model::{GenerateTable, ScenarioFile};
use crate::scenario::{MAX_CALLS, MAX_DEPENDENCIES};
use crate::sim::ToolModel;

use super::arrivals::arrivals;
use super::references::{collect_references, references_at, resolve_reference, written_params};
use super::settings::printable;
use super::tools::Tool;
use super::{CALL_EXPECTED, Result};

/// The number of calls of each `[[generate]]` block, checked against [`MAX_CALLS`] before
/// anything is allocated for them.
pub(super) fn generated_counts(file: &ScenarioFile, map: &SourceMap) -> Result<Vec<usize>> {
    let mut total = file.calls.len();
    let mut counts = Vec::with_capacity(file.generate.len());
    for block in &file.generate {
        let Some(count) = &block.get_ref().count else {
            return Err(map.error(
                block.span(),
                "a [[generate]] block has no `count` (expected count = a positive integer)",
                "count missing",
            ));
        };
        let n = *count.get_ref();
        if n < 1 {
            return Err(map.error(
                count.span(),
                format!("count must be at least 1, got {n} (expected a positive number of calls)"),
                "expected a positive integer",
            ));
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > MAX_CALLS {
            return Err(map.error(
                count.span(),
                format!("count must be at most {MAX_CALLS}, the limit on calls in a scenario, got {n}"),
                format!("expected at most {MAX_CALLS}"),
            ));
        }
        total += n;
        if total > MAX_CALLS {
            return Err(map.error(
                count.span(),
                format!("this block brings the scenario to {total} calls, above the limit of {MAX_CALLS} calls"),
                format!("expected at most {MAX_CALLS} calls in all"),
            ));
        }
        counts.push(n);
    }
    if total == 0 && file.arrivals.is_none() {
        return Err(map.error(
            0..0,
            "the scenario has no calls (expected [[calls]], [[generate]] or [arrivals])",
            "no calls",
        ));
    }
    Ok(counts)
}

/// A dependency of a call, with where it was written.
pub(super) struct Dep {
    pub(super) idx: usize,
    pub(super) span: Range<usize>,
    /// The `${...}` text, or `None` for a `depends_on` entry.
    pub(super) reference: Option<String>,
}

/// Builds the plan: tools, then `[[calls]]` in order, then each `[[generate]]` block,
/// then the calls of `[arrivals]`.
pub(super) fn plan(
    file: &ScenarioFile,
    tools: Vec<Tool<'_>>,
    counts: &[usize],
    map: &SourceMap,
) -> Result<(Plan, Vec<ToolModel>, Option<Arrivals>)> {
    let mut builder = PlanBuilder::new();
    let mut tool_ids = HashMap::with_capacity(tools.len());
    let names: Vec<&str> = tools.iter().map(|t| t.name.get_ref().as_str()).collect();
    let mut models = Vec::with_capacity(tools.len());
    for tool in tools {
        tool_ids.insert(tool.name.get_ref().as_str(), builder.tool(tool.spec));
        models.push(tool.model);
    }
    let tools = Tools {
        ids: tool_ids,
        names,
        map,
    };
    let mut calls = Calls {
        file,
        starts: Vec::with_capacity(counts.len()),
    };
    for call in &file.calls {
        let c = call.get_ref();
        let Some(id) = &c.id else {
            return Err(map.error(
                call.span(),
                "a [[calls]] entry has no `id` (expected id = \"...\", unique in the file)",
                "id missing",
            ));
        };
        if id.get_ref().trim().is_empty() {
            return Err(map.error(
                id.span(),
                "a call id must not be empty or only whitespace (expected a unique, non-empty string)",
                "empty id",
            ));
        }
        printable(id, "the call id", map)?;
        let (tool, _) = tools.resolve(c.tool.as_ref(), call.span(), &format!("call {}", quoted(id.get_ref())))?;
        builder.call_with_priority(id.get_ref().as_str(), tool, c.priority);
    }
    for (block, &count) in file.generate.iter().zip(counts) {
        let g = block.get_ref();
        let (tool, tool_name) = tools.resolve(g.tool.as_ref(), block.span(), "a [[generate]] block")?;
        if let Some(prefix) = &g.id_prefix {
            printable(prefix, "the id_prefix", map)?;
        }
        let prefix = g.id_prefix.as_ref().map_or(tool_name, |p| p.get_ref().as_str());
        calls.starts.push(builder.calls().len());
        builder.generate(prefix, count, tool, g.priority);
    }

    let edges = edges(file, counts, &calls, &builder, map)?;
    for (call, dep) in edges {
        builder.depends_on(CallIdx::new(call), CallIdx::new(dep));
    }
    // Added after the edges, so no call can depend on an arriving one.
    let arrivals = match &file.arrivals {
        Some(table) => {
            let arrivals = self::arrivals(table, &tools, builder.calls().len(), map)?;
            arrivals.add_calls(&mut builder, file.seed);
            if builder.calls().is_empty() {
                return Err(map.error(
                    table.span(),
                    format!(
                        "no call arrives in {} at {} calls/s (expected rate × duration of at least 1)",
                        humantime::format_duration(arrivals.duration),
                        number(arrivals.rate_per_s)
                    ),
                    "no arrivals",
                ));
            }
            Some(arrivals)
        }
        None => None,
    };
    let plan = builder.build().map_err(|err| plan_error(err, &calls, map))?;
    Ok((plan, models, arrivals))
}

/// The dependency edges (call, dependency) by index in input order, after checking that
/// ids are unique and every id named exists and is not the call's own.
pub(super) fn edges(
    file: &ScenarioFile,
    counts: &[usize],
    calls: &Calls<'_>,
    builder: &PlanBuilder,
    map: &SourceMap,
) -> Result<Vec<(u32, u32)>> {
    let ids = builder.calls();
    if let Some(repeat) = builder.repeated_id() {
        let (first, i) = (repeat.first.index(), repeat.again.index());
        let line = map.line(calls.site(first).start);
        let by = if i < file.calls.len() {
            ""
        } else {
            "generated by this block, "
        };
        return Err(map.error(
            calls.site(i),
            format!(
                "duplicate call id {} ({by}first defined at line {line})",
                quoted(&ids[i].id)
            ),
            format!("expected an id not used before (line {line})"),
        ));
    }
    let index = Index {
        builder,
        longest: builder.longest_id(),
    };
    // Indices fit in u32 (at most MAX_CALLS); pairs of them halve this buffer for long chains.
    let mut edges: Vec<(u32, u32)> = Vec::new();
    for (i, call) in file.calls.iter().enumerate() {
        let c = call.get_ref();
        for dep in dependencies(&c.depends_on, c.params.as_ref(), &index, map)? {
            if dep.idx == i {
                return Err(self_dependency(&ids[i].id, &dep, "call", map));
            }
            edges.push((i as u32, dep.idx as u32));
        }
    }
    for (b, (block, &count)) in file.generate.iter().zip(counts).enumerate() {
        let g = block.get_ref();
        let deps = dependencies(&g.depends_on, g.params.as_ref(), &index, map)?;
        check_dependency_total(edges.len(), count, deps.len() + usize::from(g.chain), block, map)?;
        let start = calls.starts[b];
        for (i, call) in ids.iter().enumerate().skip(start).take(count) {
            for dep in &deps {
                if dep.idx == i {
                    return Err(self_dependency(&call.id, dep, "generated call", map));
                }
                edges.push((i as u32, dep.idx as u32));
            }
            if g.chain && i > start {
                edges.push((i as u32, i as u32 - 1));
            }
        }
    }
    Ok(edges)
}

/// Refuses a `[[generate]]` block whose `count` calls, `per_call` dependencies each,
/// would bring the scenario above [`MAX_DEPENDENCIES`] edges, before any is stored:
/// a block repeats its dependencies for every call it makes.
pub(super) fn check_dependency_total(
    before: usize,
    count: usize,
    per_call: usize,
    block: &Spanned<GenerateTable>,
    map: &SourceMap,
) -> Result<()> {
    let total = count.saturating_mul(per_call).saturating_add(before);
    if total <= MAX_DEPENDENCIES {
        return Ok(());
    }
    let span = block.get_ref().count.as_ref().map_or(block.span(), Spanned::span);
    Err(map.error(
        span,
        format!(
            "this block gives each of its {count} calls {per_call} dependencies, which brings the scenario to \
             {total} dependencies, above the limit of {MAX_DEPENDENCIES} (expected fewer; a join call that depends \
             on the others, and that the block depends on, needs only one dependency per call)"
        ),
        format!("expected at most {MAX_DEPENDENCIES} dependencies in all"),
    ))
}

/// Call ids to their index, for `depends_on` and references.
pub(super) struct Index<'b> {
    pub(super) builder: &'b PlanBuilder,
    /// The length of the longest id, in bytes: no longer prefix of a reference can name
    /// a call.
    pub(super) longest: usize,
}

impl Index<'_> {
    /// The index of the call with this id.
    pub(super) fn get(&self, id: &str) -> Option<usize> {
        self.builder.find(id).map(CallIdx::index)
    }
}

/// Tool names to ids, for the calls that name them.
pub(super) struct Tools<'a, 'f> {
    pub(super) ids: HashMap<&'f str, ToolId>,
    /// In file order, for "expected one of" lists.
    pub(super) names: Vec<&'f str>,
    pub(super) map: &'a SourceMap,
}

impl Tools<'_, '_> {
    /// The tool `tool` names; `owner` (the call or block) is blamed when there is none.
    pub(super) fn resolve<'t>(
        &self,
        tool: Option<&'t Spanned<String>>,
        owner: Range<usize>,
        what: &str,
    ) -> Result<(ToolId, &'t str)> {
        let Some(tool) = tool else {
            return Err(self.map.error(
                owner,
                format!("{what} has no `tool` (expected tool = one of: {})", one_of(&self.names)),
                "tool missing",
            ));
        };
        match self.ids.get(tool.get_ref().as_str()) {
            Some(&id) => Ok((id, tool.get_ref().as_str())),
            None => Err(self.map.error(
                tool.span(),
                format!(
                    "unknown tool {} (expected one of: {})",
                    quoted(tool.get_ref()),
                    one_of(&self.names)
                ),
                "unknown tool",
            )),
        }
    }
}

/// Where each call was defined, without keeping a span per generated call.
pub(super) struct Calls<'f> {
    pub(super) file: &'f ScenarioFile,
    /// Index of the first call of each `[[generate]]` block.
    pub(super) starts: Vec<usize>,
}

impl Calls<'_> {
    /// The span that defines call `i`: its `id`, or its block's `id_prefix` (or `tool`).
    pub(super) fn site(&self, i: usize) -> Range<usize> {
        if let Some(call) = self.file.calls.get(i) {
            return call.get_ref().id.as_ref().map_or(call.span(), Spanned::span);
        }
        let b = self.starts.partition_point(|&s| s <= i).saturating_sub(1);
        self.file.generate.get(b).map_or(0..0, block_site)
    }

    /// The index of the call with this id, found without an index (only errors need it).
    pub(super) fn find(&self, id: &str) -> Option<usize> {
        if let Some(i) = self
            .file
            .calls
            .iter()
            .position(|c| c.get_ref().id.as_ref().is_some_and(|c| c.get_ref() == id))
        {
            return Some(i);
        }
        self.file.generate.iter().zip(&self.starts).find_map(|(block, &start)| {
            let g = block.get_ref();
            let prefix = g.id_prefix.as_ref().or(g.tool.as_ref())?.get_ref();
            let n: usize = id.strip_prefix(prefix.as_str())?.parse().ok()?;
            let count = usize::try_from(*g.count.as_ref()?.get_ref()).ok()?;
            ((1..=count).contains(&n) && format!("{prefix}{n}") == id).then(|| start + n - 1)
        })
    }
}

pub(super) fn block_site(block: &Spanned<GenerateTable>) -> Range<usize> {
    let g = block.get_ref();
    g.id_prefix
        .as_ref()
        .or(g.tool.as_ref())
        .map_or(block.span(), Spanned::span)
}

pub(super) fn self_dependency(id: &str, dep: &Dep, what: &str, map: &SourceMap) -> ScenarioError {
    match &dep.reference {
        None => map.error(
            dep.span.clone(),
            format!(
                "{what} {} depends on itself (expected the ids of other calls)",
                quoted(id)
            ),
            "the call's own id",
        ),
        Some(text) => map.error(
            dep.span.clone(),
            format!(
                "{what} {} refers to its own result in {} (expected references to other calls)",
                quoted(id),
                quoted(text)
            ),
            "the call's own result",
        ),
    }
}

pub(super) fn plan_error(err: PlanError, calls: &Calls<'_>, map: &SourceMap) -> ScenarioError {
    let at = |id: &str| calls.find(id).map_or(0..0, |i| calls.site(i));
    let message = err.to_string();
    match err {
        PlanError::Cycle(ids) => map.error(
            at(&ids[0]),
            format!(
                "{} (each call waits for the one before it; expected dependencies without a cycle)",
                cycle_message(&ids)
            ),
            "this call waits for itself through the cycle",
        ),
        PlanError::DuplicateCall(id) | PlanError::SelfDependency(id) => map.error(at(&id), message, "here"),
        PlanError::Empty | PlanError::DuplicateTool(_) | PlanError::InvalidRateLimit { .. } => {
            // The checks above reject these first, with better spans; keep a located error
            // anyway rather than trusting that forever.
            map.error(0..0, message, "here")
        }
    }
}

/// Calls of a long cycle a message names at its start and again at its end.
pub(super) const CYCLE_ENDS: usize = 4;

/// "dependency cycle: a -> b -> a", as PlanError says it, or for a cycle through
/// thousands of generated calls, its length and both ends of it; ids [`shown`] short.
pub(super) fn cycle_message(ids: &[String]) -> String {
    let path = |ids: &[String]| ids.iter().map(|id| shown(id)).collect::<Vec<_>>().join(" -> ");
    // `ids` repeats its first call last.
    if ids.len() <= 2 * CYCLE_ENDS + 1 {
        return format!("dependency cycle: {}", path(ids));
    }
    format!(
        "dependency cycle through {} calls: {} -> … -> {}",
        ids.len() - 1,
        path(&ids[..CYCLE_ENDS]),
        path(&ids[ids.len() - CYCLE_ENDS..])
    )
}

/// The calls a call (or every call of a block) depends on: `depends_on` entries, then
/// `${ID.FIELD}` references in `params`.
pub(super) fn dependencies(
    depends_on: &[Spanned<String>],
    params: Option<&Spanned<toml::Table>>,
    index: &Index<'_>,
    map: &SourceMap,
) -> Result<Vec<Dep>> {
    let mut deps = Vec::with_capacity(depends_on.len());
    for dep in depends_on {
        let Some(idx) = index.get(dep.get_ref().as_str()) else {
            return Err(map.error(
                dep.span(),
                format!(
                    "unknown call id {} in depends_on ({CALL_EXPECTED})",
                    quoted(dep.get_ref())
                ),
                "unknown call id",
            ));
        };
        deps.push(Dep {
            idx,
            span: dep.span(),
            reference: None,
        });
    }
    let Some(params) = params else { return Ok(deps) };
    let mut refs = Vec::new();
    for value in params.get_ref().values() {
        collect_references(value, &mut refs);
    }
    // toml does not keep spans inside arbitrary values; the reference's own text in the
    // params is the next best place, unless escapes hide it. One pass finds where each is
    // first written (searching the text once per reference would be quadratic).
    let written = written_params(params.span(), map);
    let mut first_written: HashMap<&str, usize> = HashMap::new();
    for (at, inner) in references_at(written) {
        first_written.entry(inner).or_insert(at);
    }
    let first_ref = deps.len();
    for inner in refs {
        let text = format!("${{{inner}}}");
        let span = first_written.get(inner).map_or(params.span(), |&at| {
            let start = params.span().start + at;
            start..start + text.len()
        });
        let Some(idx) = resolve_reference(inner, index) else {
            let id = inner.split('.').next().unwrap_or(inner);
            return Err(map.error(
                span,
                format!("unknown call id {} in {} ({CALL_EXPECTED})", quoted(id), quoted(&text)),
                "unknown call id",
            ));
        };
        deps.push(Dep {
            idx,
            span,
            reference: Some(text),
        });
    }
    // toml hands tables over sorted by key; the order written reads better in reports.
    deps[first_ref..].sort_by_key(|d| d.span.start);
    Ok(deps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use crate::scenario::expand::test_support::*;
    use crate::scenario::parse;

    #[test]
    fn explicit_and_detected_dependencies_are_kept_once() {
        let s = ok(&format!(
            "{TOOL}[[calls]]\nid = \"s1\"\ntool = \"a\"\n\
             [[calls]]\nid = \"x\"\ntool = \"a\"\ndepends_on = [\"s1\", \"s1\"]\n\
             params = {{ a = \"${{s1.result}}\", b = [\"${{s1.items}} and ${{s1.result}}\"] }}\n"
        ));
        assert_eq!(deps_of(&s, "x"), ["s1"]);
    }

    #[test]
    fn generated_ids_count_from_one_with_the_tool_name_as_default_prefix() {
        let s = ok(&format!("{TOOL}[[generate]]\ntool = \"a\"\ncount = 3\npriority = -2\n"));
        let ids: Vec<_> = s.plan.calls().iter().map(|c| (c.id.as_str(), c.priority)).collect();
        assert_eq!(ids, [("a1", -2), ("a2", -2), ("a3", -2)]);
        assert!(s.plan.indices().all(|i| s.plan.deps(i).is_empty()));
    }

    #[test]
    fn chained_blocks_depend_on_the_previous_call_and_on_depends_on() {
        let s = ok(&format!(
            "{TOOL}[[generate]]\ntool = \"a\"\ncount = 3\nid_prefix = \"w\"\nchain = true\n\
             depends_on = [\"root\"]\nparams = {{ after = \"${{other.result}}\" }}\n\
             [[calls]]\nid = \"root\"\ntool = \"a\"\n\
             [[calls]]\nid = \"other\"\ntool = \"a\"\n"
        ));
        // [[calls]] come first even though the block is written above them.
        let order: Vec<_> = s.plan.calls().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(order, ["root", "other", "w1", "w2", "w3"]);
        assert_eq!(deps_of(&s, "w1"), ["root", "other"]);
        assert_eq!(deps_of(&s, "w2"), ["root", "other", "w1"]);
        assert_eq!(deps_of(&s, "w3"), ["root", "other", "w2"]);
    }

    #[test]
    fn a_cycle_through_generated_calls_points_at_their_block() {
        let source = format!(
            "{TOOL}[[calls]]\nid = \"head\"\ntool = \"a\"\ndepends_on = [\"n3\"]\n\
             [[generate]]\ntool = \"a\"\ncount = 3\nid_prefix = \"n\"\nchain = true\ndepends_on = [\"head\"]\n"
        );
        let err = parse(&source, Path::new("c.toml")).unwrap_err();
        let at = err.located().unwrap();
        // Every generated call waits for `head`, which waits for the last of them.
        assert!(at.message.starts_with("dependency cycle: n3 -> head -> n3 ("), "{err}");
        assert_eq!(&source[at.span.clone()], "\"n\"");
    }

    #[test]
    fn a_generated_call_that_depends_on_itself_is_named() {
        let err = parse(
            &format!("{TOOL}[[generate]]\ntool = \"a\"\ncount = 3\ndepends_on = [\"a2\"]\n"),
            Path::new("c.toml"),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("generated call `a2` depends on itself"),
            "{err}"
        );
    }

    #[test]
    fn call_totals_above_the_limit_are_refused_before_expansion() {
        let half = MAX_CALLS / 2 + 1;
        let err = parse(
            &format!("{TOOL}[[generate]]\ntool = \"a\"\ncount = {half}\n[[generate]]\ntool = \"a\"\ncount = {half}\nid_prefix = \"b\"\n"),
            Path::new("c.toml"),
        )
        .unwrap_err();
        let at = err.located().unwrap();
        assert_eq!(at.line, 9);
        assert!(at.message.contains(&MAX_CALLS.to_string()), "{err}");
    }

    #[test]
    fn dependencies_repeated_by_a_block_are_counted_before_they_are_stored() {
        let deps: Vec<String> = (1..=6).map(|i| format!("\"c{i}\"")).collect();
        let calls: String = (1..=6)
            .map(|i| format!("[[calls]]\nid = \"c{i}\"\ntool = \"a\"\n"))
            .collect();
        let count = MAX_DEPENDENCIES / 6 + 1;
        let source = format!(
            "{TOOL}{calls}[[generate]]\ntool = \"a\"\ncount = {count}\ndepends_on = [{}]\n",
            deps.join(", ")
        );
        let err = parse(&source, Path::new("d.toml")).unwrap_err();
        let at = err.located().unwrap();
        assert_eq!(at.line, 24, "{err}");
        assert!(
            at.message
                .contains(&format!("each of its {count} calls 6 dependencies")),
            "{err}"
        );
        assert!(at.message.contains(&MAX_DEPENDENCIES.to_string()), "{err}");
    }

    #[test]
    fn a_long_cycle_is_named_by_its_length_and_its_ends() {
        let short: Vec<String> = ["a", "b", "a"].map(String::from).to_vec();
        assert_eq!(cycle_message(&short), PlanError::Cycle(short.clone()).to_string());
        let long: Vec<String> = (0..1000).chain([0]).map(|i| format!("g{i}")).collect();
        assert_eq!(
            cycle_message(&long),
            "dependency cycle through 1000 calls: g0 -> g1 -> g2 -> g3 -> … -> g997 -> g998 -> g999 -> g0"
        );
    }
}
