//! Runs the real `parabench` binary with bounded memory and time, for hostile inputs:
//! a run that allocates without bound fails its allocation instead of swapping the
//! machine, and one that hangs is killed and reported instead of hanging the suite.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The address space the child may map: far above what a refused scenario needs, far
/// below what an unbounded allocation asks for.
pub const MEMORY_LIMIT_KIB: u64 = 1024 * 1024;

/// How long the child may run before it is killed and the case fails.
pub const TIME_LIMIT: Duration = Duration::from_secs(20);

/// What a bounded run ended with.
#[derive(Debug)]
pub struct Bounded {
    /// The exit code; `None` when a signal ended it (a stack overflow, say) or it was
    /// killed for taking too long.
    pub code: Option<i32>,
    /// Whether it was killed after [`TIME_LIMIT`].
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

/// `parabench ARGS` in `dir`, under `ulimit -v` [`MEMORY_LIMIT_KIB`] and [`TIME_LIMIT`].
///
/// The limit is set by `sh` before it execs the binary, so the test process itself needs
/// no unsafe `pre_exec`.
pub fn parabench_bounded(dir: &Path, args: &[&str]) -> Bounded {
    let limit = format!("ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\"");
    let child = Command::new("sh")
        .arg("-c")
        .arg(limit)
        .arg(env!("CARGO_BIN_EXE_parabench"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs");
    wait_bounded(child)
}

/// Waits for `child` at most [`TIME_LIMIT`], reading its output as it comes so that a
/// full pipe never blocks it.
fn wait_bounded(mut child: Child) -> Bounded {
    let read = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("piped")));
    let stderr = read(Box::new(child.stderr.take().expect("piped")));
    let start = Instant::now();
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break (Some(status), false);
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        thread::sleep(Duration::from_millis(5));
    };
    Bounded {
        code: status.and_then(|s| s.code()),
        timed_out,
        stdout: stdout.join().expect("reader"),
        stderr: stderr.join().expect("reader"),
    }
}
