//! A running stage: writes its artifacts into a private staging directory, checks what it
//! consumes, and on `finish` puts its directory in place with its record and rebuilds the
//! manifest (the all-or-nothing design is described in the crate docs).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;
use tempfile::TempDir;

use crate::digest::{FileDigest, sha256_file, sha256_hex};
use crate::dir::{EvidenceDir, RecordState};
use crate::error::{EvidenceError, Result};
use crate::fsutil::{DirLock, sync_dir, temp_builder, to_pretty_json, write_atomic};
use crate::media_type;
use crate::paths::{
    RECORD_FILE, existing_file, prepare_new_file, validate_artifact_path, validate_stage_name,
};
use crate::record::{
    Artifact, Findings, Input, Record, RecordSchemaV1, StageInfo, Tool, sort_keys,
};
use crate::timestamp::Timestamp;

/// Writes one stage's evidence. Created by [`EvidenceDir::begin_stage`]; nothing is visible
/// under `<stage>/` until [`StageWriter::finish`] succeeds.
#[derive(Debug)]
pub struct StageWriter {
    dir: EvidenceDir,
    info: StageInfo,
    staging: TempDir,
    started_at: Timestamp,
    inputs: BTreeMap<String, Input>,
    artifacts: BTreeMap<String, Artifact>,
    findings: Findings,
}

impl StageWriter {
    pub(crate) fn new(dir: EvidenceDir, mut info: StageInfo) -> Result<Self> {
        let staging = temp_builder(false)
            .tempdir_in(dir.path())
            .map_err(|e| EvidenceError::io("create a staging directory in", dir.path(), e))?;
        info.settings = sort_keys(std::mem::take(&mut info.settings));
        let started_at = dir.clock().now();
        tracing::debug!(stage = %info.stage, "stage begun");
        Ok(Self {
            dir,
            info,
            staging,
            started_at,
            inputs: BTreeMap::new(),
            artifacts: BTreeMap::new(),
            findings: Findings::default(),
        })
    }

    /// The stage name.
    pub fn stage(&self) -> &str {
        &self.info.stage
    }

    /// When the stage began.
    pub fn started_at(&self) -> Timestamp {
        self.started_at
    }

    /// Writes `bytes` as the artifact `rel_path` (relative to the stage directory, `/`-separated).
    pub fn write_artifact(
        &mut self,
        rel_path: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Artifact> {
        self.write_artifact_with(rel_path, media_type, |w| w.write_all(bytes))
    }

    /// Writes `value` as pretty-printed JSON with a trailing newline.
    pub fn write_json_artifact<T: Serialize + ?Sized>(
        &mut self,
        rel_path: &str,
        media_type: &str,
        value: &T,
    ) -> Result<Artifact> {
        let bytes = to_pretty_json(value, &format!("artifact `{rel_path}`"))?;
        self.write_artifact(rel_path, &bytes, media_type)
    }

    /// Streams the artifact `rel_path`: `write` gets a writer that hashes as it goes. If `write`
    /// fails, nothing is kept and the error names the artifact.
    pub fn write_artifact_with<F>(
        &mut self,
        rel_path: &str,
        media_type: &str,
        write: F,
    ) -> Result<Artifact>
    where
        F: FnOnce(&mut dyn Write) -> io::Result<()>,
    {
        validate_artifact_path(rel_path)?;
        media_type::validate(media_type)?;
        if self.artifacts.contains_key(rel_path) {
            return Err(EvidenceError::DuplicateArtifact {
                stage: self.info.stage.clone(),
                path: rel_path.to_string(),
            });
        }
        let (parent, target) = prepare_new_file(self.staging.path(), rel_path)?;
        let digest = write_atomic(&parent, &target, false, write)?;
        let artifact = Artifact {
            path: format!("{}/{rel_path}", self.info.stage),
            sha256: digest.sha256,
            size: digest.size,
            media_type: media_type.to_string(),
        };
        self.artifacts
            .insert(rel_path.to_string(), artifact.clone());
        Ok(artifact)
    }

    /// Reads the artifact `rel_path` of stage `stage`, after checking it against that stage's
    /// record (re-hashed), and records it as an input. Fails, naming the file, the two digests
    /// and the stage to rerun, when the record is missing or the file no longer matches.
    pub fn consume(&mut self, stage: &str, rel_path: &str) -> Result<Vec<u8>> {
        let (path, expected) = self.locate_input(stage, rel_path)?;
        let bytes = fs::read(&path).map_err(|e| EvidenceError::io("read", &path, e))?;
        let actual = FileDigest {
            sha256: sha256_hex(&bytes),
            size: bytes.len() as u64,
        };
        self.accept_input(stage, path, expected, &actual)?;
        Ok(bytes)
    }

    /// Like [`StageWriter::consume`], but hashes the file streaming and returns its path, for
    /// artifacts too large to hold in memory. The file is checked at this call; read it right away.
    pub fn consume_path(&mut self, stage: &str, rel_path: &str) -> Result<PathBuf> {
        let (path, expected) = self.locate_input(stage, rel_path)?;
        let actual = sha256_file(&path)?;
        self.accept_input(stage, path.clone(), expected, &actual)?;
        Ok(path)
    }

    /// Sets the findings summary (default: passed, no counts).
    pub fn set_findings(&mut self, findings: Findings) -> Result<()> {
        findings.validate()?;
        self.findings = findings;
        Ok(())
    }

    /// Writes `record.json`, moves the stage directory into place and rebuilds `manifest.json`.
    pub fn finish(self) -> Result<Record> {
        let finished_at = self.dir.clock().now().max(self.started_at);
        let record = Record {
            schema: RecordSchemaV1,
            stage: self.info.stage.clone(),
            tool: Tool {
                name: self.info.tool.clone(),
                version: self.info.version.clone(),
            },
            subject: self.info.subject.clone(),
            settings: self.info.settings.clone(),
            inputs: self.inputs.into_values().collect(),
            artifacts: self.artifacts.into_values().collect(),
            findings: self.findings,
            started_at: self.started_at,
            finished_at,
        };
        let bytes = record.to_json()?;
        let staging_path = self.staging.path().to_path_buf();
        write_atomic(&staging_path, &staging_path.join(RECORD_FILE), false, |w| {
            w.write_all(&bytes)
        })?;

        let root = self.dir.path();
        let stage_dir = root.join(&record.stage);
        let _lock = DirLock::acquire(root)?;
        // Another run of the same stage may have finished meanwhile: the last to finish wins.
        self.dir.remove_stage_locked(&record.stage)?;
        let staging_path = self.staging.keep();
        if let Err(e) = fs::rename(&staging_path, &stage_dir) {
            let _ = fs::remove_dir_all(&staging_path);
            return Err(EvidenceError::io(
                "move the staging directory to",
                &stage_dir,
                e,
            ));
        }
        sync_dir(root)?;
        self.dir.write_manifest_locked()?;
        tracing::debug!(stage = %record.stage, artifacts = record.artifacts.len(), "stage finished");
        Ok(record)
    }

    /// Finds a consumable artifact and what its producer recorded for it.
    fn locate_input(&self, stage: &str, rel_path: &str) -> Result<(PathBuf, Artifact)> {
        validate_stage_name(stage)?;
        validate_artifact_path(rel_path)?;
        if stage == self.info.stage {
            return Err(EvidenceError::ConsumeOwnStage {
                stage: stage.to_string(),
                path: rel_path.to_string(),
            });
        }
        let root = self.dir.path();
        let evidence_path = format!("{stage}/{rel_path}");
        let full_path = crate::paths::join_rel(root, &evidence_path);
        let record = match self.dir.read_record_state(stage)? {
            Some(RecordState::Valid(record, _)) => record,
            Some(RecordState::Invalid(err)) => return Err(err),
            None => {
                return Err(EvidenceError::RecordMissing {
                    stage: stage.to_string(),
                    record: root.join(stage).join(RECORD_FILE),
                    artifact: full_path,
                });
            }
        };
        let Some(expected) = record.artifact(&evidence_path).cloned() else {
            return Err(EvidenceError::NotRecorded {
                stage: stage.to_string(),
                path: evidence_path,
                record: root.join(stage).join(RECORD_FILE),
            });
        };
        match existing_file(root, &evidence_path)? {
            Some(path) => Ok((path, expected)),
            None => Err(EvidenceError::InputMissing {
                stage: stage.to_string(),
                path: full_path,
            }),
        }
    }

    /// Compares what was read with the producer's record and, if it matches, records the input.
    fn accept_input(
        &mut self,
        stage: &str,
        path: PathBuf,
        expected: Artifact,
        actual: &FileDigest,
    ) -> Result<()> {
        if expected.sha256 != actual.sha256 || expected.size != actual.size {
            return Err(EvidenceError::InputModified {
                stage: stage.to_string(),
                path,
                expected_sha256: expected.sha256,
                expected_size: expected.size,
                actual_sha256: actual.sha256.clone(),
                actual_size: actual.size,
            });
        }
        tracing::debug!(stage = %self.info.stage, input = %expected.path, "input checked");
        self.inputs.insert(
            expected.path.clone(),
            Input {
                stage: stage.to_string(),
                path: expected.path,
                sha256: expected.sha256,
                size: expected.size,
                media_type: expected.media_type,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::record::Subject;

    fn writer(tmp: &TempDir) -> StageWriter {
        let dir = EvidenceDir::open(tmp.path().join("evidence")).unwrap();
        dir.begin_stage(
            StageInfo::new("sbom", "proofline", "0.1.0").with_subject(Subject::new("img")),
        )
        .unwrap()
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_subdirectory_in_staging_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let mut w = writer(&tmp);
        std::os::unix::fs::symlink(&outside, w.staging.path().join("sub")).unwrap();
        let err = w
            .write_artifact("sub/x.json", b"{}", media_type::JSON)
            .unwrap_err();
        assert!(matches!(err, EvidenceError::SymlinkRefused { .. }), "{err}");
        let err = w
            .write_artifact("sub/deeper/x.json", b"{}", media_type::JSON)
            .unwrap_err();
        assert!(matches!(err, EvidenceError::SymlinkRefused { .. }), "{err}");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_at_the_target_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside.txt");
        let mut w = writer(&tmp);
        std::os::unix::fs::symlink(&outside, w.staging.path().join("x.json")).unwrap();
        let err = w
            .write_artifact("x.json", b"{}", media_type::JSON)
            .unwrap_err();
        assert!(matches!(err, EvidenceError::SymlinkRefused { .. }), "{err}");
        assert!(!outside.exists());
    }

    #[test]
    fn the_staging_directory_is_removed_when_the_writer_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = writer(&tmp);
        w.write_artifact("a/b.json", b"{}", media_type::JSON)
            .unwrap();
        let staging = w.staging.path().to_path_buf();
        assert!(staging.join("a/b.json").is_file());
        assert!(
            staging
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(crate::fsutil::TEMP_PREFIX)
        );
        drop(w);
        assert!(!staging.exists());
    }
}
