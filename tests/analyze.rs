//! `parabench analyze` on traces: hand-written fixtures in each convention, a round trip
//! through `run --trace-file`, and bad input.

mod common;

use std::path::Path;

use common::{parabench, read_json, temp_dir, text, write};
use serde_json::Value;

/// `analyze FILE --json`, which must succeed; the analysis and the terminal text.
fn analyze(files: &[&Path], extra: &[&str]) -> (Value, String) {
    // A directory per call: tests run at once, and temp_dir starts each afresh.
    let dir = temp_dir(&format!("analyze-out-{}", next()));
    let json = dir.join("analysis.json");
    let mut args = vec!["analyze"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.extend(["--json", json.to_str().unwrap()]);
    args.extend(extra);
    let (code, stdout, stderr) = text(&parabench(&args));
    assert_eq!(code, 0, "{stderr}");
    let analysis = read_json(&json);
    common::assert_matches_schema("analysis-v1.schema.json", &analysis);
    (analysis, stdout)
}

fn next() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn fixture(name: &str) -> std::path::PathBuf {
    common::root().join("tests/traces").join(name)
}

/// (calls, max in flight, wall, ideal, efficiency) of each step, times in ms.
fn shape(a: &Value) -> Vec<(u64, u64, f64, f64, f64)> {
    let ms = |v: &Value| (v.as_f64().unwrap() * 1e3 * 1e6).round() / 1e6;
    a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["calls"].as_u64().unwrap(),
                s["max_in_flight"].as_u64().unwrap(),
                ms(&s["wall_s"]),
                ms(&s["ideal_wall_s"]),
                (s["efficiency"].as_f64().unwrap() * 1e6).round() / 1e6,
            )
        })
        .collect()
}

#[test]
fn genai_model_calls_split_the_steps_and_a_serial_step_is_named() {
    let (a, stdout) = analyze(&[&fixture("genai.jsonl")], &[]);
    assert_eq!(shape(&a), [(3, 3, 200.0, 200.0, 1.0), (2, 1, 200.0, 100.0, 0.5)]);
    assert_eq!(a["spans"], 9);
    assert_eq!(a["tools"]["book_hotel"]["errors"], 1);
    assert_eq!(a["tools"]["weather"]["count"], 1, "named after `execute_tool `");
    assert_eq!(a["total"]["calls"], 5);
    assert_eq!(a["findings"][0]["kind"], "serial");
    assert!(
        stdout.contains("ran serially: 2 calls, 200.0ms; 100.0ms possible"),
        "{stdout}"
    );
}

#[test]
fn openinference_tool_spans_under_a_chain_span() {
    let (a, _) = analyze(&[&fixture("openinference.json")], &[]);
    assert_eq!(shape(&a), [(2, 2, 100.0, 100.0, 1.0), (1, 1, 60.0, 60.0, 1.0)]);
    assert_eq!(
        (
            a["tools"]["calculator"]["count"].as_u64(),
            a["tools"]["calculator"]["errors"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert!(a["findings"].as_array().unwrap().is_empty());
}

#[test]
fn openllmetry_tool_spans_in_tempos_batches() {
    let (a, _) = analyze(&[&fixture("openllmetry_tempo.json")], &[]);
    assert_eq!(shape(&a), [(4, 4, 160.0, 100.0, 0.625)]);
    // At 2 in flight the same four calls of 100 ms take 200 ms.
    let (a, _) = analyze(&[&fixture("openllmetry_tempo.json")], &["--max-concurrency", "2"]);
    assert_eq!(shape(&a)[0].3, 200.0);
    assert_eq!(a["max_concurrency"], 2);
}

#[test]
fn a_jaeger_download_with_an_unbounded_fan_out() {
    let (a, stdout) = analyze(&[&fixture("jaeger_fan_out.json")], &[]);
    assert_eq!(shape(&a), [(40, 40, 100.0, 100.0, 1.0)]);
    assert_eq!(a["findings"][0]["kind"], "fan_out");
    assert!(stdout.contains("ran all 40 calls at once"), "{stdout}");
    // What-if: 40 calls of 100 ms at 1, 2, 4, 8, 16 in flight, then unlimited.
    let walls: Vec<(Value, f64)> = a["what_if"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["max_concurrency"].clone(),
                (w["wall_s"].as_f64().unwrap() * 1e3).round(),
            )
        })
        .collect();
    let expected: Vec<(Value, f64)> = [(1, 4000.0), (2, 2000.0), (4, 1000.0), (8, 500.0), (16, 300.0)]
        .into_iter()
        .map(|(n, w)| (Value::from(n), w))
        .chain([(Value::Null, 100.0)])
        .collect();
    assert_eq!(walls, expected);
    // Every level up to 40 helps: the widest step is where the plateau starts.
    assert_eq!(a["recommended"], 40, "{}", a["reason"]);
}

#[test]
fn files_of_every_format_are_read_together() {
    let files: Vec<_> = [
        "genai.jsonl",
        "openinference.json",
        "openllmetry_tempo.json",
        "jaeger_fan_out.json",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    let refs: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
    let (a, _) = analyze(&refs, &[]);
    assert_eq!(a["traces"], 4);
    assert_eq!(a["total"]["steps"], 6);
    assert_eq!(a["total"]["calls"], 5 + 3 + 4 + 40);
    assert_eq!(a["sources"].as_array().unwrap().len(), 4);
}

/// Failures with no retries, so some dependents are skipped; timeouts; two tools.
const ROUND_TRIP: &str = r#"
name = "round_trip"
seed = 5
[executor]
max_concurrency = 4
timeout = "300ms"
[tools.flaky]
latency = { dist = "lognormal", median = "50ms", p99 = "400ms" }
failure_rate = 0.3
timeout_rate = 0.05
[tools.after]
latency = { dist = "uniform", min = "10ms", max = "30ms" }
[[generate]]
tool = "flaky"
count = 60
id_prefix = "f"
[[calls]]
id = "a1"
tool = "after"
depends_on = ["f1", "f2", "f3"]
[[calls]]
id = "a2"
tool = "after"
depends_on = ["f4"]
[[calls]]
id = "a3"
tool = "after"
"#;

#[test]
fn a_runs_trace_file_round_trips_into_the_same_figures() {
    let dir = temp_dir("analyze-round-trip");
    let scenario = write(&dir, "round_trip.toml", ROUND_TRIP);
    let (trace, report) = (dir.join("run.jsonl"), dir.join("run.json"));
    let (code, _, stderr) = text(&parabench(&[
        "run",
        scenario.to_str().unwrap(),
        "--clock",
        "virtual",
        "--json",
        report.to_str().unwrap(),
        "--trace-file",
        trace.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let report = read_json(&report);
    let (a, _) = analyze(&[&trace], &[]);
    let runs = report["runs"].as_array().unwrap();
    let duration = |c: &Value| match (c["start_s"].as_f64(), c["end_s"].as_f64()) {
        (Some(start), Some(end)) => end - start,
        // Never started (skipped): a span of no length.
        _ => 0.0,
    };
    // One step per run: its calls share the run span as parent, no model call splits them.
    assert_eq!(a["steps"].as_array().unwrap().len(), runs.len());
    for (run, step) in runs.iter().zip(a["steps"].as_array().unwrap()) {
        let calls = run["calls"].as_array().unwrap();
        assert_eq!(step["calls"].as_u64().unwrap() as usize, calls.len());
        // The ideal, unlimited, is the longest call, as the executor in virtual time finds.
        let longest = calls.iter().map(duration).fold(0.0, f64::max);
        let ideal = step["ideal_wall_s"].as_f64().unwrap();
        assert!((ideal - longest).abs() < 1e-6, "{ideal} vs {longest}");
        let work: f64 = calls.iter().map(duration).sum();
        assert!((step["work_s"].as_f64().unwrap() - work).abs() < 1e-6);
    }
    // The sequential run never had two calls at once, the parallel one had its limit.
    assert_eq!(a["steps"][0]["max_in_flight"], 1);
    assert_eq!(a["steps"][1]["max_in_flight"], 4);
    assert_eq!(a["findings"][0]["kind"], "serial");
    // The what-if table replays the 63 calls up to all at once, but no step had more
    // than 4 in flight: the calls' times are not known above that, so neither is the
    // recommendation, and the reason says what more would give if they held.
    assert_eq!(
        a["what_if"].as_array().unwrap().last().unwrap()["max_concurrency"],
        Value::Null
    );
    assert_eq!(a["recommended"], 4, "{}", a["reason"]);
    assert!(
        a["reason"]
            .as_str()
            .unwrap()
            .contains("No step had more than 4 calls in flight"),
        "{}",
        a["reason"]
    );
    // Per tool: every call of both runs, exact; errors as the report counts them; the
    // quantiles of the pooled durations within HDR precision.
    let mut skipped = 0;
    for (tool, figures) in a["tools"].as_object().unwrap() {
        let stats = |key: &str| -> u64 { runs.iter().map(|r| r["tools"][tool][key].as_u64().unwrap()).sum() };
        assert_eq!(figures["count"].as_u64().unwrap(), stats("count"), "{tool}");
        assert_eq!(
            figures["errors"].as_u64().unwrap(),
            stats("count") - stats("ok"),
            "{tool}"
        );
        skipped += stats("skipped");
        let mut durations: Vec<f64> = runs
            .iter()
            .flat_map(|r| r["calls"].as_array().unwrap())
            .filter(|c| c["tool"] == tool.as_str())
            .map(duration)
            .collect();
        durations.sort_by(f64::total_cmp);
        let n = durations.len();
        let nearest_rank = |q: f64| durations[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        for (q, key) in [(0.5, "p50_s"), (0.9, "p90_s"), (0.99, "p99_s")] {
            let (got, want) = (figures[key].as_f64().unwrap(), nearest_rank(q));
            assert!(
                (got - want).abs() <= want * 0.001 + 1e-8,
                "{tool} {key}: {got} vs {want}"
            );
        }
    }
    assert!(skipped > 0, "the scenario skips some dependents");
}

#[test]
fn bad_trace_files_are_refused_at_their_line_with_what_was_expected() {
    let dir = temp_dir("analyze-bad");
    let good = std::fs::read_to_string(fixture("genai.jsonl")).unwrap();
    let first = good.lines().next().unwrap();
    let span = |start: &str, end: &str| {
        format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00000000000000aa","name":"execute_tool x","startTimeUnixNano":{start},"endTimeUnixNano":{end},"attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"execute_tool"}}}}]}}]}}]}}]}}"#
        )
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty", String::new(), ":1:1: the file holds no trace"),
        ("not json", "hello\n".into(), ":1:1: not a JSON object"),
        ("an array", "[1, 2]\n".into(), ":1:1: not a JSON object"),
        (
            "another object",
            "{\"name\": \"x\"}\n".into(),
            ":1:1: a JSON object, but not a trace",
        ),
        (
            "a truncated last line",
            format!("{first}\n{}\n", &first[..first.len() / 2]),
            ":2:",
        ),
        ("broken json", format!("{first}\n{{\"resourceSpans\": [}}\n"), ":2:"),
        (
            "no end time",
            format!("{}\n", span("\"1000\"", "\"0\"")),
            ":1: span 00000000000000aa of trace",
        ),
        (
            "end before start",
            format!("{}\n", span("\"2000\"", "\"1000\"")),
            "ends 1000 ns before it starts",
        ),
        (
            "a short id",
            format!("{first}\n{}\n", span("1", "2").replace("00000000000000aa", "aa")),
            ":2: span aa of trace",
        ),
        (
            "ids not hex",
            format!("{}\n", span("1", "2").replace("00000000000000aa", "zz")),
            ":1:",
        ),
        (
            // Not a call, but a wrapper the steps are found through: its ids are checked
            // as a call's are (its times are never read).
            "a short parent id on a span that is no call",
            format!(
                "{}\n",
                span("1", "2")
                    .replace("execute_tool x", "agent run")
                    .replace("execute_tool\"", "invoke_agent\"")
                    .replace(r#""name":"#, r#""parentSpanId":"bbbb","name":"#)
            ),
            ":1: span 00000000000000aa of trace 0af7651916cd43dd8448eb211c80319c: the parent span id is 2 bytes",
        ),
    ];
    for (what, content, fragment) in cases {
        let path = write(&dir, "bad.json", &content);
        let (code, stdout, stderr) = text(&parabench(&["analyze", path.to_str().unwrap()]));
        assert_eq!(code, 1, "{what}: {stdout}{stderr}");
        assert!(
            stderr.contains("bad.json") && stderr.contains(fragment),
            "{what}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    }
    // A missing file, and no file at all.
    let (code, _, stderr) = text(&parabench(&["analyze", "no-such-file.json"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot read no-such-file.json"), "{stderr}");
    assert_eq!(text(&parabench(&["analyze"])).0, 1);
}

/// An OTLP/JSON trace of `n` calls of one tool, one step per call, durations spread like
/// a lognormal (deterministic), with model calls between the steps.
fn spread_trace(n: usize) -> String {
    let t0: u64 = 1_700_000_000_000_000_000;
    let mut spans = Vec::new();
    let mut at = t0;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        // A uniform from a xorshift, through the normal quantile's logistic approximation.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let u = ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let z = (u / (1.0 - u)).ln() / 1.702;
        let ms = (100.0 * (0.6 * z).exp()).max(1.0);
        let dur = (ms * 1e6) as u64;
        let model = format!(
            r#"{{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"{:016x}","parentSpanId":"b7ad6b7169203331","name":"chat","startTimeUnixNano":"{at}","endTimeUnixNano":"{}","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}}]}}"#,
            2 * i + 1,
            at + 1_000_000
        );
        at += 1_000_000;
        let tool = format!(
            r#"{{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"{:016x}","parentSpanId":"b7ad6b7169203331","name":"execute_tool fetch","startTimeUnixNano":"{at}","endTimeUnixNano":"{}","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"execute_tool"}}}}]}}"#,
            2 * i + 2,
            at + dur
        );
        at += dur;
        spans.push(model);
        spans.push(tool);
    }
    format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
        spans.join(",")
    )
}

#[test]
fn a_calibrated_scenario_validates_runs_tunes_and_reproduces_the_observed_quantiles() {
    let dir = temp_dir("analyze-calibrate");
    let trace = write(&dir, "spread.json", &spread_trace(2000));
    let scenario = dir.join("observed.toml");
    let (a, _) = analyze(&[&trace], &["--scenario", scenario.to_str().unwrap()]);
    let observed = &a["tools"]["fetch"];
    // The steps in order, one after the other: the calibrated run takes as long in
    // virtual time as the tools and model calls took.
    let (code, stdout, stderr) = text(&parabench(&["validate", scenario.to_str().unwrap()]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report = dir.join("run.json");
    let (code, _, stderr) = text(&parabench(&[
        "run",
        scenario.to_str().unwrap(),
        "--clock",
        "virtual",
        "--json",
        report.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let report = read_json(&report);
    assert_eq!(report["runs"][1]["tools"]["fetch"]["count"], 2000);
    assert_eq!(report["runs"][1]["tools"]["model"]["count"], 2000);
    let (code, _, stderr) = text(&parabench(&["tune", scenario.to_str().unwrap(), "--clock", "virtual"]));
    assert_eq!(code, 0, "{stderr}");

    // 10,000 calls of the calibrated tool reproduce the observed quantiles within
    // sampling error: sd(x̂_p) = sqrt(p(1-p)/n) / f(x_p), f from the empirical knots.
    let text_of = std::fs::read_to_string(&scenario).unwrap();
    let many = write(
        &dir,
        "many.toml",
        &format!("{text_of}\n[[generate]]\ntool = \"fetch\"\ncount = 10000\nid_prefix = \"x\"\n"),
    );
    let report = dir.join("many.json");
    let (code, _, stderr) = text(&parabench(&[
        "run",
        many.to_str().unwrap(),
        "--clock",
        "virtual",
        "--mode",
        "parallel",
        "--no-calls",
        "--json",
        report.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let sampled = &read_json(&report)["runs"][0]["tools"]["fetch"];
    let knot = |k: &str| observed[k].as_f64().unwrap();
    let knots = [
        (0.5, knot("p50_s")),
        (0.9, knot("p90_s")),
        (0.99, knot("p99_s")),
        (1.0, knot("max_s")),
    ];
    let n: f64 = 12_000.0;
    for (i, (p, key)) in [(0.5f64, "p50_s"), (0.9, "p90_s"), (0.99, "p99_s")]
        .into_iter()
        .enumerate()
    {
        let want = knots[i].1;
        // The flatter side of the knot: the larger of the two sampling errors.
        let density = |a: (f64, f64), b: (f64, f64)| (b.0 - a.0) / (b.1 - a.1).max(1e-9);
        let lower = if i == 0 {
            (0.0, knot("p50_s") * 0.2)
        } else {
            knots[i - 1]
        };
        let f = density(lower, knots[i]).min(density(knots[i], knots[i + 1]));
        let sd = (p * (1.0 - p) / n).sqrt() / f;
        let got = sampled[key].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 5.0 * sd + want * 0.002,
            "{key}: {got} vs observed {want} (sd {sd})"
        );
    }
}
