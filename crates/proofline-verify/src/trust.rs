//! Who is trusted to have signed, and the verification of one Sigstore bundle against that
//! trust: a cosign public key, or a certificate identity and OIDC issuer chained to a
//! `trusted_root.json`. Every bundle goes through `sigstore-verify` (the `sigstore` crate's own
//! bundle verifier fails open, see CRATES.md); this module adds the policy it lacks (identity and
//! issuer regular expressions, "no transparency log entry" as an explicit fact).

use std::path::{Path, PathBuf};

use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::bundle::VerificationMaterialContent;
use sigstore_verify::types::{Bundle, DerPublicKey, Sha256Hash, SignatureContent};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};

use crate::reason::Reason;

/// The largest bundle read (the biggest evidence document embedded as a predicate, with room).
pub const MAX_BUNDLE_BYTES: u64 = 256 * 1024 * 1024;

/// An error in the trust configuration itself: nothing can be verified with it.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The key file could not be read.
    #[error("reading the public key {path}: {source}: check --key")]
    ReadKey {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The key file is not a PEM public key we can verify with.
    #[error(
        "{path} is not a usable public key ({reason}): pass the PEM `cosign.pub` of the signing key"
    )]
    BadKey {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The trusted root could not be read or used.
    #[error(
        "the trusted root {source_name} cannot be used: {reason}: pass a Sigstore trusted_root.json with --trusted-root"
    )]
    BadTrustedRoot {
        /// Where it came from.
        source_name: String,
        /// Why.
        reason: String,
    },
    /// A regular expression does not compile.
    #[error("--{flag} {pattern:?} is not a valid regular expression: {reason}")]
    BadRegex {
        /// The flag.
        flag: &'static str,
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
}

/// A string condition on a certificate field.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Equal to this string.
    Exact(String),
    /// Matched, whole, by this regular expression.
    Regex(regex::Regex),
}

impl Matcher {
    /// A regular expression matcher, anchored at both ends (as cosign's `-regexp` flags are
    /// used: a partial match of an identity is a classic policy hole).
    pub fn regex(flag: &'static str, pattern: &str) -> Result<Self, TrustError> {
        regex::Regex::new(&format!("^(?:{pattern})$"))
            .map(Matcher::Regex)
            .map_err(|e| TrustError::BadRegex {
                flag,
                pattern: pattern.to_string(),
                reason: e.to_string(),
            })
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == value,
            Matcher::Regex(r) => r.is_match(value),
        }
    }

    fn describe(&self) -> String {
        match self {
            Matcher::Exact(s) => format!("{s:?}"),
            Matcher::Regex(r) => format!("/{}/", r.as_str()),
        }
    }
}

/// What a signature must come from.
#[derive(Debug, Clone)]
pub enum TrustPolicy {
    /// A cosign public key (keyed signing).
    Key {
        /// The key (SPKI DER).
        key: DerPublicKey,
        /// Its SHA-256 (hex), for messages.
        key_id: String,
        /// Refuse bundles that carry no transparency-log entry.
        require_tlog: bool,
    },
    /// A Fulcio certificate for this identity and OIDC issuer (keyless signing).
    Identity {
        /// The certificate's SAN (email or URI).
        identity: Matcher,
        /// Its OIDC issuer extension.
        issuer: Matcher,
    },
}

/// A trust policy ready to verify bundles.
pub struct Trust {
    policy: TrustPolicy,
    verifier: Verifier,
    root: String,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("policy", &self.policy)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// A trusted root with no authorities: enough for keyed bundles without log entries.
const EMPTY_TRUSTED_ROOT: &str = r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[],"certificateAuthorities":[],"ctlogs":[],"timestampAuthorities":[]}"#;

/// Reads `path` (a Sigstore `trusted_root.json`), or the public Sigstore production root
/// shipped inside the binary. Returns the root and a name for it.
pub fn load_trusted_root(path: Option<&Path>) -> Result<(TrustedRoot, String), TrustError> {
    match path {
        Some(p) => {
            let name = p.display().to_string();
            let bad = |reason: String| TrustError::BadTrustedRoot {
                source_name: name.clone(),
                reason,
            };
            let text = read_bounded(p, 16 * 1024 * 1024).map_err(|e| bad(e.to_string()))?;
            let text = String::from_utf8(text).map_err(|_| bad("not UTF-8".into()))?;
            let root = TrustedRoot::from_json(&text).map_err(|e| bad(e.to_string()))?;
            Ok((root, name))
        }
        None => crate::roots::embedded(crate::roots::Instance::Production),
    }
}

/// Reads at most `limit` bytes of `path`; larger files are an error.
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB",
            limit / (1024 * 1024)
        )));
    }
    Ok(bytes)
}

impl Trust {
    /// Trust a cosign public key (PEM). `trusted_root` is needed only to check the log entries a
    /// keyed bundle may carry; without one, such entries cannot be verified and are refused.
    pub fn key(
        path: &Path,
        trusted_root: Option<(TrustedRoot, String)>,
        require_tlog: bool,
    ) -> Result<Self, TrustError> {
        let pem = read_bounded(path, 1024 * 1024).map_err(|source| TrustError::ReadKey {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |reason: String| TrustError::BadKey {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::str::from_utf8(&pem).map_err(|_| bad("not a PEM text file".into()))?;
        let key = DerPublicKey::from_pem(text)
            .or_else(|e| lenient_pem_key(text).ok_or(e))
            .map_err(|e| bad(e.to_string()))?;
        sigstore_verify::crypto::KeyAlgorithm::from_spki(&key)
            .map_err(|e| bad(format!("unsupported key: {e}")))?;
        let key_id = proofline_evidence::sha256_hex(key.as_bytes());
        Self::key_der(key, key_id, trusted_root, require_tlog)
    }

    /// Trust the public key `spki` (DER SubjectPublicKeyInfo), for bundles with no log entry:
    /// what the sign stage checks each keyed bundle it makes against.
    pub fn public_key_der(spki: &[u8]) -> Result<Self, TrustError> {
        let key = DerPublicKey::from_bytes(spki);
        sigstore_verify::crypto::KeyAlgorithm::from_spki(&key).map_err(|e| TrustError::BadKey {
            path: PathBuf::from("(the signing key)"),
            reason: format!("unsupported key: {e}"),
        })?;
        let key_id = proofline_evidence::sha256_hex(spki);
        Self::key_der(key, key_id, None, false)
    }

    fn key_der(
        key: DerPublicKey,
        key_id: String,
        trusted_root: Option<(TrustedRoot, String)>,
        require_tlog: bool,
    ) -> Result<Self, TrustError> {
        let (root, name) = match trusted_root {
            Some(r) => r,
            None => (
                TrustedRoot::from_json(EMPTY_TRUSTED_ROOT).map_err(|e| {
                    TrustError::BadTrustedRoot {
                        source_name: "an empty trusted root".into(),
                        reason: e.to_string(),
                    }
                })?,
                "none (keyed)".to_string(),
            ),
        };
        Ok(Self {
            verifier: verifier(&root, &name)?,
            policy: TrustPolicy::Key {
                key,
                key_id,
                require_tlog,
            },
            root: name,
        })
    }

    /// Trust certificates for `identity` from `issuer`, chained to `trusted_root`.
    pub fn identity(
        identity: Matcher,
        issuer: Matcher,
        trusted_root: (TrustedRoot, String),
    ) -> Result<Self, TrustError> {
        let (root, name) = trusted_root;
        Ok(Self {
            verifier: verifier(&root, &name)?,
            policy: TrustPolicy::Identity { identity, issuer },
            root: name,
        })
    }

    /// Any certificate identity and issuer chained to `trusted_root`: for checking a bundle just
    /// made, whose identity is Fulcio's mapping of the token and is read from the certificate.
    pub fn any_identity(trusted_root: (TrustedRoot, String)) -> Result<Self, TrustError> {
        Self::identity(
            Matcher::regex("certificate-identity", ".*")?,
            Matcher::regex("certificate-oidc-issuer", ".*")?,
            trusted_root,
        )
    }

    /// The policy.
    pub fn policy(&self) -> &TrustPolicy {
        &self.policy
    }

    /// Which trusted root is in use.
    pub fn root_name(&self) -> &str {
        &self.root
    }

    /// A sentence saying what is trusted, for reports.
    pub fn describe(&self) -> String {
        match &self.policy {
            TrustPolicy::Key { key_id, .. } => format!("the public key sha256:{key_id}"),
            TrustPolicy::Identity { identity, issuer } => format!(
                "certificates for {} issued to tokens from {}, chained to {}",
                identity.describe(),
                issuer.describe(),
                self.root
            ),
        }
    }
}

/// A `PUBLIC KEY` PEM whose base64 has non-zero trailing bits, which Go's and OpenSSL's decoders
/// (and so cosign) accept and the strict `pem` crate refuses.
fn lenient_pem_key(text: &str) -> Option<DerPublicKey> {
    use base64::Engine as _;
    const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let body = text
        .trim()
        .strip_prefix("-----BEGIN PUBLIC KEY-----")?
        .trim_end()
        .strip_suffix("-----END PUBLIC KEY-----")?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(b64).ok().map(DerPublicKey::new)
}

fn verifier(root: &TrustedRoot, name: &str) -> Result<Verifier, TrustError> {
    Verifier::new(root).map_err(|e| TrustError::BadTrustedRoot {
        source_name: name.to_string(),
        reason: e.to_string(),
    })
}

/// What a verified bundle says about its signature.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    /// Who signed: `key sha256:…` or the certificate's identity and issuer.
    pub signer: String,
    /// Whether a transparency-log entry was verified (inclusion proof or promise).
    pub logged: bool,
    /// The log's integrated time, when it gave one (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrated_time: Option<String>,
    /// The DSSE payload (an in-toto statement), for DSSE bundles.
    #[serde(skip)]
    pub payload: Option<Vec<u8>>,
    /// Keyless: the certificate's identity (SAN) and OIDC issuer, as Fulcio certified them.
    #[serde(skip)]
    pub certified: Option<(String, String)>,
}

/// The thing a bundle signs.
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    /// A DSSE statement whose subject must carry this SHA-256 (the image's manifest digest).
    Subject(&'a str),
    /// A message signature over these bytes (the simple-signing payload).
    Message(&'a [u8]),
}

/// Why a bundle did not verify: the text is the reason shown per artifact, the [`Reason`] its
/// stable category.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String, pub Reason);

impl Rejected {
    fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self(message.into(), reason)
    }

    /// The category.
    pub fn reason(&self) -> Reason {
        self.1
    }
}

/// An artifact as the conformance protocol gives it: its bytes, or its SHA-256.
#[derive(Debug, Clone, Copy)]
pub enum ArtifactInput<'a> {
    /// The artifact's bytes (a message signature's message, or a DSSE statement's subject).
    Bytes(&'a [u8]),
    /// The artifact's SHA-256, lowercase or uppercase hex (64 characters).
    Sha256(&'a str),
}

/// Which content a caller requires of a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    Dsse,
    Message,
    Either,
}

/// The artifact, ready for the verifier.
enum Input<'a> {
    Bytes(&'a [u8]),
    Digest(Sha256Hash),
}

impl Input<'_> {
    fn sha256_hex(&self) -> String {
        match self {
            Input::Bytes(b) => proofline_evidence::sha256_hex(b),
            Input::Digest(d) => d.to_hex(),
        }
    }
}

/// Verifies one bundle (JSON) for `signed` under `trust`.
pub fn verify_bundle(
    trust: &Trust,
    bundle_json: &[u8],
    signed: Signed<'_>,
) -> Result<Verified, Rejected> {
    match signed {
        Signed::Subject(hex) => {
            let digest = Sha256Hash::from_hex(hex).map_err(|e| {
                Rejected::new(
                    Reason::Artifact,
                    format!("the image digest {hex} is not SHA-256 hex: {e}"),
                )
            })?;
            verify_core(trust, bundle_json, Content::Dsse, Input::Digest(digest))
        }
        Signed::Message(bytes) => {
            verify_core(trust, bundle_json, Content::Message, Input::Bytes(bytes))
        }
    }
}

/// Verifies one bundle (JSON) of either kind for `artifact` under `trust`: a message signature
/// must be over the artifact, a DSSE statement must have it among its subjects. This is the
/// conformance client's entry point; it shares every check with [`verify_bundle`].
pub fn verify_artifact(
    trust: &Trust,
    bundle_json: &[u8],
    artifact: ArtifactInput<'_>,
) -> Result<Verified, Rejected> {
    let input = match artifact {
        ArtifactInput::Bytes(bytes) => Input::Bytes(bytes),
        ArtifactInput::Sha256(hex) => Input::Digest(Sha256Hash::from_hex(hex).map_err(|e| {
            Rejected::new(
                Reason::Artifact,
                format!("the artifact digest sha256:{hex} is not SHA-256 hex: {e}"),
            )
        })?),
    };
    verify_core(trust, bundle_json, Content::Either, input)
}

/// The one verification path behind [`verify_bundle`] and [`verify_artifact`].
fn verify_core(
    trust: &Trust,
    bundle_json: &[u8],
    content: Content,
    input: Input<'_>,
) -> Result<Verified, Rejected> {
    let text = std::str::from_utf8(bundle_json)
        .map_err(|_| Rejected::new(Reason::Bundle, "the bundle is not UTF-8 JSON"))?;
    let bundle = crate::parse::parse_bundle(text)?;
    crate::parse::check_chain(&bundle)?;
    let payload = match (&bundle.content, content) {
        (SignatureContent::DsseEnvelope(env), Content::Dsse | Content::Either) => {
            Some(env.payload.as_bytes().to_vec())
        }
        (SignatureContent::MessageSignature(_), Content::Message | Content::Either) => None,
        (SignatureContent::DsseEnvelope(_), Content::Message) => {
            return Err(Rejected::new(
                Reason::Bundle,
                "expected a message signature, found a DSSE envelope",
            ));
        }
        _ => {
            return Err(Rejected::new(
                Reason::Bundle,
                "expected a DSSE envelope, found a message signature",
            ));
        }
    };
    let logged = !bundle.verification_material.tlog_entries.is_empty();
    let artifact: sigstore_verify::types::Artifact<'_> = match &input {
        Input::Digest(d) => (*d).into(),
        Input::Bytes(bytes) => (*bytes).into(),
    };
    let keyed = matches!(
        bundle.verification_material.content,
        VerificationMaterialContent::PublicKey(_)
    );
    let result = match &trust.policy {
        TrustPolicy::Key {
            key,
            key_id,
            require_tlog,
        } => {
            if !keyed {
                return Err(Rejected::new(
                    Reason::Key,
                    "signed with a certificate (keyless), but a public key was given: verify with --certificate-identity and --certificate-oidc-issuer",
                ));
            }
            if !logged && *require_tlog {
                return Err(Rejected::new(
                    Reason::Tlog,
                    "no transparency-log entry, and --require-tlog is set",
                ));
            }
            let timestamped = !bundle
                .verification_material
                .timestamp_verification_data
                .rfc3161_timestamps
                .is_empty();
            if logged || timestamped {
                let policy = PublicKeyVerificationPolicy::new(key.clone());
                trust
                    .verifier
                    .verify(artifact, &bundle, &policy)
                    .map_err(|e| rejected(&e, Some(key_id), &bundle, &input))?;
            } else {
                // No log entry and no timestamp: sigstore-verify refuses such bundles outright
                // (it needs signing-time evidence), but an offline keyed signature has none and
                // needs none, since no certificate expires. The signature and the binding are
                // checked here with sigstore-verify's own primitives.
                verify_unlogged(key, key_id, &bundle, &input)?;
            }
            Verified {
                signer: format!("key sha256:{key_id}"),
                logged,
                integrated_time: None,
                payload,
                certified: None,
            }
        }
        TrustPolicy::Identity { identity, issuer } => {
            if keyed {
                return Err(Rejected::new(
                    Reason::Key,
                    "signed with a key, not a certificate: verify with --key",
                ));
            }
            let mut policy = VerificationPolicy::any_identity();
            if let Matcher::Exact(s) = identity {
                policy = policy.require_identity(s.as_str());
            }
            if let Matcher::Exact(s) = issuer {
                policy = policy.require_issuer(s.as_str());
            }
            let result = trust
                .verifier
                .verify(artifact, &bundle, &policy)
                .map_err(|e| rejected(&e, None, &bundle, &input))?;
            let san = result.identity().map(|s| s.as_str().to_string());
            let iss = result.issuer().map(str::to_string);
            if !san.as_deref().is_some_and(|s| identity.matches(s)) {
                return Err(Rejected::new(
                    Reason::Identity,
                    format!(
                        "the certificate's identity {} does not match {}",
                        san.as_deref().unwrap_or("(none)"),
                        identity.describe()
                    ),
                ));
            }
            if !iss.as_deref().is_some_and(|s| issuer.matches(s)) {
                return Err(Rejected::new(
                    Reason::Issuer,
                    format!(
                        "the certificate's OIDC issuer {} does not match {}",
                        iss.as_deref().unwrap_or("(none)"),
                        issuer.describe()
                    ),
                ));
            }
            if !result.certificate_verified() {
                return Err(Rejected::new(
                    Reason::Certificate,
                    "the certificate chain was not verified",
                ));
            }
            if !result.tlog_verified() {
                return Err(Rejected::new(
                    Reason::Tlog,
                    "the transparency-log entry was not verified",
                ));
            }
            let (san, iss) = (san.unwrap_or_default(), iss.unwrap_or_default());
            Verified {
                signer: format!("{san} (issuer {iss})"),
                logged: true,
                integrated_time: result.integrated_time().map(|t| t.to_string()),
                payload,
                certified: Some((san, iss)),
            }
        }
    };
    Ok(result)
}

/// A keyed bundle with no log entry and no timestamp: the signature (DSSE over its PAE, or the
/// message) with the key, and the binding (a statement subject, or the message digest).
fn verify_unlogged(
    key: &DerPublicKey,
    key_id: &str,
    bundle: &Bundle,
    input: &Input<'_>,
) -> Result<(), Rejected> {
    use sigstore_verify::crypto::{
        ArtifactHasher, KeyAlgorithm, verify_signature, verify_signature_prehashed,
    };
    use sigstore_verify::types::HashAlgorithm;
    let algorithm = KeyAlgorithm::from_spki(key)
        .map_err(|e| Rejected::new(Reason::Key, format!("unsupported key: {e}")))?;
    let bad_signature = || {
        Rejected::new(
            Reason::Signature,
            format!(
                "the signature does not verify with the key sha256:{key_id} (another key signed it, or the bundle was changed)"
            ),
        )
    };
    match &bundle.content {
        SignatureContent::DsseEnvelope(env) => {
            if env.payload_type != crate::statement::IN_TOTO_PAYLOAD_TYPE {
                return Err(Rejected::new(
                    Reason::Bundle,
                    format!(
                        "the DSSE payload type is {:?}, not an in-toto statement",
                        env.payload_type
                    ),
                ));
            }
            verify_signature(
                key,
                &env.pae(),
                &env.signature.sig,
                algorithm.default_signing_scheme(),
            )
            .map_err(|_| bad_signature())?;
            let statement: serde_json::Value = serde_json::from_slice(env.payload.as_bytes())
                .map_err(|e| {
                    Rejected::new(
                        Reason::Bundle,
                        format!("the signed payload is not JSON: {e}"),
                    )
                })?;
            let hex = input.sha256_hex();
            let about = statement
                .get("subject")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|subjects| {
                    subjects.iter().any(|s| {
                        s.pointer("/digest/sha256")
                            .and_then(serde_json::Value::as_str)
                            .is_some_and(|d| d.eq_ignore_ascii_case(&hex))
                    })
                });
            if !about {
                return Err(Rejected::new(
                    Reason::Artifact,
                    "the bundle is not about this artifact: artifact mismatch: no statement subject has its digest",
                ));
            }
        }
        SignatureContent::MessageSignature(m) => {
            let digest = m.message_digest.as_ref().ok_or_else(|| {
                Rejected::new(Reason::Bundle, "the message signature has no messageDigest")
            })?;
            let mismatch = || {
                Rejected::new(
                    Reason::Artifact,
                    "the bundle is not about this artifact: artifact mismatch: its messageDigest is not the payload's",
                )
            };
            let scheme = algorithm
                .resolve_signing_scheme(digest.algorithm)
                .map_err(|e| {
                    Rejected::new(Reason::Key, format!("unsupported signature scheme: {e}"))
                })?;
            match input {
                Input::Bytes(bytes) => {
                    let mut hasher = ArtifactHasher::new(digest.algorithm).map_err(|e| {
                        Rejected::new(Reason::Bundle, format!("unsupported digest: {e}"))
                    })?;
                    hasher.update(bytes);
                    if hasher.finalize().as_bytes() != digest.digest.as_bytes() {
                        return Err(mismatch());
                    }
                    verify_signature(key, bytes, &m.signature, scheme)
                        .map_err(|_| bad_signature())?;
                }
                Input::Digest(d) => {
                    if digest.algorithm != HashAlgorithm::Sha2256
                        || d.as_bytes() != digest.digest.as_bytes()
                    {
                        return Err(mismatch());
                    }
                    verify_signature_prehashed(key, d.as_bytes(), &m.signature, scheme)
                        .map_err(|_| bad_signature())?;
                }
            }
        }
        _ => {
            return Err(Rejected::new(Reason::Bundle, "unsupported bundle content"));
        }
    }
    Ok(())
}

/// The verifier's error as a rejection: its category from the variant, its text for people.
/// `ArtifactMismatch` is also what sigstore-verify reports when the artifact is the bundle's but
/// its log entry records another digest: when the bundle itself is about the artifact (its
/// messageDigest, or a statement subject), the mismatch is the log entry's.
fn rejected(
    e: &sigstore_verify::Error,
    key_id: Option<&str>,
    bundle: &Bundle,
    input: &Input<'_>,
) -> Rejected {
    if matches!(e, sigstore_verify::Error::ArtifactMismatch(_)) && bundle_is_about(bundle, input) {
        return Rejected::new(
            Reason::Tlog,
            format!(
                "the transparency-log entry does not match the bundle: the bundle is about this artifact, but its log entry records another digest ({e})"
            ),
        );
    }
    Rejected::new(Reason::of(e), describe_error(e, key_id))
}

/// Whether the bundle's own (unsigned) description names the artifact: a SHA-256 messageDigest
/// equal to its digest, or a DSSE statement with a subject of that digest.
fn bundle_is_about(bundle: &Bundle, input: &Input<'_>) -> bool {
    use sigstore_verify::types::HashAlgorithm;
    let hex = input.sha256_hex();
    match &bundle.content {
        SignatureContent::MessageSignature(m) => m.message_digest.as_ref().is_some_and(|d| {
            d.algorithm == HashAlgorithm::Sha2256
                && Sha256Hash::from_hex(&hex).is_ok_and(|h| h.as_bytes() == d.digest.as_bytes())
        }),
        SignatureContent::DsseEnvelope(env) => {
            serde_json::from_slice::<serde_json::Value>(env.payload.as_bytes())
                .ok()
                .and_then(|st| st.get("subject").and_then(|s| s.as_array().cloned()))
                .is_some_and(|subjects| {
                    subjects.iter().any(|s| {
                        s.pointer("/digest/sha256")
                            .and_then(serde_json::Value::as_str)
                            .is_some_and(|d| d.eq_ignore_ascii_case(&hex))
                    })
                })
        }
        _ => false,
    }
}

/// A reason a person can act on, from the verifier's error.
fn describe_error(e: &sigstore_verify::Error, key_id: Option<&str>) -> String {
    use sigstore_verify::Error as E;
    match e {
        E::SignatureInvalid(_) => match key_id {
            Some(id) => format!(
                "the signature does not verify with the key sha256:{id} (another key signed it, or the bundle was changed)"
            ),
            None => format!("the signature does not verify: {e}"),
        },
        E::ArtifactMismatch(_) => format!("the bundle is not about this artifact: {e}"),
        _ => e.to_string(),
    }
}
