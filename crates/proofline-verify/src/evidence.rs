//! Verifies an evidence directory for one image: the image signature (cosign v3 and v2 forms),
//! then every record and artifact of every stage that ran before signing, each against its own
//! bundle, its statement's subject (the image digest) and the file on disk. Fails closed: a
//! missing bundle, a missing file or a stage nobody signed is a failure, never a skip.

use std::path::Path;

use proofline_evidence::{EvidenceDir, Record};
use serde_json::Value;

use crate::layout::{
    self, CRYPTO_MODULE, IMAGE_SIGNATURE_BUNDLE, SIGN_STAGE, SIMPLE_SIGNING_BUNDLE,
    SIMPLE_SIGNING_PAYLOAD,
};
use crate::reason::Reason;
use crate::statement::{
    COSIGN_SIGN_PREDICATE, EvidenceFile, ImageSubject, StatementError, read_statement,
};
use crate::trust::{
    MAX_BUNDLE_BYTES, Rejected, Signed, Trust, Verified, read_bounded, verify_bundle,
};

/// Stages that run after signing (their evidence is not signed by the sign stage).
pub const AFTER_SIGNING: [&str; 4] = [SIGN_STAGE, "publish", "verify", "report"];

/// The largest evidence file read for verification.
const MAX_FILE_BYTES: u64 = 1024 * 1024 * 1024;

/// The outcome for one signed thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The signature, the subject and the file all check out.
    Verified,
    /// Something did not (the reason says what).
    Failed,
    /// The bundle or the file is not there.
    Missing,
}

/// One line of the report.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// What was checked: an evidence path, or `image signature (cosign v3)` etc.
    pub artifact: String,
    /// The bundle, relative to the evidence directory.
    pub bundle: String,
    /// The result.
    pub status: Status,
    /// The signed statement's predicate type, when one was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// Who signed, when verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// Whether a transparency-log entry was verified.
    pub logged: bool,
    /// The kind of failure (the same categories the conformance client states).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Reason>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The whole verification.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The image as given.
    pub image: String,
    /// Its manifest digest.
    pub digest: String,
    /// The evidence directory.
    pub evidence_dir: String,
    /// What was trusted.
    pub trust: String,
    /// One entry per signed thing.
    pub checks: Vec<Check>,
    /// Predicate types required with `--require` and not found verified.
    pub missing_required: Vec<String>,
    /// Whether everything verified (and at least the image signature did).
    pub passed: bool,
}

impl Report {
    /// How many checks verified.
    pub fn verified(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Verified)
            .count()
    }

    /// The checks that did not verify.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status != Status::Verified)
    }

    /// A plain-text report, one line per check, failures with their reason.
    pub fn render_text(&self) -> String {
        let mut out = format!("{} ({}) against {}\n", self.image, self.digest, self.trust);
        for c in &self.checks {
            let status = match c.status {
                Status::Verified => "ok     ",
                Status::Failed => "FAILED ",
                Status::Missing => "MISSING",
            };
            out.push_str(&format!("{status} {}", c.artifact));
            if let Some(pt) = &c.predicate_type {
                out.push_str(&format!(" [{pt}]"));
            }
            if let Some(reason) = &c.reason {
                out.push_str(&format!(": {reason}"));
            }
            out.push('\n');
        }
        for r in &self.missing_required {
            out.push_str(&format!(
                "MISSING required predicate type {r}: no verified attestation has it\n"
            ));
        }
        let failed = self.checks.len() - self.verified();
        out.push_str(&format!(
            "{}: {} verified, {} failed or missing{}\n",
            if self.passed { "PASSED" } else { "FAILED" },
            self.verified(),
            failed,
            if self.missing_required.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} required predicate type(s) absent",
                    self.missing_required.len()
                )
            }
        ));
        out
    }
}

/// An evidence directory that cannot be read at all.
#[derive(Debug, thiserror::Error)]
#[error("reading the evidence directory {path}: {reason}")]
pub struct EvidenceError {
    /// The directory.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// Why a file of the evidence could not be read.
enum ReadFailure {
    NotFound,
    Other(String),
}

impl ReadFailure {
    /// `Missing` (saying `missing`) when the file is not there, else `Failed` naming `rel`.
    fn problem(self, rel: &str, missing: String) -> Problem {
        match self {
            ReadFailure::NotFound => (Status::Missing, missing, None),
            ReadFailure::Other(e) => (Status::Failed, format!("reading {rel}: {e}"), None),
        }
    }
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadFailure::NotFound => f.write_str("not found"),
            ReadFailure::Other(e) => f.write_str(e),
        }
    }
}

struct Verifying<'a> {
    root: &'a Path,
    image: &'a ImageSubject,
    trust: &'a Trust,
    checks: Vec<Check>,
}

impl Verifying<'_> {
    fn read(&self, rel: &str, limit: u64) -> Result<Vec<u8>, ReadFailure> {
        // Paths come from records and our layout; refuse anything that is not a plain relative path.
        proofline_evidence::validate_relative_path(rel)
            .map_err(|e| ReadFailure::Other(e.to_string()))?;
        let path = self.root.join(rel);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(ReadFailure::Other(format!("{rel} is a symbolic link")));
        }
        read_bounded(&path, limit).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ReadFailure::NotFound,
            _ => ReadFailure::Other(e.to_string()),
        })
    }

    fn push(
        &mut self,
        artifact: String,
        bundle: String,
        outcome: Result<(Verified, Option<String>), Problem>,
    ) {
        let check = match outcome {
            Ok((v, predicate_type)) => Check {
                artifact,
                bundle,
                status: Status::Verified,
                predicate_type,
                signer: Some(v.signer),
                logged: v.logged,
                category: None,
                reason: None,
            },
            Err((status, reason, category)) => Check {
                artifact,
                bundle,
                status,
                predicate_type: None,
                signer: None,
                logged: false,
                category,
                reason: Some(reason),
            },
        };
        self.checks.push(check);
    }

    fn bundle(&self, bundle_rel: &str) -> Result<Vec<u8>, Problem> {
        self.read(bundle_rel, MAX_BUNDLE_BYTES)
            .map_err(|e| e.problem(bundle_rel, format!("no signature: {bundle_rel} is missing")))
    }

    /// The cosign v3 image signature.
    fn image_signature(&mut self) {
        let rel = format!("{SIGN_STAGE}/{IMAGE_SIGNATURE_BUNDLE}");
        let outcome = self.bundle(&rel).and_then(|bytes| {
            let v = verify_bundle(self.trust, &bytes, Signed::Subject(&self.image.sha256))
                .map_err(failed)?;
            let statement = read_statement(v.payload.as_deref().unwrap_or_default(), self.image)
                .map_err(statement_problem)?;
            if statement.predicate_type != COSIGN_SIGN_PREDICATE {
                return Err((
                    Status::Failed,
                    format!(
                        "predicate type {} is not {COSIGN_SIGN_PREDICATE}",
                        statement.predicate_type
                    ),
                    Some(Reason::Artifact),
                ));
            }
            Ok((v, Some(statement.predicate_type)))
        });
        self.push("image signature (cosign v3 bundle)".into(), rel, outcome);
    }

    /// The cosign v2 simple-signing payload and its signature.
    fn simple_signing(&mut self) {
        let rel = format!("{SIGN_STAGE}/{SIMPLE_SIGNING_BUNDLE}");
        let payload_rel = format!("{SIGN_STAGE}/{SIMPLE_SIGNING_PAYLOAD}");
        let outcome = self.bundle(&rel).and_then(|bytes| {
            let payload = self
                .read(&payload_rel, 1024 * 1024)
                .map_err(|e| (Status::Missing, format!("{payload_rel}: {e}"), None))?;
            let v = verify_bundle(self.trust, &bytes, Signed::Message(&payload)).map_err(failed)?;
            let doc: Value = serde_json::from_slice(&payload).map_err(|e| {
                (
                    Status::Failed,
                    format!("{payload_rel} is not JSON: {e}"),
                    Some(Reason::Bundle),
                )
            })?;
            let digest = doc
                .pointer("/critical/image/docker-manifest-digest")
                .and_then(Value::as_str);
            if digest != Some(self.image.digest().as_str()) {
                return Err((
                    Status::Failed,
                    format!(
                        "the simple-signing payload signs {}, not the image {}",
                        digest.unwrap_or("no digest"),
                        self.image.digest()
                    ),
                    Some(Reason::Artifact),
                ));
            }
            Ok((v, None))
        });
        self.push(
            "image signature (cosign v2 simple signing)".into(),
            rel,
            outcome,
        );
    }

    /// One evidence file against its attestation bundle, and (for a stage's artifact) byte for
    /// byte against the SHA-256 its record lists (the record is itself signed by digest), so
    /// even a change that keeps a JSON document's meaning is caught.
    fn file(&mut self, stage: &str, path: &str, media_type: &str, recorded_sha256: Option<&str>) {
        let rel = format!("{SIGN_STAGE}/{}", layout::attestation_bundle(path));
        let outcome = self.bundle(&rel).and_then(|bytes| {
            let v = verify_bundle(self.trust, &bytes, Signed::Subject(&self.image.sha256)).map_err(failed)?;
            let statement = read_statement(v.payload.as_deref().unwrap_or_default(), self.image)
                .map_err(statement_problem)?;
            let content = self
                .read(path, MAX_FILE_BYTES)
                .map_err(|e| e.problem(path, format!("the signed file {path} is missing")))?;
            statement
                .check_file(&EvidenceFile {
                    stage,
                    path,
                    media_type,
                    bytes: &content,
                })
                .map_err(statement_problem)?;
            if let Some(expected) = recorded_sha256 {
                let actual = proofline_evidence::sha256_hex(&content);
                if actual != expected {
                    return Err((
                        Status::Failed,
                        format!("{path} differs from its signed stage record (sha256 {actual}, recorded {expected})"),
                        Some(Reason::Artifact),
                    ));
                }
            }
            Ok((v, Some(statement.predicate_type)))
        });
        self.push(path.to_string(), rel, outcome);
    }
}

/// Why a check failed: its status, the reason shown, and the reason's category.
type Problem = (Status, String, Option<Reason>);

fn failed(e: Rejected) -> Problem {
    let category = e.reason();
    (Status::Failed, e.0, Some(category))
}

/// A statement that is not about the image, or does not stand for its file, is about another
/// artifact; one that is not a statement at all is a malformed bundle.
fn statement_problem(e: StatementError) -> Problem {
    let category = match e {
        StatementError::NotAStatement(_) => Reason::Bundle,
        StatementError::SubjectMismatch { .. } | StatementError::FileMismatch { .. } => {
            Reason::Artifact
        }
    };
    (Status::Failed, e.to_string(), Some(category))
}

/// Verifies the evidence directory `dir` for `image` under `trust`; `require` lists predicate
/// types that must be among the verified statements.
pub fn verify_evidence(
    dir: &Path,
    image_name: &str,
    image: &ImageSubject,
    trust: &Trust,
    require: &[String],
) -> Result<Report, EvidenceError> {
    let err = |reason: String| EvidenceError {
        path: dir.display().to_string(),
        reason,
    };
    let evidence = EvidenceDir::open_existing(dir).map_err(|e| err(e.to_string()))?;
    let stages = evidence.stages().map_err(|e| err(e.to_string()))?;
    let mut v = Verifying {
        root: evidence.path(),
        image,
        trust,
        checks: Vec::new(),
    };
    v.image_signature();
    v.simple_signing();
    for stage in stages
        .iter()
        .filter(|s| !AFTER_SIGNING.contains(&s.as_str()))
    {
        let record: Record = match evidence.read_record(stage) {
            Ok(r) => r,
            Err(e) => {
                let path = layout::record_path(stage);
                let bundle = format!("{SIGN_STAGE}/{}", layout::attestation_bundle(&path));
                v.push(
                    path,
                    bundle,
                    Err((Status::Failed, format!("unreadable record: {e}"), None)),
                );
                continue;
            }
        };
        v.file(
            stage,
            &layout::record_path(stage),
            proofline_evidence::media_type::JSON,
            None,
        );
        for artifact in &record.artifacts {
            v.file(
                stage,
                &artifact.path,
                &artifact.media_type,
                Some(&artifact.sha256),
            );
        }
    }
    if stages.iter().any(|s| s == SIGN_STAGE) {
        let path = format!("{SIGN_STAGE}/{CRYPTO_MODULE}");
        v.file(
            SIGN_STAGE,
            &path,
            proofline_evidence::media_type::JSON,
            None,
        );
    }
    let checks = v.checks;
    let missing_required: Vec<String> = require
        .iter()
        .filter(|r| {
            !checks.iter().any(|c| {
                c.status == Status::Verified && c.predicate_type.as_deref() == Some(r.as_str())
            })
        })
        .cloned()
        .collect();
    let passed = !checks.is_empty()
        && checks.iter().all(|c| c.status == Status::Verified)
        && missing_required.is_empty();
    Ok(Report {
        image: image_name.to_string(),
        digest: image.digest(),
        evidence_dir: dir.display().to_string(),
        trust: trust.describe(),
        checks,
        missing_required,
        passed,
    })
}
