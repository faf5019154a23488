//! Ctrl-C, SIGTERM and SIGHUP during a run: the first stops the run and keeps what it
//! measured, the second exits at once.
//!
//! The signals are taken on a thread of their own (signal-hook), so a handler never runs
//! inside the runtime or touches the report; it only cancels the command's token, and
//! the command ends through its normal path: outcomes, report, files, telemetry flush.
//! The thread is started once per process: commands run in process (tests, the fuzz
//! target) each get a fresh token from the same watcher.

use std::io::{self, Write};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tokio_util::sync::CancellationToken;

use super::{EXIT_INPUT, output};

/// The process's one signal watcher.
struct Watcher {
    /// The token of the command running now.
    current: Mutex<CancellationToken>,
    /// The first signal received by the command running now, or 0.
    signal: AtomicI32,
}

static WATCHER: OnceLock<Result<Arc<Watcher>, String>> = OnceLock::new();

/// A command's view of the watcher: its token, and the signal that stopped it.
#[derive(Debug)]
pub(super) struct Interrupt {
    token: CancellationToken,
}

impl Interrupt {
    /// Takes over SIGINT, SIGTERM and SIGHUP for the rest of the process (once), and
    /// gives the command about to run a fresh token.
    pub(super) fn install() -> io::Result<Self> {
        let watcher = WATCHER
            .get_or_init(|| start().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| io::Error::other(e.clone()))?;
        let token = CancellationToken::new();
        *watcher.current.lock().unwrap_or_else(PoisonError::into_inner) = token.clone();
        watcher.signal.store(0, Ordering::SeqCst);
        Ok(Self { token })
    }

    /// [`Interrupt::install`], or a warning and `None`: the work can still be done, only
    /// not interrupted gracefully.
    pub(super) fn install_or_warn() -> Option<Self> {
        match Self::install() {
            Ok(i) => Some(i),
            Err(e) => {
                eprintln!("warning: cannot watch for Ctrl-C ({e}); an interrupted run will leave no report");
                None
            }
        }
    }

    /// Cancelled by the first signal.
    pub(super) fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// The signal that cancelled this command's token, if one did.
    fn signal(&self) -> Option<i32> {
        let watcher = WATCHER.get()?.as_ref().ok()?;
        match watcher.signal.load(Ordering::SeqCst) {
            0 => None,
            _ if !self.token.is_cancelled() => None,
            signal => Some(signal),
        }
    }

    /// The command's exit code, given the one it would have had (`code`) and whether
    /// what it wrote is `partial`: 130 after SIGINT, 143 after SIGTERM, 129 after SIGHUP
    /// (the shell's 128 + signal) when the signal cut the work short. A signal that came
    /// once the work was done changes nothing, and a report that could not be written
    /// (exit 1) is never hidden behind a signal's code.
    pub(super) fn exit_code(&self, partial: bool, code: u8) -> u8 {
        match self.signal() {
            Some(_) if code == EXIT_INPUT => code,
            Some(signal) if partial => exit_code(signal),
            Some(signal) => {
                let _ = writeln!(
                    io::stderr(),
                    "note: {} after the work had finished: the report is complete",
                    name(signal)
                );
                code
            }
            None => code,
        }
    }
}

/// Registers the handlers and starts the thread that acts on them.
fn start() -> io::Result<Arc<Watcher>> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    // Shared with the thread from the start: a signal that arrives before `WATCHER` is
    // set is acted on, not lost.
    let watcher = Arc::new(Watcher {
        current: Mutex::new(CancellationToken::new()),
        signal: AtomicI32::new(0),
    });
    let seen = Arc::clone(&watcher);
    std::thread::Builder::new()
        .name("parabench-signals".into())
        .spawn(move || {
            for received in signals.forever() {
                if seen
                    .signal
                    .compare_exchange(0, received, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    // Cancel before saying so: the handlers have replaced the default
                    // actions, so if this thread died on a write (stderr a closed pipe),
                    // no signal could stop the run any more.
                    seen.current.lock().unwrap_or_else(PoisonError::into_inner).cancel();
                    let _ = writeln!(
                        io::stderr(),
                        "\n{}: stopping and writing what was measured (again to exit at once)",
                        name(received)
                    );
                } else {
                    // The user insists: no report, but no half-written file either.
                    output::abandon_pending();
                    std::process::exit(exit_code(received).into());
                }
            }
        })?;
    Ok(watcher)
}

fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(u8::MAX)
}

fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "interrupted (SIGINT)",
        SIGTERM => "terminated (SIGTERM)",
        SIGHUP => "hung up (SIGHUP)",
        _ => "signalled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_code(SIGINT), 130);
        assert_eq!(exit_code(SIGTERM), 143);
        assert_eq!(exit_code(SIGHUP), 129);
    }

    /// Threads of this process named like the watcher (Linux truncates names to 15 bytes).
    #[cfg(target_os = "linux")]
    fn watcher_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim_end() == "parabench-signa")
            .count()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn commands_in_one_process_share_one_watcher_and_get_fresh_tokens() {
        let first = Interrupt::install().unwrap();
        let second = Interrupt::install().unwrap();
        let third = Interrupt::install().unwrap();
        // A thread names itself once it runs, a moment after it is spawned.
        let start = std::time::Instant::now();
        while watcher_threads() == 0 && start.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(watcher_threads(), 1);
        let tokens = [first.token(), second.token(), third.token()];
        assert!(tokens.iter().all(|t| !t.is_cancelled()));
        // The watcher cancels the latest command's token only.
        WATCHER
            .get()
            .unwrap()
            .as_ref()
            .unwrap()
            .current
            .lock()
            .unwrap()
            .cancel();
        assert_eq!(tokens.map(|t| t.is_cancelled()), [false, false, true]);
        assert_eq!(third.exit_code(true, 0), 0, "cancelled, but by no signal");
    }
}
