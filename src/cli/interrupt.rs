//! Ctrl-C and SIGTERM during a run: the first stops the run and keeps what it measured,
//! the second exits at once.
//!
//! The signals are taken on a thread of their own (signal-hook), so a handler never runs
//! inside the runtime or touches the report; it only cancels the command's token, and
//! the command ends through its normal path: outcomes, report, files, telemetry flush.
//! The thread is started once per process: commands run in process (tests, the fuzz
//! target) each get a fresh token from the same watcher.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tokio_util::sync::CancellationToken;

use super::output;

/// The process's one signal watcher.
struct Watcher {
    /// The token of the command running now.
    current: Mutex<CancellationToken>,
    /// The first signal received by the command running now, or 0.
    signal: AtomicI32,
}

static WATCHER: OnceLock<Result<Watcher, String>> = OnceLock::new();

/// A command's view of the watcher: its token, and the signal that stopped it.
#[derive(Debug)]
pub(super) struct Interrupt {
    token: CancellationToken,
}

impl Interrupt {
    /// Takes over SIGINT and SIGTERM for the rest of the process (once), and gives the
    /// command about to run a fresh token.
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

    /// 130 after SIGINT, 143 after SIGTERM (the shell's 128 + signal), if one stopped
    /// this command.
    pub(super) fn exit_code(&self) -> Option<u8> {
        let watcher = WATCHER.get()?.as_ref().ok()?;
        match watcher.signal.load(Ordering::SeqCst) {
            0 => None,
            _ if !self.token.is_cancelled() => None,
            signal => Some(exit_code(signal)),
        }
    }
}

/// Registers the handlers and starts the thread that acts on them.
fn start() -> io::Result<Watcher> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("parabench-signals".into())
        .spawn(move || {
            for received in signals.forever() {
                // Only reached once `start` has returned and the watcher is stored.
                let Some(Ok(watcher)) = WATCHER.get() else { continue };
                if watcher
                    .signal
                    .compare_exchange(0, received, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    eprintln!(
                        "\n{}: stopping and writing what was measured (again to exit at once)",
                        name(received)
                    );
                    watcher.current.lock().unwrap_or_else(PoisonError::into_inner).cancel();
                } else {
                    // The user insists: no report, but no half-written file either.
                    output::abandon_pending();
                    std::process::exit(exit_code(received).into());
                }
            }
        })?;
    Ok(Watcher {
        current: Mutex::new(CancellationToken::new()),
        signal: AtomicI32::new(0),
    })
}

fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(u8::MAX)
}

fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "interrupted (SIGINT)",
        SIGTERM => "terminated (SIGTERM)",
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
        assert_eq!(third.exit_code(), None, "cancelled, but by no signal");
    }
}
