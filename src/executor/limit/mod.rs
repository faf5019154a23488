//! Limits on when a call may start: one concern per file.
//!
//! The executor holds these as plain counters on its own task, so enforcing them takes
//! no lock and no atomic operation. [`RateLimit`] is public for the tools `parabench serve`
//! serves, which keep a rate the way a run does.

mod concurrency;
mod rate;

pub(super) use concurrency::Slots;
pub use rate::RateLimit;
