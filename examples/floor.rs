//! parabench end to end against the floor: a bare `futures::stream::buffered` program over
//! the same zero-latency calls, process against process.
//!
//!     cargo build --release && cargo run --release --example floor -- [CALLS] [LIMIT] [ROUNDS]
//!
//! Defaults: 1,000,000 calls, limit 64, 5 rounds. Each round runs, one after the other,
//!
//! - `parabench run FILE --mode parallel --no-calls --clock real` on a scenario of one
//!   `[[generate]]` block of CALLS zero-latency calls at `max_concurrency = LIMIT`;
//! - this program with `--bare`: CALLS calls that return at once, through
//!   `buffered(LIMIT)` on a two-worker tokio runtime, collected in input order (the
//!   `futures_buffered` baseline of `benches/executor.rs`, as a process of its own);
//! - this program with `--timed`: the same, but each call also reads the clock when it
//!   starts and when it ends, and keeps both (`futures_buffered_timed`): the floor for
//!   anything that reports how long each call took.
//!
//! It prints each one's wall time (spawn to exit; the median over the rounds) and peak
//! resident memory (the child's `ru_maxrss` from wait4(2)), their ratio, and the time
//! `parabench::scenario::parse` takes to parse, expand and plan the scenario (the best of
//! the rounds, in a child of its own). Needs the release binary next to this example
//! (`target/release/parabench`) and Linux.

use std::hint::black_box;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/common/peak.rs"]
mod peak;

use futures::StreamExt;
use parabench::executor::ToolError;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some(mode @ ("--bare" | "--timed")) => {
            return bare(
                number(args.get(1), 1_000_000),
                number(args.get(2), 64),
                mode == "--timed",
            );
        }
        Some("--parse") => return parse(Path::new(args.get(1).map_or("", String::as_str))),
        _ => {}
    }
    let calls = number(args.first(), 1_000_000);
    let limit = number(args.get(1), 64);
    let rounds = number(args.get(2), 5).max(1);
    match compare(calls, limit, rounds) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floor: {e}");
            ExitCode::from(1)
        }
    }
}

fn number(arg: Option<&String>, default: usize) -> usize {
    arg.and_then(|a| a.replace('_', "").parse().ok()).unwrap_or(default)
}

async fn noop_call(i: usize) -> Result<(), ToolError> {
    black_box(i);
    Ok(())
}

/// The call of the timed floor: [`noop_call`] with when it started and ended.
async fn timed_call(origin: Instant, i: usize) -> (Duration, Duration, Result<(), ToolError>) {
    let start = origin.elapsed();
    let result = noop_call(i).await;
    (start, origin.elapsed(), result)
}

/// The floor: what polling one ready future per call costs, with its result kept; with
/// `timed`, also each call's start and end, read on the clock as a harness must read it.
fn bare(calls: usize, limit: usize, timed: bool) -> ExitCode {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let stream = futures::stream::iter(0..calls);
    let ok = if timed {
        let origin = Instant::now();
        let results: Vec<(Duration, Duration, Result<(), ToolError>)> =
            rt.block_on(stream.map(|i| timed_call(origin, i)).buffered(limit).collect());
        results.iter().filter(|r| r.2.is_ok() && r.1 >= r.0).count()
    } else {
        let results: Vec<Result<(), ToolError>> = rt.block_on(stream.map(noop_call).buffered(limit).collect());
        results.iter().filter(|r| r.is_ok()).count()
    };
    println!("{ok} of {calls} calls ok");
    if ok == calls {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Parses, expands and plans the scenario at `path`, and prints how long that took in
/// nanoseconds.
fn parse(path: &Path) -> ExitCode {
    let text = std::fs::read_to_string(path).expect("the scenario written by the driver");
    let started = Instant::now();
    let scenario = parabench::scenario::parse(&text, path);
    let took = started.elapsed();
    match scenario {
        Ok(s) => {
            println!("{} {}", took.as_nanos(), s.plan.calls().len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

fn compare(calls: usize, limit: usize, rounds: usize) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let parabench = me
        .parent()
        .and_then(Path::parent)
        .map(|release| release.join("parabench"))
        .filter(|p| p.exists())
        .ok_or("no target/release/parabench next to this example: run `cargo build --release` first")?;
    let scenario = std::env::temp_dir().join(format!("parabench-floor-{}.toml", std::process::id()));
    let text = format!(
        "name = \"floor\"\nseed = 1\n[executor]\nmax_concurrency = {limit}\n\
         [tools.noop]\nlatency = {{ dist = \"constant\", value = \"0ms\" }}\n\
         [[generate]]\ntool = \"noop\"\ncount = {calls}\n"
    );
    std::fs::write(&scenario, &text).map_err(|e| e.to_string())?;

    let mut parse = Duration::MAX;
    let mut ours = Vec::new();
    let mut floor = Vec::new();
    let mut timed = Vec::new();
    for _ in 0..rounds {
        // In a child of its own, as everything measured here: a child's peak resident set
        // starts from its parent's (Linux keeps the larger across exec), so this process
        // must stay small.
        let out = Command::new(&me)
            .args(["--parse", path(&scenario)?])
            .output()
            .map_err(|e| e.to_string())?;
        let out = String::from_utf8_lossy(&out.stdout);
        let mut fields = out.split_whitespace().map(|f| f.parse::<u64>());
        let (Some(Ok(ns)), Some(Ok(n))) = (fields.next(), fields.next()) else {
            return Err(format!("parsing the scenario failed: {out}"));
        };
        if n != calls as u64 {
            return Err(format!("the scenario has {n} calls, not {calls}"));
        }
        parse = parse.min(Duration::from_nanos(ns));
        let run = [
            "run",
            path(&scenario)?,
            "--mode",
            "parallel",
            "--no-calls",
            "--clock",
            "real",
        ];
        ours.push(measure(Command::new(&parabench).args(run))?);
        let (n, l) = (calls.to_string(), limit.to_string());
        floor.push(measure(Command::new(&me).args(["--bare", &n, &l]))?);
        timed.push(measure(Command::new(&me).args(["--timed", &n, &l]))?);
    }
    let _ = std::fs::remove_file(&scenario);

    let median = |runs: &mut Vec<(Duration, u64)>| {
        runs.sort();
        runs[runs.len() / 2].0
    };
    let peak = |runs: &[(Duration, u64)]| runs.iter().map(|r| r.1).max().unwrap_or(0);
    let (ours_wall, floor_wall, timed_wall) = (median(&mut ours), median(&mut floor), median(&mut timed));
    println!("{calls} zero-latency calls at limit {limit}, {rounds} rounds, process against process");
    println!("{:<34} {:>10} {:>10}", "", "wall", "peak RSS");
    let row = |name: &str, wall: Duration, rss: u64| {
        println!("{name:<34} {:>8.3} s {:>7.1} MB", wall.as_secs_f64(), rss as f64 / 1e6);
    };
    row("parabench run (median)", ours_wall, peak(&ours));
    row("bare buffered program (median)", floor_wall, peak(&floor));
    row("timed buffered program (median)", timed_wall, peak(&timed));
    let ratio = |floor: Duration| ours_wall.as_secs_f64() / floor.as_secs_f64();
    println!(
        "ratio {:.2}x to bare, {:.2}x to timed; parse, expand and plan (best): {:.1} ms",
        ratio(floor_wall),
        ratio(timed_wall),
        parse.as_secs_f64() * 1e3
    );
    Ok(())
}

fn path(p: &Path) -> Result<&str, String> {
    p.to_str().ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

/// Runs the command to its end: wall time from spawn to exit, and its peak resident set.
fn measure(command: &mut Command) -> Result<(Duration, u64), String> {
    let measured = peak::run(command.stderr(Stdio::inherit())).map_err(|e| e.to_string())?;
    if measured.code != Some(0) {
        return Err(format!("{command:?} failed (exit {:?})", measured.code));
    }
    Ok((measured.wall, measured.peak_bytes))
}
