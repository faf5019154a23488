//! `parabench serve` driven by a real MCP client (the official Rust SDK, `rmcp`) over
//! streamable HTTP and, spawning the binary as MCP hosts do, over stdio: what it serves,
//! what it reports of the client's executor, and the protocol errors it answers.

#[path = "common/browser.rs"]
mod browser;
mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use common::{assert_matches_schema, post, read_json, request, temp_dir, write};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use otlp::{Receiver, attr_i64, attr_str, counter_points};
use parabench::telemetry::names::{attr, metric};
use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject, RequestParamsMeta};
use rmcp::service::RunningService;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceError, ServiceExt};
use serde_json::{Value, json};

/// One tool of 50 ms, and one to open connections with.
const IO: &str = r#"
name = "served_io"
seed = 3
[tools.io]
description = "waits 50 ms"
latency = { dist = "constant", value = "50ms" }
[tools.warm]
latency = { dist = "constant", value = "20ms" }
[[calls]]
id = "a"
tool = "io"
"#;

/// A server started on a free port, its address read off stderr.
struct Serving {
    child: Child,
    url: String,
    addr: SocketAddr,
    json: PathBuf,
    /// Its standard error after the listening line.
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Serving {
    fn start(dir: &Path, scenario: &str, extra: &[&str]) -> Self {
        // The SDK's client speaks https through rustls, which needs a provider.
        parabench::tls::install();
        let scenario = write(dir, "served.toml", scenario);
        let json = dir.join("served.json");
        let (child, rx) = common::spawn_with_stderr_lines(
            Command::new(env!("CARGO_BIN_EXE_parabench"))
                .arg("serve")
                .arg(&scenario)
                // A backstop: a test that fails midway still ends its server.
                .args(["--http", "127.0.0.1:0", "--for", "120s", "--json"])
                .arg(&json)
                .args(extra),
        );
        let url = loop {
            let line = rx.recv_timeout(Duration::from_secs(60)).expect("the listening line");
            if let Some(url) = line.strip_prefix("listening: ") {
                break url.to_string();
            }
        };
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches("/mcp")
            .parse()
            .unwrap();
        Self {
            child,
            url,
            addr,
            json,
            stderr: rx,
        }
    }

    async fn client(&self) -> RunningService<RoleClient, ()> {
        ().serve(StreamableHttpClientTransport::from_uri(self.url.clone()))
            .await
            .expect("initialize")
    }

    /// SIGINT; the report it wrote and what it printed (standard output, then error).
    fn interrupt(mut self) -> (Value, String) {
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) }, 0);
        let status = self.child.wait().unwrap();
        let mut out = String::new();
        self.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        // The reader thread ends at the pipe's end, when the child has exited.
        for line in self.stderr.iter() {
            out.push('\n');
            out.push_str(&line);
        }
        assert_eq!(status.code(), Some(0), "{out}");
        let report = read_json(&self.json);
        assert_matches_schema("served-v1.schema.json", &report);
        (report, out)
    }
}

fn arguments(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => panic!("arguments are an object"),
    }
}

async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &str,
    args: Value,
) -> Result<CallToolResult, ServiceError> {
    client
        .peer()
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments(args)))
        .await
}

fn text(result: &CallToolResult) -> String {
    serde_json::to_value(&result.content).unwrap().to_string()
}

/// Calls `tool` `n` times at once.
async fn at_once(client: &RunningService<RoleClient, ()>, tool: &str, n: usize) {
    let calls = (0..n).map(|i| call(client, tool, json!({ "i": i })));
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().is_error, Some(false));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_made_at_once_are_served_at_once() {
    let dir = temp_dir("serve-at-once");
    let server = Serving::start(&dir, IO, &[]);
    let client = server.client().await;
    let tools = client.peer().list_all_tools().await.unwrap();
    let io = tools.iter().find(|t| t.name == "io").unwrap();
    assert_eq!(io.description.as_deref(), Some("waits 50 ms"));
    assert_eq!(io.input_schema.get("type"), Some(&json!("object")));
    // Eight connections opened first, so the eight calls below go out together.
    at_once(&client, "warm", 8).await;
    // Three bursts of eight, apart: three steps. On a shared machine the client's own
    // sending can lag (the other serve tests run beside this one), which only lowers a
    // burst's efficiency: the best of three is the server's, within 10 %.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        at_once(&client, "io", 8).await;
    }
    client.cancel().await.unwrap();
    let (report, out) = server.interrupt();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4, "{out}");
    let mut best: f64 = 0.0;
    for step in &steps[1..] {
        assert_eq!(step["tools"]["io"], 8);
        assert_eq!(step["max_in_flight"], 8);
        best = best.max(step["efficiency"].as_f64().unwrap());
    }
    assert!(best >= 0.9, "efficiency {best}: {out}\n{:#?}", report["calls"]);
    assert_eq!(report["served_tools"]["io"]["max_in_flight"], 8);
    assert_eq!(report["served"]["statuses"]["ok"], 32);
    assert_eq!(report["kind"], "served");
    assert_eq!(report["step_gap_s"], 0.01, "the default gap");
    let calls = report["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 32);
    assert!(calls.iter().all(|c| c["start_s"].as_f64() >= c["arrive_s"].as_f64()));
    assert!(out.contains("served `served_io`"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_made_one_at_a_time_are_a_serial_step_beside_its_ideal() {
    let dir = temp_dir("serve-serial");
    let html = dir.join("served.html");
    // The client's turnaround between an answer and its next call is its own: on a
    // loaded machine it can pass the default 10 ms gap, and split the step.
    let server = Serving::start(&dir, IO, &["--html", html.to_str().unwrap(), "--step-gap", "200ms"]);
    let client = server.client().await;
    for i in 0..8 {
        let result = call(&client, "io", json!({ "i": i })).await.unwrap();
        assert_eq!(result.is_error, Some(false));
    }
    client.cancel().await.unwrap();
    let (report, out) = server.interrupt();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{out}");
    let step = &steps[0];
    assert_eq!(
        (step["calls"].as_u64(), step["max_in_flight"].as_u64()),
        (Some(8), Some(1))
    );
    // Eight 50 ms calls: 0.4 s one at a time, 50 ms at once.
    let (wall, ideal) = (step["wall_s"].as_f64().unwrap(), step["ideal_wall_s"].as_f64().unwrap());
    assert!(
        wall >= 0.4 && (0.05..0.06).contains(&ideal),
        "wall {wall}, ideal {ideal}"
    );
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["kind"] == "serial"), "{findings:?}");
    assert!(out.contains("ran serially"), "{out}");

    // The page, in a real browser: the step beside its ideal, the finding, the tools.
    let dom = browser::dump_dom(&html);
    browser::assert_rendered_cleanly(&dom);
    let page = |name: &str| browser::attribute(&dom, "page", name).unwrap();
    assert_eq!(
        (
            page("data-steps-drawn"),
            page("data-bars-observed"),
            page("data-bars-ideal")
        ),
        ("1".into(), "8".into(), "8".into())
    );
    assert_eq!(dom.matches("data-kind=\"serial\"").count(), 1);
    assert!(dom.contains("<h1>parabench serve</h1>"), "{dom}");
    let table = browser::text_of(&dom, "served-tools").expect("the per-tool table");
    assert!(table.contains("max in flight") && table.contains("io"), "{table}");
    assert!(dom.contains("data-tool=\"io\" data-calls=\"8\""), "{dom}");
    assert!(dom.contains("data-tool=\"warm\" data-calls=\"0\""), "{dom}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_limited_to_three_rejects_the_fourth_call_and_a_cancelled_call_frees_its_slot() {
    let dir = temp_dir("serve-limits");
    let scenario = r#"
        name = "limits"
        [executor]
        timeout = "60s"
        [tools.three]
        latency = { dist = "constant", value = "3s" }
        max_concurrency = 3
        limit_policy = "reject"
        [tools.gate]
        latency = { dist = "constant", value = "1ms" }
        timeout_rate = 1.0
        max_concurrency = 1
        [[calls]]
        id = "a"
        tool = "three"
    "#;
    let server = Serving::start(&dir, scenario, &[]);
    let client = std::sync::Arc::new(server.client().await);
    let spawn = |tool: &'static str, i: usize| {
        let client = client.clone();
        tokio::spawn(async move { call(&client, tool, json!({ "i": i })).await })
    };
    let three: Vec<_> = (0..3).map(|i| spawn("three", i)).collect();
    // Time for the three to arrive (a setup delay: they stay 3 s).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fourth = call(&client, "three", json!({ "i": 3 })).await.unwrap();
    assert_eq!(fourth.is_error, Some(true));
    assert!(
        text(&fourth).contains("rejected, at its limit of 3"),
        "{}",
        text(&fourth)
    );
    // `gate` hangs every call and has one slot: the first call holds it until the client
    // cancels it (dropping the request sends notifications/cancelled); only then can the
    // second start.
    let first = spawn("gate", 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.abort();
    let _ = first.await;
    let second = spawn("gate", 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    for t in three {
        assert_eq!(t.await.unwrap().unwrap().is_error, Some(false));
    }
    let (report, out) = server.interrupt();
    second.abort();
    let gate: Vec<&Value> = report["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tool"] == "gate")
        .collect();
    assert_eq!(gate[0]["status"], "cancelled", "{out}");
    assert!(gate[1]["start_s"].is_f64(), "the second call never got the slot: {out}");
    assert_eq!(gate[1]["status"], "unfinished");
    let three = &report["served_tools"]["three"];
    assert_eq!(
        (three["statuses"]["rejected"].as_u64(), three["beyond_limit"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(report["served"]["statuses"]["cancelled"], 1);
    assert!(out.contains("beyond its limit of 3"), "{out}");
}

/// Twelve calls of a flaky tool and a retry of the first failure; what each was answered.
async fn flaky_session(server: &Serving) -> Vec<(Option<bool>, String)> {
    let client = server.client().await;
    let mut answers = Vec::new();
    let mut failed = None;
    for i in 0..12 {
        let result = call(&client, "flaky", json!({ "i": i })).await.unwrap();
        if result.is_error == Some(true) && failed.is_none() {
            failed = Some(i);
        }
        answers.push((result.is_error, text(&result)));
    }
    let again = call(&client, "flaky", json!({ "i": failed.expect("a failure in twelve") }))
        .await
        .unwrap();
    answers.push((again.is_error, text(&again)));
    client.cancel().await.unwrap();
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_hangs_follow_the_seed() {
    let scenario = r#"
        name = "flaky"
        seed = 5
        [executor]
        timeout = "30ms"
        [tools.flaky]
        latency = { dist = "uniform", min = "1ms", max = "3ms" }
        failure_rate = 0.3
        timeout_rate = 0.2
        [[calls]]
        id = "a"
        tool = "flaky"
    "#;
    let mut runs = Vec::new();
    for k in 0..2 {
        let dir = temp_dir(&format!("serve-seed-{k}"));
        let server = Serving::start(&dir, scenario, &[]);
        let answers = flaky_session(&server).await;
        let (report, out) = server.interrupt();
        let statuses = &report["served"]["statuses"];
        assert!(
            statuses["error"].as_u64() > Some(0) && statuses["timeout"].as_u64() > Some(0),
            "{out}"
        );
        assert_eq!(report["served"]["retries"], 1, "{out}");
        runs.push(answers);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].iter().any(|(e, _)| *e == Some(false)));
    assert!(
        runs[0].iter().any(|(_, t)| t.contains("timed out after 30")),
        "{:?}",
        runs[0]
    );
}

/// Tools whose parameters are declared, seen in calls, or neither.
const PARAMS: &str = r#"
name = "served_params"
[tools.search]
latency = { dist = "constant", value = "1ms" }
[tools.search.params]
query = "string"
limit = "integer"
[tools.fetch]
latency = { dist = "constant", value = "1ms" }
[tools.idle]
latency = { dist = "constant", value = "1ms" }
[[calls]]
id = "f1"
tool = "fetch"
params = { url = "https://example.com", retries = 2 }
[[calls]]
id = "f2"
tool = "fetch"
params = { url = "${f1.result}", retries = 2.5 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_lists_its_parameters_declared_or_those_its_calls_pass() {
    let dir = temp_dir("serve-params");
    let server = Serving::start(&dir, PARAMS, &[]);
    let client = server.client().await;
    let tools = client.peer().list_all_tools().await.unwrap();
    let schema = |name: &str| {
        let tool = tools.iter().find(|t| t.name == name).unwrap();
        Value::Object((*tool.input_schema).clone())
    };
    // smolagents' MCP adapter reads `properties` of every tool, and refuses arguments a
    // tool does not declare.
    assert_eq!(
        schema("search")["properties"],
        json!({ "limit": { "type": "integer" }, "query": { "type": "string" } })
    );
    assert_eq!(
        schema("fetch")["properties"],
        json!({ "retries": { "type": "number" }, "url": { "type": "string" } })
    );
    assert_eq!(schema("idle")["properties"], json!({}));
    assert_eq!(schema("idle")["type"], json!("object"));
    client.cancel().await.unwrap();
    server.interrupt();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_open_a_session_per_call_have_their_steps_found_by_time() {
    let dir = temp_dir("serve-session-per-call");
    let server = Serving::start(&dir, IO, &[]);
    // As langchain-mcp-adapters' default client and LlamaIndex's BasicMCPClient do: a
    // session of its own for every call. Six calls at once, then three.
    for n in [6, 3] {
        let mut clients = Vec::new();
        for _ in 0..n {
            clients.push(server.client().await);
        }
        let calls = clients.iter().map(|c| call(c, "io", json!({})));
        for result in futures::future::join_all(calls).await {
            assert_eq!(result.unwrap().is_error, Some(false));
        }
        for client in clients {
            client.cancel().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (report, _) = server.interrupt();
    assert_eq!(report["sessions"].as_array().unwrap().len(), 9);
    let steps = report["steps"].as_array().unwrap();
    let shape: Vec<(u64, u64)> = steps
        .iter()
        .map(|s| (s["calls"].as_u64().unwrap(), s["max_in_flight"].as_u64().unwrap()))
        .collect();
    assert_eq!(shape, [(6, 6), (3, 3)], "{report:#}");
    assert!(
        report["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .starts_with("it opened a session per call (9 sessions)")),
        "{:?}",
        report["notes"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_a_session_is_answered_204_as_mcp_clients_expect() {
    let dir = temp_dir("serve-delete");
    let server = Serving::start(&dir, IO, &[]);
    let addr = server.addr;
    let answers = tokio::task::spawn_blocking(move || {
        let json = [
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("MCP-Protocol-Version", "2025-06-18"),
        ];
        let initialize = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
        let (status, answer) = post(addr, "/mcp", &json, initialize);
        assert_eq!(status, 200, "{answer}");
        let session = answer
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("mcp-session-id").then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| panic!("no session id in {answer}"));
        let end = [
            ("Mcp-Session-Id", session.as_str()),
            ("MCP-Protocol-Version", "2025-06-18"),
        ];
        let ended = request(addr, "DELETE", "/mcp", &end, b"");
        let list = br#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
        let after = post(addr, "/mcp", &[json[0], json[1], json[2], end[0]], list);
        [ended, after]
    })
    .await
    .unwrap();
    // The MCP Python SDK (1.x and 2.x) takes 200 or 204, and logs "Session termination
    // failed: 202" otherwise.
    assert_eq!(answers[0].0, 204, "{}", answers[0].1);
    // And the session is gone.
    assert_eq!(answers[1].0, 404, "{}", answers[1].1);
    server.interrupt();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_errors_are_json_rpc_errors_and_the_next_client_is_served() {
    let dir = temp_dir("serve-protocol");
    let server = Serving::start(&dir, IO, &[]);
    let addr = server.addr;
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    let answers = tokio::task::spawn_blocking(move || {
        let call = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"io","arguments":{}}}"#;
        let big = format!(
            r#"{{"jsonrpc":"2.0","id":8,"method":"ping","params":{{"pad":"{}"}}}}"#,
            "x".repeat(5 << 20)
        );
        [
            post(addr, "/mcp", &headers, b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"meth"),
            post(addr, "/mcp", &headers, b"[1, 2]"),
            post(addr, "/mcp", &headers, call),
            post(addr, "/mcp", &headers, big.as_bytes()),
        ]
    })
    .await
    .unwrap();
    let body = |answer: &str| -> Value {
        let json = answer.split("\r\n\r\n").nth(1).unwrap_or("");
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {answer}"))
    };
    let expected = [
        (400, -32700, Value::Null),
        (400, -32600, Value::Null),
        (400, -32600, json!(7)),
        (413, -32600, Value::Null),
    ];
    for ((status, answer), (want_status, code, id)) in answers.iter().zip(expected) {
        assert_eq!(*status, want_status, "{answer}");
        let error = body(answer);
        assert_eq!(
            (&error["jsonrpc"], &error["error"]["code"], &error["id"]),
            (&json!("2.0"), &json!(code), &id),
            "{answer}"
        );
    }
    // An unknown tool: invalid params, from the SDK's client's point of view.
    let client = server.client().await;
    match call(&client, "nope", json!({})).await {
        Err(ServiceError::McpError(e)) => assert_eq!(e.code.0, -32602, "{e:?}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
    client.cancel().await.unwrap();
    // And the next client is served.
    let client = server.client().await;
    assert_eq!(call(&client, "io", json!({})).await.unwrap().is_error, Some(false));
    client.cancel().await.unwrap();
    let (report, _) = server.interrupt();
    assert_eq!(report["served"]["unknown_tool"], 1);
    assert_eq!(report["served"]["calls"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_serves_a_host_that_spawns_it_and_reports_when_it_leaves() {
    let dir = temp_dir("serve-stdio");
    let scenario = write(&dir, "served.toml", IO);
    let json = dir.join("served.json");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_parabench"));
    command
        .arg("serve")
        .arg(&scenario)
        .args(["--stdio", "--json"])
        .arg(&json);
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.expect("initialize");
    let tools = client.peer().list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["io", "warm"]);
    for i in 0..3 {
        assert_eq!(
            call(&client, "io", json!({ "i": i })).await.unwrap().is_error,
            Some(false)
        );
    }
    // Closing the transport closes the child's stdin: the server reports and exits.
    client.cancel().await.unwrap();
    let report = read_json(&json);
    assert_matches_schema("served-v1.schema.json", &report);
    assert_eq!(report["served"]["calls"], 3);
    assert_eq!(report["sessions"], json!(["stdio"]));
    assert_eq!(report["sources"], json!(["mcp stdio"]));
}

/// A tool that always fails, beside the 50 ms one.
const TRACED: &str = r#"
name = "served_traced"
seed = 3
[tools.io]
latency = { dist = "constant", value = "50ms" }
[tools.fails]
latency = { dist = "constant", value = "1ms" }
failure_rate = 1.0
[[calls]]
id = "a"
tool = "io"
"#;

#[test]
fn otlp_exports_each_served_call_as_it_ends_under_the_client_span_that_propagated_its_context() {
    let receiver = Receiver::grpc();
    let dir = temp_dir("serve-otlp");
    let trace_file = dir.join("served.jsonl");
    let endpoint = receiver.endpoint();
    let server = Serving::start(
        &dir,
        TRACED,
        &["--otlp", &endpoint, "--trace-file", trace_file.to_str().unwrap()],
    );
    // The client's own trace: what an instrumented agent sends in `params._meta` (SEP-414).
    let (trace_id, client_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = server.client().await;
        let mut traced = CallToolRequestParams::new("io").with_arguments(arguments(json!({ "q": 1 })));
        traced.set_traceparent(&format!("00-{trace_id}-{client_span}-01"));
        let calls = [
            client.peer().call_tool(traced.clone()),
            client.peer().call_tool(traced),
            client
                .peer()
                .call_tool(CallToolRequestParams::new("io").with_arguments(arguments(json!({ "q": 2 })))),
        ];
        for result in futures::future::join_all(calls).await {
            assert_eq!(result.unwrap().is_error, Some(false));
        }
        let failed = call(&client, "fails", json!({})).await.unwrap();
        assert_eq!(failed.is_error, Some(true));
        client.cancel().await.unwrap();
    });
    // Exported while serving, not only at the end.
    assert_eq!(
        receiver.wait_for_spans(4, Duration::from_secs(20)),
        4,
        "{:#?}",
        receiver.spans()
    );
    let (report, out) = server.interrupt();
    assert!(out.contains("telemetry: 5 spans exported"), "{out}");

    let spans = receiver.spans();
    let root = spans
        .iter()
        .find(|s| s.name == "serve served_traced")
        .expect("the serve span");
    assert_eq!(attr_i64(&root.attributes, attr::SERVED_CALLS), Some(4));
    assert_eq!(attr_i64(&root.attributes, attr::SESSIONS), Some(1));
    let served: Vec<_> = spans.iter().filter(|s| s.name.starts_with("tools/call ")).collect();
    assert_eq!(served.len(), 4);
    let session = report["sessions"][0].as_str().unwrap();
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut under_client = 0;
    for span in &served {
        assert_eq!(span.kind, SpanKind::Server as i32);
        assert_eq!(attr_str(&span.attributes, attr::MCP_METHOD), Some("tools/call"));
        assert_eq!(attr_str(&span.attributes, attr::MCP_SESSION_ID), Some(session));
        assert_eq!(attr_str(&span.attributes, attr::GEN_AI_OPERATION), Some("execute_tool"));
        assert_eq!(attr_str(&span.attributes, attr::NETWORK_TRANSPORT), Some("tcp"));
        assert!(attr_str(&span.attributes, attr::JSONRPC_REQUEST_ID).is_some());
        if hex(&span.trace_id) == trace_id {
            // A child of the client's span, linked to the server's root.
            assert_eq!(hex(&span.parent_span_id), client_span);
            assert_eq!(span.links.len(), 1);
            assert_eq!(span.links[0].span_id, root.span_id);
            under_client += 1;
        } else {
            assert_eq!((&span.trace_id, &span.parent_span_id), (&root.trace_id, &root.span_id));
        }
        let tool = attr_str(&span.attributes, attr::GEN_AI_TOOL_NAME).unwrap();
        let status = span.status.as_ref().map_or(0, |s| s.code);
        match tool {
            "io" => {
                assert_eq!(status, StatusCode::Unset as i32);
                let ms = (span.end_time_unix_nano - span.start_time_unix_nano) as f64 / 1e6;
                assert!(ms >= 50.0, "{ms} ms");
            }
            _ => {
                assert_eq!(attr_str(&span.attributes, attr::ERROR_TYPE), Some("tool_error"));
                assert_eq!(status, StatusCode::Error as i32);
            }
        }
    }
    assert_eq!(under_client, 2);
    // The same two calls of `io` with the same arguments: its 0th and 1st draws.
    let mut nth: Vec<i64> = served
        .iter()
        .filter(|s| hex(&s.trace_id) == trace_id)
        .map(|s| attr_i64(&s.attributes, attr::CALL_NTH).unwrap())
        .collect();
    nth.sort_unstable();
    assert!(nth.iter().all(|n| (0..3).contains(n)) && nth[0] != nth[1], "{nth:?}");

    // The run's metrics, as `mode = served`.
    let calls = counter_points(&receiver.metrics(), metric::TOOL_CALLS);
    let served_ok = calls.iter().find(|(a, _)| {
        attr_str(a, metric::MODE) == Some("served")
            && attr_str(a, metric::TOOL) == Some("io")
            && attr_str(a, metric::OUTCOME) == Some("ok")
    });
    assert_eq!(served_ok.map(|(_, n)| *n), Some(3), "{calls:?}");

    // The trace file holds the same spans, and `analyze` reads them as tool calls.
    let out = common::parabench(&["analyze", trace_file.to_str().unwrap(), "--json", "-"]);
    let (code, stdout, stderr) = common::text(&out);
    assert_eq!(code, 0, "{stderr}");
    let analysis: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(analysis["tools"]["io"]["count"], 3, "{stdout}");
    assert_eq!(analysis["tools"]["fails"]["errors"], 1, "{stdout}");
    // The calls that carried the client's context are a step of the client's trace.
    assert!(
        analysis["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["trace_id"] == trace_id),
        "{stdout}"
    );
}

/// `tests/producers/mcp_client.py` in `mode` against `server`: its JSON answer.
fn python_client(python: &str, mode: &str, server: &Serving) -> Value {
    let script = common::root().join("tests/producers/mcp_client.py");
    let out = Command::new(python)
        .arg(script)
        .args([mode, &server.url])
        .output()
        .unwrap();
    let (code, stdout, stderr) = common::text(&out);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The spans of an OTLP/JSON Lines trace file.
fn trace_file_spans(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut spans = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let data: Value = serde_json::from_str(line).unwrap();
        for rs in data["resourceSpans"].as_array().unwrap() {
            for ss in rs["scopeSpans"].as_array().unwrap() {
                spans.extend(ss["spans"].as_array().unwrap().iter().cloned());
            }
        }
    }
    spans
}

fn json_attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    let attributes = span["attributes"].as_array()?;
    let kv = attributes.iter().find(|kv| kv["key"] == key)?;
    kv["value"].as_object()?.values().next()
}

#[test]
fn the_python_sdk_is_served_and_each_served_span_joins_the_client_span_that_sent_it() {
    let Some(python) = common::python(
        "mcp, opentelemetry.sdk",
        "the MCP Python SDK (mcp) and the OpenTelemetry SDK",
    ) else {
        return;
    };
    let dir = temp_dir("serve-python-sdk");
    let trace_file = dir.join("served.jsonl");
    // The SDK's turnaround to its fifth call, after the four answers, is its own: on a
    // loaded machine it can pass the default 10 ms gap.
    let server = Serving::start(
        &dir,
        TRACED,
        &["--trace-file", trace_file.to_str().unwrap(), "--step-gap", "300ms"],
    );
    let client = python_client(&python, "sdk", &server);
    assert_eq!(client["tools"], json!(["io", "fails"]));
    assert_eq!(client["is_error"], json!([false, false, false, false, true]));
    let (report, out) = server.interrupt();
    // The four calls at once, then the failing one as soon as they were answered.
    let step = &report["steps"][0];
    assert_eq!(
        (step["calls"].as_u64(), step["max_in_flight"].as_u64()),
        (Some(5), Some(4)),
        "{out}"
    );
    assert_eq!(report["served"]["statuses"]["error"], 1);

    // Each client span (one per request, its own trace) is the parent of the served call
    // of the same JSON-RPC id.
    let served = trace_file_spans(&trace_file);
    let client_spans = client["spans"].as_array().unwrap();
    assert_eq!(client_spans.len(), 5, "{client}");
    for sent in client_spans {
        let id = sent["request_id"].as_str().unwrap();
        let span = served
            .iter()
            .find(|s| json_attr(s, attr::JSONRPC_REQUEST_ID).and_then(Value::as_str) == Some(id))
            .unwrap_or_else(|| panic!("no served span for request {id}: {served:#?}"));
        assert_eq!(span["traceId"], sent["trace_id"], "{span:#}");
        assert_eq!(span["parentSpanId"], sent["span_id"], "{span:#}");
        let tool = sent["name"].as_str().unwrap().rsplit(' ').next().unwrap();
        assert_eq!(span["name"], format!("tools/call {tool}"));
    }
}

#[test]
fn pydantic_ai_runs_its_tool_calls_at_once_and_its_sequential_mode_is_reported_serial() {
    let Some(python) = common::python(
        "pydantic_ai.mcp",
        "pydantic-ai with its MCP toolset (pydantic-ai-slim[mcp])",
    ) else {
        return;
    };
    let dir = temp_dir("serve-pydantic-ai");
    // Its sequential mode's turnaround between calls is its own (see above); its two runs
    // are a second apart.
    let server = Serving::start(&dir, TRACED, &["--step-gap", "300ms"]);
    let outputs = python_client(&python, "pydantic-ai", &server);
    assert_eq!(outputs, json!({ "parallel": "4 results", "sequential": "4 results" }));
    let (report, out) = server.interrupt();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{out}");
    let shape = |s: &Value| (s["calls"].as_u64(), s["max_in_flight"].as_u64());
    // Its default: the model's four calls at once, served at once.
    assert_eq!(shape(&steps[0]), (Some(4), Some(4)), "{out}");
    // How close to the ideal depends on how fast the client sent them: only a figure here.
    let efficiency = steps[0]["efficiency"].as_f64().unwrap();
    assert!(efficiency > 0.0 && efficiency <= 1.0, "{out}");
    assert_eq!(report["step_gap_s"], 0.3);
    // `parallel_tool_call_execution_mode("sequential")`: one at a time, and said so.
    assert_eq!(shape(&steps[1]), (Some(4), Some(1)), "{out}");
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["kind"] == "serial" && f["step"] == 1),
        "{findings:?}"
    );
}
