//! Reports of a run: the speedup against its bound, percentiles, expectations, the
//! repetitions' summary, and their renderings (terminal table, JSON, a self-contained
//! HTML page, HdrHistogram interval logs).

pub mod expect;
pub mod figure;
pub mod hlog;
pub mod html;
pub mod json;
pub mod model;
pub mod repetitions;
pub mod speedup;
pub mod terminal;

use std::io::{self, Write};

pub use model::{Report, RunReport, SCHEMA_VERSION};
pub use speedup::{SpeedupBound, Work};

/// A way to write a report: one implementation per format.
///
/// `T` is what is written: a run's [`Report`] (the default), or another document such
/// as the per-scenario speedup summary of the benches ([`crate::bench`]).
pub trait Render<T: ?Sized = Report> {
    /// Writes `report` to `out`.
    ///
    /// # Errors
    ///
    /// When writing fails.
    fn render(&self, report: &T, out: &mut dyn Write) -> io::Result<()>;
}
