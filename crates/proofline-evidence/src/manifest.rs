//! The index `evidence/manifest.json`: one entry per stage record, rebuilt from the records, never edited.

use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::is_sha256_hex;
use crate::error::{EvidenceError, Result};
use crate::paths::{RECORD_FILE, is_valid_stage_name};
use crate::record::{Outcome, Record, Subject};

/// The `schema` value of a v1 manifest.
pub const MANIFEST_SCHEMA: &str = "proofline/manifest/v1";

/// The JSON Schema (draft 2020-12) of a v1 manifest.
pub const MANIFEST_JSON_SCHEMA: &str = include_str!("../schema/manifest.v1.schema.json");

/// Marker for `"schema": "proofline/manifest/v1"`; reading any other value fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ManifestSchemaV1;

impl Serialize for ManifestSchemaV1 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MANIFEST_SCHEMA)
    }
}

impl<'de> Deserialize<'de> for ManifestSchemaV1 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        if s == MANIFEST_SCHEMA {
            Ok(Self)
        } else {
            Err(serde::de::Error::custom(format!(
                "unsupported manifest schema `{s}`: this version of proofline reads `{MANIFEST_SCHEMA}`"
            )))
        }
    }
}

/// The index of every stage record. Deterministic: no timestamps, entries sorted by stage.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Always `proofline/manifest/v1`.
    pub schema: ManifestSchemaV1,
    /// One entry per valid record, sorted by stage name.
    pub stages: Vec<ManifestEntry>,
}

/// One stage in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestEntry {
    /// Stage name.
    pub stage: String,
    /// `<stage>/record.json`.
    pub record: String,
    /// SHA-256 (hex) of the record file's bytes.
    pub record_sha256: String,
    /// The record's subject.
    pub subject: Option<Subject>,
    /// The record's outcome.
    pub outcome: Outcome,
    /// How many artifacts the record lists.
    pub artifact_count: u64,
}

impl ManifestEntry {
    /// The entry for `record`, whose file bytes hash to `record_sha256`.
    pub fn for_record(record: &Record, record_sha256: String) -> Self {
        Self {
            stage: record.stage.clone(),
            record: format!("{}/{RECORD_FILE}", record.stage),
            record_sha256,
            subject: record.subject.clone(),
            outcome: record.findings.outcome,
            artifact_count: record.artifacts.len() as u64,
        }
    }
}

impl Manifest {
    /// A manifest of `entries`, sorted by stage.
    pub fn from_entries(mut entries: Vec<ManifestEntry>) -> Self {
        entries.sort_by(|a, b| a.stage.cmp(&b.stage));
        Self {
            schema: ManifestSchemaV1,
            stages: entries,
        }
    }

    /// The entry of `stage`, if any.
    pub fn entry(&self, stage: &str) -> Option<&ManifestEntry> {
        self.stages.iter().find(|e| e.stage == stage)
    }

    /// The manifest as written to disk: pretty-printed JSON and a trailing newline.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        crate::fsutil::to_pretty_json(self, "the manifest")
    }

    /// Parses and checks `manifest.json` bytes; errors name `path`.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self> {
        let manifest: Self =
            serde_json::from_slice(bytes).map_err(|source| EvidenceError::MalformedManifest {
                path: path.to_path_buf(),
                source,
            })?;
        manifest
            .check()
            .map_err(|reason| EvidenceError::InvalidManifest {
                path: path.to_path_buf(),
                reason,
            })?;
        Ok(manifest)
    }

    fn check(&self) -> Result<(), String> {
        let mut previous: Option<&str> = None;
        for entry in &self.stages {
            if !is_valid_stage_name(&entry.stage) {
                return Err(format!("stage name `{}` is not valid", entry.stage));
            }
            if previous.is_some_and(|p| p >= entry.stage.as_str()) {
                return Err(format!(
                    "stage `{}` is out of order or listed twice",
                    entry.stage
                ));
            }
            previous = Some(&entry.stage);
            if entry.record != format!("{}/{RECORD_FILE}", entry.stage) {
                return Err(format!(
                    "record path `{}` of stage `{}` is not `{}/{RECORD_FILE}`",
                    entry.record, entry.stage, entry.stage
                ));
            }
            if !is_sha256_hex(&entry.record_sha256) {
                return Err(format!(
                    "recordSha256 of stage `{}` is not 64 lowercase hex characters",
                    entry.stage
                ));
            }
        }
        Ok(())
    }
}
