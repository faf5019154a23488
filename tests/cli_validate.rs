//! `parabench validate`: every shipped scenario is valid; bad files get a located,
//! specific error and exit code 1, and nothing panics.

mod common;

use common::{parabench, temp_dir, text, write};

#[test]
fn every_shipped_scenario_validates() {
    let files = common::scenario_files();
    let args: Vec<&str> = std::iter::once("validate")
        .chain(files.iter().map(|p| p.to_str().unwrap()))
        .collect();
    let (code, stdout, stderr) = text(&parabench(&args));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), files.len());
}

/// (file body, expected line, a fragment of the expected message).
const BAD: &[(&str, usize, &str)] = &[
    ("name = \"x\"\n[tools.a\n", 2, ""),
    ("name = \"x\"\ncolour = \"red\"\n", 2, "colour"),
    (
        "name = \"x\"\n[tools.a]\nlatency = { dist = \"constant\", value = \"1ms\" }\n[[calls]]\nid = \"c\"\ntool = \"b\"\n",
        6,
        "unknown tool",
    ),
    (
        "name = \"x\"\n[executor]\nmax_concurrency = 0\n[tools.a]\nlatency = { dist = \"constant\", value = \"1ms\" }\n[[calls]]\nid = \"c\"\ntool = \"a\"\n",
        3,
        "max_concurrency",
    ),
    (
        "name = \"x\"\n[tools.a]\nlatency = { dist = \"constant\", value = \"1 fortnight\" }\n[[calls]]\nid = \"c\"\ntool = \"a\"\n",
        3,
        "duration",
    ),
    (
        "name = \"x\"\n[tools.a]\nlatency = { dist = \"constant\", value = \"1ms\" }\nfailure_rate = 1.5\n[[calls]]\nid = \"c\"\ntool = \"a\"\n",
        4,
        "failure_rate",
    ),
    (
        "name = \"x\"\n[tools.a]\nlatency = { dist = \"constant\", value = \"1ms\" }\n[[calls]]\nid = \"a1\"\ntool = \"a\"\ndepends_on = [\"a2\"]\n[[calls]]\nid = \"a2\"\ntool = \"a\"\ndepends_on = [\"a1\"]\n",
        0,
        "cycle",
    ),
    (
        "name = \"x\"\n[tools.a]\nlatency = { dist = \"constant\", value = \"1ms\" }\n[[calls]]\nid = \"c\"\ntool = \"a\"\n[[calls]]\nid = \"c\"\ntool = \"a\"\n",
        8,
        "duplicate",
    ),
    (
        "name = \"x\"\n[tools.a]\nlatency = { dist = \"constant\", value = \"1ms\" }\n[[calls]]\nid = \"c\"\ntool = \"a\"\nparams = { q = \"${nope.result}\" }\n",
        0,
        "nope",
    ),
    (
        "name = \"x\"\n[tools.a]\nlatency = { dist = \"constant\", value = \"1ms\" }\n",
        0,
        "no calls",
    ),
];

#[test]
fn bad_files_give_a_located_error_and_exit_1() {
    let dir = temp_dir("cli-validate");
    for (i, (body, line, fragment)) in BAD.iter().enumerate() {
        let path = write(&dir, &format!("bad{i}.toml"), body);
        let (code, stdout, stderr) = text(&parabench(&["validate", path.to_str().unwrap()]));
        assert_eq!(code, 1, "case {i}: {stdout}{stderr}");
        assert!(!stderr.contains("panicked"), "case {i}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        let located = format!("{}:", path.display());
        assert!(first.starts_with(&format!("error: {located}")), "case {i}: {first}");
        if *line > 0 {
            assert!(
                first.starts_with(&format!("error: {located}{line}:")),
                "case {i}: {first}"
            );
        }
        assert!(
            stderr.contains(fragment),
            "case {i}: expected {fragment:?} in\n{stderr}"
        );
    }
}

#[test]
fn one_bad_file_among_good_ones_still_fails_the_batch() {
    let dir = temp_dir("cli-validate-mixed");
    let bad = write(&dir, "bad.toml", "name = 3\n");
    let (code, stdout, _) = text(&parabench(&[
        "validate",
        "scenarios/independent_io.toml",
        bad.to_str().unwrap(),
    ]));
    assert_eq!(code, 1);
    assert!(stdout.contains("ok  scenarios/independent_io.toml"));
}

#[test]
fn one_of_a_thing_is_said_in_the_singular_and_an_error_once() {
    let dir = temp_dir("cli-validate-grammar");
    let one = write(
        &dir,
        "one.toml",
        "name = \"one\"\n[tools.t]\nlatency = { dist = \"constant\", value = \"1ms\" }\n[[calls]]\nid = \"a\"\ntool = \"t\"\n",
    );
    let (code, stdout, stderr) = text(&parabench(&["validate", one.to_str().unwrap()]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.ends_with("one (1 call, 1 tool)\n"), "{stdout}");
    let (_, stdout, _) = text(&parabench(&["run", one.to_str().unwrap(), "--clock", "virtual"]));
    assert!(
        stdout.starts_with("one · seed 0 · virtual clock · 1 call\n"),
        "{stdout}"
    );
    // Not a terminal: the error is one line, not that line and a box repeating it.
    let bad = write(&dir, "bad.toml", "name = \"x\"\nseed = -1\n");
    let (code, _, stderr) = text(&parabench(&["validate", bad.to_str().unwrap()]));
    assert_eq!(code, 1);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("bad.toml")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(!stderr.contains('╭'), "{stderr}");
}
