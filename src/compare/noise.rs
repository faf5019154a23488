//! Telling a real change from noise, and what a change amounts to.
//!
//! Three cases, decided once for the whole comparison ([`method`]):
//!
//! - Virtual time on both sides with the same seeds: every run is exact and
//!   deterministic, so any difference is real.
//! - Repetitions on both sides: a difference is beyond noise when the bootstrap
//!   confidence intervals of the two medians do not overlap. This is stricter than a
//!   test at the same level (two 95 % intervals that just touch correspond to p ≈ 0.005
//!   for normal data), which suits a CI gate: a false alarm costs more trust than a
//!   missed regression of a few percent, which the next run catches.
//! - A side with one repetition: noise cannot be measured, and the threshold alone
//!   decides.

use super::model::{Noise, NoiseMethod, Verdict};
use crate::report::Report;
use crate::report::model::Better;
use crate::stats::Spread;

/// How differences between `base` and `new` are told from noise.
pub fn method(base: &Report, new: &Report) -> NoiseMethod {
    let virtual_time = base.clock == "virtual" && new.clock == "virtual";
    if virtual_time && base.repetition_seeds() == new.repetition_seeds() {
        NoiseMethod::Exact
    } else if base.repetition_seeds().len() > 1 && new.repetition_seeds().len() > 1 {
        NoiseMethod::Intervals
    } else {
        NoiseMethod::ThresholdOnly
    }
}

/// Whether the difference between the two sides of one figure stands out from noise.
pub fn judge(method: NoiseMethod, base: &Spread, new: &Spread) -> Noise {
    match method {
        NoiseMethod::Exact => Noise::Exact,
        NoiseMethod::Intervals if base.separated_from(new) => Noise::Beyond,
        NoiseMethod::Intervals => Noise::Within,
        NoiseMethod::ThresholdOnly => Noise::Unknown,
    }
}

/// (new − base) / base in percent; none when the base is 0 and the new value is not
/// (an infinite change, such as the first error).
///
/// Rounded to 1e-9 percent: digits beyond are floating-point residue, and without them
/// exact figures read exactly (0.4 s → 1.0 s is +150 %, not +149.99999999999997 %).
pub fn change_pct(base: f64, new: f64) -> Option<f64> {
    if base == new {
        Some(0.0)
    } else if base == 0.0 {
        None
    } else {
        let pct = (new - base) / base.abs() * 100.0;
        Some((pct * 1e9).round() / 1e9)
    }
}

/// What a change amounts to: regressed or improved only when it is both beyond the
/// threshold and not explained by noise, in the direction that is `better`.
pub fn verdict(better: Better, base: f64, new: f64, noise: Noise, threshold_pct: f64) -> Verdict {
    if base == new {
        return Verdict::Unchanged;
    }
    if noise == Noise::Within {
        return Verdict::WithinNoise;
    }
    let beyond_threshold = change_pct(base, new).is_none_or(|c| c.abs() > threshold_pct);
    if !beyond_threshold {
        return Verdict::BelowThreshold;
    }
    let worse = match better {
        Better::Lower => new > base,
        Better::Higher => new < base,
    };
    if worse { Verdict::Regressed } else { Verdict::Improved }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_decides_between_regressed_and_improved() {
        assert_eq!(verdict(Better::Lower, 0.4, 1.0, Noise::Exact, 5.0), Verdict::Regressed);
        assert_eq!(verdict(Better::Lower, 1.0, 0.4, Noise::Exact, 5.0), Verdict::Improved);
        assert_eq!(verdict(Better::Higher, 5.0, 2.0, Noise::Exact, 5.0), Verdict::Regressed);
        assert_eq!(verdict(Better::Higher, 2.0, 5.0, Noise::Beyond, 5.0), Verdict::Improved);
    }

    #[test]
    fn noise_and_threshold_each_hold_a_change_back() {
        assert_eq!(
            verdict(Better::Lower, 1.0, 1.5, Noise::Within, 5.0),
            Verdict::WithinNoise
        );
        assert_eq!(
            verdict(Better::Lower, 1.0, 1.05, Noise::Exact, 5.0),
            Verdict::BelowThreshold
        );
        assert_eq!(
            verdict(Better::Lower, 1.0, 1.06, Noise::Unknown, 5.0),
            Verdict::Regressed
        );
        assert_eq!(
            verdict(Better::Lower, 1.0, 1.0, Noise::Unknown, 0.0),
            Verdict::Unchanged
        );
    }

    #[test]
    fn a_change_from_zero_is_beyond_any_threshold() {
        assert_eq!(change_pct(0.0, 3.0), None);
        assert_eq!(change_pct(0.0, 0.0), Some(0.0));
        assert_eq!(change_pct(0.4, 1.0), Some(150.0));
        assert_eq!(change_pct(5.0, 2.0), Some(-60.0));
        assert_eq!(
            verdict(Better::Lower, 0.0, 1.0, Noise::Exact, 1000.0),
            Verdict::Regressed
        );
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        fn noise() -> impl Strategy<Value = Noise> {
            prop_oneof![
                Just(Noise::Exact),
                Just(Noise::Beyond),
                Just(Noise::Within),
                Just(Noise::Unknown)
            ]
        }

        fn better() -> impl Strategy<Value = Better> {
            prop_oneof![Just(Better::Lower), Just(Better::Higher)]
        }

        proptest! {
            #[test]
            fn a_regression_is_worse_beyond_threshold_and_beyond_noise(
                base in 0.0f64..10.0,
                new in 0.0f64..10.0,
                threshold in 0.0f64..50.0,
                noise in noise(),
                better in better(),
            ) {
                let v = verdict(better, base, new, noise, threshold);
                if v == Verdict::Regressed || v == Verdict::Improved {
                    prop_assert!(noise != Noise::Within);
                    prop_assert!(change_pct(base, new).is_none_or(|c| c.abs() > threshold));
                    let worse = if better == Better::Lower { new > base } else { new < base };
                    prop_assert_eq!(worse, v == Verdict::Regressed);
                }
                prop_assert_eq!(v == Verdict::Unchanged, base == new);
            }
        }
    }

    #[test]
    fn intervals_decide_only_when_both_sides_repeat() {
        let narrow = Spread::of(&[1.0, 1.01, 0.99]);
        let far = Spread::of(&[2.0, 2.01, 1.99]);
        assert_eq!(judge(NoiseMethod::Intervals, &narrow, &far), Noise::Beyond);
        assert_eq!(judge(NoiseMethod::Intervals, &narrow, &narrow), Noise::Within);
        assert_eq!(judge(NoiseMethod::ThresholdOnly, &narrow, &far), Noise::Unknown);
        assert_eq!(judge(NoiseMethod::Exact, &narrow, &narrow), Noise::Exact);
    }
}
