//! The GitLab client against a local HTTP server replaying GitLab's documented bodies
//! (fixtures/forge/gitlab): signatures, protection merged from every source, reviews, retries,
//! pagination and the errors that stop the run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use proofline_ci::Secret;
use proofline_forge::gitlab::{GitLabAuth, GitLabClient};
use proofline_forge::{
    BranchProtection, ForgeError, ForgeQuery, ForgeSignature, ForgeView, Indeterminate, Observed,
    RetryPolicy, Review,
};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REPOSITORY: &str = "diaspora/diaspora-project-site";
const PROJECT: &str = "/api/v4/projects/diaspora%2Fdiaspora-project-site";
const SHA: &str = "6104942438c14ec7bd21c6cd5bd995272b3faff6";

fn fixture(name: &str) -> String {
    let file = format!(
        "{}/../../fixtures/forge/gitlab/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn reply(status: u16, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(fixture(name), "application/json")
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        max_wait: Duration::from_secs(5),
        base_backoff: Duration::from_millis(10),
    }
}

fn client(server: &MockServer, auth: GitLabAuth) -> GitLabClient {
    GitLabClient::new(&format!("{}/api/v4", server.uri()), auth, policy()).unwrap()
}

fn token() -> GitLabAuth {
    GitLabAuth::PrivateToken(Secret::new("glpat-test-token"))
}

/// `GET {PROJECT}{sub}` answers `status` with the fixture `name`.
async fn on(server: &MockServer, sub: &str, status: u16, name: &str) {
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}{sub}")))
        .respond_with(reply(status, name))
        .mount(server)
        .await;
}

fn query(branch: Option<&str>, commits: &[&str], change_request: Option<u64>) -> ForgeQuery {
    ForgeQuery {
        repository: REPOSITORY.to_owned(),
        branch: branch.map(str::to_owned),
        commits: commits.iter().map(|c| (*c).to_owned()).collect(),
        change_request,
    }
}

async fn view_of(server: &MockServer, query: &ForgeQuery) -> ForgeView {
    client(server, token()).view(query).await.unwrap()
}

fn known<T: std::fmt::Debug>(observed: &Observed<T>) -> &T {
    observed
        .value()
        .unwrap_or_else(|| panic!("expected a known fact, got {observed:?}"))
}

fn protection(view: &ForgeView) -> &BranchProtection {
    known(view.protection.as_ref().unwrap())
}

fn signature(view: &ForgeView, index: usize) -> &Observed<ForgeSignature> {
    &view.commits[index].signature
}

fn unreadable_for<'a>(p: &'a BranchProtection, suffix: &str) -> &'a Indeterminate {
    p.unreadable
        .iter()
        .find(|i| i.source.ends_with(suffix))
        .unwrap_or_else(|| panic!("no unreadable entry for {suffix}: {:#?}", p.unreadable))
}

/// Every protection endpoint with the given answers (status, fixture).
async fn protection_endpoints(
    server: &MockServer,
    branch: &str,
    exact: (u16, &str),
    list: (u16, &str),
    push_rule: (u16, &str),
    settings: (u16, &str),
    rules: (u16, &str),
) {
    on(server, "", 200, "get-project.200.ff-pipeline.derived.json").await;
    let encoded = branch.replace('/', "%2F");
    on(
        server,
        &format!("/protected_branches/{encoded}"),
        exact.0,
        exact.1,
    )
    .await;
    on(server, "/protected_branches", list.0, list.1).await;
    on(server, "/push_rule", push_rule.0, push_rule.1).await;
    on(server, "/approvals", settings.0, settings.1).await;
    on(server, "/approval_rules", rules.0, rules.1).await;
}

#[tokio::test]
async fn signatures_gpg_ssh_x509_and_unsigned_are_told_apart_from_a_missing_project() {
    let server = MockServer::start().await;
    let commits = ["a1", "b2", "c3", "d4", "e5"];
    let answers = [
        (200, "get-commit-signature.200.gpg.docs-example.json"),
        (200, "get-commit-signature.200.ssh-other-user.derived.json"),
        (200, "get-commit-signature.200.x509-verified.derived.json"),
        (404, "get-commit-signature.404.unsigned.docs-example.json"),
        (404, "errors/404.project-not-found.derived.json"),
    ];
    for (sha, (status, name)) in commits.iter().zip(answers) {
        on(
            &server,
            &format!("/repository/commits/{sha}/signature"),
            status,
            name,
        )
        .await;
    }
    let view = view_of(&server, &query(None, &commits, None)).await;

    let gpg = known(signature(&view, 0));
    assert!(gpg.verified);
    assert_eq!(gpg.reason, "verified");
    assert_eq!(gpg.kind.as_deref(), Some("gpg"));
    assert_eq!(
        gpg.signer.as_deref(),
        Some("John Doe <johndoe@example.com>")
    );
    assert_eq!(gpg.key.as_deref(), Some("8254AAB3FBD54AC9"));

    let ssh = known(signature(&view, 1));
    assert!(!ssh.verified);
    assert_eq!(ssh.reason, "other_user");
    assert_eq!(ssh.kind.as_deref(), Some("ssh"));
    assert_eq!(ssh.signer.as_deref(), Some("Key"));

    let x509 = known(signature(&view, 2));
    assert!(x509.verified);
    assert_eq!(x509.kind.as_deref(), Some("x509"));
    assert_eq!(
        x509.signer.as_deref(),
        Some("CN=gitlab@example.org,OU=Example,O=World <gitlab@example.org>")
    );
    // Wider than 64 bits: read exactly, not rounded through f64.
    assert_eq!(
        x509.key.as_deref(),
        Some("278969561018901340486471282831158785578")
    );

    let unsigned = known(signature(&view, 3));
    assert!(!unsigned.verified);
    assert_eq!(unsigned.reason, "unsigned");
    assert_eq!(unsigned.kind, None);

    let missing = signature(&view, 4).indeterminate().unwrap();
    assert_eq!(missing.http_status, Some(404));
    assert_eq!(missing.reason, "404 Project Not Found");
    assert!(missing.grant.contains("Reporter"), "{}", missing.grant);
    assert!(missing.source.ends_with("/repository/commits/e5/signature"));
}

#[tokio::test]
async fn full_view_of_a_hardened_project() {
    let server = MockServer::start().await;
    protection_endpoints(
        &server,
        "main",
        (200, "get-protected-branch.200.hardened.derived.json"),
        (200, "list-protected-branches.200.docs-example.json"),
        (
            200,
            "get-project-push-rule.200.reject-unsigned.derived.json",
        ),
        (200, "get-project-approvals-config.200.docs-example.json"),
        (
            200,
            "list-project-approval-rules.200.with-code-owner-rule.derived.json",
        ),
    )
    .await;
    on(
        &server,
        &format!("/repository/commits/{SHA}/signature"),
        200,
        "get-commit-signature.200.gpg.docs-example.json",
    )
    .await;
    on(
        &server,
        "/merge_requests/5",
        200,
        "get-merge-request.200.derived.json",
    )
    .await;
    on(
        &server,
        "/merge_requests/5/approvals",
        200,
        "get-merge-request-approvals.200.docs-example.json",
    )
    .await;
    on(
        &server,
        "/merge_requests/5/approval_state",
        200,
        "get-merge-request-approval-state.200.code-owner-pending.derived.json",
    )
    .await;

    on(
        &server,
        "/merge_requests/5/reviewers",
        200,
        "get-merge-request-reviewers.200.derived.json",
    )
    .await;

    let view = view_of(&server, &query(Some("main"), &[SHA], Some(5))).await;
    let p = protection(&view);
    assert!(p.protected.value && p.force_push_blocked.value && p.deletion_blocked.value);
    assert!(p.admins_included.value, "push: No one binds everyone");
    assert!(p.signed_commits_required.value);
    assert!(p.code_owner_review_required.value);
    assert!(p.linear_history.value);
    assert_eq!(p.required_status_checks.value, ["pipeline"]);
    // max(approvals_before_merge 2, regular rule "security" 3); the code_owner and
    // report_approver rules are conditional and do not count.
    assert_eq!(p.required_approvals.value, 3);
    assert!(p.unreadable.is_empty(), "{:#?}", p.unreadable);

    insta::assert_json_snapshot!("full_view", view, {
        ".apiUrl" => "[api-url]",
    });
}

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
async fn merge_request_approvals_and_pending_code_owner_rule() {
    let server = MockServer::start().await;
    on(
        &server,
        "/merge_requests/5",
        200,
        "get-merge-request.200.derived.json",
    )
    .await;
    on(
        &server,
        "/merge_requests/5/approvals",
        200,
        "get-merge-request-approvals.200.docs-example.json",
    )
    .await;
    on(
        &server,
        "/merge_requests/5/approval_state",
        200,
        "get-merge-request-approval-state.200.code-owner-pending.derived.json",
    )
    .await;
    on(
        &server,
        "/merge_requests/5/reviewers",
        200,
        "get-merge-request-reviewers.200.derived.json",
    )
    .await;
    let view = view_of(&server, &query(None, &[], Some(5))).await;
    let review: &Review = known(view.review.as_ref().unwrap());
    assert_eq!(review.number, 5);
    assert_eq!(review.author.as_deref(), Some("mchen"));
    assert_eq!(
        review.head_sha.as_deref(),
        Some("8888888888888888888888888888888888888888")
    );
    assert_eq!(review.approvals.len(), 1);
    assert_eq!(review.approvals[0].user, "root");
    assert!(review.approvals[0].on_head && review.approvals[0].commit.is_none());
    assert_eq!(review.code_owner_approved, Some(false));
    assert_eq!(review.changes_requested, ["user2"]);
}

#[tokio::test]
async fn approval_state_missing_on_free_leaves_code_owner_approval_unknown() {
    let server = MockServer::start().await;
    on(
        &server,
        "/merge_requests/5",
        200,
        "get-merge-request.200.derived.json",
    )
    .await;
    on(
        &server,
        "/merge_requests/5/approvals",
        200,
        "get-merge-request-approvals.200.docs-example.json",
    )
    .await;
    on(
        &server,
        "/merge_requests/5/approval_state",
        404,
        "errors/404.not-found.derived.json",
    )
    .await;
    let view = view_of(&server, &query(None, &[], Some(5))).await;
    let review = known(view.review.as_ref().unwrap());
    assert_eq!(review.code_owner_approved, None);
    assert_eq!(review.approvals.len(), 1);
    // No reviewers endpoint answered (GitLab before 15.3): nobody reported as requesting changes.
    assert!(review.changes_requested.is_empty());

    // The merge request itself unreadable: the review is indeterminate.
    let server = MockServer::start().await;
    on(
        &server,
        "/merge_requests/5",
        403,
        "errors/403.forbidden.derived.json",
    )
    .await;
    let view = view_of(&server, &query(None, &[], Some(5))).await;
    let why = view.review.as_ref().unwrap().indeterminate().unwrap();
    assert_eq!(why.http_status, Some(403));
    assert!(why.grant.contains("Reporter"));
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let server = MockServer::start().await;
    let signature = format!("{PROJECT}/repository/commits/{SHA}/signature");
    Mock::given(method("GET"))
        .and(path(signature.clone()))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_string(fixture("errors/429.rate-limited.derived.txt")),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(signature))
        .respond_with(reply(200, "get-commit-signature.200.gpg.docs-example.json"))
        .expect(1)
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let view = view_of(&server, &query(None, &[SHA], None)).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(known(signature_of(&view)).verified);
    server.verify().await;
}

fn signature_of(view: &ForgeView) -> &Observed<ForgeSignature> {
    signature(view, 0)
}

#[tokio::test]
async fn a_500_then_success_is_retried() {
    let server = MockServer::start().await;
    let signature = format!("{PROJECT}/repository/commits/{SHA}/signature");
    Mock::given(method("GET"))
        .and(path(signature.clone()))
        .respond_with(reply(500, "errors/500.internal-server-error.derived.json"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(signature))
        .respond_with(reply(200, "get-commit-signature.200.gpg.docs-example.json"))
        .mount(&server)
        .await;
    let view = view_of(&server, &query(None, &[SHA], None)).await;
    assert!(known(signature_of(&view)).verified);
}

#[tokio::test]
async fn a_persistent_500_leaves_the_fact_indeterminate_with_retry_later() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{PROJECT}/repository/commits/{SHA}/signature"
        )))
        .respond_with(reply(500, "errors/500.internal-server-error.derived.json"))
        .expect(3)
        .mount(&server)
        .await;
    let view = view_of(&server, &query(None, &[SHA], None)).await;
    let why = signature_of(&view).indeterminate().unwrap();
    assert_eq!(why.http_status, Some(500));
    assert!(
        why.reason.contains("HTTP 500 after 3 attempts"),
        "{}",
        why.reason
    );
    assert!(why.reason.contains("retry later"));
    server.verify().await;
}

#[tokio::test]
async fn a_401_is_bad_credentials_naming_the_token_variable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(reply(401, "errors/401.unauthorized.derived.json"))
        .mount(&server)
        .await;
    let error = client(&server, token())
        .view(&query(None, &[SHA], None))
        .await
        .unwrap_err();
    match &error {
        ForgeError::BadCredentials {
            variable, message, ..
        } => {
            assert_eq!(variable, "GITLAB_TOKEN");
            assert_eq!(message, "401 Unauthorized");
        }
        other => panic!("{other:?}"),
    }
    assert!(!error.to_string().contains("glpat-test-token"));

    let job = GitLabAuth::JobToken(Secret::new("job-secret"));
    let error = client(&server, job)
        .view(&query(None, &[SHA], None))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ForgeError::BadCredentials { variable, message, .. }
            if variable == "CI_JOB_TOKEN" && message.contains("GITLAB_TOKEN")),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_job_token_and_the_private_token_travel_in_their_own_headers() {
    let server = MockServer::start().await;
    let signature = format!("{PROJECT}/repository/commits/{SHA}/signature");
    Mock::given(method("GET"))
        .and(path(signature.clone()))
        .and(header("JOB-TOKEN", "job-secret"))
        .respond_with(reply(200, "get-commit-signature.200.gpg.docs-example.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(signature))
        .and(header("PRIVATE-TOKEN", "glpat-test-token"))
        .respond_with(reply(
            200,
            "get-commit-signature.200.x509-verified.derived.json",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let job = client(&server, GitLabAuth::JobToken(Secret::new("job-secret")));
    assert!(!format!("{job:?}").contains("job-secret"));
    let view = job.view(&query(None, &[SHA], None)).await.unwrap();
    assert_eq!(known(signature_of(&view)).kind.as_deref(), Some("gpg"));

    let view = client(&server, token())
        .view(&query(None, &[SHA], None))
        .await
        .unwrap();
    assert_eq!(known(signature_of(&view)).kind.as_deref(), Some("x509"));

    for request in server.received_requests().await.unwrap() {
        let job = request.headers.contains_key("job-token");
        let private = request.headers.contains_key("private-token");
        assert!(job != private, "exactly one token header per request");
    }
    server.verify().await;
}

#[tokio::test]
async fn a_refused_connection_is_unreachable_and_a_broken_body_unreadable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let closed = GitLabClient::new(
        &format!("http://127.0.0.1:{port}/api/v4"),
        token(),
        policy(),
    )
    .unwrap();
    let error = closed.view(&query(None, &[SHA], None)).await.unwrap_err();
    assert!(
        matches!(&error, ForgeError::Unreachable { host, .. } if host == &format!("127.0.0.1:{port}")),
        "{error:?}"
    );

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("{\"signature_type\": ", "application/json"),
        )
        .mount(&server)
        .await;
    let error = client(&server, token())
        .view(&query(None, &[SHA], None))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ForgeError::UnreadableResponse { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn repositories_that_are_neither_paths_nor_ids_are_refused() {
    let server = MockServer::start().await;
    let mut q = query(None, &[SHA], None);
    q.repository = "just-a-name".to_owned();
    let error = client(&server, token()).view(&q).await.unwrap_err();
    assert!(
        matches!(error, ForgeError::InvalidRepository { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_rate_limit_resetting_too_late_is_reported_not_slept_through() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{PROJECT}/repository/commits/{SHA}/signature"
        )))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "3600")
                .set_body_string(fixture("errors/429.rate-limited.derived.txt")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let view = view_of(&server, &query(None, &[SHA], None)).await;
    let why = signature_of(&view).indeterminate().unwrap();
    assert_eq!(why.http_status, Some(429));
    assert!(why.reason.contains("resets in 3600 s"), "{}", why.reason);
    assert!(why.reason.contains("retry later"));
    server.verify().await;
}

#[tokio::test]
async fn a_numeric_project_id_is_used_as_is() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/api/v4/projects/3/repository/commits/{SHA}/signature"
        )))
        .respond_with(reply(200, "get-commit-signature.200.gpg.docs-example.json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut q = query(None, &[SHA], None);
    q.repository = "3".to_owned();
    let view = client(&server, token()).view(&q).await.unwrap();
    assert_eq!(view.repository, "3");
    assert!(known(signature_of(&view)).verified);
    server.verify().await;
}
