//! The stand-in's own keys (OIDC issuer, CT log, Rekor log) and the encodings the real services
//! use for them: SPKI DER, PEM, RFC 6962 log IDs, signed-note key hints.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, KeyPair as _,
};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::Rejection;

/// An ECDSA P-256 key held by one of the stand-in's services.
pub(crate) struct ServiceKey {
    pair: EcdsaKeyPair,
    spki: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceKey")
            .field("log_id", &hex::encode(self.log_id()))
            .finish_non_exhaustive()
    }
}

impl ServiceKey {
    /// A fresh key whose signatures are DER (CT logs, Rekor).
    pub(crate) fn der_signing() -> std::io::Result<Self> {
        Self::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
    }

    /// A fresh key whose signatures are JOSE `r || s` (ES256 JWTs).
    pub(crate) fn jose_signing() -> std::io::Result<Self> {
        Self::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
    }

    fn generate(alg: &'static EcdsaSigningAlgorithm) -> std::io::Result<Self> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(io_err)?;
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).map_err(io_err)?;
        let spki = pair
            .public_key()
            .as_der()
            .map_err(io_err)?
            .as_ref()
            .to_vec();
        Ok(Self { pair, spki, rng })
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub(crate) fn spki(&self) -> &[u8] {
        &self.spki
    }

    /// RFC 6962 log ID (and Rekor's `logID`): SHA-256 of the SPKI DER.
    pub(crate) fn log_id(&self) -> [u8; 32] {
        sha256(&self.spki)
    }

    /// SHA-256 with ECDSA P-256 over `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Rejection> {
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| Rejection::internal("the stand-in's ECDSA key refused to sign"))
    }
}

fn io_err(e: impl std::fmt::Debug) -> std::io::Error {
    std::io::Error::other(format!("generating a stand-in key: {e:?}"))
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub(crate) fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

pub(crate) fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// PEM as Go's `pem.Encode` writes it (64-column lines, trailing newline): the form Rekor stores
/// as a key's canonical value.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let body = b64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The first PEM block of `text`: its label and DER bytes.
pub(crate) fn pem_decode(text: &str) -> Result<(String, Vec<u8>), Rejection> {
    let bad = |why: &str| Rejection::bad_request(format!("malformed PEM: {why}"));
    let start = text
        .find("-----BEGIN ")
        .ok_or_else(|| bad("no BEGIN line"))?;
    let rest = text.get(start + 11..).ok_or_else(|| bad("truncated"))?;
    let label_end = rest
        .find("-----")
        .ok_or_else(|| bad("unterminated BEGIN line"))?;
    let label = rest
        .get(..label_end)
        .ok_or_else(|| bad("truncated"))?
        .to_string();
    let body_start = label_end + 5;
    let end_marker = format!("-----END {label}-----");
    let body_end = rest
        .find(&end_marker)
        .ok_or_else(|| bad("no matching END line"))?;
    let body: String = rest
        .get(body_start..body_end)
        .ok_or_else(|| bad("END before BEGIN"))?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| bad(&format!("base64: {e}")))?;
    Ok((label, der))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn pem_round_trips_and_rejects_garbage() {
        let der: Vec<u8> = (0..=255u8).collect();
        let text = pem("CERTIFICATE", &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        assert_eq!(pem_decode(&text).unwrap(), ("CERTIFICATE".to_string(), der));
        for bad in [
            "",
            "-----BEGIN X",
            "-----BEGIN X-----\nAAAA\n",
            "-----BEGIN X-----\n!!\n-----END X-----\n",
            "-----END X----------BEGIN X-----",
        ] {
            assert!(pem_decode(bad).is_err(), "{bad:?} accepted");
        }
    }
}
