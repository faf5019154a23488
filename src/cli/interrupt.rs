//! Ctrl-C and SIGTERM during a run: the first stops the run and keeps what it measured,
//! the second exits at once.
//!
//! The signals are taken on a thread of their own (signal-hook), so a handler never runs
//! inside the runtime or touches the report; it only cancels the run's token, and the
//! run ends through its normal path: outcomes, report, files, telemetry flush.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tokio_util::sync::CancellationToken;

use super::output;

/// Watches for SIGINT and SIGTERM from when it is installed until the process ends.
#[derive(Debug)]
pub(super) struct Interrupt {
    token: CancellationToken,
    /// The first signal received, or 0.
    signal: Arc<AtomicI32>,
}

impl Interrupt {
    /// Takes over SIGINT and SIGTERM for the rest of the process.
    pub(super) fn install() -> io::Result<Self> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let token = CancellationToken::new();
        let signal = Arc::new(AtomicI32::new(0));
        let (cancel, first) = (token.clone(), signal.clone());
        std::thread::Builder::new()
            .name("parabench-signals".into())
            .spawn(move || {
                for received in signals.forever() {
                    if first
                        .compare_exchange(0, received, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                    {
                        eprintln!(
                            "\n{}: stopping and writing what was measured (again to exit at once)",
                            name(received)
                        );
                        cancel.cancel();
                    } else {
                        // The user insists: no report, but no half-written file either.
                        output::abandon_pending();
                        std::process::exit(exit_code(received).into());
                    }
                }
            })?;
        Ok(Self { token, signal })
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

    /// 130 after SIGINT, 143 after SIGTERM (the shell's 128 + signal), if one came.
    pub(super) fn exit_code(&self) -> Option<u8> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(exit_code(signal)),
        }
    }
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
}
