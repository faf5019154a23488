//! The `parabench` binary: parse the command line, hand over to the library.

use std::process::ExitCode;

use clap::Parser;
use parabench::cli::{self, Cli};

fn main() -> ExitCode {
    match Cli::try_parse() {
        Ok(cli) => cli::run(cli),
        Err(error) => cli::usage_error(error),
    }
}
