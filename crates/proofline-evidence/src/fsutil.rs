//! Atomic file writes (temp file, fsync, rename), directory fsync, the directory lock, and deterministic JSON.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::digest::{FileDigest, HashingWriter};
use crate::error::{EvidenceError, Result};

/// Prefix of temporary files and directories; a leftover one means a writer was killed.
pub(crate) const TEMP_PREFIX: &str = ".tmp-proofline-";

/// Pretty-printed JSON (two-space indent, struct field order) with a trailing newline.
pub fn to_pretty_json<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<Vec<u8>> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|source| EvidenceError::Serialize {
            what: what.to_string(),
            source,
        })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A builder for temporary files and directories with ordinary permissions (umask applies),
/// not tempfile's owner-only default: evidence is meant to be read by other jobs and tools.
pub(crate) fn temp_builder(file: bool) -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if file { 0o666 } else { 0o777 };
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = file;
    builder
}

/// Writes `target` (in the real directory `parent`) atomically: the content goes to a temp
/// file in `parent`, is flushed and fsynced, then renamed over `target` (`replace`) or to
/// `target` only if it does not exist (`!replace`). On any error the temp file is removed.
pub(crate) fn write_atomic<F>(
    parent: &Path,
    target: &Path,
    replace: bool,
    write: F,
) -> Result<FileDigest>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let tmp = temp_builder(true)
        .tempfile_in(parent)
        .map_err(|e| EvidenceError::io("create a temporary file in", parent, e))?;
    let mut writer = HashingWriter::new(BufWriter::new(tmp));
    write(&mut writer).map_err(|source| EvidenceError::WriteArtifact {
        path: target.to_path_buf(),
        source,
    })?;
    let (digest, buffered) = writer.finish();
    let tmp = buffered
        .into_inner()
        .map_err(|e| EvidenceError::io("write", target, e.into_error()))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| EvidenceError::io("fsync", target, e))?;
    let persisted = if replace {
        tmp.persist(target)
    } else {
        tmp.persist_noclobber(target)
    };
    persisted.map_err(|e| EvidenceError::io("rename a temporary file to", target, e.error))?;
    sync_dir(parent)?;
    Ok(digest)
}

/// Fsyncs a directory so renames in it survive a crash. A no-op where directories cannot be opened.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let handle = File::open(dir).map_err(|e| EvidenceError::io("open directory", dir, e))?;
        handle
            .sync_all()
            .map_err(|e| EvidenceError::io("fsync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// An exclusive advisory lock on the evidence directory (`flock` on the directory itself),
/// held while stage directories are swapped and the manifest rebuilt, so concurrent stages
/// on one machine never lose each other's manifest entries. Released on drop.
#[derive(Debug)]
pub(crate) struct DirLock {
    _handle: Option<File>,
}

impl DirLock {
    pub(crate) fn acquire(root: &Path) -> Result<Self> {
        let handle = match File::open(root) {
            Ok(handle) => handle,
            // Platforms that cannot open a directory as a file get no lock: one writer at a time there.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied || cfg!(not(unix)) => {
                tracing::debug!(dir = %root.display(), error = %e, "evidence directory not locked");
                return Ok(Self { _handle: None });
            }
            Err(e) => return Err(EvidenceError::io("open directory", root, e)),
        };
        match handle.lock() {
            Ok(()) => Ok(Self {
                _handle: Some(handle),
            }),
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                tracing::debug!(dir = %root.display(), error = %e, "evidence directory not locked");
                Ok(Self { _handle: None })
            }
            Err(e) => Err(EvidenceError::io("lock", root, e)),
        }
    }
}

/// Removes the directory `path` (which must be a real directory, not a link) by first renaming
/// it to a temp name in `root`, so a crash midway never leaves a half-deleted stage under its name.
pub(crate) fn remove_dir_atomically(root: &Path, path: &Path) -> Result<()> {
    let trash: PathBuf = temp_builder(false)
        .tempdir_in(root)
        .map_err(|e| EvidenceError::io("create a temporary directory in", root, e))?
        .keep();
    // `trash` is an empty directory: rename replaces it with the stage directory.
    fs::rename(path, &trash).map_err(|e| EvidenceError::io("move aside", path, e))?;
    sync_dir(root)?;
    fs::remove_dir_all(&trash).map_err(|e| EvidenceError::io("remove", &trash, e))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_only_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        let digest = write_atomic(dir.path(), &target, false, |w| w.write_all(b"{}\n")).unwrap();
        assert_eq!(digest.size, 3);
        assert_eq!(fs::read(&target).unwrap(), b"{}\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["out.json"]);
    }

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        let err = write_atomic(dir.path(), &target, false, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("producer failed"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("out.json"), "{err}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn noclobber_refuses_existing_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        fs::write(&target, b"old").unwrap();
        assert!(write_atomic(dir.path(), &target, false, |w| w.write_all(b"new")).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"old");
        write_atomic(dir.path(), &target, true, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn lock_is_exclusive_between_handles() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DirLock::acquire(dir.path()).unwrap();
        let other = File::open(dir.path()).unwrap();
        assert!(other.try_lock().is_err());
        drop(lock);
        assert!(other.try_lock().is_ok());
    }
}
