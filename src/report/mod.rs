//! Reports: the speedup against its bound, percentiles, expectations, and their
//! renderings (terminal table, JSON, a self-contained HTML page).

pub mod expect;
pub mod figure;
pub mod html;
pub mod json;
pub mod model;
pub mod speedup;
pub mod summary;
pub mod terminal;

use std::io::{self, Write};

pub use model::{Report, RunMode, RunReport, SCHEMA_VERSION};
pub use speedup::SpeedupBound;

/// A way to write a [`Report`]: one implementation per format.
pub trait Render {
    /// Writes `report` to `out`.
    ///
    /// # Errors
    ///
    /// When writing fails.
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}
