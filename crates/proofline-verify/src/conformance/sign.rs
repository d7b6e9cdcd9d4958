//! `sign-bundle`: keyless signing through `sigstore-sign` (an ephemeral key, a Fulcio
//! certificate for the identity token, a Rekor entry, a TSA timestamp when the signing config
//! names one), then the new bundle is verified against the trusted root before it is written.

use std::time::Duration;

use sigstore_sign::oidc::IdentityToken;
use sigstore_sign::rekor::RekorApiVersion;
use sigstore_sign::trust_root::{
    SIGSTORE_PRODUCTION_SIGNING_CONFIG, SIGSTORE_STAGING_SIGNING_CONFIG, SigningConfig,
};
use sigstore_sign::{ConfigError, Service, SigningContext, SigningServices};

use super::{Category, Failure, SignBundleArgs};
use crate::reason::Reason;
use crate::roots::{self, Instance};
use crate::trust::{ArtifactInput, Trust, load_trusted_root, read_bounded, verify_artifact};

/// The largest file signed (read whole: a message signature needs the bytes).
pub const MAX_SIGNED_BYTES: u64 = 512 * 1024 * 1024;

/// Every request to Fulcio, Rekor or the TSA gives up after this long.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `sign-bundle`.
pub fn sign_bundle(args: &SignBundleArgs) -> Result<(), Failure> {
    let io = |what: &str, path: &std::path::Path, e: std::io::Error| {
        Failure::new(
            Category::Io,
            format!("cannot {what} {}: {e}", path.display()),
        )
    };
    let input =
        read_bounded(&args.file, MAX_SIGNED_BYTES).map_err(|e| io("read", &args.file, e))?;
    let services = services(args)?;
    // The trusted root is read before anything is signed, so a bad one costs no log entry.
    let root = match &args.trusted_root {
        Some(path) => load_trusted_root(Some(path)),
        None if args.staging => roots::embedded(Instance::Staging),
        None => roots::embedded(Instance::Production),
    }
    .map_err(|e| Failure::new(Category::Verify(Reason::TrustedRoot), e.to_string()))?;
    // With --in-toto the new bundle is checked for the statement's first sha256 subject: a
    // statement without one is refused before anything is signed or logged.
    let subject = if args.in_toto {
        Some(first_subject(&input).ok_or_else(|| {
            Failure::new(
                Category::Verify(Reason::Artifact),
                format!(
                    "{} is not an in-toto statement with a sha256 subject: nothing was signed",
                    args.file.display()
                ),
            )
        })?)
    } else {
        None
    };
    let token = IdentityToken::from_jwt(args.identity_token.expose().trim()).map_err(|e| {
        Failure::new(
            Category::Token,
            format!("the identity token is not a usable JWT: {e}"),
        )
    })?;

    let http = sigstore_sign::reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("proofline-conformance/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure::new(Category::Service, format!("no HTTP client: {e}")))?;
    let where_ = format!(
        "Fulcio {}, Rekor {}{}",
        services.fulcio_url(),
        services.rekor_url(),
        services
            .tsa_url()
            .map(|t| format!(", TSA {t}"))
            .unwrap_or_default()
    );
    let signer = SigningContext::new(services)
        .with_http_client(http)
        .signer(token);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(Category::Service, format!("no async runtime: {e}")))?;
    let bundle = runtime
        .block_on(async {
            if args.in_toto {
                signer.sign_raw_statement(&input).await
            } else {
                signer.sign(input.as_slice()).await
            }
        })
        .map_err(|e| sign_failure(&e, &where_))?;
    let json = bundle.to_json_pretty().map_err(|e| {
        Failure::new(
            Category::Verify(Reason::Bundle),
            format!("the new bundle cannot be serialized: {e}"),
        )
    })?;

    // The bundle must verify before it is handed out: any identity (Fulcio put the token's in
    // the certificate), the artifact itself, or for --in-toto one of the statement's subjects.
    let trust = Trust::any_identity(root)
        .map_err(|e| Failure::new(Category::Verify(Reason::TrustedRoot), e.to_string()))?;
    let check = match &subject {
        Some(hex) => verify_artifact(&trust, json.as_bytes(), ArtifactInput::Sha256(hex)),
        None => verify_artifact(&trust, json.as_bytes(), ArtifactInput::Bytes(&input)),
    };
    if let Err(rejected) = check {
        let mut failure = Failure::from(rejected);
        failure.message = format!(
            "the new bundle does not verify against the trusted root ({}); it was not written",
            failure.message
        );
        return Err(failure);
    }
    std::fs::write(&args.bundle, json).map_err(|e| io("write the bundle to", &args.bundle, e))
}

/// The services: from --signing-config, else the instance's embedded signing config.
fn services(args: &SignBundleArgs) -> Result<SigningServices, Failure> {
    let bad = |name: &str, reason: String| {
        Failure::new(
            Category::SigningConfig,
            format!("the signing config {name} cannot be used: {reason}"),
        )
    };
    let (text, name) = match &args.signing_config {
        Some(path) => {
            let bytes = read_bounded(path, 1024 * 1024)
                .map_err(|e| bad(&path.display().to_string(), e.to_string()))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| bad(&path.display().to_string(), "not UTF-8".into()))?;
            (text, path.display().to_string())
        }
        None if args.staging => (
            SIGSTORE_STAGING_SIGNING_CONFIG.to_string(),
            "(embedded, staging)".to_string(),
        ),
        None => (
            SIGSTORE_PRODUCTION_SIGNING_CONFIG.to_string(),
            "(embedded, production)".to_string(),
        ),
    };
    let config = SigningConfig::from_json(&text).map_err(|e| bad(&name, e.to_string()))?;
    match SigningServices::from_signing_config(&config) {
        Ok(services) => Ok(services),
        // sigstore-sign insists on a TSA, but a Rekor v1 entry carries its own signing time
        // (the SET's integrated time): sign without one when the config names none.
        Err(sigstore_sign::Error::Config(ConfigError::MissingService(Service::Tsa))) => {
            let fulcio = config
                .fulcio_url()
                .ok_or_else(|| bad(&name, "it names no Fulcio (caUrls)".into()))?;
            let rekor = config
                .rekor_url(None)
                .ok_or_else(|| bad(&name, "it names no Rekor (rekorTlogUrls)".into()))?;
            if rekor.major_api_version != 1 {
                return Err(bad(
                    &name,
                    "a Rekor v2 log needs a timestamp authority (tsaUrls), and none is named"
                        .into(),
                ));
            }
            Ok(SigningServices::new(fulcio.url.clone(), rekor.url.clone())
                .with_rekor(rekor.url.clone(), RekorApiVersion::V1))
        }
        Err(e) => Err(bad(&name, e.to_string())),
    }
}

/// The first sha256 subject digest of an in-toto statement.
fn first_subject(statement: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(statement).ok()?;
    value
        .get("subject")?
        .as_array()?
        .iter()
        .find_map(|s| s.pointer("/digest/sha256")?.as_str().map(str::to_string))
}

fn sign_failure(e: &sigstore_sign::Error, services: &str) -> Failure {
    use sigstore_sign::Error as E;
    let category = match e {
        E::Config(_) => Category::SigningConfig,
        E::InvalidStatement(_) => Category::Verify(Reason::Artifact),
        _ => Category::Service,
    };
    Failure::new(
        category,
        format!(
            "signing failed ({services}): {e}: check the signing config, that the services are reachable, and that the token has not expired"
        ),
    )
}
