//! How fast `parabench analyze` reads traces, and how much memory it takes:
//!
//! 1. an OTLP/JSON Lines file of SPANS spans (steps of ten tool calls between model
//!    calls, 100 spans a line, as a Collector's file exporter batches them) is written,
//!    then read by `observed::read_file`: spans per second and the peak resident set;
//! 2. `parabench analyze --listen` (the release binary) is fed by a load generator of
//!    this process over 127.0.0.1 for SECONDS, over OTLP/HTTP protobuf and then OTLP/gRPC,
//!    each with as many requests at once as the machine has cores: spans per second
//!    received;
//! 3. after each, Ctrl-C, and the time until the analysis is printed and the process
//!    has exited.
//!
//!     cargo build --release && cargo run --release --example analyze_scale -- [SPANS] [SECONDS]
//!
//! Defaults: 1,000,000 spans, 5 s per protocol. Exits 1 when a figure is not the one
//! expected (spans read or received miscounted, the analysis not printed).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, TracesData};
use parabench::observed::{Spans, read_file};
use prost::Message;

const SPANS_PER_REQUEST: usize = 100;

fn attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// Spans `first..first + n` of an agent: per step, a model call then ten tool calls at once.
fn batch(first: u64, n: usize) -> ResourceSpans {
    let t0: u64 = 1_700_000_000_000_000_000;
    let spans = (first..first + n as u64)
        .map(|i| {
            let step = i / 11;
            let at = t0 + step * 200_000_000;
            let trace = (step / 100).to_be_bytes();
            let mut trace_id = vec![0u8; 8];
            trace_id.extend(trace);
            let model = i % 11 == 0;
            Span {
                trace_id,
                span_id: (i + 1).to_be_bytes().to_vec(),
                parent_span_id: (u64::MAX - step / 100).to_be_bytes().to_vec(),
                name: if model {
                    "chat".into()
                } else {
                    "execute_tool search".into()
                },
                start_time_unix_nano: if model { at } else { at + 50_000_000 },
                end_time_unix_nano: at + 50_000_000 + (i % 11) * 10_000_000,
                attributes: vec![attr(
                    "gen_ai.operation.name",
                    if model { "chat" } else { "execute_tool" },
                )],
                ..Default::default()
            }
        })
        .collect();
    ResourceSpans {
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn write_file(path: &Path, spans: usize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut first = 0;
    while first < spans as u64 {
        let n = SPANS_PER_REQUEST.min(spans - first as usize);
        let data = TracesData {
            resource_spans: vec![batch(first, n)],
        };
        serde_json::to_writer(&mut out, &data)?;
        out.write_all(b"\n")?;
        first += n as u64;
    }
    out.flush()
}

/// `parabench analyze --listen` on free ports; its addresses and its stderr.
fn listen(
    binary: &Path,
) -> (
    std::process::Child,
    SocketAddr,
    SocketAddr,
    std::sync::mpsc::Receiver<String>,
) {
    let mut child = Command::new(binary)
        .args(["analyze", "--listen", "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the release binary runs (cargo build --release first)");
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addr = |proto: &str| loop {
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("listening lines");
        if let Some(a) = line.strip_prefix(&format!("listening: otlp/{proto} http://")) {
            return a.parse::<SocketAddr>().expect("an address");
        }
    };
    let (http, grpc) = (addr("http"), addr("grpc"));
    (child, http, grpc, rx)
}

/// The next request: spans of their own (fresh steps and traces), so the receiver and the
/// analysis see distinct calls, as from a real agent.
fn next_request(next: &AtomicU64) -> ExportTraceServiceRequest {
    let first = next.fetch_add(SPANS_PER_REQUEST as u64, Ordering::Relaxed);
    ExportTraceServiceRequest {
        resource_spans: vec![batch(first, SPANS_PER_REQUEST)],
    }
}

/// One keep-alive HTTP/1.1 connection posting requests until `stop`.
fn http_load(addr: SocketAddr, next: &AtomicU64, stop: &AtomicBool, sent: &AtomicU64) {
    let mut stream = TcpStream::connect(addr).expect("connects");
    // One write per request and no Nagle: a small request must not wait for an ACK.
    stream.set_nodelay(true).expect("nodelay");
    let mut reader = BufReader::new(stream.try_clone().expect("clones"));
    while !stop.load(Ordering::Relaxed) {
        let body = next_request(next).encode_to_vec();
        let mut request = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend(body);
        stream.write_all(&request).expect("writes");
        // The answer: status line, headers, then Content-Length bytes.
        let mut line = String::new();
        let mut length = 0;
        reader.read_line(&mut line).expect("reads");
        assert!(line.contains(" 200 "), "{line}");
        loop {
            line.clear();
            reader.read_line(&mut line).expect("reads");
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("a length");
            }
        }
        let mut answer = vec![0; length];
        reader.read_exact(&mut answer).expect("reads");
        sent.fetch_add(SPANS_PER_REQUEST as u64, Ordering::Relaxed);
    }
}

fn received_spans(line: &str) -> Option<u64> {
    line.strip_prefix("received ")?.split_whitespace().next()?.parse().ok()
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let spans: usize = args
        .next()
        .and_then(|a| a.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("parabench-analyze-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let file = dir.join("spans.jsonl");

    // 1. Reading a file.
    write_file(&file, spans).expect("the file is written");
    let size = std::fs::metadata(&file).map_or(0, |m| m.len());
    let before = peak_rss_mb();
    let started = Instant::now();
    let mut read = Spans::default();
    read_file(&file, &mut read).expect("the file reads");
    let took = started.elapsed();
    println!(
        "read {} spans ({:.0} MB of OTLP/JSON Lines) in {:.2} s: {:.0} spans/s, peak RSS {:.0} MB (before reading {:.0} MB)",
        read.seen,
        size as f64 / 1e6,
        took.as_secs_f64(),
        read.seen as f64 / took.as_secs_f64(),
        peak_rss_mb(),
        before
    );
    let _ = std::fs::remove_dir_all(&dir);
    if read.seen != spans as u64 {
        eprintln!("read {} spans, wrote {spans}", read.seen);
        return ExitCode::from(1);
    }

    // 2. and 3. The receiver, over each protocol.
    let binary: PathBuf = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("parabench")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("target/release/parabench"));
    let senders = std::thread::available_parallelism().map_or(2, usize::from);
    for protocol in ["http/protobuf", "grpc"] {
        let (mut child, http, grpc, lines) = listen(&binary);
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let threads: Vec<_> = (0..senders)
            .map(|_| {
                let (stop, sent, next) = (stop.clone(), sent.clone(), next.clone());
                std::thread::spawn(move || match protocol {
                    "grpc" => {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .expect("a runtime");
                        rt.block_on(async {
                            let mut client = TraceServiceClient::connect(format!("http://{grpc}"))
                                .await
                                .expect("connects");
                            while !stop.load(Ordering::Relaxed) {
                                client.export(next_request(&next)).await.expect("taken");
                                sent.fetch_add(SPANS_PER_REQUEST as u64, Ordering::Relaxed);
                            }
                        });
                    }
                    _ => http_load(http, &next, &stop, &sent),
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("the sender finishes");
        }
        let elapsed = started.elapsed();
        let sent = sent.load(Ordering::Relaxed);
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        let interrupted = Instant::now();
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .expect("piped")
            .read_to_string(&mut stdout)
            .expect("reads");
        let status = child.wait().expect("exits");
        let to_analysis = interrupted.elapsed();
        let received = lines.try_iter().filter_map(|l| received_spans(&l)).max().unwrap_or(0);
        println!(
            "{protocol}: {sent} spans sent by {senders} senders in {:.1} s: {:.0} spans/s received; \
             Ctrl-C to the analysis printed and the process exited: {:.2} s ({} received in all)",
            elapsed.as_secs_f64(),
            sent as f64 / elapsed.as_secs_f64(),
            to_analysis.as_secs_f64(),
            received
        );
        if !status.success() || !stdout.contains("tool calls in") || received != sent {
            eprintln!("{protocol}: exit {status}, {received} of {sent} received:\n{stdout}");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
