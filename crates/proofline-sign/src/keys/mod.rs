//! Cosign-compatible key material: generation, import of cosign's encrypted private keys, public keys.
//!
//! - [`SoftwareSigner`]: a private key in memory that signs through AWS-LC.
//! - [`import_cosign_key`] / [`import_cosign_key_file`] and [`encrypt_cosign_key`]: cosign's
//!   `cosign.key` format (scrypt + nacl/secretbox around PKCS#8), both labels.
//! - [`read_public_key_pem`] and [`key_id`]: `cosign.pub` and the hint bundles carry.
//! - [`keygen`]: `cosign.key` + `cosign.pub` written atomically, never over existing files.
//! - [`password_from_env`]: `PROOFLINE_SIGN_PASSWORD`, else `COSIGN_PASSWORD`.

mod cosign;
mod error;
mod files;
mod oid;
mod software;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, ED25519, ParsedPublicKey,
};

pub use cosign::{
    COSIGN_PRIVATE_KEY_LABEL, SIGSTORE_PRIVATE_KEY_LABEL, encrypt_cosign_key, import_cosign_key,
};
pub use error::KeyError;
pub use files::{
    COSIGN_KEY_FILE, COSIGN_PUB_FILE, GeneratedKey, import_cosign_key_file, keygen,
    password_from_env,
};
pub use software::SoftwareSigner;

use crate::signer::Algorithm;
use oid::{KeyKind, key_kind};

/// A public key as `cosign.pub` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// DER SubjectPublicKeyInfo, exactly as the PEM carried it.
    pub der: Vec<u8>,
    /// The signing scheme the key is used with.
    pub algorithm: Algorithm,
}

/// A public key file larger than this is not a key (an RSA-4096 `cosign.pub` is ~800 bytes).
const MAX_PUBLIC_KEY_BYTES: usize = 64 * 1024;

/// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), as in `cosign.pub`. The key must be one
/// Proofline verifies: ECDSA P-256 or P-384, Ed25519, or RSA of exactly 4096 bits.
pub fn read_public_key_pem(pem: &[u8]) -> Result<PublicKey, KeyError> {
    let origin = "the public key";
    let not_public = |what: String| KeyError::NotAPublicKey {
        origin: origin.to_owned(),
        what,
    };
    if pem.len() > MAX_PUBLIC_KEY_BYTES {
        return Err(not_public(format!(
            "it is {} bytes; a PEM public key is under a kilobyte",
            pem.len()
        )));
    }
    let (label, der) = decode_pem(pem, origin, not_public)?;
    if label != "PUBLIC KEY" {
        return Err(not_public(format!(
            "its PEM label is {label:?}; expected \"PUBLIC KEY\" (SubjectPublicKeyInfo, as in cosign.pub)"
        )));
    }
    let spki = pkcs8::spki::SubjectPublicKeyInfoRef::try_from(der.as_slice()).map_err(|e| {
        KeyError::malformed(origin, format!("not a DER SubjectPublicKeyInfo ({e})"))
    })?;
    let kind = key_kind(&spki.algorithm).map_err(|algorithm| KeyError::UnsupportedAlgorithm {
        origin: origin.to_owned(),
        algorithm,
    })?;
    let rejected = |name: &str, e: aws_lc_rs::error::KeyRejected| {
        KeyError::malformed(
            origin,
            format!("AWS-LC rejects the {name} public key ({e})"),
        )
    };
    let algorithm = match kind {
        KeyKind::EcdsaP256 => {
            ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &der)
                .map_err(|e| rejected("ECDSA P-256", e))?;
            Algorithm::EcdsaP256
        }
        KeyKind::EcdsaP384 => {
            ParsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, &der)
                .map_err(|e| rejected("ECDSA P-384", e))?;
            Algorithm::EcdsaP384
        }
        KeyKind::Ed25519 => {
            ParsedPublicKey::new(&ED25519, &der).map_err(|e| rejected("Ed25519", e))?;
            Algorithm::Ed25519
        }
        KeyKind::Rsa => {
            let key = aws_lc_rs::rsa::PublicEncryptingKey::from_der(&der)
                .map_err(|e| rejected("RSA", e))?;
            let bits = key.key_size_bits();
            if bits != 4096 {
                return Err(KeyError::UnsupportedRsaSize {
                    origin: origin.to_owned(),
                    bits,
                });
            }
            Algorithm::Rsa4096
        }
    };
    Ok(PublicKey { der, algorithm })
}

/// The key's id: lowercase hex SHA-256 of the DER SubjectPublicKeyInfo (the bundle's
/// `publicKey.hint`).
pub fn key_id(spki_der: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        spki_der,
    ))
}

/// PEM `PUBLIC KEY` for a DER SubjectPublicKeyInfo (LF line endings, trailing newline); `None`
/// only if the encoder refuses (a length overflow no real key reaches).
pub fn spki_to_pem(der: &[u8]) -> Option<String> {
    pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, der).ok()
}

/// Decodes one PEM block, tolerating surrounding whitespace and CRLF line endings (cosign and Go
/// write LF; files edited on Windows have CRLF). `not_pem` builds the error for input that is not
/// PEM at all; a PEM block that is damaged is [`KeyError::Malformed`].
fn decode_pem(
    pem: &[u8],
    origin: &str,
    not_pem: impl FnOnce(String) -> KeyError,
) -> Result<(String, Vec<u8>), KeyError> {
    let text = pem.trim_ascii();
    if !text.starts_with(b"-----BEGIN ") {
        return Err(not_pem(
            "it is not PEM (no `-----BEGIN …-----` line at its start)".to_owned(),
        ));
    }
    match pem_rfc7468::decode_vec(text) {
        Ok((label, body)) => Ok((label.to_owned(), body)),
        Err(e) => Err(KeyError::malformed(
            origin,
            format!("its PEM block does not decode ({e}; truncated or edited?)"),
        )),
    }
}
