//! The speedup summary that `cargo bench --bench speedup` writes: one row per scenario
//! file, the analytic figures of the scenarios that have them, and the committed JSON
//! Schema.

mod common;

use parabench::bench::summary::{BenchTimes, SpeedupSummary, SummaryRow};
use parabench::clock::ClockKind;
use parabench::harness::{self, RunRequest};

/// The summary the bench writes, without criterion's timings: every scenario found in
/// `scenarios/`, run in virtual time.
fn summary_of_every_scenario() -> SpeedupSummary {
    let files = common::simulated_scenario_files();
    let rows = files
        .iter()
        .map(|path| {
            let scenario = parabench::scenario::load(path).unwrap();
            let request = RunRequest {
                clock: ClockKind::Virtual,
                ..RunRequest::default()
            };
            let report = harness::run(&scenario, &request).unwrap();
            let file = path.strip_prefix(common::root()).unwrap().display().to_string();
            SummaryRow::from_report(&report, &file, None).unwrap()
        })
        .collect();
    SpeedupSummary::new("virtual", rows)
}

fn validator() -> jsonschema::Validator {
    let path = common::root().join("schemas/speedup-summary-v1.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn errors(validator: &jsonschema::Validator, value: &serde_json::Value) -> Vec<String> {
    validator.iter_errors(value).map(|e| e.to_string()).collect()
}

#[test]
fn every_scenario_gets_a_row_that_matches_the_schema() {
    let mut summary = summary_of_every_scenario();
    assert_eq!(summary.rows.len(), common::simulated_scenario_files().len());
    // A row as criterion fills it in, so both shapes of `bench` are checked.
    summary.rows[0].bench = Some(BenchTimes {
        sequential_s: 7e-4,
        parallel_s: 1.4e-4,
    });
    let json: serde_json::Value = serde_json::from_str(&summary.to_json()).unwrap();
    let validator = validator();
    let found = errors(&validator, &json);
    assert!(found.is_empty(), "{found:#?}");

    // The shipped scenarios meet their own expectations and stay within their bound.
    for row in &summary.rows {
        assert_eq!(
            row.expect_held,
            Some(true),
            "{}: {:?}",
            row.scenario,
            row.failed_expectations
        );
        match (row.speedup, row.speedup_bound) {
            (Some(speedup), Some(bound)) => assert!(speedup <= bound * (1.0 + 1e-9), "{}", row.scenario),
            // Only a run cut by its deadline has no speedup.
            _ => assert_eq!(row.scenario, "deadline"),
        }
    }
    assert!(summary.row("deadline").unwrap().speedup.is_none());
    // Ground truth: 20 independent 100 ms calls at 5 in flight; a chain cannot overlap.
    let io = summary.row("independent_io").unwrap();
    assert_eq!((io.sequential_s, io.parallel_s, io.speedup), (2.0, 0.4, Some(5.0)));
    assert_eq!(io.file, "scenarios/independent_io.toml");
    let chain = summary.row("dependent_chain").unwrap();
    assert!((chain.speedup.unwrap() - 1.0).abs() < 1e-9, "{:?}", chain.speedup);
    assert_eq!(chain.binding.as_deref(), Some("critical_path"));
}

#[test]
fn the_schema_rejects_what_the_contract_forbids() {
    let summary = summary_of_every_scenario();
    let json: serde_json::Value = serde_json::from_str(&summary.to_json()).unwrap();
    let validator = validator();
    let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut value = json.clone();
        edit(&mut value);
        errors(&validator, &value)
    };
    assert!(!broken(&|v| v["schema_version"] = 2.into()).is_empty());
    assert!(
        !broken(&|v| v["rows"][0]
            .as_object_mut()
            .unwrap()
            .remove("speedup")
            .map(drop)
            .unwrap())
        .is_empty()
    );
    assert!(!broken(&|v| v["rows"][0]["parallel_mode"] = "sequential".into()).is_empty());
    assert!(!broken(&|v| v["rows"][0]["bench"] = serde_json::json!({"sequential_s": 1.0})).is_empty());
    assert!(!broken(&|v| v["clock"] = "sundial".into()).is_empty());
}
