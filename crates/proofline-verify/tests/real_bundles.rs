//! Our verifier against bundles real Sigstore clients made (cosign v3, cosign attest,
//! sigstore-python, a GitHub Actions identity) and the trusted roots they chain to: each one is
//! accepted with its signer's identity, and rejected when one byte of it, of its payload or of the
//! artifact changes, or when the identity or the trusted root is not its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use proofline_verify::trust::{Signed, verify_bundle};
use proofline_verify::{Matcher, Trust, load_trusted_root};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sign/real-bundles")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

fn trust(identity: &str, issuer: &str, root: &str) -> Trust {
    let root = load_trusted_root(Some(&fixtures().join(root))).unwrap();
    Trust::identity(
        Matcher::Exact(identity.into()),
        Matcher::Exact(issuer.into()),
        root,
    )
    .unwrap()
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The bundle with one byte of a base64 field changed.
fn flip(bundle: &[u8], pointer: &str) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(bundle).unwrap();
    let field = doc.pointer_mut(pointer).unwrap();
    let mut bytes = B64.decode(field.as_str().unwrap()).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    *field = Value::String(B64.encode(bytes));
    serde_json::to_vec(&doc).unwrap()
}

struct Case {
    bundle: &'static str,
    identity: &'static str,
    issuer: &'static str,
    root: &'static str,
    /// The artifact file for message signatures; `None` for DSSE bundles.
    artifact: Option<&'static str>,
    /// The statement subject's digest for DSSE bundles.
    subject: Option<&'static str>,
}

const GITHUB_OAUTH: &str = "https://github.com/login/oauth";
const ACTIONS: &str = "https://token.actions.githubusercontent.com";

fn cases() -> Vec<Case> {
    vec![
        Case {
            bundle: "a.txt.sigstore",
            identity: "a@tny.town",
            issuer: GITHUB_OAUTH,
            root: "trusted_root.prod.json",
            artifact: Some("a.txt"),
            subject: None,
        },
        Case {
            bundle: "bundle_v03.json",
            identity: "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0",
            issuer: ACTIONS,
            root: "trusted_root.prod.json",
            artifact: None,
            subject: Some("c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172"),
        },
        Case {
            bundle: "bundle_v3.txt.sigstore",
            identity: "william@yossarian.net",
            issuer: GITHUB_OAUTH,
            root: "trusted_root.staging.json",
            artifact: Some("bundle_v3.txt"),
            subject: None,
        },
        Case {
            bundle: "a.dsse.staging-rekor-v2.txt.sigstore.json",
            identity: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
            issuer: ACTIONS,
            root: "trusted_root.staging.json",
            artifact: None,
            subject: Some("a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"),
        },
        Case {
            bundle: "oci-attestation.sigstore.json",
            identity: "cody@soyland.com",
            issuer: GITHUB_OAUTH,
            root: "trusted_root_pgi.json",
            artifact: None,
            subject: Some("732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"),
        },
    ]
}

fn check(case: &Case, trust: &Trust, bundle: &[u8], artifact: &[u8]) -> Result<(), String> {
    let signed = match case.subject {
        Some(hex) => Signed::Subject(hex),
        None => Signed::Message(artifact),
    };
    verify_bundle(trust, bundle, signed)
        .map(|_| ())
        .map_err(|e| e.0)
}

#[test]
fn real_bundles_verify_with_their_signers_identity() {
    for case in cases() {
        let trust = trust(case.identity, case.issuer, case.root);
        let bundle = read(case.bundle);
        let artifact = case.artifact.map(read).unwrap_or_default();
        check(&case, &trust, &bundle, &artifact)
            .unwrap_or_else(|e| panic!("{} should verify: {e}", case.bundle));
        // The identity as a regular expression works too, and is matched whole.
        let root = load_trusted_root(Some(&fixtures().join(case.root))).unwrap();
        let pattern = format!("{}.*", &case.identity[..case.identity.len() / 2]);
        let by_regex = Trust::identity(
            Matcher::regex(
                "certificate-identity-regexp",
                &regex_escape_prefix(&pattern),
            )
            .unwrap(),
            Matcher::regex("certificate-oidc-issuer-regexp", "https://.*").unwrap(),
            root,
        )
        .unwrap();
        check(&case, &by_regex, &bundle, &artifact)
            .unwrap_or_else(|e| panic!("{} should verify by regex: {e}", case.bundle));
    }
}

/// Escapes the regex metacharacters of the literal part of `prefix.*`.
fn regex_escape_prefix(pattern: &str) -> String {
    let literal = pattern.strip_suffix(".*").unwrap();
    format!("{}.*", regex::escape(literal))
}

#[test]
fn one_changed_byte_is_rejected() {
    for case in cases() {
        let trust = trust(case.identity, case.issuer, case.root);
        let bundle = read(case.bundle);
        let artifact = case.artifact.map(read).unwrap_or_default();
        let doc: Value = serde_json::from_slice(&bundle).unwrap();
        let mut tampered = Vec::new();
        if doc.get("dsseEnvelope").is_some() {
            tampered.push(("signature", flip(&bundle, "/dsseEnvelope/signatures/0/sig")));
            tampered.push(("payload", flip(&bundle, "/dsseEnvelope/payload")));
        } else {
            tampered.push(("signature", flip(&bundle, "/messageSignature/signature")));
        }
        tampered.push((
            "log entry body",
            flip(
                &bundle,
                "/verificationMaterial/tlogEntries/0/canonicalizedBody",
            ),
        ));
        for (what, changed) in tampered {
            let err = check(&case, &trust, &changed, &artifact).expect_err(&format!(
                "{}: a changed {what} must be rejected",
                case.bundle
            ));
            assert!(!err.is_empty());
        }
        // The artifact itself changed.
        match case.subject {
            Some(hex) => {
                let mut other = hex.to_string();
                other.replace_range(0..1, if hex.starts_with('0') { "1" } else { "0" });
                let err = verify_bundle(&trust, &bundle, Signed::Subject(&other)).unwrap_err();
                assert!(err.0.contains("artifact"), "{}: {err}", case.bundle);
            }
            None => {
                let mut changed = artifact.clone();
                changed.push(b'\n');
                let err = check(&case, &trust, &bundle, &changed).unwrap_err();
                assert!(
                    err.contains("artifact") || err.contains("digest"),
                    "{}: {err}",
                    case.bundle
                );
            }
        }
    }
}

#[test]
fn another_identity_issuer_or_root_is_rejected() {
    for case in cases() {
        let bundle = read(case.bundle);
        let artifact = case.artifact.map(read).unwrap_or_default();
        let err = check(
            &case,
            &trust("mallory@example.com", case.issuer, case.root),
            &bundle,
            &artifact,
        )
        .unwrap_err();
        assert!(err.contains("identity"), "{}: {err}", case.bundle);
        let err = check(
            &case,
            &trust(case.identity, "https://accounts.example.com", case.root),
            &bundle,
            &artifact,
        )
        .unwrap_err();
        assert!(err.contains("issuer"), "{}: {err}", case.bundle);
        let other_root = if case.root.contains("staging") {
            "trusted_root.prod.json"
        } else {
            "trusted_root.staging.json"
        };
        check(
            &case,
            &trust(case.identity, case.issuer, other_root),
            &bundle,
            &artifact,
        )
        .expect_err(&format!("{} must not chain to {other_root}", case.bundle));
    }
}

#[test]
fn a_keyless_bundle_is_not_accepted_for_a_key_and_a_truncated_one_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("cosign.pub");
    // Any valid P-256 public key: the bundle carries a certificate, so key trust must refuse it.
    std::fs::write(
        &key,
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWBVfYtkKJl9jkUB3GYt8mX7UbqM7\nU5Z0wJ+Vq/+8i/zhwdb2jpp3zoVU9yX28Ikf+ZCgCn0Z43fN2ZbFQ+oFNQ==\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let keyed = Trust::key(&key, None, false).unwrap();
    let bundle = read("a.txt.sigstore");
    let err = verify_bundle(&keyed, &bundle, Signed::Message(&read("a.txt"))).unwrap_err();
    assert!(err.0.contains("certificate"), "{err}");
    let case = &cases()[0];
    let trust = trust(case.identity, case.issuer, case.root);
    let err = verify_bundle(
        &trust,
        &bundle[..bundle.len() / 2],
        Signed::Message(&read("a.txt")),
    )
    .unwrap_err();
    assert!(err.0.contains("malformed"), "{err}");
}
