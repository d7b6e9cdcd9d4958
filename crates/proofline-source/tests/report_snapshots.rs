//! The stage's outputs for one fixed set of facts: the checks the policy gives, the Markdown
//! summary and the SLSA verification summary, as snapshots (a change to any of them is reviewed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proofline_forge::{
    Approval, BranchProtection, ForgeCommit, ForgeKind, ForgeSignature, ForgeView, Indeterminate,
    Observed, Review, Setting,
};
use proofline_source::checks::{CheckInput, commit_results, evaluate};
use proofline_source::commits::{CommitInfo, Person, Selection};
use proofline_source::plan::Plan;
use proofline_source::policy::{PolicyFlags, SourcePolicy};
use proofline_source::report::{RepositoryFacts, SourceReport, summary_markdown, vsa_statement};
use proofline_source::signature::{SignatureKind, SignatureStatus, Verdict};
use proofline_source::verify::TrustSources;

const HEAD: &str = "1111111111111111111111111111111111111111";
const SECOND: &str = "2222222222222222222222222222222222222222";

fn person(email: &str) -> Person {
    Person {
        name: "Dev".into(),
        email: email.into(),
        time: 1_700_000_000,
        offset_minutes: 0,
    }
}

fn commit(sha: &str, summary: &str, email: &str) -> CommitInfo {
    CommitInfo {
        sha: sha.into(),
        tree: "3333333333333333333333333333333333333333".into(),
        parents: vec!["0000000000000000000000000000000000000001".into()],
        author: person(email),
        committer: person(email),
        summary: summary.into(),
        signature: None,
        grafted: false,
    }
}

fn setting<T>(value: T, source: &str) -> Setting<T> {
    Setting {
        value,
        sources: vec![source.into()],
    }
}

fn forge_view() -> ForgeView {
    let sig = |verified: bool, reason: &str| ForgeSignature {
        verified,
        reason: reason.into(),
        kind: verified.then(|| "ssh".into()),
        signer: None,
        key: None,
    };
    ForgeView {
        forge: ForgeKind::GitHub,
        api_url: "https://api.github.com".into(),
        repository: "octo/app".into(),
        commits: vec![
            ForgeCommit {
                sha: HEAD.into(),
                signature: Observed::known(sig(true, "valid"), "GET /repos/octo/app/commits/1111"),
            },
            ForgeCommit {
                sha: SECOND.into(),
                signature: Observed::known(
                    sig(false, "unsigned"),
                    "GET /repos/octo/app/commits/2222",
                ),
            },
        ],
        protection: Some(Observed::known(
            BranchProtection {
                branch: "main".into(),
                protected: setting(true, "ruleset 42 (Repository)"),
                force_push_blocked: setting(true, "ruleset 42 (Repository)"),
                deletion_blocked: setting(true, "ruleset 42 (Repository)"),
                required_status_checks: Setting::new(Vec::new()),
                linear_history: Setting::new(false),
                admins_included: Setting::new(false),
                signed_commits_required: Setting::new(false),
                required_approvals: setting(1, "ruleset 42 (Repository)"),
                code_owner_review_required: Setting::new(false),
                dismiss_stale_approvals: Setting::new(false),
                last_push_approval_required: Setting::new(false),
                unreadable: vec![Indeterminate {
                    source: "GET /repos/octo/app/branches/main/protection".into(),
                    http_status: Some(403),
                    reason: "Resource not accessible by integration".into(),
                    grant: "a token with \"Administration: read\"".into(),
                }],
            },
            "GET /repos/octo/app/rules/branches/main",
        )),
        review: Some(Observed::known(
            Review {
                number: 7,
                author: Some("author".into()),
                head_sha: Some(HEAD.into()),
                approvals: vec![
                    Approval {
                        user: "author".into(),
                        commit: Some(HEAD.into()),
                        on_head: true,
                    },
                    Approval {
                        user: "pusher".into(),
                        commit: Some(HEAD.into()),
                        on_head: true,
                    },
                    Approval {
                        user: "old".into(),
                        commit: Some(SECOND.into()),
                        on_head: false,
                    },
                    Approval {
                        user: "reviewer".into(),
                        commit: Some(HEAD.into()),
                        on_head: true,
                    },
                ],
                changes_requested: Vec::new(),
                code_owner_approved: None,
                unreadable: Vec::new(),
            },
            "GET /repos/octo/app/pulls/7, GET /repos/octo/app/pulls/7/reviews",
        )),
        codeowners: None,
    }
}

fn report() -> SourceReport {
    let policy = SourcePolicy::resolve(&PolicyFlags::default(), None);
    let commits = [
        commit(HEAD, "feat: add | pipes", "dev@example.com"),
        commit(SECOND, "fix", "bot@example.com"),
    ];
    let verdicts = vec![
        Verdict::new(SignatureStatus::Verified, Some(SignatureKind::Ssh))
            .with_signer("dev@example.com")
            .with_fingerprint("SHA256:abc"),
        Verdict::new(SignatureStatus::Unsigned, None),
    ];
    let view = forge_view();
    let results = commit_results(&commits, verdicts, Some(&view), &policy);
    let checks = evaluate(&CheckInput {
        policy: &policy,
        commits: &results,
        grafted: 0,
        forge: Some(&view),
        no_forge_reason: None,
        branch: Some("main"),
        change_request: Some(7),
        last_pusher: Some("pusher"),
        local_codeowners: None,
    });
    SourceReport {
        schema: proofline_source::report::SOURCE_SCHEMA,
        outcome: "failed",
        repository: RepositoryFacts {
            path: ".".into(),
            name: Some("octo/app".into()),
            url: Some("https://github.com/octo/app".into()),
            branch: Some("main".into()),
            commit: HEAD.into(),
            tree: "3333333333333333333333333333333333333333".into(),
            image_digest: None,
        },
        plan: Plan {
            selection: Selection::Range {
                from: "0000000000000000000000000000000000000001".into(),
                to: HEAD.into(),
            },
            head: HEAD.into(),
            origin: "GitHub pull_request #7: merge-base(base)..head".into(),
            branch: Some("main".into()),
            change_request: Some(7),
            notes: Vec::new(),
        },
        unreachable: None,
        trust: TrustSources::default(),
        policy,
        commits: results,
        forge: Some(view),
        checks,
    }
}

#[test]
fn checks_of_a_pull_request_with_an_unsigned_commit_and_partly_readable_protection() {
    let report = report();
    insta::assert_json_snapshot!("checks", report.checks);
}

#[test]
fn the_markdown_summary_escapes_cells_and_lists_checks_then_commits() {
    insta::assert_snapshot!("summary", summary_markdown(&report()));
}

#[test]
fn verification_summary_statement() {
    let statement = vsa_statement(&report(), "2026-11-26T00:00:00Z", "ab".repeat(32).as_str());
    insta::assert_json_snapshot!("vsa", statement);
}
