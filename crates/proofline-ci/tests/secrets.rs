//! Tokens are read only as secrets: never in Debug, Display, the context dump or its JSON.
#![allow(clippy::unwrap_used)]

mod common;

use common::{github_pull_request_env, github_push_env, gitlab_mr_env};
use proofline_ci::{
    Ci, CiContext, CiOptions, Forge, ForgeTokenKind, MapEnv, Secret, TOKEN_VARIABLES, Tokens,
};

const VALUES: [&str; 6] = [
    "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
    "glpat-xXxXxXxXxXxXxXxXxXxX",
    "job-token-value-0123456789",
    "id-token-request-abcdef",
    "actions-runtime-token-zyx",
    "eyJhbGciOiJSUzI1NiJ9.sigstore-id-token.sig",
];

fn with_tokens(mut env: MapEnv) -> MapEnv {
    for (name, value) in TOKEN_VARIABLES.iter().zip(VALUES) {
        env.set(*name, value);
    }
    env.set(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "https://pipelines.example/idtoken?api-version=2.0",
    );
    env
}

fn assert_no_token(text: &str) {
    for value in VALUES {
        assert!(!text.contains(value), "token {value} leaked into: {text}");
    }
}

#[test]
fn secret_prints_stars_and_exposes_on_request() {
    let s = Secret::new("hunter2");
    assert_eq!(format!("{s}"), "***");
    assert_eq!(format!("{s:?}"), "Secret(***)");
    assert_eq!(format!("{s:#?}"), "Secret(***)");
    assert_eq!(format!("{:?}", Some(&s)), "Some(Secret(***))");
    assert_eq!(s.expose(), "hunter2");
}

#[test]
fn tokens_never_appear_in_debug_display_or_context() {
    for env in [
        with_tokens(github_pull_request_env(
            "event.pull_request.synchronize.payload.json",
        )),
        with_tokens(gitlab_mr_env()),
        with_tokens(MapEnv::new()),
    ] {
        let ci = Ci::from_env(&env, CiOptions::default()).unwrap();
        assert_no_token(&format!("{ci:?}"));
        assert_no_token(&format!("{ci:#?}"));
        assert_no_token(&format!("{:#?}", ci.tokens()));
        assert_no_token(&format!("{:#?}", ci.context()));
        assert_no_token(&serde_json::to_string_pretty(ci.context()).unwrap());
        assert_no_token(&format!("{env:?}"));
        assert_no_token(&format!("{:?}", ci.token_for_forge()));
        assert_no_token(&format!("{:?}", ci.tokens().actions_id_token_request()));
        // The dump says which tokens exist, without values.
        assert!(format!("{:?}", ci.tokens()).contains("GITHUB_TOKEN"));
    }
}

#[test]
fn token_for_forge_picks_the_platform_token() {
    let gh = Tokens::from_env(
        &with_tokens(MapEnv::new()),
        proofline_ci::Platform::GithubActions,
    );
    assert_eq!(gh.token_for_forge().unwrap().expose(), VALUES[0]);
    let gl = Tokens::from_env(
        &with_tokens(MapEnv::new()),
        proofline_ci::Platform::GitlabCi,
    );
    assert_eq!(gl.token_for_forge().unwrap().expose(), VALUES[1]);
    assert_eq!(
        gl.forge_token(Forge::Gitlab).unwrap().kind,
        ForgeTokenKind::GitlabToken
    );

    // Without GITLAB_TOKEN, GitLab falls back to the job token (sent as JOB-TOKEN).
    let env = gitlab_mr_env();
    let ci = Ci::from_env(&env, CiOptions::default()).unwrap();
    let token = ci.tokens().forge_token(Forge::Gitlab).unwrap();
    assert_eq!(
        (token.kind, token.secret.expose()),
        (ForgeTokenKind::CiJobToken, "[MASKED]")
    );
    assert_eq!(ci.token_for_forge().unwrap().expose(), "[MASKED]");

    // Locally there is no platform forge, but an explicit forge still finds its token.
    let local = Tokens::from_env(&with_tokens(MapEnv::new()), proofline_ci::Platform::Local);
    assert!(local.token_for_forge().is_none());
    assert_eq!(
        local.forge_token(Forge::Github).unwrap().secret.expose(),
        VALUES[0]
    );

    // Empty token variables count as absent.
    let empty = Tokens::from_env(
        &MapEnv::new().with("GITHUB_TOKEN", ""),
        proofline_ci::Platform::GithubActions,
    );
    assert!(empty.token_for_forge().is_none());

    let req = gh.actions_id_token_request().unwrap();
    assert_eq!(req.token.expose(), VALUES[3]);
    assert!(req.url.ends_with("api-version=2.0"));
}

#[test]
fn context_snapshots_hold_no_token() {
    let push = CiContext::from_env(&with_tokens(github_push_env(
        "event.push.with-new-branch.payload.json",
    )))
    .unwrap();
    let pr = CiContext::from_env(&with_tokens(github_pull_request_env(
        "event.pull_request.synchronize.payload.json",
    )))
    .unwrap();
    let mr = CiContext::from_env(&with_tokens(gitlab_mr_env())).unwrap();
    let local = CiContext::from_env(&with_tokens(MapEnv::new())).unwrap();
    for ctx in [&push, &pr, &mr, &local] {
        assert_no_token(&serde_json::to_string(ctx).unwrap());
    }
    insta::assert_json_snapshot!("github_push", push);
    insta::assert_json_snapshot!("github_pull_request", pr);
    insta::assert_json_snapshot!("gitlab_merge_request", mr);
    insta::assert_json_snapshot!("local", local);
}
