//! `parabench list`: the scenarios in a directory, with what each one shows; with no
//! directory, those of `./scenarios`, else the shipped ones built into the binary.

use std::path::Path;

use comfy_table::{ContentArrangement, Table, presets};

use super::EXIT_INPUT;
use crate::scenario::{self, SHIPPED, Scenario, ScenarioError};

/// Where `list` looks when given no directory.
const DEFAULT_DIR: &str = "scenarios";

pub(super) fn run(dir: Option<&Path>) -> u8 {
    let dir = match dir {
        Some(dir) => dir,
        None if Path::new(DEFAULT_DIR).is_dir() => Path::new(DEFAULT_DIR),
        None => {
            // Outside the repository: what the binary carries, by name.
            println!("no ./{DEFAULT_DIR} here: the scenarios built into parabench (run one by its name)");
            let rows = SHIPPED.iter().map(|s| (s.name().to_string(), s.scenario()));
            return print(rows);
        }
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("error: cannot read directory {}: {e}", dir.display());
            return EXIT_INPUT;
        }
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let rows = paths.iter().map(|path| {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        (file, scenario::load(path))
    });
    print(rows)
}

/// The table of `(file or name, scenario)`; exit 1 when one is invalid.
fn print(rows: impl Iterator<Item = (String, Result<Scenario, ScenarioError>)>) -> u8 {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(100)
        .set_header(vec!["file", "name", "calls", "description"]);
    let mut invalid = 0;
    for (file, scenario) in rows {
        match scenario {
            Ok(s) => table.add_row(vec![file, s.name, s.plan.calls().len().to_string(), s.description]),
            Err(e) => {
                invalid += 1;
                table.add_row(vec![file, "(invalid)".into(), "".into(), e.to_string()])
            }
        };
    }
    println!("{table}");
    if invalid > 0 {
        eprintln!("{invalid} invalid scenario files: run `parabench validate` on them for details");
        return EXIT_INPUT;
    }
    0
}
