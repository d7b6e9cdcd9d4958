//! The v1 stage record (`evidence/<stage>/record.json`): what a stage ran with, consumed, produced and found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::digest::is_sha256_hex;
use crate::error::{EvidenceError, Result};
use crate::media_type;
use crate::paths::{is_valid_stage_name, validate_artifact_path};
use crate::timestamp::Timestamp;

/// The `schema` value of a v1 record.
pub const RECORD_SCHEMA: &str = "proofline/record/v1";

/// The JSON Schema (draft 2020-12) of a v1 record, for tools that validate records.
pub const RECORD_JSON_SCHEMA: &str = include_str!("../schema/record.v1.schema.json");

/// Marker for `"schema": "proofline/record/v1"`; reading any other value fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordSchemaV1;

impl Serialize for RecordSchemaV1 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(RECORD_SCHEMA)
    }
}

impl<'de> Deserialize<'de> for RecordSchemaV1 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        if s == RECORD_SCHEMA {
            Ok(Self)
        } else {
            Err(serde::de::Error::custom(format!(
                "unsupported record schema `{s}`: this version of proofline reads `{RECORD_SCHEMA}`"
            )))
        }
    }
}

/// One stage's record. Fields are serialized in this order; `settings` keys are sorted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Record {
    /// Always `proofline/record/v1`.
    pub schema: RecordSchemaV1,
    /// The stage name (also the directory name).
    pub stage: String,
    /// The program that wrote the record.
    pub tool: Tool,
    /// The image the stage worked on, if any.
    pub subject: Option<Subject>,
    /// The settings the stage resolved (flags, env, policy file, defaults). Never secrets.
    pub settings: Map<String, Value>,
    /// Artifacts of other stages this stage consumed, as they were when consumed. Sorted by path.
    pub inputs: Vec<Input>,
    /// Artifacts this stage wrote. Sorted by path.
    pub artifacts: Vec<Artifact>,
    /// What the stage found.
    pub findings: Findings,
    /// When the stage began.
    pub started_at: Timestamp,
    /// When the stage finished.
    pub finished_at: Timestamp,
}

/// The program that wrote a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tool {
    /// e.g. `proofline` or `proofline-sbom`.
    pub name: String,
    /// e.g. `0.1.0`.
    pub version: String,
}

/// The image a stage worked on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subject {
    /// The image reference as given (`oci:fixtures/images/app:latest`, `ghcr.io/acme/app:1.0`).
    pub name: String,
    /// The manifest digest, `sha256:<hex>`, when known.
    pub digest: Option<String>,
}

impl Subject {
    /// A subject with a name and no digest yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            digest: None,
        }
    }

    /// Sets the manifest digest (`sha256:<hex>`).
    pub fn with_digest(mut self, digest: impl Into<String>) -> Self {
        self.digest = Some(digest.into());
        self
    }
}

/// An artifact of another stage that was consumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    /// The stage that produced it.
    pub stage: String,
    /// Path relative to the evidence directory, `/`-separated (`sbom/sbom.spdx.json`).
    pub path: String,
    /// Lowercase hex SHA-256 of the content consumed.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type, as the producer recorded it.
    pub media_type: String,
}

/// An artifact a stage wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Artifact {
    /// Path relative to the evidence directory, `/`-separated (`sbom/sbom.spdx.json`).
    pub path: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type (see [`crate::media_type`]).
    pub media_type: String,
}

/// The overall result of a stage.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Nothing above the policy threshold (exit 0). The default: a stage with no policy passes when it finishes.
    #[default]
    Passed,
    /// A policy violation (exit 1).
    Failed,
    /// The stage could not decide (e.g. an answer it could not read); never a pass.
    Indeterminate,
}

impl Outcome {
    /// `passed`, `failed` or `indeterminate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Indeterminate => "indeterminate",
        }
    }

    /// Whether this is [`Outcome::Passed`].
    pub fn is_passed(self) -> bool {
        self == Self::Passed
    }
}

/// A findings summary: the outcome, and counts by kebab-case key, typically severities
/// (`critical`, `high`, `medium`, `low`, `unknown`) or check results (`pass`, `fail`, `skip`).
/// Each stage documents its keys; the details live in its artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Findings {
    /// The stage's verdict.
    pub outcome: Outcome,
    /// Counts by key, sorted by key.
    pub counts: BTreeMap<String, u64>,
}

impl Findings {
    /// Findings with this outcome and no counts.
    pub fn new(outcome: Outcome) -> Self {
        Self {
            outcome,
            counts: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) a count.
    pub fn with_count(mut self, key: impl Into<String>, count: u64) -> Self {
        self.counts.insert(key.into(), count);
        self
    }

    /// Checks the count keys (`[a-z0-9][a-z0-9-]*`, at most 64 characters).
    pub fn validate(&self) -> Result<()> {
        match self.counts.keys().find(|k| !is_valid_stage_name(k)) {
            Some(bad) => Err(EvidenceError::InvalidField {
                field: "findings count key",
                reason: format!(
                    "`{bad}` is not kebab-case: use lowercase letters, digits and `-` (e.g. `critical`)"
                ),
            }),
            None => Ok(()),
        }
    }
}

/// What a stage says about itself when it begins.
#[derive(Debug, Clone, PartialEq)]
pub struct StageInfo {
    /// Stage name, `[a-z0-9][a-z0-9-]*` (e.g. `image`, `sbom`).
    pub stage: String,
    /// Program name (e.g. `env!("CARGO_PKG_NAME")`).
    pub tool: String,
    /// Program version (e.g. `env!("CARGO_PKG_VERSION")`).
    pub version: String,
    /// The image worked on, if any.
    pub subject: Option<Subject>,
    /// The resolved settings. Keys are sorted (recursively) when recorded. Never put secrets here.
    pub settings: Map<String, Value>,
}

impl StageInfo {
    /// Info with no subject and empty settings.
    pub fn new(
        stage: impl Into<String>,
        tool: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        Self {
            stage: stage.into(),
            tool: tool.into(),
            version: version.into(),
            subject: None,
            settings: Map::new(),
        }
    }

    /// Sets the subject.
    pub fn with_subject(mut self, subject: Subject) -> Self {
        self.subject = Some(subject);
        self
    }

    /// Sets the settings from any value that serializes to a JSON object (e.g. the stage's `Settings` struct).
    pub fn with_settings<T: Serialize + ?Sized>(mut self, settings: &T) -> Result<Self> {
        let value = serde_json::to_value(settings).map_err(|source| EvidenceError::Serialize {
            what: "stage settings".to_string(),
            source,
        })?;
        let Value::Object(map) = value else {
            return Err(EvidenceError::InvalidField {
                field: "settings",
                reason: "settings must serialize to a JSON object".to_string(),
            });
        };
        self.settings = map;
        Ok(self)
    }

    /// Checks every field; the stage name, tool, version and subject.
    pub(crate) fn validate(&self) -> Result<()> {
        crate::paths::validate_stage_name(&self.stage)?;
        check_label("tool name", &self.tool)?;
        check_label("tool version", &self.version)?;
        if let Some(subject) = &self.subject {
            check_subject(subject).map_err(|reason| EvidenceError::InvalidField {
                field: "subject",
                reason,
            })?;
        }
        Ok(())
    }
}

fn check_label(field: &'static str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 128 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(EvidenceError::InvalidField {
            field,
            reason: format!("`{value}` must be 1 to 128 printable ASCII characters without spaces"),
        });
    }
    Ok(())
}

fn check_subject(subject: &Subject) -> Result<(), String> {
    if subject.name.is_empty()
        || subject.name.len() > 1024
        || subject.name.chars().any(char::is_control)
    {
        return Err(format!(
            "subject name `{}` must be 1 to 1024 characters without control characters",
            subject.name.escape_debug()
        ));
    }
    if let Some(digest) = &subject.digest {
        let ok = digest.strip_prefix("sha256:").is_some_and(is_sha256_hex);
        if !ok {
            return Err(format!(
                "subject digest `{digest}` must be `sha256:` followed by 64 lowercase hex characters"
            ));
        }
    }
    Ok(())
}

/// Sorts object keys recursively, so settings serialize the same whatever map they came from.
pub(crate) fn sort_keys(map: Map<String, Value>) -> Map<String, Value> {
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
        .into_iter()
        .map(|(k, v)| (k, sort_value(v)))
        .collect()
}

fn sort_value(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(sort_keys(map)),
        Value::Array(items) => Value::Array(items.into_iter().map(sort_value).collect()),
        other => other,
    }
}

/// Checks that `path` is `<stage>/<valid artifact path>`.
fn check_stage_path(stage: &str, path: &str) -> Result<(), String> {
    let rest = path
        .strip_prefix(stage)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(|| format!("path `{path}` is not under `{stage}/`"))?;
    validate_artifact_path(rest).map_err(|e| e.to_string())
}

fn check_file(path: &str, sha256: &str, media: &str) -> Result<(), String> {
    if !is_sha256_hex(sha256) {
        return Err(format!(
            "sha256 `{sha256}` of `{path}` is not 64 lowercase hex characters"
        ));
    }
    media_type::validate(media).map_err(|e| format!("`{path}`: {e}"))
}

impl Record {
    /// Parses and checks `record.json` bytes found in the directory of `stage`.
    /// Errors name `path` (the file) and say which stage to rerun.
    pub fn from_json(bytes: &[u8], stage: &str, path: &Path) -> Result<Self> {
        let record: Self =
            serde_json::from_slice(bytes).map_err(|source| EvidenceError::MalformedRecord {
                stage: stage.to_string(),
                path: path.to_path_buf(),
                source,
            })?;
        record
            .check(stage)
            .map_err(|reason| EvidenceError::InvalidRecord {
                stage: stage.to_string(),
                path: path.to_path_buf(),
                reason,
            })?;
        Ok(record)
    }

    /// The rules serde cannot express: names, digests, paths confined to their stage, no duplicates.
    fn check(&self, dir_stage: &str) -> Result<(), String> {
        if self.stage != dir_stage {
            return Err(format!(
                "it names stage `{}` but is in the directory of stage `{dir_stage}`",
                self.stage
            ));
        }
        if !is_valid_stage_name(&self.stage) {
            return Err(format!("stage name `{}` is not valid", self.stage));
        }
        check_label("tool name", &self.tool.name).map_err(|e| e.to_string())?;
        check_label("tool version", &self.tool.version).map_err(|e| e.to_string())?;
        if let Some(subject) = &self.subject {
            check_subject(subject)?;
        }
        let mut seen = BTreeSet::new();
        for input in &self.inputs {
            if !is_valid_stage_name(&input.stage) {
                return Err(format!("input stage `{}` is not valid", input.stage));
            }
            if input.stage == self.stage {
                return Err(format!(
                    "input `{}` is the stage's own artifact",
                    input.path
                ));
            }
            check_stage_path(&input.stage, &input.path)?;
            check_file(&input.path, &input.sha256, &input.media_type)?;
            if !seen.insert(input.path.as_str()) {
                return Err(format!("input `{}` is listed twice", input.path));
            }
        }
        let mut seen = BTreeSet::new();
        for artifact in &self.artifacts {
            check_stage_path(&self.stage, &artifact.path)?;
            check_file(&artifact.path, &artifact.sha256, &artifact.media_type)?;
            if !seen.insert(artifact.path.as_str()) {
                return Err(format!("artifact `{}` is listed twice", artifact.path));
            }
        }
        self.findings.validate().map_err(|e| e.to_string())?;
        if self.finished_at < self.started_at {
            return Err(format!(
                "finishedAt {} is before startedAt {}",
                self.finished_at, self.started_at
            ));
        }
        Ok(())
    }

    /// The record as written to disk: pretty-printed JSON and a trailing newline.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        crate::fsutil::to_pretty_json(self, "the record")
    }

    /// The artifact recorded at `path` (relative to the evidence directory), if any.
    pub fn artifact(&self, path: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.path == path)
    }
}
