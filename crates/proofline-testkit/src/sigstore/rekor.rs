//! The stand-in's Rekor v1: `POST /api/v1/log/entries` for `hashedrekord` and `dsse` 0.0.1 as
//! Rekor validates and canonicalizes them, an RFC 6962 log, signed checkpoints and signed entry
//! timestamps (SETs); `GET /api/v1/log` for the tree head.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA384_ASN1, ECDSA_P384_SHA256_ASN1, ECDSA_P384_SHA384_ASN1,
    ECDSA_P521_SHA256_ASN1, ECDSA_P521_SHA512_ASN1, ED25519, RSA_PKCS1_2048_8192_SHA256,
    RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512, UnparsedPublicKey,
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
    entries: Vec<Stored>,
}

/// One logged entry: its canonical body, leaf hash, integrated time and SET.
#[derive(Debug)]
struct Stored {
    body: Vec<u8>,
    leaf: [u8; 32],
    integrated_time: u64,
    set: Vec<u8>,
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

/// How Rekor verifies DSSE signatures: `signature.LoadVerifier(key, crypto.SHA256)`, so ECDSA on
/// any curve and RSA PKCS#1 v1.5 hash the PAE with SHA-256, and Ed25519 signs it as it is.
static DSSE_ALGS: [&dyn VerificationAlgorithm; 5] = [
    &ECDSA_P256_SHA256_ASN1,
    &ECDSA_P384_SHA256_ASN1,
    &ECDSA_P521_SHA256_ASN1,
    &RSA_PKCS1_2048_8192_SHA256,
    &ED25519,
];

fn verifies(spki: &[u8], message: &[u8], signature: &[u8]) -> bool {
    DSSE_ALGS.iter().any(|alg| {
        UnparsedPublicKey::new(*alg, spki)
            .verify(message, signature)
            .is_ok()
    })
}

/// The digests `hashedrekord` accepts, and the schemes that verify a signature over each (Rekor
/// verifies ECDSA over the given digest whatever the curve, RSA PKCS#1 v1.5 with that hash).
fn digest_schemes(
    algorithm: &str,
) -> Option<(
    &'static digest::Algorithm,
    &'static [&'static dyn VerificationAlgorithm],
)> {
    static SHA256_SCHEMES: [&dyn VerificationAlgorithm; 4] = [
        &ECDSA_P256_SHA256_ASN1,
        &ECDSA_P384_SHA256_ASN1,
        &ECDSA_P521_SHA256_ASN1,
        &RSA_PKCS1_2048_8192_SHA256,
    ];
    static SHA384_SCHEMES: [&dyn VerificationAlgorithm; 3] = [
        &ECDSA_P384_SHA384_ASN1,
        &ECDSA_P256_SHA384_ASN1,
        &RSA_PKCS1_2048_8192_SHA384,
    ];
    static SHA512_SCHEMES: [&dyn VerificationAlgorithm; 2] =
        [&ECDSA_P521_SHA512_ASN1, &RSA_PKCS1_2048_8192_SHA512];
    match algorithm {
        "sha256" => Some((&digest::SHA256, &SHA256_SCHEMES)),
        "sha384" => Some((&digest::SHA384, &SHA384_SCHEMES)),
        "sha512" => Some((&digest::SHA512, &SHA512_SCHEMES)),
        _ => None,
    }
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
    let (digest_alg, schemes) = digest_schemes(algorithm).ok_or_else(|| {
        Rejection::bad_request(format!(
            "hash algorithm {algorithm:?} is not one of sha256, sha384, sha512"
        ))
    })?;
    let digest = hex::decode(value)
        .ok()
        .and_then(|d| digest::Digest::import_less_safe(&d, digest_alg).ok())
        .ok_or_else(|| {
            Rejection::bad_request(format!(
                "invalid value for hash: {value:?} is not a hex {algorithm}"
            ))
        })?;
    let signature_b64 = str_at(spec, &["signature", "content"])?;
    let signature = b64_decode(signature_b64, "signature.content")?;
    let verifier = parse_verifier(
        str_at(spec, &["signature", "publicKey", "content"])?,
        "signature.publicKey.content",
    )?;
    let ok = schemes.iter().any(|alg| {
        UnparsedPublicKey::new(*alg, &verifier.spki)
            .verify_digest(&digest, &signature)
            .is_ok()
    });
    if !ok {
        return Err(Rejection::bad_request(format!(
            "verifying signature: the signature does not verify over the {algorithm} digest with \
             the key given (ECDSA and RSA PKCS#1 v1.5; the stand-in has no Ed25519ph)"
        )));
    }
    // Rekor keeps `data.hash` as submitted and re-encodes the signature and the key.
    Ok(json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": { "hash": { "algorithm": algorithm, "value": value } },
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
            entries: Vec::new(),
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
        if self.entries.iter().any(|e| e.leaf == leaf) {
            return Err(Rejection::conflict(format!(
                "an equivalent entry already exists in the transparency log with UUID {}",
                hex::encode(leaf)
            )));
        }
        let integrated_time = u64::try_from(now_nanos / 1_000_000_000)
            .map_err(|_| Rejection::internal("the clock is past 2^64 seconds"))?;
        let index = self.tree.size();
        let set_payload = json!({
            "body": b64(&body_bytes),
            "integratedTime": integrated_time,
            "logID": hex::encode(self.key.log_id()),
            "logIndex": index,
        });
        let set = self.key.sign(&canonical(&set_payload)?)?;
        self.tree.push(leaf);
        self.entries.push(Stored {
            body: body_bytes,
            leaf,
            integrated_time,
            set,
        });
        self.answer(index, now_nanos, corruption)
    }

    /// The Rekor v1 answer for entry `index`: `{uuid: {body, integratedTime, logID, logIndex,
    /// verification}}`, its inclusion proof and checkpoint for the current tree.
    fn answer(
        &self,
        index: usize,
        now_nanos: u128,
        corruption: Option<Corruption>,
    ) -> Result<Value, Rejection> {
        let stored = self
            .entries
            .get(index)
            .ok_or_else(|| Rejection::not_found(format!("no entry at log index {index}")))?;
        let mut set = stored.set.clone();
        let mut hashes = self
            .tree
            .proof(index)
            .ok_or_else(|| Rejection::internal(format!("no proof for log index {index}")))?;
        match corruption {
            Some(Corruption::SignedEntryTimestamp) => flip_first_byte(&mut set),
            Some(Corruption::InclusionProof) => match hashes.first_mut() {
                Some(h) => flip_first_byte(h),
                None => hashes.push(sha256(b"not a sibling")),
            },
            None => {}
        }
        let mut entry = serde_json::Map::new();
        entry.insert(
            self.uuid(&stored.leaf),
            json!({
                "body": b64(&stored.body),
                "integratedTime": stored.integrated_time,
                "logID": hex::encode(self.key.log_id()),
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

    /// Rekor's entry UUID: the tree ID (16 hex digits) and the leaf hash.
    fn uuid(&self, leaf: &[u8; 32]) -> String {
        format!("{:016x}{}", self.tree_id, hex::encode(leaf))
    }

    /// Handles `GET /api/v1/log/entries/{uuid}` (with or without the tree ID prefix).
    pub(crate) fn entry_by_uuid(&self, uuid: &str, now_nanos: u128) -> Result<Value, Rejection> {
        let index = self
            .entries
            .iter()
            .position(|e| {
                let hash = hex::encode(e.leaf);
                uuid.eq_ignore_ascii_case(&hash) || uuid.eq_ignore_ascii_case(&self.uuid(&e.leaf))
            })
            .ok_or_else(|| Rejection::not_found(format!("no entry with UUID {uuid:?}")))?;
        self.answer(index, now_nanos, None)
    }

    /// Handles `GET /api/v1/log/entries?logIndex=N`.
    pub(crate) fn entry_by_index(&self, query: &str, now_nanos: u128) -> Result<Value, Rejection> {
        let index = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("logIndex="))
            .ok_or_else(|| Rejection::bad_request("missing logIndex"))?;
        let index: usize = index
            .parse()
            .map_err(|_| Rejection::bad_request(format!("logIndex {index:?} is not a number")))?;
        self.answer(index, now_nanos, None)
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

    fn spki_pem_b64(spki: &[u8]) -> String {
        b64(pem("PUBLIC KEY", spki).as_bytes())
    }

    fn hashed(alg: &str, digest: &[u8], sig: &[u8], key: &str) -> Vec<u8> {
        serde_json::to_vec(
            &json!({ "kind": "hashedrekord", "apiVersion": "0.0.1", "spec": {
            "data": { "hash": { "algorithm": alg, "value": hex::encode_upper(digest) } },
            "signature": { "content": b64(sig), "publicKey": { "content": key } } } }),
        )
        .unwrap()
    }

    fn dsse_request(payload: &[u8], sig: &[u8], key: &str) -> Vec<u8> {
        let envelope = json!({ "payloadType": "application/vnd.in-toto+json",
            "payload": b64(payload), "signatures": [{ "sig": b64(sig) }] })
        .to_string();
        serde_json::to_vec(&json!({ "kind": "dsse", "apiVersion": "0.0.1", "spec": {
            "proposedContent": { "envelope": envelope, "verifiers": [key] } } }))
        .unwrap()
    }

    #[test]
    fn keyed_entries_are_verified_with_the_schemes_rekor_uses() {
        use aws_lc_rs::encoding::AsDer as _;
        use aws_lc_rs::signature::{self as sig, KeyPair as _};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut log = Log::new(ServiceKey::der_signing().unwrap(), 1, "rekor.test".into());
        let message = b"keyed artifact";

        // P-384 over a SHA-384 digest; the hash is stored as submitted (upper-case hex here).
        let p384 = sig::EcdsaKeyPair::generate(&sig::ECDSA_P384_SHA384_ASN1_SIGNING).unwrap();
        let p384_key = spki_pem_b64(p384.public_key().as_der().unwrap().as_ref());
        let p384_sig = p384.sign(&rng, message).unwrap();
        let sha384 = digest::digest(&digest::SHA384, message);
        let answer = log
            .create_entry(
                &hashed("sha384", sha384.as_ref(), p384_sig.as_ref(), &p384_key),
                1,
                None,
            )
            .unwrap();
        let body = answer.as_object().unwrap().values().next().unwrap()["body"].clone();
        let body = base64::engine::general_purpose::STANDARD
            .decode(body.as_str().unwrap())
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["spec"]["data"]["hash"]["value"],
            hex::encode_upper(sha384.as_ref())
        );
        // The same signature over a SHA-256 digest of the message does not verify.
        let sha256 = digest::digest(&digest::SHA256, message);
        let wrong = hashed("sha256", sha256.as_ref(), p384_sig.as_ref(), &p384_key);
        assert_eq!(log.create_entry(&wrong, 1, None).unwrap_err().status, 400);
        // A digest of the wrong length for its algorithm.
        let short = hashed("sha512", sha256.as_ref(), p384_sig.as_ref(), &p384_key);
        assert_eq!(log.create_entry(&short, 1, None).unwrap_err().status, 400);

        // RSA PKCS#1 v1.5: hashedrekord over SHA-256 and DSSE (SHA-256 over the PAE).
        let rsa = sig::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let rsa_key = spki_pem_b64(rsa.public_key().as_der().unwrap().as_ref());
        let mut rsa_sig = vec![0; rsa.public_modulus_len()];
        rsa.sign(&sig::RSA_PKCS1_SHA256, &rng, message, &mut rsa_sig)
            .unwrap();
        log.create_entry(
            &hashed("sha256", sha256.as_ref(), &rsa_sig, &rsa_key),
            1,
            None,
        )
        .unwrap();
        let payload = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
        let pae_bytes = pae("application/vnd.in-toto+json", payload);
        rsa.sign(&sig::RSA_PKCS1_SHA256, &rng, &pae_bytes, &mut rsa_sig)
            .unwrap();
        log.create_entry(&dsse_request(payload, &rsa_sig, &rsa_key), 1, None)
            .unwrap();

        // Ed25519 signs the PAE itself.
        let pkcs8 = sig::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ed = sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let ed_key = spki_pem_b64(ed.public_key().as_der().unwrap().as_ref());
        let ed_sig = ed.sign(&pae_bytes);
        log.create_entry(&dsse_request(payload, ed_sig.as_ref(), &ed_key), 1, None)
            .unwrap();

        // Rekor verifies DSSE with SHA-256 whatever the curve: a P-384 key that hashed the PAE
        // with SHA-384 is refused, as the real log refuses it.
        let p384_dsse = p384.sign(&rng, &pae_bytes).unwrap();
        let refused = dsse_request(payload, p384_dsse.as_ref(), &p384_key);
        assert_eq!(log.create_entry(&refused, 1, None).unwrap_err().status, 400);
        assert_eq!(log.size(), 4);
    }

    #[test]
    fn entries_are_found_by_uuid_and_index_with_a_fresh_proof() {
        let mut log = Log::new(
            ServiceKey::der_signing().unwrap(),
            0x1234,
            "rekor.test".into(),
        );
        let signer = ServiceKey::der_signing().unwrap();
        let key = spki_pem_b64(signer.spki());
        let mut uuids = Vec::new();
        for n in 0..3u8 {
            let message = [n];
            let digest = digest::digest(&digest::SHA256, &message);
            let sig = signer.sign(&message).unwrap();
            let answer = log
                .create_entry(&hashed("sha256", digest.as_ref(), &sig, &key), 10, None)
                .unwrap();
            uuids.push(answer.as_object().unwrap().keys().next().unwrap().clone());
        }
        let first = log.entry_by_uuid(&uuids[0], 20).unwrap();
        let entry = &first[&uuids[0]];
        assert_eq!(entry["verification"]["inclusionProof"]["treeSize"], 3);
        assert_eq!(entry["logIndex"], 0);
        // The bare leaf hash works too, and so does the index.
        assert!(log.entry_by_uuid(&uuids[1][16..], 20).is_ok());
        let by_index = log.entry_by_index("logIndex=2", 20).unwrap();
        assert!(by_index.get(&uuids[2]).is_some());
        for (query, status) in [
            ("logIndex=3", 404),
            ("logIndex=-1", 400),
            ("logIndex=x", 400),
            ("", 400),
        ] {
            assert_eq!(
                log.entry_by_index(query, 20).unwrap_err().status,
                status,
                "{query}"
            );
        }
        assert_eq!(log.entry_by_uuid("00", 20).unwrap_err().status, 404);
    }
}
