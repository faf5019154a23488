//! Every scenario in `scenarios/` validates, meets its own `[expect]` in virtual time,
//! stays within its speedup bound, and replays identically from its seed.

mod common;

use parabench::clock::ClockKind;
use parabench::executor::CallStatus;
use parabench::harness::{self, RunRequest};
use parabench::report::json::Json;
use parabench::report::model::AttemptOutcome;
use parabench::report::{Render, Report};

fn run_virtual(path: &std::path::Path) -> Report {
    let scenario = parabench::scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
    let request = RunRequest {
        clock: ClockKind::Virtual,
        ..RunRequest::default()
    };
    harness::run(&scenario, &request).unwrap()
}

#[test]
fn every_scenario_meets_its_expectations_in_virtual_time() {
    let files = common::simulated_scenario_files();
    assert!(files.len() >= 10, "the scenarios users meet are all there");
    for path in files {
        let report = run_virtual(&path);
        assert!(!report.expectations.is_empty(), "{}: no [expect]", path.display());
        for e in &report.expectations {
            assert_eq!(e.ok, Some(true), "{}: {} {}", path.display(), e.name, e.detail);
        }
        match (report.speedup, report.speedup_bound) {
            (Some(speedup), Some(bound)) => assert!(
                speedup <= bound * (1.0 + 1e-9),
                "{}: {speedup} > {bound}",
                path.display()
            ),
            // Only runs cut by a deadline have no speedup, and say what compares instead.
            _ => assert!(report.within_deadline.is_some(), "{}: no speedup", path.display()),
        }
        let description = parabench::scenario::load(&path).unwrap().description;
        assert!(!description.is_empty(), "{}: no description", path.display());
    }
}

#[test]
fn the_same_seed_gives_the_same_report() {
    for path in common::simulated_scenario_files() {
        let render = |r: &Report| {
            let mut out = Vec::new();
            Json.render(r, &mut out).unwrap();
            out
        };
        assert_eq!(
            render(&run_virtual(&path)),
            render(&run_virtual(&path)),
            "{}",
            path.display()
        );
    }
}

#[test]
fn sequential_and_parallel_runs_draw_the_same_samples() {
    // Paired sampling: with failures and retries in play, each call makes the same
    // attempts and ends the same way in both runs.
    let report = run_virtual(&common::root().join("scenarios/partial_failure.toml"));
    let [seq, par] = &report.runs[..] else {
        panic!("two runs")
    };
    for (a, b) in seq.calls.iter().zip(&par.calls) {
        assert_eq!((&a.id, a.status, a.attempts), (&b.id, b.status, b.attempts));
    }
    assert!(
        seq.calls.iter().any(|c| c.attempts > 1),
        "the scenario exercises retries"
    );
    // And everything the README says it shows: an attempt that timed out, a call that
    // failed all its attempts, and a dependent skipped because of it.
    let timed_out = seq
        .calls
        .iter()
        .flat_map(|c| &c.attempt_spans)
        .any(|a| a.outcome == AttemptOutcome::Timeout);
    assert!(timed_out, "an attempt times out");
    let failed: Vec<&str> = seq
        .calls
        .iter()
        .filter(|c| matches!(c.status, CallStatus::Error | CallStatus::Timeout))
        .map(|c| c.id.as_str())
        .collect();
    let skipped: Vec<(&str, Option<&str>)> = seq
        .calls
        .iter()
        .filter(|c| c.status == CallStatus::Skipped)
        .map(|c| (c.id.as_str(), c.cause.as_deref()))
        .collect();
    assert_eq!(
        (failed.as_slice(), skipped.as_slice()),
        (["s3"].as_slice(), [("digest_a", Some("s3"))].as_slice())
    );
}

#[test]
fn ten_thousand_calls_of_one_second_run_in_simulated_time() {
    let source = r#"
        name = "big"
        [executor]
        max_concurrency = 100
        [tools.api]
        latency = { dist = "constant", value = "1s" }
        [[generate]]
        tool = "api"
        count = 10000
    "#;
    let scenario = parabench::scenario::parse(source, std::path::Path::new("big.toml")).unwrap();
    let request = RunRequest {
        clock: ClockKind::Virtual,
        ..RunRequest::default()
    };
    let report = harness::run(&scenario, &request).unwrap();
    assert_eq!(report.runs[0].wall_s, 10_000.0);
    assert_eq!(report.runs[1].wall_s, 100.0);
    assert_eq!(report.speedup, Some(100.0));
}

#[test]
fn every_scenario_report_matches_the_committed_schema() {
    for path in common::simulated_scenario_files() {
        let report = serde_json::to_value(run_virtual(&path)).unwrap();
        common::assert_matches_schema("report-v1.schema.json", &report);
    }
}

#[test]
fn every_attempt_is_recorded_inside_its_call_and_the_gaps_are_backoffs() {
    for path in common::simulated_scenario_files() {
        for run in run_virtual(&path).runs {
            for call in &run.calls {
                let at = format!("{}: {} {}", path.display(), run.mode.as_str(), call.id);
                assert_eq!(call.attempt_spans.len() as u32, call.attempts, "{at}");
                let Some(start) = call.start_s else {
                    assert!(call.attempt_spans.is_empty(), "{at}");
                    continue;
                };
                let first = call.attempt_spans.first().expect("a started call made an attempt");
                assert_eq!(first.start_s, start, "{at}");
                let mut previous_end = start;
                for span in &call.attempt_spans {
                    assert!(
                        previous_end <= span.start_s && span.start_s <= span.end_s,
                        "{at}: {span:?}"
                    );
                    previous_end = span.end_s;
                }
                assert!(previous_end <= call.end_s, "{at}");
            }
        }
    }
    let report = run_virtual(&common::root().join("scenarios/partial_failure.toml"));
    let retried = report.runs[1]
        .calls
        .iter()
        .find(|c| c.attempts > 1)
        .expect("a retried call");
    let [first, second, ..] = &retried.attempt_spans[..] else {
        panic!("two attempts")
    };
    assert_ne!(first.outcome, AttemptOutcome::Ok, "only a failed attempt is retried");
    assert!(second.start_s > first.end_s, "a backoff separates the attempts");
}
