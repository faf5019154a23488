//! What `parabench serve` costs per call: a real MCP client (the official Rust SDK) calls
//! the served tools over streamable HTTP on 127.0.0.1, with 1, 8 and 64 calls in flight.
//!
//! ```sh
//! cargo run --release --example serve_overhead            # 3 s per level
//! cargo run --release --example serve_overhead -- 10      # 10 s per level
//! # against a server of its own process (the served latency is then in its report):
//! parabench serve examples/serve_overhead.toml --http 127.0.0.1:8765 --json served.json &
//! cargo run --release --example serve_overhead -- 3 http://127.0.0.1:8765/mcp
//! ```
//!
//! For a zero-latency tool, every microsecond of a round trip is the server's and the
//! client's overhead (JSON-RPC, HTTP, the SDK's session, the call log); the calls per
//! second at 64 in flight are what the server sustains. For a 50 ms tool, the served
//! latency (start to answer, on the server) and the round trip (on the client) say how
//! close a call comes to 50 ms. Client and server share this process and the machine's
//! cores, as an agent and `parabench serve` on one machine do.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parabench::serve::mcp::Handler;
use parabench::serve::{Service, http};
use parabench::stats::LatencyHistogram;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt, service::RunningService};
use tokio_util::sync::CancellationToken;

/// A tool of no latency and one of 50 ms (the same file serves the external server).
const SCENARIO: &str = include_str!("serve_overhead.toml");

/// Calls `tool` from `in_flight` tasks for `duration`; the round trips and the calls made.
async fn load(
    client: &Arc<RunningService<RoleClient, ()>>,
    tool: &'static str,
    in_flight: usize,
    duration: Duration,
) -> (LatencyHistogram, usize, Duration) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..in_flight)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut trips = Vec::new();
                while started.elapsed() < duration {
                    let sent = Instant::now();
                    let result = client
                        .peer()
                        .call_tool(CallToolRequestParams::new(tool))
                        .await
                        .expect("served");
                    assert_eq!(result.is_error, Some(false));
                    trips.push(sent.elapsed());
                }
                trips
            })
        })
        .collect();
    let mut all = LatencyHistogram::new();
    for t in tasks {
        for trip in t.await.expect("a load task") {
            all.record(trip);
        }
    }
    let calls = all.len() as usize;
    (all, calls, started.elapsed())
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let duration = Duration::from_secs(seconds);
    let external = std::env::args().nth(2);
    let scenario = parabench::scenario::parse(SCENARIO, Path::new("serve_overhead.toml")).expect("valid");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let service = Arc::new(Service::new(&scenario, NonZeroUsize::MIN).expect("a service"));
        let shutdown = CancellationToken::new();
        let url = match external {
            Some(url) => url,
            None => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
                let url = format!("http://{}/mcp", listener.local_addr().expect("bound"));
                let router = http::router(Handler::new(service.clone()), shutdown.clone());
                let stop = shutdown.clone();
                tokio::spawn(async move {
                    axum::serve(listener, router)
                        .with_graceful_shutdown(stop.cancelled_owned())
                        .await
                });
                url
            }
        };
        let client = Arc::new(
            ().serve(StreamableHttpClientTransport::from_uri(url.clone()))
                .await
                .expect("initialize"),
        );
        println!("parabench serve at {url}, {seconds} s per level, one client session");
        println!("zero-latency tool:");
        println!("  in flight   calls/s   round trip p50      p99   per call (wall / calls)");
        let _ = load(&client, "zero", 8, Duration::from_millis(500)).await;
        for in_flight in [1, 8, 64] {
            let (h, calls, wall) = load(&client, "zero", in_flight, duration).await;
            println!(
                "  {in_flight:>9}  {:>8.0}  {:>12.0} µs  {:>6.0} µs  {:>8.1} µs",
                calls as f64 / wall.as_secs_f64(),
                us(h.quantile(0.5)),
                us(h.quantile(0.99)),
                us(wall) / calls as f64
            );
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!("50 ms tool:");
        for in_flight in [1, 8, 64] {
            let before = service.snapshot().calls.len();
            let (h, calls, _) = load(&client, "fifty", in_flight, duration).await;
            let snapshot = service.snapshot();
            let mut served = LatencyHistogram::new();
            for c in &snapshot.calls[before..] {
                if let (Some(start), Some(end)) = (c.start, c.end) {
                    served.record(end - start);
                }
            }
            println!("  {in_flight} in flight, {calls} calls:");
            if !served.is_empty() {
                println!(
                    "    served (start to answer)   p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
                    ms(served.quantile(0.5)),
                    ms(served.quantile(0.99)),
                    ms(served.max())
                );
            }
            println!(
                "    round trip (client)        p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
                ms(h.quantile(0.5)),
                ms(h.quantile(0.99)),
                ms(h.max())
            );
        }
        let _ = Arc::try_unwrap(client).map(|c| c.cancel());
        shutdown.cancel();
    });
}
