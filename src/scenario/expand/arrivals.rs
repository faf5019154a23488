//! `[arrivals]`: the open-loop load's process, rate, duration and tool mix.

use toml::Spanned;

use crate::plan::ToolId;
use crate::scenario::MAX_CALLS;
use crate::scenario::arrivals::{ArrivalProcess, Arrivals};
use crate::scenario::error::{SourceMap, number, one_of, quoted, shown};
use crate::scenario::model::{ArrivalsTable, ProcessName};

use super::graph::Tools;
use super::settings::printable;
use super::{Result, positive_duration};

/// `[arrivals]`, checked; `closed` calls are already in the plan.
pub(super) fn arrivals(
    table: &Spanned<ArrivalsTable>,
    tools: &Tools<'_, '_>,
    closed: usize,
    map: &SourceMap,
) -> Result<Arrivals> {
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
pub(super) fn mix_weights(
    mix: &Spanned<toml::Table>,
    tools: &Tools<'_, '_>,
    map: &SourceMap,
) -> Result<Vec<(ToolId, f64)>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::Duration;

    use crate::scenario::expand::test_support::*;
    use crate::scenario::parse;

    #[test]
    fn arrivals_add_calls_after_the_others_with_their_arrival_times() {
        let s = ok(OPEN_LOOP);
        let calls = s.plan.calls();
        assert_eq!(calls.len(), 21);
        let arrival = |i: usize| s.plan.arrival(s.plan.indices().nth(i).unwrap());
        assert_eq!((calls[0].id.as_str(), arrival(0)), ("warmup", None));
        assert_eq!(calls[1].id, "r1");
        assert_eq!(arrival(20), Some(Duration::from_millis(950)));
        assert!(calls[1..].iter().all(|c| s.plan.tool(c.tool).name == "fast"));
        let a = s.arrivals.unwrap();
        assert_eq!((a.process, a.rate_per_s), (ArrivalProcess::Constant, 20.0));
        // Only [arrivals]: the scenario needs no closed calls.
        let only = ok(&OPEN_LOOP.replace("[[calls]]\nid = \"warmup\"\ntool = \"slow\"\n", ""));
        assert_eq!(only.plan.calls().len(), 20);
    }

    #[test]
    fn a_new_rate_counts_the_closed_calls_against_the_limit() {
        // OPEN_LOOP keeps its one closed call: 1,999,999 arrivals (1 s) reach the limit,
        // one more a second passes it, rather than being cut short when drawn.
        let s = ok(OPEN_LOOP);
        assert!(s.arrivals_at((MAX_CALLS - 1) as f64).is_ok());
        assert!(matches!(
            s.arrivals_at(MAX_CALLS as f64),
            Err(crate::scenario::ArrivalsError::TooManyCalls { calls, .. }) if calls == (MAX_CALLS + 1) as f64
        ));
    }

    #[test]
    fn a_new_rate_redraws_the_arrivals_and_keeps_the_rest() {
        let s = ok(OPEN_LOOP).with_arrival_rate(5.0).unwrap();
        assert_eq!(s.plan.calls().len(), 6);
        assert_eq!(s.plan.calls()[0].id, "warmup");
        assert_eq!(
            s.plan.arrival(s.plan.find("r2").unwrap()),
            Some(Duration::from_millis(200))
        );
        assert_eq!(s.arrivals.as_ref().unwrap().rate_per_s, 5.0);
        assert!(matches!(
            ok(OPEN_LOOP).with_arrival_rate(-1.0),
            Err(crate::scenario::ArrivalsError::Rate(_))
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
