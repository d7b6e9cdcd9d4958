//! GitHub through octocrab: commit verification, classic protection and rulesets merged,
//! reviews and CODEOWNERS errors.

mod commits;
mod grants;
mod protection;
mod review;
mod transport;

use std::fmt;
use std::time::Duration;

use proofline_ci::Secret;

use crate::model::{ForgeKind, ForgeQuery, ForgeView, Indeterminate};
use crate::{ForgeError, RetryPolicy};

use transport::{FORGE, Failure, FailureKind, TOKEN_VARIABLE, Transport};

/// Connecting to the API host must succeed within this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// No read on an open connection may stall longer than this.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of the GitHub REST API (github.com or a GitHub Enterprise Server API base).
pub struct GitHubClient {
    transport: Transport,
    api_url: String,
    authenticated: bool,
}

impl fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token: only whether there is one.
        f.debug_struct("GitHubClient")
            .field("api_url", &self.api_url)
            .field("authenticated", &self.authenticated)
            .finish()
    }
}

impl GitHubClient {
    /// A client of the API at `api_url` (`https://api.github.com`,
    /// `https://ghe.example.com/api/v3`, or a plain `http://` test server). Without a token (or
    /// with an empty one) requests are anonymous. The token is sent only to `api_url`'s host.
    /// Call it inside a Tokio runtime (octocrab starts its connection pool there).
    pub fn new(
        api_url: &str,
        token: Option<Secret>,
        retry: RetryPolicy,
    ) -> Result<Self, ForgeError> {
        let base = parse_api_url(api_url)?;
        let api_url = base.as_str().trim_end_matches('/').to_owned();
        let mut builder = octocrab::Octocrab::builder()
            .base_uri(api_url.as_str())
            .map_err(|e| invalid_url(&api_url, e.to_string()))?
            .add_header(
                http::header::ACCEPT,
                "application/vnd.github+json".to_owned(),
            )
            .set_connect_timeout(Some(CONNECT_TIMEOUT))
            .set_read_timeout(Some(READ_TIMEOUT));
        let token = token.filter(|t| !t.expose().trim().is_empty());
        let authenticated = token.is_some();
        if let Some(token) = token {
            let value = token.expose().trim();
            // octocrab panics on a token a header cannot carry; refuse it here instead.
            if http::HeaderValue::from_str(value).is_err() {
                return Err(ForgeError::BadCredentials {
                    forge: FORGE,
                    request: "no request: the token was not sent".to_owned(),
                    message: "the token contains characters an HTTP header cannot carry (a line break or a control character?)".to_owned(),
                    variable: TOKEN_VARIABLE.to_owned(),
                });
            }
            builder = builder.personal_token(value.to_owned());
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ForgeError::Unreachable {
                forge: FORGE,
                host: api_url,
                request: "setting up the HTTPS client".to_owned(),
                reason: "GitHubClient::new was called outside a Tokio runtime".to_owned(),
            });
        }
        let octocrab = builder.build().map_err(|e| ForgeError::Unreachable {
            forge: FORGE,
            host: api_url.clone(),
            request: "setting up the HTTPS client".to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            transport: Transport::new(octocrab, retry, base),
            api_url,
            authenticated,
        })
    }

    /// The API base, without a trailing slash.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Everything GitHub says about `query`: each commit's signature verification, the branch's
    /// protection (classic protection and rulesets merged), the pull request's reviews and the
    /// CODEOWNERS errors. What the token cannot see is `Indeterminate`; `Err` only when the run
    /// cannot go on (bad repository name, rejected token, unreachable host, unreadable answer).
    pub async fn view(&self, query: &ForgeQuery) -> Result<ForgeView, ForgeError> {
        let repo = Repo::parse(&query.repository)?;
        let mut commits = Vec::with_capacity(query.commits.len());
        for sha in &query.commits {
            commits.push(commits::commit(&self.transport, &repo, sha).await?);
        }
        let protection = match &query.branch {
            Some(branch) => Some(protection::protection(&self.transport, &repo, branch).await?),
            None => None,
        };
        let review = match query.change_request {
            Some(number) => Some(review::review(&self.transport, &repo, number).await?),
            None => None,
        };
        let codeowners =
            Some(review::codeowners(&self.transport, &repo, query.branch.as_deref()).await?);
        Ok(ForgeView {
            forge: ForgeKind::GitHub,
            api_url: self.api_url.clone(),
            repository: repo.full_name(),
            commits,
            protection,
            review,
            codeowners,
        })
    }
}

/// `owner/repo`, checked, with its path form.
struct Repo {
    owner: String,
    name: String,
}

impl Repo {
    fn parse(repository: &str) -> Result<Self, ForgeError> {
        let invalid = || ForgeError::InvalidRepository {
            forge: FORGE,
            repository: repository.to_owned(),
            what: "`owner/repo` name",
            fix: "pass it as owner/repo, e.g. octocat/Hello-World",
        };
        let (owner, name) = repository.split_once('/').ok_or_else(invalid)?;
        let valid = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !valid(owner) || !valid(name) {
            return Err(invalid());
        }
        Ok(Self {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// `/repos/{owner}/{repo}` followed by `rest` (which starts with `/`).
    fn path(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.owner, self.name)
    }
}

/// A value as URL path segments: `/` kept between segments when `keep_slash` (branch names),
/// everything but unreserved characters percent-encoded, and `.`/`..` segments encoded so they
/// can never walk up the path.
fn encode_path(value: &str, keep_slash: bool) -> String {
    let encode_segment = |segment: &str| {
        let mut out = String::with_capacity(segment.len());
        let dots_only = segment == "." || segment == "..";
        for byte in segment.bytes() {
            let c = char::from(byte);
            if !dots_only && (c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')) {
                out.push(c);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    };
    if keep_slash {
        value
            .split('/')
            .map(encode_segment)
            .collect::<Vec<_>>()
            .join("/")
    } else {
        encode_segment(value)
    }
}

/// A query parameter value, percent-encoded.
fn encode_query(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Why a request's fact is indeterminate: the forge's answer, and `grant` as the fix (or "retry
/// later" when we stopped retrying a rate limit or a server error).
fn indeterminate(failure: &Failure, grant: &str) -> Indeterminate {
    let (reason, grant) = match &failure.kind {
        FailureKind::Answered => (failure.message.clone(), grant.to_owned()),
        FailureKind::GaveUp(why) => (
            format!("{} ({why}); retry later", failure.message),
            grants::retry_later(why),
        ),
        FailureKind::TooLong => (failure.message.clone(), grants::too_long()),
    };
    Indeterminate {
        source: failure.request.clone(),
        http_status: failure.status,
        reason,
        grant,
    }
}

fn parse_api_url(api_url: &str) -> Result<url::Url, ForgeError> {
    let url = url::Url::parse(api_url.trim()).map_err(|e| invalid_url(api_url, e.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid_url(api_url, "the scheme must be https (or http)"));
    }
    if url.host_str().is_none() {
        return Err(invalid_url(api_url, "it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid_url(
            api_url,
            "it carries credentials; pass the token separately",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid_url(api_url, "it has a query or a fragment"));
    }
    Ok(url)
}

fn invalid_url(url: &str, reason: impl Into<String>) -> ForgeError {
    ForgeError::InvalidApiUrl {
        forge: FORGE,
        url: url.to_owned(),
        reason: reason.into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn repository_must_be_owner_slash_repo() {
        assert!(Repo::parse("octocat/Hello-World").is_ok());
        assert!(Repo::parse("octo-org/repo.name_2").is_ok());
        for bad in [
            "octocat", "octocat/", "/repo", "a/b/c", "a/..", "a b/c", "a/b?x",
        ] {
            assert!(
                matches!(Repo::parse(bad), Err(ForgeError::InvalidRepository { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn branch_paths_keep_slashes_and_encode_the_rest() {
        assert_eq!(encode_path("release/1.0", true), "release/1.0");
        assert_eq!(encode_path("feat/a b#c", true), "feat/a%20b%23c");
        assert_eq!(encode_path("a/../b", true), "a/%2E%2E/b");
        assert_eq!(encode_path("a/b", false), "a%2Fb");
    }

    #[test]
    fn api_urls_are_checked() {
        assert!(parse_api_url("https://ghe.example.com/api/v3").is_ok());
        assert!(parse_api_url("http://127.0.0.1:8080").is_ok());
        for bad in [
            "ftp://x",
            "not a url",
            "https://user:pw@api.github.com",
            "https://api.github.com?x=1",
        ] {
            assert!(
                matches!(parse_api_url(bad), Err(ForgeError::InvalidApiUrl { .. })),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn tokens_are_trimmed_and_unsendable_ones_refused_without_a_panic() {
        let policy = RetryPolicy::default();
        let client = GitHubClient::new(
            "https://api.github.com",
            Some(Secret::new("ghp_abc\n")),
            policy,
        )
        .unwrap();
        assert!(client.authenticated);
        let anonymous =
            GitHubClient::new("https://api.github.com", Some(Secret::new("  ")), policy).unwrap();
        assert!(!anonymous.authenticated);
        let error = GitHubClient::new(
            "https://api.github.com",
            Some(Secret::new("ghp_a\nb")),
            policy,
        )
        .unwrap_err();
        assert!(
            matches!(&error, ForgeError::BadCredentials { variable, .. } if variable == "GITHUB_TOKEN"),
            "{error:?}"
        );
        assert!(!error.to_string().contains("ghp_a"), "{error}");
    }

    #[test]
    fn outside_a_runtime_new_is_an_error_not_a_panic() {
        let error =
            GitHubClient::new("https://api.github.com", None, RetryPolicy::default()).unwrap_err();
        assert!(matches!(error, ForgeError::Unreachable { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn debug_never_shows_the_token() {
        let client = GitHubClient::new(
            "https://api.github.com",
            Some(Secret::new("ghp_supersecret")),
            RetryPolicy::default(),
        )
        .unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("supersecret"), "{debug}");
        assert!(debug.contains("authenticated: true"), "{debug}");
    }
}
