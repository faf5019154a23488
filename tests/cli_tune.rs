//! `parabench tune`: the analytic sweep, the JSON contract, the SVG chart, bad input.

mod common;

use std::path::Path;

use common::{parabench, temp_dir, text, write};
use parabench::clock::ClockKind;
use parabench::tune::{self, Criteria, TuneRequest};

/// A sweep of `levels` in virtual time with the default criteria.
fn virtual_sweep(levels: &str) -> TuneRequest {
    TuneRequest {
        levels: levels.parse().unwrap(),
        clock: ClockKind::Virtual,
        seed: None,
        criteria: Criteria::default(),
        rates: None,
        interrupt: None,
    }
}

/// `calls` independent I/O calls of `latency_ms`, their tool limited to `k` in flight.
fn limited(calls: usize, latency_ms: u64, k: usize) -> String {
    format!(
        r#"
name = "limited"
description = "independent calls of one tool with its own limit"
[tools.api]
latency = {{ dist = "constant", value = "{latency_ms}ms" }}
max_concurrency = {k}
[[generate]]
tool = "api"
count = {calls}
"#
    )
}

#[test]
fn the_sweep_of_a_limited_tool_is_min_n_k_over_l_and_recommends_k() {
    // 60 calls divide evenly at every level up to 5, so the analytic throughput is exact.
    let latency_s = 0.1;
    for k in [3, 5] {
        let scenario = parabench::scenario::parse(&limited(60, 100, k), Path::new("limited.toml")).unwrap();
        let request = virtual_sweep("1..8");
        let report = tune::run(&scenario, &request, |_| {}).unwrap();
        assert_eq!(report.levels.len(), 8);
        for level in &report.levels {
            let n = level.max_concurrency;
            let want = n.min(k) as f64 / latency_s;
            assert!(
                (level.throughput - want).abs() <= 0.01 * want,
                "k {k}, N {n}: {} calls/s, expected {want}",
                level.throughput
            );
            let binding = if n <= k { "max_concurrency" } else { "tool_limit:api" };
            assert_eq!(level.binding.as_deref(), Some(binding), "k {k}, N {n}");
            let efficiency = level.efficiency.unwrap();
            assert!((efficiency - 1.0).abs() < 1e-9, "k {k}, N {n}: {efficiency}");
        }
        assert_eq!(report.recommended, Some(k), "{}", report.reason);
        assert!(
            report
                .reason
                .contains(&format!("api tool's own limit of {k} calls in flight")),
            "{}",
            report.reason
        );
    }
}

#[test]
fn an_interrupted_sweep_is_partial_and_recommends_nothing() {
    let scenario = parabench::scenario::parse(&limited(60, 100, 3), Path::new("limited.toml")).unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    stop.cancel();
    let request = TuneRequest {
        interrupt: Some(stop),
        ..virtual_sweep("1..6")
    };
    let report = tune::run(&scenario, &request, |_| panic!("no level may finish")).unwrap();
    assert!(report.partial && report.levels.is_empty());
    assert_eq!(report.recommended, None);
    assert!(
        report.reason.starts_with("interrupted after 0 of 6 levels"),
        "{}",
        report.reason
    );
    // Left alone, the same sweep is whole.
    let whole = tune::run(&scenario, &virtual_sweep("1..6"), |_| {}).unwrap();
    assert!(!whole.partial && whole.recommended == Some(3));
}

#[test]
fn linear_scaling_fits_a_usl_without_contention_or_a_retrograde_region() {
    // No limit but the global one: throughput is exactly N / L, so σ = κ = 0.
    let source = "name = \"free\"\n[tools.api]\nlatency = { dist = \"constant\", value = \"50ms\" }\n\
                  [[generate]]\ntool = \"api\"\ncount = 64\n";
    let scenario = parabench::scenario::parse(source, Path::new("free.toml")).unwrap();
    let request = virtual_sweep("1..16:x2");
    let report = tune::run(&scenario, &request, |_| {}).unwrap();
    let usl = report.usl.as_ref().unwrap();
    assert!((usl.lambda - 20.0).abs() < 1e-6, "{usl:?}");
    assert!(usl.sigma < 1e-6 && usl.kappa < 1e-8, "{usl:?}");
    assert_eq!(usl.peak_n, None);
    assert!(report.usl_note.contains("no retrograde region"), "{}", report.usl_note);
    assert_eq!(report.recommended, Some(16));
    assert!(
        report.reason.contains("global limit still binds at 16"),
        "{}",
        report.reason
    );
}

#[test]
fn tune_writes_a_table_a_json_report_matching_the_schema_and_an_svg_chart() {
    let dir = temp_dir("cli-tune");
    let scenario = write(&dir, "limited.toml", &limited(60, 100, 3));
    let (json, svg) = (dir.join("tune.json"), dir.join("tune.svg"));
    let out = parabench(&[
        "tune",
        scenario.to_str().unwrap(),
        "--clock",
        "virtual",
        "--levels",
        "1..16:x2",
        "--slo-p99",
        "2500ms",
        "--max-error-rate",
        "0.01",
        "--json",
        json.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    for needle in [
        "limit",
        "calls/s",
        "queue p99",
        // Level 4 never has more than the tool's 3 in flight: 3 is where the plateau starts.
        "recommended max_concurrency = 3",
        "USL fit",
        "σ =",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    assert!(
        !stderr.contains('\u{1b}'),
        "no progress bar when stderr is not a terminal: {stderr:?}"
    );

    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::root().join("schemas/tune-v1.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["recommended"], 3);
    assert_eq!(report["levels"][2]["max_concurrency"], 4);
    assert_eq!(report["levels"][2]["throughput"], 30.0);
    assert_eq!(report["criteria"]["slo_p99_s"], 2.5);
    // The schema is not vacuous: a report missing its recommendation is refused.
    let mut broken = report.clone();
    broken.as_object_mut().unwrap().remove("recommended");
    assert!(!validator.is_valid(&broken));

    let svg = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect();
    assert!(texts.iter().any(|t| t == "recommended: 3"), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("p99 SLO")), "{texts:?}");
    assert!(texts.iter().any(|t| t == "USL fit"), "{texts:?}");
}

#[test]
fn a_rate_sweep_of_the_open_loop_scenario_is_in_the_table_the_json_and_the_chart() {
    let dir = temp_dir("cli-tune-rates");
    let svg = dir.join("rates.svg");
    let out = parabench(&[
        "tune",
        "scenarios/open_loop.toml",
        "--clock",
        "virtual",
        "--levels",
        "2,4",
        "--rates",
        "10..80:x2",
        "--json",
        "-",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("open loop by arrival rate, max_concurrency 4"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::root().join("schemas/tune-v1.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(report["arrivals"]["process"], "poisson");
    assert_eq!(report["rate_sweep"]["rates"].as_array().unwrap().len(), 4);
    assert_eq!(report["rate_sweep"]["max_sustainable_rate_per_s"], 20.0);
    let svg = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).map(str::trim).collect();
    for needle in ["recommended: 4", "keeps up to 20/s", "offered arrival rate (calls/s)"] {
        assert!(texts.contains(&needle), "{needle:?} missing from {texts:?}");
    }

    // Without --rates, the scenario's own [sweep] rates.
    let out = parabench(&[
        "tune",
        "scenarios/open_loop.toml",
        "--clock",
        "virtual",
        "--levels",
        "4",
        "--json",
        "-",
    ]);
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rates: Vec<f64> = report["rate_sweep"]["rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rate_per_s"].as_f64().unwrap())
        .collect();
    assert_eq!(rates, [10.0, 20.0, 30.0, 40.0, 60.0]);
}

#[test]
fn tune_runs_on_the_real_clock_too() {
    // Functional only: no assertion on how fast the machine is.
    let dir = temp_dir("cli-tune-real");
    let scenario = write(&dir, "limited.toml", &limited(4, 2, 2));
    let out = parabench(&["tune", scenario.to_str().unwrap(), "--levels", "2", "--json", "-"]);
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["clock"], "real");
    assert_eq!(
        report["levels"].as_array().unwrap().len(),
        2,
        "level 1 added as the baseline"
    );
    assert!(report["levels"][1]["throughput"].as_f64().unwrap() > 0.0);
    assert!(report["usl"].is_null(), "two levels cannot fit three parameters");
    assert!(
        report["usl_note"]
            .as_str()
            .unwrap()
            .contains("3 or more distinct levels")
    );
}

#[test]
fn json_to_stdout_keeps_stdout_pure() {
    let dir = temp_dir("cli-tune-stdout");
    let scenario = write(&dir, "limited.toml", &limited(12, 10, 2));
    let out = parabench(&["tune", scenario.to_str().unwrap(), "--clock", "virtual", "--json", "-"]);
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is JSON alone");
    // No [sweep] and no --levels: the default levels.
    let levels: Vec<u64> = report["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["max_concurrency"].as_u64().unwrap())
        .collect();
    assert_eq!(levels, [1, 2, 4, 8, 16, 32]);
    assert!(stderr.contains("recommended max_concurrency = 2"), "{stderr}");
}

#[test]
fn bad_levels_and_other_bad_input_exit_1_with_a_clear_message() {
    let dir = temp_dir("cli-tune-bad");
    let scenario = write(&dir, "limited.toml", &limited(4, 10, 2));
    let path = scenario.to_str().unwrap();
    let cases: [(&[&str], &str); 9] = [
        (&["--levels", "1..x"], "`x` is not a positive integer"),
        (&["--levels", "8..2"], "ends below its start"),
        (&["--levels", "0,1"], "`0` is not a positive integer"),
        (&["--levels", "1..8:x1"], "not a valid step"),
        (&["--target-share", "1.5"], "above 0 and at most 1"),
        (&["--slo-p99", "soon"], "expected a duration like 800ms"),
        (&["--rate", "10"], "has no [arrivals] table"),
        (&["--rates", "10,20"], "--rates needs an open-loop scenario"),
        (&["--rates", "10..5:1"], "ends below its start"),
    ];
    for (args, needle) in cases {
        let all = [&["tune", path, "--clock", "virtual"][..], args].concat();
        let (code, stdout, stderr) = text(&parabench(&all));
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: nothing ran: {stdout}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    // A [sweep] longer than a sweep may try is refused, naming the file, not a panic.
    let many: Vec<String> = (1..=300).map(|n| n.to_string()).collect();
    let long = write(
        &dir,
        "long.toml",
        &format!(
            "{}[sweep]\nmax_concurrency = [{}]\n",
            limited(4, 10, 2),
            many.join(", ")
        ),
    );
    let (code, stdout, stderr) = text(&parabench(&["tune", long.to_str().unwrap(), "--clock", "virtual"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.is_empty() && stderr.contains("long.toml: [sweep] max_concurrency: 300 levels"),
        "{stderr}"
    );

    let (code, _, stderr) = text(&parabench(&["tune", path, "--svg", "/no/such/dir/t.svg"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("/no/such/dir/t.svg"), "{stderr}");
    let (code, _, stderr) = text(&parabench(&["tune", "no/such.toml"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("no/such.toml"), "{stderr}");
}

#[test]
fn levels_cut_by_the_deadline_have_no_speedup() {
    let scenario = parabench::scenario::parse(
        &std::fs::read_to_string(common::root().join("scenarios/deadline.toml")).unwrap(),
        Path::new("deadline.toml"),
    )
    .unwrap();
    let report = tune::run(&scenario, &virtual_sweep("1,4,32"), |_| {}).unwrap();
    // The baseline (one 1 s call at a time against 2.5 s) hits the deadline, so no level
    // compares with it; 32 in flight finish all 24 calls in 1 s.
    let hit: Vec<bool> = report.levels.iter().map(|l| l.deadline_hit).collect();
    assert_eq!(hit, [true, true, false]);
    for level in &report.levels {
        assert_eq!(
            (
                level.speedup,
                level.speedup_bound,
                level.efficiency,
                level.binding.as_deref()
            ),
            (None, None, None, None),
            "{level:?}"
        );
    }
    // Throughput (calls that succeeded per second) still compares the levels.
    // 32 in flight never held more than the 24 calls: the plateau starts at 24.
    assert_eq!(report.recommended, Some(24), "{}", report.reason);
    assert!(
        report.reason.contains("the baseline hit the scenario's deadline"),
        "{}",
        report.reason
    );
    let json = serde_json::to_value(&report).unwrap();
    common::assert_matches_schema("tune-v1.schema.json", &json);
}

#[test]
fn a_level_above_what_can_ever_run_at_once_recommends_the_plateau() {
    // 20 independent calls: no level above 20 can put more than 20 in flight.
    let scenario = parabench::scenario::parse(&limited(20, 100, 1000), Path::new("limited.toml")).unwrap();
    let report = tune::run(&scenario, &virtual_sweep("1,1000000000"), |_| {}).unwrap();
    let top = report.levels.last().unwrap();
    assert_eq!((top.max_concurrency, top.max_in_flight), (1_000_000_000, Some(20)));
    assert_eq!(report.recommended, Some(20), "{}", report.reason);
    assert!(
        report
            .reason
            .contains("no more than 20 calls were ever in flight, so any level from 20 up runs the same schedule"),
        "{}",
        report.reason
    );
    // Where the limit binds, the level itself is recommended.
    let report = tune::run(&scenario, &virtual_sweep("1,2,4,8,16,20"), |_| {}).unwrap();
    assert_eq!(report.recommended, Some(20), "{}", report.reason);
    assert!(!report.reason.contains("ever in flight"), "{}", report.reason);
}
