//! The one error type of key handling: each variant names the file (or "the key" for bytes in
//! memory), what is wrong with it, and what to do about it.

use std::path::PathBuf;

use crate::signer::Algorithm;

/// What went wrong reading, decrypting, generating or writing a key.
///
/// `origin` fields name where the key came from: a file path, or a description such as
/// "the cosign private key" for bytes handed over in memory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The password did not open the key (scrypt + secretbox authentication failed). A damaged
    /// ciphertext looks the same to the cipher, so the message says both.
    #[error(
        "the password does not open {origin}: check PROOFLINE_SIGN_PASSWORD / COSIGN_PASSWORD \
         (if the password is right, the file was altered)"
    )]
    WrongPassword {
        /// Where the key came from.
        origin: String,
    },

    /// The key file is damaged: bad PEM, bad base64, JSON that is not cosign's, a nonce of the
    /// wrong size, a DER structure that does not parse.
    #[error("{origin} is malformed: {what}")]
    Malformed {
        /// Where the key came from.
        origin: String,
        /// What exactly is malformed.
        what: String,
    },

    /// The key is well formed but of an algorithm Proofline does not sign with.
    #[error(
        "{origin} holds a {algorithm} key, which Proofline does not sign with: use ecdsa-p256, \
         ecdsa-p384, rsa-4096 or ed25519 (`proofline-sign keygen --algorithm …`)"
    )]
    UnsupportedAlgorithm {
        /// Where the key came from.
        origin: String,
        /// The algorithm, as named by its OID (e.g. `ECDSA P-521`, `RSASSA-PSS`, `1.2.3.4`).
        algorithm: String,
    },

    /// An RSA key of a size other than 4096 bits (Proofline's one RSA scheme is RSA-4096).
    #[error(
        "{origin} holds an RSA-{bits} key; Proofline signs with RSA only as rsa-4096: generate one \
         with `proofline-sign keygen --algorithm rsa-4096` (or use ecdsa-p256)"
    )]
    UnsupportedRsaSize {
        /// Where the key came from.
        origin: String,
        /// The modulus size in bits.
        bits: usize,
    },

    /// A SEC1 `EC PRIVATE KEY`, which cosign's key format does not take either.
    #[error(
        "{origin} is a SEC1 `EC PRIVATE KEY`, not PKCS#8: convert it with \
         `openssl pkcs8 -topk8 -nocrypt -in <key> -out key.pkcs8.pem` and import that \
         (or re-encrypt it with `cosign import-key-pair --key key.pkcs8.pem`)"
    )]
    Sec1Key {
        /// Where the key came from.
        origin: String,
    },

    /// The scrypt parameters are not the ones cosign writes; refused so that a hostile key file
    /// cannot make us spend minutes or gigabytes deriving a key.
    #[error(
        "{origin} asks for scrypt N={n}, r={r}, p={p}; only the parameters cosign writes are \
         accepted (N a power of two up to 65536, r=8, p=1): re-encrypt the key with cosign or \
         `proofline-sign keygen`"
    )]
    ScryptCost {
        /// Where the key came from.
        origin: String,
        /// scrypt N as the file gives it.
        n: u64,
        /// scrypt r.
        r: u64,
        /// scrypt p.
        p: u64,
    },

    /// A key-derivation function or cipher other than cosign's `scrypt` / `nacl/secretbox`.
    #[error(
        "{origin} is encrypted with {field} {name:?}; cosign keys use kdf \"scrypt\" and cipher \
         \"nacl/secretbox\""
    )]
    UnsupportedEncryption {
        /// Where the key came from.
        origin: String,
        /// `kdf` or `cipher`.
        field: &'static str,
        /// The name the file gives.
        name: String,
    },

    /// Not a private key of any kind we read (a public key, a certificate, not PEM at all…).
    #[error("{origin} is not a cosign private key: {what}")]
    NotAPrivateKey {
        /// Where the key came from.
        origin: String,
        /// What it is instead, and what to give instead.
        what: String,
    },

    /// Not a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    #[error("{origin} is not a public key: {what}")]
    NotAPublicKey {
        /// Where the key came from.
        origin: String,
        /// What is wrong, and what to give instead.
        what: String,
    },

    /// The cryptographic module failed (key generation, PKCS#8 export, randomness).
    #[error("AWS-LC failed to {action} ({algorithm} key)")]
    Module {
        /// What we asked the module to do.
        action: &'static str,
        /// The key's algorithm.
        algorithm: Algorithm,
    },

    /// A password variable is set but is not UTF-8.
    #[error("{var} is set but is not valid UTF-8: set it to the key's password as text")]
    PasswordNotUtf8 {
        /// The variable's name.
        var: &'static str,
    },

    /// `keygen` would overwrite a file.
    #[error("{} exists: remove it or choose another --out", path.display())]
    Exists {
        /// The file that is in the way.
        path: PathBuf,
    },

    /// Reading or writing a key file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What we tried (`read`, `create the directory`, `write`…).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}

impl KeyError {
    pub(crate) fn malformed(origin: &str, what: impl Into<String>) -> Self {
        KeyError::Malformed {
            origin: origin.to_owned(),
            what: what.into(),
        }
    }
}
