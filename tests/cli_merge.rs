//! `run --hlog` and `parabench merge`, through the binary.

mod common;

fn run_with_hlog(dir: &std::path::Path, seed: &str) -> std::path::PathBuf {
    let hlog = dir.join(format!("seed{seed}.hlog"));
    let out = common::parabench(&[
        "run",
        "scenarios/partial_failure.toml",
        "--clock",
        "virtual",
        "--seed",
        seed,
        "--hlog",
        hlog.to_str().unwrap(),
    ]);
    let (code, _, stderr) = common::text(&out);
    assert!(code == 0 || code == 2, "{stderr}");
    hlog
}

/// The count column of `tag`'s row in merge's table.
fn count_of(table: &str, tag: &str) -> u64 {
    let row = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(tag))
        .unwrap_or_else(|| panic!("no row {tag} in\n{table}"));
    row.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn merging_two_runs_adds_their_histograms_tag_by_tag() {
    let dir = common::temp_dir("merge");
    let (a, b) = (run_with_hlog(&dir, "1"), run_with_hlog(&dir, "2"));
    let text = std::fs::read_to_string(&a).unwrap();
    assert!(text.contains("Tag=parallel/search/service,"), "{text}");
    assert!(text.contains("#[StartTime: "), "an HdrHistogram interval log header");

    let one = common::parabench(&["merge", a.to_str().unwrap()]);
    let (code, single, stderr) = common::text(&one);
    assert_eq!(code, 0, "{stderr}");
    // partial_failure: 40 searches, each run; a skipped call never ran, so it has no service time.
    let searches = count_of(&single, "parallel/search/service");
    assert!(searches > 30 && searches <= 40, "{single}");

    let merged_log = dir.join("merged.hlog");
    let both = common::parabench(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        merged_log.to_str().unwrap(),
    ]);
    let (code, merged, stderr) = common::text(&both);
    assert_eq!(code, 0, "{stderr}");
    let other = common::text(&common::parabench(&["merge", b.to_str().unwrap()])).1;
    for tag in [
        "parallel/search/service",
        "sequential/search/queue_wait",
        "parallel/summarize/service",
    ] {
        assert_eq!(
            count_of(&merged, tag),
            count_of(&single, tag) + count_of(&other, tag),
            "{tag}"
        );
    }
    // The merged log reads back to the same table.
    let again = common::text(&common::parabench(&["merge", merged_log.to_str().unwrap()])).1;
    assert_eq!(
        count_of(&again, "parallel/search/service"),
        count_of(&merged, "parallel/search/service")
    );
}

#[test]
fn a_file_that_is_not_a_log_is_an_input_error() {
    let dir = common::temp_dir("merge-bad");
    let bad = common::write(&dir, "bad.hlog", "this is not, an interval log\n");
    let out = common::parabench(&["merge", bad.to_str().unwrap()]);
    let (code, _, stderr) = common::text(&out);
    assert_eq!(code, 1);
    assert!(stderr.contains("bad.hlog: line 1"), "{stderr}");
    let missing = common::parabench(&["merge", "no/such.hlog"]);
    let (code, _, stderr) = common::text(&missing);
    assert_eq!(code, 1);
    assert!(stderr.contains("no/such.hlog"), "{stderr}");
}
