//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every scenario file shipped in `scenarios/`, sorted.
pub fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Runs the real `parabench` binary.
pub fn parabench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parabench"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

/// `parabench run [scenario] --clock virtual --json DIR/<name>.json [html]`, which must
/// succeed; returns the JSON report's path and, when `html` is set, the page's
/// (`DIR/<name>.html`).
pub fn virtual_run(dir: &Path, scenario: Option<&str>, name: &str, html: bool) -> (PathBuf, PathBuf) {
    let (json, page) = (dir.join(format!("{name}.json")), dir.join(format!("{name}.html")));
    let mut args = vec!["run"];
    args.extend(scenario);
    args.extend(["--clock", "virtual", "--json", json.to_str().unwrap()]);
    if html {
        args.extend(["--html", page.to_str().unwrap()]);
    }
    let (code, _, stderr) = text(&parabench(&args));
    assert_eq!(code, 0, "{stderr}");
    (json, page)
}

/// The exit code, stdout and stderr of a run, as text.
pub fn text(out: &Output) -> (i32, String, String) {
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parabench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Fails with every violation when `json` does not match the committed JSON Schema
/// `schemas/{schema}`.
pub fn assert_matches_schema(schema: &str, json: &serde_json::Value) {
    let path = root().join("schemas").join(schema);
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let errors: Vec<String> = validator
        .iter_errors(json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{} violations: {errors:#?}", path.display());
}

/// Parses a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
