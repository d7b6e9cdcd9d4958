//! The source stage in a GitLab merge-request pipeline: the real binary, a real repository with
//! SSH-signed commits, GitLab's CI variables, and GitLab's API replayed from `fixtures/forge/gitlab`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PROJECT: &str = "/api/v4/projects/group%2Fapp";
const TOKEN: &str = "glpat-stage-test-token";

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/forge/gitlab")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

async fn on(server: &MockServer, sub: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}{sub}")))
        .and(header("PRIVATE-TOKEN", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

fn git(dir: &Path, key: &Path, args: &[&str]) -> String {
    run(Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args([
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.com",
            "-c",
            "gpg.format=ssh",
        ])
        .arg("-c")
        .arg(format!("user.signingkey={}", key.display()))
        .args(args))
}

#[tokio::test(flavor = "multi_thread")]
async fn merged_results_pipeline_verifies_the_source_branch_head_against_gitlab() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("id_ed25519");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let allowed = tmp.path().join("allowed_signers");
    std::fs::write(&allowed, format!("dev@example.com {public}")).unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let commit = |file: &str, signed: bool| {
        std::fs::write(work.join(file), file).unwrap();
        git(&work, &key, &["add", file]);
        let mut args = vec!["commit", "-q", "-m", file];
        if signed {
            args.push("-S");
        }
        git(&work, &key, &args);
        git(&work, &key, &["rev-parse", "HEAD"])
    };
    git(&work, &key, &["init", "-q", "-b", "main"]);
    let base = commit("base", true);
    git(&work, &key, &["checkout", "-q", "-b", "feature"]);
    commit("one", true);
    let head = commit("two", true);
    git(&work, &key, &["checkout", "-q", "main"]);
    commit("main-moved-on", false);
    // The merged result GitLab builds in a merged-results pipeline: unsigned, never verified.
    git(
        &work,
        &key,
        &["merge", "-q", "--no-ff", "-m", "merged result", "feature"],
    );
    let merged = git(&work, &key, &["rev-parse", "HEAD"]);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(
            r"^/api/v4/projects/group%2Fapp/repository/commits/[0-9a-f]{40}/signature$",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture(
            "get-commit-signature.200.ssh-other-user.derived.json",
        )))
        .mount(&server)
        .await;
    on(
        &server,
        "",
        fixture("get-project.200.ff-pipeline.derived.json"),
    )
    .await;
    on(
        &server,
        "/protected_branches/main",
        fixture("get-protected-branch.200.hardened.derived.json"),
    )
    .await;
    let mut branches = fixture("list-protected-branches.200.docs-example.json");
    branches
        .as_array_mut()
        .unwrap()
        .retain(|b| b["name"] != "main");
    branches
        .as_array_mut()
        .unwrap()
        .push(fixture("get-protected-branch.200.hardened.derived.json"));
    on(&server, "/protected_branches", branches).await;
    on(
        &server,
        "/push_rule",
        fixture("get-project-push-rule.200.reject-unsigned.derived.json"),
    )
    .await;
    on(
        &server,
        "/approvals",
        fixture("get-project-approvals-config.200.docs-example.json"),
    )
    .await;
    on(
        &server,
        "/approval_rules",
        fixture("list-project-approval-rules.200.docs-example.json"),
    )
    .await;
    let mut mr = fixture("get-merge-request.200.derived.json");
    mr["iid"] = json!(3);
    mr["sha"] = json!(head);
    on(&server, "/merge_requests/3", mr).await;
    let mut approvals = fixture("get-merge-request-approvals.200.docs-example.json");
    approvals["approved_by"] = json!([{ "user": { "id": 1, "username": "reviewer-a" } }, { "user": { "id": 2, "username": "reviewer-b" } }]);
    on(&server, "/merge_requests/3/approvals", approvals).await;
    on(
        &server,
        "/merge_requests/3/approval_state",
        fixture("get-merge-request-approval-state.200.docs-example.json"),
    )
    .await;
    on(&server, "/merge_requests/3/reviewers", json!([])).await;

    let evidence = tmp.path().join("evidence");
    let dotenv_dir = tmp.path();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_proofline-source"));
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_")
            || k.starts_with("GITLAB_")
            || k.starts_with("CI")
            || k.starts_with("PROOFLINE_")
        {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .current_dir(dotenv_dir)
        .envs([
            ("GITLAB_CI", "true"),
            ("CI_SERVER_URL", "https://gitlab.example.com"),
            ("CI_PROJECT_PATH", "group/app"),
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
            ("CI_PIPELINE_ID", "77"),
            ("CI_MERGE_REQUEST_IID", "3"),
            ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature"),
            ("GITLAB_USER_LOGIN", "dev"),
            ("GITLAB_TOKEN", TOKEN),
            ("CI_JOB_TOKEN", "job-token-must-not-be-used"),
        ])
        .env("CI_API_V4_URL", format!("{}/api/v4", server.uri()))
        .env("CI_COMMIT_SHA", &merged)
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", &head)
        .env("CI_MERGE_REQUEST_DIFF_BASE_SHA", &base)
        .arg("--repo")
        .arg(&work)
        .arg("--evidence-dir")
        .arg(&evidence)
        .arg("--allowed-signers")
        .arg(&allowed)
        .args(["--required-approvals", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(2), "{stderr}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(evidence.join("source/source.json")).unwrap())
            .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stderr}\n{:#}",
        report["checks"]
    );

    // The two commits of the merge request, not the merged result, not the target's own commit.
    let shas: Vec<&str> = report["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap())
        .collect();
    assert_eq!(shas.len(), 2, "{shas:?}");
    assert_eq!(shas[0], head);
    assert!(!shas.contains(&merged.as_str()));
    assert_eq!(report["forge"]["forge"], "gitlab");
    // GitLab's replayed verdict (`other_user`) differs from ours (verified): reported, not failing.
    let forge = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "forge-signatures")
        .unwrap();
    assert_eq!(forge["status"], "warn", "{forge:#}");
    let approvals = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "approvals")
        .unwrap();
    assert_eq!(approvals["status"], "pass", "{approvals:#}");
    assert!(
        approvals["summary"]
            .as_str()
            .unwrap()
            .contains("reviewer-a, reviewer-b")
    );
    // GitLab's dotenv report is evidence too.
    let dotenv = std::fs::read_to_string(evidence.join("source/outputs.env")).unwrap();
    assert!(
        dotenv.contains("SOURCE_RESULT=passed")
            && dotenv.contains(&format!("SOURCE_COMMIT={head}")),
        "{dotenv}"
    );
}
