//! The GitLab client against a local HTTP server replaying GitLab's documented bodies
//! (fixtures/forge/gitlab): commit signatures, the full view, merge request reviews, retries and
//! the errors that stop the run. Protection cases are in `gitlab_protection.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gitlab_support;

use std::time::Duration;

use gitlab_support::*;
use proofline_ci::Secret;
use proofline_forge::gitlab::{GitLabAuth, GitLabClient};
use proofline_forge::{ForgeError, ForgeSignature, ForgeView, Observed, Review};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

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
        matches!(&error, ForgeError::Unreachable { host, reason, .. }
            if host == &format!("127.0.0.1:{port}") && reason.contains("after 3 attempts")),
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
