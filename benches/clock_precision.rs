//! How far a simulated I/O latency lands from the one configured, on the real clock, and
//! what waiting costs in CPU.
//!
//! A simulated I/O call is a sleep, so its error is the error of every latency parabench
//! reports. Tokio's timer rounds up to its next millisecond tick, so a plain
//! `tokio::time::sleep` is shown beside `Clock::real()` for comparison. Some sleeps run one
//! after another, others with 50 sleepers at once on a 2-worker runtime, as a parallel run
//! would; during the concurrent phase the process's CPU time over wall time shows that
//! waiting does not spin a core per waiting call.
//!
//! Plain `main` (no criterion): the question is a distribution of errors, not a mean time.

use std::fs;
use std::time::{Duration, Instant};

use parabench::clock::Clock;
use tokio::runtime::Runtime;

/// Sleepers at once in the concurrent phase.
const SLEEPERS: usize = 50;

/// Process CPU time so far, two ways.
#[derive(Clone, Copy)]
struct Cpu {
    /// utime + stime from /proc/self/stat, in 10 ms ticks (CLK_TCK = 100): process-wide,
    /// coarse.
    ticks: u64,
    /// Sum of the on-CPU nanoseconds in every thread's /proc/self/task/*/schedstat: precise,
    /// but misses threads that exited (none do here).
    nanos: u64,
}

impl Cpu {
    fn now() -> Self {
        let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the parenthesised command name, which may contain spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after ")".
        let ticks = field(11) + field(12);
        let nanos = fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|task| fs::read_to_string(task.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        Self { ticks, nanos }
    }
}

/// The sleep under test.
#[derive(Clone)]
enum Sleeper {
    Parabench(Clock),
    Tokio,
}

impl Sleeper {
    fn name(&self) -> &'static str {
        match self {
            Sleeper::Parabench(_) => "Clock::real",
            Sleeper::Tokio => "tokio::time",
        }
    }

    async fn sleep(&self, d: Duration) {
        match self {
            Sleeper::Parabench(clock) => clock.sleep(d).await,
            Sleeper::Tokio => tokio::time::sleep(d).await,
        }
    }

    /// `n` sleeps of `d` one after another; measured − configured for each, in ns.
    async fn errors(self, d: Duration, n: usize) -> Vec<i64> {
        let mut errors = Vec::with_capacity(n);
        for _ in 0..n {
            let start = Instant::now();
            self.sleep(d).await;
            errors.push(start.elapsed().as_nanos() as i64 - d.as_nanos() as i64);
        }
        errors
    }
}

struct Row {
    latency: Duration,
    clock: &'static str,
    mode: &'static str,
    errors: Vec<i64>,
    /// CPU time / wall time, for the concurrent phase: (from schedstat, from stat ticks).
    cpu_share: Option<(f64, f64)>,
}

fn sequential(rt: &Runtime, sleeper: Sleeper, d: Duration, n: usize) -> Vec<i64> {
    // On a worker, like the executor's calls, not on the thread in `block_on`.
    rt.block_on(rt.spawn(sleeper.errors(d, n)))
        .expect("the sleeper does not panic")
}

/// [`SLEEPERS`] tasks, each sleeping `rounds` times in a row.
fn concurrent(rt: &Runtime, sleeper: Sleeper, d: Duration, rounds: usize) -> (Vec<i64>, (f64, f64)) {
    let (cpu0, wall0) = (Cpu::now(), Instant::now());
    let errors = rt.block_on(async {
        let tasks: Vec<_> = (0..SLEEPERS)
            .map(|_| tokio::spawn(sleeper.clone().errors(d, rounds)))
            .collect();
        let mut errors = Vec::with_capacity(SLEEPERS * rounds);
        for task in tasks {
            errors.extend(task.await.expect("the sleeper does not panic"));
        }
        errors
    });
    let (cpu1, wall) = (Cpu::now(), wall0.elapsed().as_secs_f64());
    let share = (
        (cpu1.nanos - cpu0.nanos) as f64 / 1e9 / wall,
        (cpu1.ticks - cpu0.ticks) as f64 / 100.0 / wall,
    );
    (errors, share)
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// This bench's name, as criterion's `--list` and name filter see it.
const NAME: &str = "clock_precision";

/// Criterion's options that take a value (`--opt value`), so the filter is not mistaken
/// for one of their values.
const VALUED: [&str; 19] = [
    "-c",
    "--color",
    "-s",
    "--save-baseline",
    "-b",
    "--baseline",
    "--baseline-lenient",
    "--format",
    "--profile-time",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
];

/// What `cargo bench [-- ARGS]` asks of this plain-main bench, read the way criterion
/// reads it, so that `cargo bench -- independent_io` or `cargo bench -- --list` treat it
/// like the criterion benches instead of always running it (~15 s).
#[derive(Debug, PartialEq)]
enum Request {
    Run,
    List,
    Skip,
    /// `--test` (as `cargo test --benches` passes): check this parsing, skip the ~15 s run.
    Test,
}

fn request(args: impl IntoIterator<Item = String>) -> Request {
    let mut args = args.into_iter();
    let (mut list, mut test, mut filter) = (false, false, None);
    while let Some(arg) = args.next() {
        if VALUED.contains(&arg.as_str()) {
            args.next();
        } else if arg == "--list" {
            list = true;
        } else if arg == "--test" {
            test = true;
        } else if !arg.starts_with('-') && filter.is_none() {
            filter = Some(arg);
        }
    }
    match (list, test, filter.is_none_or(|f| NAME.contains(f.as_str()))) {
        (_, _, false) => Request::Skip,
        (true, _, true) => Request::List,
        (false, true, true) => Request::Test,
        (false, false, true) => Request::Run,
    }
}

/// The cases `--test` checks.
fn check_request() {
    let of = |args: &[&str]| request(args.iter().map(ToString::to_string));
    assert_eq!(of(&["--bench"]), Request::Run);
    assert_eq!(
        of(&["--bench", "--save-baseline", "main"]),
        Request::Run,
        "a value is not a filter"
    );
    assert_eq!(of(&["--bench", "--baseline", "main", "clock"]), Request::Run);
    assert_eq!(of(&["--bench", "independent_io"]), Request::Skip);
    assert_eq!(of(&["--bench", "--list"]), Request::List);
    assert_eq!(of(&["--bench", "--list", "dag"]), Request::Skip);
    assert_eq!(of(&["--test"]), Request::Test);
    println!("{NAME}: command line ok");
}

fn main() {
    match request(std::env::args().skip(1)) {
        Request::Run => {}
        Request::List => return println!("{NAME}: benchmark"),
        Request::Skip => return,
        Request::Test => return check_request(),
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the tokio runtime");
    let started = Instant::now();
    let mut rows = Vec::new();
    // Sequential samples, and rounds per concurrent sleeper: the concurrent phase lasts
    // long enough (~0.5 s) for the CPU share to mean something, and the whole run ~15 s.
    for (latency, samples, rounds) in [
        (Duration::from_millis(1), 1000, 400),
        (Duration::from_millis(50), 100, 10),
    ] {
        for sleeper in [Sleeper::Parabench(Clock::real()), Sleeper::Tokio] {
            // Untimed: the first wait starts parabench's timer thread.
            sequential(&rt, sleeper.clone(), latency, 3);
            rows.push(Row {
                latency,
                clock: sleeper.name(),
                mode: "sequential",
                errors: sequential(&rt, sleeper.clone(), latency, samples),
                cpu_share: None,
            });
            let (errors, share) = concurrent(&rt, sleeper.clone(), latency, rounds);
            rows.push(Row {
                latency,
                clock: sleeper.name(),
                mode: "50 at once",
                errors,
                cpu_share: Some(share),
            });
        }
    }

    println!("sleep error = measured - configured, in µs; CPU = process CPU time / wall time");
    println!(
        "{:>7}  {:<11}  {:<10}  {:>5}  {:>9}  {:>9}  {:>9}  {:>16}",
        "latency", "clock", "mode", "n", "median", "p99", "max", "CPU (sched/stat)"
    );
    for row in &mut rows {
        row.errors.sort_unstable();
        let us = |ns: i64| ns as f64 / 1000.0;
        let cpu = row
            .cpu_share
            .map_or_else(|| "-".to_string(), |(sched, stat)| format!("{sched:.2} / {stat:.2}"));
        println!(
            "{:>7}  {:<11}  {:<10}  {:>5}  {:>9.1}  {:>9.1}  {:>9.1}  {:>16}",
            format!("{:?}", row.latency),
            row.clock,
            row.mode,
            row.errors.len(),
            us(percentile(&row.errors, 0.5)),
            us(percentile(&row.errors, 0.99)),
            us(*row.errors.last().expect("samples were taken")),
            cpu,
        );
    }
    println!("total {:.1?}", started.elapsed());
}
