//! Keyless signing: the OIDC identity token (given, GitLab's `id_tokens`, or GitHub's OIDC
//! endpoint with audience `sigstore`), then one ephemeral key, Fulcio certificate and Rekor
//! entry per signature through `sigstore-sign`, and each bundle verified against the trusted
//! root before it is used (sigstore-sign takes Rekor's inclusion proof on trust). Errors say
//! which permission or setting is missing; the token is a secret and never printed.

use std::sync::Mutex;
use std::time::Duration;

use proofline_ci::Secret;
use proofline_verify::Trust;
use proofline_verify::trust::{Rejected, Signed, verify_bundle};
use sigstore_sign::oidc::IdentityToken;
use sigstore_sign::types::Bundle;
use sigstore_sign::{SigningContext, SigningServices};

use crate::bundles::BundleError;

/// The public Sigstore instance.
pub const PUBLIC_FULCIO: &str = "https://fulcio.sigstore.dev";
/// The public Sigstore Rekor (v1 API).
pub const PUBLIC_REKOR: &str = "https://rekor.sigstore.dev";

/// Every request to Fulcio, Rekor or the OIDC endpoint gives up after this long.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why no identity token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// On GitHub Actions without `id-token: write`.
    #[error(
        "keyless signing on GitHub Actions needs an OIDC token, and this job cannot request one: add `permissions: id-token: write` to the job (or the workflow), or sign with --key"
    )]
    GithubPermission,
    /// On GitLab without `id_tokens`.
    #[error(
        "keyless signing on GitLab needs an OIDC token: add `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore` to the job, or sign with --key"
    )]
    GitlabIdTokens,
    /// Locally, with nothing given.
    #[error(
        "keyless signing needs an OIDC identity token: pass --identity-token (or PROOFLINE_IDENTITY_TOKEN / SIGSTORE_ID_TOKEN), run in CI with OIDC enabled, or sign with --key"
    )]
    NoToken,
    /// GitHub's endpoint failed.
    #[error(
        "requesting the OIDC token from GitHub ({host}) failed: {reason}; check that the job has `permissions: id-token: write` and retry"
    )]
    GithubRequest {
        /// The host asked.
        host: String,
        /// Why.
        reason: String,
    },
    /// The token is not a JWT.
    #[error(
        "the identity token is not a valid JWT ({0}): pass the raw token, not a file name or a quoted value"
    )]
    Malformed(String),
    /// The token is not for Sigstore.
    #[error(
        "the identity token's audience does not include `sigstore`: request it with audience sigstore (GitLab: `aud: sigstore`)"
    )]
    Audience,
    /// The token has expired.
    #[error("the identity token expired at {0}: request a fresh one (they last minutes)")]
    Expired(String),
}

/// Where the token can come from.
#[derive(Debug, Clone, Default)]
pub struct TokenSources {
    /// `--identity-token` / `PROOFLINE_IDENTITY_TOKEN`.
    pub explicit: Option<Secret>,
    /// `SIGSTORE_ID_TOKEN` (GitLab `id_tokens`, or any CI that sets it).
    pub sigstore_id_token: Option<Secret>,
    /// GitHub's `ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN`.
    pub github_request: Option<proofline_ci::IdTokenRequest>,
    /// Whether we run on GitHub Actions / GitLab CI (for the error that names the fix).
    pub on_github: bool,
    /// See `on_github`.
    pub on_gitlab: bool,
}

/// Gets the identity token from the first source that has one.
pub async fn identity_token(
    sources: &TokenSources,
    client: &reqwest::Client,
) -> Result<IdentityToken, TokenError> {
    let raw = if let Some(t) = sources
        .explicit
        .as_ref()
        .or(sources.sigstore_id_token.as_ref())
    {
        t.clone()
    } else if let Some(request) = &sources.github_request {
        github_token(request, client).await?
    } else if sources.on_github {
        return Err(TokenError::GithubPermission);
    } else if sources.on_gitlab {
        return Err(TokenError::GitlabIdTokens);
    } else {
        return Err(TokenError::NoToken);
    };
    let token = IdentityToken::from_jwt(raw.expose().trim())
        .map_err(|e| TokenError::Malformed(e.to_string()))?;
    if !token.claims().aud.contains("sigstore") {
        return Err(TokenError::Audience);
    }
    if token.claims().exp < jiff::Timestamp::now() {
        return Err(TokenError::Expired(token.claims().exp.to_string()));
    }
    Ok(token)
}

/// GitHub Actions' OIDC endpoint, audience `sigstore`.
async fn github_token(
    request: &proofline_ci::IdTokenRequest,
    client: &reqwest::Client,
) -> Result<Secret, TokenError> {
    let host = url::Url::parse(&request.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "ACTIONS_ID_TOKEN_REQUEST_URL".into());
    let err = |reason: String| TokenError::GithubRequest {
        host: host.clone(),
        reason,
    };
    let separator = if request.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{separator}audience=sigstore", request.url);
    #[derive(serde::Deserialize)]
    struct Answer {
        value: String,
    }
    let mut last = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt))).await;
        }
        let response = client
            .get(&url)
            .bearer_auth(request.token.expose())
            .header("Accept", "application/json")
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => {
                let answer: Answer = r
                    .json()
                    .await
                    .map_err(|e| err(format!("unreadable answer: {e}")))?;
                return Ok(Secret::new(answer.value));
            }
            Ok(r) if r.status().is_server_error() => last = format!("HTTP {}", r.status()),
            Ok(r) => return Err(err(format!("HTTP {}", r.status()))),
            Err(e) => last = e.without_url().to_string(),
        }
    }
    Err(err(last))
}

/// A keyless signer bound to one identity.
pub struct Keyless {
    signer: sigstore_sign::Signer,
    identity: String,
    issuer: String,
    fulcio: String,
    rekor: String,
    /// Any identity, the configured trusted root: what every new bundle must verify against.
    trust: Trust,
    /// The identity and issuer the first certificate stated; every later one must agree.
    certified: Mutex<Option<(String, String)>>,
}

impl std::fmt::Debug for Keyless {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyless")
            .field("identity", &self.identity)
            .field("issuer", &self.issuer)
            .field("fulcio", &self.fulcio)
            .field("rekor", &self.rekor)
            .field("trusted_root", &self.trust.root_name())
            .finish_non_exhaustive()
    }
}

impl Keyless {
    /// A signer for `token` against Fulcio and Rekor (API v1) at these URLs, whose bundles must
    /// verify with `trust` ([`Trust::any_identity`] over the instance's trusted root: who Fulcio
    /// certifies is its mapping of the token, e.g. GitHub's workflow URI rather than the token's
    /// subject, so the identity is learned from the first certificate).
    pub fn new(
        token: IdentityToken,
        fulcio: &str,
        rekor: &str,
        client: reqwest::Client,
        trust: Trust,
    ) -> Self {
        let identity = token
            .email()
            .map(str::to_string)
            .unwrap_or_else(|| token.subject().to_string());
        let issuer = token.issuer().to_string();
        let context =
            SigningContext::new(SigningServices::new(fulcio, rekor)).with_http_client(client);
        Self {
            signer: context.signer(token),
            identity,
            issuer,
            fulcio: fulcio.to_string(),
            rekor: rekor.to_string(),
            trust,
            certified: Mutex::new(None),
        }
    }

    /// The identity the token names (email, else subject).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The token's issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The identity (certificate SAN) and OIDC issuer Fulcio certified, once a bundle was made.
    pub fn certified(&self) -> Option<(String, String)> {
        self.certified.lock().ok().and_then(|c| c.clone())
    }

    /// The trusted root the bundles are verified against (its file name, or the built-in one).
    pub fn trusted_root(&self) -> &str {
        self.trust.root_name()
    }

    /// A DSSE bundle over `payload` (an in-toto statement), as Fulcio and Rekor returned it.
    pub(crate) async fn sign_statement(&self, payload: &[u8]) -> Result<Bundle, BundleError> {
        self.signer
            .sign_raw_statement(payload)
            .await
            .map_err(|e| self.error(&e))
    }

    /// A message-signature bundle over `message`, as Fulcio and Rekor returned it.
    pub(crate) async fn sign_message(&self, message: &[u8]) -> Result<Bundle, BundleError> {
        self.signer.sign(message).await.map_err(|e| self.error(&e))
    }

    /// Verifies a new bundle (chain, SCT, log entry with its inclusion proof and checkpoint or
    /// promise, signature, binding to the artifact) and that its certificate names the same
    /// identity as the run's other certificates.
    pub(crate) fn check(&self, bundle: &Bundle, signed: Signed<'_>) -> Result<(), BundleError> {
        let json = bundle.to_json().map_err(|e| {
            BundleError::Keyless(format!("the new bundle cannot be serialized: {e}"))
        })?;
        let verified = verify_bundle(&self.trust, json.as_bytes(), signed)
            .map_err(|rejected| self.unverified(&rejected))?;
        let Some(certified) = verified.certified else {
            return Err(BundleError::Keyless(
                "the new bundle carries no certificate identity".into(),
            ));
        };
        let mut first = self
            .certified
            .lock()
            .map_err(|_| BundleError::Keyless("a signing task panicked".into()))?;
        match first.as_ref() {
            None => *first = Some(certified),
            Some(earlier) if *earlier == certified => {}
            Some((identity, issuer)) => {
                return Err(BundleError::Keyless(format!(
                    "Fulcio certified {} (issuer {}) for one signature and {identity} (issuer {issuer}) for another in the same run; nothing was written",
                    certified.0, certified.1
                )));
            }
        }
        Ok(())
    }

    fn unverified(&self, rejected: &Rejected) -> BundleError {
        BundleError::Keyless(format!(
            "the bundle made with Fulcio {} and Rekor {} does not verify against the trusted root {} ({}: {rejected}); nothing was written. With a private Sigstore, pass its trusted_root.json with --trusted-root",
            self.fulcio,
            self.rekor,
            self.trust.root_name(),
            rejected.reason()
        ))
    }

    fn error(&self, e: &sigstore_sign::Error) -> BundleError {
        BundleError::Keyless(format!(
            "{e} (Fulcio {}, Rekor {}): check the URLs (--fulcio-url, --rekor-url) and that the services are reachable; the token may also have expired",
            self.fulcio, self.rekor
        ))
    }
}

/// The HTTP client for Fulcio, Rekor and the OIDC endpoint: rustls, timeouts.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("proofline-sign/", env!("CARGO_PKG_VERSION")))
        .build()
}
