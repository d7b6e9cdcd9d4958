//! The Sigstore stand-in against the real clients: keyless blob and DSSE signing with
//! `sigstore-sign`, verification with `sigstore-verify` (SCT, chain, SET, inclusion proof and
//! checkpoint) and, when installed, sigstore-js; tampering and the stand-in's refusals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use proofline_testkit::sigstore::{Corruption, SigstoreStandIn};
use serde_json::{Value, json};
use sigstore_sign::oidc::IdentityToken;
use sigstore_sign::types::Bundle;
use sigstore_sign::{SigningContext, SigningServices};
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::{VerificationPolicy, VerificationResult, Verifier};

const EMAIL: &str = "ci@proofline.test";
const ARTIFACT: &[u8] = b"the artifact Proofline signs\n";

fn signer(standin: &SigstoreStandIn, token: &str) -> sigstore_sign::Signer {
    // No proxy: the stand-in is on loopback, whatever HTTP(S)_PROXY the environment sets.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let services = SigningServices::new(standin.fulcio_url(), standin.rekor_url());
    SigningContext::new(services)
        .with_http_client(http)
        .signer(IdentityToken::from_jwt(token).unwrap())
}

fn verifier(standin: &SigstoreStandIn) -> Verifier {
    let root = TrustedRoot::from_json(&standin.trusted_root_json()).unwrap();
    Verifier::new(&root).unwrap()
}

/// Verifies `bundle` over ARTIFACT with `policy`, and that the chain, the SCT and the log entry
/// were each checked (not skipped).
fn fully_verified(
    verifier: &Verifier,
    bundle: &Bundle,
    policy: &VerificationPolicy,
) -> VerificationResult {
    let result = verifier.verify(ARTIFACT, bundle, policy).unwrap();
    assert!(result.certificate_verified());
    assert!(result.sct_verified());
    assert!(result.tlog_verified());
    result
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}

fn statement() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": "registry.test/app", "digest": { "sha256": sha256_hex(ARTIFACT) } }],
        "predicateType": "https://proofline.dev/test/v1",
        "predicate": { "stage": "standin" }
    }))
    .unwrap()
}

/// The bundle with `edit` applied to its JSON.
fn edited(bundle: &Bundle, edit: impl FnOnce(&mut Value)) -> Bundle {
    let mut v: Value = serde_json::from_str(&bundle.to_json().unwrap()).unwrap();
    edit(&mut v);
    Bundle::from_json(&v.to_string()).unwrap()
}

#[tokio::test]
async fn keyless_blob_signature_verifies_and_tampering_is_caught() {
    let standin = SigstoreStandIn::start().unwrap();
    let token = standin.identity_token(EMAIL);
    let bundle = signer(&standin, &token).sign(ARTIFACT).await.unwrap();
    assert_eq!(standin.entries(), 1);
    assert_eq!(standin.certificates_issued(), 1);

    let verifier = verifier(&standin);
    let issuer = standin.oidc_issuer();
    let policy = VerificationPolicy::new(EMAIL, issuer.as_str());
    let result = fully_verified(&verifier, &bundle, &policy);
    assert_eq!(result.issuer(), Some(issuer.as_str()));

    // Wrong identity, wrong issuer, a changed artifact byte.
    let wrong_identity = VerificationPolicy::new("other@proofline.test", issuer.as_str());
    assert!(verifier.verify(ARTIFACT, &bundle, &wrong_identity).is_err());
    let wrong_issuer =
        VerificationPolicy::new(EMAIL, "https://token.actions.githubusercontent.com");
    assert!(verifier.verify(ARTIFACT, &bundle, &wrong_issuer).is_err());
    let mut flipped = ARTIFACT.to_vec();
    flipped[0] ^= 1;
    assert!(
        verifier
            .verify(flipped.as_slice(), &bundle, &policy)
            .is_err()
    );

    // Another stand-in's trusted root does not vouch for this one's bundle.
    let other = SigstoreStandIn::start().unwrap();
    assert!(
        crate::verifier(&other)
            .verify(ARTIFACT, &bundle, &policy)
            .is_err()
    );

    // A later entry's proof is in a bigger tree, and still verifies.
    let second = signer(&standin, &token).sign(b"second").await.unwrap();
    assert_eq!(standin.entries(), 2);
    let r = verifier
        .verify(b"second".as_slice(), &second, &policy)
        .unwrap();
    assert!(r.tlog_verified());
    let v: Value = serde_json::from_str(&second.to_json().unwrap()).unwrap();
    let entry = &v["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["logIndex"], "1");
    assert_eq!(entry["inclusionProof"]["treeSize"], "2");
    assert_eq!(
        entry["inclusionProof"]["hashes"].as_array().unwrap().len(),
        1
    );

    // Proofs from trees of every shape up to 8 leaves verify with the verifier's own Merkle code.
    let mut last = None;
    for n in 3..=8u8 {
        let artifact = [n];
        let b = signer(&standin, &token)
            .sign(artifact.as_slice())
            .await
            .unwrap();
        assert!(
            verifier
                .verify(artifact.as_slice(), &b, &policy)
                .unwrap()
                .tlog_verified()
        );
        last = Some(b);
    }
    assert_eq!(standin.entries(), 8);

    // The bundle survives a JSON round trip and keeps verifying.
    let again = Bundle::from_json(&bundle.to_json_pretty().unwrap()).unwrap();
    assert!(verifier.verify(ARTIFACT, &again, &policy).is_ok());

    // The log's own view of its head matches the last proof.
    let info: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/api/v1/log", standin.rekor_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["treeSize"], 8);
    let last: Value = serde_json::from_str(&last.unwrap().to_json().unwrap()).unwrap();
    let root_b64 = last["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["rootHash"]
        .as_str()
        .unwrap();
    use base64::Engine as _;
    let root = base64::engine::general_purpose::STANDARD
        .decode(root_b64)
        .unwrap();
    assert_eq!(info["rootHash"], hex::encode(root));

    // The first entry, fetched back, is the body the first bundle carries, proven in the bigger tree.
    let fetched: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!(
            "{}/api/v1/log/entries?logIndex=0",
            standin.rekor_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_, fetched) = fetched.as_object().unwrap().iter().next().unwrap();
    let first: Value = serde_json::from_str(&bundle.to_json().unwrap()).unwrap();
    assert_eq!(
        fetched["body"],
        first["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
    );
    assert_eq!(fetched["verification"]["inclusionProof"]["treeSize"], 8);
}

#[tokio::test]
async fn leaf_certificates_have_the_fulcio_profile() {
    use x509_cert::Certificate;
    use x509_cert::der::asn1::Utf8StringRef;
    use x509_cert::der::{Decode as _, Encode as _};

    let standin = SigstoreStandIn::start().unwrap();
    let bundle = signer(&standin, &standin.identity_token(EMAIL))
        .sign(ARTIFACT)
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&bundle.to_json().unwrap()).unwrap();
    let raw = v["verificationMaterial"]["certificate"]["rawBytes"]
        .as_str()
        .unwrap();
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .unwrap();
    let leaf = Certificate::from_der(&der).unwrap();
    let tbs = &leaf.tbs_certificate;
    assert!(
        tbs.subject.0.is_empty(),
        "Fulcio leaves have an empty subject"
    );
    let validity =
        tbs.validity.not_after.to_unix_duration() - tbs.validity.not_before.to_unix_duration();
    assert_eq!(validity.as_secs(), 600);

    let exts = tbs.extensions.as_ref().unwrap();
    let ext = |oid: &str| {
        exts.iter()
            .find(|e| e.extn_id.to_string() == oid)
            .unwrap_or_else(|| panic!("no extension {oid}"))
    };
    let issuer = standin.oidc_issuer();
    let san = ext("2.5.29.17");
    assert!(san.critical);
    let names = x509_cert::ext::pkix::SubjectAltName::from_der(san.extn_value.as_bytes()).unwrap();
    assert_eq!(
        names.0,
        vec![x509_cert::ext::pkix::name::GeneralName::Rfc822Name(
            EMAIL.to_string().try_into().unwrap()
        )]
    );
    let ku = ext("2.5.29.15");
    assert!(ku.critical);
    let ku = x509_cert::ext::pkix::KeyUsage::from_der(ku.extn_value.as_bytes()).unwrap();
    assert!(ku.digital_signature() && !ku.key_cert_sign());
    let eku =
        x509_cert::ext::pkix::ExtendedKeyUsage::from_der(ext("2.5.29.37").extn_value.as_bytes())
            .unwrap();
    assert_eq!(
        eku.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["1.3.6.1.5.5.7.3.3"]
    );
    assert_eq!(
        ext("1.3.6.1.4.1.57264.1.1").extn_value.as_bytes(),
        issuer.as_bytes()
    );
    assert_eq!(
        ext("1.3.6.1.4.1.57264.1.8").extn_value.as_bytes(),
        Utf8StringRef::new(&issuer).unwrap().to_der().unwrap()
    );
    assert!(!ext("1.3.6.1.4.1.11129.2.4.2").critical);
    assert!(
        ext("2.5.29.35").extn_value.as_bytes().len() > 4,
        "authority key identifier"
    );
}

#[tokio::test]
async fn keyless_dsse_attestation_verifies_and_tampering_is_caught() {
    let standin = SigstoreStandIn::start().unwrap();
    let subject = "https://ci.proofline.test/workflows/release.yml@refs/heads/main";
    let token = standin.identity_token(subject);
    let bundle = signer(&standin, &token)
        .sign_raw_statement(&statement())
        .await
        .unwrap();
    assert_eq!(standin.entries(), 1);

    let verifier = verifier(&standin);
    let issuer = standin.oidc_issuer();
    let policy = VerificationPolicy::new(subject, issuer.as_str());
    fully_verified(&verifier, &bundle, &policy);

    let v: Value = serde_json::from_str(&bundle.to_json().unwrap()).unwrap();
    assert_eq!(
        v["verificationMaterial"]["tlogEntries"][0]["kindVersion"],
        json!({ "kind": "dsse", "version": "0.0.1" })
    );

    // The attestation is about ARTIFACT, not about anything else.
    assert!(
        verifier
            .verify(b"other".as_slice(), &bundle, &policy)
            .is_err()
    );
    let wrong = VerificationPolicy::new("https://ci.proofline.test/other", issuer.as_str());
    assert!(verifier.verify(ARTIFACT, &bundle, &wrong).is_err());

    // One byte of the signed statement changed inside the envelope.
    let tampered = edited(&bundle, |v| {
        let payload = v["dsseEnvelope"]["payload"].as_str().unwrap().to_string();
        use base64::Engine as _;
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .unwrap();
        let at = bytes.len() - 3;
        bytes[at] ^= 1;
        v["dsseEnvelope"]["payload"] =
            json!(base64::engine::general_purpose::STANDARD.encode(bytes));
    });
    assert!(verifier.verify(ARTIFACT, &tampered, &policy).is_err());
}

#[tokio::test]
async fn corrupted_log_answers_are_rejected_by_the_verifier() {
    let standin = SigstoreStandIn::start().unwrap();
    let token = standin.identity_token(EMAIL);
    let verifier = verifier(&standin);
    let issuer = standin.oidc_issuer();
    let policy = VerificationPolicy::new(EMAIL, issuer.as_str());

    standin.corrupt_next_rekor(Corruption::SignedEntryTimestamp);
    let bad_set = signer(&standin, &token).sign(ARTIFACT).await.unwrap();
    let err = verifier.verify(ARTIFACT, &bad_set, &policy).unwrap_err();
    assert!(err.to_string().contains("SET"), "{err}");

    // The corruption applied once: the next entry is sound (and its proof is not empty).
    let good = signer(&standin, &token).sign(b"x").await.unwrap();
    assert!(verifier.verify(b"x".as_slice(), &good, &policy).is_ok());

    for artifact in [b"y".as_slice(), b"z".as_slice()] {
        standin.corrupt_next_rekor(Corruption::InclusionProof);
        let bad_proof = signer(&standin, &token).sign(artifact).await.unwrap();
        let err = verifier.verify(artifact, &bad_proof, &policy).unwrap_err();
        assert!(err.to_string().contains("inclusion"), "{err}");
    }

    // A root hash that no longer matches the signed checkpoint.
    let tampered = edited(&good, |v| {
        let proof = &mut v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
        proof["rootHash"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    });
    assert!(
        verifier
            .verify(b"x".as_slice(), &tampered, &policy)
            .is_err()
    );
}

#[tokio::test]
async fn bad_tokens_and_failing_services_are_refused() {
    let standin = SigstoreStandIn::start().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |aud: &str, exp: u64| {
        json!({ "iss": standin.oidc_issuer(), "sub": EMAIL, "email": EMAIL,
                "email_verified": true, "aud": aud, "exp": exp })
    };
    let wrong_audience = standin.sign_claims(&claims("not-sigstore", now + 600));
    let expired = standin.sign_claims(&claims("sigstore", now - 1));
    let good = standin.identity_token(EMAIL);
    // Same claims, signature bytes changed.
    let (head, sig) = good.rsplit_once('.').unwrap();
    let forged = format!(
        "{head}.{}{}",
        if sig.starts_with('A') { "B" } else { "A" },
        &sig[1..]
    );
    for token in [&wrong_audience, &expired, &forged] {
        let err = signer(&standin, token).sign(ARTIFACT).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("401"), "{text}");
    }
    assert_eq!(standin.certificates_issued(), 0);
    assert_eq!(standin.entries(), 0);

    standin.fail_next_fulcio(503);
    let err = signer(&standin, &good).sign(ARTIFACT).await.unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    standin.fail_next_rekor(500);
    let err = signer(&standin, &good).sign(ARTIFACT).await.unwrap_err();
    assert!(err.to_string().contains("500"), "{err}");
    assert_eq!(standin.entries(), 0);
    // The knobs fire once.
    assert!(signer(&standin, &good).sign(ARTIFACT).await.is_ok());
    assert_eq!(standin.entries(), 1);
}

#[tokio::test]
async fn raw_requests_with_a_bad_proof_or_signature_are_rejected_like_the_real_services() {
    let standin = SigstoreStandIn::start().unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let key = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
    )
    .unwrap();
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::signature::KeyPair as _;
    use base64::Engine as _;
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let spki = key.public_key().as_der().unwrap();
    let key_pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        b64(spki.as_ref())
    );
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pop_over = |text: &str| b64(key.sign(&rng, text.as_bytes()).unwrap().as_ref());
    let request = |pop: String| {
        json!({
            "credentials": { "oidcIdentityToken": standin.identity_token(EMAIL) },
            "publicKeyRequest": { "publicKey": { "algorithm": "", "content": key_pem }, "proofOfPossession": pop }
        })
    };
    let post = |path: &str, body: Value| {
        http.post(format!("{}{path}", standin.fulcio_url()))
            .json(&body)
            .send()
    };

    // Proof over something other than the identity: 400 with a gRPC InvalidArgument body.
    let answer = post(
        "/api/v2/signingCert",
        request(pop_over("someone@else.test")),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["code"], 3, "{body}");

    // Right proof: 201 and a three-certificate chain, leaf first.
    let answer = post("/api/v2/signingCert", request(pop_over(EMAIL)))
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let body: Value = answer.json().await.unwrap();
    let chain = body["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .unwrap();
    assert_eq!(chain.len(), 3);
    let leaf_pem = chain[0].as_str().unwrap();

    // A hashedrekord whose signature is not over the digest: 400, nothing logged.
    let digest = sha256_hex(ARTIFACT);
    let other_sig = key.sign(&rng, b"something else").unwrap();
    let entry = |sig: &[u8]| {
        json!({ "apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": { "hash": { "algorithm": "sha256", "value": digest } },
            "signature": { "content": b64(sig), "publicKey": { "content": b64(leaf_pem.as_bytes()) } } } })
    };
    let answer = post("/api/v1/log/entries", entry(other_sig.as_ref()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert_eq!(standin.entries(), 0);
    let good_sig = key.sign(&rng, ARTIFACT).unwrap();
    let answer = post("/api/v1/log/entries", entry(good_sig.as_ref()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    assert_eq!(standin.entries(), 1);
    // The same entry twice is a conflict, as in Rekor.
    let answer = post("/api/v1/log/entries", entry(good_sig.as_ref()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 409);

    // Hostile bodies: not JSON, too big.
    let answer = http
        .post(format!("{}/api/v2/signingCert", standin.fulcio_url()))
        .body(vec![b'{'; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let answer = http
        .post(format!("{}/api/v1/log/entries", standin.rekor_url()))
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 413);
}

/// Where `@sigstore/verify` is installed (`npm install --prefix ~/.cache/specs-validators/npm
/// @sigstore/cli@0.8.1`), unless `SIGSTORE_JS_NODE_MODULES` says otherwise.
fn sigstore_js() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("SIGSTORE_JS_NODE_MODULES")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| {
                std::path::PathBuf::from(h).join(".cache/specs-validators/npm/node_modules")
            })
        })?;
    dir.join("@sigstore/verify").is_dir().then_some(dir)
}

/// Offline verification with sigstore-js: trusted root from a file, no TUF.
const JS_VERIFY: &str = r#"
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const [root, bundlePath, artifactPath, san, issuer] = process.argv.slice(2);
const trust = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(root, 'utf8'))));
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
const artifact = artifactPath === '-' ? undefined : fs.readFileSync(artifactPath);
const verifier = new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 1, tsaThreshold: 0 });
try {
  verifier.verify(toSignedEntity(bundle, artifact), { subjectAlternativeName: san, extensions: { issuer } });
  console.log('OK');
} catch (e) {
  console.error('FAIL', e.code || '', e.message);
  process.exit(1);
}
"#;

#[tokio::test]
async fn bundles_verify_with_sigstore_js() {
    let Some(modules) = sigstore_js() else {
        eprintln!(
            "skipped: @sigstore/verify is not installed (npm install --prefix \
             ~/.cache/specs-validators/npm @sigstore/cli@0.8.1, or set SIGSTORE_JS_NODE_MODULES)"
        );
        return;
    };
    let standin = SigstoreStandIn::start().unwrap();
    let token = standin.identity_token(EMAIL);
    let blob = signer(&standin, &token).sign(ARTIFACT).await.unwrap();
    let dsse = signer(&standin, &token)
        .sign_raw_statement(&statement())
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, data: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let script = write("verify.cjs", JS_VERIFY.as_bytes());
    let root = write("trusted_root.json", standin.trusted_root_json().as_bytes());
    let artifact = write("artifact.txt", ARTIFACT);
    let blob_path = write("blob.sigstore.json", blob.to_json().unwrap().as_bytes());
    let dsse_path = write("dsse.sigstore.json", dsse.to_json().unwrap().as_bytes());
    let mut flipped = ARTIFACT.to_vec();
    flipped[0] ^= 1;
    let flipped = write("flipped.txt", &flipped);

    let issuer = standin.oidc_issuer();
    let run = |bundle: &std::path::Path, artifact: &str, san: &str| {
        let out = std::process::Command::new("node")
            .env("NODE_PATH", &modules)
            .arg(&script)
            .arg(&root)
            .arg(bundle)
            .arg(artifact)
            .arg(san)
            .arg(&issuer)
            .output()
            .expect("node is not installed");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let artifact = artifact.to_str().unwrap();
    let (ok, text) = run(&blob_path, artifact, EMAIL);
    assert!(
        ok && text.starts_with("OK"),
        "sigstore-js rejected the blob bundle: {text}"
    );
    let (ok, text) = run(&dsse_path, "-", EMAIL);
    assert!(
        ok && text.starts_with("OK"),
        "sigstore-js rejected the DSSE bundle: {text}"
    );
    let (ok, text) = run(&blob_path, flipped.to_str().unwrap(), EMAIL);
    assert!(
        !ok && text.contains("SIGNATURE"),
        "sigstore-js accepted a changed artifact: {text}"
    );
    let (ok, text) = run(&blob_path, artifact, "other@proofline.test");
    assert!(
        !ok && text.contains("UNTRUSTED_SIGNER"),
        "sigstore-js accepted the wrong identity: {text}"
    );
    let (ok, text) = run(&dsse_path, "-", "other@proofline.test");
    assert!(
        !ok && text.contains("UNTRUSTED_SIGNER"),
        "sigstore-js accepted the wrong identity: {text}"
    );
}
