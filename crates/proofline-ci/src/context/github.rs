//! The GitHub Actions context: default environment variables plus the event payload at `GITHUB_EVENT_PATH`.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{BaseCommit, BaseSource, ChangeRequest, CiContext, CommitSha, GitRef, RunInfo, Vars};
use crate::env::Env;
use crate::error::{CiError, truncate_for_message};
use crate::platform::Platform;

/// GitHub caps webhook payloads at 25 MB; anything larger is not a runner-written payload.
const MAX_EVENT_PAYLOAD: u64 = 32 * 1024 * 1024;

/// Events whose payload carries `pull_request` and whose `GITHUB_SHA` is not the PR head.
const PULL_REQUEST_EVENTS: [&str; 4] = [
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
];

/// The parts of a webhook payload we read. Unknown fields are ignored (payloads are large and evolve).
#[derive(Debug, Deserialize)]
struct Payload {
    before: Option<String>,
    number: Option<u64>,
    pull_request: Option<PullRequest>,
    repository: Option<Repository>,
}

#[derive(Debug, Deserialize)]
struct PullRequest {
    number: Option<u64>,
    head: Option<Side>,
    base: Option<Side>,
}

#[derive(Debug, Deserialize)]
struct Side {
    sha: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    repo: Option<Repository>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    full_name: Option<String>,
    default_branch: Option<String>,
}

pub(super) fn context(env: &dyn Env) -> Result<CiContext, CiError> {
    let vars = Vars {
        env,
        platform: Platform::GithubActions,
    };
    let repository = vars.repository("GITHUB_REPOSITORY", 2, true)?;
    let server_url = vars.url("GITHUB_SERVER_URL", &vars.required("GITHUB_SERVER_URL")?)?;
    let api_url = match vars.optional("GITHUB_API_URL") {
        Some(url) => vars.url("GITHUB_API_URL", &url)?,
        None => default_api_url(&server_url),
    };
    let event = vars.required("GITHUB_EVENT_NAME")?;
    let checkout = vars.required_sha("GITHUB_SHA")?;
    let git_ref = vars
        .optional("GITHUB_REF")
        .map(|full| GitRef::from_full(&full, vars.optional("GITHUB_REF_NAME"), None));
    let git_ref = match git_ref {
        Some(mut r) => {
            r.protected = vars.optional_bool("GITHUB_REF_PROTECTED")?;
            Some(r)
        }
        None => None,
    };

    let is_pull_request = PULL_REQUEST_EVENTS.contains(&event.as_str());
    let payload_path = vars.optional("GITHUB_EVENT_PATH").map(PathBuf::from);
    let payload = match &payload_path {
        Some(path) => Some(read_payload(path, &event)?),
        None if is_pull_request || event == "push" => {
            return Err(vars.missing("GITHUB_EVENT_PATH"));
        }
        None => None,
    };

    let mut commit = checkout.clone();
    let mut base = BaseCommit::Unknown;
    let mut change_request = None;
    if let (Some(payload), Some(path)) = (&payload, &payload_path) {
        if is_pull_request {
            let field_error = |field: &'static str, problem: String| CiError::EventPayloadField {
                path: path.clone(),
                event: event.clone(),
                field,
                problem,
            };
            let pr = payload
                .pull_request
                .as_ref()
                .ok_or_else(|| field_error("pull_request", "missing".to_owned()))?;
            let head = pr
                .head
                .as_ref()
                .ok_or_else(|| field_error("pull_request.head", "missing".to_owned()))?;
            commit = payload_sha(head.sha.as_deref())
                .map_err(|problem| field_error("pull_request.head.sha", problem))?;
            if let Some(base_side) = &pr.base {
                let sha = payload_sha(base_side.sha.as_deref())
                    .map_err(|problem| field_error("pull_request.base.sha", problem))?;
                base = BaseCommit::Commit {
                    sha,
                    source: BaseSource::PullRequestBase,
                };
            }
            let number = pr
                .number
                .or(payload.number)
                .ok_or_else(|| field_error("pull_request.number", "missing".to_owned()))?;
            change_request = Some(ChangeRequest {
                number,
                source_branch: head
                    .git_ref
                    .clone()
                    .or_else(|| vars.optional("GITHUB_HEAD_REF")),
                target_branch: pr
                    .base
                    .as_ref()
                    .and_then(|b| b.git_ref.clone())
                    .or_else(|| vars.optional("GITHUB_BASE_REF")),
                source_repository: head.repo.as_ref().and_then(|r| r.full_name.clone()),
            });
        } else if event == "push" {
            let before = payload_sha(payload.before.as_deref()).map_err(|problem| {
                CiError::EventPayloadField {
                    path: path.clone(),
                    event: event.clone(),
                    field: "before",
                    problem,
                }
            })?;
            base = if before.is_zero() {
                BaseCommit::NewBranch
            } else {
                BaseCommit::Commit {
                    sha: before,
                    source: BaseSource::PushBefore,
                }
            };
        }
    }

    let run_id = vars.required_u64("GITHUB_RUN_ID")?;
    let attempt = vars.optional_u32("GITHUB_RUN_ATTEMPT")?;
    let run_url = match attempt {
        Some(attempt) => {
            format!("{server_url}/{repository}/actions/runs/{run_id}/attempts/{attempt}")
        }
        None => format!("{server_url}/{repository}/actions/runs/{run_id}"),
    };

    Ok(CiContext {
        platform: Platform::GithubActions,
        repository: Some(repository),
        server_url: Some(server_url),
        api_url: Some(api_url),
        git_ref,
        commit: Some(commit),
        checkout_commit: Some(checkout),
        base,
        event: Some(event),
        change_request,
        actor: vars.optional("GITHUB_ACTOR"),
        run: Some(RunInfo {
            id: run_id,
            number: vars.optional_u64("GITHUB_RUN_NUMBER")?,
            attempt,
            url: run_url,
            job: vars.optional("GITHUB_JOB"),
            job_url: None,
        }),
        default_branch: payload
            .as_ref()
            .and_then(|p| p.repository.as_ref())
            .and_then(|r| r.default_branch.clone()),
    })
}

/// The REST API of a GitHub server when `GITHUB_API_URL` is absent: `api.github.com` for github.com,
/// `api.<host>` for GHE.com data-residency hosts, `<server>/api/v3` for GitHub Enterprise Server.
fn default_api_url(server_url: &str) -> String {
    let host = server_url
        .split_once("://")
        .map_or(server_url, |(_, rest)| rest);
    if host == "github.com" {
        "https://api.github.com".to_owned()
    } else if host.ends_with(".ghe.com") {
        format!("https://api.{host}")
    } else {
        format!("{server_url}/api/v3")
    }
}

fn payload_sha(value: Option<&str>) -> Result<CommitSha, String> {
    let value = value.ok_or_else(|| "missing".to_owned())?;
    CommitSha::parse(value).ok_or_else(|| {
        format!(
            "{:?} is not a commit SHA (40 or 64 hex digits)",
            truncate_for_message(value)
        )
    })
}

fn read_payload(path: &Path, event: &str) -> Result<Payload, CiError> {
    let unreadable = |source| CiError::EventPayloadUnreadable {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_EVENT_PAYLOAD + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_EVENT_PAYLOAD {
        return Err(CiError::EventPayloadTooLarge {
            path: path.to_owned(),
            limit: MAX_EVENT_PAYLOAD,
        });
    }
    serde_json::from_slice(&bytes).map_err(|source| CiError::EventPayloadMalformed {
        path: path.to_owned(),
        event: event.to_owned(),
        source,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::default_api_url;

    #[test]
    fn api_url_defaults_follow_the_server() {
        assert_eq!(
            default_api_url("https://github.com"),
            "https://api.github.com"
        );
        assert_eq!(
            default_api_url("https://octocorp.ghe.com"),
            "https://api.octocorp.ghe.com"
        );
        assert_eq!(
            default_api_url("https://github.example.com"),
            "https://github.example.com/api/v3"
        );
    }
}
