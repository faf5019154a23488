//! `[expect]` and `[sweep]`: what a run must meet and what `tune` sweeps.

use toml::Spanned;

use crate::scenario::arrivals::Arrivals;
use crate::scenario::error::{SourceMap, number};
use crate::scenario::model::{ExpectTable, SweepTable};
use crate::scenario::{Expectations, MAX_CALLS, Sweep};

use super::{Result, nonzero_usize};

pub(super) fn expectations(t: &ExpectTable, map: &SourceMap) -> Result<Expectations> {
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
pub(super) fn sweep(
    table: &Spanned<SweepTable>,
    open_loop: Option<(&Arrivals, usize)>,
    map: &SourceMap,
) -> Result<Sweep> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::Duration;

    use crate::scenario::expand::test_support::*;
    use crate::scenario::parse;

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
        assert!(
            err.to_string().contains(&format!("above the limit of {MAX_CALLS}")),
            "{err}"
        );
        assert_eq!(err.located().unwrap().line, 18);
        // MAX_CALLS - 1 arriving calls a second for OPEN_LOOP's 1 s, and its one closed
        // call, are exactly the limit.
        assert_eq!(ok(OPEN_LOOP).arrivals.unwrap().duration, Duration::from_secs(1));
        let at_limit = format!("[{}.0]", MAX_CALLS - 1);
        assert!(parse(&with_sweep(OPEN_LOOP, &at_limit), Path::new("s.toml")).is_ok());
        let over = format!("[{}.0]", MAX_CALLS);
        assert!(parse(&with_sweep(OPEN_LOOP, &over), Path::new("s.toml")).is_err());
    }
}
