//! How the GitHub client talks to GitHub, against a local server: rate limits and server errors
//! retried within bounds, 401 and unreachable hosts as errors, unreadable JSON, Link pagination
//! (three pages, the page cap, links leaving the API) and a GitHub Enterprise Server base path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod github_support;

use github_support::*;
use proofline_ci::Secret;
use proofline_forge::github::GitHubClient;
use proofline_forge::{ForgeError, ForgeQuery};
use serde_json::Value;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

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
