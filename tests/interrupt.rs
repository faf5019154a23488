//! Ctrl-C, SIGTERM and SIGHUP during a run, sent to the real binary: the report so far
//! is written (marked partial) with the other files, telemetry is flushed, and the exit
//! code says which signal ended the run; a second Ctrl-C exits at once. Output files
//! appear whole or not at all.

mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{parabench, temp_dir, text, write};
use opentelemetry_proto::tonic::common::v1::any_value;
use otlp::{Receiver, hanging};
use serde_json::Value;

/// Two hundred 50 ms calls at four in flight: the sequential run alone takes 10 s, so a
/// signal sent a moment after the start always lands in the middle of it.
const SLOW: &str = r#"name = "slow"
[executor]
max_concurrency = 4
[tools.api]
latency = { dist = "constant", value = "50ms" }
[[generate]]
count = 200
id_prefix = "c"
tool = "api"
[expect]
min_speedup = 3.0
"#;

/// The longest any child may take: far above what each needs, only so that a hang
/// fails the test instead of stalling the suite.
const PATIENCE: Duration = Duration::from_secs(60);

struct Run {
    child: Child,
    dir: PathBuf,
}

impl Run {
    /// Starts `parabench run SLOW --json DIR/r.json --hlog DIR/r.hlog EXTRA...` and
    /// returns once it is past its checks and into the run.
    fn start(name: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
        Self::start_scenario(name, SLOW, extra, env)
    }

    fn start_scenario(name: &str, scenario: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
        let dir = temp_dir(name);
        let scenario = write(&dir, "slow.toml", scenario);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_parabench"));
        cmd.arg("run")
            .arg(&scenario)
            .arg("--json")
            .arg(dir.join("r.json"))
            .arg("--hlog")
            .arg(dir.join("r.hlog"))
            .args(extra)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            cmd.env(key, value);
        }
        let child = cmd.spawn().unwrap();
        let run = Run { child, dir };
        // A moment after the start, the output files exist and the run is under way.
        // Give it a moment more to be well into the sequential run.
        run.wait_for(|| run.temp_files().len() == 2);
        std::thread::sleep(Duration::from_millis(500));
        run
    }

    fn signal(&self, signal: i32) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) with a pid this test spawned and has not yet reaped.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    fn wait_for(&self, mut ready: impl FnMut() -> bool) {
        let start = Instant::now();
        while !ready() {
            assert!(start.elapsed() < PATIENCE, "gave up waiting");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the exit; returns the status and stderr.
    fn finish(mut self) -> (ExitStatus, String, String, PathBuf) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!("parabench did not exit within {PATIENCE:?} of the signal");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let out = self.child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (status, stdout, stderr, self.dir)
    }

    /// The output files still being written (hidden `.NAME.PID.N.tmp` files).
    fn temp_files(&self) -> Vec<String> {
        temp_files(&self.dir)
    }
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What every interrupted run must have left: a whole, partial report of the sequential
/// run alone, its interval log, and no temporary file.
fn assert_partial_report(dir: &Path) -> Value {
    let report = read_json(&dir.join("r.json"));
    common::assert_matches_schema("report-v1.schema.json", &report);
    assert_eq!(report["partial"], true);
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "the parallel run never started");
    let run = &runs[0];
    assert_eq!(
        (run["mode"].as_str(), run["interrupted"].as_bool()),
        (Some("sequential"), Some(true))
    );
    let api = &run["tools"]["api"];
    let (ok, cancelled) = (api["ok"].as_u64().unwrap(), api["cancelled"].as_u64().unwrap());
    assert!(ok > 0 && cancelled > 0, "ok {ok}, cancelled {cancelled}");
    assert_eq!(ok + cancelled, 200);
    let calls = run["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 200);
    // The call in flight, if the signal found one (it may also land between two calls),
    // was cancelled at once, not awaited: cut before its 50 ms. A signal that lands just
    // as the call's own end is due can find it done but not yet handled: within 1 ms of
    // its end, it is cancelled all the same.
    let in_flight: Vec<&Value> = calls
        .iter()
        .filter(|c| c["status"] == "cancelled" && !c["start_s"].is_null())
        .collect();
    assert!(in_flight.len() <= 1, "one call at a time: {in_flight:?}");
    for call in in_flight {
        let ran = call["end_s"].as_f64().unwrap() - call["start_s"].as_f64().unwrap();
        assert!(
            ran < 0.051,
            "the call in flight ran past its whole 50 ms ({ran} s): {call}"
        );
    }
    // No figure is derived from a cut-short run.
    assert!(report["speedup"].is_null() && report["efficiency"].is_null());
    let expectation = &report["expectations"][0];
    assert!(expectation["ok"].is_null(), "{expectation}");
    let hlog = std::fs::read_to_string(dir.join("r.hlog")).unwrap();
    assert!(hlog.contains("sequential/api/service"), "{hlog}");
    assert_eq!(temp_files(dir), Vec::<String>::new());
    report
}

/// Sends `signal` mid-run and checks what it must leave: the exit code, the message
/// naming it, the partial table and report.
fn signal_stops_the_run(name: &str, signal: i32, code: i32, said: &str) {
    let run = Run::start(name, &[], &[]);
    run.signal(signal);
    let (status, stdout, stderr, dir) = run.finish();
    assert_eq!(status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(said), "{stderr}");
    assert!(stdout.contains("! interrupted: the report holds"), "{stdout}");
    assert_partial_report(&dir);
}

#[test]
fn ctrl_c_writes_the_partial_report_and_exits_130() {
    signal_stops_the_run("sigint", libc::SIGINT, 130, "interrupted (SIGINT)");
}

#[test]
fn sigterm_does_the_same_and_exits_143() {
    signal_stops_the_run("sigterm", libc::SIGTERM, 143, "terminated (SIGTERM)");
}

#[test]
fn sighup_does_the_same_and_exits_129() {
    // A closed terminal or a dropped SSH session must not lose what was measured either.
    signal_stops_the_run("sighup", libc::SIGHUP, 129, "hung up (SIGHUP)");
}

#[test]
fn a_closed_stderr_does_not_stop_the_signal_from_working() {
    // Saying "stopping" to a closed pipe fails; the run must stop all the same (the
    // watcher used to die on that write, and later signals were then swallowed).
    let mut run = Run::start("sigint-closed-stderr", &[], &[]);
    drop(run.child.stderr.take());
    run.signal(libc::SIGINT);
    let (status, stdout, _, dir) = run.finish();
    assert_eq!(status.code(), Some(130), "{stdout}");
    assert_partial_report(&dir);
}

#[test]
fn a_repeat_cut_short_keeps_the_repetitions_that_finished() {
    // Twenty 50 ms calls at four in flight: a repetition takes 1.25 s (1 s sequential,
    // 0.25 s parallel), so a signal at 1.8 s lands in the second of three.
    let scenario = SLOW.replace("count = 200", "count = 20");
    let run = Run::start_scenario("sigint-repeat", &scenario, &["--repeat", "3"], &[]);
    std::thread::sleep(Duration::from_millis(1300));
    run.signal(libc::SIGINT);
    let (status, stdout, stderr, dir) = run.finish();
    assert_eq!(status.code(), Some(130), "{stderr}");
    let report = read_json(&dir.join("r.json"));
    common::assert_matches_schema("report-v1.schema.json", &report);
    assert_eq!(report["partial"], true);
    assert_eq!(report["repetitions_requested"], 3);
    // The first repetition is whole, with its figures; the second was dropped.
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r["interrupted"] == false), "{runs:?}");
    assert!(report["speedup"].as_f64().unwrap() > 3.0, "{}", report["speedup"]);
    assert!(report.get("repetitions").is_none(), "one repetition finished");
    assert!(stdout.contains("! interrupted after 1 of 3 repetitions"), "{stdout}");
    assert_eq!(temp_files(&dir), Vec::<String>::new());
}

#[test]
fn telemetry_is_flushed_before_the_interrupted_run_exits() {
    let receiver = Receiver::grpc();
    let run = Run::start("sigint-otlp", &["--otlp", &receiver.endpoint()], &[]);
    run.signal(libc::SIGINT);
    let (status, _, stderr, dir) = run.finish();
    assert_eq!(status.code(), Some(130), "{stderr}");
    let report = assert_partial_report(&dir);
    assert!(stderr.contains("spans exported"), "{stderr}");
    // Every call of the interrupted run reached the collector, one span each, and so did
    // an attempt span for each call that started.
    let calls = report["runs"][0]["calls"].as_array().unwrap();
    let started = calls.iter().filter(|c| !c["start_s"].is_null()).count();
    let spans = receiver.spans();
    let count = |prefix: &str| spans.iter().filter(|s| s.name.starts_with(prefix)).count();
    assert_eq!(count("execute_tool"), calls.len());
    assert_eq!(count("attempt"), started);
    assert_eq!(count("run"), 1, "the run span was ended and sent");
    let scenario = spans
        .iter()
        .find(|s| s.name.starts_with("scenario"))
        .expect("a scenario span");
    assert_eq!(
        otlp::attr(&scenario.attributes, "parabench.partial"),
        Some(&any_value::Value::BoolValue(true)),
        "the trace says it is partial"
    );
}

#[test]
fn a_signal_after_the_run_changes_nothing_but_says_so() {
    // A collector that never answers holds the end-of-run flush after the report is
    // written: a Ctrl-C then finds the work done.
    let collector = hanging();
    let endpoint = format!("http://{}", collector.addr);
    let scenario = SLOW.replace("count = 200", "count = 4");
    let run = Run::start_scenario(
        "sigint-after",
        &scenario,
        &["--otlp", &endpoint],
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
    );
    run.wait_for(|| run.dir.join("r.json").exists() && run.temp_files().is_empty());
    run.signal(libc::SIGINT);
    let (status, _, stderr, dir) = run.finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("interrupted (SIGINT) after the work had finished: the report is complete"),
        "{stderr}"
    );
    let report = read_json(&dir.join("r.json"));
    assert_eq!(report["partial"], false);
    assert!(report["speedup"].as_f64().unwrap() > 3.0, "{}", report["speedup"]);
}

#[test]
fn two_outputs_to_one_file_are_refused_before_the_run() {
    let dir = temp_dir("same-output");
    let scenario = write(&dir, "slow.toml", SLOW);
    let same = dir.join("same.out");
    let (code, stdout, stderr) = text(&parabench(&[
        "run",
        scenario.to_str().unwrap(),
        "--json",
        same.to_str().unwrap(),
        "--hlog",
        dir.join(".").join("same.out").to_str().unwrap(),
    ]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--json and --hlog both write to"), "{stderr}");
    assert!(stdout.is_empty(), "nothing ran: {stdout}");
    assert!(!same.exists());
    assert_eq!(temp_files(&dir), Vec::<String>::new());
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    // A collector that never answers holds the end-of-run flush for seconds: time for a
    // second Ctrl-C once the report is written.
    let collector = hanging();
    let endpoint = format!("http://{}", collector.addr);
    let run = Run::start(
        "sigint-twice",
        &["--otlp", &endpoint],
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
    );
    run.signal(libc::SIGINT);
    run.wait_for(|| run.dir.join("r.json").exists() && run.dir.join("r.hlog").exists());
    run.signal(libc::SIGINT);
    let (status, _, stderr, dir) = run.finish();
    assert_eq!(status.code(), Some(130), "{stderr}");
    // The flush never got to say how it ended: the process left in the middle of it.
    assert!(!stderr.contains("telemetry export to"), "{stderr}");
    assert!(!stderr.contains("spans exported"), "{stderr}");
    assert_partial_report(&dir);
}

#[test]
fn a_killed_run_leaves_the_previous_report_untouched() {
    // SIGKILL cannot be caught: what is on disk is whatever the last complete write left.
    let dir = temp_dir("sigkill");
    let before = "{\"previous\": true}\n";
    let report = write(&dir, "r.json", before);
    let scenario = write(&dir, "slow.toml", SLOW);
    let mut child = Command::new(env!("CARGO_BIN_EXE_parabench"))
        .arg("run")
        .arg(&scenario)
        .arg("--json")
        .arg(&report)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while temp_files(&dir).is_empty() {
        assert!(start.elapsed() < PATIENCE);
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::read_to_string(&report).unwrap(), before);
}

#[test]
fn an_unwritable_output_fails_before_the_run() {
    let dir = temp_dir("unwritable");
    let scenario = write(&dir, "slow.toml", SLOW);
    let scenario = scenario.to_str().unwrap();
    for (flag, path) in [
        ("--json", "/nonexistent-dir/r.json"),
        ("--hlog", "/nonexistent-dir/r.hlog"),
        ("--html", "/nonexistent-dir/r.html"),
        ("--json", dir.to_str().unwrap()),
    ] {
        let (code, stdout, stderr) = text(&parabench(&["run", scenario, flag, path]));
        assert_eq!(code, 1, "{flag} {path}: {stderr}");
        assert!(stderr.contains("error: cannot write the"), "{stderr}");
        assert!(stderr.contains(path), "{stderr}");
        // Nothing ran: the table is printed only after a run.
        assert!(stdout.is_empty(), "{stdout}");
    }
}

#[test]
fn an_interrupted_tune_keeps_the_levels_that_finished() {
    // Twenty 50 ms calls: level 1 takes 1 s, level 2 0.5 s, and so on.
    let dir = temp_dir("sigint-tune");
    let scenario = write(&dir, "slow.toml", &SLOW.replace("count = 200", "count = 20"));
    let json = dir.join("t.json");
    let child = Command::new(env!("CARGO_BIN_EXE_parabench"))
        .arg("tune")
        .arg(&scenario)
        .args(["--levels", "1,2,4,8,16"])
        .arg("--json")
        .arg(&json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run = Run { child, dir };
    run.wait_for(|| run.temp_files().len() == 1);
    std::thread::sleep(Duration::from_millis(1300));
    run.signal(libc::SIGINT);
    let (status, stdout, stderr, dir) = run.finish();
    assert_eq!(status.code(), Some(130), "{stderr}");
    let report = read_json(&json);
    common::assert_matches_schema("tune-v1.schema.json", &report);
    assert_eq!(report["partial"], true);
    assert!(report["recommended"].is_null());
    let levels = report["levels"].as_array().unwrap();
    // Level 1 (1 s) had finished, level 16 had not.
    assert!((1..5).contains(&levels.len()), "{} levels", levels.len());
    // Each level kept ran to the end: no call cancelled, and a wall of at least the
    // 20 × 50 ms of work spread over its limit (a cut run would be shorter).
    for level in levels {
        assert_eq!(level["errors"], 0, "{level}");
        let (limit, wall) = (
            level["max_concurrency"].as_f64().unwrap(),
            level["wall_s"].as_f64().unwrap(),
        );
        assert!(wall * limit >= 1.0 - 1e-9, "{level}");
    }
    assert!(
        stdout.contains(&format!("interrupted after {} of 5 levels", levels.len())),
        "{stdout}"
    );
    assert_eq!(temp_files(&dir), Vec::<String>::new());
}
