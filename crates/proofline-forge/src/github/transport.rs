//! Every GitHub request goes through here: one place that retries rate limits and server errors
//! under the [`RetryPolicy`], turns 401 and connection failures into errors, reads the forge's
//! error `message`, and follows `Link: <…>; rel="next"` pagination to a bounded depth.

use std::time::Duration;

use http::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::ForgeError;
use crate::retry::{Decision, RetryPolicy, now_unix};

/// The forge name used in errors.
pub(super) const FORGE: &str = "GitHub";
/// The variable a GitHub token is expected in (named in the 401 error).
pub(super) const TOKEN_VARIABLE: &str = "GITHUB_TOKEN";
/// Items per page: GitHub's maximum.
pub(super) const PER_PAGE: usize = 100;
/// Pages followed per list. 30 pages of 100 is far more than any review list or rule list we
/// read; a list that goes on is reported as not read to the end (indeterminate), never cut short
/// silently, because a late review (changes requested) or rule can change the verdict.
pub(super) const MAX_PAGES: usize = 30;
/// A whole request (connect, headers, body) must finish within this; octocrab's connect and
/// read timeouts guard the pieces.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest piece of a non-JSON error body we quote.
const QUOTE_LIMIT: usize = 200;

/// One answer from GitHub.
pub(super) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The forge's `message`, or the start of the body, or the status text.
    pub fn message(&self) -> String {
        #[derive(Deserialize)]
        struct ErrorBody {
            message: Option<String>,
        }
        if let Ok(ErrorBody {
            message: Some(message),
        }) = serde_json::from_str(&self.body)
        {
            return message;
        }
        let text = self.body.trim();
        if text.is_empty() {
            return http::StatusCode::from_u16(self.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("no message")
                .to_owned();
        }
        let mut quoted: String = text.chars().take(QUOTE_LIMIT).collect();
        if quoted.len() < text.len() {
            quoted.push('…');
        }
        quoted
    }
}

/// A request the forge did not answer with what we asked: an error status we accept as the
/// answer (403, 404, 422 …), or a rate limit / server error we stopped retrying.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    /// `GET /repos/o/r/…` (no host, no query).
    pub request: String,
    pub status: Option<u16>,
    /// What the forge said (its `message`), or why we stopped.
    pub message: String,
    pub kind: FailureKind,
}

/// Why a request failed, which decides the fix to name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FailureKind {
    /// GitHub answered with this error status: the fix is the endpoint's permission.
    Answered,
    /// We stopped retrying a rate limit or a server error (the policy's reason): retry later.
    GaveUp(String),
    /// A list went on past [`MAX_PAGES`]: not read to the end.
    TooLong,
}

impl Failure {
    /// GitHub itself answered this status (not a retry we gave up).
    pub fn answered(&self, status: u16) -> bool {
        self.kind == FailureKind::Answered && self.status == Some(status)
    }
}

/// The answer to one request or list: the value, or a [`Failure`] the caller turns into an
/// `Indeterminate` with the permission its endpoint needs.
pub(super) type Fetched<T> = Result<T, Failure>;

/// octocrab plus the retry policy and the API base every URL is built on.
pub(super) struct Transport {
    octocrab: octocrab::Octocrab,
    retry: RetryPolicy,
    /// The API base without a trailing slash, e.g. `https://ghe.example.com/api/v3`.
    base: url::Url,
    /// `host[:port]` for errors.
    host: String,
}

impl Transport {
    pub fn new(octocrab: octocrab::Octocrab, retry: RetryPolicy, base: url::Url) -> Self {
        let host = match (base.host_str(), base.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => base.as_str().to_owned(),
        };
        Self {
            octocrab,
            retry,
            base,
            host,
        }
    }

    /// The absolute URL of an API path (`/repos/…`), under the base's own path (`/api/v3`).
    fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}{}",
            self.base.as_str().trim_end_matches('/'),
            path_and_query
        )
    }

    /// One JSON object: `Ok` on 2xx (unreadable JSON is an error), a [`Failure`] on an error
    /// status the caller judges.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<Fetched<T>, ForgeError> {
        let request = label(path_and_query);
        let reply = match self.send(&self.url(path_and_query), &request).await? {
            Ok(reply) => reply,
            Err(failure) => return Ok(Err(failure)),
        };
        if !reply.is_success() {
            return Ok(Err(Failure {
                request,
                status: Some(reply.status),
                message: reply.message(),
                kind: FailureKind::Answered,
            }));
        }
        parse(&reply, &request).map(Ok)
    }

    /// Every item of a paginated list (`per_page=100`, following `rel="next"` up to
    /// [`MAX_PAGES`]). Any error status on any page is that page's [`Failure`]: a list is
    /// read whole or not at all.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Fetched<Vec<T>>, ForgeError> {
        let request = label(path);
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut next = Some(self.url(&format!("{path}{separator}per_page={PER_PAGE}")));
        let mut items = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            if pages == MAX_PAGES {
                return Ok(Err(Failure {
                    request,
                    status: None,
                    message: format!(
                        "the list goes on past {MAX_PAGES} pages of {PER_PAGE}; it was not read to the end"
                    ),
                    kind: FailureKind::TooLong,
                }));
            }
            pages += 1;
            let reply = match self.send(&url, &request).await? {
                Ok(reply) => reply,
                Err(failure) => return Ok(Err(failure)),
            };
            if !reply.is_success() {
                return Ok(Err(Failure {
                    request,
                    status: Some(reply.status),
                    message: reply.message(),
                    kind: FailureKind::Answered,
                }));
            }
            items.extend(parse::<Vec<T>>(&reply, &request)?);
            next = match next_link(&reply.headers) {
                Some(link) => Some(self.same_api(&link, &request)?),
                None => None,
            };
        }
        Ok(Ok(items))
    }

    /// A `next` link must stay on the API we were given (we never send the token elsewhere).
    fn same_api(&self, link: &str, request: &str) -> Result<String, ForgeError> {
        let parsed = url::Url::parse(link).map_err(|e| self.unreadable(request, e))?;
        let same = parsed.scheme() == self.base.scheme()
            && parsed.host_str() == self.base.host_str()
            && parsed.port_or_known_default() == self.base.port_or_known_default()
            && parsed
                .path()
                .starts_with(self.base.path().trim_end_matches('/'));
        if same {
            Ok(parsed.into())
        } else {
            Err(self.unreadable(
                request,
                format!("its Link rel=\"next\" points outside the API base: {link}"),
            ))
        }
    }

    fn unreadable(&self, request: &str, reason: impl ToString) -> ForgeError {
        ForgeError::UnreadableResponse {
            forge: FORGE,
            request: request.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// Sends one GET, retrying as the policy decides. `Ok(Ok(reply))` is an answer to judge
    /// (any status but 401); `Ok(Err(failure))` means we stopped retrying.
    async fn send(&self, url: &str, request: &str) -> Result<Fetched<Reply>, ForgeError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            tracing::debug!(request, attempt, "GitHub request");
            let reply = match tokio::time::timeout(REQUEST_TIMEOUT, self.send_once(url)).await {
                Ok(Ok(reply)) => reply,
                Ok(Err(reason)) => {
                    self.connection_retry(request, attempt, reason).await?;
                    continue;
                }
                Err(_) => {
                    let reason = format!("no answer within {} s", REQUEST_TIMEOUT.as_secs());
                    self.connection_retry(request, attempt, reason).await?;
                    continue;
                }
            };
            if reply.status == 401 {
                return Err(ForgeError::BadCredentials {
                    forge: FORGE,
                    request: request.to_owned(),
                    message: reply.message(),
                    variable: TOKEN_VARIABLE.to_owned(),
                });
            }
            match self
                .retry
                .decide(reply.status, &reply.headers, attempt, now_unix())
            {
                Decision::Accept => return Ok(Ok(reply)),
                Decision::RetryAfter(wait) => {
                    tracing::warn!(
                        request,
                        status = reply.status,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "GitHub asked us to wait; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp(why) => {
                    return Ok(Err(Failure {
                        request: request.to_owned(),
                        status: Some(reply.status),
                        message: reply.message(),
                        kind: FailureKind::GaveUp(why),
                    }));
                }
            }
        }
    }

    /// After a connection failure: wait like after a 503 and return, or give up as
    /// [`ForgeError::Unreachable`].
    async fn connection_retry(
        &self,
        request: &str,
        attempt: u32,
        reason: String,
    ) -> Result<(), ForgeError> {
        match self
            .retry
            .decide(503, &HeaderMap::new(), attempt, now_unix())
        {
            Decision::RetryAfter(wait) => {
                tracing::warn!(request, attempt, %reason, "GitHub unreachable; retrying");
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Decision::Accept | Decision::GiveUp(_) => Err(ForgeError::Unreachable {
                forge: FORGE,
                host: self.host.clone(),
                request: request.to_owned(),
                reason: format!("{reason} (after {attempt} attempts)"),
            }),
        }
    }

    async fn send_once(&self, url: &str) -> Result<Reply, String> {
        let response = self.octocrab._get(url).await.map_err(|e| error_chain(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = self
            .octocrab
            .body_to_string(response)
            .await
            .map_err(|e| error_chain(&e))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// `GET /path` without the query: the request as named in sources and errors.
fn label(path_and_query: &str) -> String {
    let path = path_and_query
        .split_once('?')
        .map_or(path_and_query, |(path, _)| path);
    format!("GET {path}")
}

fn parse<T: DeserializeOwned>(reply: &Reply, request: &str) -> Result<T, ForgeError> {
    serde_json::from_str(&reply.body).map_err(|e| ForgeError::UnreadableResponse {
        forge: FORGE,
        request: request.to_owned(),
        reason: format!("HTTP {}: {e}", reply.status),
    })
}

/// An error and its causes on one line (octocrab wraps hyper wraps io).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The `rel="next"` URL of a `Link` header (RFC 8288), if any.
pub(super) fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|link| {
            let (target, params) = link.trim().split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            params
                .split(';')
                .filter_map(|param| param.trim().split_once('='))
                .any(|(name, value)| {
                    name.trim().eq_ignore_ascii_case("rel")
                        && value
                            .trim()
                            .trim_matches('"')
                            .split_ascii_whitespace()
                            .any(|rel| rel.eq_ignore_ascii_case("next"))
                })
                .then(|| target.to_owned())
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::LINK,
            "<https://api.github.com/resource?page=2>; rel=\"next\", <https://api.github.com/resource?page=5>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://api.github.com/resource?page=2")
        );
        headers.insert(
            http::header::LINK,
            "<https://api.github.com/resource?page=1>; rel=\"prev\", <https://api.github.com/resource?page=1>; rel=\"first\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&headers), None);
    }

    #[test]
    fn labels_drop_the_query() {
        assert_eq!(
            label("/repos/o/r/pulls/1/reviews?per_page=100"),
            "GET /repos/o/r/pulls/1/reviews"
        );
    }
}
