//! Output files written atomically: a run never leaves a truncated report behind.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let temp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
        let file = File::create(&temp)?;
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
        match self {
            Output::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Output::File(mut pending) => {
                pending.file.write_all(bytes)?;
                pending.file.sync_all()?;
                std::fs::rename(&pending.temp, &pending.target)
            }
        }
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        // An output abandoned or failed before its rename leaves nothing behind; after
        // the rename the temporary path is gone and this does nothing.
        let _ = std::fs::remove_file(&self.temp);
    }
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
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["report.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_path_fails_up_front() {
        assert!(Output::prepare(Path::new("/nonexistent-dir/report.json")).is_err());
    }
}
