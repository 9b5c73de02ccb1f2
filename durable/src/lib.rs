//! Durable files: what every process of Self-Healing Reserve that keeps state on disk needs.
//!
//! - [`write_atomic`]: a file is either its old contents or its new contents after a crash, a
//!   `kill -9` or a power loss, never a mix (temporary file, `fsync`, `rename`, `fsync` of the
//!   directory).
//! - [`StateLock`]: one process owns a state directory (or state file) at a time. The lock is an
//!   advisory `flock` on a lock file, so the kernel releases it when the owner dies, however it
//!   dies: a stale lock file never blocks a restart.
//!
//! Nothing here interprets what it writes; callers decide what may go to disk (never a secret
//! or an amount outside the enclave's sealed state).

use std::{
    fs::{File, OpenOptions},
    io::{Read, Seek, Write},
    os::unix::{fs::OpenOptionsExt, io::AsRawFd},
    path::{Path, PathBuf},
};

/// Why a durable file operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file system refused (a full disk, missing permissions, a missing directory).
    #[error("{}: {action}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Another live process holds the lock.
    #[error(
        "{} is in use by another process{}: one process owns it at a time — stop that one first \
         (or give this one a state directory of its own)",
        path.display(),
        holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// The holder's pid, as it wrote it in the lock file.
        holder: Option<u32>,
    },
}

impl Error {
    fn io<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(std::io::Error) -> Self + 'a {
        move |source| Self::Io { path: path.to_owned(), action, source }
    }
}

/// Writes `bytes` to `path` so that after any crash the file holds either its previous contents
/// or `bytes`, and returns only once the new contents are on disk. The file gets `mode` (e.g.
/// `0o600`) when it is created.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // The temporary file lives beside the target (a rename never crosses file systems) under a
    // name of its own per process, so two writers never share one.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(Error::io(&tmp, "create"))?;
        file.write_all(bytes).map_err(Error::io(&tmp, "write"))?;
        file.sync_all().map_err(Error::io(&tmp, "sync"))?;
        std::fs::rename(&tmp, path).map_err(Error::io(path, "replace"))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Makes a rename or a new file in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(Error::io(dir, "sync directory"))
}

/// An exclusive, advisory lock on a lock file, held until dropped (or the process dies).
#[derive(Debug)]
pub struct StateLock {
    // Closing the descriptor releases the lock.
    _file: File,
}

impl StateLock {
    /// Takes the lock on `path` (created if missing) without waiting: if another process holds
    /// it, fails at once with [`Error::Locked`], naming that process.
    pub fn acquire(path: &Path) -> Result<Self, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(Error::io(dir, "create directory"))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(Error::io(path, "open lock file"))?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(Error::Locked {
                    path: path.to_owned(),
                    holder: text.trim().parse().ok(),
                });
            }
            return Err(Error::Io { path: path.to_owned(), action: "lock", source: error });
        }
        // Who holds it, for the message another process gets.
        file.set_len(0).map_err(Error::io(path, "write lock file"))?;
        file.rewind().map_err(Error::io(path, "write lock file"))?;
        write!(file, "{}", std::process::id()).map_err(Error::io(path, "write lock file"))?;
        Ok(Self { _file: file })
    }

    /// Takes the lock of a state directory: `DIR/<name>.lock`, creating `DIR` if needed.
    pub fn for_dir(dir: &Path, name: &str) -> Result<Self, Error> {
        Self::acquire(&dir.join(format!("{name}.lock")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_the_contents_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["state.json"]);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_failed_write_keeps_the_old_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"old", 0o600).unwrap();
        // A full disk: the temporary file is /dev/full, where every write fails with ENOSPC.
        let tmp = dir.path().join(format!(".state.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
        let err = write_atomic(&path, b"new", 0o600).unwrap_err();
        assert!(err.to_string().contains("state.json"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn a_second_holder_is_refused_and_named_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::for_dir(dir.path(), "aggregator").unwrap();
        let err = StateLock::for_dir(dir.path(), "aggregator").unwrap_err();
        match &err {
            Error::Locked { holder, .. } => assert_eq!(*holder, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("in use by another process"), "{err}");
        drop(first);
        StateLock::for_dir(dir.path(), "aggregator").expect("free once the holder is gone");
    }
}
