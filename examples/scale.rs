//! A million calls in virtual time: how long parabench takes to plan, run and report them,
//! and its peak memory.
//!
//! The plan is `parabench::workload::fan_out_in`: 1000 groups of a search, the fetches
//! that need it and a summary that needs every fetch of its group, at
//! `max_concurrency = 1000`. Every call takes 1 ms of simulated time (or, with
//! `--jitter`, between 0.5 and 1.5 ms, so nearly every call ends at its own instant).
//!
//!     cargo run --release --example scale -- 1000000 [--jitter]
//!
//! Prints the time of each phase (plan, run, per-call report) and the peak resident set
//! after it (VmHWM, Linux). Exits 1 if
//! the run is not the one expected (a call not ok, or a makespan off its analytic value).

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use parabench::clock::{Clock, virtual_runtime};
use parabench::executor::RunMode;
use parabench::executor::{CallStatus, Executor, ExecutorConfig};
use parabench::report::RunReport;
use parabench::sim::{Latency, SimTool, ToolModel};
use parabench::workload;

const GROUPS: usize = 1000;
const LATENCY: Duration = Duration::from_millis(1);

fn main() -> ExitCode {
    let mut calls = 1_000_000;
    let mut jitter = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--jitter" => jitter = true,
            n => match n.replace('_', "").parse::<usize>() {
                Ok(n) if n >= 2 * GROUPS => calls = n,
                _ => {
                    eprintln!("usage: scale [CALLS (at least {})] [--jitter]", 2 * GROUPS);
                    return ExitCode::from(1);
                }
            },
        }
    }
    let fan = calls / GROUPS - 2;
    let started = Instant::now();
    let mut phases = Vec::new();
    let mut mark = |name: &'static str| phases.push((name, started.elapsed(), peak_rss_bytes()));

    let plan = workload::fan_out_in(GROUPS, fan);
    mark("plan");

    let latency = if jitter {
        Latency::Uniform {
            min: LATENCY / 2,
            max: LATENCY * 3 / 2,
        }
    } else {
        Latency::constant(LATENCY)
    };
    let model = ToolModel {
        limit_policy: parabench::sim::LimitPolicy::Wait,
        latency,
        ..ToolModel::constant(LATENCY)
    };
    let clock = Clock::simulated();
    let sim = SimTool::new(&plan, vec![model; 3], 42, clock.clone(), NonZeroUsize::MIN).expect("one model per tool");
    let rt = virtual_runtime().expect("a tokio runtime");
    let run = rt.block_on(Executor::new(ExecutorConfig::with_max_concurrency(GROUPS)).run(&plan, &sim, &clock));
    mark("run");

    let report = RunReport::new(&plan, RunMode::Parallel, &run);
    mark("report");

    println!(
        "{} calls: {GROUPS} groups of a root, {fan} dependents and a join; max_concurrency {GROUPS}; {}",
        plan.calls().len(),
        if jitter { "0.5-1.5 ms per call" } else { "1 ms per call" }
    );
    println!("{:<8} {:>9} {:>9} {:>14}", "phase", "time", "total", "peak RSS");
    let mut previous = Duration::ZERO;
    for &(name, at, peak) in &phases {
        let peak = peak.map_or_else(|| "n/a".to_string(), |b| format!("{:.0} MB", b as f64 / 1e6));
        println!(
            "{name:<8} {:>7.3} s {:>7.3} s {peak:>14}",
            (at - previous).as_secs_f64(),
            at.as_secs_f64()
        );
        previous = at;
    }
    println!("simulated wall {:?}", run.wall);
    // The targets of issue 5, for the plan and the run.
    let (_, ran_at, ran_peak) = phases[1];
    let within = ran_at < Duration::from_secs(5) && ran_peak.is_none_or(|b| b < 500_000_000);
    println!(
        "plan + run: {:.3} s, peak {} (targets: under 5 s and 500 MB: {})",
        ran_at.as_secs_f64(),
        ran_peak.map_or_else(|| "n/a".to_string(), |b| format!("{:.0} MB", b as f64 / 1e6)),
        if within { "met" } else { "missed" }
    );
    println!("(report: the per-call RunReport that `parabench run` builds for its JSON)");

    let ok = run.count(CallStatus::Ok);
    if ok != plan.calls().len() || report.call_count() != ok {
        eprintln!("error: {ok} of {} calls ok", plan.calls().len());
        return ExitCode::from(1);
    }
    // Jittered latencies change the schedule; only the constant case has an exact makespan.
    let expected = LATENCY * (fan as u32 + 2);
    if !jitter && run.wall != expected {
        eprintln!("error: simulated wall {:?}, expected {expected:?}", run.wall);
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// The peak resident set of this process (VmHWM), where the kernel reports it.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
