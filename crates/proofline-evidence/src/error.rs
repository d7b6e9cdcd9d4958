//! Why an evidence operation could not be done: each variant names the file and the fix.

use std::io;
use std::path::PathBuf;

use crate::paths::{printable, shown};

/// An evidence operation that could not be done. Findings about the evidence itself
/// (a modified artifact seen by `verify`) are data in [`crate::VerifyReport`], not errors;
/// these are for "the work could not be done".
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// A filesystem operation failed.
    #[error("could not {action} {}: {source}", shown(path))]
    Io {
        /// What we were doing ("create directory", "read", ...).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The evidence directory given to `open_existing`/`verify` does not exist.
    #[error(
        "evidence directory {} does not exist (set --evidence-dir / PROOFLINE_EVIDENCE_DIR to the directory the stages wrote)",
        shown(path)
    )]
    DirMissing {
        /// The directory that was asked for.
        path: PathBuf,
    },

    /// A stage name outside `[a-z0-9][a-z0-9-]*` (at most 64 characters).
    #[error(
        "`{}` is not a valid stage name: use lowercase letters, digits and `-` (starting with a letter or digit, at most 64 characters)",
        printable(name)
    )]
    InvalidStageName {
        /// The rejected name.
        name: String,
    },

    /// An artifact path that would not stay inside its stage directory, or is not portable.
    #[error("artifact path `{}` is refused: {reason}", printable(path))]
    InvalidPath {
        /// The rejected path, as given.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// A symbolic link where the evidence directory needs a real file or directory.
    #[error(
        "refusing to use {} because it is a symbolic link: evidence is only read and written inside the evidence directory (remove the link)",
        shown(path)
    )]
    SymlinkRefused {
        /// The link.
        path: PathBuf,
    },

    /// A path whose real location (after resolving links) is outside the evidence directory.
    #[error(
        "refusing to use {}: it resolves to {}, outside the evidence directory {}",
        shown(path),
        shown(resolved),
        shown(root)
    )]
    OutsideEvidenceDir {
        /// The path as built.
        path: PathBuf,
        /// Where it really leads.
        resolved: PathBuf,
        /// The evidence directory.
        root: PathBuf,
    },

    /// Something that must be a directory (or a regular file) is not.
    #[error(
        "{} is not a {expected}: remove it or choose another evidence directory",
        shown(path)
    )]
    WrongFileType {
        /// The path.
        path: PathBuf,
        /// "directory" or "regular file".
        expected: &'static str,
    },

    /// The same artifact path was written twice by one stage.
    #[error(
        "stage `{stage}` already wrote artifact `{}`: each artifact is written once per run",
        printable(path)
    )]
    DuplicateArtifact {
        /// The stage.
        stage: String,
        /// The artifact path, relative to the stage directory.
        path: String,
    },

    /// A `StageInfo` or findings field with a value we will not record.
    #[error("invalid {field}: {}", printable(reason))]
    InvalidField {
        /// Which field (e.g. "subject digest", "media type").
        field: &'static str,
        /// What is wrong with it and what is expected.
        reason: String,
    },

    /// A stage tried to consume its own output (which is being rewritten).
    #[error(
        "stage `{stage}` cannot consume its own artifact `{}`: a stage's previous output is removed when it begins",
        printable(path)
    )]
    ConsumeOwnStage {
        /// The stage.
        stage: String,
        /// The artifact path.
        path: String,
    },

    /// A stage has no `record.json`.
    #[error(
        "stage `{stage}` has no record at {} (it did not run or did not finish); run stage `{stage}` first",
        shown(path)
    )]
    NoRecord {
        /// The stage.
        stage: String,
        /// Where its record should be.
        path: PathBuf,
    },

    /// The stage whose artifact is consumed has no `record.json`.
    #[error(
        "cannot use {}: stage `{stage}` has no record at {} (it did not run or did not finish); run stage `{stage}` first",
        shown(artifact),
        shown(record)
    )]
    RecordMissing {
        /// The stage that should have produced it.
        stage: String,
        /// Where its record should be.
        record: PathBuf,
        /// The artifact that was asked for.
        artifact: PathBuf,
    },

    /// A `record.json` that is not valid JSON or not a v1 record.
    #[error(
        "{} is not a valid proofline record: {} (rerun stage `{stage}` to regenerate it)",
        shown(path),
        printable(&source.to_string())
    )]
    MalformedRecord {
        /// The stage directory it was found in.
        stage: String,
        /// The record file.
        path: PathBuf,
        /// The parse error (line and column).
        #[source]
        source: serde_json::Error,
    },

    /// A `record.json` that parses but breaks a rule (path outside its stage, bad digest, ...).
    #[error(
        "{} is not a valid proofline record: {} (rerun stage `{stage}` to regenerate it)",
        shown(path),
        printable(reason)
    )]
    InvalidRecord {
        /// The stage directory it was found in.
        stage: String,
        /// The record file.
        path: PathBuf,
        /// The broken rule.
        reason: String,
    },

    /// `manifest.json` is missing.
    #[error(
        "{} does not exist: it is written when a stage finishes (run a stage, or rebuild the manifest)",
        shown(path)
    )]
    ManifestMissing {
        /// Where it should be.
        path: PathBuf,
    },

    /// `manifest.json` is not valid JSON or not a v1 manifest.
    #[error(
        "{} is not a valid proofline manifest: {} (it is rebuilt from the records when a stage finishes)",
        shown(path),
        printable(&source.to_string())
    )]
    MalformedManifest {
        /// The manifest file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },

    /// `manifest.json` parses but breaks a rule (unsorted, a record path outside its stage, ...).
    #[error(
        "{} is not a valid proofline manifest: {} (it is rebuilt from the records when a stage finishes)",
        shown(path),
        printable(reason)
    )]
    InvalidManifest {
        /// The manifest file.
        path: PathBuf,
        /// The broken rule.
        reason: String,
    },

    /// A consumed artifact that its producer's record does not list.
    #[error(
        "stage `{stage}` did not record an artifact `{}` (see {}); check the name or rerun stage `{stage}`",
        printable(path),
        shown(record)
    )]
    NotRecorded {
        /// The producing stage.
        stage: String,
        /// The artifact path relative to the evidence directory.
        path: String,
        /// The producer's record.
        record: PathBuf,
    },

    /// A consumed artifact that is listed in its record but absent on disk.
    #[error(
        "{} is listed in the record of stage `{stage}` but does not exist; rerun stage `{stage}`",
        shown(path)
    )]
    InputMissing {
        /// The producing stage.
        stage: String,
        /// The missing file.
        path: PathBuf,
    },

    /// A consumed artifact whose content no longer matches its producer's record.
    #[error(
        "{} no longer matches the record of stage `{stage}`: recorded sha256 {expected_sha256} ({expected_size} bytes), found sha256 {actual_sha256} ({actual_size} bytes); it was modified after stage `{stage}` wrote it, rerun stage `{stage}`",
        shown(path)
    )]
    InputModified {
        /// The producing stage.
        stage: String,
        /// The modified file.
        path: PathBuf,
        /// The digest in the record.
        expected_sha256: String,
        /// The size in the record.
        expected_size: u64,
        /// The digest of the file now.
        actual_sha256: String,
        /// The size of the file now.
        actual_size: u64,
    },

    /// The code producing a streamed artifact failed.
    #[error("could not write artifact {}: {source}", shown(path))]
    WriteArtifact {
        /// The artifact being written (it was not kept).
        path: PathBuf,
        /// The producer's error.
        #[source]
        source: io::Error,
    },

    /// Serializing a value to JSON failed (e.g. a map with non-string keys).
    #[error("could not serialize {what} to JSON: {source}")]
    Serialize {
        /// What was being serialized.
        what: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
}

impl EvidenceError {
    /// An [`EvidenceError::Io`] for `path`.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = EvidenceError> = std::result::Result<T, E>;
