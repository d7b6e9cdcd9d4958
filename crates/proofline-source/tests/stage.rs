//! The source stage end to end: the real `proofline-source` binary over real repositories with
//! commits signed by the real `ssh-keygen` (through git), the CI context of a real GitHub runner
//! environment, and GitHub's API replayed by a local HTTP server from `fixtures/forge/github`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/forge/github")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// A repository whose commits are signed (or not) with a real SSH key through git.
struct Repo {
    dir: TempDir,
    key: PathBuf,
    allowed: PathBuf,
}

impl Repo {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id_ed25519");
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "dev", "-f"])
            .arg(&key));
        let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        let allowed = dir.path().join("allowed_signers");
        std::fs::write(&allowed, format!("dev@example.com {public}")).unwrap();
        let repo = Self { dir, key, allowed };
        std::fs::create_dir(repo.work()).unwrap();
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn git(&self, args: &[&str]) -> String {
        run(Command::new("git")
            .current_dir(self.work())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args([
                "-c",
                "user.name=Dev",
                "-c",
                "user.email=dev@example.com",
                "-c",
                "gpg.format=ssh",
                "-c",
                "commit.gpgsign=false",
            ])
            .arg("-c")
            .arg(format!("user.signingkey={}", self.key.display()))
            .args(args))
    }

    fn commit(&self, file: &str, signed: bool) -> String {
        std::fs::write(self.work().join(file), file).unwrap();
        self.git(&["add", file]);
        let mut args = vec!["commit", "-q", "-m"];
        args.push(file);
        if signed {
            args.push("-S");
        }
        self.git(&args);
        self.git(&["rev-parse", "HEAD"])
    }

    fn source(&self, evidence: &Path) -> Command {
        self.source_in(evidence, &self.work())
    }

    /// The stage over another checkout (e.g. a shallow clone of this one).
    fn source_in(&self, evidence: &Path, repo: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_proofline-source"));
        for (k, _) in std::env::vars() {
            if k.starts_with("GITHUB_")
                || k.starts_with("GITLAB_")
                || k.starts_with("CI")
                || k.starts_with("PROOFLINE_")
                || k.starts_with("RUNNER_")
            {
                cmd.env_remove(k);
            }
        }
        cmd.current_dir(self.dir.path())
            .arg("--repo")
            .arg(repo)
            .arg("--evidence-dir")
            .arg(evidence)
            .arg("--allowed-signers")
            .arg(&self.allowed);
        cmd
    }
}

fn source_json(evidence: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(evidence.join("source/source.json")).unwrap()).unwrap()
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn local_signed_range_passes_and_records_source_vsa_and_summary() {
    let repo = Repo::new();
    let first = repo.commit("a", true);
    repo.commit("b", true);
    let head = repo.commit("c", true);
    let evidence = repo.dir.path().join("evidence");
    let out = repo
        .source(&evidence)
        .args(["--range", &format!("{first}..HEAD")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = source_json(&evidence);
    assert_eq!(report["outcome"], "passed");
    assert_eq!(report["commits"].as_array().unwrap().len(), 2);
    assert!(report["commits"].as_array().unwrap().iter().all(|c| {
        c["verification"]["status"] == "verified" && c["verification"]["kind"] == "ssh"
    }));
    assert_eq!(report["repository"]["commit"], head);
    let tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    assert_eq!(report["repository"]["tree"], tree);
    assert_eq!(check(&report, "signatures")["status"], "pass");
    // Locally no forge is asked: protection and reviews are skipped, and say why.
    let protection = check(&report, "branch-protection/no-force-push");
    assert_eq!(protection["status"], "skipped");
    assert!(protection["summary"].as_str().unwrap().contains("--forge"));

    let vsa: Value = serde_json::from_slice(
        &std::fs::read(evidence.join("source/source.vsa.intoto.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(vsa["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        vsa["predicateType"],
        "https://slsa.dev/verification_summary/v1"
    );
    assert_eq!(vsa["subject"][0]["digest"]["gitCommit"], head);
    assert_eq!(vsa["predicate"]["verificationResult"], "PASSED");
    assert!(
        vsa["predicate"]["verifiedLevels"]
            .as_array()
            .unwrap()
            .contains(&json!("PROOFLINE_SOURCE_SIGNED_COMMITS"))
    );
    let summary = std::fs::read_to_string(evidence.join("source/summary.md")).unwrap();
    assert!(summary.contains("| `signatures` | ✅ pass |"), "{summary}");
    let record: Value =
        serde_json::from_slice(&std::fs::read(evidence.join("source/record.json")).unwrap())
            .unwrap();
    assert_eq!(record["findings"]["outcome"], "passed");
}

#[test]
fn an_unsigned_commit_fails_with_exit_1_and_names_the_commit() {
    let repo = Repo::new();
    let first = repo.commit("a", true);
    let unsigned = repo.commit("b", false);
    repo.commit("c", true);
    let evidence = repo.dir.path().join("evidence");
    let out = repo
        .source(&evidence)
        .args(["--range", &format!("{first}..HEAD")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = source_json(&evidence);
    let sig = check(&report, "signatures");
    assert_eq!(sig["status"], "fail");
    assert!(
        sig["details"][0]
            .as_str()
            .unwrap()
            .starts_with(&unsigned[..12]),
        "{sig:#}"
    );
    assert!(sig["details"][0].as_str().unwrap().contains("unsigned"));

    // The same commit exempted by committer email passes; --require-signed=false only warns.
    let out = repo
        .source(&evidence)
        .args([
            "--range",
            &format!("{first}..HEAD"),
            "--exempt-signers",
            "dev@*",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = repo
        .source(&evidence)
        .args([
            "--range",
            &format!("{first}..HEAD"),
            "--require-signed=false",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        check(&source_json(&evidence), "signatures")["status"],
        "warn"
    );
}

#[test]
fn a_policy_file_sets_defaults_and_rejects_unknown_keys() {
    let repo = Repo::new();
    repo.commit("a", false);
    let evidence = repo.dir.path().join("evidence");
    let policy = repo.dir.path().join("proofline.yaml");
    std::fs::write(&policy, "version: 1\nsource:\n  require-signed: false\n").unwrap();
    let out = repo
        .source(&evidence)
        .args(["--commit", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = source_json(&evidence);
    assert_eq!(
        report["policy"]["origins"]["requireSigned"],
        "proofline.yaml"
    );
    // The flag beats the file.
    let out = repo
        .source(&evidence)
        .args(["--commit", "HEAD", "--require-signed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    std::fs::write(&policy, "source:\n  require-signd: false\n").unwrap();
    let out = repo
        .source(&evidence)
        .args(["--commit", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("require-signd"), "{}", stderr(&out));
}

#[test]
fn bad_input_is_exit_2_with_the_fix_and_keeps_previous_evidence() {
    let repo = Repo::new();
    repo.commit("a", true);
    let evidence = repo.dir.path().join("evidence");
    let out = repo
        .source(&evidence)
        .args(["--commit", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before = std::fs::read(evidence.join("source/source.json")).unwrap();

    let out = repo
        .source(&evidence)
        .args(["--range", "nope..HEAD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("revision nope not found"),
        "{}",
        stderr(&out)
    );
    let out = repo
        .source(&evidence)
        .args(["--commit", "HEAD", "--gpg-keys", "/nonexistent/keys.asc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/keys.asc"),
        "{}",
        stderr(&out)
    );
    let out = repo
        .source(&evidence)
        .args([
            "--commit",
            "HEAD",
            "--require-branch-protection",
            "no-force-pushes",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("linear-history"), "{}", stderr(&out));
    let out = repo
        .source(&evidence)
        .args(["--range", "a..b", "--commit", "c"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Nothing of the earlier run was lost.
    assert_eq!(
        std::fs::read(evidence.join("source/source.json")).unwrap(),
        before
    );
}

/// A GitHub `pull_request` run: the runner checked out a synthetic merge commit.
struct PullRequest {
    repo: Repo,
    base: String,
    head: String,
    merge: String,
    event: PathBuf,
}

fn pull_request(head_signed: bool, merge_signed: bool) -> PullRequest {
    pull_request_with(head_signed, merge_signed, None)
}

/// A pull request whose base branch has `codeowners` as `.github/CODEOWNERS`.
fn pull_request_with(
    head_signed: bool,
    merge_signed: bool,
    codeowners: Option<&str>,
) -> PullRequest {
    let repo = Repo::new();
    if let Some(text) = codeowners {
        std::fs::create_dir_all(repo.work().join(".github")).unwrap();
        std::fs::write(repo.work().join(".github/CODEOWNERS"), text).unwrap();
        repo.git(&["add", ".github/CODEOWNERS"]);
    }
    repo.commit("base", true);
    let base = repo.commit("base2", true);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let head = repo.commit("feature", head_signed);
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("main-moved-on", true);
    let mut merge_args = vec!["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"];
    if merge_signed {
        merge_args.push("-S");
    }
    repo.git(&merge_args);
    let merge = repo.git(&["rev-parse", "HEAD"]);
    let event = repo.dir.path().join("event.json");
    // The recorded `pull_request.opened` payload shape, with this repository's shas.
    std::fs::write(
        &event,
        serde_json::to_vec(&json!({
            "action": "synchronize",
            "number": 7,
            "pull_request": {
                "number": 7,
                "head": { "sha": head, "ref": "feature", "repo": { "full_name": "octo/app" } },
                "base": { "sha": base, "ref": "main", "repo": { "full_name": "octo/app" } },
            },
            "repository": { "full_name": "octo/app", "default_branch": "main" },
            "sender": { "login": "pusher" },
        }))
        .unwrap(),
    )
    .unwrap();
    PullRequest {
        repo,
        base,
        head,
        merge,
        event,
    }
}

impl PullRequest {
    fn command(&self, server: &MockServer, evidence: &Path) -> Command {
        // The runner creates these files for every step.
        for file in ["github_output", "step_summary.md"] {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.repo.dir.path().join(file))
                .unwrap();
        }
        let mut cmd = self.repo.source(evidence);
        cmd.envs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "octo/app"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_REF", "refs/pull/7/merge"),
            ("GITHUB_RUN_ID", "1"),
            ("GITHUB_ACTOR", "pusher"),
            ("GITHUB_TOKEN", "ghs_testtoken0123456789"),
        ])
        .env("GITHUB_API_URL", server.uri())
        .env("GITHUB_OUTPUT", self.repo.dir.path().join("github_output"))
        .env(
            "GITHUB_STEP_SUMMARY",
            self.repo.dir.path().join("step_summary.md"),
        )
        .env("GITHUB_SHA", &self.merge)
        .env("GITHUB_EVENT_PATH", &self.event);
        cmd
    }
}

async fn github(
    pr: &PullRequest,
    protection: ResponseTemplate,
    approver_on_head: bool,
) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/octo/app/commits/[0-9a-f]{40}$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("get-commit.200.verified-ssh.derived.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/branches/main/protection"))
        .respond_with(protection)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/rules/branches/main"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("get-branch-rules.200.empty.derived.json")),
        )
        .mount(&server)
        .await;
    let mut pull = fixture("get-pull-request.200.derived.json");
    pull["number"] = json!(7);
    pull["user"]["login"] = json!("author");
    pull["head"]["sha"] = json!(pr.head);
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pull))
        .mount(&server)
        .await;
    let mut reviews = fixture("list-pull-request-reviews.200.mixed.derived.json");
    if approver_on_head {
        // The reviewer who asked for changes is satisfied: their review is dismissed from the list.
        reviews
            .as_array_mut()
            .unwrap()
            .retain(|r| r["state"] != "CHANGES_REQUESTED");
    }
    for review in reviews.as_array_mut().unwrap() {
        if review["state"] == "APPROVED" && approver_on_head {
            review["commit_id"] = json!(pr.head);
        }
    }
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/7/reviews"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reviews))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_request_with_unsigned_head_fails_even_though_the_merge_commit_is_signed() {
    let pr = pull_request(false, true);
    let server = github(
        &pr,
        ResponseTemplate::new(200)
            .set_body_json(fixture("get-branch-protection.200.hardened.derived.json")),
        true,
    )
    .await;
    let evidence = pr.repo.dir.path().join("evidence");
    let out = pr.command(&server, &evidence).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = source_json(&evidence);
    let shas: Vec<&str> = report["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap())
        .collect();
    // The change's own commit, never the synthetic merge commit or the base branch's.
    assert_eq!(shas, vec![pr.head.as_str()]);
    assert!(!shas.contains(&pr.merge.as_str()) && !shas.contains(&pr.base.as_str()));
    assert_eq!(report["repository"]["commit"], pr.head);
    assert_eq!(check(&report, "signatures")["status"], "fail");
    // GitHub says verified (replayed), we say unsigned: reported as a disagreement.
    assert_eq!(check(&report, "forge-signatures")["status"], "warn");
    // The token never reaches the evidence or the logs (beyond the runner's own mask command).
    let logs = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(logs.contains("::add-mask::ghs_testtoken0123456789"));
    let all = format!(
        "{}{}",
        logs.replace("::add-mask::ghs_testtoken0123456789", ""),
        std::fs::read_to_string(evidence.join("source/source.json")).unwrap()
    );
    assert!(!all.contains("ghs_testtoken0123456789"));
    let outputs = std::fs::read_to_string(pr.repo.dir.path().join("github_output")).unwrap();
    assert!(outputs.contains("source-result=failed"), "{outputs}");
    let summary = std::fs::read_to_string(pr.repo.dir.path().join("step_summary.md")).unwrap();
    assert!(summary.contains("| `signatures` | ❌ fail |"), "{summary}");
    // Annotations for the runner.
    assert!(
        stderr(&out).contains("::error title=proofline source%3A signatures::"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_reviewed_protected_pull_request_passes_and_records_each_facts_source() {
    let pr = pull_request(true, false);
    let server = github(
        &pr,
        ResponseTemplate::new(200)
            .set_body_json(fixture("get-branch-protection.200.hardened.derived.json")),
        true,
    )
    .await;
    let evidence = pr.repo.dir.path().join("evidence");
    let out = pr.command(&server, &evidence).output().unwrap();
    let report = source_json(&evidence);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{:#}",
        stderr(&out),
        report["checks"]
    );
    assert_eq!(check(&report, "approvals")["status"], "pass");
    let protection = check(&report, "branch-protection/no-force-push");
    assert_eq!(protection["status"], "pass");
    assert!(
        protection["sources"]
            .to_string()
            .contains("classic protection"),
        "{protection:#}"
    );
    assert_eq!(report["forge"]["forge"], "github");
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_approvals_do_not_count_and_unreadable_protection_is_indeterminate() {
    let pr = pull_request(true, false);
    let forbidden = ResponseTemplate::new(403).set_body_json(json!({
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com/rest/branches/branch-protection#get-branch-protection",
        "status": "403"
    }));
    let server = github(&pr, forbidden, false).await;
    let evidence = pr.repo.dir.path().join("evidence");
    let out = pr.command(&server, &evidence).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = source_json(&evidence);
    let approvals = check(&report, "approvals");
    assert_eq!(approvals["status"], "fail", "{approvals:#}");
    assert!(
        approvals["details"].to_string().contains("older commit"),
        "{approvals:#}"
    );
    let deletion = check(&report, "branch-protection/no-deletion");
    assert_eq!(deletion["status"], "indeterminate", "{deletion:#}");
    assert!(
        deletion["details"].to_string().contains("Administration"),
        "{deletion:#}"
    );

    // --on-indeterminate warn keeps the indeterminate facts visible but does not fail on them.
    let out = pr
        .command(&server, &evidence)
        .args(["--on-indeterminate", "warn", "--required-approvals", "0"])
        .output()
        .unwrap();
    let report = source_json(&evidence);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{:#}",
        stderr(&out),
        report["checks"]
    );
    assert_eq!(
        check(&report, "branch-protection/no-deletion")["status"],
        "indeterminate"
    );
}

/// A GitHub `push` run with the recorded payload shape: `before`/`after`, `created`.
fn push_command(repo: &Repo, evidence: &Path, before: &str, after: &str, branch: &str) -> Command {
    let event = repo.dir.path().join("push.json");
    std::fs::write(
        &event,
        serde_json::to_vec(&json!({
            "ref": format!("refs/heads/{branch}"),
            "before": before,
            "after": after,
            "created": before.chars().all(|c| c == '0'),
            "repository": { "full_name": "octo/app", "default_branch": "main" },
        }))
        .unwrap(),
    )
    .unwrap();
    for file in ["github_output", "step_summary.md"] {
        std::fs::write(repo.dir.path().join(file), "").unwrap();
    }
    let mut cmd = repo.source(evidence);
    cmd.envs([
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "octo/app"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_RUN_ID", "2"),
    ])
    .env("GITHUB_REF", format!("refs/heads/{branch}"))
    .env("GITHUB_REF_NAME", branch)
    .env("GITHUB_SHA", after)
    .env("GITHUB_EVENT_PATH", &event)
    .env("GITHUB_OUTPUT", repo.dir.path().join("github_output"))
    .env(
        "GITHUB_STEP_SUMMARY",
        repo.dir.path().join("step_summary.md"),
    )
    .args(["--forge", "none"]);
    cmd
}

fn commit_shas(report: &Value) -> Vec<String> {
    report["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_push_verifies_before_to_after_and_a_new_branch_what_the_default_branch_lacks() {
    let repo = Repo::new();
    repo.commit("a", true);
    let before = repo.commit("b", true);
    let c = repo.commit("c", false);
    let after = repo.commit("d", true);
    let evidence = repo.dir.path().join("evidence");

    let out = push_command(&repo, &evidence, &before, &after, "main")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = source_json(&evidence);
    assert_eq!(commit_shas(&report), vec![after.clone(), c.clone()]);
    assert!(
        report["plan"]["origin"]
            .as_str()
            .unwrap()
            .contains(&format!("{before}..{after}"))
    );
    // No forge asked: protection is skipped with the reason, the signature check still decides.
    assert_eq!(
        check(&report, "branch-protection/no-deletion")["status"],
        "skipped"
    );

    // The first push of a feature branch: only what `main` lacks.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let f1 = repo.commit("f1", true);
    let f2 = repo.commit("f2", true);
    let zero = "0".repeat(40);
    let out = push_command(&repo, &evidence, &zero, &f2, "feature")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = source_json(&evidence);
    assert_eq!(commit_shas(&report), vec![f2.clone(), f1.clone()]);
    assert!(
        report["plan"]["origin"]
            .as_str()
            .unwrap()
            .contains("new branch feature")
    );

    // A force push whose previous tip is not in the clone: the same fallback, with a note.
    let gone = "1234567890abcdef1234567890abcdef12345678";
    let out = push_command(&repo, &evidence, gone, &f2, "feature")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = source_json(&evidence);
    assert_eq!(commit_shas(&report), vec![f2, f1]);
    assert!(
        report["plan"]["notes"].to_string().contains("force push"),
        "{:#}",
        report["plan"]
    );
}

#[test]
fn a_shallow_clone_says_what_it_could_not_reach_and_how_to_fix_it() {
    let repo = Repo::new();
    for name in ["a", "b", "c", "d"] {
        repo.commit(name, true);
    }
    let shallow = repo.dir.path().join("shallow");
    run(Command::new("git")
        .args(["clone", "-q", "--depth", "2", "--no-local"])
        .arg(format!("file://{}", repo.work().display()))
        .arg(&shallow));
    let evidence = repo.dir.path().join("evidence");
    // A range whose start was cut off: exit 2 naming fetch-depth.
    let first = repo.git(&["rev-list", "--max-parents=0", "HEAD"]);
    let out = repo
        .source_in(&evidence, &shallow)
        .args(["--range", &format!("{first}..HEAD")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("fetch-depth: 0"), "{}", stderr(&out));
    // Every commit it can reach is verified, and the cut is reported: indeterminate, not passed.
    let out = repo
        .source_in(&evidence, &shallow)
        .args(["--range", "HEAD~1..HEAD"])
        .output()
        .unwrap();
    let report = source_json(&evidence);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        report["unreachable"].is_null(),
        "{:#}",
        report["unreachable"]
    );
    let out = repo
        .source_in(&evidence, &shallow)
        .args(["--commit", "HEAD~1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = source_json(&evidence);
    assert_eq!(check(&report, "signatures")["status"], "indeterminate");
    assert!(
        report["unreachable"]
            .as_str()
            .unwrap()
            .contains("fetch-depth: 0")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn codeowners_errors_fail_when_code_owners_are_required() {
    let pr = pull_request(true, false);
    let server = github(
        &pr,
        ResponseTemplate::new(200)
            .set_body_json(fixture("get-branch-protection.200.hardened.derived.json")),
        true,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/codeowners/errors"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("get-codeowners-errors.200.openapi-example.json")),
        )
        .mount(&server)
        .await;
    let evidence = pr.repo.dir.path().join("evidence");
    let out = pr
        .command(&server, &evidence)
        .arg("--require-codeowners")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = source_json(&evidence);
    let codeowners = check(&report, "codeowners");
    assert_eq!(codeowners["status"], "fail", "{codeowners:#}");
    assert!(
        codeowners["details"][0].as_str().unwrap().contains("line"),
        "{codeowners:#}"
    );
    // The hardened protection requires code-owner review, which GitHub enforces at merge.
    assert_eq!(check(&report, "codeowners/approval")["status"], "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn code_owner_approval_is_judged_from_codeowners_the_changed_files_and_the_approvals() {
    for (codeowners, expected) in [
        ("* @nobody\n", "fail"),
        ("* @nobody\nfeature @other_user\n", "pass"),
        ("* @octo-org/security\n", "indeterminate"),
    ] {
        let pr = pull_request_with(true, false, Some(codeowners));
        let server = github(
            &pr,
            ResponseTemplate::new(200)
                .set_body_json(fixture("get-branch-protection.200.hardened.derived.json")),
            true,
        )
        .await;
        Mock::given(method("GET"))
            .and(path("/repos/octo/app/codeowners/errors"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(fixture("get-codeowners-errors.200.no-errors.derived.json")),
            )
            .mount(&server)
            .await;
        let evidence = pr.repo.dir.path().join("evidence");
        let out = pr
            .command(&server, &evidence)
            .arg("--require-codeowners")
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
        let report = source_json(&evidence);
        let approval = check(&report, "codeowners/approval");
        assert_eq!(approval["status"], expected, "{codeowners}: {approval:#}");
        assert_eq!(check(&report, "codeowners")["status"], "pass");
        assert_eq!(
            out.status.code(),
            Some(if expected == "pass" { 0 } else { 1 })
        );
    }
}
