//! The one way both binaries write a named output file (`-o FILE` of the analyzer's
//! `report`, the collector's `bundle`): a regular file or a new path is written to a
//! temporary file in the same directory and renamed into place only when complete (a
//! failed or killed run never leaves half a report); anything else is never replaced.
//! A character device or a FIFO (`-o /dev/null`, `-o /dev/stdout`, a named pipe) is
//! written in place, because renaming over it would turn a system device into a
//! regular file; a directory, a block device and a socket are refused. A symbolic link
//! is followed and the rules apply to what it points at.
//!
//! This is file-system I/O in the shared crate because both binaries must follow the
//! same rules, and the rules are part of what podmem promises (`docs/security.md`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why an output file cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The path names a directory.
    #[error("{0}: is a directory; give a file name")]
    Directory(PathBuf),
    /// The path names a block device: writing a report onto a disk would destroy it.
    #[error("{0}: is a block device; refusing to write onto it")]
    BlockDevice(PathBuf),
    /// The path names a socket, which cannot be opened for writing.
    #[error("{0}: is a socket; cannot write a file to it")]
    Socket(PathBuf),
    /// The path is a symbolic link to nothing.
    #[error("{0}: is a symbolic link to a missing file; give the target itself")]
    DanglingLink(PathBuf),
    /// An I/O step failed.
    #[error("{path}: {what}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path, what: &'static str) -> impl FnOnce(io::Error) -> OutputError {
    let path = path.to_path_buf();
    move |source| OutputError::Io { path, what, source }
}

/// How an output is written, decided from what the path is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A regular file or a new path: temporary file, then rename.
    Replace,
    /// A character device or FIFO: opened and written as it is.
    InPlace,
}

/// Decides how `path` would be written, or why it is refused. Symbolic links are
/// followed; the returned path is the one to write (the link's target for a link).
pub fn plan(path: &Path) -> Result<(Mode, PathBuf), OutputError> {
    let lmd = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok((Mode::Replace, path.to_path_buf()))
        }
        Err(e) => return Err(io_err(path, "cannot inspect")(e)),
    };
    let (md, target) = if lmd.file_type().is_symlink() {
        match fs::metadata(path) {
            Ok(md) => (
                md,
                fs::canonicalize(path).map_err(io_err(path, "cannot resolve the link"))?,
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(OutputError::DanglingLink(path.to_path_buf()))
            }
            Err(e) => return Err(io_err(path, "cannot inspect")(e)),
        }
    } else {
        (lmd, path.to_path_buf())
    };
    let ft = md.file_type();
    if ft.is_dir() {
        Err(OutputError::Directory(path.to_path_buf()))
    } else if ft.is_block_device() {
        Err(OutputError::BlockDevice(path.to_path_buf()))
    } else if ft.is_socket() {
        Err(OutputError::Socket(path.to_path_buf()))
    } else if ft.is_char_device() || ft.is_fifo() {
        Ok((Mode::InPlace, target))
    } else {
        Ok((Mode::Replace, target))
    }
}

/// An output file being written; [`OutputFile::commit`] makes it visible. Dropped
/// without a commit, the temporary file is removed and a replaced file is untouched.
#[derive(Debug)]
pub struct OutputFile {
    w: BufWriter<File>,
    target: PathBuf,
    shown: PathBuf,
    tmp: Option<PathBuf>,
}

impl OutputFile {
    /// Opens `path` for writing by the rules of this module.
    pub fn create(path: &Path) -> Result<OutputFile, OutputError> {
        let (mode, target) = plan(path)?;
        match mode {
            Mode::InPlace => {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&target)
                    .map_err(io_err(path, "cannot open for writing"))?;
                Ok(OutputFile {
                    w: BufWriter::with_capacity(64 << 10, f),
                    target,
                    shown: path.to_path_buf(),
                    tmp: None,
                })
            }
            Mode::Replace => {
                let dir = match target.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let base = target
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                // Short enough to fit any file name the target itself fits in.
                let stem: String = base.chars().take(40).collect();
                let mut n = 0u32;
                let (f, tmp) = loop {
                    let tmp = dir.join(format!(".{stem}.podmem-{}-{n}.tmp", std::process::id()));
                    match OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o644)
                        .open(&tmp)
                    {
                        Ok(f) => break (f, tmp),
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                        Err(e) => return Err(io_err(&dir, "cannot create a temporary file")(e)),
                    }
                };
                // The replaced file keeps its permissions; a new one is 0644 (less the
                // umask, applied at creation).
                if let Ok(md) = fs::metadata(&target) {
                    let _ = f.set_permissions(fs::Permissions::from_mode(
                        md.permissions().mode() & 0o7777,
                    ));
                }
                Ok(OutputFile {
                    w: BufWriter::with_capacity(64 << 10, f),
                    target,
                    shown: path.to_path_buf(),
                    tmp: Some(tmp),
                })
            }
        }
    }

    /// How this output is written.
    pub fn mode(&self) -> Mode {
        if self.tmp.is_some() {
            Mode::Replace
        } else {
            Mode::InPlace
        }
    }

    /// The writer.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.w
    }

    /// Flushes, syncs a regular file and renames it into place.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let shown = self.shown.clone();
        self.w.flush().map_err(io_err(&shown, "write"))?;
        let Some(tmp) = self.tmp.take() else {
            return Ok(());
        };
        let res = self
            .w
            .get_ref()
            .sync_all()
            .map_err(io_err(&shown, "sync"))
            .and_then(|_| {
                fs::rename(&tmp, &self.target).map_err(io_err(&shown, "cannot move into place"))
            });
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
            return res;
        }
        if let Some(d) = self.target.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(d) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_regular_files_are_replaced_atomically() {
        let d = std::env::temp_dir().join(format!("podmem-outfile-{}", std::process::id()));
        fs::create_dir_all(&d).unwrap();
        let p = d.join("r.txt");
        let mut o = OutputFile::create(&p).unwrap();
        assert_eq!(o.mode(), Mode::Replace);
        o.write_all(b"one").unwrap();
        assert!(!p.exists(), "visible before commit");
        o.commit().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        let mut o = OutputFile::create(&p).unwrap();
        o.write_all(b"two").unwrap();
        drop(o);
        assert_eq!(
            fs::read(&p).unwrap(),
            b"one",
            "an uncommitted write left it alone"
        );
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1, "temporary file left");
        fs::remove_dir_all(&d).unwrap();
    }
}
