//! What the GitHub client makes of GitHub's answers, replayed from `fixtures/forge/github` (see
//! its SOURCE.md) by a local server: classic protection and rulesets merged, the 404/403 cases that
//! must stay indeterminate, commit verification, review state and CODEOWNERS errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod github_support;

use github_support::*;
use proofline_forge::{ForgeQuery, Observed};
use serde_json::Value;
use wiremock::MockServer;

// --- protection -------------------------------------------------------------------------------

#[tokio::test]
async fn rulesets_only_when_classic_answers_branch_not_protected() {
    let server = MockServer::start().await;
    mount(
        &server,
        CLASSIC,
        replay(
            "get-branch-protection.404.branch-not-protected.recorded.exchange.json",
            &[],
        ),
    )
    .await;
    mount_rulesets(&server).await;

    let view = view(&server, &branch_query()).await;
    let p = known_protection(&view);
    assert!(p.unreadable.is_empty(), "{:?}", p.unreadable);
    assert!(p.protected.value);
    assert_eq!(p.protected.sources, [R42, R73]);
    assert!(p.force_push_blocked.value && p.deletion_blocked.value);
    assert_eq!(p.force_push_blocked.sources, [R42]);
    assert!(p.signed_commits_required.value && p.linear_history.value);
    assert_eq!(p.required_approvals.value, 2);
    assert!(p.code_owner_review_required.value);
    assert!(p.dismiss_stale_approvals.value && p.last_push_approval_required.value);
    assert_eq!(
        p.required_status_checks.value,
        ["source-verification", "ci/build"]
    );
    // Ruleset 42 lets a team bypass it: administrators are not all subject to the rules.
    assert!(!p.admins_included.value);
    assert_eq!(p.admins_included.sources, [R42]);
    match view.protection.as_ref().unwrap() {
        Observed::Known { source, .. } => assert_eq!(
            source,
            &format!("GET {CLASSIC}, GET {RULES}, GET {RULESET_42}, GET {RULESET_73}")
        ),
        Observed::Indeterminate(_) => unreachable!(),
    }
}

#[tokio::test]
async fn branch_not_protected_in_the_current_error_format_is_known_absent() {
    let server = MockServer::start().await;
    mount(
        &server,
        CLASSIC,
        reply_fixture(
            404,
            "errors/404.branch-not-protected.current-format.derived.json",
        ),
    )
    .await;
    mount_no_rules(&server).await;

    let view = view(&server, &branch_query()).await;
    let p = known_protection(&view);
    assert!(p.unreadable.is_empty());
    assert!(!p.protected.value && p.protected.sources.is_empty());
    assert!(!p.force_push_blocked.value && p.force_push_blocked.sources.is_empty());
    assert_eq!(p.required_approvals.value, 0);
}

#[tokio::test]
async fn classic_only_when_no_rules_apply() {
    let server = MockServer::start().await;
    mount(
        &server,
        CLASSIC,
        reply_fixture(200, "get-branch-protection.200.weak.derived.json"),
    )
    .await;
    mount_no_rules(&server).await;

    let view = view(&server, &branch_query()).await;
    let p = known_protection(&view);
    assert!(p.unreadable.is_empty());
    assert!(p.protected.value);
    assert_eq!(p.protected.sources, ["classic protection"]);
    // The weak protection allows force pushes and does not enforce admins or signatures: each
    // "off" value names classic protection as the source that says so.
    assert!(!p.force_push_blocked.value);
    assert_eq!(p.force_push_blocked.sources, ["classic protection"]);
    assert!(p.deletion_blocked.value);
    assert!(!p.admins_included.value && !p.signed_commits_required.value);
    assert_eq!(p.admins_included.sources, ["classic protection"]);
    assert_eq!(p.required_approvals.value, 0);
    assert!(p.required_status_checks.value.is_empty());
}

#[tokio::test]
async fn classic_and_rulesets_merge_and_the_most_restrictive_wins() {
    let server = MockServer::start().await;
    mount(
        &server,
        CLASSIC,
        reply_fixture(200, "get-branch-protection.200.weak.derived.json"),
    )
    .await;
    mount_rulesets(&server).await;

    let view = view(&server, &branch_query()).await;
    let p = known_protection(&view);
    assert_eq!(p.protected.sources, ["classic protection", R42, R73]);
    // Classic allows force pushes, ruleset 42 blocks them: blocked, because of the ruleset.
    assert!(p.force_push_blocked.value);
    assert_eq!(p.force_push_blocked.sources, [R42]);
    assert!(p.signed_commits_required.value);
    assert_eq!(p.signed_commits_required.sources, [R42]);
    assert_eq!(p.required_approvals.value, 2);
    assert_eq!(p.required_approvals.sources, [R42]);
    // Classic does not enforce admins and ruleset 42 has a bypass team; ruleset 73 binds admins.
    assert!(!p.admins_included.value);
    assert_eq!(p.admins_included.sources, ["classic protection", R42]);
}

/// The full picture for a pull request on a branch protected by hardened classic protection and
/// both rulesets, with its commits and reviews: one snapshot of what the source stage receives.
#[tokio::test]
async fn full_view_merges_everything_github_says() {
    let server = MockServer::start().await;
    mount(
        &server,
        CLASSIC,
        reply_fixture(200, "get-branch-protection.200.hardened.derived.json"),
    )
    .await;
    mount_rulesets(&server).await;
    for (sha, name) in [
        (
            "a11a953e738cbda93335ede83f012914d53dc4f7",
            "get-commit.200.verified-gpg.recorded.json",
        ),
        (HEAD, "get-commit.200.verified-ssh.derived.json"),
    ] {
        mount(
            &server,
            &format!("/repos/octocat/Hello-World/commits/{sha}"),
            reply_fixture(200, name),
        )
        .await;
    }
    mount(
        &server,
        PULL,
        reply_fixture(200, "get-pull-request.200.derived.json"),
    )
    .await;
    mount(
        &server,
        REVIEWS,
        reply_fixture(200, "list-pull-request-reviews.200.mixed.derived.json"),
    )
    .await;
    mount(
        &server,
        CODEOWNERS,
        reply_fixture(200, "get-codeowners-errors.200.openapi-example.json"),
    )
    .await;

    let query = ForgeQuery {
        repository: REPO.to_owned(),
        branch: Some("main".to_owned()),
        commits: vec![
            "a11a953e738cbda93335ede83f012914d53dc4f7".to_owned(),
            HEAD.to_owned(),
        ],
        change_request: Some(1347),
    };
    let view = view(&server, &query).await;
    let p = known_protection(&view);
    // Both sources require checks: the union, each source named.
    assert_eq!(
        p.required_status_checks.value,
        [
            "continuous-integration/travis-ci",
            "source-verification",
            "ci/build"
        ]
    );
    assert_eq!(
        p.required_status_checks.sources,
        ["classic protection", R42]
    );
    insta::assert_json_snapshot!("github_full_view", view, { ".apiUrl" => "[api-url]" });
    // The codeowners request asked for the branch's CODEOWNERS.
    let asked = server.received_requests().await.unwrap();
    let codeowners = asked.iter().find(|r| r.url.path() == CODEOWNERS).unwrap();
    assert_eq!(codeowners.url.query(), Some("ref=main"));
}

#[tokio::test]
async fn not_found_on_classic_is_indeterminate_not_unprotected() {
    let server = MockServer::start().await;
    mount(
        &server,
        CLASSIC,
        reply_fixture(404, "errors/404.not-found.json"),
    )
    .await;
    mount_rulesets(&server).await;

    let view = view(&server, &branch_query()).await;
    let p = known_protection(&view);
    // Rulesets were readable: their settings are known, and classic protection is unreadable.
    assert!(p.protected.value && p.force_push_blocked.value);
    assert_eq!(p.unreadable.len(), 1);
    let classic = &p.unreadable[0];
    assert_eq!(classic.source, format!("GET {CLASSIC}"));
    assert_eq!(classic.http_status, Some(404));
    assert_eq!(classic.reason, "Not Found");
    assert!(
        classic.grant.contains("\"Administration: read\""),
        "{}",
        classic.grant
    );
    assert!(
        classic.grant.contains("cannot see the repository"),
        "{}",
        classic.grant
    );
}

#[tokio::test]
async fn resource_not_accessible_by_integration_names_the_administration_permission() {
    let server = MockServer::start().await;
    mount(
        &server,
        CLASSIC,
        reply_fixture(
            403,
            "errors/403.resource-not-accessible-by-integration.json",
        ),
    )
    .await;
    mount_no_rules(&server).await;

    let view = view(&server, &branch_query()).await;
    let p = known_protection(&view);
    // No rules apply and classic protection is unknown: "not protected" is NOT what this says.
    assert!(!p.protected.value);
    assert_eq!(p.unreadable.len(), 1);
    let classic = &p.unreadable[0];
    assert_eq!(classic.http_status, Some(403));
    assert_eq!(classic.reason, "Resource not accessible by integration");
    assert!(
        classic.grant.contains("\"Administration: read\""),
        "{}",
        classic.grant
    );
    assert!(
        classic.grant.contains("GITHUB_TOKEN can never"),
        "{}",
        classic.grant
    );
}

#[tokio::test]
async fn nothing_readable_is_indeterminate() {
    let server = MockServer::start().await;
    mount(
        &server,
        CLASSIC,
        reply_fixture(
            403,
            "errors/403.resource-not-accessible-by-integration.json",
        ),
    )
    .await;
    mount(
        &server,
        RULES,
        reply_fixture(404, "errors/404.not-found.json"),
    )
    .await;

    let view = view(&server, &branch_query()).await;
    let why = view.protection.as_ref().unwrap().indeterminate().unwrap();
    assert_eq!(why.http_status, Some(403));
    assert_eq!(why.source, format!("GET {CLASSIC}; GET {RULES}"));
    assert_eq!(
        why.reason,
        "Resource not accessible by integration; Not Found"
    );
    assert!(why.grant.contains("\"Administration: read\""));
    assert!(why.grant.contains("\"Metadata: read\""));
}

#[tokio::test]
async fn hidden_bypass_actors_leave_admins_unclaimed_and_say_why() {
    let server = MockServer::start().await;
    mount(
        &server,
        CLASSIC,
        reply_fixture(
            404,
            "errors/404.branch-not-protected.current-format.derived.json",
        ),
    )
    .await;
    mount(
        &server,
        RULES,
        reply_fixture(200, "get-branch-rules.200.hardened.derived.json"),
    )
    .await;
    mount(
        &server,
        RULESET_42,
        reply_fixture(200, "get-ruleset.200.no-bypass-actors.derived.json"),
    )
    .await;
    mount(
        &server,
        RULESET_73,
        reply_fixture(200, "get-ruleset.200.org-no-bypass.derived.json"),
    )
    .await;

    let view = view(&server, &branch_query()).await;
    let p = known_protection(&view);
    assert!(!p.admins_included.value);
    assert!(p.admins_included.sources.is_empty());
    assert_eq!(p.unreadable.len(), 1);
    assert_eq!(p.unreadable[0].source, format!("GET {RULESET_42}"));
    assert!(p.unreadable[0].reason.contains(R42));
    assert!(
        p.unreadable[0]
            .grant
            .contains("write access to the ruleset")
    );
}

#[tokio::test]
async fn unreadable_ruleset_detail_is_recorded_not_guessed() {
    let server = MockServer::start().await;
    mount(
        &server,
        CLASSIC,
        reply_fixture(
            404,
            "errors/404.branch-not-protected.current-format.derived.json",
        ),
    )
    .await;
    mount(
        &server,
        RULES,
        reply_fixture(200, "get-branch-rules.200.hardened.derived.json"),
    )
    .await;
    mount(
        &server,
        RULESET_42,
        reply_fixture(404, "errors/404.not-found.json"),
    )
    .await;
    mount(
        &server,
        RULESET_73,
        reply_fixture(200, "get-ruleset.200.org-no-bypass.derived.json"),
    )
    .await;

    let view = view(&server, &branch_query()).await;
    let p = known_protection(&view);
    // The rules of ruleset 42 still count; only whether it binds admins is unknown.
    assert!(p.force_push_blocked.value && !p.admins_included.value);
    assert_eq!(p.unreadable.len(), 1);
    let why = &p.unreadable[0];
    assert_eq!(why.source, format!("GET {RULESET_42}"));
    assert_eq!(why.http_status, Some(404));
    assert!(
        why.reason
            .starts_with("Not Found: the bypass actors of ruleset 42"),
        "{}",
        why.reason
    );
    assert!(why.grant.contains("\"Metadata: read\""), "{}", why.grant);
}

// --- commits ----------------------------------------------------------------------------------

#[tokio::test]
async fn commit_verification_reasons_and_signature_kinds() {
    let server = MockServer::start().await;
    let cases = [
        (
            "a1",
            "get-commit.200.verified-gpg.recorded.json",
            true,
            "valid",
            Some("gpg"),
        ),
        (
            "b2",
            "get-commit.200.verified-ssh.derived.json",
            true,
            "valid",
            Some("ssh"),
        ),
        (
            "c3",
            "get-commit.200.x509-gitsign-unverified.derived.json",
            false,
            "bad_cert",
            Some("x509"),
        ),
        (
            "d4",
            "get-commit.200.unsigned.openapi-example.json",
            false,
            "unsigned",
            None,
        ),
    ];
    for (sha, name, ..) in &cases {
        mount(
            &server,
            &format!("/repos/octocat/Hello-World/commits/{sha}"),
            reply_fixture(200, name),
        )
        .await;
    }
    let query = ForgeQuery {
        repository: REPO.to_owned(),
        commits: cases.iter().map(|c| c.0.to_owned()).collect(),
        ..ForgeQuery::default()
    };
    let view = view(&server, &query).await;
    for ((sha, _, verified, reason, kind), commit) in cases.iter().zip(&view.commits) {
        assert_eq!(&commit.sha, sha);
        let signature = commit.signature.value().unwrap();
        assert_eq!(signature.verified, *verified, "{sha}");
        assert_eq!(signature.reason, *reason, "{sha}");
        assert_eq!(signature.kind.as_deref(), *kind, "{sha}");
        assert_eq!((&signature.signer, &signature.key), (&None, &None));
    }
}

#[tokio::test]
async fn unreadable_or_unknown_commits_are_indeterminate() {
    let server = MockServer::start().await;
    mount(
        &server,
        "/repos/octocat/Hello-World/commits/e5",
        reply_fixture(404, "errors/404.not-found.json"),
    )
    .await;
    mount(
        &server,
        "/repos/octocat/Hello-World/commits/f6",
        reply_fixture(422, "errors/422.no-commit-for-sha.derived.json"),
    )
    .await;
    let query = ForgeQuery {
        repository: REPO.to_owned(),
        commits: vec!["e5".to_owned(), "f6".to_owned()],
        ..ForgeQuery::default()
    };
    let view = view(&server, &query).await;
    let not_found = view.commits[0].signature.indeterminate().unwrap();
    assert_eq!(not_found.http_status, Some(404));
    assert!(
        not_found.grant.contains("\"Contents: read\""),
        "{}",
        not_found.grant
    );
    let unknown = view.commits[1].signature.indeterminate().unwrap();
    assert_eq!(unknown.http_status, Some(422));
    assert!(unknown.reason.starts_with("No commit found for SHA"));
    assert!(unknown.grant.contains("push it to octocat/Hello-World"));
}

// --- reviews and CODEOWNERS ---------------------------------------------------------------------

/// A review list edited from the fixture: octocat approves the head, then requests changes;
/// hubot approves, and that approval is dismissed; other_user requests changes, then approves,
/// then only comments.
#[tokio::test]
async fn later_reviews_cancel_earlier_approvals_and_comments_change_nothing() {
    let server = MockServer::start().await;
    mount(
        &server,
        PULL,
        reply_fixture(200, "get-pull-request.200.derived.json"),
    )
    .await;
    let template = fixture_json("list-pull-request-reviews.200.mixed.derived.json")[0].clone();
    let edited = |user: &str, state: &str| {
        let mut review = template.clone();
        review["user"]["login"] = Value::from(user);
        review["state"] = Value::from(state);
        review["commit_id"] = Value::from(HEAD);
        review
    };
    let list = Value::Array(vec![
        edited("octocat", "APPROVED"),
        edited("octocat", "CHANGES_REQUESTED"),
        edited("hubot", "DISMISSED"),
        edited("other_user", "CHANGES_REQUESTED"),
        edited("other_user", "APPROVED"),
        edited("other_user", "COMMENTED"),
    ]);
    mount(&server, REVIEWS, reply(200, &list)).await;

    let view = view(&server, &review_query()).await;
    let review = known_review(&view);
    let approvals: Vec<_> = review.approvals.iter().map(|a| a.user.as_str()).collect();
    assert_eq!(approvals, ["other_user"]);
    assert!(review.approvals[0].on_head);
    assert_eq!(review.changes_requested, ["octocat"]);
}

#[tokio::test]
async fn unreadable_pull_request_is_indeterminate_with_the_pull_requests_permission() {
    let server = MockServer::start().await;
    mount(
        &server,
        PULL,
        reply_fixture(404, "errors/404.not-found.json"),
    )
    .await;

    let view = view(&server, &review_query()).await;
    let why = view.review.as_ref().unwrap().indeterminate().unwrap();
    assert_eq!(why.http_status, Some(404));
    assert!(
        why.grant.contains("\"Pull requests: read\""),
        "{}",
        why.grant
    );
}

#[tokio::test]
async fn codeowners_errors_are_listed_and_a_missing_file_is_an_error() {
    let server = MockServer::start().await;
    mount(
        &server,
        CODEOWNERS,
        reply_fixture(200, "get-codeowners-errors.200.openapi-example.json"),
    )
    .await;
    let listed = view(&server, &commit_query("x")).await;
    let errors = &listed.codeowners.as_ref().unwrap().value().unwrap().errors;
    assert_eq!(
        errors,
        &[
            ".github/CODEOWNERS line 3: Invalid pattern: `***/*.rb @monalisa` (Did you mean `**/*.rb`?)",
            ".github/CODEOWNERS line 7: Invalid owner: `*.txt docs@`",
        ]
    );

    let clean = MockServer::start().await;
    mount(
        &clean,
        CODEOWNERS,
        reply_fixture(200, "get-codeowners-errors.200.no-errors.derived.json"),
    )
    .await;
    let view_clean = view(&clean, &review_query()).await;
    assert!(
        view_clean
            .codeowners
            .unwrap()
            .value()
            .unwrap()
            .errors
            .is_empty()
    );

    let missing = MockServer::start().await;
    mount(
        &missing,
        CODEOWNERS,
        reply_fixture(404, "errors/404.not-found.json"),
    )
    .await;
    let view_missing = view(&missing, &review_query()).await;
    let errors = &view_missing
        .codeowners
        .as_ref()
        .unwrap()
        .value()
        .unwrap()
        .errors;
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("no CODEOWNERS file"), "{}", errors[0]);
}
