//! Simulated tools for a real agent (`parabench serve`): a scenario's tools served over
//! the Model Context Protocol, each call served as the simulation would run it (its
//! latency, failures, hangs, limits and rate limits, drawn from the seed), and what the
//! client's own executor did with them analysed as `analyze` analyses a trace.
//!
//! - [`service`]: the simulated service of each call, and the [`log`] of what the client
//!   did;
//! - [`mcp`]: the MCP server (streamable HTTP or stdio) on the official SDK, and [`http`]
//!   its endpoint, every protocol error a JSON-RPC error;
//! - [`report`](mod@report): the calls grouped into steps, against the ideal at the scenario's limits;
//!   [`terminal`] prints it, and `analyze`'s page draws it.

pub mod http;
pub mod log;
pub mod mcp;
pub mod report;
pub mod service;
pub mod terminal;

pub use log::{CallLog, ServedStatus, Snapshot};
pub use report::{ServedReport, ServedRequest, report};
pub use service::{Answer, CallRequest, Origin, Service, UnknownTool};
