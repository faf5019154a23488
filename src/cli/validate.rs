//! `parabench validate`: check scenario files without running them.

use std::path::PathBuf;

use super::{EXIT_INPUT, diagnostic};
use crate::scenario;

pub(super) fn run(paths: &[PathBuf]) -> u8 {
    let mut failed = 0;
    for path in paths {
        match scenario::load(path) {
            Ok(s) => println!(
                "ok  {}: {} ({} calls, {} tools)",
                path.display(),
                s.name,
                s.plan.calls().len(),
                s.plan.tools().len()
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
