//! Telemetry export for the commands that have it (`run`, `serve`): where to, the
//! bridge of the CLI's own `tracing` spans, and one line on how the export went.

use std::path::Path;

use opentelemetry::trace::TracerProvider as _;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use super::EXIT_INPUT;
use super::output::{self, Finish, Output};
use crate::telemetry::{Destinations, OtlpConfig, ScenarioFigures, Telemetry};

/// Where `--otlp` and `--trace-file` (and the OpenTelemetry environment) send the
/// telemetry, with the trace file opened before any work starts; the [`Finish`] moves it
/// into place once it is whole.
///
/// # Errors
///
/// The exit code, once the reason is printed: a trace file that cannot be written, or
/// an OTLP configuration that is not valid.
pub(super) fn destinations(
    otlp: Option<Option<String>>,
    trace_file: Option<&Path>,
) -> Result<(Destinations, Option<Finish>), u8> {
    let trace_file = output::prepare_named(trace_file, "trace file").map_err(|()| EXIT_INPUT)?;
    let trace_file = match trace_file.map(Output::into_stream).transpose() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot write the trace file: {e}");
            return Err(EXIT_INPUT);
        }
    };
    let (trace_writer, finish) = trace_file.map_or((None, None), |(w, f)| (Some(w), Some(f)));
    let otlp = match OtlpConfig::resolve(otlp, |key| std::env::var(key).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(EXIT_INPUT);
        }
    };
    let destinations = Destinations {
        otlp,
        trace_file: trace_writer,
    };
    Ok((destinations, finish))
}

/// Joins the CLI's own `tracing` spans to `telemetry`'s trace; only parabench's, so the
/// exporter's HTTP and gRPC internals never export spans about exporting.
pub(super) fn bridge_tracing(telemetry: &Telemetry) {
    let layer = tracing_opentelemetry::layer()
        .with_tracer(telemetry.tracer_provider().tracer(crate::telemetry::export::SCOPE))
        .with_filter(Targets::new().with_target("parabench", Level::INFO));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Flushes the export within its timeout and says, in one line each, how it went; moves
/// the trace file into place once whole. Returns false when the trace file could not be
/// written (an output the user asked for, like a report), true otherwise: an OTLP
/// collector that was down costs a warning, never the local results.
pub(super) fn finish(telemetry: Telemetry, figures: Option<&ScenarioFigures>, trace_file: Option<Finish>) -> bool {
    let summary = telemetry.finish(figures);
    if let Some(otlp) = &summary.otlp {
        match otlp.warning() {
            Some(warning) => eprintln!("warning: {warning}"),
            None => eprintln!(
                "telemetry: {} spans exported to {} over {} (flushed in {:.0} ms)",
                otlp.spans_exported,
                otlp.endpoint,
                otlp.protocol.as_str(),
                otlp.flush_time.as_secs_f64() * 1e3
            ),
        }
    }
    let (Some(file), Some(finish)) = (&summary.trace_file, trace_file) else {
        return true;
    };
    let path = finish.path().display().to_string();
    let written = match &file.error {
        Some(e) => Err(std::io::Error::other(e.clone())),
        None => finish.commit(),
    };
    match written {
        Ok(()) => {
            eprintln!("trace: {} spans written to {path}", file.spans_written);
            true
        }
        Err(e) => {
            eprintln!("error: cannot write the trace file to {path}: {e}");
            false
        }
    }
}
