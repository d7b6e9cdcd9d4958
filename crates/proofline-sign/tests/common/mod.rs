//! What the sign tests share: an evidence directory like the pipeline leaves (an image stage
//! with the image digest, an sbom stage with both SBOMs, a scan stage with its in-toto vulns
//! statement, OpenVEX and a summary), and the binary run outside CI.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use proofline_evidence::{EvidenceDir, Findings, Outcome, StageInfo, Subject, media_type};

pub const IMAGE: &str = "registry.example/acme/app:1.0";
pub const DIGEST_HEX: &str = "41e2e10ace0263c87c422fdec942557d4ad10ec4474f294eb35cbed33c3bc0f0";

pub fn digest() -> String {
    format!("sha256:{DIGEST_HEX}")
}

fn stage(dir: &EvidenceDir, name: &str, files: &[(&str, &str, &[u8])]) {
    let info = StageInfo::new(name, "proofline-test", "0.1.0")
        .with_subject(Subject::new(IMAGE).with_digest(digest()));
    let mut writer = dir.begin_stage(info).unwrap();
    for (path, media, bytes) in files {
        writer.write_artifact(path, bytes, media).unwrap();
    }
    writer.set_findings(Findings::new(Outcome::Passed)).unwrap();
    writer.finish().unwrap();
}

/// Writes the evidence of an image, sbom and scan stage into `path`.
pub fn evidence(path: &Path) -> EvidenceDir {
    let dir = EvidenceDir::open(path).unwrap();
    stage(
        &dir,
        "image",
        &[("image.json", media_type::JSON, br#"{"digest":"x"}"#)],
    );
    let cdx = format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79","version":1,"metadata":{{"component":{{"type":"container","name":"{IMAGE}","version":"{}"}}}},"components":[{{"type":"library","name":"minimist","version":"1.2.5","purl":"pkg:npm/minimist@1.2.5"}}]}}"#,
        digest()
    );
    let spdx = r#"{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[{"type":"CreationInfo","@id":"_:creationinfo","specVersion":"3.0.1","created":"2026-11-27T00:00:00Z","createdBy":["https://proofline.dev/tool"]}]}"#;
    stage(
        &dir,
        "sbom",
        &[
            ("sbom.cdx.json", media_type::CYCLONEDX, cdx.as_bytes()),
            ("sbom.spdx.json", media_type::SPDX, spdx.as_bytes()),
            ("summary.md", media_type::MARKDOWN, b"# SBOM\n\n1 package\n"),
        ],
    );
    let vulns = format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"{IMAGE}","digest":{{"sha256":"{DIGEST_HEX}"}}}}],"predicateType":"https://in-toto.io/attestation/vulns/v0.2","predicate":{{"scanner":{{"uri":"https://github.com/proofline/proofline","version":"0.1.0","result":[]}}}}}}"#
    );
    let vex = r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://proofline.dev/vex/1","author":"Proofline scan","timestamp":"2026-11-27T00:00:00Z","version":1,"statements":[]}"#;
    stage(
        &dir,
        "scan",
        &[
            ("vulns.json", media_type::IN_TOTO, vulns.as_bytes()),
            ("vex.openvex.json", media_type::JSON, vex.as_bytes()),
            (
                "results.sarif",
                media_type::SARIF,
                br#"{"version":"2.1.0","runs":[]}"#,
            ),
        ],
    );
    dir
}

/// `proofline-sign ARGS` with `envs`, outside CI, none of the caller's PROOFLINE_* settings.
pub fn sign(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_proofline-sign"));
    cmd.args(args)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITLAB_CI")
        .env_remove("COSIGN_PASSWORD")
        .env_remove("SIGSTORE_ID_TOKEN")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    for (k, _) in std::env::vars() {
        if k.starts_with("PROOFLINE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("PROOFLINE_LOG_LEVEL", "info");
    cmd.envs(envs.iter().copied());
    cmd.output().unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Copies a directory tree (evidence), so one signed directory can be tampered with many ways.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The environment of a GitHub Actions `push` job or a GitLab merge-request job (the recorded
/// runner environments in fixtures/ci), with the runner's file paths moved into `tmp`, and no
/// OIDC variables: add them per test.
pub fn ci_env(forge: &str, tmp: &Path) -> Vec<(String, String)> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ci");
    let file = match forge {
        "github" => repo.join("github/env.push.example.env"),
        _ => repo.join("gitlab/env.merge_request_event.example.env"),
    };
    let mut env: Vec<(String, String)> = std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .filter(|(k, _)| !k.starts_with("ACTIONS_ID_TOKEN") && k != "SIGSTORE_ID_TOKEN")
        .collect();
    for (k, v) in &mut env {
        match k.as_str() {
            "GITHUB_OUTPUT"
            | "GITHUB_ENV"
            | "GITHUB_PATH"
            | "GITHUB_STEP_SUMMARY"
            | "GITHUB_STATE" => {
                let f = tmp.join(k.to_lowercase());
                std::fs::write(&f, b"").unwrap();
                *v = f.display().to_string();
            }
            "GITHUB_EVENT_PATH" => {
                *v = repo
                    .join("github/event.push.payload.json")
                    .display()
                    .to_string();
            }
            "GITHUB_WORKSPACE" | "CI_PROJECT_DIR" | "CI_BUILDS_DIR" | "RUNNER_TEMP" => {
                *v = tmp.display().to_string();
            }
            _ => {}
        }
    }
    env
}

/// `proofline-sign ARGS` with an owned environment.
pub fn sign_env(args: &[&str], envs: &[(String, String)]) -> Output {
    let borrowed: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sign(args, &borrowed)
}
