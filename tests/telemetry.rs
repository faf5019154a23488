//! Telemetry end to end: the real binary exports to an in-process OTLP receiver, and what
//! arrives is checked against the run's own JSON report.

mod common;
#[path = "common/otlp.rs"]
mod otlp;

use parabench::telemetry::names::{self, metric};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::trace::v1::{Span, status::StatusCode};
use otlp::{Receiver, attr_f64, attr_i64, attr_str, counter_points, histogram_points};
use serde_json::Value;

/// Runs the binary with only the OTEL variables given (none inherited from the machine).
fn parabench_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parabench"));
    cmd.args(args).current_dir(common::root());
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("the binary runs")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ns(span_ns: u64, base_ns: u64) -> f64 {
    (span_ns - base_ns) as f64 / 1e9
}

/// Runs `partial_failure` (errors, timeouts, retries, skipped dependents) in virtual time
/// with export to `receiver`, and returns the JSON report.
fn run_exported(receiver: &Receiver, protocol: &str, name: &str) -> Value {
    let dir = common::temp_dir(name);
    let json = dir.join("report.json");
    let endpoint = receiver.endpoint();
    let out = parabench_with_env(
        &[
            "run",
            "scenarios/partial_failure.toml",
            "--clock",
            "virtual",
            "--json",
            json.to_str().unwrap(),
        ],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_SERVICE_NAME", "parabench-test"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci"),
        ],
    );
    let (code, _, stderr) = common::text(&out);
    assert!(code == 0 || code == 2, "exit {code}: {stderr}");
    assert!(stderr.contains("spans exported to"), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    read_json(&json)
}

fn by_name<'a>(spans: &'a [Span], prefix: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name.starts_with(prefix)).collect()
}

/// Checks the trace of a report: its shape, its attributes, its timestamps and its status.
fn check_trace(receiver: &Receiver, report: &Value) {
    let runs = report["runs"].as_array().unwrap();
    let calls: usize = runs.iter().map(|r| r["calls"].as_array().unwrap().len()).sum();
    let attempts: u64 = runs
        .iter()
        .flat_map(|r| r["calls"].as_array().unwrap())
        .map(|c| c["attempts"].as_u64().unwrap())
        .sum();
    // One scenario span, a span per run, per call and per attempt, and the CLI's
    // `write_reports` span through the `tracing` bridge.
    let expected = 1 + runs.len() + calls + attempts as usize + 1;
    let got = receiver.wait_for_spans(expected, Duration::from_secs(5));
    assert_eq!(got, expected);
    let spans = receiver.spans();

    let scenario = by_name(&spans, "scenario ");
    assert_eq!(scenario.len(), 1);
    let scenario = scenario[0];
    assert_eq!(scenario.name, "scenario partial_failure");
    assert!(scenario.parent_span_id.is_empty(), "the scenario span is the root");
    assert_eq!(attr_str(&scenario.attributes, "parabench.clock"), Some("virtual"));
    assert_eq!(
        attr_i64(&scenario.attributes, "parabench.seed"),
        report["seed"].as_i64()
    );
    let speedup = attr_f64(&scenario.attributes, "parabench.speedup").unwrap();
    assert!((speedup - report["speedup"].as_f64().unwrap()).abs() < 1e-9);
    assert!(
        spans.iter().all(|s| s.trace_id == scenario.trace_id),
        "one trace per run"
    );
    let cli = by_name(&spans, "write_reports");
    assert_eq!(cli.len(), 1);
    assert_eq!(
        cli[0].parent_span_id, scenario.span_id,
        "the CLI's span joins the trace"
    );

    let resource = receiver.resource();
    assert_eq!(attr_str(&resource, "service.name"), Some("parabench-test"));
    assert_eq!(attr_str(&resource, "deployment.environment"), Some("ci"));
    assert_eq!(attr_str(&resource, "parabench.scenario"), Some("partial_failure"));
    assert!(attr_str(&resource, "parabench.run_id").is_some_and(|id| id.len() == 16));
    assert!(attr_str(&resource, "service.version").is_some());

    let by_id: HashMap<&[u8], &Span> = spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    let run_spans = by_name(&spans, "run ");
    assert_eq!(run_spans.len(), runs.len());
    // Virtual time: runs laid end to end from the scenario's start.
    let mut cursor = scenario.start_time_unix_nano;
    for run in runs {
        let mode = run["mode"].as_str().unwrap();
        let span = run_spans
            .iter()
            .find(|s| s.name == format!("run {mode}"))
            .expect("a span per run");
        assert_eq!(span.parent_span_id, scenario.span_id);
        assert_eq!(
            attr_i64(&span.attributes, "parabench.max_concurrency"),
            run["max_concurrency"].as_i64()
        );
        assert_eq!(span.start_time_unix_nano, cursor);
        let wall = run["wall_s"].as_f64().unwrap();
        assert!((ns(span.end_time_unix_nano, span.start_time_unix_nano) - wall).abs() < 1e-6);
        cursor = span.end_time_unix_nano;

        let tool_spans: Vec<&Span> = by_name(&spans, "execute_tool ")
            .into_iter()
            .filter(|s| s.parent_span_id == span.span_id)
            .collect();
        let json_calls = run["calls"].as_array().unwrap();
        assert_eq!(tool_spans.len(), json_calls.len(), "{mode}: a span per call");
        let spans_by_call: HashMap<&str, &Span> = tool_spans
            .iter()
            .map(|s| (attr_str(&s.attributes, "gen_ai.tool.call.id").unwrap(), *s))
            .collect();
        for call in json_calls {
            let id = call["id"].as_str().unwrap();
            let s = spans_by_call[id];
            let tool = call["tool"].as_str().unwrap();
            let status = call["status"].as_str().unwrap();
            assert_eq!(s.name, format!("execute_tool {tool}"));
            assert_eq!(attr_str(&s.attributes, "gen_ai.operation.name"), Some("execute_tool"));
            assert_eq!(attr_str(&s.attributes, "gen_ai.tool.name"), Some(tool));
            assert_eq!(attr_str(&s.attributes, "parabench.outcome"), Some(status));
            assert_eq!(attr_i64(&s.attributes, "parabench.attempts"), call["attempts"].as_i64());
            let code = s.status.as_ref().map_or(StatusCode::Unset as i32, |st| st.code);
            if status == "ok" {
                assert_ne!(code, StatusCode::Error as i32, "{id}");
            } else {
                assert_eq!(code, StatusCode::Error as i32, "{id} ({status}) is marked as an error");
            }
            // Timestamps: the run's start plus the simulated offsets, to the nanosecond
            // rounding of the JSON's seconds.
            let end = call["end_s"].as_f64().unwrap();
            assert!(
                (ns(s.end_time_unix_nano, span.start_time_unix_nano) - end).abs() < 1e-6,
                "{id}"
            );
            if let Some(start) = call["start_s"].as_f64() {
                assert!((ns(s.start_time_unix_nano, span.start_time_unix_nano) - start).abs() < 1e-6);
                let queued = call["queued_s"].as_f64().unwrap();
                let wait = attr_f64(&s.attributes, "parabench.queue_wait_s").unwrap();
                assert!((wait - (start - queued)).abs() < 1e-6, "{id}");
            }
            let children: Vec<&Span> = spans.iter().filter(|c| c.parent_span_id == s.span_id).collect();
            assert_eq!(children.len() as u64, call["attempts"].as_u64().unwrap(), "{id}");
            for (n, child) in children.iter().enumerate() {
                assert_eq!(child.name, "attempt");
                assert!(child.start_time_unix_nano >= s.start_time_unix_nano);
                assert!(child.end_time_unix_nano <= s.end_time_unix_nano);
                if n + 1 < children.len() {
                    // Every attempt but the last failed, and waited before the next.
                    assert_ne!(attr_str(&child.attributes, "parabench.outcome"), Some("ok"));
                }
            }
            assert!(by_id.contains_key(s.parent_span_id.as_slice()));
        }
    }
    let backoffs = spans
        .iter()
        .flat_map(|s| &s.events)
        .filter(|e| e.name == "backoff")
        .count() as u64;
    let retries: u64 = runs
        .iter()
        .flat_map(|r| r["tools"].as_object().unwrap().values())
        .map(|t| t["retries"].as_u64().unwrap())
        .sum();
    assert!(retries > 0, "the scenario retries");
    assert_eq!(backoffs, retries, "a backoff event before every retry");
}

/// Checks the metrics against the report: histogram counts and sums, counters.
fn check_metrics(receiver: &Receiver, report: &Value) {
    let metrics = receiver.metrics();
    let durations = histogram_points(&metrics, "parabench.tool.duration");
    assert!(!durations.is_empty(), "received {:?}", receiver.metric_names());
    let calls_counter = counter_points(&metrics, "parabench.tool.calls");
    let retries_counter = counter_points(&metrics, "parabench.tool.retries");
    for run in report["runs"].as_array().unwrap() {
        let mode = run["mode"].as_str().unwrap();
        // Per (tool, outcome): count and summed service time of the calls that ran.
        let mut expected: BTreeMap<(String, String), (u64, f64)> = BTreeMap::new();
        let mut ended: BTreeMap<(String, String), u64> = BTreeMap::new();
        for call in run["calls"].as_array().unwrap() {
            let key = (
                call["tool"].as_str().unwrap().to_string(),
                call["status"].as_str().unwrap().to_string(),
            );
            *ended.entry(key.clone()).or_default() += 1;
            if let Some(start) = call["start_s"].as_f64() {
                let e = expected.entry(key).or_default();
                e.0 += 1;
                e.1 += call["end_s"].as_f64().unwrap() - start;
            }
        }
        for ((tool, outcome), (count, sum)) in &expected {
            let point = durations
                .iter()
                .find(|p| {
                    attr_str(&p.attributes, "mode") == Some(mode)
                        && attr_str(&p.attributes, "tool") == Some(tool)
                        && attr_str(&p.attributes, "outcome") == Some(outcome)
                })
                .unwrap_or_else(|| panic!("no duration histogram for {mode}/{tool}/{outcome}"));
            assert_eq!(point.count, *count, "{mode}/{tool}/{outcome}");
            assert!((point.sum.unwrap() - sum).abs() < 1e-6, "{mode}/{tool}/{outcome}");
            assert_eq!(point.bucket_counts.iter().sum::<u64>(), *count);
        }
        for ((tool, outcome), n) in &ended {
            let (_, got) = calls_counter
                .iter()
                .find(|(a, _)| {
                    attr_str(a, "mode") == Some(mode)
                        && attr_str(a, "tool") == Some(tool)
                        && attr_str(a, "outcome") == Some(outcome)
                })
                .unwrap_or_else(|| panic!("no calls counter for {mode}/{tool}/{outcome}"));
            assert_eq!(got, n, "{mode}/{tool}/{outcome}");
        }
        for (tool, stats) in run["tools"].as_object().unwrap() {
            let (_, got) = retries_counter
                .iter()
                .find(|(a, _)| attr_str(a, "mode") == Some(mode) && attr_str(a, "tool") == Some(tool.as_str()))
                .unwrap_or_else(|| panic!("no retries counter for {mode}/{tool}"));
            assert_eq!(*got, stats["retries"].as_u64().unwrap(), "{mode}/{tool}");
        }
    }
    check_speedup_gauge(&metrics, report);
    // Exactly the instruments of the contract, by the names the code takes them from.
    let mut names = receiver.metric_names();
    names.sort();
    names.dedup();
    let mut contract: Vec<String> = metric::ALL.iter().map(ToString::to_string).collect();
    contract.sort();
    assert_eq!(names, contract);
}

#[test]
fn grpc_export_carries_every_call_attempt_and_figure() {
    let receiver = Receiver::grpc();
    let report = run_exported(&receiver, "grpc", "otlp-grpc");
    check_trace(&receiver, &report);
    check_metrics(&receiver, &report);
}

#[test]
fn http_export_carries_the_same() {
    let receiver = Receiver::http();
    let report = run_exported(&receiver, "http/protobuf", "otlp-http");
    check_trace(&receiver, &report);
    check_metrics(&receiver, &report);
}

/// A collector that is down or hangs: the run completes, its report is written, one
/// warning says what happened, and the process exits within the flush timeout.
fn run_against_broken(endpoint: &str, name: &str) {
    let dir = common::temp_dir(name);
    let json = dir.join("report.json");
    let started = Instant::now();
    let out = parabench_with_env(
        &[
            "run",
            "scenarios/independent_io.toml",
            "--clock",
            "virtual",
            "--json",
            json.to_str().unwrap(),
            "--otlp",
            endpoint,
        ],
        &[],
    );
    let elapsed = started.elapsed();
    let (code, stdout, stderr) = common::text(&out);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("speedup"), "{stdout}");
    assert_eq!(read_json(&json)["scenario"], "independent_io");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "one warning: {stderr}");
    assert!(warnings[0].contains("telemetry export to"), "{stderr}");
    assert!(warnings[0].contains("the local report is complete"), "{stderr}");
    // Not a speed check: a liveness bound far above the 5 s flush timeout, far below a hang.
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
}

#[test]
fn a_closed_port_costs_one_warning() {
    run_against_broken(&format!("http://127.0.0.1:{}", otlp::closed_port()), "otlp-closed");
}

#[test]
fn a_collector_that_never_answers_costs_one_warning() {
    let hanging = otlp::hanging();
    run_against_broken(&format!("http://{}", hanging.addr), "otlp-hanging");
}

#[test]
fn no_endpoint_exports_nothing_and_says_nothing() {
    let out = parabench_with_env(&["run", "scenarios/independent_io.toml", "--clock", "virtual"], &[]);
    let (code, _, stderr) = common::text(&out);
    assert_eq!(code, 0);
    assert!(!stderr.contains("telemetry"), "{stderr}");
}

#[test]
fn a_bad_protocol_is_an_input_error() {
    let out = parabench_with_env(
        &["run", "scenarios/independent_io.toml", "--clock", "virtual", "--otlp"],
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
    );
    let (code, _, stderr) = common::text(&out);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL is \"http/json\""),
        "{stderr}"
    );
}

#[test]
fn a_stray_protocol_is_ignored_while_telemetry_is_off() {
    let out = parabench_with_env(
        &["run", "scenarios/independent_io.toml", "--clock", "virtual"],
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
    );
    let (code, stdout, stderr) = common::text(&out);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("speedup 5.00×"), "{stdout}");
}

/// The speedup gauge carries the report's figure, its scenario and the mode it measured.
fn check_speedup_gauge(metrics: &[Metric], report: &Value) {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Number;
    let points: Vec<_> = metrics
        .iter()
        .filter(|m| m.name == "parabench.run.speedup")
        .filter_map(|m| match &m.data {
            Some(Data::Gauge(g)) => Some(g.data_points.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let point = points.last().expect("a speedup data point");
    let mode = report["runs"][1]["mode"].as_str().unwrap();
    assert_eq!(attr_str(&point.attributes, "mode"), Some(mode));
    assert_eq!(attr_str(&point.attributes, "scenario"), report["scenario"].as_str());
    let Some(Number::AsDouble(value)) = point.value else {
        panic!("speedup is not a double: {point:?}");
    };
    assert!((value - report["speedup"].as_f64().unwrap()).abs() < 1e-9);
}

#[test]
fn the_documented_names_are_the_exported_ones() {
    let doc = std::fs::read_to_string(common::root().join("docs/telemetry.md")).unwrap();
    // The metrics table: one row per instrument, in order.
    let rows: Vec<&str> = doc
        .lines()
        .filter(|l| l.trim_start().starts_with("| `parabench."))
        .map(|l| l.trim_start().trim_start_matches("| `").split('`').next().unwrap())
        .collect();
    assert_eq!(&rows[..metric::ALL.len()], metric::ALL, "{rows:?}");
    // Every span attribute, written out or as `.rest` after a `parabench.` key of its span.
    for key in names::attr::ALL {
        let short = key.strip_prefix("parabench.").map(|rest| format!("`.{rest}`"));
        assert!(
            doc.contains(&format!("`{key}`"))
                || doc.contains(&format!("`{key} "))
                || short.is_some_and(|s| doc.contains(&s)),
            "docs/telemetry.md does not name {key}"
        );
    }
    for span in [
        names::SCENARIO_SPAN,
        names::RUN_SPAN,
        names::EXECUTE_TOOL,
        names::ATTEMPT_SPAN,
        names::SERVE_SPAN,
        names::MCP_TOOLS_CALL,
    ] {
        assert!(
            doc.contains(&format!("`{span}")),
            "docs/telemetry.md does not name the {span} span"
        );
    }
}

#[test]
fn a_hundred_thousand_calls_export_every_span() {
    // The span queue is sized from the plan, so a run of this size drops nothing on the
    // way to a collector that keeps up: a call span and an attempt span per call, the run
    // span, the scenario span and the CLI's `write_reports`.
    let receiver = Receiver::grpc();
    let scenario = common::root().join("tests/scale/hundred_thousand_virtual.toml");
    let endpoint = receiver.endpoint();
    let out = parabench_with_env(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--clock",
            "virtual",
            "--mode",
            "parallel",
            "--no-calls",
            "--otlp",
            &endpoint,
        ],
        &[],
    );
    let (code, _, stderr) = common::text(&out);
    assert_eq!(code, 0, "{stderr}");
    let expected = 2 * 100_000 + 3;
    assert!(
        stderr.contains(&format!("telemetry: {expected} spans exported")),
        "{stderr}"
    );
    assert_eq!(receiver.wait_for_spans(expected, Duration::from_secs(30)), expected);
}
