//! The CI context read from the real runner environments and event payloads in fixtures/ci.
#![allow(clippy::unwrap_used)]

mod common;

use common::{fixture, github_pull_request_env, github_push_env, gitlab_mr_env};
use proofline_ci::{
    BaseCommit, BaseSource, CiContext, CiError, CommitSha, Env, MapEnv, Platform, RefKind,
};

fn sha(s: &str) -> CommitSha {
    CommitSha::parse(s).unwrap()
}

#[test]
fn detects_each_platform() {
    assert_eq!(
        Platform::detect(&github_push_env("event.push.with-new-branch.payload.json")),
        Platform::GithubActions
    );
    assert_eq!(Platform::detect(&gitlab_mr_env()), Platform::GitlabCi);
    assert_eq!(Platform::detect(&MapEnv::new()), Platform::Local);
    // Only the exact value `true` counts.
    assert_eq!(
        Platform::detect(&MapEnv::new().with("GITHUB_ACTIONS", "1")),
        Platform::Local
    );
    assert_eq!(
        Platform::detect(&MapEnv::new().with("GITLAB_CI", "TRUE")),
        Platform::Local
    );
    // `CI=true` alone (another CI system) is local to us.
    assert_eq!(
        Platform::detect(&MapEnv::new().with("CI", "true")),
        Platform::Local
    );
    // GitHub wins when both are set (a job can export GITLAB_CI; GitHub's default variables cannot be overridden).
    let both = MapEnv::new()
        .with("GITHUB_ACTIONS", "true")
        .with("GITLAB_CI", "true");
    assert_eq!(Platform::detect(&both), Platform::GithubActions);
}

#[test]
fn local_context_knows_nothing() {
    let ctx = CiContext::from_env(&MapEnv::new()).unwrap();
    assert_eq!(ctx, CiContext::local());
    assert_eq!(ctx.base, BaseCommit::Unknown);
}

#[test]
fn pull_request_context_uses_the_head_commit_not_the_merge_commit() {
    for payload in [
        "event.pull_request.synchronize.payload.json",
        "event.pull_request.opened.payload.json",
    ] {
        let env = github_pull_request_env(payload);
        let merge_sha = env.var("GITHUB_SHA").unwrap();
        let ctx = CiContext::from_env(&env).unwrap();
        assert_eq!(
            ctx.commit,
            Some(sha("ec26c3e57ca3a959ca5aad62de7213c562f8c821")),
            "{payload}"
        );
        assert_ne!(
            ctx.commit.as_ref().map(CommitSha::as_str),
            Some(merge_sha.as_str())
        );
        assert_eq!(ctx.checkout_commit, Some(sha(&merge_sha)));
        assert_eq!(
            ctx.base,
            BaseCommit::Commit {
                sha: sha("f95f852bd8fca8fcc58a9a2d6c842781e32a215e"),
                source: BaseSource::PullRequestBase
            }
        );
        let cr = ctx.change_request.unwrap();
        assert_eq!(cr.number, 2);
        assert_eq!(cr.source_branch.as_deref(), Some("changes"));
        assert_eq!(cr.target_branch.as_deref(), Some("master"));
        assert_eq!(
            cr.source_repository.as_deref(),
            Some("Codertocat/Hello-World")
        );
        let r = ctx.git_ref.unwrap();
        assert_eq!(
            (r.full.as_str(), r.name.as_str(), r.kind),
            ("refs/pull/2/merge", "2/merge", RefKind::PullRequest)
        );
        assert_eq!(ctx.event.as_deref(), Some("pull_request"));
    }
}

#[test]
fn pull_request_target_also_uses_the_head_commit() {
    let mut env = github_pull_request_env("event.pull_request.opened.payload.json");
    env.set("GITHUB_EVENT_NAME", "pull_request_target");
    env.set("GITHUB_REF", "refs/heads/master");
    env.set("GITHUB_SHA", "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
    let ctx = CiContext::from_env(&env).unwrap();
    assert_eq!(
        ctx.commit,
        Some(sha("ec26c3e57ca3a959ca5aad62de7213c562f8c821"))
    );
    assert_eq!(ctx.git_ref.unwrap().kind, RefKind::Branch);
}

#[test]
fn push_creating_a_branch_has_no_base() {
    let env = github_push_env("event.push.with-new-branch.payload.json");
    let ctx = CiContext::from_env(&env).unwrap();
    assert_eq!(ctx.platform, Platform::GithubActions);
    assert_eq!(ctx.repository.as_deref(), Some("Codertocat/Hello-World"));
    assert_eq!(
        ctx.commit,
        Some(sha("6113728f27ae82c7b1a177c8d03f9e96e0adf246"))
    );
    assert_eq!(ctx.commit, ctx.checkout_commit);
    assert_eq!(ctx.base, BaseCommit::NewBranch);
    assert_eq!(ctx.default_branch.as_deref(), Some("master"));
    assert_eq!(ctx.change_request, None);
    let r = ctx.git_ref.unwrap();
    assert_eq!(
        (r.full.as_str(), r.name.as_str(), r.kind, r.protected),
        ("refs/heads/master", "master", RefKind::Branch, Some(true))
    );
    let run = ctx.run.unwrap();
    assert_eq!(run.id, 1658821493);
    assert_eq!(run.attempt, Some(1));
    assert_eq!(run.number, Some(3));
    assert_eq!(
        run.url,
        "https://github.com/Codertocat/Hello-World/actions/runs/1658821493/attempts/1"
    );
    assert_eq!(run.job.as_deref(), Some("verify-source"));
    assert_eq!(ctx.actor.as_deref(), Some("Codertocat"));
    assert_eq!(ctx.api_url.as_deref(), Some("https://api.github.com"));
    assert_eq!(ctx.server_url.as_deref(), Some("https://github.com"));
}

#[test]
fn push_to_an_existing_branch_has_before_as_base() {
    // The recorded new-branch payload, edited into an ordinary push: `before` is the previous tip.
    let text =
        std::fs::read_to_string(fixture("github/event.push.with-new-branch.payload.json")).unwrap();
    let mut payload: serde_json::Value = serde_json::from_str(&text).unwrap();
    payload["before"] = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e".into();
    payload["created"] = false.into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    std::fs::write(&path, serde_json::to_vec(&payload).unwrap()).unwrap();
    let mut env = github_push_env("event.push.with-new-branch.payload.json");
    env.set("GITHUB_EVENT_PATH", path.to_str().unwrap());

    let ctx = CiContext::from_env(&env).unwrap();
    assert_eq!(
        ctx.base,
        BaseCommit::Commit {
            sha: sha("f95f852bd8fca8fcc58a9a2d6c842781e32a215e"),
            source: BaseSource::PushBefore
        }
    );
    assert_eq!(
        ctx.base.sha().map(CommitSha::as_str),
        Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
    );
}

#[test]
fn tag_deletion_push_keeps_the_checkout_commit_and_the_old_tip_as_base() {
    // Recorded payload: `after` is all zeros and `commits` is empty.
    let mut env = github_push_env("event.push.payload.json");
    env.set("GITHUB_REF", "refs/tags/simple-tag");
    env.set("GITHUB_REF_NAME", "simple-tag");
    env.set("GITHUB_REF_TYPE", "tag");
    let ctx = CiContext::from_env(&env).unwrap();
    assert_eq!(
        ctx.commit,
        Some(sha("6113728f27ae82c7b1a177c8d03f9e96e0adf246"))
    );
    assert!(!ctx.commit.as_ref().unwrap().is_zero());
    assert_eq!(ctx.git_ref.as_ref().unwrap().kind, RefKind::Tag);
    assert_eq!(
        ctx.base.sha(),
        Some(&sha("6113728f27ae82c7b1a177c8d03f9e96e0adf246"))
    );
}

#[test]
fn enterprise_server_api_url_is_taken_from_the_environment() {
    let mut env = github_push_env("event.push.with-new-branch.payload.json");
    env.set("GITHUB_SERVER_URL", "https://github.example.com/");
    env.set("GITHUB_API_URL", "https://github.example.com/api/v3/");
    let ctx = CiContext::from_env(&env).unwrap();
    assert_eq!(
        ctx.server_url.as_deref(),
        Some("https://github.example.com")
    );
    assert_eq!(
        ctx.api_url.as_deref(),
        Some("https://github.example.com/api/v3")
    );
    assert_eq!(
        ctx.repository_url().as_deref(),
        Some("https://github.example.com/Codertocat/Hello-World")
    );
    assert!(
        ctx.run
            .unwrap()
            .url
            .starts_with("https://github.example.com/Codertocat/Hello-World/actions/runs/")
    );

    // Without GITHUB_API_URL: api.github.com for github.com, /api/v3 for a GHES host.
    env.remove("GITHUB_API_URL");
    assert_eq!(
        CiContext::from_env(&env).unwrap().api_url.as_deref(),
        Some("https://github.example.com/api/v3")
    );
    env.set("GITHUB_SERVER_URL", "https://github.com");
    assert_eq!(
        CiContext::from_env(&env).unwrap().api_url.as_deref(),
        Some("https://api.github.com")
    );
}

#[test]
fn gitlab_merge_request_context() {
    let ctx = CiContext::from_env(&gitlab_mr_env()).unwrap();
    assert_eq!(ctx.platform, Platform::GitlabCi);
    assert_eq!(ctx.repository.as_deref(), Some("my-group/my-project"));
    assert_eq!(
        ctx.server_url.as_deref(),
        Some("https://gitlab.example.com")
    );
    assert_eq!(
        ctx.api_url.as_deref(),
        Some("https://gitlab.example.com/api/v4")
    );
    // Detached MR pipeline: CI_MERGE_REQUEST_SOURCE_BRANCH_SHA is empty, so CI_COMMIT_SHA is the head.
    assert_eq!(
        ctx.commit,
        Some(sha("714a629c0b401fdce83e847fc9589983fc6f46bc"))
    );
    assert_eq!(
        ctx.base,
        BaseCommit::Commit {
            sha: sha("ae1d9fb46aa2b07ee9836d49862ec4e2c46fbbba"),
            source: BaseSource::MergeRequestDiffBase
        }
    );
    let cr = ctx.change_request.unwrap();
    assert_eq!(cr.number, 1);
    assert_eq!(cr.source_branch.as_deref(), Some("feature-branch-1"));
    assert_eq!(cr.target_branch.as_deref(), Some("main"));
    let r = ctx.git_ref.unwrap();
    assert_eq!(
        (r.full.as_str(), r.name.as_str(), r.kind, r.protected),
        (
            "refs/merge-requests/1/head",
            "1/head",
            RefKind::MergeRequest,
            Some(false)
        )
    );
    assert_eq!(ctx.event.as_deref(), Some("merge_request_event"));
    assert_eq!(ctx.actor.as_deref(), Some("sample-user"));
    assert_eq!(ctx.default_branch.as_deref(), Some("main"));
    let run = ctx.run.unwrap();
    assert_eq!((run.id, run.number, run.attempt), (574, Some(12), None));
    assert_eq!(
        run.url,
        "https://gitlab.example.com/my-group/my-project/-/pipelines/574"
    );
    assert_eq!(
        run.job_url.as_deref(),
        Some("https://gitlab.example.com/my-group/my-project/-/jobs/302")
    );
}

#[test]
fn gitlab_merged_results_pipeline_uses_the_source_branch_sha() {
    let mut env = gitlab_mr_env();
    env.set("CI_MERGE_REQUEST_EVENT_TYPE", "merged_result");
    env.set(
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
        "1111111111111111111111111111111111111111",
    );
    env.set(
        "CI_MERGE_REQUEST_TARGET_BRANCH_SHA",
        "2222222222222222222222222222222222222222",
    );
    let ctx = CiContext::from_env(&env).unwrap();
    assert_eq!(
        ctx.commit,
        Some(sha("1111111111111111111111111111111111111111"))
    );
    assert_eq!(
        ctx.checkout_commit,
        Some(sha("714a629c0b401fdce83e847fc9589983fc6f46bc"))
    );
}

fn gitlab_branch_env(source: &str, before: &str) -> MapEnv {
    let mut env = gitlab_mr_env();
    for name in env.clone().names() {
        if name.starts_with("CI_MERGE_REQUEST_") {
            env.remove(name);
        }
    }
    env.set("CI_PIPELINE_SOURCE", source);
    env.set("CI_COMMIT_BRANCH", "feature-branch-1");
    env.set("CI_COMMIT_BEFORE_SHA", before);
    env
}

#[test]
fn gitlab_push_pipelines_read_before_and_zero_means_new_branch_only_on_push() {
    let zero = "0000000000000000000000000000000000000000";
    let ctx = CiContext::from_env(&gitlab_branch_env("push", zero)).unwrap();
    assert_eq!(ctx.base, BaseCommit::NewBranch);
    assert_eq!(ctx.change_request, None);
    let r = ctx.git_ref.unwrap();
    assert_eq!(
        (r.full.as_str(), r.kind),
        ("refs/heads/feature-branch-1", RefKind::Branch)
    );

    // Scheduled pipelines also get all zeros: that says nothing about the branch.
    let ctx = CiContext::from_env(&gitlab_branch_env("schedule", zero)).unwrap();
    assert_eq!(ctx.base, BaseCommit::Unknown);

    let ctx = CiContext::from_env(&gitlab_branch_env(
        "push",
        "ae1d9fb46aa2b07ee9836d49862ec4e2c46fbbba",
    ))
    .unwrap();
    assert_eq!(
        ctx.base,
        BaseCommit::Commit {
            sha: sha("ae1d9fb46aa2b07ee9836d49862ec4e2c46fbbba"),
            source: BaseSource::PushBefore
        }
    );

    let mut tag = gitlab_branch_env("push", zero);
    tag.remove("CI_COMMIT_BRANCH");
    tag.set("CI_COMMIT_TAG", "v1.2.3");
    let r = CiContext::from_env(&tag).unwrap().git_ref.unwrap();
    assert_eq!(
        (r.full.as_str(), r.name.as_str(), r.kind),
        ("refs/tags/v1.2.3", "v1.2.3", RefKind::Tag)
    );
}

#[test]
fn self_managed_gitlab_api_url() {
    let mut env = gitlab_mr_env();
    env.set("CI_SERVER_URL", "https://git.corp.example:8443/gitlab");
    env.set(
        "CI_API_V4_URL",
        "https://git.corp.example:8443/gitlab/api/v4",
    );
    let ctx = CiContext::from_env(&env).unwrap();
    assert_eq!(
        ctx.api_url.as_deref(),
        Some("https://git.corp.example:8443/gitlab/api/v4")
    );
    env.remove("CI_API_V4_URL");
    let ctx = CiContext::from_env(&env).unwrap();
    assert_eq!(
        ctx.api_url.as_deref(),
        Some("https://git.corp.example:8443/gitlab/api/v4")
    );
}

#[test]
fn missing_variables_are_named_with_the_fix() {
    let env =
        github_push_env("event.push.with-new-branch.payload.json").without("GITHUB_REPOSITORY");
    let err = CiContext::from_env(&env).unwrap_err();
    assert!(
        matches!(
            err,
            CiError::MissingVariable {
                variable: "GITHUB_REPOSITORY",
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("GITHUB_REPOSITORY") && msg.contains("unset GITHUB_ACTIONS"),
        "{msg}"
    );

    // Set but empty is missing too.
    let env = gitlab_mr_env().with("CI_COMMIT_SHA", "");
    let msg = CiContext::from_env(&env).unwrap_err().to_string();
    assert!(
        msg.contains("CI_COMMIT_SHA") && msg.contains("unset GITLAB_CI"),
        "{msg}"
    );

    let env =
        github_push_env("event.push.with-new-branch.payload.json").without("GITHUB_EVENT_PATH");
    let err = CiContext::from_env(&env).unwrap_err();
    assert!(
        matches!(
            err,
            CiError::MissingVariable {
                variable: "GITHUB_EVENT_PATH",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn malformed_values_are_named() {
    let cases: [(&str, &str, &str); 6] = [
        ("GITHUB_SHA", "not-a-sha", "commit SHA"),
        (
            "GITHUB_SHA",
            "6113728f27ae82c7b1a177c8d03f9e96e0adf24",
            "commit SHA",
        ),
        ("GITHUB_RUN_ID", "12ab", "decimal number"),
        (
            "GITHUB_REPOSITORY",
            "Codertocat/Hello-World/extra",
            "owner/name",
        ),
        ("GITHUB_REPOSITORY", "../etc", "owner/name"),
        ("GITHUB_API_URL", "ftp://api.example.com", "http(s) URL"),
    ];
    for (name, value, expected) in cases {
        let env = github_push_env("event.push.with-new-branch.payload.json").with(name, value);
        let err = CiContext::from_env(&env).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, CiError::InvalidVariable { .. }),
            "{name}: {err:?}"
        );
        assert!(msg.contains(name) && msg.contains(expected), "{msg}");
    }
    let env = gitlab_mr_env().with("CI_MERGE_REQUEST_DIFF_BASE_SHA", "zzzz");
    let msg = CiContext::from_env(&env).unwrap_err().to_string();
    assert!(msg.contains("CI_MERGE_REQUEST_DIFF_BASE_SHA"), "{msg}");
    let env = gitlab_mr_env().with("CI_COMMIT_REF_PROTECTED", "yes");
    let msg = CiContext::from_env(&env).unwrap_err().to_string();
    assert!(
        msg.contains("CI_COMMIT_REF_PROTECTED") && msg.contains("`true` or `false`"),
        "{msg}"
    );
}

#[test]
fn unreadable_and_malformed_event_payloads_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let env = github_push_env("x").with("GITHUB_EVENT_PATH", missing.to_str().unwrap());
    let err = CiContext::from_env(&env).unwrap_err();
    assert!(
        matches!(err, CiError::EventPayloadUnreadable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("GITHUB_EVENT_PATH"), "{err}");

    let cases: [(&str, &[u8]); 3] = [
        (
            "truncated.json",
            br#"{"ref": "refs/heads/master", "before": "#,
        ),
        ("array.json", b"[1, 2]"),
        ("binary.json", b"\xff\xfe\x00garbage"),
    ];
    for (name, body) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let env = github_push_env("x").with("GITHUB_EVENT_PATH", path.to_str().unwrap());
        let err = CiContext::from_env(&env).unwrap_err();
        assert!(
            matches!(err, CiError::EventPayloadMalformed { .. }),
            "{name}: {err:?}"
        );
    }

    // A push payload given to a pull_request job: no pull_request object.
    let env = github_pull_request_env("event.push.with-new-branch.payload.json");
    let err = CiContext::from_env(&env).unwrap_err();
    assert!(
        matches!(
            err,
            CiError::EventPayloadField {
                field: "pull_request",
                ..
            }
        ),
        "{err:?}"
    );

    // A pull request whose head sha is malformed.
    let text =
        std::fs::read_to_string(fixture("github/event.pull_request.opened.payload.json")).unwrap();
    let mut payload: serde_json::Value = serde_json::from_str(&text).unwrap();
    payload["pull_request"]["head"]["sha"] = "ec26c3e\n::add-mask::x".into();
    let path = dir.path().join("pr.json");
    std::fs::write(&path, serde_json::to_vec(&payload).unwrap()).unwrap();
    let env = github_pull_request_env("x").with("GITHUB_EVENT_PATH", path.to_str().unwrap());
    let err = CiContext::from_env(&env).unwrap_err();
    assert!(
        matches!(
            err,
            CiError::EventPayloadField {
                field: "pull_request.head.sha",
                ..
            }
        ),
        "{err:?}"
    );

    // A push payload without `before`.
    payload = serde_json::from_str(
        &std::fs::read_to_string(fixture("github/event.push.with-new-branch.payload.json"))
            .unwrap(),
    )
    .unwrap();
    payload.as_object_mut().unwrap().remove("before");
    std::fs::write(&path, serde_json::to_vec(&payload).unwrap()).unwrap();
    let env = github_push_env("x").with("GITHUB_EVENT_PATH", path.to_str().unwrap());
    let err = CiContext::from_env(&env).unwrap_err();
    assert!(
        matches!(
            err,
            CiError::EventPayloadField {
                field: "before",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn events_without_a_payload_need_no_event_path() {
    let env = github_push_env("x")
        .with("GITHUB_EVENT_NAME", "workflow_dispatch")
        .without("GITHUB_EVENT_PATH");
    let ctx = CiContext::from_env(&env).unwrap();
    assert_eq!(
        ctx.commit,
        Some(sha("6113728f27ae82c7b1a177c8d03f9e96e0adf246"))
    );
    assert_eq!(ctx.base, BaseCommit::Unknown);
    assert_eq!(ctx.default_branch, None);
}

#[test]
fn context_round_trips_through_json() {
    for env in [
        github_pull_request_env("event.pull_request.synchronize.payload.json"),
        gitlab_mr_env(),
        MapEnv::new(),
    ] {
        let ctx = CiContext::from_env(&env).unwrap();
        let json = serde_json::to_string(&ctx).unwrap();
        let back: CiContext = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ctx);
    }
    // A malformed sha in JSON is refused on the way back in.
    let ctx = CiContext::from_env(&gitlab_mr_env()).unwrap();
    let mut json = serde_json::to_value(&ctx).unwrap();
    json["commit"] = "nope".into();
    assert!(serde_json::from_value::<CiContext>(json).is_err());
}

#[test]
fn gitlab_external_pull_request_pipeline_uses_the_source_sha() {
    let mut env = gitlab_branch_env(
        "external_pull_request_event",
        "0000000000000000000000000000000000000000",
    );
    env.set("CI_EXTERNAL_PULL_REQUEST_IID", "42");
    env.set(
        "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA",
        "3333333333333333333333333333333333333333",
    );
    env.set(
        "CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA",
        "4444444444444444444444444444444444444444",
    );
    env.set(
        "CI_EXTERNAL_PULL_REQUEST_SOURCE_REPOSITORY",
        "fork-owner/my-project",
    );
    env.set("CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME", "main");
    let ctx = CiContext::from_env(&env).unwrap();
    assert_eq!(
        ctx.commit,
        Some(sha("3333333333333333333333333333333333333333"))
    );
    assert_eq!(
        ctx.base,
        BaseCommit::Commit {
            sha: sha("4444444444444444444444444444444444444444"),
            source: BaseSource::PullRequestBase
        }
    );
    let cr = ctx.change_request.unwrap();
    assert_eq!(
        (cr.number, cr.source_repository.as_deref()),
        (42, Some("fork-owner/my-project"))
    );
}
