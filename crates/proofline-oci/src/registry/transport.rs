//! HTTP to one registry: the TLS policy, timeouts, bounded retries honouring `Retry-After`,
//! redirects that never carry credentials to another host, and errors that name the registry,
//! the status, the registry's own error code and the fix.

use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{Method, Response, StatusCode};
use url::Url;

use super::Settings;
use crate::error::OciError;

/// Redirect hops we follow (blob storage behind a CDN needs one or two).
const MAX_REDIRECTS: usize = 5;
/// First backoff step; doubled on each retry, capped at [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// How much of an error body we read to find the registry's error code.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Whether plain HTTP is allowed to `host` (`host`, `host:port`, `[v6]:port`): loopback hosts
/// always, other hosts only when listed in `insecure` (with or without the port).
pub fn plain_http_allowed(host_port: &str, insecure: &[String]) -> bool {
    let (host, _) = split_host_port(host_port);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(ip) = host.parse::<IpAddr>()
        && ip.is_loopback()
    {
        return true;
    }
    insecure.iter().any(|entry| {
        let entry = entry.trim().trim_end_matches('/');
        let entry = entry.strip_prefix("http://").unwrap_or(entry);
        entry.eq_ignore_ascii_case(host_port)
            || (split_host_port(entry).1.is_none() && entry.eq_ignore_ascii_case(host))
    })
}

/// Splits `host[:port]` / `[v6][:port]` into the bare host (no brackets) and the port.
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            return (host, after.strip_prefix(':'));
        }
        return (s, None);
    }
    match s.rsplit_once(':') {
        // A bare IPv6 address has several colons and no port.
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (s, None),
    }
}

/// `host[:port]` of a URL, as users write it (brackets around IPv6).
pub(crate) fn host_port(url: &Url) -> String {
    let host = match url.host() {
        Some(url::Host::Ipv6(a)) => format!("[{a}]"),
        Some(h) => h.to_string(),
        None => String::new(),
    };
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// The API endpoint of a registry name: Docker Hub's API lives on `registry-1.docker.io`.
pub(crate) fn api_host(registry: &str) -> &str {
    match registry {
        "docker.io" | "index.docker.io" | "registry.hub.docker.com" => "registry-1.docker.io",
        other => other,
    }
}

/// A request, kept so it can be re-sent after an auth challenge or a retryable failure
/// (bodies are `Bytes`, cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    pub timeout: Option<Duration>,
    /// GET/HEAD of blobs: follow redirects (to blob storage) ourselves.
    pub follow_redirects: bool,
    /// Whether re-sending after a connection error is safe (no partial write can have landed).
    pub idempotent: bool,
    /// The body is streamed to a reader afterwards: no total timeout, only the idle limit.
    pub streaming: bool,
}

impl Request {
    pub fn new(method: Method, url: Url) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::POST
        );
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            timeout: None,
            follow_redirects: false,
            idempotent,
            streaming: false,
        }
    }

    pub fn header(mut self, name: reqwest::header::HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    pub fn body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }

    /// `METHOD /path` for messages: never the query (upload state, signed storage URLs).
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.url.path())
    }
}

/// The HTTP client of one registry.
#[derive(Debug)]
pub(crate) struct Transport {
    client: reqwest::Client,
    /// The registry as the user named it (`127.0.0.1:5000`, `docker.io`), for messages.
    pub registry: String,
    /// `scheme://host[:port]/` of its API.
    pub base: Url,
    settings: Settings,
}

impl Transport {
    pub fn new(registry: &str, settings: Settings) -> Result<Self, OciError> {
        let host = api_host(registry);
        let scheme = if plain_http_allowed(host, &settings.insecure_registries) {
            "http"
        } else {
            "https"
        };
        let base =
            Url::parse(&format!("{scheme}://{host}/")).map_err(|e| OciError::InvalidReference {
                reference: registry.to_string(),
                reason: format!("`{host}` is not a valid registry host: {e}"),
            })?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.timeout)
            .user_agent(concat!("proofline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OciError::Registry {
                registry: registry.to_string(),
                message: format!("cannot build the HTTP client: {}", error_chain(&e)),
            })?;
        Ok(Self {
            client,
            registry: registry.to_string(),
            base,
            settings,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `base` joined with an API path (`/v2/...`).
    pub fn url(&self, path: &str) -> Result<Url, OciError> {
        self.base
            .join(path)
            .map_err(|e| self.malformed(format!("URL path `{path}`"), e.to_string()))
    }

    /// Resolves a `Location` header against the URL that returned it, refusing what the TLS policy forbids.
    pub fn resolve_location(&self, from: &Url, resp: &Response) -> Result<Url, OciError> {
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                self.malformed(
                    "the upload response".into(),
                    "it has no Location header".into(),
                )
            })?;
        let url = from
            .join(loc)
            .map_err(|e| self.malformed("the Location header".into(), e.to_string()))?;
        self.check_url(&url)?;
        Ok(url)
    }

    /// Refuses anything but https, or http to a host the policy allows.
    pub fn check_url(&self, url: &Url) -> Result<(), OciError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if plain_http_allowed(&host_port(url), &self.settings.insecure_registries) => {
                Ok(())
            }
            "http" => Err(OciError::InsecureRefused {
                host: host_port(url),
            }),
            other => Err(self.malformed(
                format!("a URL from the registry ({})", url.path()),
                format!("scheme `{other}` is not http(s)"),
            )),
        }
    }

    fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    /// Sends `req`, retrying 429/5xx answers and connection failures with backoff. `auth` is
    /// attached only to requests to the registry's own origin. Returns whatever final answer the
    /// registry gave (including errors): callers map statuses with [`Transport::status_error`].
    pub async fn execute(
        &self,
        req: &Request,
        auth: Option<&HeaderValue>,
    ) -> Result<Response, OciError> {
        let max = self.settings.max_retries;
        let mut attempt = 0u32;
        loop {
            match self.execute_once(req, auth).await {
                Ok(resp) if retryable(resp.status()) && attempt < max => {
                    let wait = retry_after(resp.headers()).unwrap_or_else(|| backoff(attempt));
                    if wait > self.settings.max_retry_wait {
                        tracing::warn!(registry = %self.registry, request = %req.describe(), ?wait, "registry asked us to wait longer than allowed; giving up");
                        return Ok(resp);
                    }
                    tracing::debug!(registry = %self.registry, request = %req.describe(), status = %resp.status(), ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                }
                Ok(resp) => return Ok(resp),
                Err(SendError::Http(e))
                    if attempt < max && (req.idempotent || e.is_connect()) && !e.is_builder() =>
                {
                    let wait = backoff(attempt);
                    tracing::debug!(registry = %self.registry, request = %req.describe(), error = %error_chain(&e), ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(SendError::Http(e)) => return Err(self.send_error(req, &e)),
                Err(SendError::Oci(e)) => return Err(e),
            }
            attempt += 1;
        }
    }

    async fn execute_once(
        &self,
        req: &Request,
        auth: Option<&HeaderValue>,
    ) -> Result<Response, SendError> {
        let mut url = req.url.clone();
        let mut method = req.method.clone();
        for _ in 0..=MAX_REDIRECTS {
            self.check_url(&url).map_err(SendError::Oci)?;
            let mut rb = self
                .client
                .request(method.clone(), url.clone())
                .headers(req.headers.clone());
            if !req.streaming {
                rb = rb.timeout(req.timeout.unwrap_or(self.settings.timeout));
            }
            if let (Some(a), true) = (auth, self.same_origin(&url)) {
                rb = rb.header(AUTHORIZATION, a.clone());
            }
            if let Some(b) = &req.body {
                rb = rb.body(b.clone());
            }
            let resp = rb.send().await.map_err(SendError::Http)?;
            let redirect = matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308);
            if !(req.follow_redirects && redirect && matches!(method, Method::GET | Method::HEAD)) {
                return Ok(resp);
            }
            let Some(loc) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
                return Ok(resp);
            };
            url = url.join(loc).map_err(|e| {
                SendError::Oci(self.malformed("a redirect's Location".into(), e.to_string()))
            })?;
            if resp.status() == StatusCode::SEE_OTHER {
                method = Method::GET;
            }
            tracing::debug!(registry = %self.registry, to = %host_port(&url), "following redirect");
        }
        Err(SendError::Oci(OciError::Registry {
            registry: self.registry.clone(),
            message: format!(
                "{} redirected more than {MAX_REDIRECTS} times; the registry or its storage is misconfigured",
                req.describe()
            ),
        }))
    }

    fn send_error(&self, req: &Request, e: &reqwest::Error) -> OciError {
        let fix = if e.is_timeout() {
            format!(
                "the registry did not answer within the timeout ({}s); check the network or raise the timeout",
                self.settings.timeout.as_secs()
            )
        } else if e.is_connect() && self.base.scheme() == "https" {
            format!(
                "check the address and that it serves HTTPS; a registry that only speaks plain HTTP needs --insecure-registry {}",
                self.registry
            )
        } else {
            "check the registry address and that it is running".to_string()
        };
        OciError::Registry {
            registry: self.registry.clone(),
            message: format!(
                "{} failed after {} retries: {}; {fix}",
                req.describe(),
                self.settings.max_retries,
                error_chain(e)
            ),
        }
    }

    pub fn malformed(&self, what: String, reason: String) -> OciError {
        OciError::Malformed {
            what: format!("{what} from registry {}", self.registry),
            reason,
        }
    }

    /// The error for a final non-success answer: the registry's error code and message, and the fix.
    /// `not_found` names the thing a 404 means is missing (`manifest app:1.0`), `store` where.
    pub async fn status_error(
        &self,
        req: &Request,
        resp: Response,
        not_found: Option<(&str, &str)>,
    ) -> OciError {
        let status = resp.status();
        let body = read_capped(resp, MAX_ERROR_BODY).await.unwrap_or_default();
        let codes = distribution_errors(&body);
        let detail = if codes.is_empty() {
            String::new()
        } else {
            format!(" ({})", codes.join("; "))
        };
        let registry = self.registry.clone();
        let what = req.describe();
        match status.as_u16() {
            404 if not_found.is_some() => {
                let (thing, store) = not_found.unwrap_or_default();
                OciError::NotFound {
                    what: format!("{thing}{detail}"),
                    store: store.to_string(),
                }
            }
            401 => OciError::Auth {
                registry: registry.clone(),
                message: format!(
                    "{what} returned {status}{detail}; check PROOFLINE_REGISTRY_USERNAME/PROOFLINE_REGISTRY_PASSWORD or run `docker login {registry}`"
                ),
            },
            403 => OciError::Auth {
                registry,
                message: format!(
                    "{what} returned {status}{detail}; the credentials are valid but lack access to this repository for this operation: check the account's permissions"
                ),
            },
            429 => OciError::Registry {
                registry,
                message: format!(
                    "{what} returned {status}{detail} after {} retries; the registry is rate-limiting us: wait and retry, or authenticate for a higher limit",
                    self.settings.max_retries
                ),
            },
            500..=599 => OciError::Registry {
                registry,
                message: format!(
                    "{what} returned {status}{detail} after {} retries; the registry is failing: retry later",
                    self.settings.max_retries
                ),
            },
            _ => OciError::Registry {
                registry,
                message: format!("{what} returned {status}{detail}{}", fix_for(status, &body)),
            },
        }
    }
}

enum SendError {
    Http(reqwest::Error),
    Oci(OciError),
}

fn retryable(s: StatusCode) -> bool {
    matches!(s.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

fn backoff(attempt: u32) -> Duration {
    BASE_BACKOFF
        .saturating_mul(1u32 << attempt.min(10))
        .min(MAX_BACKOFF)
}

/// `Retry-After` in delta-seconds (the HTTP-date form falls back to our own backoff).
pub(crate) fn retry_after(h: &HeaderMap) -> Option<Duration> {
    h.get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Reads at most `cap` bytes of a body (an error body or a token answer).
pub(crate) async fn read_capped(mut resp: Response, cap: usize) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = cap.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= cap {
            break;
        }
    }
    Ok(out)
}

/// `CODE: message` of each entry of a distribution error body (`{"errors":[{code,message,detail}]}`).
pub(crate) fn distribution_errors(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let Ok(b) = serde_json::from_slice::<Body>(body) else {
        return Vec::new();
    };
    b.errors
        .into_iter()
        .take(5)
        .map(|e| {
            let msg: String = e.message.chars().take(300).collect();
            match (e.code.is_empty(), msg.is_empty()) {
                (false, false) => format!("{}: {msg}", e.code),
                (false, true) => e.code,
                _ => msg,
            }
        })
        .collect()
}

fn fix_for(status: StatusCode, body: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(body);
    if text.contains("BLOB_UNKNOWN") || text.contains("MANIFEST_BLOB_UNKNOWN") {
        "; push every blob the manifest references before the manifest"
    } else if text.contains("MANIFEST_INVALID") {
        "; the registry rejected the manifest: check it is a valid OCI or Docker v2 manifest"
    } else if text.contains("DIGEST_INVALID") {
        "; the uploaded bytes do not match their digest: the source blob is corrupt"
    } else if text.contains("NAME_INVALID") || text.contains("NAME_UNKNOWN") {
        "; check the repository name"
    } else if text.contains("UNSUPPORTED") || status == StatusCode::METHOD_NOT_ALLOWED {
        "; the registry does not support this operation (read-only, a pull-through cache, or deletes disabled)"
    } else if status == StatusCode::PAYLOAD_TOO_LARGE {
        "; the registry refuses a body this large"
    } else {
        ""
    }
}

/// An error and its causes on one line, without the URL (queries can hold upload state or signed URLs).
pub(crate) fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut parts = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = e.source();
    parts.push(if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else if e.is_body() || e.is_decode() {
        "reading the response failed".to_string()
    } else {
        "request failed".to_string()
    });
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p == &text) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_and_listed_hosts() {
        let none: Vec<String> = Vec::new();
        for ok in [
            "127.0.0.1:5000",
            "127.8.9.1",
            "localhost:80",
            "LOCALHOST",
            "[::1]:5000",
            "::1",
        ] {
            assert!(plain_http_allowed(ok, &none), "{ok}");
        }
        for refused in [
            "10.0.0.1:5000",
            "registry.example:5000",
            "0.0.0.0:5000",
            "localhost.evil.example",
            "[::2]:5000",
            "127.0.0.1.nip.io",
        ] {
            assert!(!plain_http_allowed(refused, &none), "{refused}");
        }
        let listed = vec![
            "registry.example:5000".to_string(),
            "http://other.example".to_string(),
        ];
        assert!(plain_http_allowed("registry.example:5000", &listed));
        assert!(
            !plain_http_allowed("registry.example:5001", &listed),
            "a listed port is exact"
        );
        assert!(
            plain_http_allowed("other.example:1234", &listed),
            "a listed host without port allows any port"
        );
    }

    #[test]
    fn docker_hub_api_host() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("ghcr.io"), "ghcr.io");
    }

    #[test]
    fn distribution_errors_are_summarised() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        assert_eq!(
            distribution_errors(body),
            vec!["MANIFEST_UNKNOWN: manifest unknown".to_string()]
        );
        assert!(distribution_errors(b"<html>").is_empty());
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
        assert_eq!(backoff(0), BASE_BACKOFF);
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
