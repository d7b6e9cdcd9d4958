//! Keyless signing end to end against the local Fulcio/Rekor stand-in (a test CA with embedded
//! SCTs, a test log with inclusion proofs, checkpoints and SETs, published in a test
//! `trusted_root.json`): the token given, from GitLab's `SIGSTORE_ID_TOKEN`, or from GitHub's OIDC
//! endpoint; every signature logged; the bundles verify with the identity and that trusted root,
//! and with sigstore-js when `PROOFLINE_SIGSTORE_JS` names our sigstore-js script
//! (scripts/crosscheck-sign.sh sets it). Service failures exit 2 and leave no `sign/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::path::Path;

use common::{DIGEST_HEX, IMAGE, ci_env, evidence, sign, sign_env, stderr};
use proofline_testkit::sigstore::{Corruption, SigstoreStandIn};
use proofline_verify::statement::ImageSubject;
use proofline_verify::{Matcher, Report, Trust, load_trusted_root, verify_evidence};

const SIGNER: &str = "release-bot@example.com";
/// Every signature of the evidence fixture (see keyed.rs).
const SIGNATURES: usize = 13;

fn image() -> ImageSubject {
    ImageSubject::new(IMAGE, &format!("sha256:{DIGEST_HEX}")).unwrap()
}

/// `standin`: Fulcio's URL, Rekor's, and the path of the stand-in's `trusted_root.json`.
fn keyless_args<'a>(ev: &'a str, standin: &'a (String, String, String)) -> Vec<&'a str> {
    vec![
        "--evidence-dir",
        ev,
        "--keyless",
        "--fulcio-url",
        &standin.0,
        "--rekor-url",
        &standin.1,
        "--trusted-root",
        &standin.2,
    ]
}

/// The stand-in's URLs and its trusted root written to `dir`.
fn services(standin: &SigstoreStandIn, dir: &Path) -> (String, String, String) {
    let root = dir.join("trusted_root.json");
    std::fs::write(&root, standin.trusted_root_json()).unwrap();
    (
        standin.fulcio_url(),
        standin.rekor_url(),
        root.to_str().unwrap().to_string(),
    )
}

fn verify(ev: &Path, root: &Path, identity: &str, issuer: &str) -> Report {
    let trust = Trust::identity(
        Matcher::Exact(identity.into()),
        Matcher::Exact(issuer.into()),
        load_trusted_root(Some(root)).unwrap(),
    )
    .unwrap();
    verify_evidence(ev, IMAGE, &image(), &trust, &[]).unwrap()
}

#[test]
fn keyless_signatures_verify_with_the_identity_and_the_trusted_root() {
    let standin = SigstoreStandIn::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let urls = services(&standin, tmp.path());
    let root = Path::new(&urls.2).to_path_buf();
    let ev = tmp.path().join("evidence");
    evidence(&ev);
    let token = standin.identity_token(SIGNER);
    let mut args = keyless_args(ev.to_str().unwrap(), &urls);
    args.extend(["--identity-token", &token]);
    // Services a round trip away: the stage keeps several signatures in flight.
    standin.set_latency(std::time::Duration::from_millis(50));
    let out = sign(&args, &[]);
    standin.set_latency(std::time::Duration::ZERO);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(standin.max_in_flight() >= 4, "{}", standin.max_in_flight());
    assert!(!stderr(&out).contains(&token), "the token reached the log");
    assert_eq!(standin.entries(), SIGNATURES, "every signature is logged");
    assert_eq!(standin.certificates_issued(), SIGNATURES);

    let report = verify(&ev, &root, SIGNER, &standin.oidc_issuer());
    assert!(report.passed, "{}", report.render_text());
    assert_eq!(report.checks.len(), SIGNATURES);
    assert!(
        report.checks.iter().all(|c| c.logged),
        "{}",
        report.render_text()
    );
    // The record names the identity, the services and the trusted root, never the token.
    let record = std::fs::read_to_string(ev.join("sign/record.json")).unwrap();
    assert!(record.contains(SIGNER) && record.contains(&urls.0) && !record.contains(&token));
    assert!(record.contains("trusted_root.json"), "{record}");

    // Another identity, another issuer, another trusted root: nothing verifies.
    let report = verify(&ev, &root, "mallory@example.com", &standin.oidc_issuer());
    assert_eq!(report.verified(), 0);
    assert!(
        report
            .checks
            .iter()
            .all(|c| c.reason.as_deref().unwrap().contains("identity"))
    );
    let report = verify(&ev, &root, SIGNER, "https://accounts.example.com");
    assert_eq!(report.verified(), 0);
    let other = SigstoreStandIn::start().unwrap();
    let other_root = tmp.path().join("other_root.json");
    std::fs::write(&other_root, other.trusted_root_json()).unwrap();
    let report = verify(&ev, &other_root, SIGNER, &standin.oidc_issuer());
    assert_eq!(report.verified(), 0, "{}", report.render_text());
    // The embedded production root does not vouch for the test CA either.
    let trust = Trust::identity(
        Matcher::Exact(SIGNER.into()),
        Matcher::Exact(standin.oidc_issuer()),
        load_trusted_root(None).unwrap(),
    )
    .unwrap();
    assert_eq!(
        verify_evidence(&ev, IMAGE, &image(), &trust, &[])
            .unwrap()
            .verified(),
        0
    );
    // Regular expressions, matched whole.
    let trust = Trust::identity(
        Matcher::regex("certificate-identity-regexp", r".*@example\.com").unwrap(),
        Matcher::regex(
            "certificate-oidc-issuer-regexp",
            r"http://127\.0\.0\.1:\d+/oidc",
        )
        .unwrap(),
        load_trusted_root(Some(&root)).unwrap(),
    )
    .unwrap();
    assert!(
        verify_evidence(&ev, IMAGE, &image(), &trust, &[])
            .unwrap()
            .passed
    );
    let trust = Trust::identity(
        Matcher::regex("certificate-identity-regexp", r"release-bot").unwrap(),
        Matcher::regex("certificate-oidc-issuer-regexp", r".*").unwrap(),
        load_trusted_root(Some(&root)).unwrap(),
    )
    .unwrap();
    assert_eq!(
        verify_evidence(&ev, IMAGE, &image(), &trust, &[])
            .unwrap()
            .verified(),
        0
    );

    // A certificate lives ten minutes: without the log entry that says when it signed (no
    // inclusion proof, no SET), the signature cannot be placed inside that window and fails.
    let bundle_path = ev.join("sign/attestations/sbom/sbom.cdx.json.sigstore.json");
    let original = std::fs::read(&bundle_path).unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&original).unwrap();
    doc["verificationMaterial"]["tlogEntries"] = serde_json::json!([]);
    std::fs::write(&bundle_path, serde_json::to_vec(&doc).unwrap()).unwrap();
    let report = verify(&ev, &root, SIGNER, &standin.oidc_issuer());
    let failed: Vec<_> = report.failures().collect();
    assert_eq!(failed.len(), 1, "{}", report.render_text());
    assert_eq!(failed[0].artifact, "sbom/sbom.cdx.json");
    assert!(
        failed[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("inclusion proof"),
        "{:?}",
        failed[0]
    );
    std::fs::write(&bundle_path, &original).unwrap();

    // A changed file after keyless signing.
    std::fs::write(ev.join("scan/results.sarif"), b"{}").unwrap();
    let report = verify(&ev, &root, SIGNER, &standin.oidc_issuer());
    let failed: Vec<_> = report.failures().map(|c| c.artifact.as_str()).collect();
    assert_eq!(failed, ["scan/results.sarif"]);

    sigstore_js(&ev, &root, SIGNER, &standin.oidc_issuer());
}

/// sigstore-js verifies every keyless bundle with the stand-in's trusted root (the DSSE ones
/// without the artifact, the simple-signing one over its payload), and rejects one under
/// another identity.
fn sigstore_js(ev: &Path, root: &Path, identity: &str, issuer: &str) {
    let Some(script) = std::env::var_os("PROOFLINE_SIGSTORE_JS") else {
        eprintln!(
            "sigstore-js check skipped: PROOFLINE_SIGSTORE_JS is not set (scripts/crosscheck-sign.sh sets it)"
        );
        return;
    };
    let run = |bundle: &Path, artifact: &str, identity: &str| {
        std::process::Command::new("node")
            .arg(&script)
            .arg(root)
            .arg(bundle)
            .arg(artifact)
            .arg(identity)
            .arg(issuer)
            .output()
            .unwrap()
    };
    let mut bundles = Vec::new();
    collect(&ev.join("sign"), &mut bundles);
    assert_eq!(bundles.len(), SIGNATURES);
    let payload = ev.join("sign/simple-signing.json");
    for bundle in &bundles {
        let artifact = if bundle.ends_with("simple-signing.sigstore.json") {
            payload.to_str().unwrap()
        } else {
            "-"
        };
        let out = run(bundle, artifact, identity);
        assert!(
            out.status.success(),
            "sigstore-js rejects {}: {}{}",
            bundle.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = run(&bundles[0], "-", "mallory@example.com");
    assert!(
        !out.status.success(),
        "sigstore-js accepted another identity"
    );
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.to_string_lossy().ends_with(".sigstore.json") {
            out.push(path);
        }
    }
    out.sort();
}

#[test]
fn the_token_comes_from_gitlab_or_from_githubs_oidc_endpoint() {
    let standin = SigstoreStandIn::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let urls = services(&standin, tmp.path());
    let root = Path::new(&urls.2).to_path_buf();

    // GitLab: id_tokens sets SIGSTORE_ID_TOKEN.
    // Its subject is `project_path:…`; Fulcio certifies the pipeline definition's URI.
    let (gitlab_token, gitlab_identity) =
        standin.gitlab_ci_token("gitlab.example.com", "acme/app", "main");
    assert_eq!(
        gitlab_identity,
        "https://gitlab.example.com/acme/app//.gitlab-ci.yml@refs/heads/main"
    );
    let gitlab_identity = gitlab_identity.as_str();
    let ev = tmp.path().join("gitlab");
    evidence(&ev);
    let mut env = ci_env("gitlab", tmp.path());
    env.push(("SIGSTORE_ID_TOKEN".into(), gitlab_token));
    let out = sign_env(&keyless_args(ev.to_str().unwrap(), &urls), &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(verify(&ev, &root, gitlab_identity, &standin.oidc_issuer()).passed);

    // GitHub: the runner's OIDC endpoint, asked with the request token and audience sigstore.
    // Its token's subject is `repo:…`; Fulcio certifies the workflow's URI instead, and that is
    // the identity the stage reports and verifiers match.
    let (token, github_identity) =
        standin.github_actions_token("acme/app", "release.yml", "refs/heads/main");
    assert_eq!(
        github_identity,
        "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
    );
    let github_identity = github_identity.as_str();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(async {
        use wiremock::matchers::{header, method, path, query_param};
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(method("GET"))
            .and(path("/idtoken"))
            .and(query_param("audience", "sigstore"))
            .and(query_param("api-version", "2.0"))
            .and(header("authorization", "Bearer request-token-123"))
            .respond_with(
                wiremock::ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({ "count": 1, "value": token })),
            )
            .expect(1)
            .mount(&server)
            .await;
        server
    });
    let ev = tmp.path().join("github");
    evidence(&ev);
    let mut env = ci_env("github", tmp.path());
    env.push((
        "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
        format!("{}/idtoken?api-version=2.0", server.uri()),
    ));
    env.push((
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
        "request-token-123".into(),
    ));
    let out = sign_env(&keyless_args(ev.to_str().unwrap(), &urls), &env);
    assert!(out.status.success(), "{}", stderr(&out));
    // Secrets appear only in the runner's mask commands, which hide them from the log.
    let err = stderr(&out);
    assert!(err.contains(&format!("::add-mask::{token}")), "{err}");
    assert!(
        err.lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .all(|l| !l.contains("request-token-123") && !l.contains(&token)),
        "{err}"
    );
    assert!(verify(&ev, &root, github_identity, &standin.oidc_issuer()).passed);
    let summary = std::fs::read_to_string(ev.join("sign/summary.md")).unwrap();
    assert!(summary.contains(github_identity), "{summary}");
    let record = std::fs::read_to_string(ev.join("sign/record.json")).unwrap();
    assert!(
        record.contains("repo:acme/app:ref:refs/heads/main"),
        "{record}"
    );
    runtime.block_on(server.verify());
}

#[test]
fn service_failures_and_bad_tokens_exit_2_and_sign_nothing() {
    let standin = SigstoreStandIn::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let urls = services(&standin, tmp.path());
    let token = standin.identity_token(SIGNER);
    let run = |name: &str, token: &str| {
        let ev = tmp.path().join(name);
        evidence(&ev);
        let mut args = keyless_args(ev.to_str().unwrap(), &urls);
        args.extend(["--identity-token", token]);
        let out = sign(&args, &[]);
        (out, ev)
    };
    let check = |(out, ev): (std::process::Output, std::path::PathBuf), needle: &str| {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(needle),
            "expected {needle:?} in {}",
            stderr(&out)
        );
        assert!(!ev.join("sign").exists(), "a partial sign/ was left behind");
    };
    // A service failing or lying, each on a stand-in of its own: several signatures are in
    // flight at once, so requests of a run that already failed can still reach a shared one.
    let faulty = |name: &str, fault: &dyn Fn(&SigstoreStandIn), needle: &dyn Fn(&str) -> String| {
        let standin = SigstoreStandIn::start().unwrap();
        let dir = tmp.path().join(format!("{name}-services"));
        std::fs::create_dir_all(&dir).unwrap();
        let urls = services(&standin, &dir);
        fault(&standin);
        let ev = tmp.path().join(name);
        evidence(&ev);
        let token = standin.identity_token(SIGNER);
        let mut args = keyless_args(ev.to_str().unwrap(), &urls);
        args.extend(["--identity-token", &token]);
        check((sign(&args, &[]), ev), &needle(&urls.0));
    };
    faulty("fulcio-down", &|s| s.fail_next_fulcio(503), &|url| {
        url.to_string()
    });
    faulty("rekor-down", &|s| s.fail_next_rekor(500), &|url| {
        url.to_string()
    });
    // sigstore-sign takes Rekor's answer on trust; the stage verifies every new bundle against
    // the trusted root, so a corrupted inclusion proof stops the run before anything is kept.
    faulty(
        "bad-proof",
        &|s| s.corrupt_next_rekor(Corruption::InclusionProof),
        &|_| "inclusion-proof".into(),
    );
    // A private Fulcio/Rekor without its trusted root: refused before any certificate is asked.
    let issued = standin.certificates_issued();
    let ev = tmp.path().join("no-root");
    evidence(&ev);
    let mut args = keyless_args(ev.to_str().unwrap(), &urls);
    args.truncate(args.len() - 2);
    args.extend(["--identity-token", &token]);
    check((sign(&args, &[]), ev), "--trusted-root");
    assert_eq!(standin.certificates_issued(), issued);
    // Another instance's root: the first bundle does not verify, and nothing is kept.
    let other = SigstoreStandIn::start().unwrap();
    let other_dir = tmp.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other_root = services(&other, &other_dir).2;
    let ev = tmp.path().join("wrong-root");
    evidence(&ev);
    let mut args = keyless_args(ev.to_str().unwrap(), &urls);
    args.truncate(args.len() - 1);
    args.extend([other_root.as_str(), "--identity-token", &token]);
    check(
        (sign(&args, &[]), ev),
        "does not verify against the trusted root",
    );
    // A token for another audience, and an expired one.
    let wrong_aud = standin.sign_claims(&serde_json::json!({
        "iss": standin.oidc_issuer(), "sub": SIGNER, "email": SIGNER, "email_verified": true,
        "aud": "not-sigstore", "exp": 4_102_444_800u64, "iat": 1_700_000_000u64,
    }));
    check(run("audience", &wrong_aud), "audience");
    let expired = standin.sign_claims(&serde_json::json!({
        "iss": standin.oidc_issuer(), "sub": SIGNER, "email": SIGNER, "email_verified": true,
        "aud": "sigstore", "exp": 1_700_000_600u64, "iat": 1_700_000_000u64,
    }));
    check(run("expired", &expired), "expired");
}
