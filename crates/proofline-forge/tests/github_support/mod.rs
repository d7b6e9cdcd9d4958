//! Shared by the GitHub client tests: the fixtures (`fixtures/forge/github`), a wiremock server
//! replaying them, and the queries and accessors the tests use.

use std::time::Duration;

use proofline_ci::Secret;
use proofline_forge::github::GitHubClient;
use proofline_forge::{
    BranchProtection, ForgeQuery, ForgeView, Indeterminate, Observed, RetryPolicy, Review,
};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const REPO: &str = "octocat/Hello-World";
pub const TOKEN: &str = "ghp_fixture0123456789";
/// The head of the fixture pull request (`get-pull-request.200.derived.json`).
pub const HEAD: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
pub const CLASSIC: &str = "/repos/octocat/Hello-World/branches/main/protection";
pub const RULES: &str = "/repos/octocat/Hello-World/rules/branches/main";
pub const RULESET_42: &str = "/repos/octocat/Hello-World/rulesets/42";
pub const RULESET_73: &str = "/repos/octocat/Hello-World/rulesets/73";
pub const CODEOWNERS: &str = "/repos/octocat/Hello-World/codeowners/errors";
pub const PULL: &str = "/repos/octocat/Hello-World/pulls/1347";
pub const REVIEWS: &str = "/repos/octocat/Hello-World/pulls/1347/reviews";

pub fn fixture(name: &str) -> String {
    let file = format!(
        "{}/../../fixtures/forge/github/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

pub fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

/// A JSON body with a status.
pub fn reply(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/json")
}

pub fn reply_fixture(status: u16, name: &str) -> ResponseTemplate {
    reply(status, &fixture_json(name))
}

/// An `*.exchange.*` fixture as recorded: status, headers (without the ones the server sets
/// itself) and body; `overrides` replace header values (e.g. a reset time relative to now).
pub fn replay(name: &str, overrides: &[(&str, String)]) -> ResponseTemplate {
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

pub fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        max_wait: Duration::from_secs(5),
        base_backoff: Duration::from_millis(10),
    }
}

pub fn client(server: &MockServer) -> GitHubClient {
    GitHubClient::new(&server.uri(), Some(Secret::new(TOKEN)), policy()).unwrap()
}

pub async fn mount(server: &MockServer, at: &str, template: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(template)
        .mount(server)
        .await;
}

/// `template` for the first request to `at` only, `then` afterwards.
pub async fn mount_once_then(
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

pub async fn requests_to(server: &MockServer, at: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == at)
        .count()
}

pub fn branch_query() -> ForgeQuery {
    ForgeQuery {
        repository: REPO.to_owned(),
        branch: Some("main".to_owned()),
        ..ForgeQuery::default()
    }
}

pub fn commit_query(sha: &str) -> ForgeQuery {
    ForgeQuery {
        repository: REPO.to_owned(),
        commits: vec![sha.to_owned()],
        ..ForgeQuery::default()
    }
}

pub async fn view(server: &MockServer, query: &ForgeQuery) -> ForgeView {
    client(server).view(query).await.unwrap()
}

pub fn known_protection(view: &ForgeView) -> &BranchProtection {
    match view.protection.as_ref().expect("a branch was asked for") {
        Observed::Known { value, .. } => value,
        Observed::Indeterminate(i) => panic!("protection indeterminate: {i:?}"),
    }
}

pub fn known_review(view: &ForgeView) -> &Review {
    match view.review.as_ref().expect("a pull request was asked for") {
        Observed::Known { value, .. } => value,
        Observed::Indeterminate(i) => panic!("review indeterminate: {i:?}"),
    }
}

pub fn commit_indeterminate(view: &ForgeView) -> &Indeterminate {
    view.commits[0]
        .signature
        .indeterminate()
        .expect("the signature should be indeterminate")
}

/// The hardened rules (ruleset 42 of the repository, an org rule of ruleset 73) and both
/// rulesets' details: 42 has a bypass team, 73 has no bypass actors.
pub async fn mount_rulesets(server: &MockServer) {
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

pub async fn mount_no_rules(server: &MockServer) {
    mount(
        server,
        RULES,
        reply_fixture(200, "get-branch-rules.200.empty.derived.json"),
    )
    .await;
}

pub const R42: &str = "ruleset 42 (monalisa/my-repo)";
pub const R73: &str = "ruleset 73 (my-org)";

pub const GPG: &str = "a11a953e738cbda93335ede83f012914d53dc4f7";
pub const GPG_PATH: &str =
    "/repos/octocat/Hello-World/commits/a11a953e738cbda93335ede83f012914d53dc4f7";

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn review_query() -> ForgeQuery {
    ForgeQuery {
        repository: REPO.to_owned(),
        change_request: Some(1347),
        ..ForgeQuery::default()
    }
}
