//! `parabench analyze`: the tool calls of real agents, read from their traces (files,
//! or an OTLP receiver), against the schedule parabench's executor finds for them.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use tokio_util::sync::CancellationToken;

use super::EXIT_INPUT;
use super::interrupt::Interrupt;
use super::output::{self, Output};
use crate::observed::receiver::{Counts, Listen, Receiver};
use crate::observed::{self, AnalysisRequest, Spans, calibrate, terminal::Terminal};
use crate::report::Render;
use crate::report::json::Json;
use crate::tune::Levels;

/// The what-if levels when `--levels` gives none.
const DEFAULT_LEVELS: &str = "1,2,4,8,16";

/// Arguments of `parabench analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Trace files: OTLP/JSON (one document or JSON Lines, as the Collector's file
    /// exporter and `run --trace-file` write), Tempo's `batches`, or Jaeger JSON. The
    /// format is told from the content.
    pub files: Vec<PathBuf>,
    /// Receives OTLP traces (HTTP and gRPC) until Ctrl-C, SIGTERM or --for, then analyses
    /// what arrived (with the files, if any).
    #[arg(long)]
    pub listen: bool,
    /// The OTLP/HTTP address of --listen (`/v1/traces`, protobuf or JSON); port 0 picks a
    /// free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4318", requires = "listen")]
    pub http: SocketAddr,
    /// The OTLP/gRPC address of --listen; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4317", requires = "listen")]
    pub grpc: SocketAddr,
    /// With --listen: stop collecting after DUR (like 30s), as Ctrl-C would.
    #[arg(long = "for", value_name = "DUR", value_parser = super::positive_duration, requires = "listen")]
    pub for_: Option<Duration>,
    /// The limit of the ideal schedule each step is compared with (default: unlimited).
    #[arg(long, value_name = "N", value_parser = super::positive_count)]
    pub max_concurrency: Option<NonZeroUsize>,
    /// The limits of the what-if table: a list (1,2,4,8), a range with a step (1..16:2)
    /// or doubling (1..64:x2).
    #[arg(long, default_value = DEFAULT_LEVELS)]
    pub levels: Levels,
    /// Writes the analysis as JSON to FILE (`-` for standard output; the summary then
    /// goes to standard error).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Writes a self-contained HTML page to FILE: the findings, the what-if curve, and
    /// the steps that lost most, each as it happened beside the ideal schedule.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Writes a scenario calibrated from the observed calls to FILE: a tool per observed
    /// tool (empirical latency, observed error rate), the model calls as a tool, the
    /// steps in order, and a `[sweep]` table, for `run` and `tune`.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
}

pub(super) fn run(args: &AnalyzeArgs) -> u8 {
    if args.files.is_empty() && !args.listen {
        eprintln!("error: no trace file given (expected one or more OTLP/JSON or Jaeger JSON files, or --listen)");
        return EXIT_INPUT;
    }
    let outputs = [
        ("--json", args.json.as_deref()),
        ("--html", args.html.as_deref()),
        ("--scenario", args.scenario.as_deref()),
    ];
    if let Err(e) = output::check_distinct(&outputs) {
        eprintln!("error: {e}");
        return EXIT_INPUT;
    }
    let prepare = output::prepare_named;
    let (Ok(json), Ok(html), Ok(scenario)) = (
        prepare(args.json.as_deref(), "analysis"),
        prepare(args.html.as_deref(), "HTML page"),
        prepare(args.scenario.as_deref(), "scenario"),
    ) else {
        return EXIT_INPUT;
    };
    let mut spans = Spans::default();
    for file in &args.files {
        if let Err(e) = observed::read_file(file, &mut spans) {
            eprintln!("error: {e}");
            return EXIT_INPUT;
        }
    }
    let mut sources: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    if args.listen {
        match listen(args) {
            Ok((received, addresses)) => {
                spans.extend(received);
                sources.extend(addresses);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_INPUT;
            }
        }
    }
    let calibrated = scenario.as_ref().map(|_| {
        let steps = observed::steps::steps(&spans);
        calibrate::scenario(&spans, &steps, &args.levels.to_vec(), &sources)
    });
    let request = AnalysisRequest {
        max_concurrency: args.max_concurrency,
        levels: args.levels.clone(),
        sources,
        ideal: observed::ideal::IdealSpec::default(),
        recommend_up_to: observed::analysis::RecommendUpTo::Observed,
    };
    let analysis = match observed::analyse(&spans, &request) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INPUT;
        }
    };
    let mut text = Vec::new();
    let _ = Terminal.render(&analysis, &mut text);
    let stdout_taken = [&json, &html, &scenario]
        .iter()
        .any(|o| o.as_ref().is_some_and(Output::is_stdout));
    output::print_summary(&text, stdout_taken);
    if let Some(out) = json
        && output::commit_named(out, "analysis", |w| Json.render(&analysis, w)).is_err()
    {
        return EXIT_INPUT;
    }
    if let Some(out) = html {
        // Drawn whole before it is written: a page cut short would not load.
        let written = output::commit_named(out, "HTML page", |w| {
            let mut page = Vec::new();
            observed::html::render(&analysis, &spans, &mut page)?;
            w.write_all(&page)
        });
        if written.is_err() {
            return EXIT_INPUT;
        }
    }
    if let (Some(out), Some(text)) = (scenario, calibrated) {
        let path = out.path().display().to_string();
        // What is written must load: a scenario that does not is this command's fault.
        if let Err(e) = crate::scenario::parse(&text, out.path()) {
            eprintln!("error: the calibrated scenario does not validate ({e}); it was not written");
            return EXIT_INPUT;
        }
        if let Err(e) = out.commit(text.as_bytes()) {
            eprintln!("error: cannot write the scenario to {path}: {e}");
            return EXIT_INPUT;
        }
    }
    0
}

/// Receives traces until a signal or `--for`, saying on stderr where and, as they come,
/// how many; returns what arrived and the addresses it arrived at.
fn listen(args: &AnalyzeArgs) -> Result<(Spans, Vec<String>), String> {
    let receiver = Receiver::start(Listen {
        http: Some(args.http),
        grpc: Some(args.grpc),
    })
    .map_err(|e| format!("cannot listen on {} and {}: {e}", args.http, args.grpc))?;
    let mut addresses = Vec::new();
    if let Some(addr) = receiver.http_addr() {
        eprintln!("listening: otlp/http http://{addr}");
        addresses.push(format!("otlp/http http://{addr}"));
    }
    if let Some(addr) = receiver.grpc_addr() {
        eprintln!("listening: otlp/grpc http://{addr}");
        addresses.push(format!("otlp/grpc http://{addr}"));
    }
    // Ctrl-C and SIGTERM end the collection, not the command: the analysis of what
    // arrived is the point.
    let interrupt = Interrupt::install_or_warn();
    let token = interrupt.as_ref().map(Interrupt::token);
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut shown = Counts::default();
    let mut printed = Instant::now();
    loop {
        let stopped = token.as_ref().is_some_and(CancellationToken::is_cancelled);
        let timed_out = args.for_.is_some_and(|limit| started.elapsed() >= limit);
        let counts = receiver.counts();
        // At most once a second while traces pour in, and once more at the end.
        let due = printed.elapsed() >= Duration::from_secs(1) || stopped || timed_out;
        if counts != shown && due {
            let line = format!(
                "received {} spans ({} tool and model calls) in {} traces, {} requests{}",
                counts.spans,
                counts.calls,
                counts.traces,
                counts.requests,
                if counts.refused > 0 {
                    format!(", {} refused", counts.refused)
                } else {
                    String::new()
                }
            );
            if tty {
                eprint!("\r\x1b[2K{line}");
            } else {
                eprintln!("{line}");
            }
            shown = counts;
            printed = Instant::now();
        }
        if stopped || timed_out {
            break;
        }
        // Short enough that Ctrl-C and --for end the collection promptly.
        std::thread::sleep(Duration::from_millis(50));
    }
    if tty {
        eprintln!();
    }
    Ok((receiver.stop(), addresses))
}
