//! Fuzz target: any bytes as a scenario file, through the parser and the command line.
//!
//! Each input is checked twice:
//!
//! 1. In process, when it is UTF-8: `scenario::parse` must give a consistent plan within
//!    the limits or one located, short, printable error (the properties of
//!    tests/common/scenario_props.rs, shared with the proptests of tests/scenario_fuzz.rs).
//! 2. As a user runs it, from a file: `parabench validate FILE`, which reads it (size
//!    and UTF-8 checks) and renders the error with miette; or, for a valid scenario of
//!    at most [`MAX_RUN_CALLS`] calls, `parabench run FILE --clock virtual`, which also
//!    samples, schedules and reports it. A valid scenario of at most [`MAX_TUNE_CALLS`]
//!    calls and no rate sweep is also tuned (`parabench tune FILE --clock virtual` at
//!    three levels), which fits and recommends from whatever the runs measured.
//!
//! A panic anywhere is a crash. Run with `-close_fd_mask=3` to silence the commands'
//! output (the README has the command).

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use parabench::cli::{self, Cli};

#[path = "../../tests/common/scenario_props.rs"]
mod props;

/// Most calls a valid input may have to be run too: a virtual run of a few hundred calls
/// takes milliseconds, one of two million takes seconds and finds nothing more.
const MAX_RUN_CALLS: usize = 200;

/// Most calls a valid input may have to be tuned too: the sweep runs it once per level.
const MAX_TUNE_CALLS: usize = 50;

/// The levels tuned: level 1 (the baseline), one that divides few plans evenly, and one
/// above most plans' width.
const TUNE_LEVELS: &str = "1,3,16";

/// What a valid input is small enough for.
#[derive(Clone, Copy, PartialEq)]
enum Runnable {
    No,
    Run,
    RunAndTune,
}

/// The file each input is written to: one per fuzzing process.
fn input_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let path: PathBuf = std::env::temp_dir().join(format!("parabench-fuzz-{}.toml", std::process::id()));
        path.to_str().expect("a UTF-8 temporary directory").to_owned()
    })
}

fuzz_target!(|data: &[u8]| {
    let runnable = match std::str::from_utf8(data) {
        Ok(text) => match props::check(text) {
            Ok(Some(s)) => {
                let calls = s.plan.calls().len();
                // A rate sweep runs the scenario again at each rate, with more calls.
                let sweeps_rates = s.sweep.as_ref().is_some_and(|sweep| !sweep.rates.is_empty());
                if calls <= MAX_TUNE_CALLS && !sweeps_rates {
                    Runnable::RunAndTune
                } else if calls <= MAX_RUN_CALLS {
                    Runnable::Run
                } else {
                    Runnable::No
                }
            }
            Ok(None) => Runnable::No,
            Err(problem) => panic!("{problem}"),
        },
        // `load` locates the first invalid byte; the command line checks that.
        Err(_) => Runnable::No,
    };
    let path = input_path();
    std::fs::write(path, data).expect("the temporary file is writable");
    let run = ["parabench", "run", path, "--clock", "virtual"];
    let tune = ["parabench", "tune", path, "--clock", "virtual", "--levels", TUNE_LEVELS];
    let commands: &[&[&str]] = match runnable {
        Runnable::No => &[&["parabench", "validate", path]],
        Runnable::Run => &[&run],
        Runnable::RunAndTune => &[&run, &tune],
    };
    for args in commands {
        // Exit codes 0, 1 and 2 are all fine answers; only a panic is not.
        let _ = cli::run(Cli::try_parse_from(args.iter()).expect("valid arguments"));
    }
});
