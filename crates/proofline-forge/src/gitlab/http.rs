//! The one way this client talks to GitLab: the auth header, timeouts, the shared retry policy,
//! error bodies turned into messages, and offset pagination (`Link: rel="next"` / `x-next-page`).

use std::time::Duration;

use http::HeaderMap;
use reqwest::header::{HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use url::Url;

use super::GitLabAuth;
use crate::ForgeError;
use crate::retry::{self, Decision, RetryPolicy};

pub(crate) const FORGE: &str = "GitLab";
/// GitLab's maximum page size.
pub(crate) const PER_PAGE: u32 = 100;
/// At most this many pages per list (5,000 items): a project with more protected branches or
/// approval rules than that is reported as partly read rather than walked for minutes.
pub(crate) const MAX_PAGES: u32 = 50;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a GET did not produce its body, short of an operational error (`ForgeError`).
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// A client error other than 401 (403, 404, …), with GitLab's `message`.
    Refused { status: u16, message: String },
    /// Retries could not get past a server error or a rate limit.
    GaveUp { status: u16, reason: String },
}

impl Failure {
    /// A refusal with this status.
    pub fn is(&self, wanted: u16) -> bool {
        matches!(self, Self::Refused { status, .. } if *status == wanted)
    }
}

/// What one GET produced: the body, or why not.
pub(crate) type Fetch<T> = Result<T, Failure>;

/// Every page of a list, or the first `MAX_PAGES` of them.
#[derive(Debug)]
pub(crate) struct Listing<T> {
    pub items: Vec<T>,
    pub truncated: bool,
}

/// The HTTP side of [`super::GitLabClient`].
#[derive(Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    /// The API base without a trailing slash, e.g. `https://gitlab.example.com/api/v4`.
    base: Url,
    auth: GitLabAuth,
    /// `PRIVATE-TOKEN` or `JOB-TOKEN`, marked sensitive (never shown by `Debug`).
    auth_header: Option<(HeaderName, HeaderValue)>,
    retry: RetryPolicy,
}

impl Http {
    pub fn new(api_url: &str, auth: GitLabAuth, retry: RetryPolicy) -> Result<Self, ForgeError> {
        let invalid = |reason: &str| ForgeError::InvalidApiUrl {
            forge: FORGE,
            url: api_url.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = api_url.trim().trim_end_matches('/');
        let base = Url::parse(trimmed).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(invalid("it has no host"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(invalid(
                "it carries credentials; pass the token through GITLAB_TOKEN instead",
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid("it has a query or fragment"));
        }
        let client = reqwest::Client::builder()
            // A redirect would carry the token to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("proofline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(&format!("cannot build the HTTP client: {}", chain(&e))))?;
        let auth_header = auth_header(&auth)?;
        Ok(Self {
            client,
            base,
            auth,
            auth_header,
            retry,
        })
    }

    /// The API base as given (no trailing slash).
    pub fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// The variable the token came from, for error messages.
    pub fn token_variable(&self) -> &'static str {
        match self.auth {
            GitLabAuth::JobToken(_) => "CI_JOB_TOKEN",
            GitLabAuth::None | GitLabAuth::PrivateToken(_) => "GITLAB_TOKEN",
        }
    }

    pub fn is_job_token(&self) -> bool {
        matches!(self.auth, GitLabAuth::JobToken(_))
    }

    /// GET `path` (relative to the base, starting with `/`) and decode its JSON body.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<Fetch<T>, ForgeError> {
        let url = self.url(path, None)?;
        Ok(match self.send(&url, path).await? {
            Ok((body, _)) => Ok(decode(&body, path)?),
            Err(failure) => Err(failure),
        })
    }

    /// GET `path` and return the body undecoded (for integers wider than serde_json reads).
    pub async fn get_bytes(&self, path: &str) -> Result<Fetch<Vec<u8>>, ForgeError> {
        let url = self.url(path, None)?;
        Ok(self.send(&url, path).await?.map(|(body, _)| body))
    }

    /// GET every page of a list (`per_page=100`), following `Link: rel="next"` (same origin
    /// only) or `x-next-page`, up to [`MAX_PAGES`] pages.
    pub async fn get_list<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Fetch<Listing<T>>, ForgeError> {
        let mut items = Vec::new();
        let mut url = self.url(path, Some(1))?;
        for page in 1..=MAX_PAGES {
            let (body, headers) = match self.send(&url, path).await? {
                Ok(answer) => answer,
                Err(failure) => return Ok(Err(failure)),
            };
            let mut batch: Vec<T> = decode(&body, path)?;
            items.append(&mut batch);
            let link = self.next_link(&headers);
            let next = match (link, next_page_number(&headers)) {
                (Some(Ok(next)), _) => Some(next),
                (_, Some(n)) => Some(self.url(path, Some(n))?),
                (Some(Err(elsewhere)), None) => {
                    // A next page exists but only at another origin (a proxy's internal host?):
                    // the list is incomplete, and is said to be.
                    tracing::warn!(request = path, %elsewhere, "the next page is at another origin; not followed");
                    return Ok(Ok(Listing {
                        items,
                        truncated: true,
                    }));
                }
                (None, None) => None,
            };
            match next {
                Some(next) if next != url => url = next,
                _ => {
                    return Ok(Ok(Listing {
                        items,
                        truncated: false,
                    }));
                }
            }
            if page == MAX_PAGES {
                tracing::warn!(
                    request = path,
                    "stopped after {MAX_PAGES} pages of {PER_PAGE}; the rest is not read"
                );
            }
        }
        Ok(Ok(Listing {
            items,
            truncated: true,
        }))
    }

    fn url(&self, path: &str, page: Option<u32>) -> Result<Url, ForgeError> {
        let mut text = format!("{}{path}", self.base());
        if let Some(page) = page {
            text.push_str(&format!("?per_page={PER_PAGE}&page={page}"));
        }
        Url::parse(&text).map_err(|e| ForgeError::InvalidApiUrl {
            forge: FORGE,
            url: text.clone(),
            reason: e.to_string(),
        })
    }

    /// `Link: <…>; rel="next"`: `Ok` at the API's own origin (followed), `Err` elsewhere (the
    /// token is not sent there).
    fn next_link(&self, headers: &HeaderMap) -> Option<Result<Url, String>> {
        let next = headers
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|part| {
                let mut pieces = part.split(';');
                let target = pieces.next()?.trim().strip_prefix('<')?.strip_suffix('>')?;
                pieces
                    .any(|p| matches!(p.trim(), r#"rel="next""# | "rel=next"))
                    .then_some(target)
            })?;
        let Ok(url) = Url::parse(next) else {
            return Some(Err(next.to_owned()));
        };
        let same_origin = url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default();
        Some(if same_origin {
            Ok(url)
        } else {
            Err(next.to_owned())
        })
    }

    /// One GET with retries. 401 is an error (the token is wrong); other client errors are
    /// answers the caller interprets.
    async fn send(&self, url: &Url, path: &str) -> Result<Fetch<(Vec<u8>, HeaderMap)>, ForgeError> {
        let request = format!("GET {path}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut builder = self.client.get(url.clone());
            if let Some((name, value)) = &self.auth_header {
                builder = builder.header(name.clone(), value.clone());
            }
            let response = match builder.send().await {
                Ok(response) => response,
                Err(error) => {
                    // A refused connection or a timeout is retried like a 503, with the same
                    // backoff and bound; after that the host counts as unreachable.
                    let unreachable = || ForgeError::Unreachable {
                        forge: FORGE,
                        host: host_of(url),
                        request: request.clone(),
                        reason: format!("{} (after {attempt} attempts)", chain(&error)),
                    };
                    match self
                        .retry
                        .decide(503, &HeaderMap::new(), attempt, retry::now_unix())
                    {
                        Decision::RetryAfter(wait) => {
                            tracing::debug!(%request, ?wait, attempt, "retrying after a transport error");
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        Decision::Accept | Decision::GiveUp(_) => return Err(unreachable()),
                    }
                }
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            match self
                .retry
                .decide(status, &headers, attempt, retry::now_unix())
            {
                Decision::Accept => {}
                Decision::RetryAfter(wait) => {
                    tracing::debug!(%request, status, ?wait, attempt, "retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Decision::GiveUp(reason) => return Ok(Err(Failure::GaveUp { status, reason })),
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| ForgeError::UnreadableResponse {
                    forge: FORGE,
                    request: request.clone(),
                    reason: chain(&e),
                })?
                .to_vec();
            return match status {
                200..=299 => Ok(Ok((body, headers))),
                401 => Err(ForgeError::BadCredentials {
                    forge: FORGE,
                    request,
                    message: self.unauthorized_message(&body),
                    variable: self.token_variable().to_owned(),
                }),
                _ => Ok(Err(Failure::Refused {
                    status,
                    message: error_message(&body),
                })),
            };
        }
    }

    fn unauthorized_message(&self, body: &[u8]) -> String {
        let message = error_message(body);
        match self.auth {
            GitLabAuth::None => format!("{message}; no token was sent"),
            GitLabAuth::PrivateToken(_) => message,
            // GitLab doc/ci/jobs/ci_job_token.md, "Job token access": the job token reaches only
            // the listed APIs (packages, releases, deployments, …); commits signatures,
            // protected branches, push rules and approvals are not among them.
            GitLabAuth::JobToken(_) => format!(
                "{message}; CI_JOB_TOKEN can call only the APIs listed under \"Job token access\" in GitLab's CI/CD job token docs, so set GITLAB_TOKEN to a project or personal access token with the read_api scope"
            ),
        }
    }
}

/// The auth header for `auth`, refused up front when the token cannot travel in a header.
fn auth_header(auth: &GitLabAuth) -> Result<Option<(HeaderName, HeaderValue)>, ForgeError> {
    let (name, variable, secret) = match auth {
        GitLabAuth::None => return Ok(None),
        GitLabAuth::PrivateToken(secret) => ("private-token", "GITLAB_TOKEN", secret),
        GitLabAuth::JobToken(secret) => ("job-token", "CI_JOB_TOKEN", secret),
    };
    let mut value =
        HeaderValue::from_str(secret.expose().trim()).map_err(|_| ForgeError::BadCredentials {
            forge: FORGE,
            request: "(none sent)".to_owned(),
            message: "the token contains characters an HTTP header cannot carry (a newline?)"
                .to_owned(),
            variable: variable.to_owned(),
        })?;
    value.set_sensitive(true);
    Ok(Some((HeaderName::from_static(name), value)))
}

pub(crate) fn decode<T: DeserializeOwned>(body: &[u8], path: &str) -> Result<T, ForgeError> {
    serde_json::from_slice(body).map_err(|e| ForgeError::UnreadableResponse {
        forge: FORGE,
        request: format!("GET {path}"),
        reason: e.to_string(),
    })
}

fn next_page_number(headers: &HeaderMap) -> Option<u32> {
    headers
        .get("x-next-page")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// GitLab's `{"message": …}` (or `error`), else the start of the body.
fn error_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        for key in ["message", "error_description", "error"] {
            match value.get(key) {
                Some(serde_json::Value::String(text)) => return text.clone(),
                Some(other) => return other.to_string(),
                None => {}
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    text.chars().take(200).collect()
}

fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => url.as_str().to_owned(),
    }
}

/// An error and its sources, `a: b: c`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_come_from_the_body() {
        assert_eq!(
            error_message(br#"{"message":"404 GPG Signature Not Found"}"#),
            "404 GPG Signature Not Found"
        );
        assert_eq!(error_message(b"<html>oops</html>"), "<html>oops</html>");
        assert_eq!(error_message(b""), "(empty body)");
    }

    #[test]
    fn the_next_link_is_followed_only_to_the_same_origin() {
        let http = Http::new(
            "https://gitlab.example.com/api/v4/",
            GitLabAuth::None,
            RetryPolicy::default(),
        )
        .unwrap();
        assert_eq!(http.base(), "https://gitlab.example.com/api/v4");
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            r#"<https://gitlab.example.com/api/v4/x?page=1>; rel="prev", <https://gitlab.example.com/api/v4/x?page=3>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            http.next_link(&headers).unwrap().unwrap().as_str(),
            "https://gitlab.example.com/api/v4/x?page=3"
        );
        headers.insert(
            "link",
            r#"<https://evil.example/x?page=3>; rel="next""#.parse().unwrap(),
        );
        assert_eq!(
            http.next_link(&headers).unwrap().unwrap_err(),
            "https://evil.example/x?page=3"
        );
        headers.remove("link");
        assert!(http.next_link(&headers).is_none());
    }

    #[test]
    fn tokens_are_checked_up_front_and_never_shown() {
        let bad = GitLabAuth::PrivateToken(proofline_ci::Secret::new("abc\ndef"));
        assert!(matches!(
            Http::new("https://gitlab.example.com/api/v4", bad, RetryPolicy::default()),
            Err(ForgeError::BadCredentials { variable, .. }) if variable == "GITLAB_TOKEN"
        ));
        let good = GitLabAuth::JobToken(proofline_ci::Secret::new("s3cr3t-job"));
        let http = Http::new(
            "https://gitlab.example.com/api/v4",
            good,
            RetryPolicy::default(),
        )
        .unwrap();
        assert!(!format!("{http:?}").contains("s3cr3t-job"));
    }

    #[test]
    fn api_urls_with_credentials_or_odd_schemes_are_refused() {
        for url in [
            "ftp://gitlab.example.com/api/v4",
            "https://user:pw@gitlab.example.com/api/v4",
            "not a url",
        ] {
            assert!(matches!(
                Http::new(url, GitLabAuth::None, RetryPolicy::default()),
                Err(ForgeError::InvalidApiUrl { .. })
            ));
        }
    }
}
