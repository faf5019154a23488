//! `parabench tune`: sweep `max_concurrency`, explain the curve, recommend a level.
//!
//! Data flows through one file per step: [`levels`] (what to try) → [`sweep`] (one run
//! per level on the same seed) → [`recommend`] and [`usl`] (the choice and the model)
//! → [`model`] (the JSON contract) → [`terminal`] and [`chart`] (the renderings).
//!
//! # Examples
//!
//! ```
//! use std::path::Path;
//! use parabench::clock::ClockKind;
//! use parabench::tune::{self, TuneRequest};
//!
//! // Twelve 100 ms calls of a tool limited to 3 in flight: throughput is min(N, 3)/100 ms.
//! let scenario = parabench::scenario::parse(
//!     r#"
//!     name = "limited"
//!     [tools.api]
//!     latency = { dist = "constant", value = "100ms" }
//!     max_concurrency = 3
//!     [[generate]]
//!     tool = "api"
//!     count = 12
//!     "#,
//!     Path::new("limited.toml"),
//! )
//! .unwrap();
//! let request = TuneRequest {
//!     levels: "1..6".parse().unwrap(),
//!     clock: ClockKind::Virtual,
//!     seed: None,
//!     criteria: Default::default(),
//!     rates: None,
//!     interrupt: None,
//! };
//! let report = tune::run(&scenario, &request, |_| {}).unwrap();
//! assert_eq!(report.recommended, Some(3));
//! assert_eq!(report.levels[2].throughput, 30.0);
//! ```

pub mod chart;
mod error;
pub mod html;
pub mod levels;
pub mod model;
pub mod rates;
pub mod recommend;
pub mod sweep;
pub mod terminal;
pub mod usl;

pub use error::TuneError;
pub use levels::{Levels, LevelsError};
pub use model::RateReport;
pub use model::{LevelReport, TUNE_SCHEMA_VERSION, TuneReport};
pub use rates::Rates;
pub use recommend::{Criteria, Recommendation};
pub use usl::{UslError, UslFit};

use std::num::NonZeroUsize;

use tokio_util::sync::CancellationToken;

use crate::clock::ClockKind;
use crate::scenario::{ArrivalsError, Scenario};
use model::{ArrivalsReport, CriteriaReport, UslReport};
use sweep::{RunSettings, SweepPlan};

/// A fully resolved `parabench tune`: flags already applied over the scenario.
#[derive(Clone, Debug)]
pub struct TuneRequest {
    /// The levels to try (1 is always added: the baseline).
    pub levels: Levels,
    /// The clock every level runs on.
    pub clock: ClockKind,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// What the recommended level must meet.
    pub criteria: Criteria,
    /// Arrival rates to try at the recommended level (open-loop scenarios only).
    pub rates: Option<Rates>,
    /// Stops the sweep when cancelled (Ctrl-C): the level or rate being measured is
    /// dropped, as a run cut short measures nothing comparable, and the report keeps the
    /// ones that finished, marked [partial](TuneReport::partial), with no recommendation.
    pub interrupt: Option<CancellationToken>,
}

/// What finished: a concurrency level or an arrival rate.
#[derive(Clone, Copy, Debug)]
pub enum Progress<'a> {
    /// A concurrency level of the sweep.
    Level(&'a LevelReport),
    /// An arrival rate of the rate sweep.
    Rate(&'a RateReport),
}

/// Sweeps `scenario` as `request` says, calling `progress` after each level (and each
/// rate), and builds the report: levels, recommendation, USL fit, and the rate sweep.
///
/// # Errors
///
/// [`TuneError`] when the runtime or the simulated tools cannot start, or rates are
/// asked of a scenario without `[arrivals]` (checked before anything runs).
pub fn run(
    scenario: &Scenario,
    request: &TuneRequest,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<TuneReport, TuneError> {
    if request.rates.is_some() && scenario.arrivals.is_none() {
        return Err(ArrivalsError::NoArrivals.into());
    }
    let seed = request.seed.unwrap_or(scenario.seed);
    // Arrivals come from the sweep's seed, like every other draw (and each rate's too).
    let scenario = &*scenario.with_seed(seed)?;
    let plan = SweepPlan {
        levels: request.levels.clone(),
        runs: RunSettings {
            clock: request.clock,
            seed,
            interrupt: request.interrupt.clone(),
        },
    };
    let levels = sweep::run(scenario, &plan, |l| progress(Progress::Level(l)))?;
    let planned = request.levels.with_baseline().get().len();
    let mut partial = levels.len() < planned;
    let cores = sweep::cores(scenario, request.clock).get();
    let recommendation = if partial {
        Recommendation {
            level: None,
            reason: format!(
                "interrupted after {} of {planned} levels: no recommendation from a partial sweep",
                levels.len()
            ),
        }
    } else {
        recommend::recommend(&levels, &request.criteria, &scenario.plan, cores)
    };
    let (usl, usl_note) = fit(&levels, request.clock);
    let rate_sweep = match &request.rates {
        None => None,
        Some(_) if partial => None,
        Some(rates) => {
            // At the recommended level; without one, at the scenario's own limit.
            let level = recommendation
                .level
                .and_then(NonZeroUsize::new)
                .unwrap_or(scenario.executor.max_concurrency);
            let sweep = rates::run(scenario, rates, level, &plan.runs, &request.criteria, |r| {
                progress(Progress::Rate(r))
            })?;
            partial |= sweep.rates.len() < rates.get().len();
            Some(sweep)
        }
    };
    let c = &request.criteria;
    Ok(TuneReport {
        schema_version: TUNE_SCHEMA_VERSION,
        scenario: scenario.name.clone(),
        clock: request.clock.as_str().to_string(),
        seed,
        parabench_version: env!("CARGO_PKG_VERSION").to_string(),
        calls: scenario.plan.calls().len(),
        arrivals: scenario.arrivals.as_ref().map(|a| ArrivalsReport {
            process: a.process.as_str().to_string(),
            rate_per_s: a.rate_per_s,
            duration_s: a.duration.as_secs_f64(),
        }),
        criteria: CriteriaReport {
            target_share: c.target_share,
            slo_p99_s: c.slo_p99.map(|d| d.as_secs_f64()),
            max_error_rate: c.max_error_rate,
        },
        levels,
        recommended: recommendation.level,
        reason: recommendation.reason,
        usl,
        usl_note,
        rate_sweep,
        partial,
    })
}

/// The USL fit of the throughputs, and a sentence on what it says of runs on `clock`.
fn fit(levels: &[LevelReport], clock: ClockKind) -> (Option<UslReport>, String) {
    let points: Vec<(f64, f64)> = levels
        .iter()
        .map(|l| (l.max_concurrency as f64, l.throughput))
        .collect();
    let fit = match UslFit::fit(&points) {
        Ok(fit) => fit,
        Err(e) => return (None, format!("no USL fit: {e}.")),
    };
    let top = levels.last().map_or(1.0, |l| l.max_concurrency as f64);
    let note = if fit.kappa_negligible(top) {
        // Only simulated time is free of coordination by construction; on the real
        // clock the runs share this machine's cores, caches and runtime.
        let why = match clock {
            ClockKind::Virtual => {
                "Concurrent calls do not pay to coordinate with each other here (on the virtual clock, \
                 simulated tools share no locks or caches)"
            }
            ClockKind::Real => {
                "Up to the highest level tried, concurrent calls did not pay to coordinate with each other"
            }
        };
        format!(
            "κ ≈ 0: no retrograde region. {why}, so throughput only flattens, by contention σ = {:.3} and the hard \
             limits, and never falls as concurrency grows.",
            fit.sigma
        )
    } else {
        let peak_measured = levels.iter().map(|l| l.throughput).fold(0.0, f64::max);
        let still_at_peak = levels.last().is_some_and(|l| l.throughput >= 0.98 * peak_measured);
        match fit.peak_n() {
            Some(peak) if still_at_peak => format!(
                "σ = {:.3}, κ = {:.2e}: the fitted curve peaks at N* = {peak:.1}, but the measured throughput does \
                 not fall up to {top}: the plateau is a hard limit, which the USL can only approximate with κ, \
                 not a retrograde region.",
                fit.sigma, fit.kappa
            ),
            Some(peak) => format!(
                "σ = {:.3}, κ = {:.2e}: throughput is predicted to peak at N* = {peak:.1} and fall beyond it.",
                fit.sigma, fit.kappa
            ),
            None => format!(
                "σ = {:.3}, κ = {:.2e}: contention is total, so concurrency cannot raise throughput.",
                fit.sigma, fit.kappa
            ),
        }
    };
    let peak_n = (!fit.kappa_negligible(top)).then(|| fit.peak_n()).flatten();
    let report = UslReport {
        lambda: fit.lambda,
        sigma: fit.sigma,
        kappa: fit.kappa,
        peak_n,
        r_squared: fit.r_squared,
    };
    (Some(report), note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usl_note_claims_no_shared_locks_only_in_simulated_time() {
        // The USL with σ = 0.1 and κ = 0: throughput flattens and never falls.
        let levels: Vec<LevelReport> = [1, 2, 4, 8, 16]
            .into_iter()
            .map(|n| LevelReport::fixture(n, 10.0 * n as f64 / (1.0 + 0.1 * (n as f64 - 1.0))))
            .collect();
        let (_, simulated) = fit(&levels, ClockKind::Virtual);
        assert!(
            simulated.contains("simulated tools share no locks or caches"),
            "{simulated}"
        );
        let (_, real) = fit(&levels, ClockKind::Real);
        assert!(real.starts_with("κ ≈ 0"), "{real}");
        assert!(!real.contains("share no locks"), "{real}");
    }
}
