//! The typed CI context: repository, ref, commit, event, change request, run — one shape for GitHub, GitLab and
//! local runs, built once from the environment.

mod github;
mod gitlab;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::env::{Env, non_empty};
use crate::error::{CiError, truncate_for_message};
use crate::platform::Platform;

/// Where and what we are building, as the CI system describes it. Holds no token: it is safe to log and to
/// serialize into evidence records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiContext {
    /// The CI system.
    pub platform: Platform,
    /// `owner/name` on GitHub (`GITHUB_REPOSITORY`), `path_with_namespace` on GitLab (`CI_PROJECT_PATH`).
    pub repository: Option<String>,
    /// Web URL of the forge, no trailing slash (`GITHUB_SERVER_URL`, `CI_SERVER_URL`).
    pub server_url: Option<String>,
    /// REST API base URL, no trailing slash (`GITHUB_API_URL`, `CI_API_V4_URL`): GHES and self-managed GitLab work.
    pub api_url: Option<String>,
    /// The ref the pipeline runs for.
    #[serde(rename = "ref")]
    pub git_ref: Option<GitRef>,
    /// The commit under test: on a pull request the PR head (`pull_request.head.sha`), never GitHub's synthetic
    /// merge commit; on a GitLab MR pipeline `CI_MERGE_REQUEST_SOURCE_BRANCH_SHA` when set; else the pushed commit.
    pub commit: Option<CommitSha>,
    /// The commit the runner checks out by default (`GITHUB_SHA`, `CI_COMMIT_SHA`). On `pull_request` events it is
    /// GitHub's test-merge commit and differs from `commit`.
    pub checkout_commit: Option<CommitSha>,
    /// What `commit` is compared against, where the platform says.
    pub base: BaseCommit,
    /// `GITHUB_EVENT_NAME` (`push`, `pull_request`, …) or `CI_PIPELINE_SOURCE` (`push`, `merge_request_event`, …).
    pub event: Option<String>,
    /// The pull request (GitHub) or merge request (GitLab) the pipeline runs for.
    pub change_request: Option<ChangeRequest>,
    /// Who triggered the run (`GITHUB_ACTOR`, `GITLAB_USER_LOGIN`).
    pub actor: Option<String>,
    /// The workflow run / pipeline.
    pub run: Option<RunInfo>,
    /// The repository's default branch, where known (event payload, `CI_DEFAULT_BRANCH`).
    pub default_branch: Option<String>,
}

impl CiContext {
    /// Detect the platform and read its context. Local runs give [`CiContext::local`].
    ///
    /// On GitHub the event payload at `GITHUB_EVENT_PATH` is read too (required for push and pull request events).
    pub fn from_env(env: &dyn Env) -> Result<Self, CiError> {
        match Platform::detect(env) {
            Platform::GithubActions => github::context(env),
            Platform::GitlabCi => gitlab::context(env),
            Platform::Local => Ok(Self::local()),
        }
    }

    /// The context of a local run: nothing is known.
    pub fn local() -> Self {
        Self {
            platform: Platform::Local,
            repository: None,
            server_url: None,
            api_url: None,
            git_ref: None,
            commit: None,
            checkout_commit: None,
            base: BaseCommit::Unknown,
            event: None,
            change_request: None,
            actor: None,
            run: None,
            default_branch: None,
        }
    }

    /// The web URL of the repository (`<server_url>/<repository>`), when both are known.
    pub fn repository_url(&self) -> Option<String> {
        match (&self.server_url, &self.repository) {
            (Some(server), Some(repo)) => Some(format!("{server}/{repo}")),
            _ => None,
        }
    }
}

/// A git object name: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommitSha(String);

impl CommitSha {
    /// Parse a commit SHA (hex digits are lowercased); `None` unless it is 40 or 64 hex digits.
    pub fn parse(value: &str) -> Option<Self> {
        let ok = matches!(value.len(), 40 | 64) && value.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| Self(value.to_ascii_lowercase()))
    }

    /// The SHA as lowercase hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the all-zero SHA git and the forges use for "no commit" (a new or deleted ref).
    pub fn is_zero(&self) -> bool {
        self.0.bytes().all(|b| b == b'0')
    }
}

impl fmt::Debug for CommitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommitSha({})", self.0)
    }
}

impl fmt::Display for CommitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CommitSha {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
            .ok_or_else(|| format!("not a commit SHA (40 or 64 hex digits): {value:?}"))
    }
}

impl From<CommitSha> for String {
    fn from(value: CommitSha) -> Self {
        value.0
    }
}

/// A git ref.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRef {
    /// The full ref, e.g. `refs/heads/main`, `refs/tags/v1`, `refs/pull/2/merge`, `refs/merge-requests/1/head`.
    /// When the platform gives only a short name of unknown kind, the short name.
    pub full: String,
    /// The short name: `main`, `v1`, `2/merge`, `1/head`.
    pub name: String,
    /// What kind of ref it is.
    pub kind: RefKind,
    /// Whether the platform reports the ref as protected (`GITHUB_REF_PROTECTED`, `CI_COMMIT_REF_PROTECTED`):
    /// a hint only, it says nothing about which rules apply.
    pub protected: Option<bool>,
}

impl GitRef {
    /// Classify a full ref by its prefix; a name without `refs/` is [`RefKind::Other`].
    pub(crate) fn from_full(full: &str, name: Option<String>, protected: Option<bool>) -> Self {
        let (kind, short) = [
            ("refs/heads/", RefKind::Branch),
            ("refs/tags/", RefKind::Tag),
            ("refs/pull/", RefKind::PullRequest),
            ("refs/merge-requests/", RefKind::MergeRequest),
        ]
        .into_iter()
        .find_map(|(prefix, kind)| full.strip_prefix(prefix).map(|rest| (kind, rest)))
        .unwrap_or((RefKind::Other, full));
        Self {
            full: full.to_owned(),
            name: name.unwrap_or_else(|| short.to_owned()),
            kind,
            protected,
        }
    }
}

/// The kind of a git ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefKind {
    /// `refs/heads/…`
    Branch,
    /// `refs/tags/…`
    Tag,
    /// `refs/pull/<n>/merge` or `/head` (GitHub).
    PullRequest,
    /// `refs/merge-requests/<iid>/head` or `/merge` (GitLab).
    MergeRequest,
    /// Anything else.
    Other,
}

/// What the commit under test is compared against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BaseCommit {
    /// A known base commit.
    Commit {
        /// The base commit.
        sha: CommitSha,
        /// Where it came from, which says what it means.
        source: BaseSource,
    },
    /// The push created the ref (the previous SHA is all zeros): every commit on it is new.
    NewBranch,
    /// The platform does not say (scheduled, manual, API-triggered pipelines; local runs).
    Unknown,
}

impl BaseCommit {
    /// The base SHA, when one is known.
    pub fn sha(&self) -> Option<&CommitSha> {
        match self {
            Self::Commit { sha, .. } => Some(sha),
            Self::NewBranch | Self::Unknown => None,
        }
    }
}

/// Where a base commit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaseSource {
    /// The ref's previous tip before the push (`before` in the push payload, `CI_COMMIT_BEFORE_SHA`).
    PushBefore,
    /// The base branch tip of the pull request (`pull_request.base.sha`,
    /// `CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA`).
    PullRequestBase,
    /// The merge request's diff base, the merge base with the target branch (`CI_MERGE_REQUEST_DIFF_BASE_SHA`).
    MergeRequestDiffBase,
}

/// A pull request (GitHub) or merge request (GitLab).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRequest {
    /// The PR number, or the MR IID (the number shown as `!N`).
    pub number: u64,
    /// The branch the changes come from.
    pub source_branch: Option<String>,
    /// The branch they go into.
    pub target_branch: Option<String>,
    /// The repository the changes come from (differs from the context's repository for forks).
    pub source_repository: Option<String>,
}

/// The workflow run (GitHub) or pipeline (GitLab).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// `GITHUB_RUN_ID` or `CI_PIPELINE_ID`.
    pub id: u64,
    /// `GITHUB_RUN_NUMBER` or `CI_PIPELINE_IID` (per repository, human-facing).
    pub number: Option<u64>,
    /// `GITHUB_RUN_ATTEMPT` (GitLab has no equivalent).
    pub attempt: Option<u32>,
    /// Link to the run: `<server>/<repo>/actions/runs/<id>/attempts/<attempt>` on GitHub, `CI_PIPELINE_URL` on
    /// GitLab.
    pub url: String,
    /// The job: `GITHUB_JOB` (the job id in the workflow) or `CI_JOB_NAME`.
    pub job: Option<String>,
    /// Link to the job (`CI_JOB_URL`; GitHub exposes no job URL in the environment).
    pub job_url: Option<String>,
}

/// Reads variables of one platform, turning absence and bad values into errors that name them.
pub(crate) struct Vars<'a> {
    pub(crate) env: &'a dyn Env,
    pub(crate) platform: Platform,
}

impl Vars<'_> {
    pub(crate) fn optional(&self, name: &str) -> Option<String> {
        non_empty(self.env, name)
    }

    pub(crate) fn missing(&self, name: &'static str) -> CiError {
        CiError::MissingVariable {
            variable: name,
            platform: self.platform,
            marker: self.platform.marker(),
        }
    }

    pub(crate) fn required(&self, name: &'static str) -> Result<String, CiError> {
        self.optional(name).ok_or_else(|| self.missing(name))
    }

    pub(crate) fn invalid(name: &'static str, value: &str, expected: &'static str) -> CiError {
        CiError::InvalidVariable {
            variable: name,
            value: truncate_for_message(value),
            expected,
        }
    }

    pub(crate) fn sha(&self, name: &'static str, value: &str) -> Result<CommitSha, CiError> {
        CommitSha::parse(value)
            .ok_or_else(|| Self::invalid(name, value, "a commit SHA (40 or 64 hex digits)"))
    }

    pub(crate) fn required_sha(&self, name: &'static str) -> Result<CommitSha, CiError> {
        let value = self.required(name)?;
        self.sha(name, &value)
    }

    pub(crate) fn optional_sha(&self, name: &'static str) -> Result<Option<CommitSha>, CiError> {
        self.optional(name).map(|v| self.sha(name, &v)).transpose()
    }

    pub(crate) fn optional_u64(&self, name: &'static str) -> Result<Option<u64>, CiError> {
        self.optional(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| Self::invalid(name, &v, "a decimal number"))
            })
            .transpose()
    }

    pub(crate) fn required_u64(&self, name: &'static str) -> Result<u64, CiError> {
        let value = self.required(name)?;
        value
            .parse::<u64>()
            .map_err(|_| Self::invalid(name, &value, "a decimal number"))
    }

    pub(crate) fn optional_u32(&self, name: &'static str) -> Result<Option<u32>, CiError> {
        self.optional(name)
            .map(|v| {
                v.parse::<u32>()
                    .map_err(|_| Self::invalid(name, &v, "a decimal number"))
            })
            .transpose()
    }

    pub(crate) fn optional_bool(&self, name: &'static str) -> Result<Option<bool>, CiError> {
        self.optional(name)
            .map(|v| match v.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(Self::invalid(name, &v, "`true` or `false`")),
            })
            .transpose()
    }

    /// An http(s) URL, without its trailing slash.
    pub(crate) fn url(&self, name: &'static str, value: &str) -> Result<String, CiError> {
        let trimmed = value.trim_end_matches('/');
        let ok = ["https://", "http://"].iter().any(|scheme| {
            trimmed
                .strip_prefix(scheme)
                .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
        });
        if ok {
            Ok(trimmed.to_owned())
        } else {
            Err(Self::invalid(name, value, "an http(s) URL"))
        }
    }

    /// A repository path of at least `min_segments` non-empty `/`-separated segments.
    pub(crate) fn repository(
        &self,
        name: &'static str,
        min_segments: usize,
        exact: bool,
    ) -> Result<String, CiError> {
        let value = self.required(name)?;
        let segments: Vec<&str> = value.split('/').collect();
        let ok = segments.len() >= min_segments
            && (!exact || segments.len() == min_segments)
            && segments.iter().all(|s| {
                !s.is_empty()
                    && *s != "."
                    && *s != ".."
                    && !s.contains(|c: char| c.is_whitespace() || c.is_control())
            });
        if ok {
            Ok(value)
        } else if exact {
            Err(Self::invalid(name, &value, "a repository `owner/name`"))
        } else {
            Err(Self::invalid(
                name,
                &value,
                "a project path `group[/subgroup…]/project`",
            ))
        }
    }
}
