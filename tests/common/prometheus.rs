//! A real Prometheus server on 127.0.0.1, loaded with samples backfilled from an
//! OpenMetrics text, so tests can ask Prometheus itself what a PromQL query returns.
//!
//! Backfilling (`promtool tsdb create-blocks-from openmetrics`) instead of scraping keeps
//! the test free of scrape intervals: the samples and their timestamps are exactly the
//! ones written, and the server answers as soon as it has loaded them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long the server may take to load its blocks and answer `/-/ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `prometheus`, killed on drop.
pub struct Prometheus {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Prometheus {
    /// Backfills `openmetrics` into a new TSDB under `dir` with `promtool`, then serves it
    /// with `prometheus` on a free loopback port. `promtool` and `prometheus` are the
    /// commands to use (the caller decides where they come from).
    pub fn start(mut promtool: Command, mut prometheus: Command, openmetrics: &str, dir: &Path) -> Self {
        let input = dir.join("samples.om");
        let data = dir.join("data");
        std::fs::write(&input, openmetrics).unwrap();
        let out = promtool
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool refused the backfill:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // No scrape configuration: the backfilled blocks are the only data.
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, "global:\n  evaluation_interval: 1h\n").unwrap();
        let port = free_port();
        let log = dir.join("prometheus.log");
        let child = prometheus
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("prometheus starts");
        let mut server = Prometheus { child, port, log };
        server.wait_until_ready();
        server
    }

    fn wait_until_ready(&mut self) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("prometheus exited ({status}) before it was ready:\n{}", self.log());
            }
            if matches!(http_get(self.port, "/-/ready"), Ok((200, _))) {
                return;
            }
            assert!(
                start.elapsed() < READY_TIMEOUT,
                "prometheus not ready after {READY_TIMEOUT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the server logged so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path?params` against the HTTP API: the `data` of a successful answer, or the
    /// error Prometheus gave.
    pub fn api(&self, path: &str, params: &[(&str, String)]) -> Result<Value, String> {
        let query: Vec<String> = params
            .iter()
            .map(|(key, value)| format!("{}={}", percent_encode(key), percent_encode(value)))
            .collect();
        let target = format!("{path}?{}", query.join("&"));
        let (status, body) = http_get(self.port, &target).map_err(|e| format!("GET {target}: {e}"))?;
        let answer: Value =
            serde_json::from_str(&body).map_err(|e| format!("GET {target}: status {status}, {e}: {body}"))?;
        if answer["status"] == "success" {
            Ok(answer["data"].clone())
        } else {
            Err(format!("{}: {}", answer["errorType"], answer["error"]))
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One HTTP/1.0 GET: the server closes the connection after a body sent whole, never
/// chunked, so reading to the end is the whole answer.
fn http_get(port: u16, target: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(stream, "GET {target} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

/// Everything but RFC 3986's unreserved characters, percent-encoded.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
