//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

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

/// The shipped scenarios whose tools are all simulated: those that run in virtual time
/// (`real_mcp_*.toml` call real servers, on the real clock only).
pub fn simulated_scenario_files() -> Vec<PathBuf> {
    scenario_files()
        .into_iter()
        .filter(|p| parabench::scenario::load(p).is_ok_and(|s| s.real.iter().all(Option::is_none)))
        .collect()
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

/// A raw HTTP/1.1 POST; the status code and body of the answer.
pub fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    request(addr, "POST", path, headers, body)
}

/// An HTTP/1.1 request of `method`, as [`post`] sends it.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before the whole body is read.
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// Spawns `command` with piped stdout and stderr; its stderr arrives line by line on the
/// returned channel (a thread reads it, so the child never blocks on a full pipe).
pub fn spawn_with_stderr_lines(command: &mut Command) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// The Python of `.ci/run`'s venv (`PARABENCH_OTEL_PYTHON`, else `python3`) if it can
/// import `modules` (comma-separated). Without them the test fails, unless
/// `PARABENCH_SKIP_PYTHON=1`: CI must never pass because a real producer or client was
/// absent. `what` says what the modules are for.
pub fn python(modules: &str, what: &str) -> Option<String> {
    let candidate = std::env::var("PARABENCH_OTEL_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_them = Command::new(&candidate)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_them {
        return Some(candidate);
    }
    let help = format!(
        "{candidate} cannot import {modules}: the test needs {what}; .ci/run installs them in a venv and sets \
         PARABENCH_OTEL_PYTHON to its python; set PARABENCH_SKIP_PYTHON=1 to skip this test locally"
    );
    if std::env::var("PARABENCH_SKIP_PYTHON").is_ok_and(|v| v == "1") {
        std::io::stderr()
            .write_all(format!("\n!!! SKIPPED: {help}\n").as_bytes())
            .unwrap();
        return None;
    }
    panic!("{help}");
}
