//! `parabench analyze --listen`: the OTLP receiver over HTTP (protobuf, JSON, gzip) and
//! gRPC, fed by parabench's own OTLP exporters (the OpenTelemetry Rust SDK) and by hand;
//! what it refuses, with the status the OTLP specification gives, and that it keeps
//! serving after.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::Duration;

use common::{parabench, post, read_json, temp_dir, text, write};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use parabench::observed::receiver::{Listen, Receiver};
use prost::Message;
use serde_json::Value;

/// `parabench analyze --listen` on free ports, with its addresses read off stderr.
struct Listening {
    child: Child,
    http: SocketAddr,
    grpc: SocketAddr,
    stderr: mpsc::Receiver<String>,
}

impl Listening {
    fn start(json: &std::path::Path) -> Self {
        let (child, rx) = common::spawn_with_stderr_lines(
            Command::new(env!("CARGO_BIN_EXE_parabench"))
                .args([
                    "analyze",
                    "--listen",
                    "--http",
                    "127.0.0.1:0",
                    "--grpc",
                    "127.0.0.1:0",
                    "--json",
                ])
                .arg(json)
                .current_dir(common::root()),
        );
        let address = |proto: &str| -> SocketAddr {
            loop {
                let line = rx.recv_timeout(Duration::from_secs(30)).expect("the listening lines");
                if let Some(url) = line.strip_prefix(&format!("listening: otlp/{proto} http://")) {
                    return url.parse().unwrap();
                }
            }
        };
        let http = address("http");
        let grpc = address("grpc");
        Self {
            child,
            http,
            grpc,
            stderr: rx,
        }
    }

    /// SIGINT, then the exit code and everything it wrote to stderr.
    fn interrupt(mut self) -> (i32, String) {
        let pid = self.child.id() as i32;
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
        let status = self.child.wait().unwrap();
        let mut out = String::new();
        self.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        let rest: Vec<String> = self.stderr.try_iter().collect();
        (status.code().expect("exited"), format!("{out}\n{}", rest.join("\n")))
    }
}

/// The OTLP/JSON lines of a trace file written by `run --trace-file`.
fn trace_lines(dir: &std::path::Path) -> Vec<String> {
    let trace = dir.join("trace.jsonl");
    let (code, _, stderr) = text(&parabench(&[
        "run",
        "scenarios/partial_failure.toml",
        "--clock",
        "virtual",
        "--trace-file",
        trace.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    std::fs::read_to_string(trace)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// An analysis without what differs between two deliveries of one trace.
fn comparable(mut a: Value) -> Value {
    a.as_object_mut().unwrap().remove("sources");
    a
}

#[test]
fn one_trace_over_a_file_http_json_http_protobuf_and_grpc_gives_one_analysis() {
    let dir = temp_dir("listen-same");
    let lines = trace_lines(&dir);
    let file = write(&dir, "trace.jsonl", &(lines.join("\n") + "\n"));
    let from_file = dir.join("file.json");
    let (code, _, stderr) = text(&parabench(&[
        "analyze",
        file.to_str().unwrap(),
        "--json",
        from_file.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let expected = comparable(read_json(&from_file));

    let requests: Vec<ExportTraceServiceRequest> = lines
        .iter()
        .map(|l| {
            let data: TracesData = serde_json::from_str(l).unwrap();
            ExportTraceServiceRequest {
                resource_spans: data.resource_spans,
            }
        })
        .collect();
    for way in ["http/json", "http/protobuf", "http/protobuf+gzip", "grpc"] {
        let out = dir.join(format!("{}.json", way.replace(['/', '+'], "-")));
        let listening = Listening::start(&out);
        for (line, request) in lines.iter().zip(&requests) {
            match way {
                "http/json" => {
                    let (status, answer) = post(
                        listening.http,
                        "/v1/traces",
                        &[("Content-Type", "application/json")],
                        line.as_bytes(),
                    );
                    assert_eq!(status, 200, "{answer}");
                }
                "http/protobuf" => {
                    let (status, answer) = post(
                        listening.http,
                        "/v1/traces",
                        &[("Content-Type", "application/x-protobuf")],
                        &request.encode_to_vec(),
                    );
                    assert_eq!(status, 200, "{answer}");
                }
                "http/protobuf+gzip" => {
                    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    gz.write_all(&request.encode_to_vec()).unwrap();
                    let (status, answer) = post(
                        listening.http,
                        "/v1/traces",
                        &[("Content-Type", "application/x-protobuf"), ("Content-Encoding", "gzip")],
                        &gz.finish().unwrap(),
                    );
                    assert_eq!(status, 200, "{answer}");
                }
                _ => {
                    let rt = tokio::runtime::Runtime::new().unwrap();
                    rt.block_on(async {
                        let mut client = TraceServiceClient::connect(format!("http://{}", listening.grpc))
                            .await
                            .unwrap();
                        client.export(request.clone()).await.unwrap();
                    });
                }
            }
        }
        let (code, output) = listening.interrupt();
        assert_eq!(code, 0, "{way}: {output}");
        assert!(output.contains("tool calls in 2 steps"), "{way}: {output}");
        assert_eq!(comparable(read_json(&out)), expected, "{way}");
    }
}

#[test]
fn parabenchs_own_otlp_exporters_are_received_over_http_and_grpc() {
    // The OpenTelemetry Rust SDK's exporters, as `run --otlp` drives them: a real
    // producer, batching, with its own encoding choices.
    let dir = temp_dir("listen-sdk");
    for protocol in ["http/protobuf", "grpc"] {
        let out = dir.join(format!("{}.json", protocol.replace('/', "-")));
        let listening = Listening::start(&out);
        let endpoint = match protocol {
            "grpc" => format!("http://{}", listening.grpc),
            _ => format!("http://{}", listening.http),
        };
        let run = Command::new(env!("CARGO_BIN_EXE_parabench"))
            .args([
                "run",
                "scenarios/agent_mix.toml",
                "--clock",
                "virtual",
                "--otlp",
                &endpoint,
            ])
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
            .current_dir(common::root())
            .output()
            .unwrap();
        let (code, _, stderr) = text(&run);
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains("spans exported"), "{stderr}");
        let (code, output) = listening.interrupt();
        assert_eq!(code, 0, "{protocol}: {output}");
        let a = read_json(&out);
        // agent_mix: 20 calls per run, two runs.
        assert_eq!(a["total"]["calls"], 40, "{protocol}");
        assert_eq!(a["steps"].as_array().unwrap().len(), 2, "{protocol}");
        assert_eq!(a["tools"]["search"]["count"], 8, "{protocol}");
        assert!(
            a["sources"][0]
                .as_str()
                .unwrap()
                .starts_with("otlp/http http://127.0.0.1:")
        );
    }
}

#[test]
fn what_the_receiver_cannot_use_gets_its_status_and_the_next_request_is_served() {
    let receiver = Receiver::start(Listen {
        http: Some("127.0.0.1:0".parse().unwrap()),
        grpc: Some("127.0.0.1:0".parse().unwrap()),
    })
    .unwrap();
    let http = receiver.http_addr().unwrap();
    let good = std::fs::read_to_string(common::root().join("tests/traces/genai.jsonl")).unwrap();
    let good = good.lines().next().unwrap().to_string();
    let json = [("Content-Type", "application/json")];
    let proto = [("Content-Type", "application/x-protobuf")];
    let end_before_start = good.replace(
        "\"endTimeUnixNano\": \"1700000000200000000\"",
        "\"endTimeUnixNano\": \"1\"",
    );
    assert_ne!(end_before_start, good, "the fixture has that end time");
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&vec![b' '; (parabench::observed::receiver::MAX_BODY) + 10])
        .unwrap();
    let bomb = bomb.finish().unwrap();
    // What, headers, body, the status expected, a part of the answer.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "wrong content type",
            vec![("Content-Type", "text/plain")],
            good.clone().into_bytes(),
            415,
            "is not OTLP",
        ),
        ("no content type", vec![], good.clone().into_bytes(), 415, "is not OTLP"),
        (
            "malformed JSON",
            json.to_vec(),
            b"{\"resourceSpans\": [".to_vec(),
            400,
            "not an OTLP/JSON",
        ),
        (
            "malformed protobuf",
            proto.to_vec(),
            vec![0xff, 0xff, 0xff, 0x0f, 0x01],
            400,
            "not an OTLP protobuf",
        ),
        (
            "a span that ends before it starts",
            json.to_vec(),
            end_before_start.into_bytes(),
            400,
            "before it starts",
        ),
        (
            "a body over the limit",
            proto.to_vec(),
            vec![0; parabench::observed::receiver::MAX_BODY + 1],
            413,
            "",
        ),
        (
            "a gzip body that inflates over the limit",
            vec![("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
            bomb,
            413,
            "inflates",
        ),
        (
            "an unknown encoding",
            vec![("Content-Type", "application/json"), ("Content-Encoding", "br")],
            good.clone().into_bytes(),
            415,
            "not supported",
        ),
    ];
    for (what, headers, body, status, fragment) in cases {
        let (got, answer) = post(http, "/v1/traces", &headers, &body);
        assert_eq!(got, status, "{what}: {answer}");
        assert!(answer.contains(fragment), "{what}: {answer}");
        // The next good request is served.
        let (got, answer) = post(http, "/v1/traces", &json, good.as_bytes());
        assert_eq!(got, 200, "after {what}: {answer}");
    }
    // gRPC: a span that cannot be analysed is INVALID_ARGUMENT; a good one is taken.
    let data: TracesData = serde_json::from_str(&good).unwrap();
    let mut bad = ExportTraceServiceRequest {
        resource_spans: data.resource_spans.clone(),
    };
    bad.resource_spans[0].scope_spans[0].spans[2].end_time_unix_nano = 1;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut client = TraceServiceClient::connect(format!("http://{}", receiver.grpc_addr().unwrap()))
            .await
            .unwrap();
        let status = client.export(bad).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        client
            .export(ExportTraceServiceRequest {
                resource_spans: data.resource_spans,
            })
            .await
            .unwrap();
    });
    let counts = receiver.counts();
    // Refused: seven HTTP payloads read and judged, and the gRPC one (a body over the
    // limit is stopped before it is read, and not counted).
    assert_eq!((counts.requests, counts.refused), (8 + 1, 7 + 1));
    let spans = receiver.stop();
    // Nine good requests of four spans, nothing of the refused ones.
    assert_eq!(spans.seen, 9 * 4);
}

mod fuzzed {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Bytes near an OTLP request (a real one, cut and flipped) as protobuf and as
        /// JSON: answered 200 or 400, never a dropped connection, and served after.
        #[test]
        fn the_receiver_survives_fuzzed_payloads(cut in 0usize..400, flips in prop::collection::vec((0usize..400, any::<u8>()), 0..6), as_json in any::<bool>()) {
            static RECEIVER: std::sync::OnceLock<Receiver> = std::sync::OnceLock::new();
            let receiver = RECEIVER.get_or_init(|| Receiver::start(Listen { http: Some("127.0.0.1:0".parse().unwrap()), grpc: None }).unwrap());
            let good = std::fs::read_to_string(common::root().join("tests/traces/genai.jsonl")).unwrap();
            let line = good.lines().next().unwrap();
            let mut body = if as_json {
                line.as_bytes().to_vec()
            } else {
                let data: TracesData = serde_json::from_str(line).unwrap();
                ExportTraceServiceRequest { resource_spans: data.resource_spans }.encode_to_vec()
            };
            body.truncate(body.len().saturating_sub(cut));
            for (at, byte) in flips {
                if !body.is_empty() {
                    let i = at % body.len();
                    body[i] ^= byte;
                }
            }
            let content_type = if as_json { "application/json" } else { "application/x-protobuf" };
            let (status, answer) = post(receiver.http_addr().unwrap(), "/v1/traces", &[("Content-Type", content_type)], &body);
            prop_assert!(status == 200 || status == 400, "{} {}", status, answer);
        }
    }
}

#[test]
fn the_opentelemetry_python_sdk_is_received_over_http_and_grpc_with_gzip() {
    let Some(python) = common::python(
        "opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http, opentelemetry.exporter.otlp.proto.grpc",
        "the OpenTelemetry Python SDK and its OTLP exporters, to test the receiver against a real producer",
    ) else {
        return;
    };
    let dir = temp_dir("listen-python");
    let out = dir.join("analysis.json");
    let listening = Listening::start(&out);
    let agent = common::root().join("tests/producers/python_agent.py");
    for (endpoint, protocol, compression) in [
        (format!("http://{}", listening.http), "http/protobuf", "gzip"),
        (format!("http://{}", listening.http), "http/protobuf", "none"),
        (format!("http://{}", listening.grpc), "grpc", "gzip"),
    ] {
        let run = Command::new(&python)
            .arg(&agent)
            .args([endpoint.as_str(), protocol, compression])
            .output()
            .unwrap();
        let (code, stdout, stderr) = text(&run);
        assert_eq!(code, 0, "{protocol} {compression}: {stdout}{stderr}");
    }
    let (code, output) = listening.interrupt();
    assert_eq!(code, 0, "{output}");
    let a = read_json(&out);
    common::assert_matches_schema("analysis-v1.schema.json", &a);
    // Each of the three agent runs: three tools at once, then two one after the other.
    let shape: Vec<(u64, u64)> = a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["calls"].as_u64().unwrap(), s["max_in_flight"].as_u64().unwrap()))
        .collect();
    assert_eq!(shape, [(3, 3), (2, 1)].repeat(3), "{output}");
    assert_eq!(a["traces"], 3);
    assert_eq!(a["tools"]["book"]["errors"], 3);
    assert_eq!(a["tools"]["flights"]["count"], 3);
    let serial = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "serial")
        .count();
    assert_eq!(serial, 3);
    // The serial steps could have taken the longer of their two calls: about half.
    for step in a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["max_in_flight"] == 1)
    {
        let efficiency = step["efficiency"].as_f64().unwrap();
        assert!(efficiency > 0.4 && efficiency < 0.6, "{step}");
    }
}

#[test]
fn for_ends_the_collection_and_the_analysis_follows() {
    let out = Command::new(env!("CARGO_BIN_EXE_parabench"))
        .args([
            "analyze",
            "--listen",
            "--http",
            "127.0.0.1:0",
            "--grpc",
            "127.0.0.1:0",
            "--for",
            "300ms",
        ])
        .current_dir(common::root())
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("listening: otlp/http http://127.0.0.1:"), "{stderr}");
    assert!(stdout.contains("no tool calls found"), "{stdout}");
    // --for without --listen is a usage error.
    assert_eq!(text(&parabench(&["analyze", "x.json", "--for", "1s"])).0, 1);
}
