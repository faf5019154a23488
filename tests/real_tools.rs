//! Real tools (`kind = "mcp"`, `kind = "http"`) through the real binary, against servers
//! no one here wrote: the official MCP Python SDK's server (over streamable HTTP and
//! stdio), `parabench serve` itself, and a plain HTTP server on loopback. Bounded counts;
//! figures are checked against what the servers are known to do, with room for a loaded
//! machine.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{read_json, temp_dir, text, write};
use serde_json::Value;

/// The binary, run in `dir` (where the scenarios of a test are written), with `env`.
fn parabench_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_parabench"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .unwrap();
    text(&out)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until something listens on `port`.
fn wait_for_port(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited ({status}) before it listened on {port}");
        }
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The MCP Python SDK's server of `tests/producers/mcp_server.py`, over streamable HTTP;
/// ended when dropped.
struct PythonServer {
    child: Child,
    url: String,
    log: PathBuf,
}

impl PythonServer {
    fn start(python: &str, dir: &Path) -> Self {
        let port = free_port();
        let log = dir.join("server-log.jsonl");
        let mut child = Command::new(python)
            .arg(common::root().join("tests/producers/mcp_server.py"))
            .args(["http", &port.to_string()])
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, &mut child);
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
            log,
        }
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of a server's log.
fn server_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A scenario of `work` calls (40 of 50 ms at 8 in flight), a chain of two `echo`s, and a
/// `flaky` call retried once, against the MCP server at `server` (a `server = ...` or
/// `command = [...]` line).
fn capacity_scenario(server: &str) -> String {
    format!(
        r#"name = "capacity_four"
[executor]
max_concurrency = 8
timeout = "10s"
[executor.retry]
max_attempts = 2
initial_backoff = "10ms"
[tools.work]
kind = "mcp"
{server}
[tools.echo]
kind = "mcp"
{server}
[tools.flaky]
kind = "mcp"
{server}
[[generate]]
tool = "work"
count = 40
params = {{ i = 7, ms = 50 }}
[[calls]]
id = "e1"
tool = "echo"
params = {{ text = "hello" }}
[[calls]]
id = "e2"
tool = "echo"
params = {{ text = "${{e1.result}}" }}
[[calls]]
id = "f"
tool = "flaky"
params = {{ key = "k" }}
"#
    )
}

/// What a run against the capacity-4 server must show, in its report and its log.
fn check_capacity_run(report: &Value, log: &[Value], trace: &Path) {
    common::assert_matches_schema("report-v1.schema.json", report);
    assert_eq!(report["samples"], "measured");
    let runs = report["runs"].as_array().unwrap();
    // The server has room for 4 calls of 50 ms at once, whatever the client's 8: 40 calls
    // take at least 2.0 s one at a time and at least 0.5 s at 8, so the speedup is about 4
    // (a little more: each call's own overhead, on both sides, overlaps the others'
    // work); never the client's 8.
    let walls: Vec<f64> = runs.iter().map(|r| r["wall_s"].as_f64().unwrap()).collect();
    let speedup = report["speedup"].as_f64().unwrap();
    assert!((2.0..4.5).contains(&walls[0]), "sequential {walls:?}");
    assert!((0.5..1.2).contains(&walls[1]), "parallel {walls:?}");
    assert!((3.0..6.0).contains(&speedup), "speedup {speedup}, walls {walls:?}");
    // The server saw exactly the calls and attempts the report counts: 43 calls a run,
    // and one more attempt for the flaky call's first try (in the first run only: the
    // server remembers the key).
    let attempts: u64 = runs
        .iter()
        .flat_map(|r| r["calls"].as_array().unwrap())
        .map(|c| c["attempts"].as_u64().unwrap())
        .sum();
    assert_eq!(log.len() as u64, attempts);
    assert_eq!(attempts, 2 * 43 + 1);
    let flaky = |run: &Value| {
        run["calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "f")
            .unwrap()
            .clone()
    };
    assert_eq!(
        (flaky(&runs[0])["attempts"].as_u64(), flaky(&runs[0])["status"].as_str()),
        (Some(2), Some("ok"))
    );
    // The dependent call was sent exactly its dependency's result text, in both runs.
    let echoes: Vec<&str> = log
        .iter()
        .filter(|l| l["tool"] == "echo")
        .map(|l| l["arguments"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(echoes.iter().filter(|t| **t == "echo: hello").count(), 2, "{echoes:?}");
    assert_eq!(echoes.iter().filter(|t| **t == "hello").count(), 2, "{echoes:?}");
    // Every request carried its call's span context: the run's trace id, and the span
    // id of an execute_tool span of the run's trace file.
    let spans = execute_tool_spans(trace);
    for line in log {
        let tp = line["traceparent"]
            .as_str()
            .unwrap_or_else(|| panic!("no traceparent: {line}"));
        let parts: Vec<&str> = tp.split('-').collect();
        assert_eq!(parts.len(), 4, "{tp}");
        assert!(
            spans.contains(&(parts[1].to_string(), parts[2].to_string())),
            "{tp} names no call span"
        );
    }
}

/// (trace id, span id) of every `execute_tool` span of an OTLP/JSON Lines file.
fn execute_tool_spans(path: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let doc: Value = serde_json::from_str(line).unwrap();
        for rs in doc["resourceSpans"].as_array().unwrap() {
            for ss in rs["scopeSpans"].as_array().unwrap() {
                for s in ss["spans"].as_array().unwrap() {
                    if s["name"].as_str().unwrap_or("").starts_with("execute_tool ") {
                        out.push((
                            s["traceId"].as_str().unwrap().to_string(),
                            s["spanId"].as_str().unwrap().to_string(),
                        ));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn the_python_sdks_server_over_http_is_measured_call_for_call() {
    let Some(python) = common::python("mcp.server", "the MCP Python SDK (mcp)") else {
        return;
    };
    let dir = temp_dir("real-python-http");
    let server = PythonServer::start(&python, &dir);
    write(
        &dir,
        "capacity.toml",
        &capacity_scenario(&format!("server = \"{}\"", server.url)),
    );
    let (code, stdout, stderr) = parabench_in(
        &dir,
        &["run", "capacity.toml", "--json", "r.json", "--trace-file", "t.jsonl"],
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    // What it would call, said before it called anything.
    assert!(
        stdout.starts_with("real tools (their latencies are measured, not drawn):\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("work         mcp {} (tool work)", server.url)),
        "{stdout}"
    );
    assert!(
        stdout.contains("each run's latencies were measured, not drawn"),
        "{stdout}"
    );
    check_capacity_run(
        &read_json(&dir.join("r.json")),
        &server_log(&server.log),
        &dir.join("t.jsonl"),
    );
}

#[test]
fn the_python_sdks_server_over_stdio_is_started_for_the_run_and_ended_after_it() {
    let Some(python) = common::python("mcp.server", "the MCP Python SDK (mcp)") else {
        return;
    };
    let dir = temp_dir("real-python-stdio");
    let log = dir.join("server-log.jsonl");
    let script = common::root().join("tests/producers/mcp_server.py");
    let command = format!(
        "command = [{:?}, {:?}, \"stdio\", {:?}]",
        python,
        script.display().to_string(),
        log.display().to_string()
    );
    write(&dir, "capacity.toml", &capacity_scenario(&command));
    let (code, stdout, stderr) = parabench_in(
        &dir,
        &[
            "run",
            "capacity.toml",
            "--json",
            "r.json",
            "--trace-file",
            "t.jsonl",
            "--html",
            "r.html",
            "--hlog",
            "r.hlog",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    check_capacity_run(&read_json(&dir.join("r.json")), &server_log(&log), &dir.join("t.jsonl"));
    // The page and the interval log, as for simulated tools.
    let page = std::fs::read_to_string(dir.join("r.html")).unwrap();
    assert!(
        page.contains("capacity_four") && page.contains("\"samples\":\"measured\""),
        "the page embeds the report"
    );
    let hlog = std::fs::read_to_string(dir.join("r.hlog")).unwrap();
    assert!(hlog.contains("parallel/work/service"), "{hlog}");
    // The server was ended with the run: no process still has its log open.
    let ours = std::process::Command::new("pgrep")
        .args(["-f", &log.display().to_string()])
        .output()
        .unwrap();
    assert!(ours.stdout.is_empty(), "a server outlived the run");
}

#[test]
fn tune_finds_the_servers_capacity() {
    let Some(python) = common::python("mcp.server", "the MCP Python SDK (mcp)") else {
        return;
    };
    let dir = temp_dir("real-python-tune");
    let server = PythonServer::start(&python, &dir);
    // Calls long beside the server's own cost per request, so that capacity, not the
    // overlap of that cost with other calls' work, sets the curve.
    let scenario = format!(
        "name = \"knee\"\n[tools.work]\nkind = \"mcp\"\nserver = \"{}\"\n[[generate]]\ntool = \"work\"\ncount = 16\n\
         params = {{ i = 1, ms = 200 }}\n[sweep]\nmax_concurrency = [1, 2, 4, 8]\n",
        server.url
    );
    write(&dir, "knee.toml", &scenario);
    let (code, stdout, stderr) = parabench_in(&dir, &["tune", "knee.toml", "--json", "tune.json"], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("the levels run one after another against the same servers"),
        "{stderr}"
    );
    let tune = read_json(&dir.join("tune.json"));
    assert_eq!(tune["recommended"], 4, "{}\n{stdout}", tune["reason"]);
    // The bound sees only the client's limit, which still binds at 8; what stopped the
    // curve is the server, and the reason says so rather than predicting a rise.
    let reason = tune["reason"].as_str().unwrap();
    assert!(
        reason.contains("from 4 to 8") && reason.contains("the real tools' own capacity"),
        "{reason}"
    );
    let throughput = |level: u64| {
        tune["levels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["max_concurrency"] == level)
            .unwrap()["throughput"]
            .as_f64()
            .unwrap()
    };
    // Beyond its capacity the server gives no more.
    assert!(throughput(8) < throughput(4) * 1.1, "{stdout}");
    assert!(throughput(4) > throughput(2) * 1.6, "{stdout}");
}

#[test]
fn a_run_against_parabench_serve_agrees_with_what_it_served() {
    let dir = temp_dir("real-serve");
    let served = dir.join("served.json");
    let (mut child, lines) = common::spawn_with_stderr_lines(
        Command::new(env!("CARGO_BIN_EXE_parabench"))
            .args([
                "serve",
                "independent_io",
                "--http",
                "127.0.0.1:0",
                "--for",
                "120s",
                "--json",
            ])
            .arg(&served),
    );
    let url = loop {
        let line = lines.recv_timeout(Duration::from_secs(60)).expect("the listening line");
        if let Some(url) = line.strip_prefix("listening: ") {
            break url.to_string();
        }
    };
    let scenario = format!(
        "name = \"against_serve\"\n[executor]\nmax_concurrency = 5\n[tools.api]\nkind = \"mcp\"\nserver = \"{url}\"\n\
         sessions = \"per-call\"\n[[generate]]\ntool = \"api\"\ncount = 10\nparams = {{ q = \"x\" }}\n"
    );
    write(&dir, "serve.toml", &scenario);
    let (code, stdout, stderr) = parabench_in(&dir, &["run", "serve.toml", "--json", "r.json"], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // SAFETY: kill(2) on our own child's pid has no memory effects.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let report = read_json(&dir.join("r.json"));
    let served = read_json(&served);
    // Call for call: every call of both runs was served, once, ok, a session each.
    let made: Vec<(String, String)> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["calls"].as_array().unwrap())
        .map(|c| {
            (
                c["tool"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let got: Vec<(String, String)> = served["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["tool"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(made, got);
    assert_eq!(served["sessions"].as_array().unwrap().len(), 20, "a session per call");
    // The served steps are the run's: ten one at a time, then ten five at a time.
    let most: Vec<u64> = served["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["max_in_flight"].as_u64().unwrap())
        .collect();
    assert_eq!(most.iter().max(), Some(&5), "{most:?}");
}

/// An answer: status, headers, body.
type Answer = (u16, Vec<(String, String)>, String);

/// A plain HTTP server on loopback that records each request and answers as `answer`
/// says, from a thread per connection.
struct HttpServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl HttpServer {
    fn start(answer: fn(&str, usize) -> Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    loop {
                        let Some(request) = read_request(&mut stream) else {
                            return;
                        };
                        let n = {
                            let mut seen = seen.lock().unwrap();
                            seen.push((Instant::now(), request.clone()));
                            seen.len()
                        };
                        let (status, headers, body) = answer(&request, n);
                        let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
                        for (k, v) in headers {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                        head.push_str("\r\n");
                        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { addr, requests }
    }

    fn requests(&self) -> Vec<(Instant, String)> {
        self.requests.lock().unwrap().clone()
    }
}

/// One HTTP/1.1 request (head and body), or `None` at the connection's end.
fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    Some(head + &String::from_utf8_lossy(&body))
}

#[test]
fn an_http_endpoint_is_waited_for_as_its_retry_after_says_and_sent_its_headers() {
    // The first request is told to come back in a second; the others are served.
    let server = HttpServer::start(|_, n| match n {
        1 => (429, vec![("Retry-After".into(), "1".into())], "slow down".into()),
        _ => (200, Vec::new(), r#"{"title": "Tokio"}"#.into()),
    });
    let dir = temp_dir("real-http");
    let scenario = format!(
        r#"name = "http_tools"
[executor]
max_concurrency = 1
[executor.retry]
max_attempts = 3
initial_backoff = "1ms"
max_backoff = "2ms"
[tools.items]
kind = "http"
url = "http://{addr}/items"
headers = {{ Authorization = "Bearer ${{env.ITEMS_TOKEN}}" }}
[tools.post]
kind = "http"
url = "http://{addr}/post"
method = "POST"
[[calls]]
id = "a"
tool = "items"
params = {{ q = "rust async", n = 3 }}
[[calls]]
id = "b"
tool = "post"
params = {{ about = "${{a.title}}", whole = "${{a.result}}" }}
"#,
        addr = server.addr
    );
    write(&dir, "http.toml", &scenario);
    let env = [("ITEMS_TOKEN", "s3cret")];
    let (code, stdout, stderr) = parabench_in(
        &dir,
        &[
            "run",
            "http.toml",
            "--mode",
            "sequential",
            "--json",
            "r.json",
            "--trace-file",
            "t.jsonl",
        ],
        &env,
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{requests:#?}");
    // The retry waited the second the server asked for, not the backoff's 2 ms.
    let gap = requests[1].0 - requests[0].0;
    assert!(gap >= Duration::from_secs(1), "{gap:?}");
    let (first, retry, post) = (&requests[0].1, &requests[1].1, &requests[2].1);
    let target = first.lines().next().unwrap();
    assert!(
        target.starts_with("GET /items?") && target.contains("q=rust+async") && target.contains("n=3"),
        "{first}"
    );
    assert!(retry.contains("authorization: Bearer s3cret\r\n"), "{retry}");
    assert!(retry.contains("traceparent: 00-"), "{retry}");
    assert!(post.starts_with("POST /post HTTP/1.1\r\n"), "{post}");
    let body: Value = serde_json::from_str(post.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["about"], "Tokio");
    assert_eq!(body["whole"], r#"{"title": "Tokio"}"#);
    let report = read_json(&dir.join("r.json"));
    assert_eq!(report["runs"][0]["calls"][0]["attempts"], 2);
    // An unset variable is refused before anything is sent.
    let before = server.requests().len();
    let (code, _, stderr) = parabench_in(&dir, &["run", "http.toml"], &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("tool `items`: header Authorization needs the environment variable ITEMS_TOKEN"),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), before, "nothing was called");
}

#[test]
fn each_failure_keeps_its_kind_in_the_report() {
    let server = HttpServer::start(|request, _| {
        if request.starts_with("GET /teapot") {
            (418, Vec::new(), "I'm a teapot".into())
        } else {
            (201, Vec::new(), "made".into())
        }
    });
    let dir = temp_dir("real-failures");
    let scenario = format!(
        "name = \"failures\"\n[tools.teapot]\nkind = \"http\"\nurl = \"http://{addr}/teapot\"\n\
         [tools.made]\nkind = \"http\"\nurl = \"http://{addr}/made\"\nok_status = [200]\n\
         [[calls]]\nid = \"t\"\ntool = \"teapot\"\n[[calls]]\nid = \"m\"\ntool = \"made\"\n",
        addr = server.addr
    );
    write(&dir, "failures.toml", &scenario);
    let (code, stdout, stderr) = parabench_in(&dir, &["run", "failures.toml", "--json", "r.json"], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report = read_json(&dir.join("r.json"));
    common::assert_matches_schema("report-v1.schema.json", &report);
    let calls = report["runs"][0]["calls"].as_array().unwrap();
    let by_id: BTreeMap<&str, &Value> = calls.iter().map(|c| (c["id"].as_str().unwrap(), c)).collect();
    assert_eq!(
        (&by_id["t"]["failure"], &by_id["t"]["http_status"]),
        (&Value::from("http_status"), &Value::from(418))
    );
    assert!(by_id["t"]["error"].as_str().unwrap().contains("I'm a teapot"));
    // 201 is a success only where ok_status does not narrow it.
    assert_eq!(by_id["m"]["http_status"], 201);
}

#[test]
fn what_cannot_be_called_is_an_input_error_before_anything_runs() {
    let dir = temp_dir("real-refused");
    let nothing = free_port();
    let cases = [
        (
            format!("[tools.s]\nkind = \"mcp\"\nserver = \"http://127.0.0.1:{nothing}/mcp\""),
            format!("tool `s`: cannot reach http://127.0.0.1:{nothing}/mcp"),
        ),
        (
            "[tools.s]\nkind = \"mcp\"\ncommand = [\"/no/such/server\"]".to_string(),
            "tool `s`: cannot reach /no/such/server: cannot start /no/such/server".to_string(),
        ),
        (
            // parabench serve lists `api`, not `search`.
            "[tools.s]\nkind = \"mcp\"\ncommand = [\"parabench\", \"serve\", \"--stdio\", \"independent_io\"]\ntool = \"search\""
                .to_string(),
            "has no tool `search` (it lists: api)".to_string(),
        ),
        (
            format!("[tools.s]\nkind = \"http\"\nurl = \"http://127.0.0.1:{nothing}/x\""),
            format!("tool `s`: cannot reach http://127.0.0.1:{nothing}"),
        ),
    ];
    for (tool, message) in cases {
        let scenario = format!("name = \"refused\"\n{tool}\n[[calls]]\nid = \"a\"\ntool = \"s\"\n");
        write(&dir, "refused.toml", &scenario);
        for args in [
            &["run", "refused.toml"][..],
            &["run", "refused.toml", "--dry-run"],
            &["tune", "refused.toml"],
        ] {
            let (code, stdout, stderr) = parabench_in(&dir, args, &[]);
            assert_eq!(code, 1, "{args:?}: {stdout}{stderr}");
            assert!(stderr.contains(&message), "{args:?}: {stderr}");
            assert!(!stdout.contains("sequential ×1"), "nothing ran: {stdout}");
        }
        // Offline, the file is valid: nothing is contacted.
        let (code, _, stderr) = parabench_in(&dir, &["validate", "refused.toml"], &[]);
        assert_eq!(code, 0, "{stderr}");
    }
    // Simulated time has no place for a real server: located at the tool's kind.
    write(
        &dir,
        "virtual.toml",
        "name = \"v\"\n[tools.s]\nkind = \"mcp\"\nserver = \"http://127.0.0.1:1/mcp\"\n[[calls]]\nid = \"a\"\ntool = \"s\"\n",
    );
    let (code, _, stderr) = parabench_in(&dir, &["run", "virtual.toml", "--clock", "virtual"], &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("error: virtual.toml:3:8: tool `s` is a real tool (kind = \"mcp\")"),
        "{stderr}"
    );
}
