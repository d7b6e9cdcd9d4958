//! Keyed signing end to end through the `proofline-sign` binary and verification through the
//! verifier library: a round trip per key algorithm, then every way the evidence can be wrong
//! (a changed file, another image, another key, a truncated or missing bundle, an unsigned
//! stage, nothing signed at all) fails with the reason for that artifact. Interop: the
//! simple-signing signature verifies with `openssl dgst -verify` against `cosign.pub`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{DIGEST_HEX, IMAGE, copy_tree, evidence, sign, stderr};
use proofline_verify::reason::Reason;
use proofline_verify::statement::ImageSubject;
use proofline_verify::{Report, Status, Trust, verify_evidence};

const PASSWORD: &str = "correct horse battery staple";

fn keygen(dir: &Path, algorithm: &str) {
    let out = sign(
        &[
            "keygen",
            "--out",
            dir.to_str().unwrap(),
            "--algorithm",
            algorithm,
        ],
        &[("PROOFLINE_SIGN_PASSWORD", PASSWORD)],
    );
    assert!(out.status.success(), "keygen {algorithm}: {}", stderr(&out));
}

fn sign_with_key(evidence: &Path, key: &Path) {
    let out = sign(
        &[
            "--evidence-dir",
            evidence.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        &[("COSIGN_PASSWORD", PASSWORD)],
    );
    assert!(out.status.success(), "sign: {}", stderr(&out));
}

fn image() -> ImageSubject {
    ImageSubject::new(IMAGE, &format!("sha256:{DIGEST_HEX}")).unwrap()
}

fn verify(evidence: &Path, public_key: &Path, image: &ImageSubject) -> Report {
    let trust = Trust::key(public_key, None, false).unwrap();
    verify_evidence(evidence, IMAGE, image, &trust, &[]).unwrap()
}

fn check<'a>(report: &'a Report, artifact: &str) -> &'a proofline_verify::Check {
    report
        .checks
        .iter()
        .find(|c| c.artifact == artifact)
        .unwrap_or_else(|| panic!("no check for {artifact}: {}", report.render_text()))
}

/// What the evidence fixture holds: the image signature in two forms, 3 records, 7 artifacts
/// (image 1, sbom 3, scan 3) and the crypto module statement.
const EXPECTED_CHECKS: usize = 2 + 3 + 1 + 3 + 3 + 1;

#[test]
fn round_trip_for_every_algorithm() {
    for algorithm in ["ecdsa-p256", "ecdsa-p384", "rsa-4096", "ed25519"] {
        let tmp = tempfile::tempdir().unwrap();
        let keys = tmp.path().join("keys");
        keygen(&keys, algorithm);
        let ev = tmp.path().join("evidence");
        evidence(&ev);
        sign_with_key(&ev, &keys.join("cosign.key"));
        let report = verify(&ev, &keys.join("cosign.pub"), &image());
        assert!(report.passed, "{algorithm}:\n{}", report.render_text());
        assert_eq!(
            report.checks.len(),
            EXPECTED_CHECKS,
            "{}",
            report.render_text()
        );
        assert_eq!(
            check(&report, "sbom/sbom.cdx.json")
                .predicate_type
                .as_deref(),
            Some("https://cyclonedx.org/bom")
        );
        assert_eq!(
            check(&report, "scan/vulns.json").predicate_type.as_deref(),
            Some("https://in-toto.io/attestation/vulns/v0.2")
        );
        // The public key the stage wrote is the one generated.
        assert_eq!(
            std::fs::read_to_string(ev.join("sign/cosign.pub")).unwrap(),
            std::fs::read_to_string(keys.join("cosign.pub")).unwrap()
        );
        // crypto-module.json names the module and makes no FIPS claim in a default build.
        let crypto: serde_json::Value =
            serde_json::from_slice(&std::fs::read(ev.join("sign/crypto-module.json")).unwrap())
                .unwrap();
        assert_eq!(
            crypto["modules"][0]["interface"]
                .as_str()
                .unwrap()
                .split(' ')
                .next(),
            Some("aws-lc-rs")
        );
        if cfg!(not(feature = "fips")) {
            assert_eq!(
                crypto["fips140-3"]["status"], "not FIPS-validated",
                "{crypto}"
            );
        }
        openssl_verifies_simple_signing(&ev, &keys.join("cosign.pub"), algorithm);
    }
}

/// `openssl dgst -verify` (or `pkeyutl` for Ed25519) accepts the cosign v2 signature over the
/// simple-signing payload with `cosign.pub`, as cosign's verifiers do.
fn openssl_verifies_simple_signing(ev: &Path, public_key: &Path, algorithm: &str) {
    use base64::Engine as _;
    let bundle: serde_json::Value = serde_json::from_slice(
        &std::fs::read(ev.join("sign/simple-signing.sigstore.json")).unwrap(),
    )
    .unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(bundle["messageSignature"]["signature"].as_str().unwrap())
        .unwrap();
    let sig_file = ev.parent().unwrap().join("simple-signing.sig");
    std::fs::write(&sig_file, sig).unwrap();
    let payload = ev.join("sign/simple-signing.json");
    let mut cmd = std::process::Command::new("openssl");
    match algorithm {
        "ed25519" => cmd
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(public_key)
            .arg("-rawin")
            .arg("-in")
            .arg(&payload)
            .arg("-sigfile")
            .arg(&sig_file),
        _ => cmd
            .arg("dgst")
            .arg(if algorithm == "ecdsa-p384" {
                "-sha384"
            } else {
                "-sha256"
            })
            .arg("-verify")
            .arg(public_key)
            .arg("-signature")
            .arg(&sig_file)
            .arg(&payload),
    };
    let out = cmd
        .output()
        .expect("openssl is installed by scripts/test.sh");
    assert!(
        out.status.success(),
        "openssl rejects the {algorithm} simple-signing signature: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Signed {
    _tmp: tempfile::TempDir,
    evidence: std::path::PathBuf,
    public_key: std::path::PathBuf,
    other_key: std::path::PathBuf,
}

fn signed() -> Signed {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    keygen(&keys, "ecdsa-p256");
    let other = tmp.path().join("other");
    keygen(&other, "ecdsa-p256");
    let ev = tmp.path().join("evidence");
    evidence(&ev);
    sign_with_key(&ev, &keys.join("cosign.key"));
    Signed {
        evidence: ev,
        public_key: keys.join("cosign.pub"),
        other_key: other.join("cosign.pub"),
        _tmp: tmp,
    }
}

/// A fresh copy of the signed evidence, changed by `change`, verified with the right key.
fn tampered(s: &Signed, change: impl FnOnce(&Path)) -> Report {
    let copy = s.evidence.parent().unwrap().join(format!(
        "copy-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    copy_tree(&s.evidence, &copy);
    change(&copy);
    verify(&copy, &s.public_key, &image())
}

#[test]
fn every_tampering_fails_with_its_reason() {
    let s = signed();
    assert!(verify(&s.evidence, &s.public_key, &image()).passed);

    // A changed byte in a signed SBOM.
    let report = tampered(&s, |ev| {
        let p = ev.join("sbom/sbom.cdx.json");
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("1.2.5", "1.2.6");
        std::fs::write(p, text).unwrap();
    });
    assert!(!report.passed);
    let c = check(&report, "sbom/sbom.cdx.json");
    assert_eq!(c.status, Status::Failed);
    assert!(
        c.reason
            .as_deref()
            .unwrap()
            .contains("does not match its signed statement"),
        "{c:?}"
    );
    assert_eq!(c.category, Some(Reason::Artifact));
    assert_eq!(report.failures().count(), 1, "{}", report.render_text());

    // A changed byte in a digest-bound file and in a record.
    let report = tampered(&s, |ev| {
        std::fs::write(
            ev.join("scan/results.sarif"),
            br#"{"version":"2.1.0","runs":[{}]}"#,
        )
        .unwrap();
        let p = ev.join("image/record.json");
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("passed", "failed");
        std::fs::write(p, text).unwrap();
    });
    assert_eq!(check(&report, "scan/results.sarif").status, Status::Failed);
    assert!(
        check(&report, "scan/results.sarif")
            .reason
            .as_deref()
            .unwrap()
            .contains("sha256")
    );
    assert_eq!(check(&report, "image/record.json").status, Status::Failed);

    // The wrong key: every signature is rejected, and says so.
    let report = verify(&s.evidence, &s.other_key, &image());
    assert!(
        report
            .checks
            .iter()
            .all(|c| c.category == Some(Reason::Signature))
    );
    assert!(!report.passed);
    assert_eq!(report.verified(), 0, "{}", report.render_text());
    assert!(report.checks.iter().all(|c| {
        c.reason
            .as_deref()
            .unwrap_or("")
            .contains("does not verify with the key")
    }));

    // Another image (a swapped subject): nothing verifies.
    let other = ImageSubject::new(IMAGE, &format!("sha256:{}", "0".repeat(64))).unwrap();
    let report = verify(&s.evidence, &s.public_key, &other);
    assert!(!report.passed);
    assert_eq!(report.verified(), 0, "{}", report.render_text());
    let c = check(&report, "image signature (cosign v2 simple signing)");
    assert!(
        c.reason.as_deref().unwrap().contains("not the image"),
        "{c:?}"
    );
    let c = check(&report, "sbom/sbom.cdx.json");
    assert!(
        c.reason
            .as_deref()
            .unwrap()
            .contains("not about this artifact"),
        "{c:?}"
    );

    // A truncated bundle, a deleted bundle, a deleted signed file.
    let report = tampered(&s, |ev| {
        let p = ev.join("sign/attestations/sbom/sbom.spdx.json.sigstore.json");
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 3]).unwrap();
        std::fs::remove_file(ev.join("sign/attestations/scan/vulns.json.sigstore.json")).unwrap();
        std::fs::remove_file(ev.join("scan/vex.openvex.json")).unwrap();
    });
    let c = check(&report, "sbom/sbom.spdx.json");
    assert_eq!(c.category, Some(Reason::Bundle));
    assert!(
        c.reason.as_deref().unwrap().contains("malformed bundle"),
        "{c:?}"
    );
    assert_eq!(check(&report, "scan/vulns.json").status, Status::Missing);
    assert_eq!(
        check(&report, "scan/vex.openvex.json").status,
        Status::Missing
    );
    assert_eq!(report.failures().count(), 3, "{}", report.render_text());

    // A DSSE payload swapped for another signed one (the signature is over the PAE): rejected.
    let report = tampered(&s, |ev| {
        let a = ev.join("sign/attestations/sbom/sbom.cdx.json.sigstore.json");
        let b = ev.join("sign/attestations/sbom/sbom.spdx.json.sigstore.json");
        std::fs::copy(&b, &a).unwrap();
    });
    let c = check(&report, "sbom/sbom.cdx.json");
    assert!(
        c.reason.as_deref().unwrap().contains("predicate type"),
        "{c:?}"
    );

    // A stage added after signing is not signed: a failure, not a skip.
    let report = tampered(&s, |ev| {
        let dir = proofline_evidence::EvidenceDir::open(ev).unwrap();
        let mut w = dir
            .begin_stage(proofline_evidence::StageInfo::new("harden", "t", "0"))
            .unwrap();
        w.write_artifact("results.json", b"{}", "application/json")
            .unwrap();
        w.set_findings(proofline_evidence::Findings::new(
            proofline_evidence::Outcome::Passed,
        ))
        .unwrap();
        w.finish().unwrap();
    });
    assert_eq!(check(&report, "harden/record.json").status, Status::Missing);
    assert_eq!(
        check(&report, "harden/results.json").status,
        Status::Missing
    );

    // Nothing signed at all: never a pass.
    let report = tampered(&s, |ev| std::fs::remove_dir_all(ev.join("sign")).unwrap());
    assert!(!report.passed);
    assert_eq!(report.verified(), 0);

    // --require names a predicate type nobody attested.
    let trust = Trust::key(&s.public_key, None, false).unwrap();
    let report = verify_evidence(
        &s.evidence,
        IMAGE,
        &image(),
        &trust,
        &[
            "https://slsa.dev/provenance/v1".into(),
            "https://cyclonedx.org/bom".into(),
        ],
    )
    .unwrap();
    assert!(!report.passed);
    assert_eq!(
        report.missing_required,
        vec!["https://slsa.dev/provenance/v1".to_string()]
    );
    // A keyed signature without a log entry is refused with --require-tlog.
    let trust = Trust::key(&s.public_key, None, true).unwrap();
    let report = verify_evidence(&s.evidence, IMAGE, &image(), &trust, &[]).unwrap();
    assert_eq!(report.verified(), 0);
    assert!(
        report.checks[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("--require-tlog")
    );
}

#[test]
fn nothing_is_signed_that_does_not_match_its_record() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    keygen(&keys, "ecdsa-p256");
    let ev = tmp.path().join("evidence");
    evidence(&ev);
    std::fs::write(ev.join("sbom/sbom.spdx.json"), b"{}").unwrap();
    let out = sign(
        &[
            "--evidence-dir",
            ev.to_str().unwrap(),
            "--key",
            keys.join("cosign.key").to_str().unwrap(),
        ],
        &[("PROOFLINE_SIGN_PASSWORD", PASSWORD)],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("sbom.spdx.json"), "{}", stderr(&out));
    assert!(!ev.join("sign").exists(), "a partial sign/ was left behind");
}

#[test]
fn bad_keys_and_missing_settings_exit_2_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    keygen(&keys, "ecdsa-p256");
    let ev = tmp.path().join("evidence");
    evidence(&ev);
    let key = keys.join("cosign.key");
    let ev_arg = ev.to_str().unwrap();
    let none = tmp.path().join("none");
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec!["--evidence-dir", ev_arg, "--key", key.to_str().unwrap()],
            vec![("PROOFLINE_SIGN_PASSWORD", "wrong")],
            "password",
        ),
        (
            vec!["--evidence-dir", ev_arg, "--key", key.to_str().unwrap()],
            vec![],
            "PROOFLINE_SIGN_PASSWORD",
        ),
        (
            vec!["--evidence-dir", ev_arg, "--key", "/nonexistent/cosign.key"],
            vec![("PROOFLINE_SIGN_PASSWORD", "x")],
            "/nonexistent/cosign.key",
        ),
        (vec!["--evidence-dir", ev_arg], vec![], "--key"),
        (
            vec![
                "--evidence-dir",
                ev_arg,
                "--key",
                key.to_str().unwrap(),
                "--algorithm",
                "rsa-4096",
            ],
            vec![("PROOFLINE_SIGN_PASSWORD", PASSWORD)],
            "applies only to --ephemeral-key",
        ),
        (
            vec!["--evidence-dir", ev_arg, "--keyless"],
            vec![],
            "identity token",
        ),
        (
            vec![
                "--evidence-dir",
                ev_arg,
                "--keyless",
                "--identity-token",
                "not-a-jwt",
            ],
            vec![],
            "JWT",
        ),
        (
            vec!["--evidence-dir", none.to_str().unwrap(), "--ephemeral-key"],
            vec![],
            "evidence directory",
        ),
    ];
    for (args, envs, needle) in cases {
        let out = sign(&args, &envs);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(needle),
            "{args:?}: expected {needle:?} in {}",
            stderr(&out)
        );
        assert!(!ev.join("sign").exists());
        // Secrets never reach the log.
        assert!(!stderr(&out).contains(PASSWORD));
    }
    // Keyless in CI without the OIDC permission: the error names the setting to add.
    for (forge, needle) in [("github", "id-token: write"), ("gitlab", "id_tokens")] {
        let env = common::ci_env(forge, tmp.path());
        let out = common::sign_env(&["--evidence-dir", ev_arg, "--keyless"], &env);
        assert_eq!(out.status.code(), Some(2), "{forge}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(needle),
            "{forge}: expected {needle:?} in {}",
            stderr(&out)
        );
        assert!(!ev.join("sign").exists());
    }
    // keygen never overwrites.
    let out = sign(
        &["keygen", "--out", keys.to_str().unwrap()],
        &[("PROOFLINE_SIGN_PASSWORD", PASSWORD)],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("exists"), "{}", stderr(&out));
}

/// Evidence merged from parallel jobs (GitLab: two jobs of one stage, each uploading
/// `evidence/` with its own manifest): a valid record the manifest does not list is signed and
/// indexed; a record that differs from its manifest entry is still refused.
#[test]
fn a_record_merged_from_another_job_is_signed_and_a_changed_one_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("evidence");
    evidence(&ev);
    let manifest_path = ev.join("manifest.json");
    let original = std::fs::read(&manifest_path).unwrap();
    // The manifest of a job that did not run the scan stage.
    let mut manifest: serde_json::Value = serde_json::from_slice(&original).unwrap();
    manifest["stages"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["stage"] != "scan");
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let out = sign(
        &["--evidence-dir", ev.to_str().unwrap(), "--ephemeral-key"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("scan/record.json is not listed in manifest.json"),
        "{}",
        stderr(&out)
    );
    let report = verify(&ev, &ev.join("sign/cosign.pub"), &image());
    assert!(report.passed, "{}", report.render_text());
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.artifact == "scan/record.json"),
        "{}",
        report.render_text()
    );
    let rebuilt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    assert!(
        rebuilt["stages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["stage"] == "scan"),
        "{rebuilt}"
    );

    // A record whose manifest entry says otherwise was changed after its stage ran.
    let ev = tmp.path().join("changed");
    evidence(&ev);
    let record = ev.join("scan/record.json");
    let text = std::fs::read_to_string(&record).unwrap();
    std::fs::write(&record, text.replacen('{', "{ ", 1)).unwrap();
    let out = sign(
        &["--evidence-dir", ev.to_str().unwrap(), "--ephemeral-key"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("scan/record.json does not match the evidence manifest"),
        "{}",
        stderr(&out)
    );
    assert!(!ev.join("sign").exists());
}

#[test]
fn an_ephemeral_key_signs_for_a_local_run() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("evidence");
    evidence(&ev);
    let out = sign(
        &["--evidence-dir", ev.to_str().unwrap(), "--ephemeral-key"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report = verify(&ev, &ev.join("sign/cosign.pub"), &image());
    assert!(report.passed, "{}", report.render_text());
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ev.join("sign/record.json")).unwrap()).unwrap();
    assert_eq!(record["settings"]["mode"], "ephemeral-key");
    assert_eq!(
        record["findings"]["counts"]["signatures"],
        EXPECTED_CHECKS as u64
    );
}
