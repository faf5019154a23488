//! `[tools.NAME]`: each tool's kind, limits, failure model and latency distribution.

use std::time::Duration;

use toml::Spanned;

use crate::executor::ExecutorConfig;
use crate::plan::{ToolKind, ToolSpec};
use crate::scenario::MAX_DURATION;
use crate::scenario::error::{ScenarioError, SourceMap, number, quoted};
use crate::scenario::model::{HumanDuration, LatencyTable, LimitPolicyName, ToolTable};
use crate::scenario::real::RealTool;
use crate::sim::failure::FailureError;
use crate::sim::latency::LatencyError;
use crate::sim::{FailureModel, Latency, LimitPolicy, ToolModel};

use super::settings::{description, printable};
use super::{Result, nonzero_usize, positive_duration};

/// A checked tool: its name as written, what the plan needs, and how it behaves.
pub(super) struct Tool<'f> {
    pub(super) name: &'f Spanned<String>,
    pub(super) spec: ToolSpec,
    pub(super) model: ToolModel,
    /// What a real tool calls; `None` for a simulated one.
    pub(super) real: Option<RealTool>,
}

pub(super) fn tools<'f>(
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

pub(super) fn tool<'f>(
    name: &'f Spanned<String>,
    t: &ToolTable,
    time_limited: bool,
    map: &SourceMap,
) -> Result<Tool<'f>> {
    let n = name.get_ref();
    if n.trim().is_empty() {
        return Err(map.error(
            name.span(),
            "a tool name must not be empty or only whitespace (expected [tools.NAME] with a non-empty NAME)",
            "empty tool name",
        ));
    }
    printable(name, "the tool name", map)?;
    let kind = t.kind.as_ref().map_or(ToolKind::Io, |k| *k.get_ref());
    let attempt_timeout = t
        .timeout
        .as_ref()
        .map(|d| positive_duration(d, "timeout", map))
        .transpose()?;
    let max_concurrency = t
        .max_concurrency
        .as_ref()
        .map(|m| nonzero_usize(m, "max_concurrency", "expected a positive integer", map))
        .transpose()?;
    let rate_limit_per_s = rate_limit(t, map)?;
    // As the scenario's own description: printable, lines allowed.
    let description = description(t.description.clone(), map)?;
    let spec = ToolSpec {
        name: n.clone(),
        kind,
        max_concurrency,
        rate_limit_per_s,
        description,
        attempt_timeout,
    };
    if kind.is_real() {
        let real = super::real::real_tool(name, t, kind, map)?;
        return Ok(Tool {
            name,
            spec,
            // Never drawn from: a real tool's latency is measured.
            model: ToolModel::constant(Duration::ZERO),
            real: Some(real),
        });
    }
    super::real::refuse_real_keys(name, t, map)?;
    let Some(latency) = &t.latency else {
        return Err(map.error(
            name.span(),
            format!(
                "tool {} has no `latency` (expected e.g. latency = {{ dist = \"constant\", value = \"10ms\" }}, \
                 or kind = \"mcp\" or \"http\" for a real tool)",
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
    if failure.timeout_rate() > 0.0 && !time_limited && spec.attempt_timeout.is_none() {
        return Err(map.error(
            span_of(&t.timeout_rate),
            format!(
                "tool {} hangs with timeout_rate {}, but neither it nor the executor has a `timeout`, and there \
                 is no `deadline`, so a hung call would never end (expected a timeout, or a deadline in [executor])",
                quoted(n),
                failure.timeout_rate()
            ),
            "needs [executor] timeout or deadline",
        ));
    }
    let limit_policy = match t.limit_policy.as_ref().map(|p| *p.get_ref()) {
        None | Some(LimitPolicyName::Wait) => LimitPolicy::Wait,
        Some(LimitPolicyName::Reject) => LimitPolicy::Reject,
    };
    Ok(Tool {
        name,
        spec,
        model: ToolModel {
            latency,
            failure,
            limit_policy,
        },
        real: None,
    })
}

/// `rate_limit`: calls per second, positive, and at least one per [`MAX_DURATION`].
fn rate_limit(t: &ToolTable, map: &SourceMap) -> Result<Option<f64>> {
    Ok(match &t.rate_limit {
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
    })
}

pub(super) const DISTS: &str = "constant, uniform, normal, lognormal, exponential, pareto, empirical";

pub(super) fn latency(table: &Spanned<LatencyTable>, map: &SourceMap) -> Result<Latency> {
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
pub(super) fn latency_error(err: &LatencyError, table: &Spanned<LatencyTable>, map: &SourceMap) -> ScenarioError {
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::scenario::expand::test_support::*;

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
}
