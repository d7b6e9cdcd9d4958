//! Cross-checks of the `proofline` binary against real tools: skopeo and Debian's
//! `docker-registry`, started on a free loopback port for each test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a panic is the failure report

use std::path::PathBuf;
use std::process::{Command, Output};

use proofline_testkit::{Registry, skopeo_copy, skopeo_inspect_raw};

const FIXTURE_LAYOUT: &str = "fixtures/images/app";
const FIXTURE_DIGEST: &str =
    "sha256:41e2e10ace0263c87c422fdec942557d4ad10ec4474f294eb35cbed33c3bc0f0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn proofline(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_proofline"));
    cmd.args(args).current_dir(root());
    for (k, _) in std::env::vars() {
        if k.starts_with("PROOFLINE_") || k.starts_with("GITHUB_") || k == "GITLAB_CI" {
            cmd.env_remove(k);
        }
    }
    // Never pick up the developer's own Docker credentials.
    cmd.env("DOCKER_CONFIG", root().join("target/no-docker-config"));
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn ls_from_the_registry_equals_ls_from_the_layout_after_skopeo_copy() {
    let reg = Registry::start();
    let fixture = format!("oci:{}:1.0", root().join(FIXTURE_LAYOUT).display());
    skopeo_copy(
        &fixture,
        &reg.docker("fixture/app:1.0"),
        &["--preserve-digests"],
    );

    let from_layout = ok(&proofline(
        &["image", "ls", "oci:fixtures/images/app:1.0"],
        &[],
    ));
    let from_registry = ok(&proofline(
        &["image", "ls", &reg.reference("fixture/app:1.0")],
        &[],
    ));
    assert!(from_layout.lines().count() > 300);
    // Same blobs, same walk: the order is the same too, not only the set.
    assert_eq!(from_layout, from_registry);

    let inspect = ok(&proofline(
        &["image", "inspect", &reg.reference("fixture/app:1.0")],
        &[],
    ));
    let v: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(v["digest"], FIXTURE_DIGEST);
}

#[test]
fn image_copy_into_the_registry_preserves_the_digest_skopeo_reads_back() {
    let reg = Registry::start();
    let dst = reg.reference("copied/app:1.0");
    let out = ok(&proofline(
        &["image", "copy", "oci:fixtures/images/app:1.0", &dst],
        &[],
    ));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["digest"], FIXTURE_DIGEST);

    let raw = skopeo_inspect_raw(&reg.docker("copied/app:1.0"), None);
    assert_eq!(proofline_testkit::sha256_digest(&raw), FIXTURE_DIGEST);
    // And by digest, through proofline again.
    let by_digest = format!("{}/copied/app@{FIXTURE_DIGEST}", reg.host());
    let listing = ok(&proofline(&["image", "ls", &by_digest], &[]));
    let layout = ok(&proofline(
        &["image", "ls", "oci:fixtures/images/app:1.0"],
        &[],
    ));
    assert_eq!(sorted_lines(&listing), sorted_lines(&layout));

    // Registry → docker-archive → layout round trip keeps the digest as well.
    let tmp = tempfile::tempdir().unwrap();
    let archive = format!("docker-archive:{}", tmp.path().join("app.tar").display());
    ok(&proofline(&["image", "copy", &dst, &archive], &[]));
    let back = format!("oci:{}:again", tmp.path().join("layout").display());
    let out = ok(&proofline(&["image", "copy", &archive, &back], &[]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["digest"], FIXTURE_DIGEST);
}

#[test]
fn basic_auth_with_htpasswd_through_the_environment() {
    let reg = Registry::start_with_htpasswd("alice", "correct horse");
    let dst = reg.reference("private/app:1.0");
    let creds = [
        ("PROOFLINE_REGISTRY_USERNAME", "alice"),
        ("PROOFLINE_REGISTRY_PASSWORD", "correct horse"),
    ];
    ok(&proofline(
        &["image", "copy", "oci:fixtures/images/app:1.0", &dst],
        &creds,
    ));
    let listing = ok(&proofline(&["image", "inspect", &dst], &creds));
    assert!(listing.contains(FIXTURE_DIGEST));

    let wrong = [
        ("PROOFLINE_REGISTRY_USERNAME", "alice"),
        ("PROOFLINE_REGISTRY_PASSWORD", "wrong-password-xyz"),
    ];
    let o = proofline(&["image", "inspect", &dst], &wrong);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("401") || err.to_lowercase().contains("auth"),
        "{err}"
    );
    assert!(
        !err.contains("wrong-password-xyz"),
        "the password leaked: {err}"
    );

    let anonymous = proofline(&["image", "inspect", &dst], &[]);
    assert_eq!(
        anonymous.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&anonymous.stderr)
    );
}

#[test]
fn bearer_token_flow_through_the_cli() {
    let reg = Registry::start_with_token_auth("bob", "s3cret-token-pass");
    let dst = reg.reference("tok/app:1.0");
    let creds = [
        ("PROOFLINE_REGISTRY_USERNAME", "bob"),
        ("PROOFLINE_REGISTRY_PASSWORD", "s3cret-token-pass"),
    ];
    ok(&proofline(
        &["image", "copy", "oci:fixtures/images/app:1.0", &dst],
        &creds,
    ));
    let inspect = ok(&proofline(&["image", "inspect", &dst], &creds));
    assert!(inspect.contains(FIXTURE_DIGEST));
    assert!(
        !reg.token_requests().is_empty(),
        "the token server was never asked"
    );
}

/// `proofline verify --image` with a registry reference resolves the manifest digest from the
/// real registry and checks the evidence against it; a tag that does not exist is exit 2, not a
/// verdict.
#[test]
fn verify_resolves_a_registry_reference_to_its_digest() {
    let reg = Registry::start();
    let dst = reg.reference("signed/app:1.0");
    ok(&proofline(
        &["image", "copy", "oci:fixtures/images/app:1.0", &dst],
        &[],
    ));
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("evidence");
    let ev_arg = ev.to_str().unwrap();
    let o = proofline(
        &["pipeline", "--image", &dst, "--evidence-dir", ev_arg],
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let key = ev.join("sign/cosign.pub");
    let key_arg = key.to_str().unwrap();
    let out = ok(&proofline(
        &[
            "verify",
            "--image",
            &dst,
            "--evidence-dir",
            ev_arg,
            "--key",
            key_arg,
        ],
        &[],
    ));
    assert!(
        out.contains(FIXTURE_DIGEST) && out.contains("PASSED"),
        "{out}"
    );
    // The simple-signing payload names the registry repository.
    let payload = std::fs::read_to_string(ev.join("sign/simple-signing.json")).unwrap();
    assert!(
        payload.contains(&format!(
            "\"docker-reference\":\"{}/signed/app\"",
            reg.host()
        )),
        "{payload}"
    );
    let missing = reg.reference("signed/app:2.0");
    let o = proofline(
        &[
            "verify",
            "--image",
            &missing,
            "--evidence-dir",
            ev_arg,
            "--key",
            key_arg,
        ],
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
