//! parabench: an observability-first benchmarking harness for parallel tool execution.
//!
//! Data flows from a scenario file to a report, and each module uses only the ones
//! before it (docs/architecture.md; `tests/architecture.rs` keeps it so):
//!
//! - [`plan`], [`seed`], [`units`]: the calls and their DAG as plain data, the per-call
//!   random streams, durations in words. [`stats`]: HDR histograms and bootstrap
//!   intervals. [`clock`]: real (sub-millisecond waits) or virtual time, and
//!   [`clock::ClockKind`], which decides a run's runtime and cores.
//! - [`executor`] runs a plan through any [`executor::Tool`] under global and per-tool
//!   limits, rate limits, retries, timeouts and a deadline. [`sim`] provides simulated
//!   I/O and CPU tools.
//! - [`scenario`]: the TOML model, validated with located errors, expanded into a plan.
//!   [`workload`] builds synthetic plans of known makespan for the benches.
//! - [`telemetry`]: spans and metrics over OTLP, observing the executor.
//! - [`report`]: the speedup against its work–span bound, percentiles, expectations,
//!   and renderings.
//! - [`harness`] ties them together for one `parabench run`, repeated if asked.
//! - [`bench`](mod@bench) is what the benches write and CI checks; [`compare`] tells whether a
//!   later report regressed beyond noise; [`tune`] sweeps `max_concurrency` (and
//!   open-loop arrival rates) to recommend a level.
//! - [`observed`] analyses the tool calls of real agents from their traces; [`serve`]
//!   serves a scenario's tools to a real agent over MCP and analyses what its executor
//!   did with them. [`cli`] is the binary.
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
pub mod observed;
pub mod plan;
pub mod real;
pub mod report;
pub mod scenario;
pub mod seed;
pub mod serve;
pub mod sim;
pub mod stats;
pub mod telemetry;
pub mod tls;
pub mod tune;
pub mod units;
pub mod workload;
