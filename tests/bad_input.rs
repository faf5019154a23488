//! The bad-input corpus, end to end through the real binary.
//!
//! Every file in `tests/bad_input/` is one malformed or hostile scenario whose first
//! lines say what to expect:
//!
//! ```text
//! # Why the file is hostile.
//! # expect-line: 8
//! # expect-error: a duration cannot be negative, got "-1s"
//! ```
//!
//! `parabench validate FILE` and `parabench run FILE --clock virtual` must both exit 1,
//! print `error: FILE:LINE:COLUMN:` with that line and the fragment, print nothing on
//! stdout, not panic, and stay within a memory and a time limit. Inputs too big to
//! commit (a 50 MB file, a million `[`) are generated here into a temporary directory.
//! `tests/bad_input/accepted/` holds odd inputs that are valid and must stay so.
// The limits are set by `sh` with `ulimit -v`.
#![cfg(unix)]

#[path = "common/bounded.rs"]
mod bounded;
mod common;

use std::fs;
use std::path::{Path, PathBuf};

use bounded::{Bounded, parabench_bounded};
use parabench::scenario::{MAX_CALLS, MAX_FILE_BYTES, MAX_NESTING};

/// The corpus must keep at least this many files (issue 7).
const MIN_CORPUS_FILES: usize = 40;

/// A clear error is a few lines: no message or excerpt may run to megabytes.
const MAX_STDERR_BYTES: usize = 16 * 1024;

/// What a bad input must produce.
#[derive(Debug)]
struct Expected {
    /// The line of the error; `None` for a file refused before it is read as text.
    line: Option<usize>,
    /// Parts of the message.
    fragments: Vec<String>,
}

/// The `# expect-line:` and `# expect-error:` lines at the top of a corpus file.
fn expectation(path: &Path) -> Result<Expected, String> {
    let bytes = fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&bytes);
    let header = text.lines().take_while(|l| l.starts_with('#'));
    let (mut line, mut fragments) = (None, Vec::new());
    for l in header {
        if let Some(n) = l.strip_prefix("# expect-line:") {
            line = Some(n.trim().parse().map_err(|e| format!("expect-line {n:?}: {e}"))?);
        } else if let Some(f) = l.strip_prefix("# expect-error:") {
            fragments.push(f.trim().to_owned());
        }
    }
    if line.is_none() || fragments.is_empty() || fragments.iter().any(String::is_empty) {
        return Err("needs `# expect-line: N` and `# expect-error: FRAGMENT` in its first comment lines".into());
    }
    Ok(Expected { line, fragments })
}

fn corpus_dir() -> PathBuf {
    common::root().join("tests/bad_input")
}

/// The corpus files, sorted.
fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Both commands, each of which must refuse `file` (relative to `dir`) as `expected` says;
/// returns what went wrong.
fn check_refused(dir: &Path, file: &str, expected: &Expected) -> Vec<String> {
    let mut problems = Vec::new();
    for args in [vec!["validate", file], vec!["run", file, "--clock", "virtual"]] {
        let out = parabench_bounded(dir, &args);
        let what = format!("{file} ({})", args[0]);
        problems.extend(
            refusal_problems(&out, file, expected)
                .into_iter()
                .map(|p| format!("{what}: {p}")),
        );
    }
    problems
}

fn refusal_problems(out: &Bounded, file: &str, expected: &Expected) -> Vec<String> {
    let mut problems = Vec::new();
    let stderr = &out.stderr;
    let head: String = stderr.chars().take(600).collect();
    if out.timed_out {
        problems.push(format!("killed after {:?}", bounded::TIME_LIMIT));
    } else if out.code != Some(1) {
        problems.push(format!("exit {:?} instead of 1: {head}", out.code));
    }
    for sign in ["panicked", "RUST_BACKTRACE", "memory allocation", "stack overflow"] {
        if stderr.contains(sign) {
            problems.push(format!("stderr says {sign:?}: {head}"));
        }
    }
    let at = match expected.line {
        Some(line) => format!("error: {file}:{line}:"),
        None => format!("error: cannot read {file}: "),
    };
    match stderr.find(&at) {
        None => problems.push(format!("no {at:?} in: {head}")),
        Some(i) if expected.line.is_some() => {
            let column = stderr[i + at.len()..].split(':').next().unwrap_or("");
            if column.parse::<usize>().map_or(true, |c| c == 0) {
                problems.push(format!("no column after {at:?}: {head}"));
            }
        }
        Some(_) => {}
    }
    for fragment in &expected.fragments {
        if !stderr.contains(fragment.as_str()) {
            problems.push(format!("lacks {fragment:?}: {head}"));
        }
    }
    if stderr.len() > MAX_STDERR_BYTES {
        problems.push(format!("{} bytes of stderr: {head}", stderr.len()));
    }
    if !out.stdout.is_empty() {
        problems.push(format!(
            "printed on stdout: {}",
            out.stdout.chars().take(200).collect::<String>()
        ));
    }
    problems
}

#[test]
fn the_corpus_has_enough_files_and_each_its_expectation() {
    let files = corpus();
    assert!(
        files.len() >= MIN_CORPUS_FILES,
        "{} corpus files, at least {MIN_CORPUS_FILES} expected",
        files.len()
    );
    let mut problems = Vec::new();
    for path in &files {
        // Expectations live in the files, so a stray file (an expectation without its
        // scenario, or a scenario under another extension) is a mistake.
        if path.extension().is_none_or(|x| x != "toml") {
            problems.push(format!("{}: not a .toml scenario", path.display()));
        } else if let Err(e) = expectation(path) {
            problems.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_bad_file_is_refused_at_its_line_with_its_message() {
    let mut problems = Vec::new();
    let files = corpus();
    for path in &files {
        let Ok(expected) = expectation(path) else { continue };
        let file = format!("tests/bad_input/{}", path.file_name().unwrap().to_str().unwrap());
        problems.extend(check_refused(&common::root(), &file, &expected));
    }
    assert!(
        problems.is_empty(),
        "{} problems in {} files:\n{}",
        problems.len(),
        files.len(),
        problems.join("\n")
    );
}

#[test]
fn odd_but_valid_inputs_are_accepted() {
    let dir = corpus_dir().join("accepted");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let mut problems = Vec::new();
    for path in &files {
        let file = path.to_str().unwrap();
        for args in [vec!["validate", file], vec!["run", file, "--clock", "virtual"]] {
            let out = parabench_bounded(&common::root(), &args);
            if out.code != Some(0) || out.stderr.contains("panicked") {
                problems.push(format!("{file} ({}): exit {:?}: {}", args[0], out.code, out.stderr));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A scenario header with one tool `t`, on lines 1-3.
const TOOL: &str = "name = \"giant\"\n[tools.t]\nlatency = { dist = \"constant\", value = \"10ms\" }\n";

/// An input too big to commit: its name, its text, and what it must produce.
struct Giant {
    name: &'static str,
    text: String,
    expected: Expected,
}

fn giant(name: &'static str, text: String, line: Option<usize>, fragment: &str) -> Giant {
    Giant {
        name,
        text,
        expected: Expected {
            line,
            fragments: vec![fragment.to_owned()],
        },
    }
}

/// Each is a regression case: the comment says what it did before it was fixed.
fn giants() -> Vec<Giant> {
    let refs: Vec<String> = (1..=200_000).map(|i| format!("\"${{g{i}.result}}\"")).collect();
    let tools: String = (0..20_000)
        .map(|i| format!("[tools.t{i}]\nlatency = {{ dist = \"constant\", value = \"1ms\" }}\n"))
        .collect();
    let long_id = "x".repeat(100_000);
    vec![
        // 50 MB: refused by size after reading 16 MiB, never parsed.
        giant(
            "file_50mb.toml",
            format!(
                "{TOOL}[[calls]]\nid = \"c\"\ntool = \"t\"\n{}",
                "# padding\n".repeat(5_000_000)
            ),
            None,
            &format!("larger than {} MiB", MAX_FILE_BYTES / (1024 * 1024)),
        ),
        // A million `[`: one located error from the nesting guard, no deep recursion.
        giant(
            "nesting_million.toml",
            format!("name = \"giant\"\na = {}", "[".repeat(1_000_000)),
            Some(2),
            &format!("above the limit of {MAX_NESTING}"),
        ),
        // A call with 200,000 references in a cycle: the reference spans and the
        // plan's repeated-edge check were quadratic (minutes).
        giant(
            "references_200k.toml",
            format!(
                "{TOOL}[[generate]]\ntool = \"t\"\ncount = 200000\nid_prefix = \"g\"\ndepends_on = [\"c\"]\n\
                 [[calls]]\nid = \"c\"\ntool = \"t\"\nparams = {{ all = [{}] }}\n",
                refs.join(", ")
            ),
            Some(7),
            "dependency cycle: g1 -> c -> g1",
        ),
        // A reference with a million dots: each prefix was hashed (quadratic).
        giant(
            "reference_million_dots.toml",
            format!(
                "{TOOL}[[calls]]\nid = \"c\"\ntool = \"t\"\nparams = {{ q = \"${{{}r}}\" }}\n",
                "a.".repeat(1_000_000)
            ),
            Some(7),
            "unknown call id `a` in `${a.a.a.",
        ),
        // A million `${` before one `}`: each was searched to that `}` (quadratic).
        giant(
            "reference_million_openings.toml",
            format!(
                "{TOOL}[[calls]]\nid = \"c\"\ntool = \"t\"\nparams = {{ q = \"{}x.y}}\" }}\n",
                "${".repeat(1_000_000)
            ),
            Some(7),
            "unknown call id `x` in `${x.y}`",
        ),
        // A [calls.params] table followed by two million blank lines: each blank line was
        // trimmed to the end of the run (quadratic).
        giant(
            "blank_lines_after_params.toml",
            format!(
                "{TOOL}[[calls]]\nid = \"c\"\ntool = \"t\"\n[calls.params]\nq = \"${{nope.result}}\"\n{}[expect]\nmin_speedup = 1.0\n",
                "\n".repeat(2_000_000)
            ),
            Some(8),
            "unknown call id `nope`",
        ),
        // An error at column 100,016: miette's underline padding panicked past 65,535.
        giant(
            "error_beyond_column_65535.toml",
            format!(
                "{TOOL}[[calls]]\nid = \"c\"\ntool = \"t\"\nparams = {{ pad = \"{long_id}\", q = \"${{nope.result}}\" }}\n"
            ),
            Some(7),
            "unknown call id `nope`",
        ),
        // 20,000 tools and a typo: the list of tools ran to 200 KB.
        giant(
            "unknown_among_20000_tools.toml",
            format!("name = \"giant\"\n{tools}[[calls]]\nid = \"c\"\ntool = \"nope\"\n"),
            Some(40_004),
            "(expected one of: t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, … (19988 more))",
        ),
        // A 100,000-character id used twice: the message quoted it whole.
        giant(
            "duplicate_long_id.toml",
            format!("{TOOL}[[calls]]\nid = \"{long_id}\"\ntool = \"t\"\n[[calls]]\nid = \"{long_id}\"\ntool = \"t\"\n"),
            Some(8),
            &format!("duplicate call id `{}…`", &long_id[..60]),
        ),
        // More calls than the limit from explicit [[calls]] alone is impossible in 16 MiB;
        // from a block it is refused before a single id is made.
        giant(
            "count_one_over_the_limit.toml",
            format!("{TOOL}[[generate]]\ntool = \"t\"\ncount = {}\n", MAX_CALLS + 1),
            Some(6),
            &format!("count must be at most {MAX_CALLS}"),
        ),
    ]
}

#[test]
fn giant_inputs_are_refused_within_memory_and_time() {
    let dir = common::temp_dir("bad-input-giants");
    let mut problems = Vec::new();
    for g in giants() {
        common::write(&dir, g.name, &g.text);
        problems.extend(check_refused(&dir, g.name, &g.expected));
        // One at a time: together they would fill the temporary directory.
        fs::remove_file(dir.join(g.name)).unwrap();
    }
    fs::remove_dir_all(&dir).unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
