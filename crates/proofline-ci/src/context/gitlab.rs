//! The GitLab CI context, from predefined variables (branch, tag, merge request and external pull request
//! pipelines).

use super::{BaseCommit, BaseSource, ChangeRequest, CiContext, GitRef, RefKind, RunInfo, Vars};
use crate::env::Env;
use crate::error::CiError;
use crate::platform::Platform;

pub(super) fn context(env: &dyn Env) -> Result<CiContext, CiError> {
    let vars = Vars {
        env,
        platform: Platform::GitlabCi,
    };
    let repository = vars.repository("CI_PROJECT_PATH", 2, false)?;
    let server_url = vars.url("CI_SERVER_URL", &vars.required("CI_SERVER_URL")?)?;
    let api_url = match vars.optional("CI_API_V4_URL") {
        Some(url) => vars.url("CI_API_V4_URL", &url)?,
        None => format!("{server_url}/api/v4"),
    };
    let event = vars.required("CI_PIPELINE_SOURCE")?;
    let checkout = vars.required_sha("CI_COMMIT_SHA")?;
    let protected = vars.optional_bool("CI_COMMIT_REF_PROTECTED")?;

    let mr_iid = vars.optional_u64("CI_MERGE_REQUEST_IID")?;
    let external_pr = vars.optional_u64("CI_EXTERNAL_PULL_REQUEST_IID")?;

    let (commit, base, change_request, git_ref) = if let Some(number) = mr_iid {
        // Merge request pipeline. The source branch SHA is set in merged-results and merge-train pipelines, where
        // CI_COMMIT_SHA is the merge result; in detached pipelines it is empty and CI_COMMIT_SHA is the MR head.
        let commit = vars
            .optional_sha("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA")?
            .unwrap_or_else(|| checkout.clone());
        let base = match vars.optional_sha("CI_MERGE_REQUEST_DIFF_BASE_SHA")? {
            Some(sha) => BaseCommit::Commit {
                sha,
                source: BaseSource::MergeRequestDiffBase,
            },
            None => BaseCommit::Unknown,
        };
        let git_ref = match vars.optional("CI_MERGE_REQUEST_REF_PATH") {
            Some(full) => GitRef::from_full(&full, None, protected),
            None => GitRef {
                full: format!("refs/merge-requests/{number}/head"),
                name: format!("{number}/head"),
                kind: RefKind::MergeRequest,
                protected,
            },
        };
        let change_request = ChangeRequest {
            number,
            source_branch: vars.optional("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"),
            target_branch: vars.optional("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
            source_repository: vars.optional("CI_MERGE_REQUEST_SOURCE_PROJECT_PATH"),
        };
        (commit, base, Some(change_request), Some(git_ref))
    } else if let Some(number) = external_pr {
        // A GitHub pull request built by GitLab CI (CI/CD for external repositories).
        let commit = vars
            .optional_sha("CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA")?
            .unwrap_or_else(|| checkout.clone());
        let base = match vars.optional_sha("CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA")? {
            Some(sha) => BaseCommit::Commit {
                sha,
                source: BaseSource::PullRequestBase,
            },
            None => BaseCommit::Unknown,
        };
        let change_request = ChangeRequest {
            number,
            source_branch: vars.optional("CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME"),
            target_branch: vars.optional("CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME"),
            source_repository: vars.optional("CI_EXTERNAL_PULL_REQUEST_SOURCE_REPOSITORY"),
        };
        let git_ref = branch_or_tag_ref(&vars, protected);
        (commit, base, Some(change_request), git_ref)
    } else {
        // Branch or tag pipeline. CI_COMMIT_BEFORE_SHA is all zeros for the first push of a branch, and also for
        // scheduled, manual (web), API and trigger pipelines: only on a push does zero mean "new branch".
        let base = match vars.optional_sha("CI_COMMIT_BEFORE_SHA")? {
            Some(sha) if sha.is_zero() && event == "push" => BaseCommit::NewBranch,
            Some(sha) if sha.is_zero() => BaseCommit::Unknown,
            Some(sha) => BaseCommit::Commit {
                sha,
                source: BaseSource::PushBefore,
            },
            None => BaseCommit::Unknown,
        };
        (
            checkout.clone(),
            base,
            None,
            branch_or_tag_ref(&vars, protected),
        )
    };

    let run_id = vars.required_u64("CI_PIPELINE_ID")?;
    let run_url = match vars.optional("CI_PIPELINE_URL") {
        Some(url) => vars.url("CI_PIPELINE_URL", &url)?,
        None => format!("{server_url}/{repository}/-/pipelines/{run_id}"),
    };
    let job_url = vars
        .optional("CI_JOB_URL")
        .map(|url| vars.url("CI_JOB_URL", &url))
        .transpose()?;

    Ok(CiContext {
        platform: Platform::GitlabCi,
        repository: Some(repository),
        server_url: Some(server_url),
        api_url: Some(api_url),
        git_ref,
        commit: Some(commit),
        checkout_commit: Some(checkout),
        base,
        event: Some(event),
        change_request,
        actor: vars.optional("GITLAB_USER_LOGIN"),
        run: Some(RunInfo {
            id: run_id,
            number: vars.optional_u64("CI_PIPELINE_IID")?,
            attempt: None,
            url: run_url,
            job: vars.optional("CI_JOB_NAME"),
            job_url,
        }),
        default_branch: vars.optional("CI_DEFAULT_BRANCH"),
    })
}

/// `refs/tags/<CI_COMMIT_TAG>`, `refs/heads/<CI_COMMIT_BRANCH>`, or the bare `CI_COMMIT_REF_NAME` of unknown kind.
fn branch_or_tag_ref(vars: &Vars<'_>, protected: Option<bool>) -> Option<GitRef> {
    if let Some(tag) = vars.optional("CI_COMMIT_TAG") {
        return Some(GitRef::from_full(
            &format!("refs/tags/{tag}"),
            Some(tag),
            protected,
        ));
    }
    if let Some(branch) = vars.optional("CI_COMMIT_BRANCH") {
        return Some(GitRef::from_full(
            &format!("refs/heads/{branch}"),
            Some(branch),
            protected,
        ));
    }
    vars.optional("CI_COMMIT_REF_NAME")
        .map(|name| GitRef::from_full(&name, Some(name.clone()), protected))
}
