//! How fast parabench drives real tools, against tools made for the job, side by side in
//! one run (docs/benchmarks.md, "Real tools"):
//!
//! - **HTTP**: `kind = "http"` calls at 64 in flight to a local zero-latency endpoint,
//!   against `oha` (if installed: `cargo install oha`) on the same endpoint at the same
//!   concurrency;
//! - **MCP**: `kind = "mcp"` calls at 64 in flight to `parabench serve` with a
//!   zero-latency tool, against a bare loop of the official Rust SDK's client (`rmcp`):
//!   one session, 64 tasks calling as fast as they can.
//!
//! Each figure is calls per second, the best of `--rounds` rounds, taken in turn so that
//! both sides see the same machine. The servers run in processes of their own.
//!
//! ```text
//! cargo build --release && cargo run --release --example real_throughput -- [--calls 20000] [--rounds 3]
//! ```

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parabench::clock::ClockKind;
use parabench::harness::{self, Modes, RunRequest};
use parabench::report::model::CallRecords;

const CONCURRENCY: usize = 64;

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut calls, mut rounds) = (20_000usize, 3usize);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // The zero-latency HTTP endpoint, in a process of its own.
            "--serve-http" => return serve_http(args.next().expect("a port").parse().expect("a port")),
            "--calls" => calls = args.next().and_then(|n| n.parse().ok()).expect("--calls N"),
            "--rounds" => rounds = args.next().and_then(|n| n.parse().ok()).expect("--rounds N"),
            other => panic!("unknown argument {other} (expected --calls N or --rounds N)"),
        }
    }
    parabench::tls::install();
    http(calls, rounds);
    mcp(calls, rounds);
}

/// A server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The parabench binary beside this example's.
fn parabench_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|d| d.parent()).unwrap().join("parabench")
}

/// Calls per second of a parallel run of `scenario` (its calls at [`CONCURRENCY`]).
fn parabench_rate(scenario_text: &str, calls: usize) -> f64 {
    let scenario = parabench::scenario::parse(scenario_text, std::path::Path::new("bench.toml")).unwrap();
    let request = RunRequest {
        modes: Modes::Parallel,
        clock: ClockKind::Real,
        call_records: CallRecords::Omit,
        ..RunRequest::default()
    };
    let report = harness::run(&scenario, &request).unwrap();
    let run = &report.runs[0];
    let ok: usize = run.tools.values().map(|t| t.ok).sum();
    assert_eq!(ok, calls, "every call succeeded");
    calls as f64 / run.wall_s
}

fn best(rates: &[f64]) -> f64 {
    rates.iter().copied().fold(0.0, f64::max)
}

fn http(calls: usize, rounds: usize) {
    let port = free_port();
    let _server = Server(
        Command::new(std::env::current_exe().unwrap())
            .args(["--serve-http", &port.to_string()])
            .spawn()
            .unwrap(),
    );
    wait_for(port);
    let url = format!("http://127.0.0.1:{port}/items");
    let scenario = format!(
        "name = \"http_rate\"\n[executor]\nmax_concurrency = {CONCURRENCY}\n[tools.items]\nkind = \"http\"\n\
         url = \"{url}\"\n[[generate]]\ntool = \"items\"\ncount = {calls}\n"
    );
    let oha = Command::new("oha").arg("--version").output().is_ok();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(parabench_rate(&scenario, calls));
        if oha {
            theirs.push(oha_rate(&url, calls));
        }
    }
    println!(
        "http  parabench kind = \"http\", {CONCURRENCY} in flight: {:>9.0} calls/s",
        best(&ours)
    );
    if oha {
        println!(
            "http  oha -c {CONCURRENCY}:                          {:>9.0} requests/s",
            best(&theirs)
        );
        println!(
            "http  parabench / oha:                      {:>9.2}",
            best(&ours) / best(&theirs)
        );
    } else {
        println!("http  oha is not installed (cargo install oha): no baseline");
    }
}

fn oha_rate(url: &str, calls: usize) -> f64 {
    let out = Command::new("oha")
        .args([
            "-n",
            &calls.to_string(),
            "-c",
            &CONCURRENCY.to_string(),
            "--no-tui",
            "--output-format",
            "json",
            url,
        ])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("oha's JSON");
    json["summary"]["requestsPerSec"]
        .as_f64()
        .expect("summary.requestsPerSec")
}

/// A zero-latency endpoint: answers every request at once.
fn serve_http(port: u16) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let app = axum::Router::new().fallback(|| async { "ok" });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}

fn mcp(calls: usize, rounds: usize) {
    let dir = std::env::temp_dir().join(format!("parabench-real-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let served = dir.join("zero.toml");
    std::fs::write(
        &served,
        "name = \"zero\"\n[tools.api]\nlatency = { dist = \"constant\", value = \"0s\" }\n[[calls]]\nid = \"a\"\ntool = \"api\"\n",
    )
    .unwrap();
    let port = free_port();
    let _server = Server(
        Command::new(parabench_binary())
            .args([
                "serve",
                served.to_str().unwrap(),
                "--http",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("target/release/parabench: run `cargo build --release` first"),
    );
    wait_for(port);
    let url = format!("http://127.0.0.1:{port}/mcp");
    let scenario = format!(
        "name = \"mcp_rate\"\n[executor]\nmax_concurrency = {CONCURRENCY}\n[tools.api]\nkind = \"mcp\"\n\
         server = \"{url}\"\n[[generate]]\ntool = \"api\"\ncount = {calls}\n"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(parabench_rate(&scenario, calls));
        theirs.push(runtime.block_on(rmcp_rate(&url, calls)));
    }
    println!(
        "mcp   parabench kind = \"mcp\", {CONCURRENCY} in flight:  {:>9.0} calls/s",
        best(&ours)
    );
    println!(
        "mcp   rmcp client loop, {CONCURRENCY} tasks:         {:>9.0} calls/s",
        best(&theirs)
    );
    println!(
        "mcp   parabench / rmcp loop:                {:>9.2}",
        best(&ours) / best(&theirs)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Calls per second of a bare client: one session, [`CONCURRENCY`] tasks calling in a
/// loop until `calls` are done.
async fn rmcp_rate(url: &str, calls: usize) -> f64 {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).max_concurrent_requests(4096),
    );
    let client = Arc::new(().serve(transport).await.unwrap());
    let left = Arc::new(std::sync::atomic::AtomicUsize::new(calls));
    let start = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, left) = (client.clone(), left.clone());
            tokio::spawn(async move {
                use std::sync::atomic::Ordering;
                while left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let result = client
                        .peer()
                        .call_tool(CallToolRequestParams::new("api"))
                        .await
                        .unwrap();
                    assert_ne!(result.is_error, Some(true));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    calls as f64 / start.elapsed().as_secs_f64()
}
