//! End-to-end tests of the `proofline` binary: the pipeline over the fixture image, the
//! evidence it leaves, `evidence verify` catching tampering, and exit codes for bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURE: &str = "oci:fixtures/images/app:1.0";
const FIXTURE_DIGEST: &str =
    "sha256:41e2e10ace0263c87c422fdec942557d4ad10ec4474f294eb35cbed33c3bc0f0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `proofline` from the repository root with a clean CI environment (tests must
/// behave the same on a developer machine and inside GitHub Actions or GitLab CI).
fn proofline(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_proofline"));
    cmd.args(args).current_dir(root());
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_")
            || k.starts_with("CI_")
            || k.starts_with("PROOFLINE_")
            || k == "GITLAB_CI"
            || k == "CI"
        {
            cmd.env_remove(k);
        }
    }
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn run_pipeline(evidence: &Path) -> Output {
    proofline(&["pipeline", "--evidence-dir", evidence.to_str().unwrap()])
}

#[test]
fn pipeline_on_the_fixture_records_the_image_and_verifies_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("evidence");
    let o = run_pipeline(&ev);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ev.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["schema"], "proofline/manifest/v1");
    assert_eq!(manifest["stages"][0]["stage"], "image");
    assert_eq!(manifest["stages"][0]["subject"]["digest"], FIXTURE_DIGEST);

    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ev.join("image/record.json")).unwrap()).unwrap();
    assert_eq!(record["schema"], "proofline/record/v1");
    assert_eq!(record["settings"]["platform"], "linux/amd64");
    let image: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ev.join("image/image.json")).unwrap()).unwrap();
    assert_eq!(image["digest"], FIXTURE_DIGEST);
    assert_eq!(image["platform"], "linux/amd64");
    assert_eq!(image["layers"].as_array().unwrap().len(), 3);
    assert!(
        image["config"]["env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "API_TOKEN=***"),
        "{image}"
    );
    assert!(
        !String::from_utf8_lossy(&std::fs::read(ev.join("image/image.json")).unwrap())
            .contains("fixture-not-a-secret")
    );

    let v = proofline(&["evidence", "verify", "--evidence-dir", ev.to_str().unwrap()]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        stderr(&v)
    );

    // Same input, same evidence (timestamps aside): the image record is deterministic.
    let ev2 = tmp.path().join("evidence2");
    assert_eq!(run_pipeline(&ev2).status.code(), Some(0));
    assert_eq!(
        std::fs::read(ev.join("image/image.json")).unwrap(),
        std::fs::read(ev2.join("image/image.json")).unwrap()
    );
}

/// A throw-away repository with one unsigned commit.
fn git_repo(dir: &Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["-c", "user.name=Dev", "-c", "user.email=dev@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\n").unwrap();
    git(&["add", "Dockerfile"]);
    git(&["commit", "-q", "-m", "app"]);
    git(&["rev-parse", "HEAD"])
}

/// The pipeline's scan stage reads the SBOM the sbom stage recorded (re-hashed against its
/// record), against the quick start's policy (fixtures/vulndb, the fixture's VEX document); a
/// changed SBOM is refused with exit 2.
#[test]
fn pipeline_scans_the_recorded_sbom_and_refuses_a_changed_one() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("evidence");
    let ev_arg = ev.to_str().unwrap();
    let repo = tmp.path().join("app");
    git_repo(&repo);
    let o = proofline(&[
        "pipeline",
        "--evidence-dir",
        ev_arg,
        "--repo",
        repo.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ev.join("scan/record.json")).unwrap()).unwrap();
    assert_eq!(record["subject"]["digest"], FIXTURE_DIGEST);
    assert_eq!(record["inputs"][0]["stage"], "sbom");
    assert_eq!(record["inputs"][0]["path"], "sbom/sbom.cdx.json");
    assert_eq!(record["findings"]["outcome"], "passed");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ev.join("scan/report.json")).unwrap()).unwrap();
    let minimist: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["package"]["name"] == "minimist")
        .collect();
    // minimist 1.2.0: CVE-2021-44906 (critical, waived by fixtures/scan/app.openvex.json) and
    // CVE-2020-7598 (medium, not blocking).
    let ids: Vec<&str> = minimist.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["GHSA-xvch-5gv4-984h", "GHSA-vh95-rmgr-6w4m"],
        "{report:#}"
    );
    assert_eq!(minimist[0]["waived_by"]["kind"], "vex");
    assert_eq!(
        minimist[0]["waived_by"]["justification"],
        "vulnerable_code_cannot_be_controlled_by_adversary"
    );
    let v = proofline(&["evidence", "verify", "--evidence-dir", ev_arg]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );

    // The SBOM changed after the sbom stage recorded it: the scan refuses it.
    let sbom = ev.join("sbom/sbom.cdx.json");
    let mut bytes = std::fs::read(&sbom).unwrap();
    bytes.extend_from_slice(b"\n");
    std::fs::write(&sbom, bytes).unwrap();
    let before = std::fs::read(ev.join("scan/report.json")).unwrap();
    let o = proofline(&["scan", "--evidence-dir", ev_arg]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("sbom.cdx.json"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(ev.join("scan/report.json")).unwrap(),
        before,
        "previous evidence kept"
    );
}

#[test]
fn pipeline_runs_the_source_stage_and_maps_the_commit_to_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("app");
    let head = git_repo(&repo);
    let ev = tmp.path().join("evidence");
    let ev_arg = ev.to_str().unwrap();
    let repo_arg = repo.to_str().unwrap();

    // Unsigned, and signatures required: the pipeline reports the violation (exit 1) and
    // still records both stages.
    let o = proofline(&[
        "pipeline",
        "--evidence-dir",
        ev_arg,
        "--repo",
        repo_arg,
        "--require-signed",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ev.join("manifest.json")).unwrap()).unwrap();
    let stages: Vec<&str> = manifest["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, vec!["image", "sbom", "scan", "sign", "source"]);

    let o = proofline(&[
        "pipeline",
        "--evidence-dir",
        ev_arg,
        "--repo",
        repo_arg,
        "--require-signed=false",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let source: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ev.join("source/source.json")).unwrap()).unwrap();
    assert_eq!(source["repository"]["commit"], head);
    assert_eq!(source["repository"]["imageDigest"], FIXTURE_DIGEST);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ev.join("source/record.json")).unwrap()).unwrap();
    assert_eq!(record["subject"]["digest"], FIXTURE_DIGEST);
    assert_eq!(record["inputs"][0]["stage"], "image");
    let v = proofline(&["evidence", "verify", "--evidence-dir", ev_arg]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );

    // `proofline source` alone is the same stage.
    let o = proofline(&[
        "source",
        "--evidence-dir",
        ev_arg,
        "--repo",
        repo_arg,
        "--commit",
        "HEAD",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn evidence_verify_lists_modified_missing_and_unrecorded_files_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("evidence");
    assert_eq!(run_pipeline(&ev).status.code(), Some(0));
    let verify = |format: &str| {
        proofline(&[
            "evidence",
            "verify",
            "--format",
            format,
            "--evidence-dir",
            ev.to_str().unwrap(),
        ])
    };

    std::fs::write(ev.join("image/image.json"), b"{\"digest\":\"forged\"}\n").unwrap();
    std::fs::remove_file(ev.join("image/summary.md")).unwrap();
    std::fs::write(ev.join("image/extra.txt"), b"slipped in").unwrap();
    let o = verify("json");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        report["modified"][0]["path"], "image/image.json",
        "{report}"
    );
    assert_eq!(report["missing"][0]["path"], "image/summary.md", "{report}");
    assert_eq!(report["unrecorded"][0], "image/extra.txt", "{report}");
    let text = verify("text");
    assert_eq!(text.status.code(), Some(1));
    let text = String::from_utf8_lossy(&text.stdout);
    for needle in ["image/image.json", "image/summary.md", "image/extra.txt"] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn bad_input_exits_2_with_an_error_naming_the_thing() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("evidence");
    let cases: &[(&[&str], &str)] = &[
        (
            &["image", "ls", "oci:/definitely/not/here"],
            "/definitely/not/here",
        ),
        (
            &["image", "inspect", "oci:fixtures/images/app:no-such-tag"],
            "no-such-tag",
        ),
        (
            &["image", "ls", "--platform", "linux", FIXTURE],
            "--platform",
        ),
        (
            &["image", "inspect", "--platform", "linux/arm64", FIXTURE],
            "linux/arm64",
        ),
        (
            &["image", "ls", "docker-archive:/definitely/not/here.tar"],
            "here.tar",
        ),
        (&["image", "ls", "https://example.com/repo"], "no scheme"),
        (
            &[
                "evidence",
                "verify",
                "--evidence-dir",
                "/definitely/not/here",
            ],
            "/definitely/not/here",
        ),
        (
            &[
                "pipeline",
                "--evidence-dir",
                ev.to_str().unwrap(),
                "--image",
                "oci:/definitely/not/here",
            ],
            "/definitely/not/here",
        ),
        (&["image", "nope"], "nope"),
    ];
    for (args, needle) in cases {
        let o = proofline(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(needle),
            "{args:?}: stderr does not name `{needle}`:\n{}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{args:?}");
    }
    // A failed pipeline leaves no stage record claiming work it did not do.
    assert!(!ev.join("image/record.json").exists());
}

#[test]
fn credentials_must_come_in_pairs_and_never_print() {
    let o = Command::new(env!("CARGO_BIN_EXE_proofline"))
        .args(["image", "ls", "127.0.0.1:1/x:y"])
        .env("PROOFLINE_REGISTRY_PASSWORD", "hunter2-very-secret")
        .env_remove("PROOFLINE_REGISTRY_USERNAME")
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("PROOFLINE_REGISTRY_USERNAME"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("hunter2"));
}

#[test]
fn inspect_json_of_the_fixture() {
    let o = proofline(&["image", "inspect", FIXTURE]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    insta::assert_json_snapshot!("inspect_fixture", v);
}

#[test]
fn ls_sorted_listing_of_the_fixture() {
    let o = proofline(&["image", "ls", "--sort", FIXTURE]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let paths: Vec<&str> = lines.iter().map(|l| l["path"].as_str().unwrap()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    // Whiteouts applied: the deleted docs and motd are gone, the opaque dir holds only the new file.
    assert!(
        !paths
            .iter()
            .any(|p| p.starts_with("/usr/share/doc/netbase"))
    );
    assert!(!paths.contains(&"/etc/motd"));
    assert!(paths.contains(&"/app/config/settings.json"));
    assert!(!paths.contains(&"/app/config/debug.json"));
    assert!(!paths.iter().any(|p| p.contains(".wh.")));
    // Unsorted (streamed) and sorted listings hold the same entries.
    let streamed = proofline(&["image", "ls", FIXTURE]);
    let mut a: Vec<&str> = std::str::from_utf8(&streamed.stdout)
        .unwrap()
        .lines()
        .collect();
    a.sort();
    let mut b: Vec<&str> = text.lines().collect();
    b.sort();
    assert_eq!(a, b);
    insta::assert_snapshot!("ls_fixture_sorted", text);
}

#[test]
fn help_texts() {
    for (name, args) in [
        ("help_root", &["--help"][..]),
        ("help_image_ls", &["image", "ls", "--help"][..]),
        ("help_pipeline", &["pipeline", "--help"][..]),
    ] {
        let o = proofline(args);
        assert_eq!(o.status.code(), Some(0));
        insta::assert_snapshot!(name, String::from_utf8_lossy(&o.stdout));
    }
}

#[test]
fn a_failed_rerun_keeps_the_evidence_of_the_previous_run() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("evidence");
    assert_eq!(run_pipeline(&ev).status.code(), Some(0));
    let before = std::fs::read(ev.join("image/record.json")).unwrap();
    let o = proofline(&[
        "pipeline",
        "--evidence-dir",
        ev.to_str().unwrap(),
        "--image",
        "oci:/definitely/not/here",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(ev.join("image/record.json")).unwrap(), before);
    let v = proofline(&["evidence", "verify", "--evidence-dir", ev.to_str().unwrap()]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
}

/// The pipeline signs its evidence (an ephemeral key here) and verifies it; `proofline verify`
/// then checks the evidence against the image: 0 when everything verifies, 1 with the artifact
/// named when a byte changed or the key is another, 2 when no trust is given.
#[test]
fn pipeline_signs_and_proofline_verify_checks_the_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("evidence");
    let o = run_pipeline(&ev);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("verify: PASSED"), "{}", stderr(&o));
    let ev_arg = ev.to_str().unwrap();
    let key = ev.join("sign/cosign.pub");
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "--image",
            "oci:fixtures/images/app:1.0",
            "--evidence-dir",
            ev_arg,
        ];
        args.extend_from_slice(extra);
        proofline(&args)
    };
    let o = verify(&[
        "--key",
        key.to_str().unwrap(),
        "--require",
        "https://cyclonedx.org/bom,https://in-toto.io/attestation/vulns/v0.2",
    ]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.contains("ok      sbom/sbom.cdx.json [https://cyclonedx.org/bom]"),
        "{out}"
    );
    assert!(
        out.contains("ok      source/source.vsa.intoto.json") || !ev.join("source").exists(),
        "{out}"
    );
    // The digest form needs no image access at all.
    let o = proofline(&[
        "verify",
        "--image",
        &format!("registry.example/app@{FIXTURE_DIGEST}"),
        "--evidence-dir",
        ev_arg,
        "--key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // --require of a predicate nobody attested.
    let o = verify(&[
        "--key",
        key.to_str().unwrap(),
        "--require",
        "https://slsa.dev/provenance/v1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("MISSING required predicate type https://slsa.dev/provenance/v1")
    );
    // No trust given, half a keyless policy, a bad regex: exit 2 with the fix.
    for (extra, needle) in [
        (&[][..], "--key cosign.pub"),
        (
            &["--certificate-identity", "me@example.com"][..],
            "--certificate-oidc-issuer",
        ),
        (
            &[
                "--certificate-identity-regexp",
                "(",
                "--certificate-oidc-issuer",
                "x",
            ][..],
            "regular expression",
        ),
        (&["--key", "/no/such/cosign.pub"][..], "/no/such/cosign.pub"),
    ] {
        let o = verify(extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{extra:?}: {}", stderr(&o));
    }
    // A changed SBOM: exit 1, the artifact named; JSON report written.
    let text = std::fs::read_to_string(ev.join("sbom/sbom.cdx.json")).unwrap();
    std::fs::write(
        ev.join("sbom/sbom.cdx.json"),
        text.replacen("\"version\"", "\"version\" ", 1),
    )
    .unwrap();
    let report = tmp.path().join("report.json");
    let o = verify(&[
        "--key",
        key.to_str().unwrap(),
        "--output",
        report.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["passed"], false);
    let failed: Vec<(&str, &str)> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "verified")
        .map(|c| {
            (
                c["artifact"].as_str().unwrap(),
                c["reason"].as_str().unwrap(),
            )
        })
        .collect();
    // Whitespace only: the same JSON document, so the statement's predicate still matches, but
    // not the bytes the signed record lists.
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "sbom/sbom.cdx.json");
    assert!(
        failed[0].1.contains("differs from its signed stage record"),
        "{failed:?}"
    );
    std::fs::write(
        ev.join("sbom/sbom.cdx.json"),
        text.replacen("CycloneDX", "CycloneDx", 1),
    )
    .unwrap();
    let o = verify(&["--key", key.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("FAILED  sbom/sbom.cdx.json"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Keyless in the pipeline with a GitHub Actions token, against the local Fulcio/Rekor stand-in:
/// the token's subject is `repo:…`, the certificates name the workflow's URI (as Fulcio does), and
/// the pipeline's own verification and `proofline verify` both use the certified identity.
#[test]
fn pipeline_signs_keyless_and_verifies_the_identity_fulcio_certified() {
    use proofline_testkit::sigstore::SigstoreStandIn;
    let standin = SigstoreStandIn::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("trusted_root.json");
    std::fs::write(&root, standin.trusted_root_json()).unwrap();
    let (token, workflow) =
        standin.github_actions_token("acme/app", "release.yml", "refs/heads/main");
    let workflow = workflow.as_str();
    let ev = tmp.path().join("evidence");
    let ev_arg = ev.to_str().unwrap();
    let (fulcio, rekor) = (standin.fulcio_url(), standin.rekor_url());
    let o = proofline(&[
        "pipeline",
        "--evidence-dir",
        ev_arg,
        "--keyless",
        "--identity-token",
        &token,
        "--fulcio-url",
        &fulcio,
        "--rekor-url",
        &rekor,
        "--trusted-root",
        root.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("verify: PASSED"), "{}", stderr(&o));
    let summary = std::fs::read_to_string(ev.join("sign/summary.md")).unwrap();
    assert!(summary.contains(workflow), "{summary}");
    let verify = |identity: &str| {
        proofline(&[
            "verify",
            "--image",
            FIXTURE,
            "--evidence-dir",
            ev_arg,
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            &standin.oidc_issuer(),
            "--trusted-root",
            root.to_str().unwrap(),
        ])
    };
    let o = verify(workflow);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // The token's subject is not what was certified.
    let o = verify("repo:acme/app:ref:refs/heads/main");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
