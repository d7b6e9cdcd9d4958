//! Which kind of key a PKCS#8 or SubjectPublicKeyInfo holds, read from its AlgorithmIdentifier,
//! so that a key we do not sign with is refused by name ("ECDSA P-521") rather than as "invalid".

use pkcs8::ObjectIdentifier;
use pkcs8::spki::AlgorithmIdentifierRef;

/// `id-ecPublicKey` (RFC 5480).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `rsaEncryption` (RFC 8017).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-Ed25519` (RFC 8410).
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// `secp256r1` / P-256.
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1` / P-384.
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// Key types we know by name, for errors about the ones we do not sign with.
const NAMES: &[(&str, &str)] = &[
    ("1.3.132.0.35", "ECDSA P-521"),
    ("1.3.132.0.10", "ECDSA secp256k1"),
    ("1.2.840.113549.1.1.10", "RSASSA-PSS"),
    ("1.3.101.113", "Ed448"),
    ("1.3.101.110", "X25519"),
    ("1.3.101.111", "X448"),
    ("1.2.840.10040.4.1", "DSA"),
    ("1.2.840.10046.2.1", "Diffie-Hellman"),
    ("1.2.156.10197.1.301", "SM2"),
];

/// The key kinds we handle; RSA's size is checked once the key is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    EcdsaP256,
    EcdsaP384,
    Rsa,
    Ed25519,
}

/// Reads the key kind from an AlgorithmIdentifier; `Err` carries a name for the unsupported one.
pub(crate) fn key_kind(algorithm: &AlgorithmIdentifierRef<'_>) -> Result<KeyKind, String> {
    if algorithm.oid == EC_PUBLIC_KEY {
        let curve = algorithm
            .parameters_oid()
            .map_err(|_| "EC key without a named curve".to_owned())?;
        return match curve {
            c if c == P256 => Ok(KeyKind::EcdsaP256),
            c if c == P384 => Ok(KeyKind::EcdsaP384),
            other => Err(name_of(&other).unwrap_or_else(|| format!("EC curve {other}"))),
        };
    }
    if algorithm.oid == RSA_ENCRYPTION {
        return Ok(KeyKind::Rsa);
    }
    if algorithm.oid == ED25519 {
        return Ok(KeyKind::Ed25519);
    }
    Err(name_of(&algorithm.oid).unwrap_or_else(|| format!("unknown (OID {})", algorithm.oid)))
}

fn name_of(oid: &ObjectIdentifier) -> Option<String> {
    let dotted = oid.to_string();
    NAMES
        .iter()
        .find(|(o, _)| *o == dotted)
        .map(|(_, name)| (*name).to_owned())
}
