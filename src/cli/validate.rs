//! `parabench validate`: check scenario files without running them.

use std::path::PathBuf;

use super::{EXIT_INPUT, diagnostic};
use crate::scenario;
use crate::units::count;

pub(super) fn run(paths: &[PathBuf]) -> u8 {
    let mut failed = 0;
    for path in paths {
        match scenario::load_or_shipped(path) {
            Ok(s) => println!(
                "ok  {}: {} ({}, {})",
                path.display(),
                s.name,
                count(s.plan.calls().len() as u64, "call"),
                count(s.plan.tools().len() as u64, "tool")
            ),
            Err(e) => {
                failed += 1;
                eprint!("{}", diagnostic::render(&e));
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} scenario files are invalid", paths.len());
        EXIT_INPUT
    } else {
        0
    }
}
