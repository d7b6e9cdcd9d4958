//! GitLab branch protection against a local HTTP server: protected branches (exact, wildcard,
//! paginated), push rules, approval settings and rules, and what the token could not read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gitlab_support;

use gitlab_support::*;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer};

#[tokio::test]
async fn weak_protected_branch_on_free_tier_reports_premium_parts_unreadable_not_off() {
    let server = MockServer::start().await;
    protection_endpoints(
        &server,
        "main",
        (200, "get-protected-branch.200.weak.derived.json"),
        (200, "list-protected-branches.200.docs-example.json"),
        (404, "errors/404.not-found.derived.json"),
        (404, "errors/404.not-found.derived.json"),
        (403, "errors/403.forbidden.derived.json"),
    )
    .await;
    let view = view_of(&server, &query(Some("main"), &[], None)).await;
    let p = protection(&view);
    assert!(p.protected.value);
    assert!(!p.force_push_blocked.value, "allow_force_push: true");
    assert!(!p.admins_included.value, "developers may push");
    assert_eq!(
        p.admins_included.sources,
        [r#"protected branch "main" (push: Developers + Maintainers)"#]
    );
    assert!(!p.signed_commits_required.value);
    assert!(
        p.signed_commits_required.sources.is_empty(),
        "not claimed off"
    );
    assert_eq!(p.required_approvals.value, 0);
    assert!(p.required_approvals.sources.is_empty());

    let push = unreadable_for(p, "/push_rule");
    assert_eq!(push.http_status, Some(404));
    assert!(push.grant.contains("Premium") && push.grant.contains("Maintainer"));
    let settings = unreadable_for(p, "/approvals");
    assert!(settings.grant.contains("Premium"));
    let rules = unreadable_for(p, "/approval_rules");
    assert_eq!(rules.http_status, Some(403));
    assert!(rules.grant.contains("Developer"));
}

#[tokio::test]
async fn a_branch_without_protected_entry_is_unprotected_when_the_project_is_readable() {
    let server = MockServer::start().await;
    protection_endpoints(
        &server,
        "feature/x",
        (404, "errors/404.not-found.derived.json"),
        (200, "list-protected-branches.200.docs-example.json"),
        (
            200,
            "get-project-push-rule.200.never-configured.docs-example.json",
        ),
        (200, "get-project-approvals-config.200.docs-example.json"),
        (200, "list-project-approval-rules.200.docs-example.json"),
    )
    .await;
    let view = view_of(&server, &query(Some("feature/x"), &[], None)).await;
    let p = protection(&view);
    assert!(!p.protected.value && !p.force_push_blocked.value && !p.deletion_blocked.value);
    assert!(p.protected.sources.is_empty());
    assert!(!p.signed_commits_required.value);
    assert_eq!(
        p.signed_commits_required.sources,
        ["push rule (never configured)"]
    );
    // The "security" rule is scoped to main; only approvals_before_merge applies.
    assert_eq!(p.required_approvals.value, 2);
    assert!(p.unreadable.is_empty(), "{:#?}", p.unreadable);
}

#[tokio::test]
async fn push_rule_with_reject_unsigned_null_is_off_and_a_forbidden_one_is_unreadable() {
    let server = MockServer::start().await;
    protection_endpoints(
        &server,
        "main",
        (200, "get-protected-branch.200.docs-example.json"),
        (200, "list-protected-branches.200.docs-example.json"),
        (
            200,
            "get-project-push-rule.200.all-disabled.docs-example.json",
        ),
        (200, "get-project-approvals-config.200.docs-example.json"),
        (200, "list-project-approval-rules.200.docs-example.json"),
    )
    .await;
    let p = protection(&view_of(&server, &query(Some("main"), &[], None)).await).clone();
    assert!(!p.signed_commits_required.value);
    assert_eq!(
        p.signed_commits_required.sources,
        ["push rule (reject_unsigned_commits: null)"]
    );

    let server = MockServer::start().await;
    protection_endpoints(
        &server,
        "main",
        (200, "get-protected-branch.200.docs-example.json"),
        (200, "list-protected-branches.200.docs-example.json"),
        (403, "errors/403.forbidden.derived.json"),
        (200, "get-project-approvals-config.200.docs-example.json"),
        (200, "list-project-approval-rules.200.docs-example.json"),
    )
    .await;
    let p = protection(&view_of(&server, &query(Some("main"), &[], None)).await).clone();
    assert!(p.signed_commits_required.sources.is_empty());
    let push = unreadable_for(&p, "/push_rule");
    assert_eq!(push.http_status, Some(403));
    assert_eq!(push.reason, "403 Forbidden");
}

#[tokio::test]
async fn a_wildcard_on_the_third_page_protects_the_branch() {
    let server = MockServer::start().await;
    on(
        &server,
        "",
        200,
        "get-project.200.merge-commits.derived.json",
    )
    .await;
    on(
        &server,
        "/protected_branches/release%2F1.0",
        404,
        "errors/404.not-found.derived.json",
    )
    .await;
    let list = format!("{PROJECT}/protected_branches");
    // Page 1 points on with `Link`, page 2 only with `x-next-page`, page 3 ends the list.
    Mock::given(method("GET"))
        .and(path(list.clone()))
        .and(query_param("page", "1"))
        .and(query_param("per_page", "100"))
        .respond_with(
            reply(200, "list-protected-branches.200.page-1.derived.json").insert_header(
                "link",
                format!(
                    r#"<{}{list}?per_page=100&page=2>; rel="next", <{}{list}?per_page=100&page=3>; rel="last""#,
                    server.uri(),
                    server.uri()
                ),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(list.clone()))
        .and(query_param("page", "2"))
        .respond_with(
            reply(200, "list-protected-branches.200.page-2.derived.json")
                .insert_header("x-next-page", "3"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(list.clone()))
        .and(query_param("page", "3"))
        .respond_with(
            reply(200, "list-protected-branches.200.page-3.derived.json")
                .insert_header("x-next-page", ""),
        )
        .expect(1)
        .mount(&server)
        .await;
    on(
        &server,
        "/push_rule",
        200,
        "get-project-push-rule.200.never-configured.docs-example.json",
    )
    .await;
    on(
        &server,
        "/approvals",
        200,
        "get-project-approvals-config.200.docs-example.json",
    )
    .await;
    on(
        &server,
        "/approval_rules",
        200,
        "list-project-approval-rules.200.docs-example.json",
    )
    .await;

    let view = view_of(&server, &query(Some("release/1.0"), &[], None)).await;
    let p = protection(&view);
    assert!(p.protected.value);
    assert_eq!(
        p.protected.sources,
        [r#"protected branch "release/*" (wildcard)"#]
    );
    assert!(p.force_push_blocked.value);
    assert!(!p.linear_history.value);
    assert_eq!(
        p.linear_history.sources,
        ["project settings (merge_method: merge)"]
    );
    assert!(p.required_status_checks.value.is_empty());
    server.verify().await;
}

#[tokio::test]
async fn the_most_permissive_matching_entry_decides_force_push() {
    let server = MockServer::start().await;
    protection_endpoints(
        &server,
        "main",
        (200, "get-protected-branch.200.docs-example.json"),
        (
            200,
            "list-protected-branches.200.force-push-wildcard.derived.json",
        ),
        (
            200,
            "get-project-push-rule.200.never-configured.docs-example.json",
        ),
        (200, "get-project-approvals-config.200.docs-example.json"),
        (200, "list-project-approval-rules.200.docs-example.json"),
    )
    .await;
    let view = view_of(&server, &query(Some("main"), &[], None)).await;
    let p = protection(&view);
    assert!(p.protected.value);
    assert!(!p.force_push_blocked.value);
    assert_eq!(
        p.force_push_blocked.sources,
        [
            r#"protected branch "main" (allow_force_push: false)"#,
            r#"protected branch "m*" (wildcard) (allow_force_push: true)"#
        ]
    );
}

#[tokio::test]
async fn nothing_readable_makes_the_whole_protection_indeterminate() {
    let server = MockServer::start().await;
    protection_endpoints(
        &server,
        "main",
        (403, "errors/403.forbidden.derived.json"),
        (403, "errors/403.forbidden.derived.json"),
        (403, "errors/403.forbidden.derived.json"),
        (403, "errors/403.forbidden.derived.json"),
        (403, "errors/403.forbidden.derived.json"),
    )
    .await;
    let view = view_of(&server, &query(Some("main"), &[], None)).await;
    let why = view.protection.as_ref().unwrap().indeterminate().unwrap();
    assert_eq!(why.http_status, Some(403));
    assert!(why.grant.contains("Maintainer"), "{}", why.grant);
    assert!(why.reason.contains("/push_rule"), "{}", why.reason);

    // A project the token cannot see: nothing else is asked.
    let server = MockServer::start().await;
    on(
        &server,
        "",
        404,
        "errors/404.project-not-found.derived.json",
    )
    .await;
    let view = view_of(&server, &query(Some("main"), &[], None)).await;
    let why = view.protection.as_ref().unwrap().indeterminate().unwrap();
    assert_eq!(why.reason, "404 Project Not Found");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_next_page_at_another_origin_is_not_followed_and_the_list_is_flagged_incomplete() {
    let server = MockServer::start().await;
    // Mounted first, so it wins over the plain list mock below.
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/protected_branches")))
        .and(query_param("page", "1"))
        .respond_with(
            reply(200, "list-protected-branches.200.page-1.derived.json").insert_header(
                "link",
                r#"<http://gitlab.internal:8080/api/v4/projects/3/protected_branches?page=2&per_page=100>; rel="next""#,
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    protection_endpoints(
        &server,
        "main",
        (200, "get-protected-branch.200.docs-example.json"),
        (200, "list-protected-branches.200.page-1.derived.json"),
        (
            200,
            "get-project-push-rule.200.never-configured.docs-example.json",
        ),
        (200, "get-project-approvals-config.200.docs-example.json"),
        (200, "list-project-approval-rules.200.docs-example.json"),
    )
    .await;
    let view = view_of(&server, &query(Some("main"), &[], None)).await;
    let p = protection(&view);
    assert!(p.protected.value);
    let incomplete = unreadable_for(p, "/protected_branches");
    assert_eq!(incomplete.http_status, None);
    assert!(
        incomplete.reason.contains("not read to the end"),
        "{}",
        incomplete.reason
    );
    server.verify().await;
}
