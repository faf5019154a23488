//! `parabench run` through the real binary: output, JSON contract, exit codes.

mod common;

use common::{parabench, temp_dir, text, write};

#[test]
fn a_virtual_run_prints_the_table_and_writes_a_report_matching_the_schema() {
    let dir = temp_dir("cli-run-json");
    let json = dir.join("report.json");
    let out = parabench(&[
        "run",
        "scenarios/independent_io.toml",
        "--clock",
        "virtual",
        "--json",
        json.to_str().unwrap(),
    ]);
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    for needle in [
        "sequential ×1",
        "parallel ×5",
        "speedup 5.00×",
        "bound 5.00×",
        "✓ min_speedup",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::root().join("schemas/report-v1.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(report["runs"][1]["calls"][0]["id"], "call1");
    assert_eq!(report["runs"][1]["tools"]["api"]["count"], 20);
    assert_eq!(report["speedup"], 5.0);
    // Nothing waits for the executor in virtual time: no lag to report.
    assert!(report["runs"][1].get("completion_lag").is_none() && report["runs"][1].get("start_lag").is_none());
    // The library reads back what it wrote.
    parabench::report::json::read(&std::fs::read_to_string(&json).unwrap()).unwrap();
}

#[test]
fn a_real_run_reports_the_executors_completion_lag_apart_from_service_times() {
    let dir = temp_dir("cli-run-lag");
    let scenario = write(
        &dir,
        "lag.toml",
        r#"
name = "lag"
seed = 1
[executor]
max_concurrency = 4
[tools.io]
latency = { dist = "constant", value = "5ms" }
[[generate]]
count = 8
id_prefix = "c"
tool = "io"
"#,
    );
    let json = dir.join("report.json");
    let out = parabench(&[
        "run",
        scenario.to_str().unwrap(),
        "--clock",
        "real",
        "--json",
        json.to_str().unwrap(),
    ]);
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Executor lag (admitted → begun, done → handled"),
        "{stdout}"
    );
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    common::assert_matches_schema("report-v1.schema.json", &report);
    for run in report["runs"].as_array().unwrap() {
        // Every call began, and every call waited 5 ms on the clock: each was timed.
        for lag in [&run["start_lag"], &run["completion_lag"]] {
            assert_eq!(lag["attempts"], 8, "{run:#}");
            let (p50, p99, max) = (
                lag["p50_s"].as_f64().unwrap(),
                lag["p99_s"].as_f64().unwrap(),
                lag["max_s"].as_f64().unwrap(),
            );
            assert!(0.0 <= p50 && p50 <= p99 && p99 <= max, "{lag}");
        }
        // A call's end is its timer's wake-up: never before its 5 ms, and the lag after
        // it is not in it, so the run's wall covers every end plus the last lag.
        for call in run["calls"].as_array().unwrap() {
            let service = call["end_s"].as_f64().unwrap() - call["start_s"].as_f64().unwrap();
            assert!(service >= 0.005, "{call}");
            assert!(call["end_s"].as_f64().unwrap() <= run["wall_s"].as_f64().unwrap());
        }
    }
}

#[test]
fn json_to_stdout_keeps_stdout_pure() {
    let out = parabench(&["run", "--clock", "virtual", "--json", "-"]);
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is JSON alone");
    assert_eq!(report["scenario"], "independent_io");
    assert!(stderr.contains("speedup"), "the table goes to stderr");
}

#[test]
fn a_failed_expectation_exits_2() {
    let dir = temp_dir("cli-run-expect");
    let path = write(
        &dir,
        "greedy.toml",
        r#"
name = "greedy"
[tools.api]
latency = { dist = "constant", value = "10ms" }
[[generate]]
tool = "api"
count = 4
[expect]
min_speedup = 100.0
"#,
    );
    let (code, stdout, stderr) = text(&parabench(&["run", "--clock", "virtual", path.to_str().unwrap()]));
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stdout.contains("✗ min_speedup"));
    assert!(stderr.contains("check failed: min_speedup"));
}

#[test]
fn check_fails_when_an_expectation_could_not_be_measured() {
    let args = ["run", "--clock", "virtual", "--mode", "parallel"];
    assert_eq!(
        text(&parabench(&args)).0,
        0,
        "without --check an unmeasured speedup is only reported"
    );
    let (code, _, stderr) = text(&parabench(&[&args[..], &["--check"]].concat()));
    assert_eq!(code, 2);
    assert!(stderr.contains("min_speedup: not measured"), "{stderr}");
}

#[test]
fn overrides_apply() {
    let (code, stdout, stderr) = text(&parabench(&[
        "run",
        "--clock",
        "virtual",
        "--max-concurrency",
        "10",
        "--seed",
        "7",
    ]));
    // 20 calls at 10 in flight: a speedup of 10, above the scenario's own floor.
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("parallel ×10") && stdout.contains("speedup 10.00×") && stdout.contains("seed 7"));
}

#[test]
fn input_errors_exit_1_before_running() {
    let (code, stdout, stderr) = text(&parabench(&["run", "no/such/scenario.toml"]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no/such/scenario.toml") && stdout.is_empty(),
        "{stderr}"
    );

    let (code, _, stderr) = text(&parabench(&["run", "--mode", "sideways"]));
    assert_eq!(code, 1, "usage errors are input errors: {stderr}");

    let (code, stdout, stderr) = text(&parabench(&[
        "run",
        "--clock",
        "virtual",
        "--json",
        "/no/such/dir/r.json",
    ]));
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "nothing ran: {stdout}");
    assert!(stderr.contains("/no/such/dir/r.json"), "{stderr}");

    let (code, _, _) = text(&parabench(&["run", "--max-concurrency", "0"]));
    assert_eq!(code, 1);
}

#[test]
fn help_exits_0() {
    let (code, stdout, _) = text(&parabench(&["run", "--help"]));
    assert_eq!(code, 0);
    assert!(stdout.contains("--max-concurrency"));
}

#[test]
fn list_shows_every_scenario() {
    let (code, stdout, stderr) = text(&parabench(&["list"]));
    assert_eq!(code, 0, "{stderr}");
    for file in common::scenario_files() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(stdout.contains(&name), "{name} missing from\n{stdout}");
    }
}

#[test]
fn repeat_keeps_every_repetition_and_summarises_each_figure() {
    let dir = temp_dir("cli-run-repeat");
    let json = dir.join("report.json");
    let (code, stdout, stderr) = text(&parabench(&[
        "run",
        "--clock",
        "virtual",
        "--repeat",
        "3",
        "--json",
        json.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("3 repetitions (same seed)"), "{stdout}");
    let report = common::read_json(&json);
    common::assert_matches_schema("report-v1.schema.json", &report);
    let reps = report["repetitions"].as_array().unwrap();
    assert_eq!(reps.len(), 3);
    for (i, rep) in reps.iter().enumerate() {
        assert_eq!(rep["index"], i + 1);
        assert_eq!(rep["seed"], 42);
        // Virtual time with one seed: every repetition is the same exact run.
        assert_eq!(rep["speedup"], 5.0);
        assert_eq!(rep["runs"][1]["wall_s"], 0.4);
        assert_eq!(rep["runs"][1]["calls"].as_array().unwrap().len(), 0);
    }
    // The top level stays a plain report: that of the first repetition, with its calls.
    assert_eq!(report["runs"][1]["wall_s"], reps[0]["runs"][1]["wall_s"]);
    assert_eq!(report["runs"][1]["calls"].as_array().unwrap().len(), 20);
    let summary = &report["summary"];
    assert_eq!(summary["repetitions"], 3);
    let speedup = &summary["figures"][0];
    assert_eq!(
        (&speedup["figure"], &speedup["mode"]),
        (&"speedup".into(), &serde_json::Value::Null)
    );
    for field in ["median", "min", "max", "ci_low", "ci_high"] {
        assert_eq!(speedup[field], 5.0, "{field}");
    }
    let back = parabench::report::json::read(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(back.repetitions.len(), 3);
}

#[test]
fn vary_seed_records_a_seed_per_repetition_that_replays() {
    let args = [
        "run",
        "scenarios/agent_mix.toml",
        "--clock",
        "virtual",
        "--repeat",
        "3",
        "--vary-seed",
        "--json",
        "-",
    ];
    let (code, first, stderr) = text(&parabench(&args));
    assert_eq!(code, 0, "{stderr}");
    let (_, second, _) = text(&parabench(&args));
    assert_eq!(first, second, "the series replays from the base seed");
    let report: serde_json::Value = serde_json::from_str(&first).unwrap();
    common::assert_matches_schema("report-v1.schema.json", &report);
    assert_eq!(report["summary"]["vary_seed"], true);
    let seeds: Vec<u64> = report["repetitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seed"].as_u64().unwrap())
        .collect();
    assert_eq!(seeds[0], 42, "the first repetition keeps the base seed");
    assert!(
        seeds[1] != seeds[0] && seeds[2] != seeds[1] && seeds[2] != seeds[0],
        "{seeds:?}"
    );
    // A recorded seed replays its repetition as a plain run.
    let replay = parabench(&[
        "run",
        "scenarios/agent_mix.toml",
        "--clock",
        "virtual",
        "--seed",
        &seeds[2].to_string(),
        "--json",
        "-",
    ]);
    let replay: serde_json::Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(
        replay["runs"][1]["wall_s"],
        report["repetitions"][2]["runs"][1]["wall_s"]
    );
    assert_ne!(
        report["repetitions"][2]["runs"][1]["wall_s"],
        report["runs"][1]["wall_s"]
    );
}

#[test]
fn zero_repetitions_are_a_usage_error() {
    let (code, stdout, stderr) = text(&parabench(&["run", "--clock", "virtual", "--repeat", "0"]));
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("--repeat"), "{stderr}");
}

#[test]
fn a_comparison_cut_by_its_deadline_compares_completed_calls_not_walls() {
    let dir = temp_dir("cli-run-deadline");
    let scenario = write(
        &dir,
        "deadline.toml",
        &std::fs::read_to_string(common::root().join("scenarios/deadline.toml"))
            .unwrap()
            .replace("[expect]", "[expect]\nmin_speedup = 1.0\nmin_efficiency = 0.5"),
    );
    let json = dir.join("report.json");
    let out = parabench(&[
        "run",
        scenario.to_str().unwrap(),
        "--clock",
        "virtual",
        "--check",
        "--json",
        json.to_str().unwrap(),
    ]);
    let (code, stdout, stderr) = text(&out);
    // Unmeasured expectations fail `--check`.
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(!stdout.contains("speedup 1.00×"), "{stdout}");
    assert!(
        stdout.contains("completed within the deadline: sequential 2 of 24 calls (2 ok), parallel 8 of 24 calls (8 ok): 4.00× as many"),
        "{stdout}"
    );
    let report = common::read_json(&json);
    common::assert_matches_schema("report-v1.schema.json", &report);
    for figure in ["speedup", "speedup_bound", "efficiency", "bound"] {
        assert!(report[figure].is_null(), "{figure}: {}", report[figure]);
    }
    let within = &report["within_deadline"];
    assert_eq!(within["deadline_s"], 2.5);
    assert_eq!(within["runs"][0]["completed"], 2);
    assert_eq!(within["runs"][1]["completed"], 8);
    assert_eq!(within["ratio"], 4.0);
    let expectations = report["expectations"].as_array().unwrap();
    let verdict = |name: &str| expectations.iter().find(|e| e["name"] == name).unwrap().clone();
    for name in ["min_speedup", "min_efficiency"] {
        assert!(verdict(name)["ok"].is_null(), "{name}");
        assert!(verdict(name)["detail"].as_str().unwrap().contains("deadline"), "{name}");
    }
    // What does not compare the two runs is still checked.
    assert_eq!(verdict("min_success_rate")["ok"], true);
}

#[test]
fn a_batch_run_is_labelled_and_bounded_by_its_batch_size() {
    // 12 calls of 100 ms, 4 allowed in flight, but batches of 3: 400 ms, a bound of 3×
    // that the batches set, not max_concurrency.
    let dir = temp_dir("cli-run-batch");
    let scenario = write(
        &dir,
        "batch.toml",
        "name = \"batches\"\n[executor]\nmax_concurrency = 4\nmode = \"batch\"\nbatch_size = 3\n\
         [tools.api]\nlatency = { dist = \"constant\", value = \"100ms\" }\n\
         [[generate]]\ntool = \"api\"\ncount = 12\n",
    );
    let json = dir.join("r.json");
    let (code, stdout, stderr) = text(&parabench(&[
        "run",
        scenario.to_str().unwrap(),
        "--clock",
        "virtual",
        "--json",
        json.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(" batch ×3 ") && stdout.contains("400.0ms"), "{stdout}");
    assert!(stdout.contains("bound 3.00× (set by batch_size)"), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    common::assert_matches_schema("report-v1.schema.json", &report);
    assert_eq!(
        (&report["runs"][1]["batch_size"], &report["runs"][1]["max_concurrency"]),
        (&serde_json::json!(3), &serde_json::json!(4))
    );
    assert_eq!(report["bound"]["binding"], "batch_size");
}

#[test]
fn a_zero_count_names_its_flag_and_what_it_takes() {
    for (flag, value) in [
        ("--repeat", "0"),
        ("--max-concurrency", "0"),
        ("--max-concurrency", "many"),
    ] {
        let (code, _, stderr) = text(&parabench(&["run", "--clock", "virtual", flag, value]));
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains(flag), "{stderr}");
        assert!(stderr.contains("at least 1"), "{stderr}");
        assert!(!stderr.contains("non-zero type"), "{stderr}");
    }
}

#[test]
fn outside_the_repository_the_shipped_scenarios_are_listed_and_run_by_name() {
    // A directory with no scenarios/ in it, as a new user's home is.
    let dir = temp_dir("cli-run-elsewhere");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_parabench"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        text(&out)
    };
    let (code, stdout, stderr) = run(&["list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("built into parabench"), "{stdout}");
    for name in ["agent_mix", "open_loop", "independent_io"] {
        assert!(stdout.contains(name), "{name} in {stdout}");
    }
    let (code, stdout, stderr) = run(&["run", "agent_mix", "--clock", "virtual"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("agent_mix · seed 42 · virtual clock"), "{stdout}");
    let (code, _, stderr) = run(&["validate", "cpu_bound.toml"]);
    assert_eq!(code, 0, "{stderr}");
    // A name that is no shipped scenario says which are.
    let (code, _, stderr) = run(&["run", "agent_mixx"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("the name of a shipped one: agent_mix,"), "{stderr}");
    // A scenarios/ directory of one's own is what `list` shows.
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    std::fs::copy(
        common::root().join("scenarios/cpu_bound.toml"),
        dir.join("scenarios/mine.toml"),
    )
    .unwrap();
    let (code, stdout, _) = run(&["list"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("mine.toml") && !stdout.contains("agent_mix"),
        "{stdout}"
    );
}

#[test]
fn the_terminal_says_what_failed_and_what_the_executor_did_about_it() {
    let (code, stdout, stderr) = text(&parabench(&[
        "run",
        "scenarios/partial_failure.toml",
        "--clock",
        "virtual",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let faults = "14 retries · 3 attempts timed out · 1 call failed · 1 skipped (a dependency failed)";
    for mode in ["sequential", "parallel"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(mode) && l.ends_with(faults)),
            "{mode}: {stdout}"
        );
    }
    // A run where nothing failed says nothing of faults.
    let (_, clean, _) = text(&parabench(&["run", "--clock", "virtual"]));
    assert!(!clean.contains("Faults"), "{clean}");
}
