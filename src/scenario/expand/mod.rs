//! From the parsed file to a [`Scenario`]: value checks, `[[generate]]` expansion,
//! `${id.field}` reference detection, and the [`Plan`](crate::plan::Plan).
//!
//! The checks live here rather than in serde so that each error can point at the value at
//! fault and say what was expected; serde only guarantees the shape.

mod arrivals;
mod graph;
mod params;
mod real;
mod references;
mod settings;
mod sweep;
mod tools;

use std::num::NonZeroUsize;
use std::time::Duration;

use toml::Spanned;

use super::error::{ScenarioError, SourceMap};
use super::model::{HumanDuration, ScenarioFile};
use super::{MAX_CALLS, Scenario};
use graph::{generated_counts, plan};
use params::tool_params;
use settings::{cpu_cores, description, executor, name};
use sweep::{expectations, sweep};
use tools::tools;

pub(super) type Result<T> = std::result::Result<T, ScenarioError>;

// Call indices are kept as u32 while edges are collected.
const _: () = assert!(MAX_CALLS <= u32::MAX as usize);

/// What an unknown call id should have been, for messages.
pub(super) const CALL_EXPECTED: &str = "expected the id of a [[calls]] entry or of a generated call";

/// Checks everything the file's shape does not, and builds the scenario.
pub(crate) fn expand(mut file: ScenarioFile, map: &SourceMap) -> Result<Scenario> {
    let name = name(file.name.take(), map)?;
    let description = description(file.description.take(), map)?;
    let executor = executor(&file.executor, file.seed, map)?;
    let cpu_cores = file.cpu_cores.as_ref().map(|c| cpu_cores(c, map)).transpose()?;
    let counts = generated_counts(&file, map)?;
    let tools = tools(&file.tools.0, &executor, map)?;
    let params = tool_params(&file, map)?;
    let real_tools: Vec<_> = tools.iter().map(|t| t.real.clone()).collect();
    let (plan, models, arrivals) = plan(&file, tools, &counts, map)?;
    let call_params = real::call_params(&file, &counts, &plan);
    let expect = expectations(&file.expect, map)?;
    // Arriving calls come after every closed one.
    let closed = plan.closed_calls();
    let sweep = file
        .sweep
        .as_ref()
        .map(|s| sweep(s, arrivals.as_ref().map(|a| (a, closed)), map))
        .transpose()?;
    Ok(Scenario {
        name,
        description,
        seed: file.seed,
        plan,
        models,
        params,
        real: real_tools,
        call_params,
        executor,
        cpu_cores,
        expect,
        sweep,
        arrivals,
    })
}

pub(super) fn nonzero_usize(v: &Spanned<i64>, key: &str, expected: &str, map: &SourceMap) -> Result<NonZeroUsize> {
    let n = *v.get_ref();
    usize::try_from(n).ok().and_then(NonZeroUsize::new).ok_or_else(|| {
        let problem = if n < 1 { "at least 1" } else { "smaller" };
        map.error(v.span(), format!("{key} must be {problem} ({expected})"), expected)
    })
}

pub(super) fn positive_duration(v: &Spanned<HumanDuration>, key: &str, map: &SourceMap) -> Result<Duration> {
    let d = v.get_ref().0;
    if d.is_zero() {
        return Err(map.error(
            v.span(),
            format!("{key} must be greater than zero (expected a positive duration like \"2s\")"),
            "expected a positive duration",
        ));
    }
    Ok(d)
}

#[cfg(test)]
pub(super) mod test_support {
    use crate::plan::CallIdx;
    use std::path::Path;

    use super::*;

    use crate::scenario::parse;

    /// The full example of the scenario format, as the design first wrote it.
    pub(super) const DESIGN_EXAMPLE: &str = r#"
name = "independent_io"           # required
description = "..."
seed = 42

[executor]
max_concurrency = 5                # integer or "auto"
timeout = "2s"                     # per attempt (humantime durations everywhere)
deadline = "30s"                   # whole run
on_dependency_failure = "skip"     # or "run"
mode = "window"                    # or "batch" with batch_size
[executor.retry]
max_attempts = 3
initial_backoff = "50ms"
multiplier = 2.0
max_backoff = "1s"
jitter = "full"                    # or "none", "equal"

[tools.search]
kind = "io"                        # or "cpu"
latency = { dist = "lognormal", median = "120ms", p99 = "800ms" }
failure_rate = 0.05                # probability that an attempt fails
timeout_rate = 0.0                 # probability that an attempt hangs until its timeout
max_concurrency = 3                # optional per-tool limit
rate_limit = 20.0                  # optional, calls per second

[tools.parse]
kind = "cpu"                       # latency is CPU time on one core
latency = { dist = "constant", value = "20ms" }

[[calls]]
id = "s1"
tool = "search"
priority = 5
params = { query = "Python" }

[[calls]]
id = "analyze"
tool = "analyze"
params = { data = "${s1.result}" } # detected dependency on s1
depends_on = ["w1"]                # explicit dependency

[[generate]]                       # many similar calls
tool = "search"
count = 1000
id_prefix = "s"

[expect]                           # checked by `run`; failures give a non-zero exit
min_speedup = 4.5
min_efficiency = 0.9
min_success_rate = 0.9
max_p99 = "1s"

[sweep]                            # used by `tune`
max_concurrency = [1, 2, 4, 8, 16, 32]
slo_p99 = "500ms"

"#;

    /// What the example needs besides itself: the `analyze` tool and the `w1` call.
    pub(super) const DESIGN_ADDITIONS: &str = r#"
[tools.analyze]
latency = { dist = "constant", value = "5ms" }

[[calls]]
id = "w1"
tool = "parse"
"#;

    pub(super) fn design() -> String {
        // The example's generated ids s1..s1000 clash with its call `s1`; a prefix of its
        // own keeps every other line as written.
        format!("{DESIGN_EXAMPLE}{DESIGN_ADDITIONS}").replace("id_prefix = \"s\"", "id_prefix = \"g\"")
    }

    pub(super) fn ok(source: &str) -> Scenario {
        parse(source, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    pub(super) fn ids(s: &Scenario, deps: &[CallIdx]) -> Vec<String> {
        deps.iter().map(|&d| s.plan.call(d).id.to_string()).collect()
    }

    pub(super) fn deps_of(s: &Scenario, id: &str) -> Vec<String> {
        let call = s.plan.find(id).unwrap_or_else(|| panic!("no call {id}"));
        ids(s, s.plan.deps(call))
    }

    pub(super) const TOOL: &str = "name = \"t\"\n[tools.a]\nlatency = { dist = \"constant\", value = \"10ms\" }\n";

    pub(super) const OPEN_LOOP: &str = r#"
name = "open"
[tools.fast]
latency = { dist = "constant", value = "10ms" }
[tools.slow]
latency = { dist = "constant", value = "50ms" }
[[calls]]
id = "warmup"
tool = "slow"
[arrivals]
process = "constant"
rate = 20.0
duration = "1s"
mix = { fast = 1 }
id_prefix = "r"
"#;
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::path::Path;

    use super::test_support::*;
    use super::*;
    use crate::executor::{Jitter, OnDependencyFailure, RetryPolicy, Schedule};
    use crate::plan::ToolKind;
    use crate::scenario::{Expectations, parse};
    use crate::sim::Latency;

    #[test]
    fn the_design_example_becomes_the_expected_plan() {
        let s = ok(&design());
        assert_eq!(s.name, "independent_io");
        assert_eq!(s.description, "...");
        assert_eq!(s.seed, 42);

        let tools: Vec<_> = s.plan.tools().iter().map(|t| (t.name.as_str(), t.kind)).collect();
        assert_eq!(
            tools,
            [
                ("search", ToolKind::Io),
                ("parse", ToolKind::Cpu),
                ("analyze", ToolKind::Io)
            ]
        );
        let search = &s.plan.tools()[0];
        assert_eq!(search.max_concurrency, NonZeroUsize::new(3));
        assert_eq!(search.rate_limit_per_s, Some(20.0));
        assert_eq!(s.models.len(), 3);
        assert_eq!(s.models[0].failure.failure_rate(), 0.05);
        assert_eq!(
            s.models[0].latency,
            Latency::lognormal(Duration::from_millis(120), Duration::from_millis(800)).unwrap()
        );
        assert_eq!(s.models[1].latency, Latency::constant(Duration::from_millis(20)));

        // [[calls]] in order, then the generated calls.
        let calls = s.plan.calls();
        assert_eq!(calls.len(), 3 + 1000);
        let first: Vec<_> = calls[..5].iter().map(|c| c.id.as_str()).collect();
        assert_eq!(first, ["s1", "analyze", "w1", "g1", "g2"]);
        assert_eq!(calls[1002].id, "g1000");
        assert_eq!(calls[0].priority, 5);
        assert_eq!(calls[1].tool.index(), 2);
        assert_eq!(deps_of(&s, "analyze"), ["w1", "s1"]);
        assert!(calls[3..].iter().all(|c| c.tool.index() == 0));
        assert!(s.plan.indices().skip(3).all(|i| s.plan.deps(i).is_empty()));

        let e = &s.executor;
        assert_eq!(e.max_concurrency.get(), 5);
        assert_eq!(e.attempt_timeout, Some(Duration::from_secs(2)));
        assert_eq!(e.deadline, Some(Duration::from_secs(30)));
        assert_eq!(e.on_dependency_failure, OnDependencyFailure::Skip);
        assert_eq!(e.schedule, Schedule::Window);
        assert_eq!(e.seed, 42);
        let retry = RetryPolicy::new(
            NonZeroU32::new(3).unwrap(),
            Duration::from_millis(50),
            2.0,
            Duration::from_secs(1),
            Jitter::Full,
        )
        .unwrap();
        assert_eq!(e.retry, retry);

        assert_eq!(
            s.expect,
            Expectations {
                min_speedup: Some(4.5),
                min_efficiency: Some(0.9),
                min_success_rate: Some(0.9),
                max_p99: Some(Duration::from_secs(1)),
            }
        );
        let sweep = s.sweep.unwrap();
        let limits: Vec<_> = sweep.max_concurrency.iter().map(|n| n.get()).collect();
        assert_eq!(limits, [1, 2, 4, 8, 16, 32]);
        assert_eq!(sweep.slo_p99, Some(Duration::from_millis(500)));
    }

    #[test]
    fn the_design_example_as_written_reuses_the_id_s1() {
        let source = format!("{DESIGN_EXAMPLE}{DESIGN_ADDITIONS}");
        let err = parse(&source, Path::new("design.toml")).unwrap_err();
        let at = err.located().unwrap();
        assert!(at.message.starts_with("duplicate call id `s1`"), "{err}");
        assert_eq!(&source[at.span.clone()], "\"s\"");
        let first = source.find("id = \"s1\"").unwrap();
        assert!(at.message.contains(&format!(
            "first defined at line {}",
            source[..first].lines().count() + 1
        )));
    }
}
