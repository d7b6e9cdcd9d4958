//! The GitHub client against a local HTTP server replaying GitHub's documented and recorded answers
//! (`fixtures/forge/github`, see its SOURCE.md): pagination, classic protection and rulesets merged,
//! the 404/403 cases that must stay indeterminate, rate limits, server errors, bad tokens, commit
//! verification and review state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use proofline_ci::Secret;
use proofline_forge::github::GitHubClient;
use proofline_forge::{
    BranchProtection, ForgeError, ForgeQuery, ForgeView, Indeterminate, Observed, RetryPolicy,
    Review,
};
use serde_json::Value;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REPO: &str = "octocat/Hello-World";
const TOKEN: &str = "ghp_fixture0123456789";
/// The head of the fixture pull request (`get-pull-request.200.derived.json`).
const HEAD: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const CLASSIC: &str = "/repos/octocat/Hello-World/branches/main/protection";
const RULES: &str = "/repos/octocat/Hello-World/rules/branches/main";
const RULESET_42: &str = "/repos/octocat/Hello-World/rulesets/42";
const RULESET_73: &str = "/repos/octocat/Hello-World/rulesets/73";
const CODEOWNERS: &str = "/repos/octocat/Hello-World/codeowners/errors";
const PULL: &str = "/repos/octocat/Hello-World/pulls/1347";
const REVIEWS: &str = "/repos/octocat/Hello-World/pulls/1347/reviews";

fn fixture(name: &str) -> String {
    let file = format!(
        "{}/../../fixtures/forge/github/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

/// A JSON body with a status.
fn reply(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/json")
}

fn reply_fixture(status: u16, name: &str) -> ResponseTemplate {
    reply(status, &fixture_json(name))
}

/// An `*.exchange.*` fixture as recorded: status, headers (without the ones the server sets
/// itself) and body; `overrides` replace header values (e.g. a reset time relative to now).
fn replay(name: &str, overrides: &[(&str, String)]) -> ResponseTemplate {
    let exchange = fixture_json(name);
    let status = u16::try_from(exchange["status"].as_u64().unwrap()).unwrap();
    let mut template = reply(status, &exchange["body"]);
    for pair in exchange["headers"].as_array().unwrap() {
        let name = pair[0].as_str().unwrap();
        if ["content-length", "connection", "content-type"]
            .iter()
            .any(|skip| name.eq_ignore_ascii_case(skip))
        {
            continue;
        }
        let value = overrides
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or_else(|| pair[1].as_str().unwrap().to_owned(), |(_, v)| v.clone());
        template = template.insert_header(name, value.as_str());
    }
    template
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        max_wait: Duration::from_secs(5),
        base_backoff: Duration::from_millis(10),
    }
}

fn client(server: &MockServer) -> GitHubClient {
    GitHubClient::new(&server.uri(), Some(Secret::new(TOKEN)), policy()).unwrap()
}

async fn mount(server: &MockServer, at: &str, template: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(template)
        .mount(server)
        .await;
}

/// `template` for the first request to `at` only, `then` afterwards.
async fn mount_once_then(
    server: &MockServer,
    at: &str,
    template: ResponseTemplate,
    then: ResponseTemplate,
) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(template)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(then)
        .with_priority(2)
        .mount(server)
        .await;
}

async fn requests_to(server: &MockServer, at: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == at)
        .count()
}

fn branch_query() -> ForgeQuery {
    ForgeQuery {
        repository: REPO.to_owned(),
        branch: Some("main".to_owned()),
        ..ForgeQuery::default()
    }
}

fn commit_query(sha: &str) -> ForgeQuery {
    ForgeQuery {
        repository: REPO.to_owned(),
        commits: vec![sha.to_owned()],
        ..ForgeQuery::default()
    }
}

async fn view(server: &MockServer, query: &ForgeQuery) -> ForgeView {
    client(server).view(query).await.unwrap()
}

fn known_protection(view: &ForgeView) -> &BranchProtection {
    match view.protection.as_ref().expect("a branch was asked for") {
        Observed::Known { value, .. } => value,
        Observed::Indeterminate(i) => panic!("protection indeterminate: {i:?}"),
    }
}

fn known_review(view: &ForgeView) -> &Review {
    match view.review.as_ref().expect("a pull request was asked for") {
        Observed::Known { value, .. } => value,
        Observed::Indeterminate(i) => panic!("review indeterminate: {i:?}"),
    }
}

fn commit_indeterminate(view: &ForgeView) -> &Indeterminate {
    view.commits[0]
        .signature
        .indeterminate()
        .expect("the signature should be indeterminate")
}

/// The hardened rules (ruleset 42 of the repository, an org rule of ruleset 73) and both
/// rulesets' details: 42 has a bypass team, 73 has no bypass actors.
async fn mount_rulesets(server: &MockServer) {
    mount(
        server,
        RULES,
        reply_fixture(200, "get-branch-rules.200.hardened.derived.json"),
    )
    .await;
    mount(
        server,
        RULESET_42,
        reply_fixture(200, "get-ruleset.200.hardened.derived.json"),
    )
    .await;
    mount(
        server,
        RULESET_73,
        reply_fixture(200, "get-ruleset.200.org-no-bypass.derived.json"),
    )
    .await;
}

async fn mount_no_rules(server: &MockServer) {
    mount(
        server,
        RULES,
        reply_fixture(200, "get-branch-rules.200.empty.derived.json"),
    )
    .await;
}

const R42: &str = "ruleset 42 (monalisa/my-repo)";
const R73: &str = "ruleset 73 (my-org)";

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

// --- retries ----------------------------------------------------------------------------------

const GPG: &str = "a11a953e738cbda93335ede83f012914d53dc4f7";
const GPG_PATH: &str =
    "/repos/octocat/Hello-World/commits/a11a953e738cbda93335ede83f012914d53dc4f7";

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn primary_rate_limit_waits_for_the_reset_then_succeeds() {
    let server = MockServer::start().await;
    let reset = (now_unix() + 1).to_string();
    mount_once_then(
        &server,
        GPG_PATH,
        replay(
            "errors/403.rate-limit.authenticated.exchange.derived.json",
            &[("X-RateLimit-Reset", reset)],
        ),
        reply_fixture(200, "get-commit.200.verified-gpg.recorded.json"),
    )
    .await;

    let view = view(&server, &commit_query(GPG)).await;
    let signature = view.commits[0].signature.value().unwrap();
    assert!(signature.verified);
    assert_eq!(requests_to(&server, GPG_PATH).await, 2);
}

#[tokio::test]
async fn secondary_rate_limit_honours_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    mount_once_then(
        &server,
        GPG_PATH,
        replay(
            "errors/403.secondary-rate-limit.exchange.derived.json",
            &[("Retry-After", "1".to_owned())],
        ),
        reply_fixture(200, "get-commit.200.verified-gpg.recorded.json"),
    )
    .await;

    let view = view(&server, &commit_query(GPG)).await;
    assert!(view.commits[0].signature.value().unwrap().verified);
    assert_eq!(requests_to(&server, GPG_PATH).await, 2);
}

#[tokio::test]
async fn rate_limit_beyond_max_wait_is_indeterminate_retry_later() {
    let server = MockServer::start().await;
    // Retry-After: 60 as recorded, longer than the 5 s the policy waits.
    mount(
        &server,
        GPG_PATH,
        replay("errors/403.secondary-rate-limit.exchange.derived.json", &[]),
    )
    .await;

    let view = view(&server, &commit_query(GPG)).await;
    let why = commit_indeterminate(&view);
    assert_eq!(why.http_status, Some(403));
    assert!(
        why.reason.contains("secondary rate limit"),
        "{}",
        why.reason
    );
    assert!(why.reason.ends_with("retry later"), "{}", why.reason);
    assert!(why.grant.starts_with("nothing to grant"), "{}", why.grant);
    assert_eq!(requests_to(&server, GPG_PATH).await, 1);
}

#[tokio::test]
async fn server_error_then_success() {
    let server = MockServer::start().await;
    mount_once_then(
        &server,
        GPG_PATH,
        ResponseTemplate::new(500),
        reply_fixture(200, "get-commit.200.verified-gpg.recorded.json"),
    )
    .await;

    let view = view(&server, &commit_query(GPG)).await;
    assert!(view.commits[0].signature.value().unwrap().verified);
    assert_eq!(requests_to(&server, GPG_PATH).await, 2);
}

#[tokio::test]
async fn persistent_server_error_is_indeterminate_after_bounded_attempts() {
    let server = MockServer::start().await;
    mount(&server, GPG_PATH, ResponseTemplate::new(500)).await;

    let view = view(&server, &commit_query(GPG)).await;
    let why = commit_indeterminate(&view);
    assert_eq!(why.http_status, Some(500));
    assert!(
        why.reason.contains("HTTP 500 after 3 attempts"),
        "{}",
        why.reason
    );
    assert!(why.reason.ends_with("retry later"), "{}", why.reason);
    assert_eq!(requests_to(&server, GPG_PATH).await, 3);
}

#[tokio::test]
async fn bad_credentials_stop_the_run_and_name_github_token() {
    let server = MockServer::start().await;
    mount(
        &server,
        GPG_PATH,
        replay("errors/401.bad-credentials.exchange.derived.json", &[]),
    )
    .await;

    let error = client(&server).view(&commit_query(GPG)).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(&error, ForgeError::BadCredentials { variable, message, .. }
            if variable == "GITHUB_TOKEN" && message == "Bad credentials"),
        "{error:?}"
    );
    assert!(!text.contains(TOKEN), "{text}");
    // 401 is not retried.
    assert_eq!(requests_to(&server, GPG_PATH).await, 1);
}

#[tokio::test]
async fn unreachable_host_is_an_error_after_retries() {
    // Port 1 on loopback: nothing listens there, the connection is refused.
    let client = GitHubClient::new("http://127.0.0.1:1", None, policy()).unwrap();
    let error = client.view(&commit_query(GPG)).await.unwrap_err();
    assert!(
        matches!(&error, ForgeError::Unreachable { host, reason, .. }
            if host == "127.0.0.1:1" && reason.contains("after 3 attempts")),
        "{error:?}"
    );
}

#[tokio::test]
async fn malformed_json_is_an_unreadable_response() {
    let server = MockServer::start().await;
    mount(
        &server,
        GPG_PATH,
        ResponseTemplate::new(200).set_body_raw("{\"sha\": ", "application/json"),
    )
    .await;

    let error = client(&server).view(&commit_query(GPG)).await.unwrap_err();
    assert!(
        matches!(&error, ForgeError::UnreadableResponse { request, .. }
            if *request == format!("GET {GPG_PATH}")),
        "{error:?}"
    );
}

#[tokio::test]
async fn repository_must_be_owner_slash_repo() {
    let server = MockServer::start().await;
    let error = client(&server)
        .view(&ForgeQuery {
            repository: "Hello-World".to_owned(),
            ..ForgeQuery::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, ForgeError::InvalidRepository { .. }),
        "{error:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A GitHub Enterprise Server API base keeps its `/api/v3` path, and the token goes with every
/// request as a bearer token.
#[tokio::test]
async fn enterprise_server_base_path_is_kept_and_the_token_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v3{GPG_PATH}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(reply_fixture(
            200,
            "get-commit.200.verified-gpg.recorded.json",
        ))
        .mount(&server)
        .await;

    let client = GitHubClient::new(
        &format!("{}/api/v3/", server.uri()),
        Some(Secret::new(TOKEN)),
        policy(),
    )
    .unwrap();
    assert_eq!(client.api_url(), format!("{}/api/v3", server.uri()));
    let view = client.view(&commit_query(GPG)).await.unwrap();
    assert!(view.commits[0].signature.value().unwrap().verified);
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

fn review_query() -> ForgeQuery {
    ForgeQuery {
        repository: REPO.to_owned(),
        change_request: Some(1347),
        ..ForgeQuery::default()
    }
}

#[tokio::test]
async fn reviews_are_read_across_three_pages() {
    let server = MockServer::start().await;
    mount(
        &server,
        PULL,
        reply_fixture(200, "get-pull-request.200.derived.json"),
    )
    .await;
    let reviews = fixture_json("list-pull-request-reviews.200.mixed.derived.json");
    let reviews = reviews.as_array().unwrap();
    assert_eq!(reviews.len(), 3);
    let link = |page: usize| {
        format!(
            "<{}{REVIEWS}?per_page=100&page={page}>; rel=\"next\", <{}{REVIEWS}?per_page=100&page=3>; rel=\"last\"",
            server.uri(),
            server.uri()
        )
    };
    // Page 1 (no `page` parameter) links to 2, 2 to 3, 3 is the last.
    for (page, next) in [(2, Some(3)), (3, None)] {
        let mut template = reply(200, &Value::Array(vec![reviews[page - 1].clone()]));
        if let Some(next) = next {
            template = template.insert_header("link", link(next).as_str());
        }
        Mock::given(method("GET"))
            .and(path(REVIEWS))
            .and(query_param("page", page.to_string()))
            .respond_with(template)
            .with_priority(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(REVIEWS))
        .and(query_param("per_page", "100"))
        .respond_with(
            reply(200, &Value::Array(vec![reviews[0].clone()]))
                .insert_header("link", link(2).as_str()),
        )
        .with_priority(2)
        .mount(&server)
        .await;

    let view = view(&server, &review_query()).await;
    let review = known_review(&view);
    assert_eq!(requests_to(&server, REVIEWS).await, 3);
    assert_eq!(review.author.as_deref(), Some("octocat"));
    assert_eq!(review.head_sha.as_deref(), Some(HEAD));
    let approvals: Vec<_> = review
        .approvals
        .iter()
        .map(|a| (a.user.as_str(), a.on_head))
        .collect();
    // octocat approved an older commit (stale), other_user approved the head.
    assert_eq!(approvals, [("octocat", false), ("other_user", true)]);
    assert_eq!(review.changes_requested, ["hubot"]);
    assert_eq!(review.code_owner_approved, None);
}

/// A list that never ends (every page links to another) is read to the page cap and reported as
/// not read to the end, never judged on its first pages.
#[tokio::test]
async fn endless_pagination_stops_at_the_cap_and_is_indeterminate() {
    let server = MockServer::start().await;
    mount(
        &server,
        PULL,
        reply_fixture(200, "get-pull-request.200.derived.json"),
    )
    .await;
    let reviews = fixture_json("list-pull-request-reviews.200.mixed.derived.json");
    let next = format!(
        "<{}{REVIEWS}?per_page=100&page=2>; rel=\"next\"",
        server.uri()
    );
    mount(
        &server,
        REVIEWS,
        reply(200, &reviews).insert_header("link", next.as_str()),
    )
    .await;

    let view = view(&server, &review_query()).await;
    let why = view.review.as_ref().unwrap().indeterminate().unwrap();
    assert_eq!(why.source, format!("GET {REVIEWS}"));
    assert!(why.reason.contains("past 30 pages"), "{}", why.reason);
    assert!(why.grant.contains("3000 items"), "{}", why.grant);
    assert_eq!(requests_to(&server, REVIEWS).await, 30);
}

/// A `next` link to another host is refused: the token is never sent elsewhere.
#[tokio::test]
async fn next_link_outside_the_api_is_refused() {
    let server = MockServer::start().await;
    mount(
        &server,
        PULL,
        reply_fixture(200, "get-pull-request.200.derived.json"),
    )
    .await;
    mount(
        &server,
        REVIEWS,
        reply(200, &Value::Array(Vec::new())).insert_header(
            "link",
            "<https://elsewhere.example/steal?page=2>; rel=\"next\"",
        ),
    )
    .await;

    let error = client(&server).view(&review_query()).await.unwrap_err();
    assert!(
        matches!(&error, ForgeError::UnreadableResponse { reason, .. } if reason.contains("outside the API base")),
        "{error:?}"
    );
}

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
