//! The scenario file as serde types: one struct per TOML table, no checks beyond shape.
//!
//! Every struct denies unknown keys, so a typo is an error at the key rather than a
//! silently ignored setting. Values that later checks must point at are wrapped in
//! [`Spanned`]; keys the format requires are `Option` here, so that their absence is
//! reported by `expand` with a message that says what to write, not serde's bare
//! "missing field".

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use super::MAX_DURATION;
use super::error::shown;
use crate::plan::ToolKind;

/// What a duration must look like, for messages.
pub(crate) const DURATION_EXPECTED: &str = "expected a duration like \"120ms\"";

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScenarioFile {
    /// Required, non-empty.
    pub(crate) name: Option<Spanned<String>>,
    /// Default "".
    pub(crate) description: Option<Spanned<String>>,
    /// Default 0.
    #[serde(default)]
    pub(crate) seed: u64,
    /// Cores the virtual clock models for CPU tools; default: unset (the machine's).
    pub(crate) cpu_cores: Option<Spanned<i64>>,
    /// Default: every executor default.
    #[serde(default)]
    pub(crate) executor: ExecutorTable,
    /// `[tools.NAME]`; at least one is required.
    #[serde(default)]
    pub(crate) tools: Tools,
    /// `[[calls]]`, in file order; default none.
    #[serde(default)]
    pub(crate) calls: Vec<Spanned<CallTable>>,
    /// `[[generate]]`, in file order; default none.
    #[serde(default)]
    pub(crate) generate: Vec<Spanned<GenerateTable>>,
    /// Default: no expectations.
    #[serde(default)]
    pub(crate) expect: ExpectTable,
    /// Default: no sweep (`tune` then uses its own list).
    pub(crate) sweep: Option<Spanned<SweepTable>>,
    /// Default: no open-loop load (every call is ready at the start).
    pub(crate) arrivals: Option<Spanned<ArrivalsTable>>,
}

/// `[arrivals]`: an open-loop load.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an [arrivals] table like { process = \"poisson\", rate = 50.0, duration = \"10s\" }"
)]
pub(crate) struct ArrivalsTable {
    /// Required: "poisson" or "constant".
    pub(crate) process: Option<Spanned<ProcessName>>,
    /// Required: calls per second, positive and finite.
    pub(crate) rate: Option<Spanned<f64>>,
    /// Required: calls arrive during this long, from the start of the run.
    pub(crate) duration: Option<Spanned<HumanDuration>>,
    /// Tool name to relative weight (positive numbers); default: every tool equally.
    pub(crate) mix: Option<Spanned<toml::Table>>,
    /// Arriving calls are `{id_prefix}{i}`, i from 1; default "arrival".
    pub(crate) id_prefix: Option<Spanned<String>>,
}

/// `process`.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ProcessName {
    /// Exponential gaps.
    Poisson,
    /// Even gaps.
    Constant,
}

/// `[executor]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [executor] table")]
pub(crate) struct ExecutorTable {
    /// Default 5.
    pub(crate) max_concurrency: Option<Spanned<MaxConcurrency>>,
    /// Per attempt; default: none.
    pub(crate) timeout: Option<Spanned<HumanDuration>>,
    /// Whole run; default: none.
    pub(crate) deadline: Option<Spanned<HumanDuration>>,
    /// Default "skip".
    #[serde(default)]
    pub(crate) on_dependency_failure: DependencyFailure,
    /// Default "window".
    pub(crate) mode: Option<Spanned<ModeName>>,
    /// Required with mode = "batch", refused otherwise.
    pub(crate) batch_size: Option<Spanned<i64>>,
    /// Default: one attempt, no retries.
    pub(crate) retry: Option<Spanned<RetryTable>>,
}

/// `max_concurrency`: a count or "auto".
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum MaxConcurrency {
    /// As written; checked to be at least 1 later, so the error can say why.
    Count(i64),
    /// min(2 × cores, 10).
    Auto,
}

impl<'de> Deserialize<'de> for MaxConcurrency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MaxConcurrency;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a positive integer or \"auto\"")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MaxConcurrency, E> {
                Ok(MaxConcurrency::Count(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MaxConcurrency, E> {
                Ok(MaxConcurrency::Count(i64::try_from(v).unwrap_or(i64::MAX)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<MaxConcurrency, E> {
                if v == "auto" {
                    Ok(MaxConcurrency::Auto)
                } else {
                    Err(E::custom(format_args!(
                        "invalid max_concurrency \"{}\" (expected a positive integer or \"auto\")",
                        shown(v)
                    )))
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `on_dependency_failure`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DependencyFailure {
    /// Dependents of a failed call are skipped.
    #[default]
    Skip,
    /// Dependents run anyway.
    Run,
}

/// `mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ModeName {
    /// A sliding window.
    #[default]
    Window,
    /// Fixed batches of `batch_size`.
    Batch,
}

/// `[executor.retry]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [executor.retry] table")]
pub(crate) struct RetryTable {
    /// Attempts per call, the first included; default 1 (no retries).
    pub(crate) max_attempts: Option<Spanned<i64>>,
    /// Default "50ms".
    pub(crate) initial_backoff: Option<Spanned<HumanDuration>>,
    /// Default 2.0.
    pub(crate) multiplier: Option<Spanned<f64>>,
    /// Default "1s".
    pub(crate) max_backoff: Option<Spanned<HumanDuration>>,
    /// Default "full".
    #[serde(default)]
    pub(crate) jitter: JitterName,
}

/// `jitter`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum JitterName {
    /// Uniform in [0, backoff].
    #[default]
    Full,
    /// Exactly the backoff.
    None,
    /// Half the backoff plus uniform in [0, backoff / 2].
    Equal,
}

/// `[tools]`: the tool tables in file order, each with the span of its name.
#[derive(Debug, Default)]
pub(crate) struct Tools(pub(crate) Vec<(Spanned<String>, ToolTable)>);

impl<'de> Deserialize<'de> for Tools {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tools;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("tool tables like [tools.search]")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tools, A::Error> {
                let mut tools = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    tools.push((name, map.next_value()?));
                }
                // toml may hand keys over sorted; ToolIds and "expected one of" lists read
                // best in the order the user wrote them.
                tools.sort_by_key(|(name, _)| name.span().start);
                Ok(Tools(tools))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// `[tools.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a tool table with `latency` (simulated) or `kind = \"mcp\"` / `kind = \"http\"` (real)"
)]
pub(crate) struct ToolTable {
    /// Default "io".
    #[serde(default)]
    pub(crate) kind: Option<Spanned<ToolKind>>,
    /// Required for a simulated tool; refused for a real one (its latency is measured).
    pub(crate) latency: Option<Spanned<LatencyTable>>,
    /// Each attempt's own timeout, for this tool; default: `[executor] timeout`.
    pub(crate) timeout: Option<Spanned<HumanDuration>>,
    /// mcp: the server's streamable HTTP URL (or `command`).
    pub(crate) server: Option<Spanned<String>>,
    /// mcp: the server as a program and its arguments, spoken to over stdio.
    pub(crate) command: Option<Spanned<Vec<Spanned<String>>>>,
    /// mcp: the server's name for the tool; default: the table's name.
    pub(crate) tool: Option<Spanned<String>>,
    /// mcp: "shared" (default) or "per-call".
    pub(crate) sessions: Option<Spanned<SessionsName>>,
    /// http: the endpoint.
    pub(crate) url: Option<Spanned<String>>,
    /// http: GET (default), POST, PUT, PATCH or DELETE.
    pub(crate) method: Option<Spanned<String>>,
    /// http: headers to send; `${env.NAME}` in a value is read from the environment.
    pub(crate) headers: Option<Spanned<std::collections::BTreeMap<String, Spanned<String>>>>,
    /// http: the statuses that are a success; default: any 2xx.
    pub(crate) ok_status: Option<Spanned<Vec<Spanned<i64>>>>,
    /// Probability that an attempt fails; default 0.
    pub(crate) failure_rate: Option<Spanned<f64>>,
    /// Probability that an attempt hangs until its timeout; default 0.
    pub(crate) timeout_rate: Option<Spanned<f64>>,
    /// The tool's own limit on calls in flight; default: only the global one.
    pub(crate) max_concurrency: Option<Spanned<i64>>,
    /// Calls per second; default: unlimited.
    pub(crate) rate_limit: Option<Spanned<f64>>,
    /// What the tool does, in words (`parabench serve` lists it); default "".
    pub(crate) description: Option<Spanned<String>>,
    /// Served (`parabench serve`), what a call beyond `max_concurrency` meets: "wait"
    /// (default) or "reject".
    pub(crate) limit_policy: Option<Spanned<LimitPolicyName>>,
    /// Served (`parabench serve`), the tool's parameters and their JSON Schema types
    /// (`query = "string"`); default: those the scenario's calls pass to it.
    pub(crate) params: Option<Spanned<std::collections::BTreeMap<String, Spanned<String>>>>,
}

/// `sessions`.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum SessionsName {
    /// One session for the run.
    Shared,
    /// One per call.
    PerCall,
}

/// `limit_policy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LimitPolicyName {
    /// Wait for a slot.
    #[default]
    Wait,
    /// Answered at once with an error.
    Reject,
}

/// `latency = { dist = "...", ... }`: every parameter of every distribution, all optional;
/// `expand` checks which ones the chosen `dist` takes, so a misplaced one is named.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a latency table like { dist = \"constant\", value = \"10ms\" }"
)]
pub(crate) struct LatencyTable {
    /// Required: constant, uniform, normal, lognormal, exponential, pareto or empirical.
    pub(crate) dist: Option<Spanned<String>>,
    /// constant: the latency.
    pub(crate) value: Option<Spanned<HumanDuration>>,
    /// uniform: lower bound; empirical: percentile 0, default "0s".
    pub(crate) min: Option<Spanned<HumanDuration>>,
    /// uniform: upper bound; empirical: percentile 100.
    pub(crate) max: Option<Spanned<HumanDuration>>,
    /// normal and exponential: the mean.
    pub(crate) mean: Option<Spanned<HumanDuration>>,
    /// normal: the standard deviation.
    pub(crate) stddev: Option<Spanned<HumanDuration>>,
    /// lognormal: the median (with `p99`).
    pub(crate) median: Option<Spanned<HumanDuration>>,
    /// lognormal (with `median`) and empirical: the 99th percentile.
    pub(crate) p99: Option<Spanned<HumanDuration>>,
    /// lognormal: mean of ln(seconds) (with `sigma`).
    pub(crate) mu: Option<Spanned<f64>>,
    /// lognormal: deviation of ln(seconds) (with `mu`).
    pub(crate) sigma: Option<Spanned<f64>>,
    /// pareto: the minimum latency.
    pub(crate) scale: Option<Spanned<HumanDuration>>,
    /// pareto: the tail index.
    pub(crate) shape: Option<Spanned<f64>>,
    /// empirical: the median.
    pub(crate) p50: Option<Spanned<HumanDuration>>,
    /// empirical: the 90th percentile.
    pub(crate) p90: Option<Spanned<HumanDuration>>,
}

impl LatencyTable {
    /// The parameters present (all but `dist`), with the spans of their values.
    pub(crate) fn present(&self) -> Vec<(&'static str, Range<usize>)> {
        let durations = [
            ("value", &self.value),
            ("min", &self.min),
            ("max", &self.max),
            ("mean", &self.mean),
            ("stddev", &self.stddev),
            ("median", &self.median),
            ("p99", &self.p99),
            ("scale", &self.scale),
            ("p50", &self.p50),
            ("p90", &self.p90),
        ];
        let floats = [("mu", &self.mu), ("sigma", &self.sigma), ("shape", &self.shape)];
        let mut present: Vec<_> = durations
            .into_iter()
            .filter_map(|(name, v)| Some((name, v.as_ref()?.span())))
            .chain(
                floats
                    .into_iter()
                    .filter_map(|(name, v)| Some((name, v.as_ref()?.span()))),
            )
            .collect();
        present.sort_by_key(|(_, span)| span.start);
        present
    }
}

/// One `[[calls]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a call table with `id` and `tool`")]
pub(crate) struct CallTable {
    /// Required, non-empty, unique.
    pub(crate) id: Option<Spanned<String>>,
    /// Required: the name of a `[tools.NAME]` table.
    pub(crate) tool: Option<Spanned<String>>,
    /// Default 0.
    #[serde(default)]
    pub(crate) priority: i32,
    /// Any table; strings in it may refer to other calls as `${ID.field}`. Default empty.
    pub(crate) params: Option<Spanned<toml::Table>>,
    /// Ids of calls that must end first; default none.
    #[serde(default)]
    pub(crate) depends_on: Vec<Spanned<String>>,
}

/// One `[[generate]]` block: `count` similar calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a generate table with `tool` and `count`")]
pub(crate) struct GenerateTable {
    /// Required: the name of a `[tools.NAME]` table.
    pub(crate) tool: Option<Spanned<String>>,
    /// Required, at least 1.
    pub(crate) count: Option<Spanned<i64>>,
    /// Ids are `{id_prefix}{i}` for i in 1..=count; default: the tool name.
    pub(crate) id_prefix: Option<Spanned<String>>,
    /// Default 0.
    #[serde(default)]
    pub(crate) priority: i32,
    /// As in `[[calls]]`, shared by every generated call. Default empty.
    pub(crate) params: Option<Spanned<toml::Table>>,
    /// Every generated call depends on these; default none.
    #[serde(default)]
    pub(crate) depends_on: Vec<Spanned<String>>,
    /// Each generated call depends on the previous one; default false.
    #[serde(default)]
    pub(crate) chain: bool,
}

/// `[expect]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [expect] table")]
pub(crate) struct ExpectTable {
    /// Default: unchecked.
    pub(crate) min_speedup: Option<Spanned<f64>>,
    /// Default: unchecked.
    pub(crate) min_efficiency: Option<Spanned<f64>>,
    /// Default: unchecked.
    pub(crate) min_success_rate: Option<Spanned<f64>>,
    /// Default: unchecked.
    pub(crate) max_p99: Option<HumanDuration>,
}

/// `[sweep]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [sweep] table")]
pub(crate) struct SweepTable {
    /// Required when `[sweep]` is present: a non-empty list of positive integers.
    pub(crate) max_concurrency: Option<Spanned<Vec<Spanned<i64>>>>,
    /// Default: no SLO.
    pub(crate) slo_p99: Option<HumanDuration>,
    /// Arrival rates (calls per second) to sweep at the recommended level; needs
    /// `[arrivals]`. Default: none.
    pub(crate) rates: Option<Spanned<Vec<Spanned<f64>>>>,
}

/// A humantime duration string such as "120ms" or "1m 30s".
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct HumanDuration(pub(crate) Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&DURATION_EXPECTED["expected ".len()..])
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<HumanDuration, E> {
                let shown = shown(v);
                // humantime says "expected number at 0" for "-1s", which hides the point.
                if v.trim_start().starts_with('-') {
                    return Err(E::custom(format_args!(
                        "a duration cannot be negative, got \"{shown}\" ({DURATION_EXPECTED})"
                    )));
                }
                let d = humantime::parse_duration(v)
                    .map_err(|e| E::custom(format_args!("invalid duration \"{shown}\": {e} ({DURATION_EXPECTED})")))?;
                if d > MAX_DURATION {
                    return Err(E::custom(format_args!(
                        "duration \"{shown}\" is longer than {}, the limit on any duration in a scenario \
                         ({DURATION_EXPECTED})",
                        humantime::format_duration(MAX_DURATION)
                    )));
                }
                Ok(HumanDuration(d))
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_humantime_strings() {
        let d: HumanDuration = toml::Value::String("1m 30s".into()).try_into().unwrap();
        assert_eq!(d.0, Duration::from_secs(90));
        let err = toml::Value::String("1 fortnight".into())
            .try_into::<HumanDuration>()
            .unwrap_err();
        assert!(err.to_string().contains(DURATION_EXPECTED), "{err}");
    }

    #[test]
    fn durations_above_a_year_are_refused() {
        let parse = |v: &str| toml::Value::String(v.into()).try_into::<HumanDuration>();
        assert_eq!(parse("1year").unwrap().0, MAX_DURATION);
        let err = parse("1year 1s").unwrap_err().to_string();
        assert!(err.contains("is longer than 1year, the limit on any duration"), "{err}");
        assert!(parse("500000000000years").is_err());
    }

    #[test]
    fn tools_keep_file_order() {
        #[derive(Deserialize)]
        struct F {
            tools: Tools,
        }
        let src = "[tools.zeta]\nlatency = { dist = \"constant\", value = \"1ms\" }\n\
                   [tools.alpha]\nlatency = { dist = \"constant\", value = \"1ms\" }\n";
        let f: F = toml::from_str(src).unwrap();
        let names: Vec<_> = f.tools.0.iter().map(|(n, _)| n.get_ref().as_str()).collect();
        assert_eq!(names, ["zeta", "alpha"]);
        assert_eq!(&src[f.tools.0[0].0.span()], "zeta");
    }

    #[test]
    fn max_concurrency_is_an_integer_or_auto() {
        let parse = |v: toml::Value| v.try_into::<MaxConcurrency>();
        assert_eq!(parse(toml::Value::Integer(3)).unwrap(), MaxConcurrency::Count(3));
        assert_eq!(parse(toml::Value::String("auto".into())).unwrap(), MaxConcurrency::Auto);
        assert!(parse(toml::Value::String("many".into())).is_err());
    }
}
