//! Why a tune could not run at all: one error for the level sweep and the rate sweep.

use crate::harness::HarnessError;
use crate::scenario::ArrivalsError;

/// Why a tune could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// The runtime or the simulated tools could not start.
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// `rates` was given for a scenario without `[arrivals]`, or a rate brings too many calls.
    #[error(transparent)]
    Arrivals(#[from] ArrivalsError),
}
