//! Speedup per scenario: for every `scenarios/*.toml` (found, not listed), a criterion
//! group times the sequential and the parallel run, then a speedup summary with one row
//! per scenario is written as Markdown and JSON.
//!
//!     cargo bench --bench speedup                       # every scenario, virtual clock
//!     cargo bench --bench speedup -- independent_io     # criterion's filter: one scenario
//!     PARABENCH_CLOCK=real cargo bench --bench speedup  # wall time (slow: real waits)
//!     PARABENCH_SCENARIOS=my/dir cargo bench --bench speedup   # your own scenarios
//!
//! The summary holds the scenarios the filter let through, and goes to
//! `target/parabench/speedup-report.{md,json}` (or `$PARABENCH_REPORT_DIR`). What is
//! timed is the whole work of `parabench run` for one mode: runtime, simulated tools,
//! executor and report. The speedup figures come from one untimed compare run.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, SamplingMode};
use parabench::bench::markdown::Markdown;
use parabench::bench::regression::criterion_mean;
use parabench::bench::summary::{BenchTimes, SpeedupSummary, SummaryRow};
use parabench::clock::ClockKind;
use parabench::executor::Schedule;
use parabench::harness::{self, Modes, RunRequest};
use parabench::report::Render;
use parabench::scenario::{self, Scenario};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<(), String> {
    let clock = clock_from_env()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap_or(root);
    let criterion_dir = std::env::var_os("CRITERION_HOME").map_or_else(|| target.join("criterion"), PathBuf::from);
    let report_dir = std::env::var_os("PARABENCH_REPORT_DIR").map_or_else(|| target.join("parabench"), PathBuf::from);
    let dir = std::env::var_os("PARABENCH_SCENARIOS").map_or_else(|| root.join("scenarios"), PathBuf::from);
    let files = scenario::discover(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let scenarios = files
        .iter()
        .map(|path| scenario::load(path).map_err(|e| e.to_string()))
        .collect::<Result<Vec<Scenario>, String>>()?;
    // Scenarios of real tools measure servers, not the executor: not benchmarked here.
    let (files, scenarios): (Vec<_>, Vec<_>) = files
        .into_iter()
        .zip(scenarios)
        .filter(|(_, s)| s.real.iter().all(Option::is_none))
        .unzip();

    let started = SystemTime::now();
    // Shorter than criterion's defaults (3 s, 5 s): twenty benchmarks take about 3 s of
    // measurement each, plus ~5 s for criterion's HTML plots (`--noplot` skips them).
    // The command line still overrides both times.
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let mut rows = Vec::new();
    for (path, scenario) in files.iter().zip(&scenarios) {
        let ran = Cell::new(false);
        let mut group = criterion.benchmark_group(&scenario.name);
        if clock == ClockKind::Real {
            // A real run lasts as long as it simulates: as few samples as criterion allows.
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        for (name, modes) in [
            ("sequential", Modes::Sequential),
            ("parallel", parallel_modes(scenario)),
        ] {
            let request = RunRequest {
                modes,
                clock,
                ..RunRequest::default()
            };
            group.bench_function(name, |b| {
                // Criterion calls this only for benchmarks its filter lets through.
                ran.set(true);
                b.iter(|| harness::run(scenario, &request).expect("the scenario's runtime starts"));
            });
        }
        group.finish();
        if !ran.get() {
            continue;
        }
        let request = RunRequest {
            clock,
            ..RunRequest::default()
        };
        let report = harness::run(scenario, &request).map_err(|e| format!("{}: {e}", path.display()))?;
        let mean = |mode: &str| criterion_mean(&criterion_dir, &format!("{}/{mode}", scenario.name), started);
        let bench = match (mean("sequential"), mean("parallel")) {
            (Some(s), Some(p)) => Some(BenchTimes {
                sequential_s: s.as_secs_f64(),
                parallel_s: p.as_secs_f64(),
            }),
            _ => None,
        };
        let file = path.strip_prefix(root).unwrap_or(path).display().to_string();
        rows.push(SummaryRow::from_report(&report, &file, bench).map_err(|e| e.to_string())?);
    }
    criterion.final_summary();

    if rows.is_empty() {
        println!("no scenario matched the filter: no speedup report written");
        return Ok(());
    }
    let summary = SpeedupSummary::new(clock.as_str(), rows);
    let mut markdown = Vec::new();
    Markdown
        .render(&summary, &mut markdown)
        .expect("writing to memory succeeds");
    std::fs::create_dir_all(&report_dir).map_err(|e| format!("cannot create {}: {e}", report_dir.display()))?;
    let md = report_dir.join("speedup-report.md");
    let json = report_dir.join("speedup-report.json");
    for (path, bytes) in [(&md, markdown), (&json, summary.to_json().into_bytes())] {
        std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    println!("\n{}", String::from_utf8_lossy(&std::fs::read(&md).unwrap_or_default()));
    println!("speedup report: {}", md.display());
    println!("speedup report: {}", json.display());
    Ok(())
}

/// `PARABENCH_CLOCK`: `virtual` (the default: fast and exact) or `real`.
fn clock_from_env() -> Result<ClockKind, String> {
    match std::env::var("PARABENCH_CLOCK").as_deref() {
        Err(_) | Ok("virtual") => Ok(ClockKind::Virtual),
        Ok("real") => Ok(ClockKind::Real),
        Ok(other) => Err(format!("PARABENCH_CLOCK must be `virtual` or `real`, got `{other}`")),
    }
}

/// The run compared with the sequential one: the scenario's own mode.
fn parallel_modes(scenario: &Scenario) -> Modes {
    match scenario.executor.schedule {
        Schedule::Batch { .. } => Modes::Batch,
        Schedule::Window => Modes::Parallel,
    }
}
