//! A real headless browser (Debian's `chromium`) for the HTML report tests.
//!
//! There is no fallback: without a browser the tests fail and say how to install one
//! (`.ci/run` does), because a page nobody loaded proves nothing.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One browser at a time: each takes a core or more, and the machine has two.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How long one page may take before the browser is killed and the test fails.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// The browser: `PARABENCH_CHROMIUM` if set, else `chromium` (Debian), `chromium-browser`
/// or `google-chrome` on the PATH.
///
/// # Panics
///
/// When none is found, with the command that installs one.
pub fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("PARABENCH_CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "the HTML report tests need a headless browser and found none: install Debian's chromium \
         (`sudo apt-get install -y chromium`; .ci/run does this), or set PARABENCH_CHROMIUM to a \
         Chromium binary"
    );
}

/// Runs the browser headless on `page` (with `fragment`, such as `#rows=tool`) with
/// `args`, offline (every host name fails to resolve), and returns its standard output.
///
/// # Panics
///
/// When the browser fails, or takes longer than [`BROWSER_TIMEOUT`].
pub fn run(page: &Path, fragment: &str, args: &[&str]) -> String {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let profile = super::temp_dir(&format!(
        "chromium-profile-{}",
        page.file_stem().unwrap_or_default().to_string_lossy()
    ));
    let page = std::fs::canonicalize(page).unwrap();
    let out_path = profile.join("stdout.txt");
    let err_path = profile.join("stderr.txt");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}{fragment}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("the browser starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser took more than {BROWSER_TIMEOUT:?} on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        status.success(),
        "the browser failed ({status}) on {}:\n{stderr}",
        page.display()
    );
    let _ = std::fs::remove_dir_all(&profile);
    stdout
}

/// The page's DOM once its scripts ran.
pub fn dump_dom(page: &Path) -> String {
    dump_dom_at(page, "")
}

/// The DOM of `page` opened at `fragment`, once its scripts ran.
pub fn dump_dom_at(page: &Path, fragment: &str) -> String {
    let dom = run(page, fragment, &["--dump-dom", "--virtual-time-budget=5000"]);
    assert!(
        dom.contains("</html>"),
        "no DOM came back for {}:\n{dom}",
        page.display()
    );
    dom
}

/// A screenshot of the page's top at `width` × `height` CSS pixels, written to `png`.
pub fn screenshot(page: &Path, png: &Path, width: u32, height: u32) {
    let _ = std::fs::remove_file(png);
    run(
        page,
        "",
        &[
            &format!("--screenshot={}", png.display()),
            &format!("--window-size={width},{height}"),
            "--hide-scrollbars",
        ],
    );
    assert!(png.is_file(), "the browser wrote no screenshot of {}", page.display());
}

/// The value of attribute `name` on the element whose id is `id`, in serialised HTML.
pub fn attribute(dom: &str, id: &str, name: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let open = dom[..at].rfind('<')?;
    let close = open + dom[open..].find('>')?;
    let tag = &dom[open..close];
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    Some(tag[start..end].replace("&quot;", "\"").replace("&amp;", "&"))
}

/// The text inside the element whose id is `id`, each nested tag's place a line break.
pub fn text_of(dom: &str, id: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let open = dom[..at].rfind('<')?;
    let name: String = dom[open + 1..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let start = at + dom[at..].find('>')? + 1;
    // Find the matching close tag, counting elements of the same name nested inside.
    let (open_tag, close_tag) = (format!("<{name}"), format!("</{name}>"));
    let (mut depth, mut pos) = (1, start);
    while depth > 0 {
        let next_close = pos + dom[pos..].find(&close_tag)?;
        match dom[pos..next_close].find(&open_tag) {
            Some(o) => {
                depth += 1;
                pos += o + open_tag.len();
            }
            None => {
                depth -= 1;
                pos = next_close + close_tag.len();
            }
        }
    }
    let inner = &dom[start..pos - close_tag.len()];
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push('\n');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(text.trim().to_string())
}

/// Fails with the page's own error list unless it rendered cleanly and offline.
pub fn assert_rendered_cleanly(dom: &str) {
    let errors = attribute(dom, "script-errors", "data-count").expect("the error box is in the page");
    assert_eq!(
        errors,
        "0",
        "script errors: {}",
        text_of(dom, "script-errors").unwrap_or_default()
    );
    assert_eq!(attribute(dom, "page", "data-rendered").as_deref(), Some("true"));
    assert_eq!(
        attribute(dom, "page", "data-resource-requests").as_deref(),
        Some("0"),
        "the page fetched something"
    );
}
