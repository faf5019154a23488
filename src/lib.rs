//! parabench: an observability-first benchmarking harness for parallel tool execution.
//!
//! Data flows from a scenario file to a report:
//!
//! - [`scenario`]: the TOML model, validated with located errors, expanded into a
//! - [`plan`]: the calls and their dependency DAG, as plain data, which the
//! - [`executor`] runs through any [`executor::Tool`] under global and per-tool limits,
//!   rate limits, retries, timeouts and a deadline, waiting on a [`clock`] (real, with
//!   sub-millisecond waits, or virtual). [`sim`] provides simulated I/O and CPU tools.
//! - [`report`]: the speedup against its work–span bound, percentiles from
//!   [`telemetry`]'s HDR histograms, expectations, and renderings.
//! - [`harness`] ties them together for one `parabench run`, repeated if asked, with
//!   [`stats`] summarising the repetitions; [`compare`] tells whether a later report
//!   regressed beyond noise; [`tune`] sweeps `max_concurrency` (and open-loop arrival
//!   rates) to recommend a level; [`cli`] is the binary.
//! - [`workload`] builds synthetic plans of known makespan for the benches and the
//!   scale run.
//!
//! The executor knows nothing of TOML; an engineer can build a [`plan::Plan`] in code and
//! run real async tools through it (see `examples/own_tools.rs`).
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

pub mod bench;
pub mod cli;
pub mod clock;
pub mod compare;
pub mod executor;
pub mod harness;
pub mod plan;
pub mod report;
pub mod scenario;
pub mod seed;
pub mod sim;
pub mod stats;
pub mod telemetry;
pub mod tune;
pub mod units;
pub mod workload;
