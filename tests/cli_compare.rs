//! `parabench compare` through the real binary: matching, exact regressions in virtual
//! time, noise from repetitions, outputs and their schema, exit codes.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_matches_schema, parabench, read_json, temp_dir, text, write};
use serde_json::{Value, json};

/// Runs `parabench run` with `args` and writes its report to `dir/name`.
fn report(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let out = parabench(&[&["run"], args, &["--json", path.to_str().unwrap()]].concat());
    let (code, _, stderr) = text(&out);
    assert!(code == 0 || code == 2, "{stderr}");
    assert_matches_schema("report-v1.schema.json", &read_json(&path));
    path
}

fn compare(args: &[&str]) -> (i32, String, String) {
    text(&parabench(&[&["compare"], args].concat()))
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The figure labelled `label` (as in the table) in a compare JSON.
fn figure<'a>(c: &'a Value, label: &str) -> &'a Value {
    c["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            let parts: Vec<&str> = ["mode", "tool", "figure"]
                .iter()
                .filter_map(|k| f[*k].as_str())
                .collect();
            parts.join(" ") == label
        })
        .unwrap_or_else(|| panic!("no figure {label}"))
}

#[test]
fn a_run_compared_with_itself_reports_no_change_and_exits_0() {
    let dir = temp_dir("cmp-self");
    let base = report(&dir, "base.json", &["scenarios/agent_mix.toml", "--clock", "virtual"]);
    let (json, md) = (dir.join("c.json"), dir.join("c.md"));
    let (code, stdout, stderr) = compare(&[s(&base), s(&base), "--json", s(&json), "--markdown", s(&md)]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("no change: all 64 figures are the same"), "{stdout}");
    assert!(stdout.contains("✓ no regression beyond 5%"), "{stdout}");
    let c = read_json(&json);
    assert_matches_schema("compare-v1.schema.json", &c);
    assert_eq!(
        (c["regressions"].as_u64(), c["improvements"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(c["noise_method"], "exact");
    assert!(
        c["figures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["verdict"] == "unchanged")
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.starts_with("### parabench compare: `agent_mix`"), "{md}");
    assert!(md.contains("No change: all 64 figures are the same."), "{md}");
}

#[test]
fn a_lower_max_concurrency_in_virtual_time_is_an_exact_regression_exiting_2() {
    let dir = temp_dir("cmp-limit");
    let base = report(&dir, "base.json", &["--clock", "virtual"]);
    let new = report(&dir, "new.json", &["--clock", "virtual", "--max-concurrency", "2"]);
    let (json, md) = (dir.join("c.json"), dir.join("c.md"));
    let (code, stdout, stderr) = compare(&[s(&base), s(&new), "--json", s(&json), "--markdown", s(&md)]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    let c = read_json(&json);
    assert_matches_schema("compare-v1.schema.json", &c);
    assert_eq!(c["noise_method"], "exact");
    assert_eq!(c["new"]["runs"][1], json!({"mode": "parallel", "max_concurrency": 2}));
    // 20 calls of 100 ms: 5 in flight take 0.4 s, 2 in flight 1.0 s.
    let wall = figure(&c, "parallel wall_s");
    assert_eq!(
        (&wall["base"], &wall["new"], &wall["change_pct"]),
        (&json!(0.4), &json!(1.0), &json!(150.0))
    );
    assert_eq!(
        (&wall["noise"], &wall["verdict"]),
        (&json!("exact"), &json!("regressed"))
    );
    let speedup = figure(&c, "speedup");
    assert_eq!(
        (&speedup["base"], &speedup["new"], &speedup["change_pct"]),
        (&json!(5.0), &json!(2.0), &json!(-60.0))
    );
    assert_eq!(
        speedup["verdict"], "regressed",
        "higher speedup is better, so lower is worse"
    );
    // The bound falls with the limit: efficiency stays 100%, and the sequential run is untouched.
    assert_eq!(figure(&c, "efficiency")["verdict"], "unchanged");
    assert_eq!(figure(&c, "sequential wall_s")["verdict"], "unchanged");
    // Percentiles are those of the two reports, exactly.
    let (b, n) = (read_json(&base), read_json(&new));
    for p in ["p50_s", "p90_s", "p99_s"] {
        let f = figure(&c, &format!("parallel {p}"));
        assert_eq!(
            (&f["base"], &f["new"]),
            (&b["runs"][1]["latency"][p], &n["runs"][1]["latency"][p])
        );
        assert_eq!(f["verdict"], "regressed", "{p}");
    }
    assert_eq!(c["regressions"], 5);
    assert!(
        stdout.contains("✗ 5 regressions beyond 5% and beyond noise"),
        "{stdout}"
    );
    assert!(
        stdout.contains("parallel ×5") && stdout.contains("parallel ×2"),
        "{stdout}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("| parallel wall\\_s | 400.0ms | 1.000s | +150.0% | exact | ✗ regressed |"),
        "{md}"
    );

    // The other way round it is an improvement, which never fails.
    let (code, stdout, _) = compare(&[s(&new), s(&base)]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("✓ no regression beyond 5% and beyond noise, 5 improvements"),
        "{stdout}"
    );
    // A threshold above every change lets it through.
    let (code, stdout, _) = compare(&[s(&base), s(&new), "--threshold", "200%"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("below threshold"), "{stdout}");
}

/// A real-time report of a tiny scenario, its first repetition copied to `walls.len()`
/// repetitions whose parallel wall times are `walls` (seconds): noise made to measure.
fn with_parallel_walls(real: &Value, walls: &[f64]) -> Value {
    let mut report = real.clone();
    let first = report["repetitions"][0].clone();
    let reps: Vec<Value> = walls
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut rep = first.clone();
            rep["index"] = json!(i + 1);
            rep["runs"][1]["wall_s"] = json!(w);
            rep
        })
        .collect();
    report["repetitions"] = Value::Array(reps);
    report.as_object_mut().unwrap().remove("summary");
    report
}

#[test]
fn noise_within_the_spread_of_repetitions_is_not_flagged_and_a_shift_beyond_it_is() {
    let dir = temp_dir("cmp-noise");
    let scenario = write(
        &dir,
        "tiny.toml",
        r#"
name = "tiny"
[executor]
max_concurrency = 2
[tools.api]
latency = { dist = "constant", value = "2ms" }
[[generate]]
tool = "api"
count = 4
"#,
    );
    let real = read_json(&report(&dir, "real.json", &[s(&scenario), "--repeat", "2"]));
    assert_eq!(real["clock"], "real");
    let base = with_parallel_walls(&real, &[1.00, 1.03, 0.97, 1.01, 0.99]);
    let noisy = with_parallel_walls(&real, &[1.02, 0.98, 1.04, 1.00, 1.03]);
    let slower = with_parallel_walls(&real, &[1.20, 1.23, 1.17, 1.21, 1.19]);
    let single = with_parallel_walls(&real, &[1.00]);
    for (name, v) in [("base", &base), ("noisy", &noisy), ("slower", &slower)] {
        assert_matches_schema("report-v1.schema.json", v);
        std::fs::write(dir.join(format!("{name}.json")), v.to_string()).unwrap();
    }
    let mut single = single;
    single.as_object_mut().unwrap().remove("repetitions");
    single["runs"][1]["wall_s"] = json!(1.0);
    std::fs::write(dir.join("single.json"), single.to_string()).unwrap();
    let path = |name: &str| dir.join(format!("{name}.json")).to_str().unwrap().to_string();

    // +2 % is beyond a 1 % threshold, but within the spread of the repetitions.
    let (code, stdout, stderr) = compare(&[&path("base"), &path("noisy"), "--threshold", "1%", "--json", "-"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let c: Value = serde_json::from_str(&stdout).expect("--json - writes JSON alone");
    assert_matches_schema("compare-v1.schema.json", &c);
    assert_eq!(c["noise_method"], "intervals");
    let wall = figure(&c, "parallel wall_s");
    assert_eq!((&wall["base"], &wall["new"]), (&json!(1.0), &json!(1.02)));
    assert_eq!(
        (&wall["noise"], &wall["verdict"]),
        (&json!("within"), &json!("within_noise"))
    );
    assert!(stderr.contains("~ within noise"), "the table goes to stderr: {stderr}");
    let md = dir.join("noisy.md");
    let (code, _, _) = compare(&[&path("base"), &path("noisy"), "--threshold", "1%", "--markdown", s(&md)]);
    assert_eq!(code, 0);
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("**✓ no regression beyond 1% and beyond noise, 0 improvements**"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>1 changes within noise"),
        "noise folds away: {md}"
    );

    // +20 %, with intervals apart: a regression.
    let (code, stdout, _) = compare(&[&path("base"), &path("slower"), "--threshold", "1%"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.contains("parallel wall_s") && stdout.contains("beyond"),
        "{stdout}"
    );

    // One repetition on a side: noise cannot be told, the threshold alone decides.
    let (code, stdout, _) = compare(&[&path("single"), &path("noisy"), "--threshold", "1%"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.contains("cannot tell") && stdout.contains("--repeat"),
        "{stdout}"
    );
}

#[test]
fn what_only_one_report_has_is_named() {
    let dir = temp_dir("cmp-only");
    let base = report(&dir, "base.json", &["--clock", "virtual"]);
    let new = report(&dir, "new.json", &["--clock", "virtual", "--mode", "parallel"]);
    let (code, stdout, stderr) = compare(&[s(&base), s(&new)]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("only in base: efficiency, speedup, the sequential run"),
        "{stdout}"
    );
    assert!(stdout.contains("no change: all 11 figures are the same"), "{stdout}");
}

#[test]
fn bad_inputs_name_the_file_and_what_was_expected_and_exit_1() {
    let dir = temp_dir("cmp-bad");
    let good = report(&dir, "good.json", &["--clock", "virtual"]);
    let text_of_good = std::fs::read_to_string(&good).unwrap();
    let v2 = write(
        &dir,
        "v2.json",
        &text_of_good.replace("\"schema_version\": 1", "\"schema_version\": 2"),
    );
    let cut = write(&dir, "cut.json", &text_of_good[..text_of_good.len() / 2]);
    let other = write(&dir, "other.json", r#"{"name": "not a report"}"#);
    let toml = common::root().join("scenarios/independent_io.toml");
    let missing = dir.join("missing.json");
    let cases = [
        (
            &v2,
            "schema_version 2 is not supported (this parabench reads version 1)",
        ),
        (&cut, "ends early"),
        (&other, "not a parabench run report"),
        (&toml, "not JSON"),
        (&missing, "cannot read"),
    ];
    for (bad, want) in cases {
        for args in [[s(bad), s(&good)], [s(&good), s(bad)]] {
            let (code, stdout, stderr) = compare(&args);
            assert_eq!(code, 1, "{bad:?}: {stderr}");
            assert!(stdout.is_empty(), "nothing compared: {stdout}");
            assert!(stderr.contains(s(bad)) && stderr.contains(want), "{bad:?}: {stderr}");
            if !want.contains("version") && !want.contains("cannot read") {
                assert!(stderr.contains("expected a parabench run report"), "{stderr}");
            }
        }
    }

    let chain = report(
        &dir,
        "chain.json",
        &["scenarios/dependent_chain.toml", "--clock", "virtual"],
    );
    let (code, _, stderr) = compare(&[s(&good), s(&chain)]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("scenario `independent_io`") && stderr.contains("compare reports of one scenario"),
        "{stderr}"
    );

    let (code, _, stderr) = compare(&[s(&good), s(&good), "--threshold=-3%"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("expected a percentage"), "{stderr}");
    let (code, _, stderr) = compare(&[s(&good), s(&good), "--json", "-", "--markdown", "-"]);
    assert_eq!(code, 1, "{stderr}");
}
