//! The signer abstraction: everything the stage signs goes through [`Signer`], so a key in a
//! file, an ephemeral key, or (later) a KMS or HSM key are interchangeable.
//!
//! # Plugging in a KMS signer
//!
//! Implement [`Signer`] for a type that holds the KMS client and key id:
//! - [`Signer::algorithm`] and [`Signer::public_key_der`] come from the KMS's "get public key"
//!   call, made once when the signer is built (so a wrong key id fails before anything is signed);
//! - [`Signer::sign`] hashes the message locally with the algorithm's hash (SHA-256 for P-256 and
//!   RSA, SHA-384 for P-384) and asks the KMS to sign the digest; it returns the DER ECDSA
//!   signature (or the raw RSA PKCS#1 v1.5 / Ed25519 signature), exactly what a local key gives;
//! - [`Signer::module`] names the KMS and its validation (e.g. the HSM's FIPS 140-3 certificate),
//!   because `sign/crypto-module.json` reports it for every signature.
//!
//! Then add a `--key` scheme for it (e.g. `awskms://…`) in the stage's key resolution.

use std::fmt;

/// Key algorithms Proofline generates and signs with. Each has one signing scheme, the one cosign
/// and the Sigstore clients use for it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (cosign's default).
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// RSA 4096-bit, PKCS#1 v1.5 with SHA-256 (cosign's RSA scheme).
    Rsa4096,
    /// Ed25519 (pure, over the whole message).
    Ed25519,
}

impl Algorithm {
    /// Every algorithm, in the order the CLI lists them.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::EcdsaP256,
        Algorithm::EcdsaP384,
        Algorithm::Rsa4096,
        Algorithm::Ed25519,
    ];

    /// The CLI and record spelling: `ecdsa-p256`, `ecdsa-p384`, `rsa-4096`, `ed25519`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256 => "ecdsa-p256",
            Algorithm::EcdsaP384 => "ecdsa-p384",
            Algorithm::Rsa4096 => "rsa-4096",
            Algorithm::Ed25519 => "ed25519",
        }
    }

    /// The signing scheme's name as the Sigstore protobuf specs spell it (`PublicKeyDetails`).
    pub fn sigstore_key_details(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256",
            Algorithm::EcdsaP384 => "PKIX_ECDSA_P384_SHA_384",
            Algorithm::Rsa4096 => "PKIX_RSA_PKCS1V15_4096_SHA256",
            Algorithm::Ed25519 => "PKIX_ED25519",
        }
    }

    /// The hash the signature is computed over (`None` for Ed25519, which signs the message).
    pub fn hash(self) -> Option<Hash> {
        match self {
            Algorithm::EcdsaP256 | Algorithm::Rsa4096 => Some(Hash::Sha256),
            Algorithm::EcdsaP384 => Some(Hash::Sha384),
            Algorithm::Ed25519 => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown key algorithm {s:?}: use one of ecdsa-p256, ecdsa-p384, rsa-4096, ed25519"
                )
            })
    }
}

/// The message digest a scheme signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Hash {
    /// SHA-256 (`SHA2_256` in Sigstore bundles).
    Sha256,
    /// SHA-384 (`SHA2_384`).
    Sha384,
}

/// Which cryptographic module made a signature, for `sign/crypto-module.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModuleInfo {
    /// The module's name as its vendor gives it, e.g. `AWS-LC` or `AWS-LC FIPS`.
    pub name: String,
    /// Its version, as the running module reports it.
    pub version: String,
    /// The Rust crate that drives it and its version, e.g. `aws-lc-rs 1.19.0`.
    pub interface: String,
    /// Whether the module runs in its FIPS-approved mode, as reported at run time.
    pub fips_mode: bool,
}

/// An error from a signer: the key or the module refused to sign.
#[derive(Debug, thiserror::Error)]
#[error("signing with the {algorithm} key failed: {reason}")]
pub struct SignError {
    /// The key's algorithm.
    pub algorithm: Algorithm,
    /// What the module said.
    pub reason: String,
}

/// A key that signs messages. Implementations never print or log their secret.
pub trait Signer: Send + Sync {
    /// The key's algorithm (and with it the signing scheme).
    fn algorithm(&self) -> Algorithm;

    /// The public key as DER SubjectPublicKeyInfo.
    fn public_key_der(&self) -> &[u8];

    /// Signs `message` (hashing it first as the scheme says): DER ECDSA, raw RSA PKCS#1 v1.5, or
    /// raw Ed25519 signature bytes, as cosign and the Sigstore bundle format carry them.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;

    /// The cryptographic module that makes the signatures.
    fn module(&self) -> ModuleInfo;
}
