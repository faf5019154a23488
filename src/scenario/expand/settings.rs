//! The scenario's own settings: its name, description and `cpu_cores`, and `[executor]`
//! with its `[executor.retry]` policy.

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use toml::Spanned;

use crate::executor::config::RetryError;
use crate::executor::{Concurrency, ExecutorConfig, Jitter, OnDependencyFailure, RetryPolicy, Schedule};
use crate::scenario::error::{SourceMap, hidden, number, quoted};
use crate::scenario::model::{DependencyFailure, ExecutorTable, JitterName, MaxConcurrency, ModeName, RetryTable};
use crate::scenario::{MAX_ATTEMPTS, MAX_CPU_CORES};

use super::{Result, nonzero_usize, positive_duration};

pub(super) fn name(name: Option<Spanned<String>>, map: &SourceMap) -> Result<String> {
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
pub(super) fn description(text: Option<Spanned<String>>, map: &SourceMap) -> Result<String> {
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

pub(super) fn cpu_cores(cores: &Spanned<i64>, map: &SourceMap) -> Result<NonZeroUsize> {
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
pub(super) fn printable(text: &Spanned<String>, what: &str, map: &SourceMap) -> Result<()> {
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

pub(super) fn executor(table: &ExecutorTable, seed: u64, map: &SourceMap) -> Result<ExecutorConfig> {
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
        (Some(mode), Some(size)) if *mode.get_ref() == ModeName::Batch => Schedule::Batch {
            size: nonzero_usize(size, "batch_size", "expected a positive number of calls per batch", map)?,
        },
        (Some(mode), None) if *mode.get_ref() == ModeName::Batch => {
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

pub(super) fn retry(table: &Spanned<RetryTable>, map: &SourceMap) -> Result<RetryPolicy> {
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::plan::ToolKind;
    use crate::scenario::Expectations;
    use crate::sim::FailureModel;

    use crate::scenario::expand::test_support::*;

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
}
