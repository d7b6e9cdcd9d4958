//! Answering a registry's `401`: parse `WWW-Authenticate`, send Basic credentials or fetch a
//! bearer token from the realm (with Basic credentials or an identity token, or anonymously),
//! and cache tokens per scope so each later request carries one without another round trip.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, Response};
use url::Url;

use super::credentials::{self, Credentials, Found, Secret};
use super::transport::{Request, Transport, host_port, read_capped};
use crate::error::OciError;

/// Largest token answer we read.
const MAX_TOKEN_BODY: usize = 1024 * 1024;
/// Token lifetime when the answer gives none (the distribution token spec's default).
const DEFAULT_TOKEN_SECS: u64 = 60;

/// One challenge of a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses `WWW-Authenticate` values: `Bearer realm="…",service="…",scope="…"`, `Basic realm="…"`.
/// Several challenges in one value are split where a new scheme starts.
pub(crate) fn parse_challenges<'a>(values: impl Iterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for value in values {
        let mut scheme: Option<String> = None;
        let mut params: Vec<(String, String)> = Vec::new();
        let mut rest = value.trim();
        let flush = |scheme: &mut Option<String>,
                     params: &mut Vec<(String, String)>,
                     out: &mut Vec<Challenge>| {
            if let Some(s) = scheme.take() {
                let get = |k: &str| {
                    params
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(k))
                        .map(|(_, v)| v.clone())
                };
                if s.eq_ignore_ascii_case("basic") {
                    out.push(Challenge::Basic);
                } else if s.eq_ignore_ascii_case("bearer")
                    && let Some(realm) = get("realm")
                {
                    out.push(Challenge::Bearer {
                        realm,
                        service: get("service"),
                        scope: get("scope"),
                    });
                }
            }
            params.clear();
        };
        while !rest.is_empty() {
            rest = rest.trim_start_matches([' ', ',', '\t']);
            let end = rest.find(['=', ' ', ',']).unwrap_or(rest.len());
            let token = &rest[..end];
            let after = &rest[end..];
            if after.trim_start_matches(' ').starts_with('=') && scheme.is_some() {
                let after = after.trim_start_matches(' ')[1..].trim_start_matches(' ');
                let (val, remaining) = parse_value(after);
                params.push((token.to_string(), val));
                rest = remaining;
            } else if !token.is_empty() {
                flush(&mut scheme, &mut params, &mut out);
                scheme = Some(token.to_string());
                rest = after;
            } else {
                break;
            }
        }
        flush(&mut scheme, &mut params, &mut out);
    }
    out
}

/// A quoted string (with `\` escapes) or a token, and what follows it.
fn parse_value(s: &str) -> (String, &str) {
    if let Some(body) = s.strip_prefix('"') {
        let mut val = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        val.push(n);
                    }
                }
                '"' => return (val, &body[i + 1..]),
                c => val.push(c),
            }
        }
        (val, "")
    } else {
        let end = s.find([',', ' ']).unwrap_or(s.len());
        (s[..end].to_string(), &s[end..])
    }
}

/// The access a request needs, as token scopes (`repository:app:pull`, one action each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope(BTreeSet<(String, String)>);

impl Scope {
    pub fn pull(repo: &str) -> Self {
        Self(
            [(repo.to_string(), "pull".to_string())]
                .into_iter()
                .collect(),
        )
    }

    pub fn push(repo: &str) -> Self {
        Self(
            [
                (repo.to_string(), "pull".to_string()),
                (repo.to_string(), "push".to_string()),
            ]
            .into_iter()
            .collect(),
        )
    }

    /// Adds pull access to another repository (the source of a cross-repository mount).
    pub fn with_pull(mut self, repo: &str) -> Self {
        self.0.insert((repo.to_string(), "pull".to_string()));
        self
    }

    fn covers(&self, other: &Scope) -> bool {
        other.0.is_subset(&self.0)
    }

    fn add_scope_string(&mut self, s: &str) {
        for one in s.split(' ').filter(|x| !x.is_empty()) {
            // `repository:name:actions`; the name itself may contain `:` (a port) only in theory.
            if let Some((prefix, actions)) = one.rsplit_once(':')
                && let Some(name) = prefix.strip_prefix("repository:")
            {
                for a in actions.split(',').filter(|a| !a.is_empty() && *a != "*") {
                    self.0.insert((name.to_string(), a.to_string()));
                }
            }
        }
    }

    /// `repository:<name>:<a,b>` strings, one per repository, sorted.
    fn strings(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut current: Option<(&str, Vec<&str>)> = None;
        for (repo, action) in &self.0 {
            match &mut current {
                Some((r, actions)) if r == repo => actions.push(action),
                _ => {
                    if let Some((r, actions)) = current.take() {
                        out.push(format!("repository:{r}:{}", actions.join(",")));
                    }
                    current = Some((repo, vec![action]));
                }
            }
        }
        if let Some((r, actions)) = current {
            out.push(format!("repository:{r}:{}", actions.join(",")));
        }
        out
    }
}

struct CachedToken {
    scope: Scope,
    header: HeaderValue,
    expires: Instant,
}

#[derive(Default)]
struct State {
    /// `None`: not looked up yet; `Some(None)`: anonymous.
    credentials: Option<Option<Found>>,
    /// The registry answered `Basic`: send credentials on every request.
    basic: Option<HeaderValue>,
    tokens: Vec<CachedToken>,
}

/// Authentication state of one repository client.
pub(crate) struct Auth {
    state: Mutex<State>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth(***)")
    }
}

fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(value).ok()?;
    v.set_sensitive(true);
    Some(v)
}

impl Auth {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves only a cache behind: keep using it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The `Authorization` value we already have for `scope`, if any.
    pub fn header_for(&self, scope: &Scope) -> Option<HeaderValue> {
        let mut st = self.lock();
        if let Some(b) = &st.basic {
            return Some(b.clone());
        }
        let now = Instant::now();
        st.tokens.retain(|t| t.expires > now);
        st.tokens
            .iter()
            .find(|t| t.scope.covers(scope))
            .map(|t| t.header.clone())
    }

    /// Where the credentials in use came from, once looked up.
    pub fn source(&self) -> Option<String> {
        self.lock().credentials.clone().flatten().map(|f| f.source)
    }

    async fn credentials(&self, t: &Transport) -> Result<Option<Found>, OciError> {
        if let Some(c) = self.lock().credentials.clone() {
            return Ok(c);
        }
        let found = credentials::lookup(&t.registry, t.settings()).await?;
        self.lock().credentials = Some(found.clone());
        Ok(found)
    }

    /// Answers the challenge of a `401` response: returns the header to retry with.
    pub async fn authenticate(
        &self,
        t: &Transport,
        resp: &Response,
        scope: &Scope,
    ) -> Result<HeaderValue, OciError> {
        let values = resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>();
        let challenges = parse_challenges(values.into_iter());
        let found = self.credentials(t).await?;
        let bearer = challenges.iter().find_map(|c| match c {
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => Some((realm.clone(), service.clone(), scope.clone())),
            Challenge::Basic => None,
        });
        if let Some((realm, service, challenge_scope)) = bearer {
            let mut wanted = scope.clone();
            if let Some(s) = &challenge_scope {
                wanted.add_scope_string(s);
            }
            let (header, expires) = self
                .fetch_token(t, &realm, service.as_deref(), &wanted, found.as_ref())
                .await?;
            let mut st = self.lock();
            st.tokens.retain(|c| c.scope != wanted);
            st.tokens.push(CachedToken {
                scope: wanted,
                header: header.clone(),
                expires,
            });
            return Ok(header);
        }
        if challenges.contains(&Challenge::Basic) {
            let Some(found) = found else {
                return Err(OciError::Auth {
                    registry: t.registry.clone(),
                    message: format!(
                        "the registry requires a username and password and none were found; set PROOFLINE_REGISTRY_USERNAME/PROOFLINE_REGISTRY_PASSWORD or run `docker login {}`",
                        t.registry
                    ),
                });
            };
            let Some(header) = found.credentials.basic_header().and_then(|h| sensitive(&h)) else {
                return Err(OciError::Auth {
                    registry: t.registry.clone(),
                    message: format!(
                        "the registry asks for Basic authentication but {} holds an identity token only; log in with a username and password",
                        found.source
                    ),
                });
            };
            self.lock().basic = Some(header.clone());
            return Ok(header);
        }
        Err(OciError::Auth {
            registry: t.registry.clone(),
            message: "the registry answered 401 without a Basic or Bearer challenge we understand; check the registry address".into(),
        })
    }

    async fn fetch_token(
        &self,
        t: &Transport,
        realm: &str,
        service: Option<&str>,
        scope: &Scope,
        found: Option<&Found>,
    ) -> Result<(HeaderValue, Instant), OciError> {
        let auth_err = |message: String| OciError::Auth {
            registry: t.registry.clone(),
            message,
        };
        let mut url = Url::parse(realm).map_err(|e| {
            auth_err(format!(
                "the token realm `{realm}` is not a URL ({e}); the registry is misconfigured"
            ))
        })?;
        t.check_url(&url)?;
        let realm_host = host_port(&url);
        let mut req = match found.map(|f| &f.credentials) {
            Some(Credentials::IdentityToken(token)) => {
                // OAuth2 refresh-token grant, as `docker login` identity tokens require.
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                form.append_pair("grant_type", "refresh_token");
                if let Some(s) = service {
                    form.append_pair("service", s);
                }
                form.append_pair("client_id", "proofline");
                form.append_pair("scope", &scope.strings().join(" "));
                form.append_pair("refresh_token", token.expose());
                Request::new(Method::POST, url)
                    .header(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    )
                    .body(form.finish().into())
            }
            other => {
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    for s in scope.strings() {
                        q.append_pair("scope", &s);
                    }
                }
                let mut req = Request::new(Method::GET, url);
                if let Some(h) = other
                    .and_then(Credentials::basic_header)
                    .and_then(|h| sensitive(&h))
                {
                    req = req.header(AUTHORIZATION, h);
                }
                req
            }
        };
        req.idempotent = true;
        // The realm is usually another host: send the request directly, with the credentials we chose.
        let resp = t.execute(&req, None).await?;
        let status = resp.status();
        if !status.is_success() {
            let src = found.map_or("no credentials (anonymous)".to_string(), |f| {
                format!("credentials from {}", f.source)
            });
            let fix = if status.as_u16() == 401 || status.as_u16() == 403 {
                format!(
                    "check PROOFLINE_REGISTRY_USERNAME/PROOFLINE_REGISTRY_PASSWORD or run `docker login {}`",
                    t.registry
                )
            } else {
                "retry later; the token service is failing".to_string()
            };
            let body = read_capped(resp, 64 * 1024).await.unwrap_or_default();
            let codes = super::transport::distribution_errors(&body);
            let detail = if codes.is_empty() {
                String::new()
            } else {
                format!(" ({})", codes.join("; "))
            };
            return Err(auth_err(format!(
                "the token service at {realm_host} answered {status}{detail} for scope `{}` with {src}; {fix}",
                scope.strings().join(" ")
            )));
        }
        let body = read_capped(resp, MAX_TOKEN_BODY).await.map_err(|e| {
            auth_err(format!(
                "reading the token from {realm_host} failed: {}",
                super::transport::error_chain(&e)
            ))
        })?;
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| auth_err(format!("the token service at {realm_host} answered something that is not a token JSON object")))?;
        let token = answer
            .token
            .filter(|t| !t.is_empty())
            .or(answer.access_token.filter(|t| !t.is_empty()))
            .map(Secret::new)
            .ok_or_else(|| {
                auth_err(format!(
                    "the token service at {realm_host} answered without `token` or `access_token`"
                ))
            })?;
        let header = sensitive(&format!("Bearer {}", token.expose())).ok_or_else(|| {
            auth_err(format!(
                "the token from {realm_host} holds characters not allowed in a header"
            ))
        })?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(DEFAULT_TOKEN_SECS).max(1));
        // Renew a little early so a token does not expire in flight.
        let expires = Instant::now()
            + lifetime
                .saturating_sub(Duration::from_secs(10))
                .max(Duration::from_secs(1));
        Ok((header, expires))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_and_basic_challenges() {
        let v = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull""#;
        assert_eq!(
            parse_challenges([v].into_iter()),
            vec![Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/debian:pull".into())
            }]
        );
        assert_eq!(
            parse_challenges([r#"Basic realm="Registry Realm""#].into_iter()),
            vec![Challenge::Basic]
        );
        let both = r#"Basic realm="x", Bearer realm="http://127.0.0.1:1/t", error="invalid_token""#;
        assert_eq!(parse_challenges([both].into_iter()).len(), 2);
        let escaped = r#"bearer realm="http://h/t\"x",scope=repository:a:pull"#;
        assert_eq!(
            parse_challenges([escaped].into_iter()),
            vec![Challenge::Bearer {
                realm: "http://h/t\"x".into(),
                service: None,
                scope: Some("repository:a:pull".into())
            }]
        );
        assert!(
            parse_challenges(["Bearer service=\"x\""].into_iter()).is_empty(),
            "no realm"
        );
        assert!(parse_challenges(["", "garbage==,,"].into_iter()).is_empty());
    }

    #[test]
    fn scopes_merge_and_cover() {
        let mut s = Scope::pull("app");
        s.add_scope_string("repository:app:push,pull repository:base:pull");
        assert_eq!(
            s.strings(),
            vec![
                "repository:app:pull,push".to_string(),
                "repository:base:pull".to_string()
            ]
        );
        assert!(Scope::push("app").covers(&Scope::pull("app")));
        assert!(!Scope::pull("app").covers(&Scope::push("app")));
        assert_eq!(
            Scope::push("a").with_pull("b").strings(),
            vec![
                "repository:a:pull,push".to_string(),
                "repository:b:pull".to_string()
            ]
        );
    }
}
