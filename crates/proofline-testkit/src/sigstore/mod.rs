//! A local stand-in for Fulcio and Rekor (and the OIDC provider in front of them), so the whole
//! keyless path — identity token → ephemeral key → Fulcio certificate → Rekor entry → bundle —
//! runs in tests, offline, and the bundles verify against [`SigstoreStandIn::trusted_root_json`].
//!
//! # What is reproduced
//!
//! - **OIDC**: ES256 JWTs signed by the stand-in's key ([`SigstoreStandIn::identity_token`]),
//!   validated as Fulcio validates them: signature, `iss`, `aud` containing `sigstore`, `exp`,
//!   `email_verified` for email identities.
//! - **Fulcio** `POST /api/v2/signingCert` (the v2 JSON API sigstore clients use): the proof of
//!   possession is checked as Fulcio checks it (a signature by the submitted key over the token's
//!   identity: `email`, else `sub`). The chain is leaf → intermediate → root, all ECDSA P-384 like
//!   public-good Fulcio; the leaf has an empty subject, a critical SAN (rfc822Name for an email,
//!   URI otherwise), digitalSignature, codeSigning, the issuer extensions 1.3.6.1.4.1.57264.1.1
//!   (raw string) and .1.8 (UTF8String), a 10-minute validity, and an **embedded SCT** signed by
//!   the stand-in's CT log key over the RFC 6962 precertificate entry (issuer key hash + TBS
//!   without the SCT extension). The answer is `signedCertificateEmbeddedSct.chain` (PEM, leaf
//!   first). Errors are grpc-gateway JSON (`{code, message, details}`) with 400 or 401.
//! - **Rekor v1** `POST /api/v1/log/entries` for `hashedrekord` 0.0.1 (ECDSA P-256 over the
//!   SHA-256 digest, certificate or public key) and `dsse` 0.0.1 (`proposedContent`; every
//!   signature must verify over the PAE with a given verifier). The body stored is Rekor's
//!   canonical one (RFC 8785; for DSSE `envelopeHash`, `payloadHash`, `signatures[{signature,
//!   verifier}]` sorted; keys re-encoded as Go's PEM). Entries go into an in-memory RFC 6962 tree;
//!   the 201 answer has `body`, `integratedTime`, `logID`, `logIndex` and `verification` with a
//!   real inclusion proof, a signed checkpoint (`<host> - <treeID>`, size, root, `Timestamp:`,
//!   signature line with the 4-byte key hint) and a SET over the canonical `{body,
//!   integratedTime, logID, logIndex}`. A duplicate entry is a 409, a bad signature a 400.
//!   `GET /api/v1/log` answers the tree head, `GET /api/v1/log/entries/{uuid}` and
//!   `?logIndex=` an entry with its proof against the current tree.
//! - **Trusted root**: [`SigstoreStandIn::trusted_root_json`] publishes the CA chain, the Rekor key
//!   and the CT log key in the `trusted_root.json` v0.1 format with validity windows.
//!
//! # Use
//!
//! ```ignore
//! let standin = SigstoreStandIn::start()?;
//! let services = SigningServices::new(standin.fulcio_url(), standin.rekor_url());
//! let token = IdentityToken::from_jwt(&standin.identity_token("ci@proofline.test"))?;
//! let bundle = SigningContext::new(services).signer(token).sign(b"artifact").await?;
//! let root = TrustedRoot::from_json(&standin.trusted_root_json())?;
//! let policy = VerificationPolicy::new("ci@proofline.test", standin.oidc_issuer());
//! Verifier::new(&root)?.verify(b"artifact", &bundle, &policy)?;
//! ```
//!
//! Knobs for negative tests: [`SigstoreStandIn::fail_next_fulcio`],
//! [`SigstoreStandIn::fail_next_rekor`], [`SigstoreStandIn::corrupt_next_rekor`], and
//! [`SigstoreStandIn::sign_claims`] for tokens with the wrong audience, issuer or expiry.
//!
//! Rekor v1 verifies a DSSE signature with SHA-256 whatever the key (`LoadVerifier(key,
//! crypto.SHA256)`), so a P-384 key that hashes the PAE with SHA-384 is refused by the real log
//! and by this one; `hashedrekord` takes sha256, sha384 or sha512 digests (ECDSA, RSA PKCS#1
//! v1.5; no Ed25519ph here).
//!
//! # What is not
//!
//! No timestamp authority (RFC 3161), no Rekor v2 (tiles, `hashedrekord` 0.0.2), no CT log API
//! (the SCT is made in-process, nothing is submitted to a CT log), no OIDC discovery or JWKS
//! endpoints (the stand-in knows its own key), no Fulcio `configuration`/`trustBundle`, no
//! Rekor search, consistency proofs or other entry kinds, no persistence: the log lives
//! as long as the [`SigstoreStandIn`].

mod fulcio;
mod keys;
mod merkle;
mod oidc;
mod rekor;

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SecureRandom as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use keys::{ServiceKey, b64};

/// The audience Sigstore identity tokens carry.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";

/// How the next Rekor answer is corrupted, for negative tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// One bit of the signed entry timestamp flipped.
    SignedEntryTimestamp,
    /// One bit of the first inclusion-proof hash flipped (or a bogus hash added to an empty path).
    InclusionProof,
}

/// Why a request was refused: the HTTP status and the message the real service would give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub(crate) struct Rejection {
    pub status: u16,
    pub message: String,
}

impl Rejection {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            message: message.into(),
        }
    }

    pub(crate) fn unauthenticated(message: impl Into<String>) -> Self {
        Self {
            status: 401,
            message: message.into(),
        }
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: 409,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: 404,
            message: message.into(),
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self {
            status: 500,
            message: message.into(),
        }
    }

    /// Fulcio answers through grpc-gateway: `{code, message, details}` with the gRPC code.
    fn fulcio_body(&self) -> Value {
        let code = match self.status {
            400 => 3,
            401 => 16,
            403 => 7,
            404 => 5,
            409 => 6,
            429 => 8,
            503 => 14,
            _ => 13,
        };
        json!({ "code": code, "message": self.message, "details": [] })
    }

    /// Rekor answers with its swagger error model: `{code, message}`.
    fn rekor_body(&self) -> Value {
        json!({ "code": self.status, "message": self.message })
    }
}

/// Everything the handlers share.
#[derive(Debug)]
struct State {
    ca: fulcio::Ca,
    oidc_key: ServiceKey,
    oidc_issuer: String,
    ct_key: ServiceKey,
    log: rekor::Log,
    fail_next_fulcio: Option<u16>,
    fail_next_rekor: Option<u16>,
    /// Added before every answer: a service across a network rather than on loopback.
    latency: std::time::Duration,
    /// Requests being answered now, and the most there ever were at once.
    in_flight: usize,
    max_in_flight: usize,
    corrupt_next_rekor: Option<Corruption>,
    certificates_issued: usize,
}

/// A running stand-in: Fulcio, Rekor and an OIDC issuer on one loopback port, on their own
/// runtime thread (so tests may block, or run a signing binary as a child process, while it
/// serves). Stopped on drop.
#[derive(Debug)]
pub struct SigstoreStandIn {
    base: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn now_secs() -> u64 {
    u64::try_from(now_nanos() / 1_000_000_000).unwrap_or(u64::MAX)
}

/// RFC 3339 (UTC, seconds) of a Unix time, for `validFor` windows.
fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm), valid for all dates after 1970.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl SigstoreStandIn {
    /// Generates the CA, the CT, Rekor and OIDC keys, binds `127.0.0.1:0` and starts serving.
    pub fn start() -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        let ca = fulcio::Ca::generate(now_secs()).map_err(std::io::Error::other)?;
        let mut tree_id = [0u8; 8];
        aws_lc_rs::rand::SystemRandom::new()
            .fill(&mut tree_id)
            .map_err(|_| std::io::Error::other("no randomness for the tree ID"))?;
        // Positive, like Trillian's tree IDs.
        let tree_id = i64::from_be_bytes(tree_id) & i64::MAX;
        let state = Arc::new(Mutex::new(State {
            ca,
            oidc_key: ServiceKey::jose_signing()?,
            oidc_issuer: format!("{base}/oidc"),
            ct_key: ServiceKey::der_signing()?,
            log: rekor::Log::new(ServiceKey::der_signing()?, tree_id, addr.to_string()),
            fail_next_fulcio: None,
            fail_next_rekor: None,
            latency: std::time::Duration::ZERO,
            in_flight: 0,
            max_in_flight: 0,
            corrupt_next_rekor: None,
            certificates_issued: 0,
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let st = state.clone();
        let thread = std::thread::Builder::new()
            .name("sigstore-standin".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        _ = serve(listener, st) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(Self {
            base,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A handler never panics while holding the lock; recover the data if one somehow did.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The Fulcio base URL (`SigningServices::new(fulcio_url, rekor_url)`).
    pub fn fulcio_url(&self) -> String {
        self.base.clone()
    }

    /// The Rekor v1 base URL.
    pub fn rekor_url(&self) -> String {
        self.base.clone()
    }

    /// The `iss` of the stand-in's tokens (and the issuer in its certificates).
    pub fn oidc_issuer(&self) -> String {
        self.state().oidc_issuer.clone()
    }

    /// An identity token for `subject`, valid for 10 minutes, audience `sigstore`. An email
    /// subject (`a@b`) becomes `email` (verified) and `sub`; anything else only `sub`, and Fulcio
    /// then certifies it as a URI (so it must look like one, e.g. `https://ci.test/workflow`).
    pub fn identity_token(&self, subject: &str) -> String {
        let now = now_secs();
        let mut claims = json!({
            "iss": self.oidc_issuer(),
            "sub": subject,
            "aud": SIGSTORE_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        });
        if subject.contains('@') {
            claims["email"] = json!(subject);
            claims["email_verified"] = json!(true);
        }
        self.sign_claims(&claims)
    }

    /// A GitHub Actions identity token for `repository`'s workflow run on `git_ref`: `sub` is
    /// `repo:<repository>:ref:<git_ref>` and `job_workflow_ref` names the workflow file, which
    /// the stand-in's Fulcio (like Fulcio) certifies as `https://github.com/<job_workflow_ref>`.
    /// Returns the token and that certified identity.
    pub fn github_actions_token(
        &self,
        repository: &str,
        workflow: &str,
        git_ref: &str,
    ) -> (String, String) {
        let job_workflow_ref = format!("{repository}/.github/workflows/{workflow}@{git_ref}");
        let token = self.ci_token(
            &format!("repo:{repository}:ref:{git_ref}"),
            "job_workflow_ref",
            &job_workflow_ref,
        );
        (token, format!("https://github.com/{job_workflow_ref}"))
    }

    /// A GitLab CI identity token (`id_tokens`) for `project`'s pipeline on branch `branch`:
    /// `sub` is `project_path:<project>:ref_type:branch:ref:<branch>` and `ci_config_ref_uri`
    /// names `.gitlab-ci.yml` on `host`, which Fulcio certifies as `https://<ci_config_ref_uri>`.
    /// Returns the token and that certified identity.
    pub fn gitlab_ci_token(&self, host: &str, project: &str, branch: &str) -> (String, String) {
        let config = format!("{host}/{project}//.gitlab-ci.yml@refs/heads/{branch}");
        let token = self.ci_token(
            &format!("project_path:{project}:ref_type:branch:ref:{branch}"),
            "ci_config_ref_uri",
            &config,
        );
        (token, format!("https://{config}"))
    }

    /// A CI provider's token: `sub`, the claim Fulcio certifies instead, ten minutes' validity.
    fn ci_token(&self, sub: &str, claim: &str, value: &str) -> String {
        let now = now_secs();
        let mut claims = json!({
            "iss": self.oidc_issuer(),
            "sub": sub,
            "aud": SIGSTORE_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        });
        claims[claim] = json!(value);
        self.sign_claims(&claims)
    }

    /// Signs arbitrary `claims` with the stand-in's OIDC key: tokens with a wrong audience, an
    /// old `exp`, another issuer or an unverified email, for negative tests.
    pub fn sign_claims(&self, claims: &Value) -> String {
        oidc::mint(&self.state().oidc_key, claims)
            .expect("AWS-LC refused to sign an identity token")
    }

    /// The `trusted_root.json` (media type `application/vnd.dev.sigstore.trustedroot+json;
    /// version=0.1`) that makes the stand-in's certificates, SCTs and log entries verify.
    pub fn trusted_root_json(&self) -> String {
        let st = self.state();
        let start = rfc3339(st.ca.not_before);
        let root = json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{
                "baseUrl": self.base,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": b64(st.log.key.spki()),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": { "start": start }
                },
                "logId": { "keyId": b64(&st.log.key.log_id()) }
            }],
            "certificateAuthorities": [{
                "subject": { "organization": "proofline.test", "commonName": "proofline-standin-root" },
                "uri": self.base,
                "certChain": { "certificates": [
                    { "rawBytes": b64(&st.ca.intermediate_der) },
                    { "rawBytes": b64(&st.ca.root_der) }
                ] },
                "validFor": { "start": start }
            }],
            "ctlogs": [{
                "baseUrl": format!("{}/ct", self.base),
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": b64(st.ct_key.spki()),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": { "start": start }
                },
                "logId": { "keyId": b64(&st.ct_key.log_id()) }
            }],
            "timestampAuthorities": []
        });
        serde_json::to_string_pretty(&root).unwrap_or_default()
    }

    /// How many entries Rekor holds.
    pub fn entries(&self) -> usize {
        self.state().log.size()
    }

    /// How many certificates Fulcio issued.
    pub fn certificates_issued(&self) -> usize {
        self.state().certificates_issued
    }

    /// The next `signingCert` request fails with `status` (e.g. 401, 503) and a Fulcio-style body.
    pub fn fail_next_fulcio(&self, status: u16) {
        self.state().fail_next_fulcio = Some(status);
    }

    /// The next `log/entries` request fails with `status` and a Rekor-style body.
    pub fn fail_next_rekor(&self, status: u16) {
        self.state().fail_next_rekor = Some(status);
    }

    /// Every answer from now on waits `latency` first (requests still overlap): for measuring
    /// how a client copes with a service that is a network round trip away.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.state().latency = latency;
    }

    /// The most requests the stand-in was answering at the same time (with a latency set, how
    /// many a client keeps in flight).
    pub fn max_in_flight(&self) -> usize {
        self.state().max_in_flight
    }

    /// The next entry Rekor makes is answered with `corruption` (the entry itself is logged).
    pub fn corrupt_next_rekor(&self, corruption: Corruption) {
        self.state().corrupt_next_rekor = Some(corruption);
    }
}

impl Drop for SigstoreStandIn {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(listener: tokio::net::TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(req, &state).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn respond(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut r = Response::new(Full::new(Bytes::from(bytes)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn failure(status: u16, service: &str) -> Rejection {
    Rejection {
        status,
        message: format!("{service} stand-in told to fail this request with {status}"),
    }
}

fn rekor_answer(answer: Result<Value, Rejection>) -> Response<Full<Bytes>> {
    match answer {
        Ok(v) => respond(200, &v),
        Err(r) => respond(r.status, &r.rekor_body()),
    }
}

async fn handle(req: Request<Incoming>, state: &Mutex<State>) -> Response<Full<Bytes>> {
    let latency = {
        let mut st = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.in_flight += 1;
        st.max_in_flight = st.max_in_flight.max(st.in_flight);
        st.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = answer(req, state).await;
    let mut st = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    st.in_flight -= 1;
    response
}

async fn answer(req: Request<Incoming>, state: &Mutex<State>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let body = match Limited::new(req.into_body(), fulcio::MAX_BODY)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let r = Rejection {
                status: 413,
                message: format!(
                    "request body unreadable or over {} bytes: {e}",
                    fulcio::MAX_BODY
                ),
            };
            return respond(r.status, &r.rekor_body());
        }
    };
    let mut st = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match (&method, path.as_str()) {
        (&Method::POST, "/api/v2/signingCert") => {
            let answer = match st.fail_next_fulcio.take() {
                Some(status) => Err(failure(status, "Fulcio")),
                None => fulcio::signing_cert(
                    &body,
                    &st.ca,
                    &st.oidc_key,
                    &st.oidc_issuer,
                    &st.ct_key,
                    now_secs(),
                ),
            };
            match answer {
                Ok(v) => {
                    st.certificates_issued += 1;
                    respond(201, &v)
                }
                Err(r) => respond(r.status, &r.fulcio_body()),
            }
        }
        (&Method::POST, "/api/v1/log/entries") => {
            let answer = match st.fail_next_rekor.take() {
                Some(status) => Err(failure(status, "Rekor")),
                None => {
                    let corruption = st.corrupt_next_rekor;
                    let answer = st.log.create_entry(&body, now_nanos(), corruption);
                    if answer.is_ok() {
                        st.corrupt_next_rekor = None;
                    }
                    answer
                }
            };
            match answer {
                Ok(v) => respond(201, &v),
                Err(r) => respond(r.status, &r.rekor_body()),
            }
        }
        (&Method::GET, "/api/v1/log") => rekor_answer(st.log.log_info(now_nanos())),
        (&Method::GET, "/api/v1/log/entries") => {
            rekor_answer(st.log.entry_by_index(&query, now_nanos()))
        }
        (&Method::GET, p) if p.starts_with("/api/v1/log/entries/") => {
            let uuid = p.trim_start_matches("/api/v1/log/entries/");
            rekor_answer(st.log.entry_by_uuid(uuid, now_nanos()))
        }
        _ => {
            let r = Rejection {
                status: 404,
                message: format!("the Sigstore stand-in has no {method} {path}"),
            };
            respond(r.status, &r.rekor_body())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
