//! The `parabench` command line: clap types, one file per command, and the only code
//! that prints, exits or knows miette.

mod analyze;
mod bench_check;
mod compare;
mod diagnostic;
mod export;
mod interrupt;
mod list;
mod merge;
mod output;
mod report;
mod run;
mod serve;
mod tune;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use analyze::AnalyzeArgs;
pub use bench_check::BenchCheckArgs;
pub use compare::CompareArgs;
pub use report::ReportArgs;
pub use run::RunArgs;
pub use serve::ServeArgs;
pub use tune::TuneArgs;

/// Exit code of a usage or input error: nothing was run.
pub const EXIT_INPUT: u8 = 1;
/// Exit code of a run whose expectations failed, or of a bench check that found a
/// regression.
pub const EXIT_EXPECTATION: u8 = 2;

/// Measures whether running tools in parallel really pays, and why.
#[derive(Debug, Parser)]
#[command(name = "parabench", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario sequentially and in parallel, and report the speedup.
    Run(RunArgs),
    /// Compare two run reports; exit 2 when a figure regressed beyond the threshold and
    /// beyond noise.
    Compare(CompareArgs),
    /// Show a saved run report again, or render it as a self-contained HTML page.
    Report(ReportArgs),
    /// Run a scenario at each concurrency level and recommend a max_concurrency.
    Tune(TuneArgs),
    /// Read the traces of real agents: how much parallelism their tool calls left on the
    /// table, per step, against the schedule parabench's executor finds.
    Analyze(AnalyzeArgs),
    /// Serve a scenario's simulated tools over MCP to a real agent, and report what its
    /// executor did with them against the ideal schedule.
    Serve(ServeArgs),
    /// Check scenario files without running them.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Merge HdrHistogram interval logs (`run --hlog`) of several runs or machines into
    /// one report.
    Merge {
        /// Interval logs to merge.
        #[arg(required = true)]
        logs: Vec<PathBuf>,
        /// Also writes the merged histograms to FILE as an interval log.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List the scenarios in a directory (default: ./scenarios, else the shipped ones
    /// built into the binary).
    List {
        /// The directory to look in.
        dir: Option<PathBuf>,
    },
    /// Compare bench results with a baseline; exit 2 on a regression (for CI).
    BenchCheck(BenchCheckArgs),
}

/// A `--for DUR` value: a positive duration in words, like `30s`.
fn positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("expected a positive duration like 30s".into()),
        Err(e) => Err(format!("{e} (expected a duration like 30s)")),
    }
}

/// A count of at least one (`--repeat`, `--max-concurrency`): clap's own message for 0,
/// "number would be zero for non-zero type", says neither what is wrong nor what to give.
fn positive_count(text: &str) -> Result<std::num::NonZeroUsize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("it must be at least 1 (expected a whole number such as 1, 4 or 16)".into()),
        Ok(n) => Ok(std::num::NonZeroUsize::new(n).expect("not 0")),
        Err(_) => Err("expected a whole number of at least 1, such as 1, 4 or 16".into()),
    }
}

/// Runs a parsed command line and returns the process's exit code.
pub fn run(cli: Cli) -> ExitCode {
    // Before any client that may speak https is built.
    crate::tls::install();
    let code = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Tune(args) => tune::run(&args),
        Command::Analyze(args) => analyze::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Validate { scenarios } => validate::run(&scenarios),
        Command::List { dir } => list::run(dir.as_deref()),
        Command::Merge { logs, out } => merge::run(&logs, out.as_deref()),
        Command::BenchCheck(args) => bench_check::run(&args),
    };
    ExitCode::from(code)
}

/// Reports a command line clap could not parse; `--help` and `--version` exit 0, usage
/// errors exit 1 (clap's own default would be 2, which parabench keeps for failed
/// expectations).
pub fn usage_error(error: clap::Error) -> ExitCode {
    let _ = error.print();
    if error.use_stderr() {
        ExitCode::from(EXIT_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}
