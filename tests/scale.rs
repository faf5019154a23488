//! Scale: a million simulated calls and a hundred thousand real ones complete, and the
//! memory they take is bounded: a fixed cost per call, much smaller without per-call
//! records (`--no-calls`). Memory is the child's own peak resident set, from wait4(2).

mod common;
#[path = "common/peak.rs"]
mod peak;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{read_json, root, temp_dir, write};

/// Documented in the README's "Scale and memory": what a simulated call may cost at the
/// peak, without and with its record in the report.
const BYTES_PER_CALL_WITHOUT_RECORDS: f64 = 120.0;
const BYTES_PER_CALL_WITH_RECORDS: f64 = 1_500.0;

/// Runs the binary with `args` and returns its exit code and peak resident memory.
fn run_measured(args: &[&str]) -> (i32, u64) {
    let measured = peak::run(
        Command::new(env!("CARGO_BIN_EXE_parabench"))
            .args(args)
            .current_dir(root())
            .stderr(Stdio::null()),
    )
    .unwrap();
    let code = measured.code.expect("the child exited, not killed by a signal");
    (code, measured.peak_bytes)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Two tools and `calls` calls, split 3:2, as in `tests/scale/million_virtual.toml`.
fn scenario(dir: &Path, calls: usize) -> String {
    let text = std::fs::read_to_string(root().join("tests/scale/million_virtual.toml"))
        .unwrap()
        .replace("count = 600000", &format!("count = {}", calls * 3 / 5))
        .replace("count = 400000", &format!("count = {}", calls * 2 / 5));
    write(dir, &format!("{calls}.toml"), &text).to_str().unwrap().to_owned()
}

fn calls_in(report: &serde_json::Value) -> (u64, usize) {
    let run = &report["runs"][0];
    let counted = run["tools"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["count"].as_u64().unwrap())
        .sum();
    (counted, run["calls"].as_array().unwrap().len())
}

/// `parabench run tests/scale/NAME.toml --mode parallel --no-calls --json FILE EXTRA...`,
/// which must succeed; returns the report, its path and the peak memory.
fn parallel_run_without_records(name: &str, extra: &[&str]) -> (serde_json::Value, PathBuf, u64) {
    let json = temp_dir(&format!("scale-{name}")).join("report.json");
    let scenario = format!("tests/scale/{name}.toml");
    let mut args = vec!["run", scenario.as_str(), "--mode", "parallel", "--no-calls", "--json"];
    args.push(json.to_str().unwrap());
    args.extend(extra);
    let (code, peak) = run_measured(&args);
    assert_eq!(code, 0);
    (read_json(&json), json, peak)
}

#[test]
fn a_million_simulated_calls_complete_in_bounded_memory() {
    let (report, json, peak) = parallel_run_without_records("million_virtual", &["--clock", "virtual"]);
    assert_eq!(calls_in(&report), (1_000_000, 0));
    assert!(
        std::fs::metadata(&json).unwrap().len() < 16 * 1024,
        "no per-call data in the report"
    );
    eprintln!("1,000,000 simulated calls: peak {:.0} MiB", mib(peak));
    let bound = 1_000_000.0 * BYTES_PER_CALL_WITHOUT_RECORDS + 64.0 * 1024.0 * 1024.0;
    assert!(
        (peak as f64) < bound,
        "peak {:.0} MiB, bound {:.0} MiB",
        mib(peak),
        mib(bound as u64)
    );
}

#[test]
fn a_million_zero_latency_real_calls_add_under_108_mb() {
    // Issue 19's target for `examples/floor.rs`'s run: one `[[generate]]` block of a
    // million zero-latency calls at limit 64 on the real clock, without records, under
    // 120 MB. The release build takes 11 MB for ten calls, so a million may add 108 MB
    // (measured: 103). Measured as what they add, since this is the debug build, whose
    // own resident set is larger.
    let dir = temp_dir("scale-floor");
    let peak = |calls: usize| {
        let text = format!(
            "name = \"floor\"\nseed = 1\n[executor]\nmax_concurrency = 64\n\
             [tools.noop]\nlatency = {{ dist = \"constant\", value = \"0ms\" }}\n\
             [[generate]]\ntool = \"noop\"\ncount = {calls}\n"
        );
        let path = write(&dir, &format!("{calls}.toml"), &text);
        let path = path.to_str().unwrap();
        let (code, peak) = run_measured(&["run", path, "--mode", "parallel", "--no-calls", "--clock", "real"]);
        assert_eq!(code, 0);
        peak
    };
    let added = peak(1_000_000).saturating_sub(peak(10));
    eprintln!("1,000,000 zero-latency real calls add {:.0} MB", added as f64 / 1e6);
    assert!(added < 108_000_000, "{:.0} MB added", added as f64 / 1e6);
}

#[test]
fn memory_per_call_is_bounded_and_much_lower_without_records() {
    let dir = temp_dir("scale-slope");
    let (small, large) = (10_000, 60_000);
    let peak = |calls: usize, extra: &[&str]| {
        let path = scenario(&dir, calls);
        let mut args = vec!["run", path.as_str(), "--clock", "virtual", "--json", "-"];
        args.extend(extra);
        let (code, peak) = run_measured(&args);
        assert_eq!(code, 0);
        peak
    };
    let slope = |extra: &[&str]| (peak(large, extra) as f64 - peak(small, extra) as f64) / (large - small) as f64;
    let without = slope(&["--no-calls"]);
    let with = slope(&[]);
    eprintln!("peak memory per call: {without:.0} B without records, {with:.0} B with");
    assert!(
        without < BYTES_PER_CALL_WITHOUT_RECORDS,
        "{without:.0} bytes per call without records"
    );
    assert!(
        with < BYTES_PER_CALL_WITH_RECORDS,
        "{with:.0} bytes per call with records"
    );
    assert!(
        with > 2.0 * without,
        "records cost {with:.0} B/call, none {without:.0} B/call"
    );
}

#[test]
fn a_hundred_thousand_real_calls_at_a_thousand_in_flight_complete() {
    let (report, _, peak) = parallel_run_without_records("hundred_thousand_real", &[]);
    assert_eq!(calls_in(&report), (100_000, 0));
    assert_eq!(report["runs"][0]["tools"]["api"]["ok"], 100_000);
    assert_eq!(report["runs"][0]["max_concurrency"], 1000);
    eprintln!("100,000 real calls: peak {:.0} MiB", mib(peak));
    assert!(mib(peak) < 128.0, "peak {:.0} MiB", mib(peak));
}

#[test]
fn a_scenario_above_the_record_limit_runs_only_without_records() {
    let dir = temp_dir("scale-records");
    // Split 3:2 by `scenario`, so a multiple of 5.
    let over = parabench::report::model::MAX_CALL_RECORDS + 5;
    let path = scenario(&dir, over);
    let out = Command::new(env!("CARGO_BIN_EXE_parabench"))
        .args(["run", path.as_str(), "--clock", "virtual", "--mode", "parallel"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("has {over} calls, more than the")) && stderr.contains("--no-calls"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing ran");
}
