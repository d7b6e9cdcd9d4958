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
//! [`StageWriter::finish`].
//!
//! **All or nothing.** `begin_stage` removes the stage's previous `<stage>/` (and its manifest
//! entry), so evidence never claims a result the current run did not produce. Artifacts go into a
//! private staging directory `.tmp-proofline-*` beside the stages; `finish` writes `record.json`
//! there, renames the staging directory to `<stage>/` and rebuilds `manifest.json`, under an
//! advisory lock on the evidence directory so stages finishing at once on one machine never drop
//! each other's manifest entries. A stage that fails (an error, or the writer dropped without
//! `finish`) leaves no `<stage>/` and no manifest entry; a process killed midway can leave a
//! `.tmp-proofline-*` directory, which `verify` lists as unrecorded. Two runs of the *same* stage
//! at once are not supported: the last to finish wins.
//!
//! **Safe and deterministic.** Every file is written atomically (temp file in the same directory,
//! fsync, rename, directory fsync). Artifact paths are `/`-separated and relative; `..`, `.`, empty
//! components, absolute paths, backslashes, NUL and control characters are refused, and nothing is
//! read or written through a symbolic link below the evidence directory (the directory itself is
//! resolved once when opened). JSON is pretty-printed with a trailing newline, fields in a fixed
//! order, settings keys sorted, artifacts and inputs sorted by path, no random ids; timestamps are
//! RFC 3339 UTC whole seconds, from a [`Clock`] that tests (or `SOURCE_DATE_EPOCH`) can fix.
//!
//! **Checked.** [`StageWriter::consume`] re-hashes another stage's artifact against its record
//! before use; [`EvidenceDir::verify`] re-hashes everything and reports, as data, what is missing,
//! modified, unrecorded, stale or out of the manifest.

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
pub use fsutil::to_pretty_json;
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
