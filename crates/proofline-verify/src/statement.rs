//! What Proofline signs, in one place for the signer and the verifier: the in-toto Statement
//! made for each evidence artifact (subject = the image), the predicate type chosen for it, the
//! rule that binds a signed statement back to the file on disk, and the image-signature payloads
//! (cosign v2 simple signing, cosign v3 `sign/v1`).

use serde_json::{Map, Value, json};

/// in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The DSSE payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = proofline_evidence::media_type::IN_TOTO;
/// The predicate cosign v3 signs an image with (no predicate body).
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// SPDX 3 documents (in-toto predicate `spdx3`).
pub const SPDX3_PREDICATE: &str = "https://spdx.dev/Document/v3";
/// SPDX 2.3 documents (in-toto predicate `spdx2`).
pub const SPDX23_PREDICATE: &str = "https://spdx.dev/Document/v2.3";
/// CycloneDX documents (in-toto predicate `cyclonedx`).
pub const CYCLONEDX_PREDICATE: &str = "https://cyclonedx.org/bom";
/// OpenVEX documents (the OpenVEX context, as cosign attests them).
pub const OPENVEX_PREDICATE: &str = "https://openvex.dev/ns/v0.2.0";
/// Any other evidence file: its path, media type, size and digest (the file itself travels in
/// the evidence pack; the statement binds it by digest).
pub const EVIDENCE_PREDICATE: &str = "https://proofline.dev/attestation/evidence-file/v1";
/// The media type of cosign's simple-signing payload.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// The image a statement is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSubject {
    /// The image's name as the pipeline knew it (a registry repository or a local reference).
    pub name: String,
    /// The manifest digest's hex (without `sha256:`).
    pub sha256: String,
}

impl ImageSubject {
    /// Parses `sha256:<64 hex>`; `None` for any other form.
    pub fn new(name: impl Into<String>, digest: &str) -> Option<Self> {
        let hex = digest.strip_prefix("sha256:")?;
        (hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Self {
            name: name.into(),
            sha256: hex.to_string(),
        })
    }

    /// `sha256:<hex>`.
    pub fn digest(&self) -> String {
        format!("sha256:{}", self.sha256)
    }

    fn subject_json(&self) -> Value {
        json!([{ "name": self.name, "digest": { "sha256": self.sha256 } }])
    }
}

/// How a signed statement is tied to the evidence file it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Binding {
    /// The predicate is the file's JSON document (SBOMs, OpenVEX).
    Document,
    /// The file is itself an in-toto statement: predicate type and predicate are the file's.
    Statement,
    /// The predicate names the file's SHA-256.
    Digest,
}

/// One evidence file to attest.
#[derive(Debug, Clone, Copy)]
pub struct EvidenceFile<'a> {
    /// The stage that wrote it.
    pub stage: &'a str,
    /// Its path relative to the evidence directory (`sbom/sbom.cdx.json`).
    pub path: &'a str,
    /// Its media type as the stage recorded it.
    pub media_type: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
}

/// The statement made for a file, before signing.
#[derive(Debug, Clone)]
pub struct PreparedStatement {
    /// The predicate type.
    pub predicate_type: String,
    /// How it binds the file.
    pub binding: Binding,
    /// The serialized statement: the DSSE payload.
    pub payload: Vec<u8>,
}

/// Why a statement does not stand for a file, or is not about the image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// The payload is not an in-toto Statement v1.
    #[error("the signed payload is not an in-toto Statement v1: {0}")]
    NotAStatement(String),
    /// The statement names another image (or other artifacts as well).
    #[error("the statement's subject is {found}, not the image {expected}")]
    SubjectMismatch {
        /// What it names.
        found: String,
        /// The image's digest.
        expected: String,
    },
    /// The statement does not match the file on disk.
    #[error("{path} does not match its signed statement: {reason}")]
    FileMismatch {
        /// The evidence file.
        path: String,
        /// What differs.
        reason: String,
    },
}

/// The predicate type (and binding) for an evidence file, from its name, media type and content.
fn classify(file: &EvidenceFile<'_>, document: Option<&Value>) -> (String, Binding) {
    let Some(doc) = document else {
        return (EVIDENCE_PREDICATE.into(), Binding::Digest);
    };
    if file.media_type == proofline_evidence::media_type::IN_TOTO
        && doc.get("_type").and_then(Value::as_str) == Some(STATEMENT_TYPE)
        && let Some(pt) = doc.get("predicateType").and_then(Value::as_str)
    {
        return (pt.to_string(), Binding::Statement);
    }
    if file.path.ends_with(".spdx.json") {
        if doc.get("spdxVersion").and_then(Value::as_str) == Some("SPDX-2.3") {
            return (SPDX23_PREDICATE.into(), Binding::Document);
        }
        if doc.get("@context").is_some() {
            return (SPDX3_PREDICATE.into(), Binding::Document);
        }
    }
    if file.path.ends_with(".cdx.json")
        && doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX")
    {
        return (CYCLONEDX_PREDICATE.into(), Binding::Document);
    }
    if file.path.ends_with(".openvex.json")
        && doc
            .get("@context")
            .and_then(Value::as_str)
            .is_some_and(|c| c.starts_with("https://openvex.dev/ns"))
    {
        return (OPENVEX_PREDICATE.into(), Binding::Document);
    }
    (EVIDENCE_PREDICATE.into(), Binding::Digest)
}

fn parse_json(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(bytes).ok()
}

fn sha256_hex(bytes: &[u8]) -> String {
    proofline_evidence::sha256_hex(bytes)
}

/// The predicate of the digest binding.
fn evidence_predicate(file: &EvidenceFile<'_>) -> Value {
    json!({
        "stage": file.stage,
        "path": file.path,
        "mediaType": file.media_type,
        "size": file.bytes.len(),
        "digest": { "sha256": sha256_hex(file.bytes) },
    })
}

/// The statement for one evidence file, about `image`.
pub fn statement_for(file: &EvidenceFile<'_>, image: &ImageSubject) -> PreparedStatement {
    let document = parse_json(file.bytes);
    let (predicate_type, binding) = classify(file, document.as_ref());
    let predicate = match (binding, document) {
        (Binding::Document, Some(doc)) => doc,
        (Binding::Statement, Some(mut doc)) => doc
            .get_mut("predicate")
            .map(Value::take)
            .unwrap_or(Value::Object(Map::new())),
        _ => evidence_predicate(file),
    };
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": image.subject_json(),
        "predicateType": predicate_type,
        "predicate": predicate,
    });
    PreparedStatement {
        predicate_type,
        binding,
        payload: to_vec(&statement),
    }
}

/// The cosign v3 image signature: a statement about the image with predicate type
/// `https://sigstore.dev/cosign/sign/v1`. cosign writes no predicate (its verifiers read only
/// the subject and the predicate type); the in-toto-attestation validators require one, so the
/// predicate carries the same claims as the v2 simple-signing payload (repository and digest).
pub fn image_signature_statement(docker_reference: &str, image: &ImageSubject) -> Vec<u8> {
    to_vec(&json!({
        "_type": STATEMENT_TYPE,
        "subject": image.subject_json(),
        "predicateType": COSIGN_SIGN_PREDICATE,
        "predicate": simple_signing(docker_reference, image),
    }))
}

/// cosign's simple-signing payload for the manifest digest (the bytes cosign v2 signs and
/// stores in the `.sig` image), fields in cosign's order.
pub fn simple_signing_payload(docker_reference: &str, image: &ImageSubject) -> Vec<u8> {
    to_vec(&simple_signing(docker_reference, image))
}

fn simple_signing(docker_reference: &str, image: &ImageSubject) -> Value {
    json!({
        "critical": {
            "identity": { "docker-reference": docker_reference },
            "image": { "docker-manifest-digest": image.digest() },
            "type": "cosign container image signature",
        },
        "optional": null,
    })
}

fn to_vec(value: &Value) -> Vec<u8> {
    // Serializing a Value built in memory cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// A statement read back from a signed payload.
#[derive(Debug, Clone)]
pub struct SignedStatement {
    /// Its predicate type.
    pub predicate_type: String,
    predicate: Value,
}

/// Reads a signed payload as a statement about exactly `image` (every subject must carry the
/// image's digest; a statement about something else as well is refused).
pub fn read_statement(
    payload: &[u8],
    image: &ImageSubject,
) -> Result<SignedStatement, StatementError> {
    let doc: Value = serde_json::from_slice(payload)
        .map_err(|e| StatementError::NotAStatement(e.to_string()))?;
    if doc.get("_type").and_then(Value::as_str) != Some(STATEMENT_TYPE) {
        return Err(StatementError::NotAStatement(format!(
            "_type is {}, not {STATEMENT_TYPE}",
            doc.get("_type")
                .map_or_else(|| "missing".into(), Value::to_string)
        )));
    }
    let predicate_type = doc
        .get("predicateType")
        .and_then(Value::as_str)
        .ok_or_else(|| StatementError::NotAStatement("no predicateType".into()))?
        .to_string();
    let subjects = doc
        .get("subject")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| StatementError::NotAStatement("no subject".into()))?;
    for subject in subjects {
        let found = subject
            .get("digest")
            .and_then(|d| d.get("sha256"))
            .and_then(Value::as_str);
        if found != Some(image.sha256.as_str()) {
            return Err(StatementError::SubjectMismatch {
                found: found.map_or_else(|| subject.to_string(), |h| format!("sha256:{h}")),
                expected: image.digest(),
            });
        }
    }
    Ok(SignedStatement {
        predicate_type,
        predicate: doc
            .get("predicate")
            .cloned()
            .unwrap_or(Value::Object(Map::new())),
    })
}

impl SignedStatement {
    /// Checks that this statement stands for `file`, by the rule the signer used for it.
    pub fn check_file(&self, file: &EvidenceFile<'_>) -> Result<Binding, StatementError> {
        let mismatch = |reason: String| StatementError::FileMismatch {
            path: file.path.to_string(),
            reason,
        };
        let document = parse_json(file.bytes);
        let (expected_type, binding) = classify(file, document.as_ref());
        if self.predicate_type != expected_type {
            return Err(mismatch(format!(
                "the statement's predicate type is {}, but the file is attested as {expected_type}",
                self.predicate_type
            )));
        }
        let expected = match (binding, document) {
            (Binding::Document, Some(doc)) => doc,
            (Binding::Statement, Some(doc)) => doc
                .get("predicate")
                .cloned()
                .unwrap_or(Value::Object(Map::new())),
            _ => {
                let recorded = self
                    .predicate
                    .get("digest")
                    .and_then(|d| d.get("sha256"))
                    .and_then(Value::as_str)
                    .unwrap_or("none");
                let actual = sha256_hex(file.bytes);
                if recorded != actual {
                    return Err(mismatch(format!(
                        "signed sha256 {recorded}, file sha256 {actual}"
                    )));
                }
                if self.predicate.get("path").and_then(Value::as_str) != Some(file.path) {
                    return Err(mismatch(format!(
                        "the statement was made for {}",
                        self.predicate
                            .get("path")
                            .map_or_else(|| "no path".into(), Value::to_string)
                    )));
                }
                return Ok(binding);
            }
        };
        if self.predicate != expected {
            return Err(mismatch(
                "the signed predicate differs from the file's content".into(),
            ));
        }
        Ok(binding)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn image() -> ImageSubject {
        ImageSubject::new(
            "registry.example/app",
            &format!("sha256:{}", "ab".repeat(32)),
        )
        .unwrap()
    }

    fn file<'a>(path: &'a str, media_type: &'a str, bytes: &'a [u8]) -> EvidenceFile<'a> {
        EvidenceFile {
            stage: path.split('/').next().unwrap(),
            path,
            media_type,
            bytes,
        }
    }

    #[test]
    fn image_subject_needs_a_sha256_digest() {
        assert!(ImageSubject::new("x", "sha256:abc").is_none());
        assert!(ImageSubject::new("x", &format!("sha512:{}", "a".repeat(64))).is_none());
        assert!(ImageSubject::new("x", &format!("sha256:{}", "A".repeat(64))).is_none());
        assert_eq!(image().digest(), format!("sha256:{}", "ab".repeat(32)));
    }

    #[test]
    fn predicate_types_follow_the_file() {
        let cdx = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#;
        let s = statement_for(
            &file("sbom/sbom.cdx.json", "application/vnd.cyclonedx+json", cdx),
            &image(),
        );
        assert_eq!(
            (s.predicate_type.as_str(), s.binding),
            (CYCLONEDX_PREDICATE, Binding::Document)
        );
        let spdx3 = br#"{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[]}"#;
        let s = statement_for(
            &file("sbom/sbom.spdx.json", "application/spdx+json", spdx3),
            &image(),
        );
        assert_eq!(s.predicate_type, SPDX3_PREDICATE);
        let spdx2 = br#"{"spdxVersion":"SPDX-2.3"}"#;
        let s = statement_for(
            &file("sbom/sbom.spdx.json", "application/spdx+json", spdx2),
            &image(),
        );
        assert_eq!(s.predicate_type, SPDX23_PREDICATE);
        let vex = br#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[]}"#;
        let s = statement_for(
            &file("scan/vex.openvex.json", "application/json", vex),
            &image(),
        );
        assert_eq!(s.predicate_type, OPENVEX_PREDICATE);
        let vulns = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://in-toto.io/attestation/vulns/v0.2","predicate":{"scanner":{}}}"#;
        let s = statement_for(
            &file("scan/vulns.json", "application/vnd.in-toto+json", vulns),
            &image(),
        );
        assert_eq!(
            (s.predicate_type.as_str(), s.binding),
            (
                "https://in-toto.io/attestation/vulns/v0.2",
                Binding::Statement
            )
        );
        let doc: Value = serde_json::from_slice(&s.payload).unwrap();
        assert_eq!(doc["predicate"], json!({"scanner": {}}));
        assert_eq!(doc["subject"][0]["digest"]["sha256"], "ab".repeat(32));
        let md = b"# Summary\n";
        let s = statement_for(&file("scan/summary.md", "text/markdown", md), &image());
        assert_eq!(
            (s.predicate_type.as_str(), s.binding),
            (EVIDENCE_PREDICATE, Binding::Digest)
        );
        // A JSON file named like an SBOM but not one is attested by digest.
        let s = statement_for(
            &file("sbom/sbom.cdx.json", "application/json", b"{}"),
            &image(),
        );
        assert_eq!(s.binding, Binding::Digest);
    }

    #[test]
    fn a_statement_binds_exactly_its_file() {
        for (path, media, bytes) in [
            ("sbom/sbom.cdx.json", "application/json", &br#"{"bomFormat":"CycloneDX","n":1}"#[..]),
            ("scan/vulns.json", "application/vnd.in-toto+json", &br#"{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","predicate":{"a":1}}"#[..]),
            ("scan/summary.md", "text/markdown", &b"text"[..]),
        ] {
            let f = file(path, media, bytes);
            let s = statement_for(&f, &image());
            let signed = read_statement(&s.payload, &image()).unwrap();
            assert_eq!(signed.check_file(&f).unwrap(), s.binding);
            let mut changed = bytes.to_vec();
            let last = changed.len() - 2;
            changed[last] = b'2';
            let err = signed.check_file(&file(path, media, &changed)).unwrap_err();
            assert!(matches!(err, StatementError::FileMismatch { .. }), "{path}: {err}");
            // The same content under another path is another file.
            let moved = file("scan/other.md", media, bytes);
            if s.binding == Binding::Digest {
                assert!(signed.check_file(&moved).is_err());
            }
        }
    }

    #[test]
    fn statements_about_another_image_are_refused() {
        let s = image_signature_statement("registry.example/app", &image());
        let other = ImageSubject::new("x", &format!("sha256:{}", "cd".repeat(32))).unwrap();
        let err = read_statement(&s, &other).unwrap_err();
        assert!(
            matches!(err, StatementError::SubjectMismatch { .. }),
            "{err}"
        );
        assert_eq!(
            read_statement(&s, &image()).unwrap().predicate_type,
            COSIGN_SIGN_PREDICATE
        );
        assert!(read_statement(b"not json", &image()).is_err());
        assert!(read_statement(br#"{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"digest":{"sha256":"x"}}],"predicateType":"p"}"#, &image()).is_err());
        assert!(
            read_statement(
                br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}"#,
                &image()
            )
            .is_err()
        );
    }

    #[test]
    fn simple_signing_payload_is_cosigns() {
        let payload = simple_signing_payload("registry.example/app", &image());
        assert_eq!(
            String::from_utf8(payload).unwrap(),
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"registry.example/app"}},"image":{{"docker-manifest-digest":"sha256:{}"}},"type":"cosign container image signature"}},"optional":null}}"#,
                "ab".repeat(32)
            )
        );
    }
}
