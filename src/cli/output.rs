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
/// Devices and pipes are not compared: two reports to `/dev/null` are fine.
pub(super) fn check_distinct(outputs: &[(&str, Option<&Path>)]) -> Result<(), String> {
    let mut seen: Vec<(&str, &Path, PathBuf)> = Vec::new();
    for &(flag, path) in outputs {
        let Some(path) = path else { continue };
        let place = match Destination::of(path) {
            Ok(Destination::Stdout) => PathBuf::from("-"),
            Ok(Destination::Replace(target)) => target,
            // A stream takes whatever is written to it; an unusable path is
            // `Output::prepare`'s to explain.
            Ok(Destination::Stream { .. }) | Err(_) => continue,
        };
        if let Some((first, first_path, _)) = seen.iter().find(|(_, _, p)| *p == place) {
            return Err(if place == Path::new("-") {
                format!(
                    "{first} {} and {flag} {} cannot both write to standard output",
                    first_path.display(),
                    path.display()
                )
            } else {
                format!(
                    "{first} and {flag} both write to {} (expected a different file for each)",
                    path.display()
                )
            });
        }
        seen.push((flag, path, place));
    }
    Ok(())
}

/// Where an output path really writes, decided before anything runs.
#[derive(Debug, PartialEq)]
enum Destination {
    /// `-`, or a name of this process's standard output (`/dev/stdout`, `/dev/fd/1`).
    Stdout,
    /// A regular file, or none yet: written beside it and renamed over it, so a reader
    /// never sees half a report. A symbolic link is resolved first: the file it points
    /// to is replaced, the link stays.
    Replace(PathBuf),
    /// Anything else, a pipe (`>(jq .)`), a device (`/dev/null`), a terminal, or a
    /// regular file reached through a descriptor of this process: written straight
    /// through. Replacing it would put a regular file where the device or the link to
    /// the descriptor was.
    Stream {
        /// The path as given: opening it reaches the pipe or device.
        path: PathBuf,
        /// Append rather than write from the start: a file behind a descriptor may
        /// already hold what the shell or this process wrote to it.
        append: bool,
    },
}

impl Destination {
    fn of(path: &Path) -> io::Result<Self> {
        if path == Path::new("-") || is_stdout_alias(path) {
            return Ok(Destination::Stdout);
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Err(io::Error::new(io::ErrorKind::IsADirectory, "it is a directory")),
            Ok(meta) if meta.is_file() && !is_descriptor(path) => Ok(Destination::Replace(path.canonicalize()?)),
            Ok(meta) => Ok(Destination::Stream {
                path: path.to_path_buf(),
                append: meta.is_file(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Destination::Replace(in_real_dir(&link_target(path)?))),
            Err(e) => Err(e),
        }
    }
}

/// Names of standard output that parabench itself writes to (`--json -` too): the
/// report goes through the same handle as everything else printed there.
fn is_stdout_alias(path: &Path) -> bool {
    ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"]
        .iter()
        .any(|alias| path == Path::new(alias))
}

/// Whether `path` names an open descriptor of this process rather than a file.
fn is_descriptor(path: &Path) -> bool {
    path.starts_with("/dev/fd") || path.starts_with("/proc/self/fd") || path == Path::new("/dev/stderr")
}

/// The file a path to nothing will create: the end of its chain of symbolic links (a
/// link to a file not yet written), or the path itself.
fn link_target(path: &Path) -> io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    // The kernel's own limit on links followed in one lookup.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let next = std::fs::read_link(&at)?;
                at = match at.parent() {
                    Some(dir) if next.is_relative() => dir.join(next),
                    _ => next,
                };
            }
            _ => return Ok(at),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "too many levels of symbolic links",
    ))
}

/// `path` with its directory as the system resolves it, so `out.json`, `./out.json` and
/// a path through a link to the same directory name the same file; as given when the
/// directory does not exist (opening it then says why).
fn in_real_dir(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (dir.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// Where a report goes: standard output, a file replaced once the report is whole, or
/// a pipe or device written straight through.
#[derive(Debug)]
pub(super) struct Output {
    /// The path as the user gave it, for messages.
    path: PathBuf,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    Stdout,
    File(PendingFile),
    Stream(File),
}

/// A temporary file beside the target, renamed over it once complete.
#[derive(Debug)]
struct PendingFile {
    target: PathBuf,
    temp: PathBuf,
    file: File,
}

impl Output {
    /// Opens the destination before anything runs, so an unwritable path is an error
    /// up front rather than after a long run.
    pub(super) fn prepare(path: &Path) -> io::Result<Self> {
        let sink = match Destination::of(path)? {
            Destination::Stdout => Sink::Stdout,
            Destination::Stream { path, append } => {
                Sink::Stream(File::options().write(true).append(append).open(path)?)
            }
            Destination::Replace(target) => {
                let name = target
                    .file_name()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
                let dir = target
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let (temp, file) = create_temp(dir, &name.to_string_lossy())?;
                pending().push(temp.clone());
                Sink::File(PendingFile { target, temp, file })
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            sink,
        })
    }

    /// The path as given, for messages.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn is_stdout(&self) -> bool {
        matches!(self.sink, Sink::Stdout)
    }

    /// Writes `bytes` and moves the file into place.
    pub(super) fn commit(self, bytes: &[u8]) -> io::Result<()> {
        self.commit_with(|out| out.write_all(bytes))
    }

    /// Writes what `write` produces, streamed rather than built in memory first (a
    /// million calls' JSON is a gigabyte), and moves the file into place only once all
    /// of it is written and synced. A failed write (a full disk, `/dev/full`, a pipe
    /// whose reader left) is an error.
    pub(super) fn commit_with(self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
        match self.sink {
            Sink::Stdout => {
                let mut out = io::BufWriter::new(io::stdout().lock());
                write(&mut out)?;
                out.flush()
            }
            Sink::Stream(file) => {
                let mut out = io::BufWriter::new(file);
                write(&mut out)?;
                out.into_inner().map_err(io::IntoInnerError::into_error)?;
                Ok(())
            }
            Sink::File(pending) => {
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

/// What makes an output written as the work goes ([`Output::into_stream`]) final.
#[derive(Debug)]
pub(super) struct Finish {
    path: PathBuf,
    pending: Option<PendingFile>,
}

impl Output {
    /// The output as a writer to stream into while the work goes on (a trace of a
    /// million calls is not held in memory), and what makes it final once it is whole.
    ///
    /// # Errors
    ///
    /// When the temporary file cannot be shared with the writer.
    pub(super) fn into_stream(self) -> io::Result<(Box<dyn Write + Send>, Finish)> {
        let path = self.path;
        Ok(match self.sink {
            Sink::Stdout => (Box::new(io::stdout()), Finish { path, pending: None }),
            Sink::Stream(file) => (Box::new(file), Finish { path, pending: None }),
            Sink::File(pending) => (
                Box::new(pending.file.try_clone()?),
                Finish {
                    path,
                    pending: Some(pending),
                },
            ),
        })
    }
}

impl Finish {
    /// The path as given, for messages.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Syncs a regular file and moves it into place; call once everything was written
    /// and flushed through the writer. Dropped instead, the temporary file is removed.
    pub(super) fn commit(self) -> io::Result<()> {
        let Some(pending) = self.pending else {
            return Ok(());
        };
        pending.file.sync_all()?;
        std::fs::rename(&pending.temp, &pending.target)?;
        forget(&pending.temp);
        Ok(())
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

/// Writes `text` (a command's summary) to standard output, or to standard error when
/// an output flag took standard output.
pub(super) fn print_summary(text: &[u8], stdout_taken: bool) {
    let _ = if stdout_taken {
        io::stderr().write_all(text)
    } else {
        io::stdout().write_all(text)
    };
}

/// Commits `out` with what `write` produces, or says on stderr that the `what` could not
/// be written; `Err(())` once said.
pub(super) fn commit_named(
    out: Output,
    what: &str,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), ()> {
    let path = out.path().display().to_string();
    out.commit_with(write).map_err(|e| {
        eprintln!("error: cannot write the {what} to {path}: {e}");
    })
}

/// [`Output::prepare`] of an optional output flag, saying on stderr which `what` cannot
/// be written where; `Err(())` once said.
pub(super) fn prepare_named(path: Option<&Path>, what: &str) -> Result<Option<Output>, ()> {
    path.map(Output::prepare).transpose().map_err(|e| {
        let path = path.unwrap_or_else(|| "-".as_ref());
        eprintln!("error: cannot write the {what} to {}: {e}", path.display());
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests that prepare outputs take turns: `abandon_pending` removes every pending
    /// temporary file of the process, another test's too.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("parabench-output-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_appears_only_once_committed() {
        let _serial = serial();
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
        let _serial = serial();
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

    #[cfg(unix)]
    #[test]
    fn a_link_is_followed_and_kept() {
        let _serial = serial();
        let dir = temp_dir("link");
        let real = dir.join("real.json");
        std::fs::write(&real, "old").unwrap();
        let link = dir.join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        Output::prepare(&link).unwrap().commit(b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        // A link to a file not written yet creates that file.
        let dangling = dir.join("dangling.json");
        std::os::unix::fs::symlink("later.json", &dangling).unwrap();
        Output::prepare(&dangling).unwrap().commit(b"later").unwrap();
        assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(dir.join("later.json")).unwrap(), b"later");
        // Two outputs through the link and to the file meet one file.
        let err = check_distinct(&[("--json", Some(&link)), ("--html", Some(&real))]).unwrap_err();
        assert!(err.starts_with("--json and --html both write to"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn devices_are_written_straight_through_and_a_failed_write_is_an_error() {
        use std::os::unix::fs::FileTypeExt;
        let is_device = |p: &str| std::fs::metadata(p).unwrap().file_type().is_char_device();
        let out = Output::prepare(Path::new("/dev/null")).unwrap();
        assert!(matches!(out.sink, Sink::Stream(_)));
        out.commit(b"{}").unwrap();
        assert!(is_device("/dev/null"));
        // /dev/full takes the open and fails every write, as a full disk does.
        let err = Output::prepare(Path::new("/dev/full"))
            .unwrap()
            .commit(&[b'x'; 100])
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28), "{err}"); // ENOSPC
        assert!(is_device("/dev/full"));
        // Two outputs to a device are not one file overwriting another.
        let null = Some(Path::new("/dev/null"));
        assert!(check_distinct(&[("--json", null), ("--html", null)]).is_ok());
        let stdout = [
            ("--json", Some(Path::new("-"))),
            ("--html", Some(Path::new("/dev/stdout"))),
        ];
        assert_eq!(
            check_distinct(&stdout).unwrap_err(),
            "--json - and --html /dev/stdout cannot both write to standard output"
        );
        assert_eq!(Destination::of(Path::new("/dev/stdout")).unwrap(), Destination::Stdout);
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_is_written_straight_through() {
        let dir = temp_dir("fifo");
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        let out = Output::prepare(&fifo).unwrap();
        assert!(matches!(out.sink, Sink::Stream(_)));
        out.commit(b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
