//! `parabench list`: the scenarios in a directory, with what each one shows.

use std::path::Path;

use comfy_table::{ContentArrangement, Table, presets};

use super::EXIT_INPUT;
use crate::scenario;

pub(super) fn run(dir: &Path) -> u8 {
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
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(100)
        .set_header(vec!["file", "name", "calls", "description"]);
    let mut invalid = 0;
    for path in &paths {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        match scenario::load(path) {
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
