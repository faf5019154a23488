//! Reports: the speedup against its bound, percentiles, expectations, and their
//! renderings (terminal table, JSON, a self-contained HTML page); the per-scenario speedup
//! summary of the benches (JSON, Markdown) and the regressions between two bench runs.

pub mod expect;
pub mod figure;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod regression;
pub mod speedup;
pub mod speedup_summary;
pub mod summary;
pub mod terminal;

use std::io::{self, Write};

pub use model::{Report, RunMode, RunReport, SCHEMA_VERSION};
pub use speedup::{SpeedupBound, Work};

/// A way to write a report: one implementation per format.
///
/// `T` is what is written: a run's [`Report`] (the default), or the per-scenario
/// [`speedup_summary::SpeedupSummary`] of the speedup bench.
pub trait Render<T: ?Sized = Report> {
    /// Writes `report` to `out`.
    ///
    /// # Errors
    ///
    /// When writing fails.
    fn render(&self, report: &T, out: &mut dyn Write) -> io::Result<()>;
}
