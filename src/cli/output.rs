//! Output files written atomically: a run never leaves a truncated report behind.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Temporary files not yet renamed into place, for [`abandon_pending`].
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes every temporary file not yet renamed: for an exit that skips destructors
/// (a second Ctrl-C), so it leaves no stray file behind.
pub(super) fn abandon_pending() {
    for temp in pending().drain(..) {
        let _ = std::fs::remove_file(temp);
    }
}

/// Fails, naming both flags, when two of a command's outputs would write to the same
/// place: two `-`, or two paths to one file. Each output has a temporary file of its
/// own and the last rename would win, so one report would silently replace the other.
pub(super) fn check_distinct(outputs: &[(&str, Option<&Path>)]) -> Result<(), String> {
    let mut seen: Vec<(&str, PathBuf)> = Vec::new();
    for &(flag, path) in outputs {
        let Some(path) = path else { continue };
        let place = destination(path);
        if let Some((first, _)) = seen.iter().find(|(_, p)| *p == place) {
            return Err(if path == Path::new("-") {
                format!("{first} - and {flag} - cannot both write to standard output")
            } else {
                format!(
                    "{first} and {flag} both write to {} (expected a different file for each)",
                    path.display()
                )
            });
        }
        seen.push((flag, place));
    }
    Ok(())
}

/// Where `path` writes: `-`, or the file in its directory as the system resolves it, so
/// `out.json`, `./out.json` and a path through a symbolic link to the same directory all
/// compare equal.
fn destination(path: &Path) -> PathBuf {
    if path == Path::new("-") {
        return path.to_path_buf();
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (dir.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        // An unusable path: `Output::prepare` says why.
        _ => path.to_path_buf(),
    }
}

/// Where a report goes: standard output (`-`) or a file.
#[derive(Debug)]
pub(super) enum Output {
    Stdout,
    File(PendingFile),
}

/// A temporary file beside the target, renamed over it once complete.
#[derive(Debug)]
pub(super) struct PendingFile {
    target: PathBuf,
    temp: PathBuf,
    file: File,
}

impl Output {
    /// Opens the destination before anything runs, so an unwritable path is an error
    /// up front rather than after a long run.
    pub(super) fn prepare(path: &Path) -> io::Result<Self> {
        if path == Path::new("-") {
            return Ok(Output::Stdout);
        }
        if path.is_dir() {
            // The rename at the end would fail, after the whole run.
            return Err(io::Error::new(io::ErrorKind::IsADirectory, "it is a directory"));
        }
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let (temp, file) = create_temp(dir, &name.to_string_lossy())?;
        pending().push(temp.clone());
        Ok(Output::File(PendingFile {
            target: path.to_path_buf(),
            temp,
            file,
        }))
    }

    pub(super) fn is_stdout(&self) -> bool {
        matches!(self, Output::Stdout)
    }

    /// Writes `bytes` and moves the file into place.
    pub(super) fn commit(self, bytes: &[u8]) -> io::Result<()> {
        self.commit_with(|out| out.write_all(bytes))
    }

    /// Writes what `write` produces, streamed rather than built in memory first (a
    /// million calls' JSON is a gigabyte), and moves the file into place only once all
    /// of it is written and synced.
    pub(super) fn commit_with(self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
        match self {
            Output::Stdout => {
                let mut out = io::BufWriter::new(io::stdout().lock());
                write(&mut out)?;
                out.flush()
            }
            Output::File(pending) => {
                let mut out = io::BufWriter::new(&pending.file);
                write(&mut out)?;
                out.flush()?;
                drop(out);
                pending.file.sync_all()?;
                std::fs::rename(&pending.temp, &pending.target)?;
                forget(&pending.temp);
                Ok(())
            }
        }
    }
}

/// A new file `.{name}.{pid}.{n}.tmp` in `dir`: unique to this output even when another
/// output, or another parabench, targets the same file, and never one already there.
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match File::options().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            // Left by an earlier process with this pid that was killed: skip it.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        // An output abandoned or failed before its rename leaves nothing behind; after
        // the rename the temporary path is gone and this does nothing.
        let _ = std::fs::remove_file(&self.temp);
        forget(&self.temp);
    }
}

fn forget(temp: &Path) {
    pending().retain(|p| p != temp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_once_committed() {
        let dir = std::env::temp_dir().join(format!("parabench-output-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("report.json");
        let out = Output::prepare(&target).unwrap();
        assert!(!target.exists());
        out.commit(b"{}").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"{}");
        let abandoned = Output::prepare(&dir.join("other.json")).unwrap();
        drop(abandoned);
        let cut_short = Output::prepare(&dir.join("cut.json")).unwrap();
        abandon_pending();
        std::mem::forget(cut_short);
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["report.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn two_outputs_to_one_file_are_refused_and_their_temporary_files_differ() {
        let dir = std::env::temp_dir().join(format!("parabench-output-same-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let same = dir.join("same.out");
        let via_dot = dir.join(".").join("same.out");
        let err = check_distinct(&[("--json", Some(&same)), ("--svg", None), ("--hlog", Some(&via_dot))]).unwrap_err();
        assert!(err.starts_with("--json and --hlog both write to"), "{err}");
        let err = check_distinct(&[("--json", Some(Path::new("-"))), ("--html", Some(Path::new("-")))]).unwrap_err();
        assert_eq!(err, "--json - and --html - cannot both write to standard output");
        assert!(check_distinct(&[("--json", Some(&same)), ("--hlog", Some(&dir.join("other.out")))]).is_ok());
        // Should two outputs still meet one file (the library used without the check),
        // each writes its own temporary file and the target holds one of them whole.
        let (first, second) = (Output::prepare(&same).unwrap(), Output::prepare(&same).unwrap());
        first.commit(b"first").unwrap();
        second.commit(b"second").unwrap();
        assert_eq!(std::fs::read(&same).unwrap(), b"second");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_path_fails_up_front() {
        assert!(Output::prepare(Path::new("/nonexistent-dir/report.json")).is_err());
        let dir = std::env::temp_dir();
        assert_eq!(Output::prepare(&dir).unwrap_err().kind(), io::ErrorKind::IsADirectory);
    }
}
