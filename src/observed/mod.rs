//! Workloads that really happened: the tool calls of real agents, read from the traces
//! they already emit (OTLP/JSON, Jaeger JSON, or an OTLP receiver), grouped into steps,
//! and compared with the schedule parabench's executor finds for the same calls.
//!
//! The spans are recognised by the conventions agents use (OpenTelemetry GenAI,
//! OpenInference, OpenLLMetry; see [`span::Conventions`]). A *step* is the set of tool
//! calls one model response issued.

pub mod analysis;
pub mod calibrate;
pub mod calls;
pub mod html;
pub mod ideal;
pub mod jaeger;
pub mod otlp;
pub mod read;
pub mod receiver;
pub mod span;
pub mod steps;
pub mod terminal;
pub mod tree;

pub use analysis::{Analysis, AnalysisRequest, analyse};
pub use read::{Format, ReadError, read_file};
pub use span::{ObservedSpan, Spans};
