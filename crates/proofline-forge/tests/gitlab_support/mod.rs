//! Shared by the GitLab test files: the fixture reader, a client for a local server, and the
//! mocks every protection test needs.
#![allow(dead_code)]

use std::time::Duration;

use proofline_ci::Secret;
use proofline_forge::gitlab::{GitLabAuth, GitLabClient};
use proofline_forge::{
    BranchProtection, ForgeQuery, ForgeSignature, ForgeView, Indeterminate, Observed, RetryPolicy,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const REPOSITORY: &str = "diaspora/diaspora-project-site";
pub const PROJECT: &str = "/api/v4/projects/diaspora%2Fdiaspora-project-site";
pub const SHA: &str = "6104942438c14ec7bd21c6cd5bd995272b3faff6";

pub fn fixture(name: &str) -> String {
    let file = format!(
        "{}/../../fixtures/forge/gitlab/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

pub fn reply(status: u16, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(fixture(name), "application/json")
}

pub fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        max_wait: Duration::from_secs(5),
        base_backoff: Duration::from_millis(10),
    }
}

pub fn client(server: &MockServer, auth: GitLabAuth) -> GitLabClient {
    GitLabClient::new(&format!("{}/api/v4", server.uri()), auth, policy()).unwrap()
}

pub fn token() -> GitLabAuth {
    GitLabAuth::PrivateToken(Secret::new("glpat-test-token"))
}

/// `GET {PROJECT}{sub}` answers `status` with the fixture `name`.
pub async fn on(server: &MockServer, sub: &str, status: u16, name: &str) {
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}{sub}")))
        .respond_with(reply(status, name))
        .mount(server)
        .await;
}

pub fn query(branch: Option<&str>, commits: &[&str], change_request: Option<u64>) -> ForgeQuery {
    ForgeQuery {
        repository: REPOSITORY.to_owned(),
        branch: branch.map(str::to_owned),
        commits: commits.iter().map(|c| (*c).to_owned()).collect(),
        change_request,
    }
}

pub async fn view_of(server: &MockServer, query: &ForgeQuery) -> ForgeView {
    client(server, token()).view(query).await.unwrap()
}

pub fn known<T: std::fmt::Debug>(observed: &Observed<T>) -> &T {
    observed
        .value()
        .unwrap_or_else(|| panic!("expected a known fact, got {observed:?}"))
}

pub fn protection(view: &ForgeView) -> &BranchProtection {
    known(view.protection.as_ref().unwrap())
}

pub fn signature(view: &ForgeView, index: usize) -> &Observed<ForgeSignature> {
    &view.commits[index].signature
}

pub fn unreadable_for<'a>(p: &'a BranchProtection, suffix: &str) -> &'a Indeterminate {
    p.unreadable
        .iter()
        .find(|i| i.source.ends_with(suffix))
        .unwrap_or_else(|| panic!("no unreadable entry for {suffix}: {:#?}", p.unreadable))
}

/// Every protection endpoint with the given answers (status, fixture).
pub async fn protection_endpoints(
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
