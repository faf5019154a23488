//! From the parsed file to a [`Scenario`]: value checks, `[[generate]]` expansion,
//! `${id.field}` reference detection, and the [`Plan`](crate::plan::Plan).
//!
//! The checks live here rather than in serde so that each error can point at the value at
//! fault and say what was expected; serde only guarantees the shape.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::num::{NonZeroU32, NonZeroUsize};
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::arrivals::{ArrivalProcess, Arrivals};
use super::error::{ScenarioError, SourceMap, hidden, number, one_of, quoted, shown};
use super::model::{
    ArrivalsTable, DependencyFailure, ExecutorTable, ExpectTable, GenerateTable, HumanDuration, JitterName,
    LatencyTable, MaxConcurrency, Mode, ProcessName, RetryTable, ScenarioFile, SweepTable, ToolTable,
};
use super::{Expectations, MAX_ATTEMPTS, MAX_CALLS, MAX_CPU_CORES, MAX_DEPENDENCIES, MAX_DURATION, Scenario, Sweep};
use crate::executor::config::RetryError;
use crate::executor::{Concurrency, ExecutorConfig, Jitter, OnDependencyFailure, RetryPolicy, Schedule};
use crate::plan::{Call, CallIdx, Plan, PlanBuilder, PlanError, ToolId, ToolSpec};
use crate::sim::failure::FailureError;
use crate::sim::latency::LatencyError;
use crate::sim::{FailureModel, Latency, ToolModel};

type Result<T> = std::result::Result<T, ScenarioError>;

// Call indices are kept as u32 while edges are collected.
const _: () = assert!(MAX_CALLS <= u32::MAX as usize);

/// What an unknown call id should have been, for messages.
const CALL_EXPECTED: &str = "expected the id of a [[calls]] entry or of a generated call";

/// Checks everything the file's shape does not, and builds the scenario.
pub(crate) fn expand(mut file: ScenarioFile, map: &SourceMap) -> Result<Scenario> {
    let name = name(file.name.take(), map)?;
    let description = description(file.description.take(), map)?;
    let executor = executor(&file.executor, file.seed, map)?;
    let cpu_cores = file.cpu_cores.as_ref().map(|c| cpu_cores(c, map)).transpose()?;
    let counts = generated_counts(&file, map)?;
    let tools = tools(&file.tools.0, &executor, map)?;
    let (plan, models, arrivals) = plan(&file, tools, &counts, map)?;
    let expect = expectations(&file.expect, map)?;
    // Arriving calls come after every closed one.
    let closed = plan.calls().iter().take_while(|c| c.arrival.is_none()).count();
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
        executor,
        cpu_cores,
        expect,
        sweep,
        arrivals,
    })
}

fn name(name: Option<Spanned<String>>, map: &SourceMap) -> Result<String> {
    let Some(name) = name else {
        return Err(map.error(
            0..0,
            "the scenario has no `name` (expected a top-level key like name = \"independent_io\")",
            "expected `name = \"...\"`",
        ));
    };
    if name.get_ref().trim().is_empty() {
        return Err(map.error(
            name.span(),
            "`name` must not be empty (expected a short name for reports, like \"independent_io\")",
            "expected a non-empty name",
        ));
    }
    printable(&name, "the scenario name", map)?;
    Ok(name.into_inner())
}

/// Free text, on several lines if need be, but without the [`hidden`] characters that
/// would act on the terminal `parabench list` prints it to.
fn description(text: Option<Spanned<String>>, map: &SourceMap) -> Result<String> {
    let Some(text) = text else {
        return Ok(String::new());
    };
    // A carriage return only as part of a Windows line end: alone, it sends the cursor
    // back over what was printed, so the rest of the line hides it.
    let mut chars = text.get_ref().chars().peekable();
    let mut offending = None;
    while let Some(c) = chars.next() {
        let line_break = match c {
            '\n' | '\t' => true,
            '\r' => chars.peek() == Some(&'\n'),
            _ => false,
        };
        if hidden(c) && !line_break {
            offending = Some(c);
            break;
        }
    }
    if let Some(c) = offending {
        return Err(map.error(
            text.span(),
            format!(
                "the description contains the invisible character U+{:04X} (expected printable text, on \
                 several lines if need be)",
                u32::from(c)
            ),
            "expected printable text",
        ));
    }
    Ok(text.into_inner())
}

fn cpu_cores(cores: &Spanned<i64>, map: &SourceMap) -> Result<NonZeroUsize> {
    let n = nonzero_usize(cores, "cpu_cores", "expected a positive number of cores", map)?;
    if n.get() > MAX_CPU_CORES {
        return Err(map.error(
            cores.span(),
            format!("cpu_cores must be at most {MAX_CPU_CORES}, got {n} (expected the cores of a real machine)"),
            format!("expected at most {MAX_CPU_CORES}"),
        ));
    }
    Ok(n)
}

/// Refuses [`hidden`] characters in a name or id that reports print: an ESC could
/// rewrite the terminal, a right-to-left override make one id read as another.
fn printable(text: &Spanned<String>, what: &str, map: &SourceMap) -> Result<()> {
    let Some(c) = text.get_ref().chars().find(|&c| hidden(c)) else {
        return Ok(());
    };
    Err(map.error(
        text.span(),
        format!(
            "{what} {} contains the invisible character U+{:04X} (expected printable text: control and \
             bidirectional characters would garble reports)",
            quoted(text.get_ref()),
            u32::from(c)
        ),
        "expected printable text",
    ))
}

fn executor(table: &ExecutorTable, seed: u64, map: &SourceMap) -> Result<ExecutorConfig> {
    let concurrency = match &table.max_concurrency {
        None => Concurrency::default(),
        Some(limit) => match *limit.get_ref() {
            MaxConcurrency::Auto => Concurrency::Auto,
            MaxConcurrency::Count(n) => Concurrency::Fixed(nonzero_usize(
                &Spanned::new(limit.span(), n),
                "max_concurrency",
                "expected a positive integer or \"auto\"",
                map,
            )?),
        },
    };
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let schedule = match (table.mode.as_ref(), table.batch_size.as_ref()) {
        (Some(mode), Some(size)) if *mode.get_ref() == Mode::Batch => Schedule::Batch {
            size: nonzero_usize(size, "batch_size", "expected a positive number of calls per batch", map)?,
        },
        (Some(mode), None) if *mode.get_ref() == Mode::Batch => {
            return Err(map.error(
                mode.span(),
                "mode = \"batch\" needs `batch_size` (expected batch_size = a positive integer in [executor])",
                "batch_size missing",
            ));
        }
        (_, Some(size)) => {
            return Err(map.error(
                size.span(),
                "batch_size is only used with mode = \"batch\" (expected mode = \"batch\", or no batch_size)",
                "expected mode = \"batch\" with this",
            ));
        }
        _ => Schedule::Window,
    };
    Ok(ExecutorConfig {
        max_concurrency: concurrency.resolve(cores),
        schedule,
        attempt_timeout: table
            .timeout
            .as_ref()
            .map(|t| positive_duration(t, "timeout", map))
            .transpose()?,
        deadline: table
            .deadline
            .as_ref()
            .map(|d| positive_duration(d, "deadline", map))
            .transpose()?,
        retry: table.retry.as_ref().map_or(Ok(RetryPolicy::NONE), |r| retry(r, map))?,
        on_dependency_failure: match table.on_dependency_failure {
            DependencyFailure::Skip => OnDependencyFailure::Skip,
            DependencyFailure::Run => OnDependencyFailure::Run,
        },
        seed,
    })
}

fn retry(table: &Spanned<RetryTable>, map: &SourceMap) -> Result<RetryPolicy> {
    let r = table.get_ref();
    let max_attempts = match &r.max_attempts {
        None => NonZeroU32::MIN,
        Some(n) => u32::try_from(*n.get_ref())
            .ok()
            .filter(|&n| n <= MAX_ATTEMPTS)
            .and_then(NonZeroU32::new)
            .ok_or_else(|| {
                let (problem, label) = if *n.get_ref() < 1 {
                    ("at least 1".to_string(), "expected a positive integer".to_string())
                } else {
                    (
                        format!("at most {MAX_ATTEMPTS}, got {}", n.get_ref()),
                        format!("expected at most {MAX_ATTEMPTS}"),
                    )
                };
                map.error(
                    n.span(),
                    format!("max_attempts must be {problem} (expected a positive integer; 1 means no retries)"),
                    label,
                )
            })?,
    };
    // The documented defaults of [executor.retry] (see model.rs).
    let initial = r
        .initial_backoff
        .as_ref()
        .map_or(Duration::from_millis(50), |d| d.get_ref().0);
    let max = r.max_backoff.as_ref().map_or(Duration::from_secs(1), |d| d.get_ref().0);
    let multiplier = r.multiplier.as_ref().map_or(2.0, |m| *m.get_ref());
    let jitter = match r.jitter {
        JitterName::Full => Jitter::Full,
        JitterName::None => Jitter::None,
        JitterName::Equal => Jitter::Equal,
    };
    RetryPolicy::new(max_attempts, initial, multiplier, max, jitter).map_err(|err| match err {
        RetryError::Multiplier(m) => map.error(
            r.multiplier.as_ref().map_or(table.span(), Spanned::span),
            format!(
                "multiplier must be a finite number of at least 1, got {} (expected e.g. 2.0)",
                number(m)
            ),
            "expected a finite number >= 1",
        ),
        RetryError::MaxBelowInitial { initial, max } => {
            // Point at whichever of the two the user wrote; the other is a default.
            let span = r
                .max_backoff
                .as_ref()
                .or(r.initial_backoff.as_ref())
                .map_or(table.span(), Spanned::span);
            map.error(
                span,
                format!(
                    "max_backoff ({}) is below initial_backoff ({}) (expected max_backoff >= initial_backoff)",
                    humantime::format_duration(max),
                    humantime::format_duration(initial)
                ),
                "expected max_backoff >= initial_backoff",
            )
        }
    })
}

/// The number of calls of each `[[generate]]` block, checked against [`MAX_CALLS`] before
/// anything is allocated for them.
fn generated_counts(file: &ScenarioFile, map: &SourceMap) -> Result<Vec<usize>> {
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

/// A checked tool: its name as written, what the plan needs, and how it behaves.
struct Tool<'f> {
    name: &'f Spanned<String>,
    spec: ToolSpec,
    model: ToolModel,
}

fn tools<'f>(
    tables: &'f [(Spanned<String>, ToolTable)],
    executor: &ExecutorConfig,
    map: &SourceMap,
) -> Result<Vec<Tool<'f>>> {
    if tables.is_empty() {
        return Err(map.error(
            0..0,
            "the scenario defines no tools (expected at least one [tools.NAME] table with a latency)",
            "no tools",
        ));
    }
    let time_limited = executor.attempt_timeout.is_some() || executor.deadline.is_some();
    tables
        .iter()
        .map(|(name, table)| tool(name, table, time_limited, map))
        .collect()
}

fn tool<'f>(name: &'f Spanned<String>, t: &ToolTable, time_limited: bool, map: &SourceMap) -> Result<Tool<'f>> {
    let n = name.get_ref();
    if n.trim().is_empty() {
        return Err(map.error(
            name.span(),
            "a tool name must not be empty or only whitespace (expected [tools.NAME] with a non-empty NAME)",
            "empty tool name",
        ));
    }
    printable(name, "the tool name", map)?;
    let Some(latency) = &t.latency else {
        return Err(map.error(
            name.span(),
            format!(
                "tool {} has no `latency` (expected e.g. latency = {{ dist = \"constant\", value = \"10ms\" }})",
                quoted(n)
            ),
            "latency missing",
        ));
    };
    let latency = self::latency(latency, map)?;
    let rate = |r: &Option<Spanned<f64>>| r.as_ref().map_or(0.0, |r| *r.get_ref());
    let span_of = |r: &Option<Spanned<f64>>| r.as_ref().map_or(name.span(), Spanned::span);
    let failure = FailureModel::new(rate(&t.failure_rate), rate(&t.timeout_rate)).map_err(|err| match err {
        FailureError::NotAProbability { name: key, value } => map.error(
            span_of(if key == "failure_rate" {
                &t.failure_rate
            } else {
                &t.timeout_rate
            }),
            format!("{key} must be a probability between 0 and 1, got {}", number(value)),
            "expected a number between 0 and 1",
        ),
        FailureError::SumAboveOne(sum) => map.error(
            span_of(&t.timeout_rate),
            format!(
                "failure_rate + timeout_rate must not exceed 1, got {} (expected probabilities of exclusive fates)",
                number(sum)
            ),
            "expected failure_rate + timeout_rate <= 1",
        ),
    })?;
    if failure.timeout_rate() > 0.0 && !time_limited {
        return Err(map.error(
            span_of(&t.timeout_rate),
            format!(
                "tool {} hangs with timeout_rate {}, but the executor has neither `timeout` nor `deadline`, \
                 so a hung call would never end (expected timeout or deadline in [executor])",
                quoted(n),
                failure.timeout_rate()
            ),
            "needs [executor] timeout or deadline",
        ));
    }
    let max_concurrency = t
        .max_concurrency
        .as_ref()
        .map(|m| nonzero_usize(m, "max_concurrency", "expected a positive integer", map))
        .transpose()?;
    let rate_limit_per_s = match &t.rate_limit {
        Some(r) if !(r.get_ref().is_finite() && *r.get_ref() > 0.0) => {
            return Err(map.error(
                r.span(),
                format!(
                    "rate_limit must be a positive, finite number of calls per second, got {} (expected e.g. 20.0)",
                    number(*r.get_ref())
                ),
                "expected calls per second > 0",
            ));
        }
        // The gap between starts, 1 / rate, is a duration like any other.
        Some(r) if 1.0 / *r.get_ref() > MAX_DURATION.as_secs_f64() => {
            return Err(map.error(
                r.span(),
                format!(
                    "rate_limit must allow at least one call per {}, got {} calls per second (expected e.g. 20.0)",
                    humantime::format_duration(MAX_DURATION),
                    number(*r.get_ref())
                ),
                format!(
                    "expected at least {:.2e} calls per second",
                    1.0 / MAX_DURATION.as_secs_f64()
                ),
            ));
        }
        r => r.as_ref().map(|r| *r.get_ref()),
    };
    Ok(Tool {
        name,
        spec: ToolSpec {
            name: n.clone(),
            kind: t.kind,
            max_concurrency,
            rate_limit_per_s,
        },
        model: ToolModel { latency, failure },
    })
}

const DISTS: &str = "constant, uniform, normal, lognormal, exponential, pareto, empirical";

fn latency(table: &Spanned<LatencyTable>, map: &SourceMap) -> Result<Latency> {
    let l = table.get_ref();
    let Some(dist) = &l.dist else {
        return Err(map.error(
            table.span(),
            format!("latency has no `dist` (expected one of: {DISTS})"),
            "dist missing",
        ));
    };
    let d = dist.get_ref().as_str();
    let params: &[&str] = match d {
        "constant" => &["value"],
        "uniform" => &["min", "max"],
        "normal" => &["mean", "stddev"],
        "lognormal" => &["median", "p99", "mu", "sigma"],
        "exponential" => &["mean"],
        "pareto" => &["scale", "shape"],
        "empirical" => &["min", "p50", "p90", "p99", "max"],
        other => {
            return Err(map.error(
                dist.span(),
                format!("unknown distribution {} (expected one of: {DISTS})", quoted(other)),
                "unknown distribution",
            ));
        }
    };
    for (key, span) in l.present() {
        if !params.contains(&key) {
            return Err(map.error(
                span,
                format!(
                    "`{key}` is not a parameter of the {d} distribution (expected: {})",
                    params.join(", ")
                ),
                "not a parameter of this distribution",
            ));
        }
    }
    let missing = |key: &str| {
        map.error(
            table.span(),
            format!("the {d} distribution needs `{key}` (expected: {})", params.join(", ")),
            format!("`{key}` missing"),
        )
    };
    let need =
        |v: &Option<Spanned<HumanDuration>>, key: &str| v.as_ref().map(|v| v.get_ref().0).ok_or_else(|| missing(key));
    let need_f64 = |v: &Option<Spanned<f64>>, key: &str| v.as_ref().map(|v| *v.get_ref()).ok_or_else(|| missing(key));
    let latency = match d {
        "constant" => Latency::Constant {
            value: need(&l.value, "value")?,
        },
        "uniform" => Latency::Uniform {
            min: need(&l.min, "min")?,
            max: need(&l.max, "max")?,
        },
        "normal" => Latency::Normal {
            mean: need(&l.mean, "mean")?,
            stddev: need(&l.stddev, "stddev")?,
        },
        "exponential" => Latency::Exponential {
            mean: need(&l.mean, "mean")?,
        },
        "pareto" => Latency::Pareto {
            scale: need(&l.scale, "scale")?,
            shape: need_f64(&l.shape, "shape")?,
        },
        "empirical" => Latency::Empirical {
            min: l.min.as_ref().map_or(Duration::ZERO, |m| m.get_ref().0),
            p50: need(&l.p50, "p50")?,
            p90: need(&l.p90, "p90")?,
            p99: need(&l.p99, "p99")?,
            max: need(&l.max, "max")?,
        },
        _ => {
            // lognormal: exactly one of the two parameterisations.
            let by_quantiles = l.median.is_some() || l.p99.is_some();
            let by_moments = l.mu.is_some() || l.sigma.is_some();
            if by_quantiles && by_moments {
                let span = l.mu.as_ref().or(l.sigma.as_ref()).map_or(table.span(), Spanned::span);
                return Err(map.error(
                    span,
                    "the lognormal distribution takes either `median` and `p99` or `mu` and `sigma`, not both",
                    "expected median and p99, or mu and sigma",
                ));
            }
            if by_moments {
                Latency::LogNormal {
                    mu: need_f64(&l.mu, "mu")?,
                    sigma: need_f64(&l.sigma, "sigma")?,
                }
            } else {
                let (median, p99) = (need(&l.median, "median")?, need(&l.p99, "p99")?);
                Latency::lognormal(median, p99).map_err(|err| latency_error(&err, table, map))?
            }
        }
    };
    latency.validate().map_err(|err| latency_error(&err, table, map))?;
    Ok(latency)
}

/// Locates a [`LatencyError`] at the parameter it names, or at the latency table.
fn latency_error(err: &LatencyError, table: &Spanned<LatencyTable>, map: &SourceMap) -> ScenarioError {
    let span_of = |key: &str| {
        table
            .get_ref()
            .present()
            .into_iter()
            .find_map(|(k, span)| (k == key).then_some(span))
            .unwrap_or(table.span())
    };
    match *err {
        LatencyError::NotPositive(key) => map.error(
            span_of(key),
            format!("latency `{key}` must be greater than zero (expected a positive value)"),
            "expected a positive value",
        ),
        LatencyError::NotFinite(key) => map.error(
            span_of(key),
            format!("latency `{key}` must be a finite, non-negative number (expected e.g. 0.5)"),
            "expected a finite, non-negative number",
        ),
        LatencyError::Order { low, high } => map.error(
            span_of(high),
            format!("latency `{high}` is below `{low}` (expected {low} <= {high})"),
            format!("expected at least `{low}`"),
        ),
    }
}

/// A dependency of a call, with where it was written.
struct Dep {
    idx: usize,
    span: Range<usize>,
    /// The `${...}` text, or `None` for a `depends_on` entry.
    reference: Option<String>,
}

/// Builds the plan: tools, then `[[calls]]` in order, then each `[[generate]]` block,
/// then the calls of `[arrivals]`.
fn plan(
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
    let mut idxs: Vec<CallIdx> = Vec::with_capacity(file.calls.len() + counts.iter().sum::<usize>());
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
        idxs.push(builder.call_with_priority(id.get_ref().clone(), tool, c.priority));
    }
    for (block, &count) in file.generate.iter().zip(counts) {
        let g = block.get_ref();
        let (tool, tool_name) = tools.resolve(g.tool.as_ref(), block.span(), "a [[generate]] block")?;
        if let Some(prefix) = &g.id_prefix {
            printable(prefix, "the id_prefix", map)?;
        }
        let prefix = g.id_prefix.as_ref().map_or(tool_name, |p| p.get_ref().as_str());
        calls.starts.push(idxs.len());
        for i in 1..=count {
            idxs.push(builder.call_with_priority(format!("{prefix}{i}"), tool, g.priority));
        }
    }

    let edges = edges(file, counts, &calls, builder.calls(), map)?;
    for (call, dep) in edges {
        builder.depends_on(idxs[call as usize], idxs[dep as usize]);
    }
    // Added after the edges, so no call can depend on an arriving one.
    let arrivals = match &file.arrivals {
        Some(table) => {
            let arrivals = self::arrivals(table, &tools, idxs.len(), map)?;
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

/// `[arrivals]`, checked; `closed` calls are already in the plan.
fn arrivals(table: &Spanned<ArrivalsTable>, tools: &Tools<'_, '_>, closed: usize, map: &SourceMap) -> Result<Arrivals> {
    let a = table.get_ref();
    let missing = |key: &str, example: &str| {
        map.error(
            table.span(),
            format!("[arrivals] has no `{key}` (expected {key} = {example})"),
            format!("`{key}` missing"),
        )
    };
    let process = match a.process.as_ref().map(|p| *p.get_ref()) {
        Some(ProcessName::Poisson) => ArrivalProcess::Poisson,
        Some(ProcessName::Constant) => ArrivalProcess::Constant,
        None => return Err(missing("process", "\"poisson\" or \"constant\"")),
    };
    let Some(rate) = &a.rate else {
        return Err(missing("rate", "calls per second, like 50.0"));
    };
    let rate_per_s = *rate.get_ref();
    if !(rate_per_s.is_finite() && rate_per_s > 0.0) {
        return Err(map.error(
            rate.span(),
            format!(
                "rate must be a positive, finite number of calls per second, got {} (expected e.g. 50.0)",
                number(rate_per_s)
            ),
            "expected calls per second > 0",
        ));
    }
    let Some(duration) = &a.duration else {
        return Err(missing("duration", "a duration like \"10s\""));
    };
    let duration = positive_duration(duration, "duration", map)?;
    let mix = match &a.mix {
        None => tools.names.iter().map(|n| (tools.ids[n], 1.0)).collect(),
        Some(mix) => mix_weights(mix, tools, map)?,
    };
    if let Some(prefix) = &a.id_prefix {
        printable(prefix, "the id_prefix", map)?;
    }
    let arrivals = Arrivals {
        process,
        rate_per_s,
        duration,
        mix,
        id_prefix: a
            .id_prefix
            .as_ref()
            .map_or_else(|| "arrival".to_string(), |p| p.get_ref().clone()),
    };
    // Checked before anything is drawn, like `count` in [[generate]].
    let expected = arrivals.expected_calls() + closed as f64;
    if expected > MAX_CALLS as f64 {
        return Err(map.error(
            rate.span(),
            format!(
                "rate × duration brings the scenario to about {} calls, above the limit of {MAX_CALLS}",
                number(expected.round())
            ),
            format!("expected at most {MAX_CALLS} calls in all"),
        ));
    }
    Ok(arrivals)
}

/// `mix = { search = 3, db = 1 }`: tools and their positive weights.
fn mix_weights(mix: &Spanned<toml::Table>, tools: &Tools<'_, '_>, map: &SourceMap) -> Result<Vec<(ToolId, f64)>> {
    if mix.get_ref().is_empty() {
        return Err(map.error(
            mix.span(),
            format!(
                "mix must name at least one tool (expected e.g. mix = {{ {} = 1 }})",
                one_of(&tools.names[..1])
            ),
            "empty mix",
        ));
    }
    // Keys in file order would need spans per key; the order of the tools is as stable.
    let mut out = Vec::with_capacity(mix.get_ref().len());
    for (name, weight) in mix.get_ref() {
        let Some(&id) = tools.ids.get(name.as_str()) else {
            return Err(map.error(
                mix.span(),
                format!(
                    "mix names unknown tool {} (expected one of: {})",
                    quoted(name),
                    one_of(&tools.names)
                ),
                "unknown tool in mix",
            ));
        };
        let w = match weight {
            toml::Value::Integer(i) => *i as f64,
            toml::Value::Float(f) => *f,
            _ => f64::NAN,
        };
        if !(w.is_finite() && w > 0.0) {
            return Err(map.error(
                mix.span(),
                format!(
                    "the weight of {} in mix must be a positive number, got {} (expected e.g. {} = 1)",
                    quoted(name),
                    shown(&weight.to_string()),
                    one_of(&[name])
                ),
                "expected positive weights",
            ));
        }
        out.push((id, w));
    }
    // Drawing a tool divides by the sum: an infinite one would send every call to the
    // last tool.
    if !out.iter().map(|(_, w)| w).sum::<f64>().is_finite() {
        return Err(map.error(
            mix.span(),
            "the weights in mix add up to more than a number can hold (expected relative weights, like 3 and 1)",
            "expected smaller weights",
        ));
    }
    out.sort_by_key(|(id, _)| *id);
    Ok(out)
}

/// The dependency edges (call, dependency) by index in input order, after checking that
/// ids are unique and every id named exists and is not the call's own.
fn edges(
    file: &ScenarioFile,
    counts: &[usize],
    calls: &Calls<'_>,
    ids: &[Call],
    map: &SourceMap,
) -> Result<Vec<(u32, u32)>> {
    // Indices fit in u32 (at most MAX_CALLS); pairs of them halve this buffer for long chains.
    let mut edges: Vec<(u32, u32)> = Vec::new();
    let mut index = Index {
        ids: HashMap::with_capacity(ids.len()),
        longest: ids.iter().map(|c| c.id.len()).max().unwrap_or(0),
    };
    for (i, call) in ids.iter().enumerate() {
        match index.ids.entry(call.id.as_str()) {
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
            Entry::Occupied(first) => {
                let line = map.line(calls.site(*first.get()).start);
                let by = if i < file.calls.len() {
                    ""
                } else {
                    "generated by this block, "
                };
                return Err(map.error(
                    calls.site(i),
                    format!(
                        "duplicate call id {} ({by}first defined at line {line})",
                        quoted(&call.id)
                    ),
                    format!("expected an id not used before (line {line})"),
                ));
            }
        }
    }
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
fn check_dependency_total(
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
struct Index<'f> {
    ids: HashMap<&'f str, usize>,
    /// The length of the longest id, in bytes: no longer prefix of a reference can name
    /// a call.
    longest: usize,
}

/// Tool names to ids, for the calls that name them.
struct Tools<'a, 'f> {
    ids: HashMap<&'f str, ToolId>,
    /// In file order, for "expected one of" lists.
    names: Vec<&'f str>,
    map: &'a SourceMap,
}

impl Tools<'_, '_> {
    /// The tool `tool` names; `owner` (the call or block) is blamed when there is none.
    fn resolve<'t>(
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
struct Calls<'f> {
    file: &'f ScenarioFile,
    /// Index of the first call of each `[[generate]]` block.
    starts: Vec<usize>,
}

impl Calls<'_> {
    /// The span that defines call `i`: its `id`, or its block's `id_prefix` (or `tool`).
    fn site(&self, i: usize) -> Range<usize> {
        if let Some(call) = self.file.calls.get(i) {
            return call.get_ref().id.as_ref().map_or(call.span(), Spanned::span);
        }
        let b = self.starts.partition_point(|&s| s <= i).saturating_sub(1);
        self.file.generate.get(b).map_or(0..0, block_site)
    }

    /// The index of the call with this id, found without an index (only errors need it).
    fn find(&self, id: &str) -> Option<usize> {
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

fn block_site(block: &Spanned<GenerateTable>) -> Range<usize> {
    let g = block.get_ref();
    g.id_prefix
        .as_ref()
        .or(g.tool.as_ref())
        .map_or(block.span(), Spanned::span)
}

fn self_dependency(id: &str, dep: &Dep, what: &str, map: &SourceMap) -> ScenarioError {
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

fn plan_error(err: PlanError, calls: &Calls<'_>, map: &SourceMap) -> ScenarioError {
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
const CYCLE_ENDS: usize = 4;

/// "dependency cycle: a -> b -> a", as PlanError says it, or for a cycle through
/// thousands of generated calls, its length and both ends of it; ids [`shown`] short.
fn cycle_message(ids: &[String]) -> String {
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
fn dependencies(
    depends_on: &[Spanned<String>],
    params: Option<&Spanned<toml::Table>>,
    index: &Index<'_>,
    map: &SourceMap,
) -> Result<Vec<Dep>> {
    let mut deps = Vec::with_capacity(depends_on.len());
    for dep in depends_on {
        let Some(&idx) = index.ids.get(dep.get_ref().as_str()) else {
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

/// The text of a `params` value: the inline table, or for a `[calls.params]` table (whose
/// span is only its header), the lines up to the next header outside it.
fn written_params(span: Range<usize>, map: &SourceMap) -> &str {
    let header = map.text(span.clone());
    if !header.starts_with('[') {
        return header;
    }
    let path = header.trim_matches(|c| c == '[' || c == ']').trim();
    let rest = map.text(span.start..usize::MAX);
    let body = &rest[header.len()..];
    let end = body
        .match_indices('\n')
        .map(|(at, _)| at + 1)
        .find(|&at| {
            // One line at a time: trimming across lines would rescan a run of blank lines
            // from each of them.
            let line = body[at..].lines().next().unwrap_or("").trim_start();
            let inside = line.trim_start_matches('[').trim_start().strip_prefix(path);
            line.starts_with('[') && !inside.is_some_and(|tail| tail.trim_start().starts_with('.'))
        })
        .unwrap_or(body.len());
    &rest[..header.len() + end]
}

/// The call an `ID.FIELD` reference names: the longest prefix before a dot that is a call
/// id, so ids containing dots can be referred to.
///
/// Prefixes longer than every id are not looked up, so a reference with a million dots
/// costs one pass rather than a million hashes of ever longer prefixes.
fn resolve_reference(inner: &str, index: &Index<'_>) -> Option<usize> {
    inner
        .rmatch_indices('.')
        .filter(|&(dot, _)| dot > 0 && dot <= index.longest && dot + 1 < inner.len())
        .find_map(|(dot, _)| index.ids.get(&inner[..dot]).copied())
}

fn collect_references<'v>(value: &'v toml::Value, out: &mut Vec<&'v str>) {
    match value {
        toml::Value::String(s) => out.extend(references(s)),
        toml::Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
        toml::Value::Table(table) => table.values().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

/// The `ID.FIELD` inside each `${ID.FIELD}` of `text`.
///
/// Both parts must be non-empty, with no whitespace, `$`, `{` or `}`: `${HOME}` or
/// `${ a }` are left alone as ordinary text.
pub(crate) fn references(text: &str) -> Vec<&str> {
    references_at(text).into_iter().map(|(_, inner)| inner).collect()
}

/// [`references`], each with the byte offset of its `${` in `text`.
fn references_at(text: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let mut base = 0;
    let mut rest = text;
    while let Some(open) = rest.find("${") {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        // Of the `${` before this `}`, only the last can open a reference: the others
        // would hold a `$`. Taking it at once keeps the scan linear (`${${${…}` would
        // otherwise search for the same `}` from every `${`).
        let start = open + rest[open..close].rfind("${").unwrap_or(0) + 2;
        let inner = &rest[start..close];
        let plain = !inner.contains(|c: char| c.is_whitespace() || matches!(c, '$' | '{'));
        let dotted = inner.find('.').is_some_and(|dot| dot > 0 && dot + 1 < inner.len());
        if plain && dotted {
            found.push((base + start - "${".len(), inner));
        }
        rest = &rest[close + 1..];
        base += close + 1;
    }
    found
}

fn expectations(t: &ExpectTable, map: &SourceMap) -> Result<Expectations> {
    // `must` and `example` complete "KEY must be MUST, got X (expected EXAMPLE)".
    let check = |v: &Option<Spanned<f64>>, key: &str, ok: fn(f64) -> bool, must: &str, example: &str| {
        v.as_ref()
            .map(|v| {
                let x = *v.get_ref();
                if ok(x) {
                    return Ok(x);
                }
                Err(map.error(
                    v.span(),
                    format!("{key} must be {must}, got {} (expected {example})", number(x)),
                    format!("expected {must}"),
                ))
            })
            .transpose()
    };
    Ok(Expectations {
        min_speedup: check(
            &t.min_speedup,
            "min_speedup",
            |x| x.is_finite() && x > 0.0,
            "a positive number",
            "e.g. 4.5",
        )?,
        min_efficiency: check(
            &t.min_efficiency,
            "min_efficiency",
            |x| x > 0.0 && x <= 1.0,
            "above 0 and at most 1",
            "a fraction of the bound, e.g. 0.9",
        )?,
        min_success_rate: check(
            &t.min_success_rate,
            "min_success_rate",
            |x| (0.0..=1.0).contains(&x),
            "between 0 and 1",
            "a fraction of calls, e.g. 0.95",
        )?,
        max_p99: t.max_p99.map(|d| d.0),
    })
}

/// `[sweep]`, checked; `open_loop` is the scenario's arrivals and its number of closed
/// calls, which each swept rate must keep within [`MAX_CALLS`].
fn sweep(table: &Spanned<SweepTable>, open_loop: Option<(&Arrivals, usize)>, map: &SourceMap) -> Result<Sweep> {
    let s = table.get_ref();
    let Some(limits) = &s.max_concurrency else {
        return Err(map.error(
            table.span(),
            "[sweep] has no `max_concurrency` (expected a non-empty list of positive integers, like [1, 2, 4, 8])",
            "max_concurrency missing",
        ));
    };
    if limits.get_ref().is_empty() {
        return Err(map.error(
            limits.span(),
            "max_concurrency must not be empty (expected a list of positive integers, like [1, 2, 4, 8])",
            "expected at least one limit",
        ));
    }
    let max_concurrency = limits
        .get_ref()
        .iter()
        .map(|n| nonzero_usize(n, "max_concurrency", "expected a positive integer", map))
        .collect::<Result<_>>()?;
    let mut rates = Vec::new();
    if let Some(list) = &s.rates {
        let Some((arrivals, closed)) = open_loop else {
            return Err(map.error(
                list.span(),
                "[sweep] rates are arrival rates, but the scenario has no [arrivals] table \
                 (expected [arrivals] with process, rate and duration, or no rates)",
                "needs [arrivals]",
            ));
        };
        if list.get_ref().is_empty() {
            return Err(map.error(
                list.span(),
                "rates must not be empty (expected calls per second, like [10.0, 20.0, 40.0])",
                "expected at least one rate",
            ));
        }
        for r in list.get_ref() {
            let v = *r.get_ref();
            if !(v.is_finite() && v > 0.0) {
                return Err(map.error(
                    r.span(),
                    format!(
                        "a rate must be a positive, finite number of calls per second, got {} (expected e.g. 20.0)",
                        number(v)
                    ),
                    "expected calls per second > 0",
                ));
            }
            // Checked here, where the rate has a line, not when `tune` reaches it.
            let expected = v * arrivals.duration.as_secs_f64() + closed as f64;
            if expected > MAX_CALLS as f64 {
                return Err(map.error(
                    r.span(),
                    format!(
                        "at {} calls per second for {}, the sweep brings the scenario to about {} calls, \
                         above the limit of {MAX_CALLS}",
                        number(v),
                        humantime::format_duration(arrivals.duration),
                        number(expected.round())
                    ),
                    format!("expected at most {MAX_CALLS} calls in all"),
                ));
            }
            rates.push(v);
        }
        rates.sort_by(f64::total_cmp);
        rates.dedup();
    }
    Ok(Sweep {
        max_concurrency,
        slo_p99: s.slo_p99.map(|d| d.0),
        rates,
    })
}

fn nonzero_usize(v: &Spanned<i64>, key: &str, expected: &str, map: &SourceMap) -> Result<NonZeroUsize> {
    let n = *v.get_ref();
    usize::try_from(n).ok().and_then(NonZeroUsize::new).ok_or_else(|| {
        let problem = if n < 1 { "at least 1" } else { "smaller" };
        map.error(v.span(), format!("{key} must be {problem} ({expected})"), expected)
    })
}

fn positive_duration(v: &Spanned<HumanDuration>, key: &str, map: &SourceMap) -> Result<Duration> {
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
mod tests {
    use std::path::Path;

    use super::*;
    use crate::plan::ToolKind;
    use crate::scenario::parse;

    /// The example of DESIGN.md, verbatim.
    const DESIGN_EXAMPLE: &str = r#"
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
    const DESIGN_ADDITIONS: &str = r#"
[tools.analyze]
latency = { dist = "constant", value = "5ms" }

[[calls]]
id = "w1"
tool = "parse"
"#;

    fn design() -> String {
        // The example's generated ids s1..s1000 clash with its call `s1`; a prefix of its
        // own keeps every other line as written.
        format!("{DESIGN_EXAMPLE}{DESIGN_ADDITIONS}").replace("id_prefix = \"s\"", "id_prefix = \"g\"")
    }

    fn ok(source: &str) -> Scenario {
        parse(source, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn ids(s: &Scenario, deps: &[CallIdx]) -> Vec<String> {
        deps.iter().map(|&d| s.plan.call(d).id.clone()).collect()
    }

    fn deps_of(s: &Scenario, id: &str) -> Vec<String> {
        let call = s
            .plan
            .calls()
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no call {id}"));
        ids(s, &call.deps)
    }

    const TOOL: &str = "name = \"t\"\n[tools.a]\nlatency = { dist = \"constant\", value = \"10ms\" }\n";

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
        assert!(calls[3..].iter().all(|c| c.deps.is_empty() && c.tool.index() == 0));

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
    fn references_are_found_in_nested_params_and_sub_tables() {
        let s = ok(&format!(
            "{TOOL}[[calls]]\nid = \"p\"\ntool = \"a\"\n\
             [[calls]]\nid = \"q\"\ntool = \"a\"\n\
             [[calls]]\nid = \"r\"\ntool = \"a\"\n\
             [calls.params]\nouter = {{ inner = [[\"x\", \"${{q.out}}\"]] }}\nhome = \"${{HOME}}\"\n\
             [calls.params.deep]\nv = \"prefix ${{p.result}} suffix\"\n"
        ));
        assert_eq!(deps_of(&s, "r"), ["q", "p"]);
    }

    #[test]
    fn generated_ids_count_from_one_with_the_tool_name_as_default_prefix() {
        let s = ok(&format!("{TOOL}[[generate]]\ntool = \"a\"\ncount = 3\npriority = -2\n"));
        let ids: Vec<_> = s.plan.calls().iter().map(|c| (c.id.as_str(), c.priority)).collect();
        assert_eq!(ids, [("a1", -2), ("a2", -2), ("a3", -2)]);
        assert!(s.plan.calls().iter().all(|c| c.deps.is_empty()));
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
    fn defaults_fill_what_the_file_leaves_out() {
        let s = ok(&format!("{TOOL}[[calls]]\nid = \"c\"\ntool = \"a\"\n"));
        assert_eq!(s.description, "");
        assert_eq!(s.seed, 0);
        assert_eq!(s.cpu_cores, None);
        assert_eq!(s.executor, ExecutorConfig::default());
        assert_eq!(s.expect, Expectations::default());
        assert_eq!(s.sweep, None);
        assert_eq!(s.models[0].failure, FailureModel::NEVER);
        let tool = &s.plan.tools()[0];
        assert_eq!(
            (tool.kind, tool.max_concurrency, tool.rate_limit_per_s),
            (ToolKind::Io, None, None)
        );
        assert_eq!(s.plan.calls()[0].priority, 0);
    }

    #[test]
    fn auto_concurrency_is_resolved_for_this_machine() {
        let s = ok(&format!(
            "cpu_cores = 2\n{TOOL}[executor]\nmax_concurrency = \"auto\"\n[[calls]]\nid = \"c\"\ntool = \"a\"\n"
        ));
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        assert_eq!(s.executor.max_concurrency, Concurrency::Auto.resolve(cores));
        assert_eq!(s.cpu_cores, NonZeroUsize::new(2));
    }

    #[test]
    fn lognormal_takes_median_and_p99_or_mu_and_sigma() {
        let with = |latency: &str| {
            ok(&format!(
                "name = \"t\"\n[tools.a]\nlatency = {latency}\n[[calls]]\nid = \"c\"\ntool = \"a\"\n"
            ))
            .models[0]
                .latency
                .clone()
        };
        assert_eq!(
            with("{ dist = \"lognormal\", median = \"100ms\", p99 = \"1s\" }"),
            Latency::lognormal(Duration::from_millis(100), Duration::from_secs(1)).unwrap()
        );
        assert_eq!(
            with("{ dist = \"lognormal\", mu = -2.5, sigma = 0.5 }"),
            Latency::LogNormal { mu: -2.5, sigma: 0.5 }
        );
        let ms = Duration::from_millis;
        assert_eq!(
            with("{ dist = \"empirical\", p50 = \"10ms\", p90 = \"40ms\", p99 = \"90ms\", max = \"200ms\" }"),
            Latency::Empirical {
                min: ms(0),
                p50: ms(10),
                p90: ms(40),
                p99: ms(90),
                max: ms(200)
            }
        );
        assert_eq!(
            with("{ dist = \"pareto\", scale = \"5ms\", shape = 2 }"),
            Latency::Pareto {
                scale: ms(5),
                shape: 2.0
            }
        );
        assert_eq!(
            with("{ dist = \"uniform\", min = \"1ms\", max = \"1m 30s\" }"),
            Latency::Uniform {
                min: ms(1),
                max: Duration::from_secs(90)
            }
        );
    }

    #[test]
    fn executor_settings_map_to_the_config() {
        let s = ok(&format!(
            "{TOOL}[executor]\nmax_concurrency = 7\nmode = \"batch\"\nbatch_size = 4\n\
             on_dependency_failure = \"run\"\ntimeout = \"1s\"\n\
             [executor.retry]\nmax_attempts = 2\ninitial_backoff = \"10ms\"\nmultiplier = 3\n\
             max_backoff = \"90ms\"\njitter = \"equal\"\n[[calls]]\nid = \"c\"\ntool = \"a\"\n"
        ));
        let e = &s.executor;
        assert_eq!(e.max_concurrency.get(), 7);
        assert_eq!(
            e.schedule,
            Schedule::Batch {
                size: NonZeroUsize::new(4).unwrap()
            }
        );
        assert_eq!(e.on_dependency_failure, OnDependencyFailure::Run);
        assert_eq!(e.retry.max_attempts(), 2);
        assert_eq!(e.retry.base_backoff(3), Duration::from_millis(90));
        assert_eq!(e.retry.backoff(1, 0.0), Duration::from_millis(5));
    }

    #[test]
    fn reference_syntax_needs_an_id_and_a_field() {
        assert_eq!(references("${a.result}"), ["a.result"]);
        assert_eq!(references("x ${a.b} y ${c.d}z"), ["a.b", "c.d"]);
        assert!(references("${HOME} ${.x} ${a.} ${ a.b } $a.b {a.b} ${a.b").is_empty());
        assert_eq!(references("${${a.b}"), ["a.b"]);
    }

    #[test]
    fn ids_with_dots_are_resolved_by_their_longest_known_prefix() {
        let s = ok(&format!(
            "{TOOL}[[calls]]\nid = \"search.v2\"\ntool = \"a\"\n[[calls]]\nid = \"search\"\ntool = \"a\"\n\
             [[calls]]\nid = \"x\"\ntool = \"a\"\nparams = {{ q = \"${{search.v2.result}}\", r = \"${{search.v3}}\" }}\n"
        ));
        assert_eq!(deps_of(&s, "x"), ["search.v2", "search"]);
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

    #[test]
    fn references_in_a_megabyte_of_openings_are_found_in_one_pass() {
        let text = format!("{}a.b}}", "${".repeat(500_000));
        assert_eq!(references(&text), ["a.b"]);
        let dots = format!("${{{}r}}", "a.".repeat(500_000));
        let index = Index {
            ids: HashMap::from([("a", 0)]),
            longest: 1,
        };
        assert_eq!(resolve_reference(references(&dots)[0], &index), Some(0));
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        /// The scan `references` replaced: from every `${`, the first `}` after it.
        fn references_by_rescanning(text: &str) -> Vec<&str> {
            let mut found = Vec::new();
            let mut rest = text;
            while let Some(open) = rest.find("${") {
                let after = &rest[open + 2..];
                let Some(close) = after.find('}') else { break };
                let inner = &after[..close];
                let plain = !inner.contains(|c: char| c.is_whitespace() || matches!(c, '$' | '{'));
                let dotted = inner.find('.').is_some_and(|dot| dot > 0 && dot + 1 < inner.len());
                if plain && dotted {
                    found.push(inner);
                    rest = &after[close + 1..];
                } else {
                    rest = after;
                }
            }
            found
        }

        /// Text made of the pieces that matter to references.
        fn reference_soup() -> impl Strategy<Value = String> {
            prop::collection::vec(
                prop::sample::select(vec!["${", "}", ".", "a", "b", " ", "$", "{", "é"]),
                0..40,
            )
            .prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #[test]
            fn references_match_the_rescanning_scan(text in reference_soup()) {
                prop_assert_eq!(references(&text), references_by_rescanning(&text));
                for (at, inner) in references_at(&text) {
                    prop_assert_eq!(&text[at..at + 2 + inner.len() + 1], format!("${{{inner}}}"));
                }
            }
        }
    }

    const OPEN_LOOP: &str = r#"
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

    #[test]
    fn arrivals_add_calls_after_the_others_with_their_arrival_times() {
        let s = ok(OPEN_LOOP);
        let calls = s.plan.calls();
        assert_eq!(calls.len(), 21);
        assert_eq!((calls[0].id.as_str(), calls[0].arrival), ("warmup", None));
        assert_eq!(calls[1].id, "r1");
        assert_eq!(calls[20].arrival, Some(Duration::from_millis(950)));
        assert!(calls[1..].iter().all(|c| s.plan.tool(c.tool).name == "fast"));
        let a = s.arrivals.unwrap();
        assert_eq!((a.process, a.rate_per_s), (ArrivalProcess::Constant, 20.0));
        // Only [arrivals]: the scenario needs no closed calls.
        let only = ok(&OPEN_LOOP.replace("[[calls]]\nid = \"warmup\"\ntool = \"slow\"\n", ""));
        assert_eq!(only.plan.calls().len(), 20);
    }

    #[test]
    fn sweep_rates_need_arrivals_and_positive_values() {
        let with_sweep = |src: &str, rates: &str| format!("{src}[sweep]\nmax_concurrency = [1, 2]\nrates = {rates}\n");
        let s = ok(&with_sweep(OPEN_LOOP, "[40.0, 10, 20.0]"));
        assert_eq!(s.sweep.unwrap().rates, [10.0, 20.0, 40.0]);
        let closed = OPEN_LOOP.split("[arrivals]").next().unwrap();
        let err = parse(&with_sweep(closed, "[10.0]"), Path::new("s.toml")).unwrap_err();
        assert!(err.to_string().contains("no [arrivals] table"), "{err}");
        let err = parse(&with_sweep(OPEN_LOOP, "[10.0, -1.0]"), Path::new("s.toml")).unwrap_err();
        assert!(err.to_string().contains("got -1"), "{err}");
        assert_eq!(err.located().unwrap().line, 18);
        // A rate that would bring more calls than a scenario may have fails here, at
        // its line, not when `tune` reaches it.
        let err = parse(&with_sweep(OPEN_LOOP, "[10.0, 1e12]"), Path::new("s.toml")).unwrap_err();
        assert!(err.to_string().contains("above the limit of 2000000"), "{err}");
        assert_eq!(err.located().unwrap().line, 18);
        // 1,999,999 arriving calls a second for OPEN_LOOP's 1 s, and its one closed call,
        // are exactly the limit.
        assert_eq!(ok(OPEN_LOOP).arrivals.unwrap().duration, Duration::from_secs(1));
        let at_limit = format!("[{}.0]", MAX_CALLS - 1);
        assert!(parse(&with_sweep(OPEN_LOOP, &at_limit), Path::new("s.toml")).is_ok());
        let over = format!("[{}.0]", MAX_CALLS);
        assert!(parse(&with_sweep(OPEN_LOOP, &over), Path::new("s.toml")).is_err());
    }

    #[test]
    fn a_new_rate_counts_the_closed_calls_against_the_limit() {
        // OPEN_LOOP keeps its one closed call: 1,999,999 arrivals (1 s) reach the limit,
        // one more a second passes it, rather than being cut short when drawn.
        let s = ok(OPEN_LOOP);
        assert!(s.arrivals_at((MAX_CALLS - 1) as f64).is_ok());
        assert!(matches!(
            s.arrivals_at(MAX_CALLS as f64),
            Err(super::super::ArrivalsError::TooManyCalls { calls, .. }) if calls == (MAX_CALLS + 1) as f64
        ));
    }

    #[test]
    fn a_new_rate_redraws_the_arrivals_and_keeps_the_rest() {
        let s = ok(OPEN_LOOP).with_arrival_rate(5.0).unwrap();
        assert_eq!(s.plan.calls().len(), 6);
        assert_eq!(s.plan.calls()[0].id, "warmup");
        assert_eq!(s.plan.calls()[2].arrival, Some(Duration::from_millis(200)));
        assert_eq!(s.arrivals.as_ref().unwrap().rate_per_s, 5.0);
        assert!(matches!(
            ok(OPEN_LOOP).with_arrival_rate(-1.0),
            Err(super::super::ArrivalsError::Rate(_))
        ));
    }

    #[test]
    fn bad_arrivals_are_located_and_say_what_was_expected() {
        let cases = [
            (
                "rate = 20.0",
                "rate = 0.0",
                12,
                "positive, finite number of calls per second",
            ),
            ("mix = { fast = 1 }", "mix = { turbo = 1 }", 14, "unknown tool `turbo`"),
            (
                "mix = { fast = 1 }",
                "mix = { fast = -2 }",
                14,
                "must be a positive number",
            ),
            ("process = \"constant\"", "process = \"bursty\"", 11, "poisson"),
            ("duration = \"1s\"", "", 10, "[arrivals] has no `duration`"),
            ("rate = 20.0", "rate = 1e12", 12, "above the limit"),
            ("rate = 20.0", "rate = 0.001", 10, "no call arrives"),
        ];
        for (from, to, line, needle) in cases {
            let source = OPEN_LOOP.replace(from, to);
            let source = if needle == "no call arrives" {
                // Constant arrivals always bring the one at time zero.
                source
                    .replace("[[calls]]\nid = \"warmup\"\ntool = \"slow\"\n", "")
                    .replace("process = \"constant\"", "process = \"poisson\"")
            } else {
                source
            };
            let err = parse(&source, Path::new("o.toml")).unwrap_err();
            let at = err.located().unwrap_or_else(|| panic!("{err}"));
            assert!(err.to_string().contains(needle), "{to}: {err}");
            let want = if needle == "no call arrives" { line - 3 } else { line };
            assert_eq!(at.line, want, "{to}: {err}");
        }
    }
}
