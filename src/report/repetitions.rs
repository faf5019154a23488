//! The summary of `run --repeat`: each figure's median, range and confidence interval
//! over the repetitions.

use std::collections::BTreeMap;

use super::model::{FigureKey, FigureSummary, Repetition, Summary, figures};
use crate::stats::{BOOTSTRAP_RESAMPLES, CONFIDENCE, Spread};

/// Each figure's values over `reps`, by key; a figure missing from some repetition
/// (a tool none of whose calls ran there) has fewer values.
pub fn values_by_figure(reps: &[Vec<(FigureKey, f64)>]) -> BTreeMap<FigureKey, Vec<f64>> {
    let mut out: BTreeMap<FigureKey, Vec<f64>> = BTreeMap::new();
    for rep in reps {
        for (key, value) in rep {
            out.entry(key.clone()).or_default().push(*value);
        }
    }
    out
}

/// The summary of `repetitions`.
///
/// # Panics
///
/// If `repetitions` is empty.
pub fn summarize(repetitions: &[Repetition], vary_seed: bool) -> Summary {
    assert!(!repetitions.is_empty(), "a summary of at least one repetition");
    let reps: Vec<_> = repetitions
        .iter()
        .map(|r| figures(&r.runs, r.speedup, r.efficiency))
        .collect();
    let figures = values_by_figure(&reps)
        .into_iter()
        .filter(|(_, values)| values.iter().all(|v| v.is_finite()))
        .map(|(key, values)| {
            let s = Spread::of(&values);
            FigureSummary {
                key,
                median: s.median,
                min: s.min,
                max: s.max,
                ci_low: s.ci_low,
                ci_high: s.ci_high,
            }
        })
        .collect();
    Summary {
        repetitions: repetitions.len(),
        vary_seed,
        confidence: CONFIDENCE,
        method: format!("percentile bootstrap of the median, {BOOTSTRAP_RESAMPLES} resamples from a fixed seed"),
        figures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::RunMode;
    use crate::report::model::{Figure, RunReport};

    fn rep(index: usize, wall_s: f64) -> Repetition {
        Repetition {
            index,
            seed: 42,
            runs: vec![RunReport {
                mode: RunMode::Parallel,
                max_concurrency: 5,
                batch_size: None,
                wall_s,
                deadline_hit: false,
                interrupted: false,
                success_rate: 1.0,
                latency: Default::default(),
                calls: Vec::new(),
                tools: Default::default(),
                start_lag: None,
                completion_lag: None,
                histograms: Default::default(),
            }],
            speedup: Some(2.0 / wall_s),
            speedup_bound: Some(5.0),
            efficiency: Some(0.4 / wall_s),
        }
    }

    #[test]
    fn each_figure_is_summarised_over_the_repetitions() {
        let reps: Vec<_> = [0.40, 0.44, 0.41, 0.50, 0.42]
            .iter()
            .enumerate()
            .map(|(i, w)| rep(i + 1, *w))
            .collect();
        let summary = summarize(&reps, false);
        assert_eq!(summary.repetitions, 5);
        let wall = summary.figures.iter().find(|f| f.key.figure == Figure::WallS).unwrap();
        assert_eq!((wall.median, wall.min, wall.max), (0.42, 0.40, 0.50));
        assert!(wall.ci_low <= 0.42 && 0.42 <= wall.ci_high);
        let speedup = &summary.figures[0];
        assert_eq!(speedup.key.figure, Figure::Speedup);
        assert_eq!(speedup.median, 2.0 / 0.42);
        assert_eq!(speedup.max, 2.0 / 0.40);
    }
}
