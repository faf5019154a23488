//! parabench
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

pub mod clock;
pub mod executor;
pub mod plan;
pub mod seed;
pub mod sim;
