//! What a run leaves behind to look at: latency histograms (and, with the telemetry
//! work, spans and metrics over OTLP).

pub mod histogram;

pub use histogram::LatencyHistogram;
