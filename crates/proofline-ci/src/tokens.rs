//! The CI tokens, read only as [`Secret`]s: the single place that touches token variables.

use std::fmt;

use crate::env::{Env, non_empty};
use crate::platform::{Forge, Platform};
use crate::secret::Secret;

/// Every environment variable this crate treats as a token. They are read only into [`Secret`]s, never into the
/// context, never logged.
pub const TOKEN_VARIABLES: [&str; 6] = [
    "GITHUB_TOKEN",
    "GITLAB_TOKEN",
    "CI_JOB_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "SIGSTORE_ID_TOKEN",
];

/// How a forge token authenticates, which decides the HTTP header it goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForgeTokenKind {
    /// `GITHUB_TOKEN` (or a PAT passed under that name): `Authorization: Bearer …` to the GitHub API.
    GithubToken,
    /// `GITLAB_TOKEN`: a personal/project/group access token, `PRIVATE-TOKEN: …` (or `Authorization: Bearer …`).
    GitlabToken,
    /// `CI_JOB_TOKEN`: the job token, `JOB-TOKEN: …`, valid only for the endpoints GitLab allows it on.
    CiJobToken,
}

impl ForgeTokenKind {
    /// The environment variable the token came from.
    pub fn variable(self) -> &'static str {
        match self {
            Self::GithubToken => "GITHUB_TOKEN",
            Self::GitlabToken => "GITLAB_TOKEN",
            Self::CiJobToken => "CI_JOB_TOKEN",
        }
    }
}

/// A token for a forge API, with the kind that says how to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeToken {
    /// Where the token came from and how to send it.
    pub kind: ForgeTokenKind,
    /// The token itself.
    pub secret: Secret,
}

/// The GitHub OIDC token request endpoint (`permissions: id-token: write`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenRequest {
    /// `ACTIONS_ID_TOKEN_REQUEST_URL` (already has a query string: append `&audience=…`).
    pub url: String,
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, sent as `Authorization: Bearer …`.
    pub token: Secret,
}

/// The tokens present in the environment. `Debug` shows which exist, never their values.
#[derive(Clone, Default)]
pub struct Tokens {
    platform: Option<Platform>,
    github: Option<Secret>,
    gitlab: Option<Secret>,
    ci_job: Option<Secret>,
    id_token_request: Option<Secret>,
    id_token_request_url: Option<String>,
    actions_runtime: Option<Secret>,
    sigstore_id_token: Option<Secret>,
}

impl Tokens {
    /// Read every token variable of [`TOKEN_VARIABLES`] (empty values count as absent).
    pub fn from_env(env: &dyn Env, platform: Platform) -> Self {
        let secret = |name: &str| non_empty(env, name).map(Secret::from);
        Self {
            platform: Some(platform),
            github: secret("GITHUB_TOKEN"),
            gitlab: secret("GITLAB_TOKEN"),
            ci_job: secret("CI_JOB_TOKEN"),
            id_token_request: secret("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
            id_token_request_url: non_empty(env, "ACTIONS_ID_TOKEN_REQUEST_URL"),
            actions_runtime: secret("ACTIONS_RUNTIME_TOKEN"),
            sigstore_id_token: secret("SIGSTORE_ID_TOKEN"),
        }
    }

    /// `GITHUB_TOKEN` (not set by default in Actions: a workflow passes `${{ secrets.GITHUB_TOKEN }}` explicitly).
    pub fn github_token(&self) -> Option<&Secret> {
        self.github.as_ref()
    }

    /// `GITLAB_TOKEN` (an access token the pipeline provides as a masked variable).
    pub fn gitlab_token(&self) -> Option<&Secret> {
        self.gitlab.as_ref()
    }

    /// `CI_JOB_TOKEN` (GitLab's job-scoped token).
    pub fn ci_job_token(&self) -> Option<&Secret> {
        self.ci_job.as_ref()
    }

    /// `ACTIONS_RUNTIME_TOKEN` (runner internal; JavaScript and container actions only).
    pub fn actions_runtime_token(&self) -> Option<&Secret> {
        self.actions_runtime.as_ref()
    }

    /// `SIGSTORE_ID_TOKEN`: an OIDC token for Sigstore (GitLab's `id_tokens:` sets it; any CI may).
    pub fn sigstore_id_token(&self) -> Option<&Secret> {
        self.sigstore_id_token.as_ref()
    }

    /// The GitHub OIDC token request (URL + bearer token), when the job has `permissions: id-token: write`.
    pub fn actions_id_token_request(&self) -> Option<IdTokenRequest> {
        match (&self.id_token_request_url, &self.id_token_request) {
            (Some(url), Some(token)) => Some(IdTokenRequest {
                url: url.clone(),
                token: token.clone(),
            }),
            _ => None,
        }
    }

    /// The best token for `forge`: `GITHUB_TOKEN` for GitHub; `GITLAB_TOKEN`, else `CI_JOB_TOKEN`, for GitLab.
    pub fn forge_token(&self, forge: Forge) -> Option<ForgeToken> {
        let pick = |kind: ForgeTokenKind, secret: &Option<Secret>| {
            secret.clone().map(|secret| ForgeToken { kind, secret })
        };
        match forge {
            Forge::Github => pick(ForgeTokenKind::GithubToken, &self.github),
            Forge::Gitlab => pick(ForgeTokenKind::GitlabToken, &self.gitlab)
                .or_else(|| pick(ForgeTokenKind::CiJobToken, &self.ci_job)),
        }
    }

    /// The token for the forge of the platform we run on (see [`Tokens::forge_token`]); `None` locally.
    /// Use [`Tokens::forge_token`] when the header depends on the kind (GitLab's `CI_JOB_TOKEN` goes in `JOB-TOKEN`).
    pub fn token_for_forge(&self) -> Option<Secret> {
        let forge = self.platform.and_then(Platform::forge)?;
        self.forge_token(forge).map(|t| t.secret)
    }

    /// Every token present, for registration with a redactor or masker.
    pub fn all(&self) -> impl Iterator<Item = &Secret> {
        [
            &self.github,
            &self.gitlab,
            &self.ci_job,
            &self.id_token_request,
            &self.actions_runtime,
            &self.sigstore_id_token,
        ]
        .into_iter()
        .flatten()
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present: Vec<&str> = TOKEN_VARIABLES
            .iter()
            .copied()
            .zip([
                &self.github,
                &self.gitlab,
                &self.ci_job,
                &self.id_token_request,
                &self.actions_runtime,
                &self.sigstore_id_token,
            ])
            .filter_map(|(name, s)| s.as_ref().map(|_| name))
            .collect();
        f.debug_struct("Tokens").field("present", &present).finish()
    }
}
