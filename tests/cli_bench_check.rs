//! `parabench bench-check` through the real binary: the exit code CI relies on.

mod common;

use common::{parabench, temp_dir, text, write};
use parabench::bench::summary::{SpeedupSummary, SummaryRow};
use parabench::clock::ClockKind;
use parabench::harness::{self, RunRequest};

/// The summary row of a shipped scenario, run in virtual time.
fn row(name: &str) -> SummaryRow {
    let file = format!("scenarios/{name}.toml");
    let scenario = parabench::scenario::load(&common::root().join(&file)).unwrap();
    let request = RunRequest {
        clock: ClockKind::Virtual,
        ..RunRequest::default()
    };
    let report = harness::run(&scenario, &request).unwrap();
    SummaryRow::from_report(&report, &file, None).unwrap()
}

fn summary(speedup_scale: f64) -> String {
    let mut row = row("independent_io");
    row.speedup = row.speedup.map(|s| s * speedup_scale);
    SpeedupSummary::new("virtual", vec![row]).to_json()
}

fn check(current: &std::path::Path, baseline: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "bench-check",
        "--speedup",
        current.to_str().unwrap(),
        "--speedup-baseline",
        baseline.to_str().unwrap(),
    ];
    args.extend(extra);
    text(&parabench(&args))
}

#[test]
fn a_check_that_compares_nothing_fails() {
    let dir = temp_dir("bench-check-nothing");
    let baseline = write(&dir, "baseline.json", &summary(1.0));
    let mut other = row("dependent_chain");
    other.scenario = "renamed".into();
    let renamed = write(
        &dir,
        "renamed.json",
        &SpeedupSummary::new("virtual", vec![other]).to_json(),
    );
    let (code, stdout, stderr) = check(&renamed, &baseline, &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("no scenario of the current summary is in the baseline")
            && stderr.contains("current: renamed; baseline: independent_io"),
        "{stderr}"
    );
    // Not even when missing scenarios are allowed.
    assert_eq!(check(&renamed, &baseline, &["--allow-missing"]).0, 1);
}

#[test]
fn a_scenario_missing_from_the_current_summary_fails_unless_allowed() {
    let dir = temp_dir("bench-check-missing");
    let both = SpeedupSummary::new("virtual", vec![row("independent_io"), row("dependent_chain")]);
    let baseline = write(&dir, "baseline.json", &both.to_json());
    let current = write(&dir, "current.json", &summary(1.0));
    let (code, stdout, stderr) = check(&current, &baseline, &[]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stdout.contains("regression: dependent_chain: in the baseline but missing from the current summary"),
        "{stdout}"
    );
    let (code, stdout, _) = check(&current, &baseline, &["--allow-missing"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("not compared: dependent_chain"), "{stdout}");
}

#[test]
fn speedup_summaries_pass_when_equal_and_fail_with_2_when_worse() {
    let dir = temp_dir("bench-check-speedup");
    let baseline = write(&dir, "baseline.json", &summary(1.0));
    let same = write(&dir, "same.json", &summary(1.0));
    let worse = write(&dir, "worse.json", &summary(0.9));
    let args = |current: &std::path::Path| {
        vec![
            "bench-check".to_string(),
            "--speedup".into(),
            current.display().to_string(),
            "--speedup-baseline".into(),
            baseline.display().to_string(),
        ]
    };
    let run = |extra: &[&str], current: &std::path::Path| {
        let mut all = args(current);
        all.extend(extra.iter().map(ToString::to_string));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        text(&parabench(&refs))
    };

    let (code, stdout, stderr) = run(&[], &same);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 scenarios compared"), "{stdout}");

    let (code, stdout, _) = run(&[], &worse);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.contains("regression: independent_io: speedup 5.000× → 4.500× (-10.0%)"),
        "{stdout}"
    );
    // A 10 % loss is within a 15 % tolerance.
    assert_eq!(run(&["--max-regression", "15"], &worse).0, 0);
}

#[test]
fn criterion_changes_beyond_the_threshold_fail_with_2() {
    let dir = temp_dir("bench-check-criterion");
    let bench = dir.join("zero_latency_c5/parabench");
    std::fs::create_dir_all(bench.join("new")).unwrap();
    std::fs::create_dir_all(bench.join("change")).unwrap();
    write(&bench.join("new"), "estimates.json", "{}");
    write(
        &bench.join("change"),
        "estimates.json",
        r#"{"mean":{"confidence_interval":{"lower_bound":0.06,"upper_bound":0.10},"point_estimate":0.08}}"#,
    );
    let dir_arg = dir.display().to_string();
    let (code, stdout, stderr) = text(&parabench(&["bench-check", "--criterion", &dir_arg]));
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stdout.contains("regression: zero_latency_c5/parabench: mean time +8.0%"),
        "{stdout}"
    );
    let (code, stdout, _) = text(&parabench(&[
        "bench-check",
        "--criterion",
        &dir_arg,
        "--max-regression",
        "10%",
    ]));
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn bad_input_exits_1_and_names_the_file() {
    let dir = temp_dir("bench-check-input");
    let bad = write(&dir, "bad.json", r#"{"schema_version": 7}"#);
    let good = write(&dir, "good.json", &summary(1.0));
    let (code, _, stderr) = text(&parabench(&[
        "bench-check",
        "--speedup",
        bad.to_str().unwrap(),
        "--speedup-baseline",
        good.to_str().unwrap(),
    ]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("bad.json") && stderr.contains("schema_version 7"),
        "{stderr}"
    );

    // An empty criterion directory has nothing to compare: not a silent pass.
    let empty = temp_dir("bench-check-empty");
    let (code, _, stderr) = text(&parabench(&["bench-check", "--criterion", empty.to_str().unwrap()]));
    assert_eq!(code, 1);
    assert!(stderr.contains("--baseline"), "{stderr}");

    let (code, _, stderr) = text(&parabench(&["bench-check"]));
    assert_eq!(code, 1, "{stderr}");
    let (code, _, stderr) = text(&parabench(&["bench-check", "--criterion", "x", "--max-regression=-3"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("percentage"), "{stderr}");
    let (code, _, _) = text(&parabench(&["bench-check", "--speedup", good.to_str().unwrap()]));
    assert_eq!(code, 1, "--speedup needs --speedup-baseline");
}
