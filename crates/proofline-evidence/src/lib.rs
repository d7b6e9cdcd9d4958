//! The evidence directory every Proofline stage writes to.
//!
//! ```text
//! evidence/
//!   manifest.json          index of all records, rebuilt whenever a stage finishes
//!   <stage>/record.json    what the stage ran with, consumed, produced and found (schema proofline/record/v1)
//!   <stage>/<artifacts>    written only by that stage
//! ```
//!
//! A stage calls [`EvidenceDir::begin_stage`], writes artifacts and consumes other stages'
//! artifacts through the [`StageWriter`], sets its [`Findings`] and calls
//! [`StageWriter::finish`]. Its output appears under `<stage>/` all at once when it finishes, or
//! not at all (see [`writer`](crate::StageWriter) for the design). Every write is atomic
//! (temp file, fsync, rename), every path stays inside the directory, and every JSON file is
//! deterministic (field order fixed, no random ids, pretty-printed, trailing newline).
//! [`EvidenceDir::verify`] re-hashes it all.

mod digest;
mod dir;
mod error;
mod fsutil;
mod manifest;
pub mod media_type;
mod paths;
mod record;
mod timestamp;
mod verify;
mod writer;

pub use digest::{
    FileDigest, HashingWriter, is_sha256_hex, sha256_file, sha256_hex, sha256_reader,
};
pub use dir::{DEFAULT_EVIDENCE_DIR, EVIDENCE_DIR_ENV, EvidenceDir};
pub use error::{EvidenceError, Result};
pub use manifest::{
    MANIFEST_JSON_SCHEMA, MANIFEST_SCHEMA, Manifest, ManifestEntry, ManifestSchemaV1,
};
pub use paths::{
    MANIFEST_FILE, RECORD_FILE, is_valid_stage_name, validate_artifact_path,
    validate_relative_path, validate_stage_name,
};
pub use record::{
    Artifact, Findings, Input, Outcome, RECORD_JSON_SCHEMA, RECORD_SCHEMA, Record, RecordSchemaV1,
    StageInfo, Subject, Tool,
};
pub use timestamp::{Clock, Timestamp};
pub use verify::{
    InvalidRecord, ManifestProblem, MissingArtifact, ModifiedArtifact, StaleInput, UnreadablePath,
    VerifyReport, verify,
};
pub use writer::StageWriter;
