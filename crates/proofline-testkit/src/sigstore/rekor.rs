//! The stand-in's Rekor v1: `POST /api/v1/log/entries` for `hashedrekord` and `dsse` 0.0.1 as
//! Rekor validates and canonicalizes them, an RFC 6962 log, signed checkpoints and signed entry
//! timestamps (SETs); `GET /api/v1/log` for the tree head.

use aws_lc_rs::digest::{Digest, SHA256};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, ED25519, UnparsedPublicKey,
    VerificationAlgorithm,
};
use base64::Engine as _;
use serde_json::{Value, json};
use x509_cert::Certificate;
use x509_cert::der::{Decode as _, Encode as _};

use super::keys::{ServiceKey, b64, pem, pem_decode, sha256};
use super::merkle::{self, Tree};
use super::{Corruption, Rejection};

/// The log: its key, tree, origin and the bodies it holds.
#[derive(Debug)]
pub(crate) struct Log {
    pub key: ServiceKey,
    pub tree_id: i64,
    /// The checkpoint origin's host part (the signed note's key name).
    pub host: String,
    tree: Tree,
    bodies: Vec<Vec<u8>>,
}

fn b64_decode(text: &str, what: &str) -> Result<Vec<u8>, Rejection> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| Rejection::bad_request(format!("{what} is not base64: {e}")))
}

/// A verifier as Rekor stores it: the canonical PEM (certificate or public key) and the SPKI.
struct Verifier {
    canonical_pem: String,
    spki: Vec<u8>,
}

/// Parses a base64 PEM certificate or public key, as Rekor's `x509.NewPublicKey` accepts.
fn parse_verifier(b64_pem: &str, what: &str) -> Result<Verifier, Rejection> {
    let text = b64_decode(b64_pem, what)?;
    let text = String::from_utf8(text)
        .map_err(|_| Rejection::bad_request(format!("{what} is not PEM text")))?;
    let (label, der) = pem_decode(&text)?;
    match label.as_str() {
        "CERTIFICATE" => {
            let cert = Certificate::from_der(&der).map_err(|e| {
                Rejection::bad_request(format!("{what}: the certificate does not parse: {e}"))
            })?;
            let spki = cert
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|e| Rejection::bad_request(format!("{what}: its key: {e}")))?;
            Ok(Verifier {
                canonical_pem: pem("CERTIFICATE", &der),
                spki,
            })
        }
        "PUBLIC KEY" => Ok(Verifier {
            canonical_pem: pem("PUBLIC KEY", &der),
            spki: der,
        }),
        other => Err(Rejection::bad_request(format!(
            "{what} is a {other:?} PEM block; Rekor takes a CERTIFICATE or a PUBLIC KEY"
        ))),
    }
}

/// The verification algorithms tried for a message signature with SHA-256 (Rekor's default).
static MESSAGE_ALGS: [&dyn VerificationAlgorithm; 3] =
    [&ECDSA_P256_SHA256_ASN1, &ECDSA_P384_SHA384_ASN1, &ED25519];

fn verifies(spki: &[u8], message: &[u8], signature: &[u8]) -> bool {
    MESSAGE_ALGS.iter().any(|alg| {
        UnparsedPublicKey::new(*alg, spki)
            .verify(message, signature)
            .is_ok()
    })
}

/// DSSE pre-authentication encoding.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Result<&'a str, Rejection> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .ok_or_else(|| Rejection::bad_request(format!("missing string spec.{}", path.join("."))))
}

/// Validates a `hashedrekord` 0.0.1 spec and returns its canonical body.
fn hashedrekord(spec: &Value) -> Result<Value, Rejection> {
    let algorithm = str_at(spec, &["data", "hash", "algorithm"])?;
    let value = str_at(spec, &["data", "hash", "value"])?;
    if algorithm != "sha256" {
        return Err(Rejection::bad_request(format!(
            "hash algorithm {algorithm:?} is not supported by the stand-in (sha256 only)"
        )));
    }
    let digest = hex::decode(value)
        .ok()
        .filter(|d| d.len() == 32)
        .ok_or_else(|| Rejection::bad_request(format!("{value:?} is not a hex SHA-256")))?;
    let signature_b64 = str_at(spec, &["signature", "content"])?;
    let signature = b64_decode(signature_b64, "signature.content")?;
    let verifier = parse_verifier(
        str_at(spec, &["signature", "publicKey", "content"])?,
        "signature.publicKey.content",
    )?;
    let digest = Digest::import_less_safe(&digest, &SHA256)
        .map_err(|_| Rejection::bad_request("the digest is not 32 bytes"))?;
    let ok = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &verifier.spki)
        .verify_digest(&digest, &signature)
        .is_ok();
    if !ok {
        return Err(Rejection::bad_request(
            "verifying signature: invalid signature when validating ASN.1 encoded signature \
             (the signature does not verify over the digest with the ECDSA P-256 key given)",
        ));
    }
    Ok(json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": { "hash": { "algorithm": "sha256", "value": hex::encode(digest.as_ref()) } },
            "signature": {
                "content": b64(&signature),
                "publicKey": { "content": b64(verifier.canonical_pem.as_bytes()) }
            }
        }
    }))
}

/// Validates a `dsse` 0.0.1 spec (`proposedContent`) and returns its canonical body: every
/// envelope signature must verify over the PAE with one of the verifiers.
fn dsse(spec: &Value) -> Result<Value, Rejection> {
    if spec.get("envelopeHash").is_some()
        || spec.get("payloadHash").is_some()
        || spec.get("signatures").is_some()
    {
        return Err(Rejection::bad_request(
            "either proposedContent or envelopeHash, payloadHash, and signatures must be present but not both",
        ));
    }
    let envelope_text = str_at(spec, &["proposedContent", "envelope"])?;
    let envelope: Value = serde_json::from_str(envelope_text)
        .map_err(|e| Rejection::bad_request(format!("the envelope is not JSON: {e}")))?;
    let payload_type = str_at(&envelope, &["payloadType"])?;
    let payload = b64_decode(str_at(&envelope, &["payload"])?, "envelope payload")?;
    let verifiers = spec
        .get("proposedContent")
        .and_then(|p| p.get("verifiers"))
        .and_then(Value::as_array)
        .ok_or_else(|| Rejection::bad_request("missing proposedContent.verifiers"))?
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| Rejection::bad_request("a verifier is not a string"))
                .and_then(|s| parse_verifier(s, "proposedContent.verifiers[]"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signatures = envelope
        .get("signatures")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Rejection::bad_request("the envelope has no signatures"))?;
    let message = pae(payload_type, &payload);
    let mut stored = Vec::new();
    for sig in signatures {
        let sig_b64 = sig
            .get("sig")
            .and_then(Value::as_str)
            .ok_or_else(|| Rejection::bad_request("an envelope signature has no sig"))?;
        let raw = b64_decode(sig_b64, "envelope signature")?;
        let verifier = verifiers
            .iter()
            .find(|v| verifies(&v.spki, &message, &raw))
            .ok_or_else(|| {
                Rejection::bad_request(
                    "could not verify envelope: all signatures must have a key that verifies it",
                )
            })?;
        stored.push((sig_b64.to_string(), b64(verifier.canonical_pem.as_bytes())));
    }
    stored.sort();
    stored.dedup();
    let signatures: Vec<Value> = stored
        .into_iter()
        .map(|(signature, verifier)| json!({ "signature": signature, "verifier": verifier }))
        .collect();
    Ok(json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": { "algorithm": "sha256", "value": hex::encode(sha256(envelope_text.as_bytes())) },
            "payloadHash": { "algorithm": "sha256", "value": hex::encode(sha256(&payload)) },
            "signatures": signatures
        }
    }))
}

/// RFC 8785 canonical JSON, as Rekor's `jsoncanonicalizer` writes entry bodies and SET payloads.
fn canonical(v: &Value) -> Result<Vec<u8>, Rejection> {
    serde_json_canonicalizer::to_vec(v).map_err(|e| Rejection::internal(format!("JCS: {e}")))
}

fn flip_first_byte(bytes: &mut [u8]) {
    if let Some(b) = bytes.first_mut() {
        *b ^= 0x01;
    }
}

impl Log {
    pub(crate) fn new(key: ServiceKey, tree_id: i64, host: String) -> Self {
        Self {
            key,
            tree_id,
            host,
            tree: Tree::default(),
            bodies: Vec::new(),
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.tree.size()
    }

    /// A checkpoint (signed note) of the current tree head, as Rekor v1 writes it.
    fn checkpoint(&self, now_nanos: u128) -> Result<String, Rejection> {
        let note = format!(
            "{} - {}\n{}\n{}\nTimestamp: {now_nanos}\n",
            self.host,
            self.tree_id,
            self.tree.size(),
            b64(&self.tree.root())
        );
        let signature = self.key.sign(note.as_bytes())?;
        let mut hinted = self.key.log_id().get(..4).unwrap_or_default().to_vec();
        hinted.extend_from_slice(&signature);
        Ok(format!("{note}\n\u{2014} {} {}\n", self.host, b64(&hinted)))
    }

    /// Handles `POST /api/v1/log/entries`: validates, appends, and answers like Rekor (201).
    pub(crate) fn create_entry(
        &mut self,
        body: &[u8],
        now_nanos: u128,
        corruption: Option<Corruption>,
    ) -> Result<Value, Rejection> {
        let proposed: Value = serde_json::from_slice(body)
            .map_err(|e| Rejection::bad_request(format!("the entry is not JSON: {e}")))?;
        let kind = proposed.get("kind").and_then(Value::as_str).unwrap_or("");
        let version = proposed
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let spec = proposed
            .get("spec")
            .ok_or_else(|| Rejection::bad_request("the entry has no spec"))?;
        let canonical_body = match (kind, version) {
            ("hashedrekord", "0.0.1") => hashedrekord(spec)?,
            ("dsse", "0.0.1") => dsse(spec)?,
            _ => {
                return Err(Rejection::bad_request(format!(
                    "entry kind {kind:?} version {version:?} is not supported by the stand-in \
                     (hashedrekord 0.0.1, dsse 0.0.1)"
                )));
            }
        };
        let body_bytes = canonical(&canonical_body)?;
        let leaf = merkle::leaf_hash(&body_bytes);
        if self.bodies.iter().any(|b| merkle::leaf_hash(b) == leaf) {
            return Err(Rejection::conflict(format!(
                "an equivalent entry already exists in the transparency log with UUID {}",
                hex::encode(leaf)
            )));
        }
        let index = self.tree.push(leaf);
        self.bodies.push(body_bytes.clone());
        let integrated_time = u64::try_from(now_nanos / 1_000_000_000)
            .map_err(|_| Rejection::internal("the clock is past 2^64 seconds"))?;
        let log_id = hex::encode(self.key.log_id());
        let body_b64 = b64(&body_bytes);
        let set_payload = json!({
            "body": body_b64,
            "integratedTime": integrated_time,
            "logID": log_id,
            "logIndex": index,
        });
        let mut set = self.key.sign(&canonical(&set_payload)?)?;
        let mut hashes = self
            .tree
            .proof(index)
            .ok_or_else(|| Rejection::internal("no proof for the entry just added"))?;
        match corruption {
            Some(Corruption::SignedEntryTimestamp) => flip_first_byte(&mut set),
            Some(Corruption::InclusionProof) => match hashes.first_mut() {
                Some(h) => flip_first_byte(h),
                None => hashes.push(sha256(b"not a sibling")),
            },
            None => {}
        }
        let uuid = format!("{:016x}{}", self.tree_id, hex::encode(leaf));
        let mut entry = serde_json::Map::new();
        entry.insert(
            uuid,
            json!({
                "body": body_b64,
                "integratedTime": integrated_time,
                "logID": log_id,
                "logIndex": index,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": self.checkpoint(now_nanos)?,
                        "hashes": hashes.iter().map(hex::encode).collect::<Vec<_>>(),
                        "logIndex": index,
                        "rootHash": hex::encode(self.tree.root()),
                        "treeSize": self.tree.size(),
                    },
                    "signedEntryTimestamp": b64(&set),
                }
            }),
        );
        Ok(Value::Object(entry))
    }

    /// Handles `GET /api/v1/log`: the tree head as Rekor reports it.
    pub(crate) fn log_info(&self, now_nanos: u128) -> Result<Value, Rejection> {
        Ok(json!({
            "rootHash": hex::encode(self.tree.root()),
            "treeSize": self.tree.size(),
            "signedTreeHead": self.checkpoint(now_nanos)?,
            "treeID": self.tree_id.to_string(),
            "inactiveShards": [],
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn hostile_entries_are_rejected_not_panicked_on() {
        let mut log = Log::new(ServiceKey::der_signing().unwrap(), 1, "rekor.test".into());
        let key = b64(pem("PUBLIC KEY", log.key.spki()).as_bytes());
        let cases = [
            json!(null),
            json!({}),
            json!({ "kind": "hashedrekord", "apiVersion": "0.0.1" }),
            json!({ "kind": "rekord", "apiVersion": "0.0.1", "spec": {} }),
            json!({ "kind": "hashedrekord", "apiVersion": "0.0.1", "spec": { "data": { "hash": { "algorithm": "sha256", "value": "zz" } } } }),
            json!({ "kind": "hashedrekord", "apiVersion": "0.0.1", "spec": {
                "data": { "hash": { "algorithm": "sha256", "value": "00".repeat(32) } },
                "signature": { "content": "MEUCIQ==", "publicKey": { "content": key } } } }),
            json!({ "kind": "hashedrekord", "apiVersion": "0.0.1", "spec": {
                "data": { "hash": { "algorithm": "sha256", "value": "00".repeat(32) } },
                "signature": { "content": "AA==", "publicKey": { "content": "bm90IHBlbQ==" } } } }),
            json!({ "kind": "dsse", "apiVersion": "0.0.1", "spec": { "proposedContent": { "envelope": "{", "verifiers": [] } } }),
            json!({ "kind": "dsse", "apiVersion": "0.0.1", "spec": { "proposedContent": {
                "envelope": "{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":[{\"sig\":\"AA==\"}]}",
                "verifiers": [key] } } }),
            json!({ "kind": "dsse", "apiVersion": "0.0.1", "spec": { "payloadHash": {}, "proposedContent": {} } }),
        ];
        for case in cases {
            let body = serde_json::to_vec(&case).unwrap();
            let err = log.create_entry(&body, 1, None).unwrap_err();
            assert_eq!(err.status, 400, "{case}: {err}");
        }
        assert!(log.create_entry(b"\xff", 1, None).is_err());
        assert_eq!(log.size(), 0);
    }

    #[test]
    fn a_valid_dsse_entry_is_canonicalized_like_rekor() {
        let mut log = Log::new(ServiceKey::der_signing().unwrap(), 7, "rekor.test".into());
        let signer = ServiceKey::der_signing().unwrap();
        let payload = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
        let sig = signer
            .sign(&pae("application/vnd.in-toto+json", payload))
            .unwrap();
        let envelope = json!({ "payloadType": "application/vnd.in-toto+json",
            "payload": b64(payload), "signatures": [{ "sig": b64(&sig), "keyid": "" }] })
        .to_string();
        let verifier = b64(pem("PUBLIC KEY", signer.spki()).as_bytes());
        let request = json!({ "kind": "dsse", "apiVersion": "0.0.1", "spec": {
            "proposedContent": { "envelope": envelope, "verifiers": [verifier] } } });
        let answer = log
            .create_entry(
                &serde_json::to_vec(&request).unwrap(),
                1_700_000_000_000_000_000,
                None,
            )
            .unwrap();
        let (uuid, entry) = answer.as_object().unwrap().iter().next().unwrap();
        assert!(uuid.starts_with("0000000000000007"));
        let body = base64::engine::general_purpose::STANDARD
            .decode(entry["body"].as_str().unwrap())
            .unwrap();
        let expected = format!(
            r#"{{"apiVersion":"0.0.1","kind":"dsse","spec":{{"envelopeHash":{{"algorithm":"sha256","value":"{}"}},"payloadHash":{{"algorithm":"sha256","value":"{}"}},"signatures":[{{"signature":"{}","verifier":"{}"}}]}}}}"#,
            hex::encode(sha256(envelope.as_bytes())),
            hex::encode(sha256(payload)),
            b64(&sig),
            verifier
        );
        assert_eq!(String::from_utf8(body).unwrap(), expected);
        assert_eq!(entry["integratedTime"], 1_700_000_000);
        assert_eq!(log.size(), 1);
        // The same entry again is a conflict, as in Rekor.
        let again = log.create_entry(&serde_json::to_vec(&request).unwrap(), 2, None);
        assert_eq!(again.unwrap_err().status, 409);
    }
}
