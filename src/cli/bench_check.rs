//! `parabench bench-check`: fails a CI job when a bench run regressed against a baseline.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{EXIT_EXPECTATION, EXIT_INPUT};
use crate::bench::regression::{self, Regression};
use crate::bench::summary::SpeedupSummary;

/// Arguments of `parabench bench-check`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("checks").required(true).multiple(true).args(["criterion", "speedup"])))]
pub struct BenchCheckArgs {
    /// Criterion's output directory (such as target/criterion) after
    /// `cargo bench -- --baseline NAME`: fails on benchmarks that got slower.
    #[arg(long, value_name = "DIR")]
    pub criterion: Option<PathBuf>,
    /// A speedup summary (target/parabench/speedup-report.json) to compare with
    /// --speedup-baseline: fails on a lower speedup, a higher p99 or a broken expectation.
    #[arg(long, value_name = "FILE", requires = "speedup_baseline")]
    pub speedup: Option<PathBuf>,
    /// The speedup summary of the baseline.
    #[arg(long, value_name = "FILE", requires = "speedup")]
    pub speedup_baseline: Option<PathBuf>,
    /// Accept a current summary that lacks scenarios of the baseline (a bench run
    /// filtered on purpose): they are listed but not failed. At least one scenario must
    /// still be compared.
    #[arg(long, requires = "speedup")]
    pub allow_missing: bool,
    /// The largest change tolerated, in percent.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0, value_parser = percent)]
    pub max_regression: f64,
}

fn percent(text: &str) -> Result<f64, String> {
    match text.trim_end_matches('%').parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
        _ => Err(format!("expected a percentage of at least 0, such as 5, got `{text}`")),
    }
}

pub(super) fn run(args: &BenchCheckArgs) -> u8 {
    let threshold = args.max_regression / 100.0;
    let mut regressions: Vec<Regression> = Vec::new();
    if let Some(dir) = &args.criterion {
        let changes = match regression::criterion_changes(dir) {
            Ok(changes) => changes,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_INPUT;
            }
        };
        if changes.is_empty() {
            eprintln!(
                "error: no comparison with a baseline under {} (run `cargo bench -- --baseline NAME` first)",
                dir.display()
            );
            return EXIT_INPUT;
        }
        let slower = regression::slower_than(&changes, threshold);
        println!(
            "criterion: {} benchmarks compared with their baseline, {} slower by more than {}%",
            changes.len(),
            slower.len(),
            args.max_regression
        );
        regressions.extend(slower);
    }
    if let (Some(current), Some(baseline)) = (&args.speedup, &args.speedup_baseline) {
        let (current, baseline) = match (read(current), read(baseline)) {
            (Ok(c), Ok(b)) => (c, b),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("error: {e}");
                return EXIT_INPUT;
            }
        };
        let found = regression::compare_summaries(&baseline, &current, threshold);
        if found.compared == 0 {
            // A gate that compared nothing would pass whatever the bench measured.
            eprintln!(
                "error: no scenario of the current summary is in the baseline (current: {}; baseline: {}): \
                 nothing was compared",
                names(&current),
                names(&baseline)
            );
            return EXIT_INPUT;
        }
        println!(
            "speedup: {} scenarios compared with their baseline, {} regressions beyond {}%",
            found.compared,
            found.regressions.len(),
            args.max_regression
        );
        regressions.extend(found.failures(args.allow_missing));
        if args.allow_missing {
            for scenario in &found.missing {
                println!("not compared: {scenario} is in the baseline only (--allow-missing)");
            }
        }
    }
    for r in &regressions {
        println!("regression: {r}");
    }
    if regressions.is_empty() { 0 } else { EXIT_EXPECTATION }
}

fn names(summary: &SpeedupSummary) -> String {
    let names: Vec<&str> = summary.rows.iter().map(|r| r.scenario.as_str()).collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

fn read(path: &Path) -> Result<SpeedupSummary, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    SpeedupSummary::read(&text).map_err(|e| format!("{}: {e}", path.display()))
}
