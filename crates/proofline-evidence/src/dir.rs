//! The evidence directory: opening it, reading records and the manifest, and rebuilding the manifest.

use std::fs;
use std::path::{Path, PathBuf};

use crate::digest::sha256_hex;
use crate::error::{EvidenceError, Result};
use crate::fsutil::{DirLock, remove_dir_atomically, write_atomic};
use crate::manifest::{Manifest, ManifestEntry};
use crate::paths::{
    MANIFEST_FILE, RECORD_FILE, existing_file, is_valid_stage_name, lstat, validate_stage_name,
};
use crate::record::{Record, StageInfo};
use crate::timestamp::Clock;
use crate::verify::VerifyReport;
use crate::writer::StageWriter;

/// The default evidence directory, relative to the working directory.
pub const DEFAULT_EVIDENCE_DIR: &str = "evidence";
/// The environment variable behind `--evidence-dir`.
pub const EVIDENCE_DIR_ENV: &str = "PROOFLINE_EVIDENCE_DIR";

/// An evidence directory: `<stage>/record.json` and `<stage>/<artifacts>` per stage, and
/// `manifest.json`, the index rebuilt from all records whenever a stage finishes.
///
/// The path is resolved (symbolic links followed) once when opened; everything below it is
/// read and written without following links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceDir {
    root: PathBuf,
    clock: Clock,
}

/// A record read from disk, or why it could not be.
#[derive(Debug)]
pub(crate) enum RecordState {
    /// A valid record and the SHA-256 of its file bytes.
    Valid(Box<Record>, String),
    /// The record is there but unreadable or invalid.
    Invalid(EvidenceError),
}

impl EvidenceDir {
    /// Opens `path`, creating it (and its parents) if needed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        fs::create_dir_all(path).map_err(|e| EvidenceError::io("create directory", path, e))?;
        Self::open_existing(path)
    }

    /// Opens `path`, which must already be a directory (for `verify`, which must not create it).
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let root = match fs::canonicalize(path) {
            Ok(root) => root,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EvidenceError::DirMissing {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(EvidenceError::io("resolve", path, e)),
        };
        let meta = fs::metadata(&root).map_err(|e| EvidenceError::io("inspect", &root, e))?;
        if !meta.is_dir() {
            return Err(EvidenceError::WrongFileType {
                path: root,
                expected: "directory",
            });
        }
        Ok(Self {
            root,
            clock: Clock::System,
        })
    }

    /// Uses `clock` for the `startedAt`/`finishedAt` of stages begun from now on.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The resolved directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The clock in use.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Where `stage`'s directory is (it may not exist).
    pub fn stage_dir(&self, stage: &str) -> Result<PathBuf> {
        validate_stage_name(stage)?;
        Ok(self.root.join(stage))
    }

    /// Begins a stage: returns a writer whose output replaces `<stage>/` only when it
    /// finishes. The previous run's record and artifacts stay in place until then, so a run
    /// that fails midway never destroys evidence (its exit code says it failed; the record
    /// left is the previous run's, with that run's subject and timestamps).
    pub fn begin_stage(&self, info: StageInfo) -> Result<StageWriter> {
        info.validate()?;
        // Fail before any work when the stage's place is one `finish` would refuse.
        let path = self.root.join(&info.stage);
        if let Some(meta) = lstat(&path)? {
            if meta.file_type().is_symlink() {
                return Err(EvidenceError::SymlinkRefused { path });
            }
            if !meta.is_dir() {
                return Err(EvidenceError::WrongFileType {
                    path,
                    expected: "directory",
                });
            }
        }
        StageWriter::new(self.clone(), info)
    }

    /// Reads and checks `<stage>/record.json`.
    pub fn read_record(&self, stage: &str) -> Result<Record> {
        match self.read_record_state(stage)? {
            Some(RecordState::Valid(record, _)) => Ok(*record),
            Some(RecordState::Invalid(err)) => Err(err),
            None => Err(EvidenceError::NoRecord {
                stage: stage.to_string(),
                path: self.root.join(stage).join(RECORD_FILE),
            }),
        }
    }

    /// The stages that have a `record.json` (valid or not), sorted.
    pub fn stages(&self) -> Result<Vec<String>> {
        let mut stages = Vec::new();
        let entries =
            fs::read_dir(&self.root).map_err(|e| EvidenceError::io("list", &self.root, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| EvidenceError::io("list", &self.root, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let is_dir = entry
                .file_type()
                .map_err(|e| EvidenceError::io("inspect", entry.path(), e))?
                .is_dir();
            if is_dir && is_valid_stage_name(&name) {
                let record = entry.path().join(RECORD_FILE);
                if lstat(&record)?.is_some() {
                    stages.push(name);
                }
            }
        }
        stages.sort();
        Ok(stages)
    }

    /// Reads and checks `manifest.json`.
    pub fn read_manifest(&self) -> Result<Manifest> {
        let path = self.root.join(MANIFEST_FILE);
        let Some(file) = existing_file(&self.root, MANIFEST_FILE)? else {
            return Err(EvidenceError::ManifestMissing { path });
        };
        let bytes = fs::read(&file).map_err(|e| EvidenceError::io("read", &file, e))?;
        Manifest::from_json(&bytes, &path)
    }

    /// Rebuilds `manifest.json` from the records on disk (invalid records are left out with a
    /// warning; `verify` reports them) and returns it.
    pub fn rebuild_manifest(&self) -> Result<Manifest> {
        let _lock = DirLock::acquire(&self.root)?;
        self.write_manifest_locked()
    }

    /// Re-hashes everything; see [`VerifyReport`].
    pub fn verify(&self) -> Result<VerifyReport> {
        crate::verify::verify(self)
    }

    /// The record of `stage`: `None` if it has none.
    pub(crate) fn read_record_state(&self, stage: &str) -> Result<Option<RecordState>> {
        validate_stage_name(stage)?;
        let rel = format!("{stage}/{RECORD_FILE}");
        let file = match existing_file(&self.root, &rel) {
            Ok(Some(file)) => file,
            Ok(None) => return Ok(None),
            Err(err) => return Ok(Some(RecordState::Invalid(err))),
        };
        let bytes = match fs::read(&file) {
            Ok(bytes) => bytes,
            Err(e) => {
                return Ok(Some(RecordState::Invalid(EvidenceError::io(
                    "read", &file, e,
                ))));
            }
        };
        Ok(Some(match Record::from_json(&bytes, stage, &file) {
            Ok(record) => RecordState::Valid(Box::new(record), sha256_hex(&bytes)),
            Err(err) => RecordState::Invalid(err),
        }))
    }

    /// Every record on disk, by stage.
    pub(crate) fn read_all_records(&self) -> Result<Vec<(String, RecordState)>> {
        let mut out = Vec::new();
        for stage in self.stages()? {
            if let Some(state) = self.read_record_state(&stage)? {
                out.push((stage, state));
            }
        }
        Ok(out)
    }

    /// The manifest the records on disk call for.
    pub(crate) fn expected_manifest(&self) -> Result<Manifest> {
        let mut entries = Vec::new();
        for (stage, state) in self.read_all_records()? {
            match state {
                RecordState::Valid(record, sha256) => {
                    entries.push(ManifestEntry::for_record(&record, sha256));
                }
                RecordState::Invalid(err) => {
                    tracing::warn!(stage = %stage, error = %err, "record left out of manifest.json");
                }
            }
        }
        Ok(Manifest::from_entries(entries))
    }

    /// Writes `manifest.json` from the records; the caller holds the lock.
    pub(crate) fn write_manifest_locked(&self) -> Result<Manifest> {
        let manifest = self.expected_manifest()?;
        let bytes = manifest.to_json()?;
        let target = self.root.join(MANIFEST_FILE);
        if let Some(meta) = lstat(&target)? {
            if meta.file_type().is_symlink() {
                return Err(EvidenceError::SymlinkRefused { path: target });
            }
            if !meta.is_file() {
                return Err(EvidenceError::WrongFileType {
                    path: target,
                    expected: "regular file",
                });
            }
        }
        write_atomic(&self.root, &target, true, |w| w.write_all(&bytes))?;
        tracing::debug!(stages = manifest.stages.len(), "manifest.json rebuilt");
        Ok(manifest)
    }

    /// Removes `<stage>/` if present; the caller holds the lock. Refuses a link or a non-directory.
    pub(crate) fn remove_stage_locked(&self, stage: &str) -> Result<bool> {
        let path = self.root.join(stage);
        let Some(meta) = lstat(&path)? else {
            return Ok(false);
        };
        if meta.file_type().is_symlink() {
            return Err(EvidenceError::SymlinkRefused { path });
        }
        if !meta.is_dir() {
            return Err(EvidenceError::WrongFileType {
                path,
                expected: "directory",
            });
        }
        remove_dir_atomically(&self.root, &path)?;
        tracing::debug!(stage, "previous stage output removed");
        Ok(true)
    }
}
