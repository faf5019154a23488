//! `parabench serve`: a scenario's tools served over MCP to a real agent, and what the
//! agent's own executor did with them, written when the server stops.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use opentelemetry::KeyValue;
use opentelemetry::trace::TraceContextExt as _;
use tokio_util::sync::CancellationToken;

use super::export;
use super::interrupt::Interrupt;
use super::output::{self, Finish, Output};
use super::{EXIT_INPUT, diagnostic};
use crate::clock::{ClockKind, machine_cores};
use crate::report::Render;
use crate::report::json::Json;
use crate::scenario::{self, Scenario};
use crate::serve::mcp::{Handler, serve_stdio};
use crate::serve::terminal::Terminal;
use crate::serve::{ServedReport, ServedRequest, Service, Snapshot, report};
use crate::telemetry::names::attr;
use crate::telemetry::{Destinations, ScenarioFigures, ScenarioInfo, ServedCallTelemetry, Telemetry};
use crate::tune::Levels;

/// The what-if levels when `--levels` gives none.
const DEFAULT_LEVELS: &str = "1,2,4,8,16";

/// How long the server's connections get to close once it stops.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Arguments of `parabench serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The scenario whose tools to serve (its calls are not made: the client makes them).
    pub scenario: PathBuf,
    /// Serves MCP over streamable HTTP at http://ADDR/mcp; port 0 picks a free one (the
    /// address is printed as `listening: http://HOST:PORT/mcp` on standard error).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8765",
        conflicts_with = "stdio"
    )]
    pub http: SocketAddr,
    /// Serves one client over standard input and output instead, as MCP hosts launch
    /// servers; the server stops when the client closes them.
    #[arg(long)]
    pub stdio: bool,
    /// Stops serving after DUR (like 30s), as Ctrl-C would.
    #[arg(long = "for", value_name = "DUR", value_parser = super::positive_duration)]
    pub for_: Option<Duration>,
    /// The client's own limit on calls in flight, for the ideal schedule (default:
    /// unlimited).
    #[arg(long, value_name = "N", value_parser = super::positive_count)]
    pub max_concurrency: Option<NonZeroUsize>,
    /// The limits of the what-if table: a list (1,2,4,8), a range with a step (1..16:2)
    /// or doubling (1..64:x2).
    #[arg(long, default_value = DEFAULT_LEVELS)]
    pub levels: Levels,
    /// Overrides the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// How long after a step's last answer a call may arrive and still join that step
    /// (the client's own turnaround between an answer and its next call); 0 groups only
    /// calls that overlap.
    #[arg(long, value_name = "DUR", default_value = "10ms", value_parser = humantime::parse_duration)]
    pub step_gap: Duration,
    /// Writes the report as JSON to FILE (`-` for standard output, except with --stdio).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Writes a self-contained HTML page to FILE: the steps the client's executor made,
    /// each beside the ideal schedule, and the what-if curve.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Exports a span per served call (`tools/call {tool}`, a child of the client's span
    /// when the request carries its trace context) and the calls' metrics over OTLP to
    /// ENDPOINT, as `run --otlp` does (default: OTEL_EXPORTER_OTLP_ENDPOINT, else the local
    /// collector).
    #[arg(long, value_name = "ENDPOINT", num_args = 0..=1, require_equals = false)]
    pub otlp: Option<Option<String>>,
    /// Writes the served calls' spans to FILE as OTLP/JSON Lines, as `run --trace-file`
    /// does; `parabench analyze` reads it.
    #[arg(long, value_name = "FILE")]
    pub trace_file: Option<PathBuf>,
}

pub(super) fn run(args: &ServeArgs) -> u8 {
    let outputs = [
        ("--json", args.json.as_deref()),
        ("--html", args.html.as_deref()),
        ("--trace-file", args.trace_file.as_deref()),
    ];
    if let Err(e) = output::check_distinct(&outputs) {
        eprintln!("error: {e}");
        return EXIT_INPUT;
    }
    if args.stdio && outputs.iter().any(|(_, p)| p.is_some_and(|p| p == "-")) {
        eprintln!("error: with --stdio, standard output carries the MCP messages: write the report to a file");
        return EXIT_INPUT;
    }
    let prepare = output::prepare_named;
    let (Ok(json), Ok(html)) = (
        prepare(args.json.as_deref(), "report"),
        prepare(args.html.as_deref(), "HTML page"),
    ) else {
        return EXIT_INPUT;
    };
    let mut scenario = match scenario::load_or_shipped(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{}", diagnostic::render(&e));
            return EXIT_INPUT;
        }
    };
    if let Some((tool, _)) = scenario.real_targets().first() {
        eprintln!(
            "error: {}: tool `{tool}` is a real tool: `parabench serve` serves simulated tools only (expected a \
             scenario whose tools all have a latency)",
            args.scenario.display()
        );
        return EXIT_INPUT;
    }
    if let Some(seed) = args.seed {
        // Only the tools are served: the arrivals of its calls do not matter here.
        scenario.seed = seed;
    }
    let Ok((destinations, trace_finish)) = export::destinations(args.otlp.clone(), args.trace_file.as_deref()) else {
        return EXIT_INPUT;
    };
    let telemetry = match destinations.is_empty() {
        true => None,
        false => start_telemetry(destinations, &scenario),
    };
    let cores = machine_cores();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.get())
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return EXIT_INPUT;
        }
    };
    let service = match Service::new(&scenario, cores) {
        Ok(s) => Arc::new(match &telemetry {
            Some(t) => s.with_telemetry(ServedCallTelemetry::new(
                t,
                scenario.plan.tools().iter().map(|t| t.name.as_str()),
            )),
            None => s,
        }),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INPUT;
        }
    };
    let interrupt = Interrupt::install_or_warn();
    let stop = interrupt.as_ref().map_or_else(CancellationToken::new, Interrupt::token);
    let served = runtime.block_on(serve(args, service.clone(), stop));
    runtime.shutdown_timeout(CLOSE_GRACE);
    let (snapshot, endpoint) = match served {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INPUT;
        }
    };
    let request = ServedRequest {
        max_concurrency: args.max_concurrency,
        levels: args.levels.clone(),
        endpoint,
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        step_gap: args.step_gap,
    };
    let served = match report(&snapshot, service.tools(), &request) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INPUT;
        }
    };
    let mut text = Vec::new();
    let _ = Terminal.render(&served, &mut text);
    let stdout_taken = args.stdio || [&json, &html].iter().any(|o| o.as_ref().is_some_and(Output::is_stdout));
    output::print_summary(&text, stdout_taken);
    if let Some(out) = json
        && output::commit_named(out, "report", |w| Json.render(&served, w)).is_err()
    {
        return EXIT_INPUT;
    }
    if let Some(out) = html {
        // Drawn whole before it is written: a page cut short would not load.
        let written = output::commit_named(out, "HTML page", |w| {
            let mut page = Vec::new();
            crate::serve::report::html(&served, &snapshot, service.tools(), &request, &mut page)?;
            w.write_all(&page)
        });
        if written.is_err() {
            return EXIT_INPUT;
        }
    }
    match telemetry {
        Some(t) => finish_telemetry(t, &served, trace_finish),
        None => 0,
    }
}

/// Starts export, or warns and serves without it: the local report matters more.
fn start_telemetry(destinations: Destinations, scenario: &Scenario) -> Option<Telemetry> {
    let info = ScenarioInfo {
        name: &scenario.name,
        seed: scenario.seed,
        clock: ClockKind::Real,
        calls: 0,
        runs: 1,
    };
    match Telemetry::start_serving(destinations, &info) {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!("warning: {e}; serving without telemetry export");
            None
        }
    }
}

/// Ends the `serve` span with what the client did, then flushes the export.
fn finish_telemetry(telemetry: Telemetry, served: &ServedReport, trace_file: Option<Finish>) -> u8 {
    let root = telemetry.context().span();
    root.set_attribute(KeyValue::new(attr::SERVED_CALLS, served.served.calls as i64));
    root.set_attribute(KeyValue::new(attr::SESSIONS, served.sessions.len() as i64));
    let figures = ScenarioFigures {
        efficiency: (!served.analysis.steps.is_empty()).then_some(served.analysis.total.efficiency),
        ..ScenarioFigures::default()
    };
    match export::finish(telemetry, Some(&figures), trace_file) {
        true => 0,
        false => EXIT_INPUT,
    }
}

/// Serves until `stop` (a signal), `--for`, or (stdio) the client leaving; returns the
/// calls as of then and where they were served.
async fn serve(args: &ServeArgs, service: Arc<Service>, stop: CancellationToken) -> Result<(Snapshot, String), String> {
    let handler = Handler::new(service.clone());
    let shutdown = CancellationToken::new();
    let for_ = async {
        match args.for_ {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let (endpoint, server) = if args.stdio {
        eprintln!("serving {} tools over stdio", handler.tools().len());
        let server = tokio::spawn(serve_stdio(handler, shutdown.clone()));
        ("mcp stdio".to_string(), server)
    } else {
        let listener = tokio::net::TcpListener::bind(args.http)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.http))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let url = format!("http://{addr}/mcp");
        eprintln!("listening: {url}");
        let router = crate::serve::http::router(handler, shutdown.clone());
        let graceful = shutdown.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(graceful.cancelled_owned())
                .await
        });
        (format!("mcp {url}"), server)
    };
    let server = async {
        match server.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    tokio::pin!(server);
    // The calls are taken as of the moment serving stops, before the sessions close:
    // a call still in flight then is unfinished, not cancelled by the shutdown.
    let ended = tokio::select! {
        () = stop.cancelled() => None,
        () = for_ => None,
        result = &mut server => Some(result),
    };
    let snapshot = service.snapshot();
    shutdown.cancel();
    if ended.is_none() {
        let _ = tokio::time::timeout(CLOSE_GRACE, &mut server).await;
    }
    if let Some(Err(e)) = ended {
        // A stdio client that never initialized, or a server that failed: say so, and
        // still report what arrived.
        eprintln!("warning: the server stopped: {e}");
    }
    Ok((snapshot, endpoint))
}
