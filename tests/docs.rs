//! The docs run: every example of README.md and docs/*.md that shows a `parabench`
//! command is executed, and its shown output and exit code compared with the binary's.
//!
//! What a fenced block is, by its info string and the `<!-- test: ... -->` comment on the
//! line above it:
//!
//! - `console`: `$ COMMAND` lines, each followed by its output (standard output, then
//!   standard error) and, when it is not 0, `? CODE`. `[..]` in a line stands for any
//!   text, a line `...` for any lines (snapbox's elisions), for timings and other figures
//!   that change from run to run.
//! - `sh`: commands without their output; each must exit 0 (`<!-- test: exit N -->` says
//!   otherwise). A block with a line that is not a parabench command (an agent to start,
//!   a build) must say `<!-- test: skip REASON -->`.
//! - `text` with a parabench command in it: a synopsis checked against `--help`
//!   (`<!-- test: synopsis -->`), or skipped with a reason.
//! - `toml` marked `<!-- test: scenario -->` is validated; `<!-- test: scenario run -->`
//!   also runs (virtual clock) and must meet its own `[expect]`.
//!
//! `parabench` and `cargo run --release --` both mean the binary under test. Each file's
//! commands run in order, in a directory of their own that sees the repository's
//! `scenarios/`, `tests/`, `schemas/` and `frameworks/`, so a command may use what an
//! earlier one wrote, and nothing is written into the repository.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use snapbox::Data;
use snapbox::assert::Assert;

/// The longest a documented command may run: a server shown without `--for` would
/// otherwise hang the test.
const COMMAND_TIMEOUT_S: u32 = 300;

/// The Markdown files whose examples run.
fn pages() -> Vec<PathBuf> {
    let root = common::root();
    let mut pages = vec![root.join("README.md"), root.join("frameworks/README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// A fenced block.
#[derive(Debug)]
struct Block {
    /// 1-based line of its opening fence.
    line: usize,
    info: String,
    /// The `<!-- test: ... -->` directive on the line above, without the comment marks.
    directive: Option<String>,
    text: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = markdown.lines().enumerate().peekable();
    let mut previous = "";
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim_start();
        let Some(info) = trimmed.strip_prefix("```") else {
            if !line.trim().is_empty() {
                previous = line;
            }
            continue;
        };
        let indent = line.len() - trimmed.len();
        let directive = previous
            .trim()
            .strip_prefix("<!-- test:")
            .and_then(|d| d.strip_suffix("-->"))
            .map(|d| d.trim().to_string());
        let mut text = String::new();
        for (_, body) in lines.by_ref() {
            if body.trim_start().starts_with("```") {
                break;
            }
            text.push_str(body.get(indent..).unwrap_or(body.trim_start()));
            text.push('\n');
        }
        out.push(Block {
            line: i + 1,
            info: info.trim().to_string(),
            directive,
            text,
        });
        previous = "";
    }
    out
}

/// The command a line runs, rewritten for the binary under test, if it is a parabench
/// command.
fn parabench_command(line: &str) -> Option<String> {
    let line = line.trim();
    for prefix in ["cargo run --release -- ", "cargo run -- ", "parabench "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            return Some(format!("parabench {rest}"));
        }
    }
    None
}

/// A shell line without its comment (`#` outside quotes).
fn without_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (c, quote) {
            ('\'' | '"', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            ('#', None) if i == 0 || line[..i].ends_with(' ') => return line[..i].trim_end(),
            _ => {}
        }
    }
    line.trim_end()
}

/// Where one page's commands run.
struct Workdir {
    dir: PathBuf,
    bin: PathBuf,
}

impl Workdir {
    fn new(page: &Path) -> Self {
        let name = page.file_stem().unwrap().to_string_lossy();
        let dir = common::temp_dir(&format!("docs-{name}"));
        let root = common::root();
        for shared in ["scenarios", "tests", "schemas", "frameworks", "dashboards"] {
            std::os::unix::fs::symlink(root.join(shared), dir.join(shared)).unwrap();
        }
        let bin = dir.join(".bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_parabench"), bin.join("parabench")).unwrap();
        Self { dir, bin }
    }

    /// Runs `command` with bash, for at most [`COMMAND_TIMEOUT_S`]; its exit code,
    /// standard output and error.
    fn run(&self, command: &str) -> (i32, String, String) {
        let path = format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap_or_default());
        let out = Command::new("timeout")
            .args(["--signal=KILL", &COMMAND_TIMEOUT_S.to_string(), "bash", "-c", command])
            .current_dir(&self.dir)
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .output()
            .unwrap();
        common::text(&out)
    }
}

/// What the run of every page found.
#[derive(Default)]
struct Findings {
    commands: usize,
    skipped: Vec<String>,
    failures: Vec<String>,
}

impl Findings {
    fn fail(&mut self, at: &str, what: impl std::fmt::Display) {
        self.failures.push(format!("{at}: {what}"));
    }
}

fn check_console(block: &Block, work: &Workdir, at: &str, found: &mut Findings) {
    // Each `$ ` line and the lines after it, up to the next one.
    let mut cases: Vec<(String, Vec<&str>)> = Vec::new();
    for line in block.text.lines() {
        match line.strip_prefix("$ ") {
            Some(command) => cases.push((command.to_string(), Vec::new())),
            None => match cases.last_mut() {
                Some((_, output)) => output.push(line),
                None => found.fail(at, format!("a console block must start with `$ `, not {line:?}")),
            },
        }
    }
    for (command, mut output) in cases {
        let Some(run) = parabench_command(&command) else {
            found.fail(at, format!("`{command}` is not a parabench command"));
            continue;
        };
        let mut code = 0;
        if let Some(last) = output.last().and_then(|l| l.strip_prefix("? ")) {
            code = last.trim().parse().unwrap_or(-1);
            output.pop();
        }
        found.commands += 1;
        let (status, stdout, stderr) = work.run(&run);
        if status != code {
            found.fail(
                at,
                format!("`{command}` exited {status}, the page says {code}\n{stdout}{stderr}"),
            );
            continue;
        }
        let expected = output.join("\n") + "\n";
        let actual = format!("{stdout}{stderr}");
        if let Err(e) = Assert::new().try_eq(Some(&command), Data::text(actual), Data::text(expected)) {
            found.fail(at, format!("`{command}`: the output differs from the page's\n{e}"));
        }
    }
}

fn check_commands(block: &Block, work: &Workdir, at: &str, code: i32, found: &mut Findings) {
    for line in block.text.lines().map(without_comment).filter(|l| !l.is_empty()) {
        let Some(run) = parabench_command(line) else {
            found.fail(
                at,
                format!(
                    "`{line}` is no parabench command: run it elsewhere, or mark the block <!-- test: skip REASON -->"
                ),
            );
            continue;
        };
        found.commands += 1;
        let (status, stdout, stderr) = work.run(&run);
        if status != code {
            found.fail(
                at,
                format!("`{line}` exited {status}, expected {code}\n{stdout}{stderr}"),
            );
        }
    }
}

fn check_scenario(block: &Block, work: &Workdir, at: &str, run: bool, found: &mut Findings) {
    let file = work.dir.join(format!("scenario-{}.toml", block.line));
    std::fs::write(&file, &block.text).unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let command = if run {
        format!("parabench run {name} --clock virtual")
    } else {
        format!("parabench validate {name}")
    };
    found.commands += 1;
    let (status, stdout, stderr) = work.run(&command);
    if status != 0 {
        found.fail(at, format!("the scenario does not pass `{command}`:\n{stdout}{stderr}"));
    }
}

/// Every `parabench CMD [--flag ...]` of a synopsis names the flags `CMD --help` has, and
/// every flag `--help` has is in the synopsis; a flag that `--help`'s usage line requires
/// (outside its `[...]`) is outside the synopsis's `[...]` too.
fn check_synopsis(block: &Block, work: &Workdir, at: &str, found: &mut Findings) {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in block.text.lines() {
        match line.strip_prefix("parabench ") {
            Some(rest) => {
                let command = rest.split_whitespace().next().unwrap_or("").to_string();
                entries.push((command, rest.to_string()));
            }
            None => match entries.last_mut() {
                Some((_, text)) => text.push_str(line),
                None => found.fail(at, "a synopsis starts with `parabench COMMAND`"),
            },
        }
    }
    let flags = |text: &str| -> std::collections::BTreeSet<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(str::to_string)
            .collect()
    };
    for (command, text) in entries {
        found.commands += 1;
        let (status, help, stderr) = work.run(&format!("parabench {command} --help"));
        if status != 0 {
            found.fail(at, format!("`parabench {command} --help` exited {status}: {stderr}"));
            continue;
        }
        let usage = help.lines().find_map(|l| l.strip_prefix("Usage: ")).unwrap_or("");
        let optional_in_docs = optional_flags(&text);
        for required in flags(usage).difference(&optional_flags(usage)) {
            if optional_in_docs.contains(required) {
                found.fail(
                    at,
                    format!("the synopsis of `{command}` shows {required} as optional; `--help` requires it: {usage}"),
                );
            }
        }
        let mut documented = flags(&text);
        // The options `--help` lists, each at the start of its own line (its prose may
        // name other commands' flags).
        let mut actual: std::collections::BTreeSet<String> = help
            .lines()
            .filter_map(|l| {
                let l = l.trim_start();
                let l = l.strip_prefix("-h, ").unwrap_or(l);
                l.starts_with("--")
                    .then(|| flags(l.split_whitespace().next().unwrap_or("")))
            })
            .flatten()
            .collect();
        actual.remove("--help");
        documented.remove("--help");
        if documented != actual {
            let missing: Vec<_> = actual.difference(&documented).collect();
            let extra: Vec<_> = documented.difference(&actual).collect();
            found.fail(
                at,
                format!("the synopsis of `{command}` lacks {missing:?} and has {extra:?}, as `--help` says"),
            );
        }
    }
}

/// The flags of `text` inside square brackets: optional.
fn optional_flags(text: &str) -> std::collections::BTreeSet<String> {
    let mut depth = 0usize;
    let mut optional = std::collections::BTreeSet::new();
    let mut word = String::new();
    for c in text.chars().chain([' ']) {
        if c.is_ascii_alphanumeric() || c == '-' {
            word.push(c);
            continue;
        }
        if depth > 0 && word.starts_with("--") && word.len() > 2 {
            optional.insert(word.clone());
        }
        word.clear();
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    optional
}

#[test]
fn every_command_of_the_docs_runs_as_the_docs_say() {
    let root = common::root();
    let mut found = Findings::default();
    for page in pages() {
        let rel = page.strip_prefix(&root).unwrap().display().to_string();
        let work = Workdir::new(&page);
        let markdown = std::fs::read_to_string(&page).unwrap();
        for block in blocks(&markdown) {
            let at = format!("{rel}:{}", block.line);
            let directive = block.directive.as_deref().unwrap_or("");
            if let Some(reason) = directive.strip_prefix("skip") {
                if reason.trim().is_empty() {
                    found.fail(&at, "a skipped block says why: <!-- test: skip REASON -->");
                }
                found.skipped.push(format!("{at} ({})", reason.trim()));
                continue;
            }
            let shows_parabench = block.text.lines().any(|l| {
                let l = l.trim().strip_prefix("$ ").unwrap_or(l.trim());
                parabench_command(without_comment(l)).is_some()
            });
            match (block.info.as_str(), directive) {
                ("console", _) => check_console(&block, &work, &at, &mut found),
                ("toml", "scenario") => check_scenario(&block, &work, &at, false, &mut found),
                ("toml", "scenario run") => check_scenario(&block, &work, &at, true, &mut found),
                (_, "synopsis") => check_synopsis(&block, &work, &at, &mut found),
                ("sh" | "bash" | "shell", d) if shows_parabench => {
                    let code = d.strip_prefix("exit ").and_then(|c| c.trim().parse().ok()).unwrap_or(0);
                    check_commands(&block, &work, &at, code, &mut found);
                }
                (_, d) if shows_parabench => found.fail(
                    &at,
                    format!(
                        "a `{}` block shows a parabench command (directive {d:?}): make it a console block with its \
                         output, or mark it <!-- test: skip REASON -->",
                        block.info
                    ),
                ),
                (_, "") => {}
                (_, d) => found.fail(
                    &at,
                    format!("unknown directive <!-- test: {d} --> on a `{}` block", block.info),
                ),
            }
        }
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of a passing test,
    // and the count of skipped blocks is meant to show in every `cargo test`.
    let _ = writeln!(
        std::io::stderr(),
        "docs: {} commands ran; {} blocks skipped:\n  {}",
        found.commands,
        found.skipped.len(),
        found.skipped.join("\n  ")
    );
    assert!(
        found.failures.is_empty(),
        "{} examples disagree with the binary:\n\n{}",
        found.failures.len(),
        found.failures.join("\n\n")
    );
    assert!(found.commands > 0, "no command ran: the docs were not found");
}

#[test]
fn the_markdown_reader_finds_blocks_directives_and_commands() {
    let page = "text\n\n<!-- test: skip needs an agent -->\n```sh\nparabench serve x.toml  # serve\n```\n\n  ```console\n  $ parabench list\n  ```\n";
    let found = blocks(page);
    assert_eq!(found.len(), 2);
    assert_eq!((found[0].line, found[0].info.as_str()), (4, "sh"));
    assert_eq!(found[0].directive.as_deref(), Some("skip needs an agent"));
    assert_eq!(found[1].text, "$ parabench list\n");
    assert_eq!(found[1].directive, None);
    assert_eq!(
        without_comment("parabench run a.toml  # the run"),
        "parabench run a.toml"
    );
    assert_eq!(without_comment("echo '# not a comment'"), "echo '# not a comment'");
    assert_eq!(
        parabench_command("cargo run --release -- run x.toml").as_deref(),
        Some("parabench run x.toml")
    );
    assert_eq!(parabench_command("python agent.py"), None);
}

/// The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(markdown: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.push(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// Every `](target)` of a Markdown text, outside code.
fn links(markdown: &str) -> Vec<(usize, String)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push((i + 1, after[..end].to_string()));
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_link_of_the_docs_leads_to_a_file_of_the_repository_and_its_heading() {
    let root = common::root();
    let mut broken = Vec::new();
    for page in pages() {
        let markdown = std::fs::read_to_string(&page).unwrap();
        for (line, target) in links(&markdown) {
            if target.starts_with("http://") || target.starts_with("https://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let path = match file {
                "" => page.clone(),
                file => page.parent().unwrap().join(file),
            };
            let at = format!("{}:{line}", page.strip_prefix(&root).unwrap().display());
            if !path.exists() {
                broken.push(format!("{at}: {target} (no such file)"));
                continue;
            }
            if !fragment.is_empty() && path.extension().is_some_and(|x| x == "md") {
                let headings = anchors(&std::fs::read_to_string(&path).unwrap());
                if !headings.iter().any(|h| h == fragment) {
                    broken.push(format!("{at}: {target} (no such heading)"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "links that lead nowhere:\n{}", broken.join("\n"));
}

#[test]
fn no_file_cites_a_design_document_outside_the_repository() {
    // The contracts users rely on are in docs/contracts.md; a page of the team's own that
    // users cannot read is cited nowhere.
    let root = common::root();
    let mut citing = Vec::new();
    let mut stack: Vec<PathBuf> = [
        "README.md",
        "Cargo.toml",
        "docs",
        "src",
        "tests",
        "benches",
        "examples",
        "frameworks",
        "scenarios",
        "schemas",
        "dashboards",
        "scripts",
        ".ci",
        "fuzz",
    ]
    .iter()
    .map(|p| root.join(p))
    .collect();
    let needle = ["DESIGN", ".md"].concat();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target" || n == "corpus") {
                continue;
            }
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if let Ok(text) = std::fs::read_to_string(&path)
            && text.contains(&needle)
        {
            citing.push(path.strip_prefix(&root).unwrap().display().to_string());
        }
    }
    assert!(
        citing.is_empty(),
        "cite {needle}, which is not in the repository: {citing:?}"
    );
}
