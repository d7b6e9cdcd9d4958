//! Who is trusted to have signed, and the verification of one Sigstore bundle against that
//! trust: a cosign public key, or a certificate identity and OIDC issuer chained to a
//! `trusted_root.json`. Every bundle goes through `sigstore-verify` (the `sigstore` crate's own
//! bundle verifier fails open, see CRATES.md); this module adds the policy it lacks (identity and
//! issuer regular expressions, "no transparency log entry" as an explicit fact).

use std::path::{Path, PathBuf};

use sigstore_verify::trust_root::{SIGSTORE_PRODUCTION_TRUSTED_ROOT, TrustedRoot};
use sigstore_verify::types::bundle::VerificationMaterialContent;
use sigstore_verify::types::{Bundle, DerPublicKey, Sha256Hash, SignatureContent};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};

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
        None => {
            let name = "the embedded Sigstore production trusted root".to_string();
            let root = TrustedRoot::from_json(SIGSTORE_PRODUCTION_TRUSTED_ROOT).map_err(|e| {
                TrustError::BadTrustedRoot {
                    source_name: name.clone(),
                    reason: e.to_string(),
                }
            })?;
            Ok((root, name))
        }
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
        let key = DerPublicKey::from_pem(text).map_err(|e| bad(e.to_string()))?;
        sigstore_verify::crypto::KeyAlgorithm::from_spki(&key)
            .map_err(|e| bad(format!("unsupported key: {e}")))?;
        let key_id = proofline_evidence::sha256_hex(key.as_bytes());
        Self::key_der(key, key_id, trusted_root, require_tlog)
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
}

/// The thing a bundle signs.
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    /// A DSSE statement whose subject must carry this SHA-256 (the image's manifest digest).
    Subject(&'a str),
    /// A message signature over these bytes (the simple-signing payload).
    Message(&'a [u8]),
}

/// Why a bundle did not verify. The text is the reason shown per artifact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

/// Verifies one bundle (JSON) for `signed` under `trust`.
pub fn verify_bundle(
    trust: &Trust,
    bundle_json: &[u8],
    signed: Signed<'_>,
) -> Result<Verified, Rejected> {
    let text = std::str::from_utf8(bundle_json)
        .map_err(|_| Rejected("the bundle is not UTF-8 JSON".into()))?;
    let bundle = Bundle::from_json(text).map_err(|e| Rejected(format!("malformed bundle: {e}")))?;
    let payload = match (&bundle.content, signed) {
        (SignatureContent::DsseEnvelope(env), Signed::Subject(_)) => {
            Some(env.payload.as_bytes().to_vec())
        }
        (SignatureContent::MessageSignature(_), Signed::Message(_)) => None,
        (SignatureContent::DsseEnvelope(_), Signed::Message(_)) => {
            return Err(Rejected(
                "expected a message signature, found a DSSE envelope".into(),
            ));
        }
        _ => {
            return Err(Rejected(
                "expected a DSSE envelope, found a message signature".into(),
            ));
        }
    };
    let logged = !bundle.verification_material.tlog_entries.is_empty();
    let subject_hash;
    let artifact: sigstore_verify::types::Artifact<'_> = match signed {
        Signed::Subject(hex) => {
            subject_hash = Sha256Hash::from_hex(hex)
                .map_err(|e| Rejected(format!("the image digest {hex} is not SHA-256 hex: {e}")))?;
            subject_hash.into()
        }
        Signed::Message(bytes) => bytes.into(),
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
                return Err(Rejected(
                    "signed with a certificate (keyless), but a public key was given: verify with --certificate-identity and --certificate-oidc-issuer".into(),
                ));
            }
            if !logged && *require_tlog {
                return Err(Rejected(
                    "no transparency-log entry, and --require-tlog is set".into(),
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
                    .map_err(|e| Rejected(describe_error(&e, Some(key_id))))?;
            } else {
                // No log entry and no timestamp: sigstore-verify refuses such bundles outright
                // (it needs signing-time evidence), but an offline keyed signature has none and
                // needs none, since no certificate expires. The signature and the binding are
                // checked here with sigstore-verify's own primitives.
                verify_unlogged(key, key_id, &bundle, signed)?;
            }
            Verified {
                signer: format!("key sha256:{key_id}"),
                logged,
                integrated_time: None,
                payload,
            }
        }
        TrustPolicy::Identity { identity, issuer } => {
            if keyed {
                return Err(Rejected(
                    "signed with a key, not a certificate: verify with --key".into(),
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
                .map_err(|e| Rejected(describe_error(&e, None)))?;
            let san = result.identity().map(|s| s.as_str().to_string());
            let iss = result.issuer().map(str::to_string);
            if !san.as_deref().is_some_and(|s| identity.matches(s)) {
                return Err(Rejected(format!(
                    "the certificate's identity {} does not match {}",
                    san.as_deref().unwrap_or("(none)"),
                    identity.describe()
                )));
            }
            if !iss.as_deref().is_some_and(|s| issuer.matches(s)) {
                return Err(Rejected(format!(
                    "the certificate's OIDC issuer {} does not match {}",
                    iss.as_deref().unwrap_or("(none)"),
                    issuer.describe()
                )));
            }
            if !(result.certificate_verified() && result.tlog_verified()) {
                return Err(Rejected(
                    "the certificate chain or the log entry was not verified".into(),
                ));
            }
            Verified {
                signer: format!(
                    "{} (issuer {})",
                    san.unwrap_or_default(),
                    iss.unwrap_or_default()
                ),
                logged: true,
                integrated_time: result.integrated_time().map(|t| t.to_string()),
                payload,
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
    signed: Signed<'_>,
) -> Result<(), Rejected> {
    use sigstore_verify::crypto::{ArtifactHasher, KeyAlgorithm, verify_signature};
    let algorithm =
        KeyAlgorithm::from_spki(key).map_err(|e| Rejected(format!("unsupported key: {e}")))?;
    let bad_signature = || {
        Rejected(format!(
            "the signature does not verify with the key sha256:{key_id} (another key signed it, or the bundle was changed)"
        ))
    };
    match (&bundle.content, signed) {
        (SignatureContent::DsseEnvelope(env), Signed::Subject(hex)) => {
            if env.payload_type != crate::statement::IN_TOTO_PAYLOAD_TYPE {
                return Err(Rejected(format!(
                    "the DSSE payload type is {:?}, not an in-toto statement",
                    env.payload_type
                )));
            }
            verify_signature(
                key,
                &env.pae(),
                &env.signature.sig,
                algorithm.default_signing_scheme(),
            )
            .map_err(|_| bad_signature())?;
            let statement: serde_json::Value = serde_json::from_slice(env.payload.as_bytes())
                .map_err(|e| Rejected(format!("the signed payload is not JSON: {e}")))?;
            let about = statement
                .get("subject")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|subjects| {
                    subjects.iter().any(|s| {
                        s.pointer("/digest/sha256")
                            .and_then(serde_json::Value::as_str)
                            == Some(hex)
                    })
                });
            if !about {
                return Err(Rejected(
                    "the bundle is not about this artifact: artifact mismatch: no statement subject has its digest".into(),
                ));
            }
        }
        (SignatureContent::MessageSignature(m), Signed::Message(bytes)) => {
            let digest = m
                .message_digest
                .as_ref()
                .ok_or_else(|| Rejected("the message signature has no messageDigest".into()))?;
            let mut hasher = ArtifactHasher::new(digest.algorithm)
                .map_err(|e| Rejected(format!("unsupported digest: {e}")))?;
            hasher.update(bytes);
            if hasher.finalize().as_bytes() != digest.digest.as_bytes() {
                return Err(Rejected(
                    "the bundle is not about this artifact: artifact mismatch: its messageDigest is not the payload's".into(),
                ));
            }
            let scheme = algorithm
                .resolve_signing_scheme(digest.algorithm)
                .map_err(|e| Rejected(format!("unsupported signature scheme: {e}")))?;
            verify_signature(key, bytes, &m.signature, scheme).map_err(|_| bad_signature())?;
        }
        _ => return Err(Rejected("unsupported bundle content".into())),
    }
    Ok(())
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
