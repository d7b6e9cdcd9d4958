//! Turns payloads into Sigstore bundles v0.3, keyed (any [`Signer`]; the bundle carries a
//! public-key hint, as cosign v3 writes keyed bundles) or keyless (an ephemeral key, a Fulcio
//! certificate and a Rekor entry per signature, through `sigstore-sign`). Every bundle is
//! verified, as `proofline verify` will, before it is returned: a signer (a KMS, an HSM, a
//! service) that hands back something that does not verify stops the stage.

use sigstore_sign::types::bundle::{
    MessageDigest, MessageSignature, PublicKeyIdentifier, VerificationMaterial,
    VerificationMaterialContent,
};
use sigstore_sign::types::{
    Bundle, DigestBytes, DsseEnvelope, DsseSignature, HashAlgorithm, KeyId, MediaType,
    PayloadBytes, SignatureBytes, SignatureContent,
};

use crate::crypto_module;
use crate::keyless::Keyless;
use crate::signer::{Algorithm, Hash, ModuleInfo, SignError, Signer};
use proofline_verify::statement::IN_TOTO_PAYLOAD_TYPE;
use proofline_verify::trust::{Signed, verify_bundle};
use proofline_verify::{Trust, TrustError};

/// Why a bundle could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The key refused.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// Fulcio, Rekor or the OIDC token failed (the message names the service and the fix).
    #[error("keyless signing failed: {0}")]
    Keyless(String),
    /// The key's public key is one the verifier cannot use.
    #[error(transparent)]
    Key(#[from] TrustError),
    /// A keyed signature that does not verify with the key's own public key.
    #[error(
        "the {algorithm} key made a signature that does not verify with its own public key ({reason}); nothing was written: check the key or the KMS/HSM behind it"
    )]
    Unverified {
        /// The key's algorithm.
        algorithm: Algorithm,
        /// What the verifier said.
        reason: String,
    },
}

/// What makes the signatures.
pub enum BundleSigner {
    /// A key: from a cosign key file, or ephemeral for a local run.
    Keyed {
        /// The key.
        signer: Box<dyn Signer>,
        /// The bundles' `publicKey.hint`: the key's SHA-256 (hex).
        hint: String,
        /// The key's public half, which every bundle must verify with.
        trust: Box<Trust>,
    },
    /// Fulcio + Rekor with an OIDC identity.
    Keyless(Box<Keyless>),
}

impl std::fmt::Debug for BundleSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleSigner::Keyed { signer, hint, .. } => f
                .debug_struct("Keyed")
                .field("algorithm", &signer.algorithm())
                .field("hint", hint)
                .finish(),
            BundleSigner::Keyless(k) => f.debug_tuple("Keyless").field(k).finish(),
        }
    }
}

impl BundleSigner {
    /// A keyed signer.
    pub fn keyed(signer: Box<dyn Signer>) -> Result<Self, BundleError> {
        let hint = crate::keys::key_id(signer.public_key_der());
        let trust = Box::new(Trust::public_key_der(signer.public_key_der())?);
        Ok(BundleSigner::Keyed {
            signer,
            hint,
            trust,
        })
    }

    /// The algorithm of the signatures (keyless: Fulcio's ephemeral ECDSA P-256 key).
    pub fn algorithm(&self) -> Algorithm {
        match self {
            BundleSigner::Keyed { signer, .. } => signer.algorithm(),
            BundleSigner::Keyless(_) => Algorithm::EcdsaP256,
        }
    }

    /// The module that makes the signatures.
    pub fn module(&self) -> ModuleInfo {
        match self {
            BundleSigner::Keyed { signer, .. } => signer.module(),
            // sigstore-sign makes the ephemeral key and signs with sigstore-crypto's AWS-LC provider.
            BundleSigner::Keyless(_) => crypto_module::aws_lc(),
        }
    }

    /// Whether this is keyless signing.
    pub fn is_keyless(&self) -> bool {
        self.keyless().is_some()
    }

    /// The keyless signer, when this is keyless signing.
    pub fn keyless(&self) -> Option<&Keyless> {
        match self {
            BundleSigner::Keyless(k) => Some(k),
            BundleSigner::Keyed { .. } => None,
        }
    }

    /// A DSSE bundle over an in-toto statement whose subject is `subject_sha256` (hex), verified
    /// against it before it is returned.
    pub async fn sign_statement(
        &self,
        payload: &[u8],
        subject_sha256: &str,
    ) -> Result<Bundle, BundleError> {
        let bundle = match self {
            BundleSigner::Keyed { signer, hint, .. } => {
                let pae = sigstore_sign::types::pae(IN_TOTO_PAYLOAD_TYPE, payload);
                let sig = signer.sign(&pae)?;
                keyed_bundle(
                    hint,
                    SignatureContent::DsseEnvelope(DsseEnvelope::new(
                        IN_TOTO_PAYLOAD_TYPE,
                        PayloadBytes::from_bytes(payload),
                        DsseSignature::new(SignatureBytes::new(sig), KeyId::default()),
                    )),
                )
            }
            BundleSigner::Keyless(k) => k.sign_statement(payload).await?,
        };
        self.check(&bundle, Signed::Subject(subject_sha256))?;
        Ok(bundle)
    }

    /// A message-signature bundle over `message` (cosign's simple-signing payload), verified
    /// before it is returned.
    pub async fn sign_message(&self, message: &[u8]) -> Result<Bundle, BundleError> {
        let bundle = match self {
            BundleSigner::Keyed { signer, hint, .. } => {
                let sig = signer.sign(message)?;
                let (algorithm, digest) = match signer.algorithm().hash() {
                    Some(Hash::Sha384) => (
                        HashAlgorithm::Sha2384,
                        digest(&aws_lc_rs::digest::SHA384, message),
                    ),
                    _ => (
                        HashAlgorithm::Sha2256,
                        digest(&aws_lc_rs::digest::SHA256, message),
                    ),
                };
                keyed_bundle(
                    hint,
                    SignatureContent::MessageSignature(
                        MessageSignature::new(SignatureBytes::new(sig)).with_message_digest(
                            MessageDigest::new(algorithm, DigestBytes::new(digest)),
                        ),
                    ),
                )
            }
            BundleSigner::Keyless(k) => k.sign_message(message).await?,
        };
        self.check(&bundle, Signed::Message(message))?;
        Ok(bundle)
    }

    /// Verifies a new bundle as `proofline verify` will: keyed with the key's public half,
    /// keyless against the trusted root (and the identity of the run's other certificates).
    fn check(&self, bundle: &Bundle, signed: Signed<'_>) -> Result<(), BundleError> {
        match self {
            BundleSigner::Keyed { signer, trust, .. } => {
                let unverified = |reason: String| BundleError::Unverified {
                    algorithm: signer.algorithm(),
                    reason,
                };
                let json = bundle
                    .to_json()
                    .map_err(|e| unverified(format!("the bundle cannot be serialized: {e}")))?;
                verify_bundle(trust, json.as_bytes(), signed)
                    .map(|_| ())
                    .map_err(|rejected| unverified(format!("{}: {rejected}", rejected.reason())))
            }
            BundleSigner::Keyless(k) => k.check(bundle, signed),
        }
    }
}

fn keyed_bundle(hint: &str, content: SignatureContent) -> Bundle {
    Bundle::new(
        MediaType::Bundle0_3,
        VerificationMaterial::new(VerificationMaterialContent::PublicKey(
            PublicKeyIdentifier::new(hint),
        )),
        content,
    )
}

fn digest(algorithm: &'static aws_lc_rs::digest::Algorithm, message: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(algorithm, message)
        .as_ref()
        .to_vec()
}
