//! Scenario files: TOML in, a checked [`Scenario`] out, or an error that points into the
//! file.
//!
//! A scenario describes tools (latency and failure models, limits), the calls to make and
//! their dependencies, the executor settings, and what the run is expected to achieve. This
//! module is the only place that knows the file format: everything after it works on a
//! [`Plan`], [`ToolModel`]s and an [`ExecutorConfig`], so the executor never sees TOML and
//! the format can change without touching it.
//!
//! Every problem a user can make in a file (syntax, unknown key, wrong type, unknown tool
//! or call, cycle, nonsense values) is a [`ScenarioError::Invalid`] with the file, line,
//! column and byte span, and a message that says what was expected. Nothing here panics on
//! user input.
//!
//! # Call order
//!
//! Calls are numbered in this order: every `[[calls]]` entry in file order, then every
//! `[[generate]]` block in file order, each expanded to `{id_prefix}1`..=`{id_prefix}{count}`.
//! A `[[generate]]` block written above a `[[calls]]` entry still comes after it: TOML keeps
//! the order within each array of tables, not between two arrays.
//!
//! # Dependencies
//!
//! A call depends on the ids in its `depends_on` and on every call named by a reference
//! `${ID.FIELD}` found in any string of its `params`, however deeply nested (`FIELD` is any
//! non-empty name, such as `result`). When an id contains dots, the longest prefix that
//! names a call wins. Text like `${HOME}`, without a dot, is not a reference. A call that
//! names itself, an unknown id, or a cycle is an error.
//!
//! # Examples
//!
//! ```
//! use std::path::Path;
//!
//! let scenario = parabench::scenario::parse(
//!     r#"
//!     name = "fan_in"
//!     [tools.search]
//!     latency = { dist = "constant", value = "100ms" }
//!     [[generate]]
//!     tool = "search"
//!     count = 3
//!     [[calls]]
//!     id = "merge"
//!     tool = "search"
//!     params = { inputs = ["${search1.result}", "${search2.result}", "${search3.result}"] }
//!     "#,
//!     Path::new("fan_in.toml"),
//! )
//! .unwrap();
//!
//! let merge = scenario.plan.find("merge").unwrap();
//! assert_eq!(scenario.plan.calls()[0].id, "merge");
//! assert_eq!(scenario.plan.deps(merge).len(), 3);
//! assert_eq!(scenario.executor.max_concurrency.get(), 5);
//!
//! let err = parabench::scenario::parse("name = \"x\"\nseed = -1\n", Path::new("x.toml")).unwrap_err();
//! assert!(err.to_string().starts_with("x.toml:2:8: "));
//! ```

pub mod arrivals;
mod error;
mod expand;
mod model;
mod nesting;
pub mod params;
pub mod real;
pub mod shipped;

use std::fs::File;
use std::io::{self, Read};
use std::num::NonZeroUsize;
use std::path::Path;
use std::time::Duration;

pub use arrivals::{ArrivalProcess, Arrivals, ArrivalsError};
pub use error::{Located, ScenarioError};
pub use params::{ParamType, ToolParams};
pub use real::RealTool;
pub use shipped::{SHIPPED, Shipped, load_or_shipped};

use crate::executor::ExecutorConfig;
use crate::plan::Plan;
use crate::sim::ToolModel;
use error::SourceMap;

/// Largest scenario file [`load`] reads: 16 MiB, far above any hand-written scenario
/// (`[[generate]]` makes large ones small), and small enough to refuse a wrong path
/// quickly.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Most calls a scenario may have once `[[generate]]` blocks are expanded.
///
/// Checked before anything is allocated, so `count = 1000000000` is an error rather
/// than an exhausted machine.
pub const MAX_CALLS: usize = 10_000_000;

/// Most dependency edges a scenario may have once `[[generate]]` blocks are expanded.
///
/// A block repeats its `depends_on` and references for each of its calls, so a file of a
/// few kilobytes could otherwise ask for billions of edges; checked per block, before
/// they are stored.
pub const MAX_DEPENDENCIES: usize = 10_000_000;

/// Deepest nesting of arrays, inline tables and dotted keys in a scenario file.
///
/// Checked in one pass before the file is parsed, so a file of a million `[` is a located
/// error rather than deep recursion; below the `toml` crate's own limit of 80.
pub const MAX_NESTING: usize = 64;

/// Most attempts `[executor.retry] max_attempts` may ask for per call.
///
/// With calls that always fail, each attempt is simulated, so a count in the billions
/// would make a run that never ends.
pub const MAX_ATTEMPTS: u32 = 100;

/// Longest duration a scenario may give (latencies, timeouts, backoffs, deadline,
/// arrivals): one year (365.25 days).
///
/// Far above any tool call, and small enough that sums over every attempt of every call
/// stay far from overflowing a [`Duration`]. A simulated draw is capped at the same
/// value ([`crate::sim::latency::MAX_LATENCY`]).
pub const MAX_DURATION: Duration = crate::sim::latency::MAX_LATENCY;

/// Most cores `cpu_cores` may give the virtual clock.
pub const MAX_CPU_CORES: usize = 4096;

/// A checked scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The scenario's name (top-level `name`), never empty.
    pub name: String,
    /// Top-level `description`; "" when absent.
    pub description: String,
    /// Top-level `seed` of every random draw; 0 when absent.
    pub seed: u64,
    /// The tools, calls (in the order described in the [module docs](self)) and
    /// dependencies.
    pub plan: Plan,
    /// How each tool behaves, indexed by [`ToolId::index`](crate::plan::ToolId::index).
    pub models: Vec<ToolModel>,
    /// Each tool's parameters (declared, or those its calls pass), indexed as `models`:
    /// what `parabench serve` lists in the tool's input schema.
    pub params: Vec<ToolParams>,
    /// What each real tool calls (`kind = "mcp"` or `"http"`), indexed as `models`;
    /// `None` for a simulated tool.
    pub real: Vec<Option<RealTool>>,
    /// The params each call of a real tool is sent, by call index (references to other
    /// calls' results still in their strings); empty when no tool is real.
    pub call_params: Vec<Option<std::sync::Arc<serde_json::Value>>>,
    /// `[executor]`, with `max_concurrency = "auto"` resolved for this machine and `seed`
    /// set to the scenario's seed.
    pub executor: ExecutorConfig,
    /// Top-level `cpu_cores`: the cores the virtual clock models for CPU tools; `None`
    /// leaves the choice to the runner.
    pub cpu_cores: Option<NonZeroUsize>,
    /// `[expect]`: what `run --check` requires.
    pub expect: Expectations,
    /// `[sweep]`: what `tune` tries.
    pub sweep: Option<Sweep>,
    /// `[arrivals]`: an open-loop load, whose calls come after every other call in the
    /// plan, each with its arrival time.
    pub arrivals: Option<Arrivals>,
}

/// `[expect]`: thresholds a run must meet; `None` is not checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expectations {
    /// Sequential wall time over parallel wall time, at least; positive and finite.
    pub min_speedup: Option<f64>,
    /// Speedup over its work–span bound, at least; in (0, 1].
    pub min_efficiency: Option<f64>,
    /// Fraction of calls whose outcome is `ok`, at least; in [0, 1].
    pub min_success_rate: Option<f64>,
    /// 99th percentile of call latency, at most.
    pub max_p99: Option<Duration>,
}

/// `[sweep]`: the concurrency limits `tune` tries, and the latency objective it picks by.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// Limits to try, as written; never empty.
    pub max_concurrency: Vec<NonZeroUsize>,
    /// The p99 the recommended limit must stay under.
    pub slo_p99: Option<Duration>,
    /// Arrival rates (calls per second, positive, increasing) to sweep at the
    /// recommended limit; empty when not given. Only with `[arrivals]`.
    pub rates: Vec<f64>,
}

impl Scenario {
    /// What each real tool calls, by tool: `mcp URL (tool NAME)`, `mcp stdio: COMMAND
    /// (tool NAME)` or `http METHOD URL`; empty when every tool is simulated.
    pub fn real_targets(&self) -> Vec<(String, String)> {
        self.plan
            .tools()
            .iter()
            .zip(&self.real)
            .filter_map(|(spec, real)| Some((spec.name.clone(), real.as_ref()?.target.describe())))
            .collect()
    }
}

/// Reads and checks the scenario file at `path`.
///
/// # Errors
///
/// [`ScenarioError::Io`] when the file cannot be read or is larger than
/// [`MAX_FILE_BYTES`]; [`ScenarioError::Invalid`] when it is not valid UTF-8 or
/// [`parse`] rejects it.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let io_error = |source| ScenarioError::Io {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    // `take` rather than trusting the file's size: a pipe or /dev/zero has none.
    File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(io_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(io_error(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "the file is larger than {} MiB, the limit for a scenario (use [[generate]] for many calls)",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        )));
    }
    match String::from_utf8(bytes) {
        Ok(source) => parse(&source, path),
        Err(err) => {
            let at = err.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(err.as_bytes());
            Err(SourceMap::new(path, &lossy).error(
                at..at + 1,
                "the file is not valid UTF-8 (expected a UTF-8 text file)",
                "invalid UTF-8",
            ))
        }
    }
}

/// The scenario files in `dir`: every `*.toml`, sorted by path, so benches and tests
/// pick up a new scenario without being told.
///
/// # Errors
///
/// When `dir` cannot be read.
pub fn discover(dir: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// Checks the scenario in `source`; `path` is only used in error messages.
///
/// # Errors
///
/// [`ScenarioError::Invalid`], located in `source`, for the first problem found.
pub fn parse(source: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let map = SourceMap::new(path, source);
    if let Some(deep) = nesting::too_deep(source) {
        return Err(map.error(
            deep.span,
            format!(
                "arrays, inline tables and dotted keys nest {} levels deep here, above the limit of {MAX_NESTING} \
                 (expected at most {MAX_NESTING} levels)",
                deep.depth
            ),
            format!("nested deeper than {MAX_NESTING} levels"),
        ));
    }
    let file: model::ScenarioFile = toml::from_str(source).map_err(|e| map.toml(&e))?;
    expand::expand(file, &map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discover_finds_every_toml_file_in_order() {
        let dir = std::env::temp_dir().join(format!("parabench-discover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("nested.toml")).unwrap();
        for name in ["b.toml", "a.toml", "notes.md"] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        let found = discover(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found, [dir.join("a.toml"), dir.join("b.toml")]);
        assert!(discover(&dir).is_err(), "a missing directory is an error");
    }

    #[test]
    fn load_reports_missing_files_with_their_path() {
        let err = load(Path::new("/nonexistent/parabench/x.toml")).unwrap_err();
        assert!(matches!(err, ScenarioError::Io { .. }));
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/parabench/x.toml: "),
            "{err}"
        );
    }

    #[test]
    fn load_refuses_files_above_the_limit() {
        let path = std::env::temp_dir().join(format!("parabench-scenario-big-{}.toml", std::process::id()));
        let line = "# padding padding padding padding padding padding padding padding\n";
        let big = line.repeat(MAX_FILE_BYTES as usize / line.len() + 1);
        std::fs::write(&path, big).unwrap();
        let err = load(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        let ScenarioError::Io { source, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(source.kind(), io::ErrorKind::FileTooLarge);
        assert!(err.to_string().contains("16 MiB"), "{err}");
    }

    #[test]
    fn load_locates_invalid_utf8() {
        let path = std::env::temp_dir().join(format!("parabench-scenario-utf8-{}.toml", std::process::id()));
        std::fs::write(&path, b"name = \"a\"\n# \xff\n").unwrap();
        let err = load(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        let at = err.located().expect("located");
        assert_eq!((at.line, at.column), (2, 3));
    }
}
