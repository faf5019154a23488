//! A child process run to its end, with its wall time and peak resident memory, from
//! wait4(2) (Linux). Shared by `tests/scale.rs` and `examples/floor.rs`.

// Each user reads what it needs of a run.
#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished child took.
pub struct Measured {
    /// Its exit code, or `None` if a signal ended it.
    pub code: Option<i32>,
    /// From spawn to exit.
    pub wall: Duration,
    /// Its peak resident set, in bytes (`ru_maxrss`). A child's starts from its parent's
    /// at the fork: measure from a small process. (A test that panicked with a backtrace
    /// has read the debug info of its binary into the parent, so after one failure the
    /// children's peaks read high.)
    pub peak_bytes: u64,
}

/// Runs `command` (its stdout discarded) to its end.
pub fn run(command: &mut Command) -> std::io::Result<Measured> {
    let started = Instant::now();
    let child = command.stdout(Stdio::null()).spawn()?;
    let pid = libc::pid_t::try_from(child.id()).map_err(std::io::Error::other)?;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value to be overwritten; the pid is our own
    // child, which `std` never waits for as the `Child` is forgotten below.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    std::mem::forget(child);
    if reaped != pid {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Measured {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        wall,
        // Linux reports ru_maxrss in KiB.
        peak_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    })
}
