//! What the benches write and CI checks: the per-scenario speedup summary of
//! `cargo bench --bench speedup` (JSON, Markdown), and the regressions between two bench
//! runs (criterion's comparisons with a baseline, and two summaries), which
//! `parabench bench-check` turns into an exit code.

pub mod markdown;
pub mod regression;
pub mod summary;

pub use markdown::Markdown;
pub use regression::{Regression, SummaryComparison};
pub use summary::{BenchTimes, SpeedupSummary, SummaryError, SummaryRow};
