//! Every output flag of every command, pointed at what is not a plain file: a device is
//! written through and never replaced, a failed write exits 1, a pipe gets the report,
//! a symbolic link keeps pointing at the file it names.
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{parabench, temp_dir, text};

/// Inputs the commands need: a run report and its interval log, written once.
struct Inputs {
    dir: PathBuf,
    report: PathBuf,
    hlog: PathBuf,
}

fn inputs(name: &str) -> Inputs {
    let dir = temp_dir(name);
    let (report, hlog) = (dir.join("report.json"), dir.join("run.hlog"));
    let (code, _, stderr) = text(&parabench(&[
        "run",
        "--clock",
        "virtual",
        "--json",
        report.to_str().unwrap(),
        "--hlog",
        hlog.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    Inputs { dir, report, hlog }
}

/// Each command with one output flag pointed at `target`.
fn commands(inputs: &Inputs, target: &Path) -> Vec<(String, Vec<String>)> {
    let target = target.to_str().unwrap();
    let report = inputs.report.to_str().unwrap();
    let hlog = inputs.hlog.to_str().unwrap();
    let run = ["run", "--clock", "virtual"];
    let tune = [
        "tune",
        "scenarios/independent_io.toml",
        "--clock",
        "virtual",
        "--levels",
        "1,5",
    ];
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |base: &[&str], flag: &str| {
        let mut args: Vec<String> = base.iter().map(ToString::to_string).collect();
        args.extend([flag.to_string(), target.to_string()]);
        out.push((format!("{} {flag}", base[0]), args));
    };
    for flag in ["--json", "--html", "--hlog"] {
        add(&run, flag);
    }
    for flag in ["--json", "--svg", "--html"] {
        add(&tune, flag);
    }
    for flag in ["--json", "--markdown"] {
        add(&["compare", report, report], flag);
    }
    add(&["report", report], "--html");
    add(&["merge", hlog], "--out");
    out
}

fn run(args: &[String]) -> (i32, String, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    text(&parabench(&args))
}

#[test]
fn a_device_is_written_through_and_a_failed_write_exits_1() {
    let inputs = inputs("outputs-device");
    let is_device = |p: &str| std::fs::metadata(p).unwrap().file_type().is_char_device();
    for (name, args) in commands(&inputs, Path::new("/dev/null")) {
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 0, "{name} to /dev/null: {stderr}");
        assert!(is_device("/dev/null"), "{name} replaced /dev/null");
    }
    for (name, args) in commands(&inputs, Path::new("/dev/full")) {
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 1, "{name} to /dev/full must fail: {stderr}");
        assert!(
            stderr.contains("/dev/full") && stderr.contains("No space left"),
            "{name}: {stderr}"
        );
        assert!(is_device("/dev/full"), "{name} replaced /dev/full");
    }
}

#[test]
fn a_pipe_gets_the_whole_report() {
    let inputs = inputs("outputs-pipe");
    for (name, args) in commands(&inputs, Path::new("/dev/fd/3")) {
        // fd 3 is a pipe to `cat`, as `--json >(cat > FILE)` would make it.
        let caught = inputs.dir.join("caught");
        let script = r#""$0" "$@" 3>&1 1>/dev/null | cat > "$CAUGHT"; exit "${PIPESTATUS[0]}""#;
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_parabench"))
            .args(&args)
            .env("CAUGHT", &caught)
            .current_dir(common::root())
            .output()
            .unwrap();
        let (code, _, stderr) = text(&out);
        assert_eq!(code, 0, "{name} to a pipe: {stderr}");
        let got = std::fs::read(&caught).unwrap();
        assert!(got.len() > 20, "{name}: only {} bytes came through", got.len());
        if name.ends_with("--json") {
            serde_json::from_slice::<serde_json::Value>(&got).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

#[test]
fn a_link_is_followed_and_stays_a_link() {
    let inputs = inputs("outputs-link");
    for (name, args) in commands(&inputs, &inputs.dir.join("link")) {
        let real = inputs.dir.join("real");
        std::fs::write(&real, "stale").unwrap();
        let link = inputs.dir.join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("real", &link).unwrap();
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert!(
            std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(),
            "{name} replaced the link"
        );
        assert_ne!(
            std::fs::read(&real).unwrap(),
            b"stale",
            "{name} left the real file stale"
        );
    }
}
