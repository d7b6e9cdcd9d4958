//! Which CI system we run on, decided from the variables each runner always sets.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::env::Env;

/// The CI system the process runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    /// GitHub Actions (`GITHUB_ACTIONS=true`), github.com or GitHub Enterprise Server.
    GithubActions,
    /// GitLab CI/CD (`GITLAB_CI=true`), gitlab.com or self-managed.
    GitlabCi,
    /// Neither: a developer machine or another CI system.
    Local,
}

impl Platform {
    /// Detect the platform: `GITHUB_ACTIONS=true` wins over `GITLAB_CI=true` (a GitHub workflow cannot override
    /// `GITHUB_ACTIONS` through `env:`, while any job can export `GITLAB_CI`); anything else is local.
    pub fn detect(env: &dyn Env) -> Self {
        if env.var("GITHUB_ACTIONS").as_deref() == Some("true") {
            Self::GithubActions
        } else if env.var("GITLAB_CI").as_deref() == Some("true") {
            Self::GitlabCi
        } else {
            Self::Local
        }
    }

    /// Stable kebab-case name, as serialized: `github-actions`, `gitlab-ci`, `local`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GithubActions => "github-actions",
            Self::GitlabCi => "gitlab-ci",
            Self::Local => "local",
        }
    }

    /// The forge whose API this platform's tokens are for (`None` locally).
    pub fn forge(self) -> Option<Forge> {
        match self {
            Self::GithubActions => Some(Forge::Github),
            Self::GitlabCi => Some(Forge::Gitlab),
            Self::Local => None,
        }
    }

    /// The variable whose value `true` selected this platform, for error messages.
    pub(crate) fn marker(self) -> &'static str {
        match self {
            Self::GithubActions => "GITHUB_ACTIONS",
            Self::GitlabCi => "GITLAB_CI",
            Self::Local => "(none)",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code forge with an API we talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Forge {
    /// github.com, GHE.com or GitHub Enterprise Server.
    Github,
    /// gitlab.com or self-managed GitLab.
    Gitlab,
}
