//! `parabench report` and `run --html` through the real binary: a saved report becomes a
//! page, and bad input is refused with a message naming the file, never a blank page.

mod common;

use std::path::{Path, PathBuf};

use common::{parabench, temp_dir, text, write};

/// A virtual run of `independent_io`, saved as JSON in `dir`.
fn saved_report(dir: &Path) -> PathBuf {
    common::virtual_run(dir, None, "report", false).0
}

#[test]
fn a_saved_report_becomes_a_page_holding_the_same_report() {
    let dir = temp_dir("cli-report-html");
    let json = saved_report(&dir);
    let html = dir.join("page.html");
    let (code, stdout, stderr) = text(&parabench(&[
        "report",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    // The embedded data is the report itself, byte for byte once re-serialised.
    let start = page
        .find("<script type=\"application/json\" id=\"report-data\">")
        .unwrap();
    let body = &page[start..];
    let embedded = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    let embedded: serde_json::Value = serde_json::from_str(embedded).unwrap();
    assert_eq!(embedded, common::read_json(&json));

    // Without --html, the table again.
    let (code, stdout, _) = text(&parabench(&["report", json.to_str().unwrap()]));
    assert_eq!(code, 0);
    assert!(stdout.contains("speedup 5.00×"), "{stdout}");
}

#[test]
fn run_writes_the_same_page_as_report() {
    let dir = temp_dir("cli-run-html");
    let (json, html) = common::virtual_run(&dir, None, "r", true);
    let again = dir.join("again.html");
    let out = parabench(&["report", json.to_str().unwrap(), "--html", again.to_str().unwrap()]);
    assert_eq!(text(&out).0, 0);
    assert_eq!(std::fs::read(&html).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn bad_reports_are_refused_with_the_file_and_what_was_expected() {
    let dir = temp_dir("cli-report-bad");
    let good = std::fs::read_to_string(saved_report(&dir)).unwrap();
    let mut empty_run: serde_json::Value = serde_json::from_str(&good).unwrap();
    for run in empty_run["runs"].as_array_mut().unwrap() {
        run["calls"] = serde_json::json!([]);
    }
    let cases = [
        (
            "v2.json",
            good.replacen("\"schema_version\": 1", "\"schema_version\": 2", 1),
            "schema_version 2 is not supported",
        ),
        ("cut.json", good[..good.len() / 2].to_string(), "ends early"),
        (
            "other.json",
            "{\"name\": \"x\"}".to_string(),
            "not a parabench run report",
        ),
        ("blank.json", String::new(), "the file is empty"),
        ("empty-run.json", empty_run.to_string(), "no calls to draw"),
    ];
    for (name, content, want) in cases {
        let path = write(&dir, name, &content);
        let html = dir.join(format!("{name}.html"));
        let (code, stdout, stderr) = text(&parabench(&[
            "report",
            path.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ]));
        assert_eq!(code, 1, "{name}: {stdout}{stderr}");
        assert!(stderr.contains(want), "{name}: {stderr}");
        assert!(
            stderr.contains(path.to_str().unwrap()),
            "{name}: the message names the file: {stderr}"
        );
        assert!(
            stderr.contains("expected") || stderr.contains("reads version 1"),
            "{name}: {stderr}"
        );
        assert!(!html.exists(), "{name}: no page is left behind");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_unwritable_page_is_refused_before_the_run() {
    let (code, stdout, stderr) = text(&parabench(&["run", "--html", "/nonexistent-dir/report.html"]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("cannot write the HTML report to /nonexistent-dir/report.html"),
        "{stderr}"
    );
    assert!(!stdout.contains("speedup"), "nothing ran: {stdout}");
    let (code, _, stderr) = text(&parabench(&["run", "--clock", "virtual", "--json", "-", "--html", "-"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot both write to standard output"), "{stderr}");
    // `--html -` alone: the page on stdout, the table on stderr.
    let (code, stdout, stderr) = text(&parabench(&["run", "--clock", "virtual", "--html", "-"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("<!DOCTYPE html>") && stdout.trim_end().ends_with("</html>"));
    assert!(stderr.contains("speedup 5.00×"), "{stderr}");
}

#[test]
fn a_tune_report_of_another_version_is_refused() {
    let dir = temp_dir("cli-report-tune-bad");
    let json = dir.join("tune.json");
    let out = parabench(&[
        "tune",
        "scenarios/independent_io.toml",
        "--clock",
        "virtual",
        "--levels",
        "1,2",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(text(&out).0, 0);
    let good = std::fs::read_to_string(&json).unwrap();
    for (name, content, want) in [
        (
            "v9.json",
            good.replacen("\"schema_version\": 1", "\"schema_version\": 9", 1),
            "tune report schema_version 9 is not supported",
        ),
        (
            "nolevels.json",
            "{\"schema_version\": 1, \"levels\": [], \"recommended\": null}".to_string(),
            "not a parabench tune report",
        ),
    ] {
        let path = write(&dir, name, &content);
        let html = dir.join(format!("{name}.html"));
        let (code, _, stderr) = text(&parabench(&[
            "report",
            path.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ]));
        assert_eq!(code, 1, "{name}: {stderr}");
        assert!(stderr.contains(want), "{name}: {stderr}");
        assert!(stderr.contains(path.to_str().unwrap()), "{name}: {stderr}");
        assert!(!html.exists(), "{name}");
    }
    // Without --html, the tune table again.
    let (code, stdout, _) = text(&parabench(&["report", json.to_str().unwrap()]));
    assert_eq!(code, 0);
    assert!(stdout.contains("recommended"), "{stdout}");
}
