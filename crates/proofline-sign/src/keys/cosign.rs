//! cosign's encrypted private key format (`cosign.key`), read and written so that keys move
//! between cosign and Proofline unchanged.
//!
//! The PEM block (`ENCRYPTED SIGSTORE PRIVATE KEY`, or `ENCRYPTED COSIGN PRIVATE KEY` from older
//! cosign) holds JSON, as go-tuf's `encrypted` package writes it:
//! `{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":b64},
//!   "cipher":{"name":"nacl/secretbox","nonce":b64},"ciphertext":b64}`;
//! the secretbox key is `scrypt(password, salt, N, r, p, 32)` and the plaintext is the PKCS#8 DER
//! private key. The primitives are RustCrypto's `scrypt` and `crypto_secretbox` (the ones the
//! `sigstore` crate uses for the same format); this module only reads and writes the envelope,
//! with every size and parameter bounded before any work is done.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use zeroize::Zeroizing;

use super::{KeyError, SoftwareSigner};
use crate::signer::Signer;

/// The PEM label cosign 2.x writes.
pub const SIGSTORE_PRIVATE_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM label older cosign releases wrote; still read.
pub const COSIGN_PRIVATE_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// A key file larger than this is not a key (an encrypted RSA-4096 key is about 5 KiB).
pub(crate) const MAX_KEY_FILE_BYTES: usize = 256 * 1024;

/// scrypt N cosign writes (go-tuf's default, ~100 ms).
const SCRYPT_N: u64 = 32_768;
/// The largest N accepted: 65536 × 128 × r = 64 MiB of memory, well under a second.
const SCRYPT_N_MAX: u64 = 65_536;
const SCRYPT_R: u64 = 8;
const SCRYPT_P: u64 = 1;
const SALT_BYTES: usize = 32;
const MAX_SALT_BYTES: usize = 1024;
const NONCE_BYTES: usize = 24;
/// Poly1305 tag that prefixes every secretbox ciphertext.
const TAG_BYTES: usize = 16;

const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "nacl/secretbox";

#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

/// Numbers are read as `u64` so a hostile `N` of 2^40 is refused by name rather than failing to
/// parse.
#[derive(serde::Serialize, serde::Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u64,
    p: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Encrypts the signer's private key in cosign's format (label `ENCRYPTED SIGSTORE PRIVATE KEY`,
/// scrypt N=32768, r=8, p=1, fresh salt and nonce). cosign's `sign --key` opens the result with
/// the same password.
pub fn encrypt_cosign_key(
    signer: &SoftwareSigner,
    password: &[u8],
) -> Result<Zeroizing<String>, KeyError> {
    let algorithm = signer.algorithm();
    let module_failed = |action| KeyError::Module { action, algorithm };
    let plaintext = signer.to_pkcs8_der()?;

    let mut salt = [0u8; SALT_BYTES];
    let mut nonce = [0u8; NONCE_BYTES];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| module_failed("generate a salt"))?;
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| module_failed("generate a nonce"))?;

    let key = derive_key(password, &salt, SCRYPT_N)
        .ok_or_else(|| module_failed("derive the key-encryption key"))?;
    let cipher = XSalsa20Poly1305::new_from_slice(key.as_slice())
        .map_err(|_| module_failed("set up the secretbox cipher"))?;
    let ciphertext = cipher
        .encrypt(&Nonce::from(nonce), plaintext.as_slice())
        .map_err(|_| module_failed("encrypt the private key"))?;

    let envelope = Envelope {
        kdf: Kdf {
            name: KDF_NAME.to_owned(),
            params: ScryptParams {
                n: SCRYPT_N,
                r: SCRYPT_R,
                p: SCRYPT_P,
            },
            salt: BASE64.encode(salt),
        },
        cipher: Cipher {
            name: CIPHER_NAME.to_owned(),
            nonce: BASE64.encode(nonce),
        },
        ciphertext: BASE64.encode(&ciphertext),
    };
    let json =
        serde_json::to_vec(&envelope).map_err(|_| module_failed("serialize the key envelope"))?;
    let pem = pem_rfc7468::encode_string(
        SIGSTORE_PRIVATE_KEY_LABEL,
        pem_rfc7468::LineEnding::LF,
        &json,
    )
    .map_err(|_| module_failed("PEM-encode the key"))?;
    Ok(Zeroizing::new(pem))
}

/// Reads a cosign private key: an encrypted `cosign.key` (either label), or, as cosign's
/// `import-key-pair` takes them, an unencrypted PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`
/// PEM (the password is then not used).
pub fn import_cosign_key(pem: &[u8], password: &[u8]) -> Result<SoftwareSigner, KeyError> {
    import_cosign_key_at(pem, password, "the cosign private key")
}

/// [`import_cosign_key`] with errors naming `origin` (the file's path).
pub(crate) fn import_cosign_key_at(
    pem: &[u8],
    password: &[u8],
    origin: &str,
) -> Result<SoftwareSigner, KeyError> {
    if pem.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyError::malformed(
            origin,
            format!(
                "it is {} bytes; a cosign key is a few kilobytes (at most {MAX_KEY_FILE_BYTES} accepted)",
                pem.len()
            ),
        ));
    }
    let (label, body) = super::decode_pem(pem, origin, |what| KeyError::NotAPrivateKey {
        origin: origin.to_owned(),
        what,
    })?;
    let body = Zeroizing::new(body);
    match label.as_str() {
        SIGSTORE_PRIVATE_KEY_LABEL | COSIGN_PRIVATE_KEY_LABEL => {
            let der = decrypt(&body, password, origin)?;
            SoftwareSigner::from_pkcs8_der_at(&der, origin)
        }
        "PRIVATE KEY" => SoftwareSigner::from_pkcs8_der_at(&body, origin),
        "RSA PRIVATE KEY" => SoftwareSigner::from_pkcs1_der_at(&body, origin),
        "EC PRIVATE KEY" => Err(KeyError::Sec1Key {
            origin: origin.to_owned(),
        }),
        "ENCRYPTED PRIVATE KEY" => Err(KeyError::NotAPrivateKey {
            origin: origin.to_owned(),
            what: "it is a PKCS#8 `ENCRYPTED PRIVATE KEY` (openssl's format, not cosign's): \
                   decrypt it with `openssl pkcs8 -in <key> -out key.pem` and import key.pem, \
                   or run `cosign import-key-pair --key <key>`"
                .to_owned(),
        }),
        "PUBLIC KEY" => Err(KeyError::NotAPrivateKey {
            origin: origin.to_owned(),
            what: "it is a public key (cosign.pub): signing needs the private key (cosign.key)"
                .to_owned(),
        }),
        other => Err(KeyError::NotAPrivateKey {
            origin: origin.to_owned(),
            what: format!(
                "its PEM label is {other:?}; expected {SIGSTORE_PRIVATE_KEY_LABEL:?} \
                 (cosign generate-key-pair), {COSIGN_PRIVATE_KEY_LABEL:?} or \"PRIVATE KEY\""
            ),
        }),
    }
}

/// Opens the JSON envelope: checks names and sizes, bounds scrypt, then decrypts.
fn decrypt(json: &[u8], password: &[u8], origin: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let envelope: Envelope = serde_json::from_slice(json).map_err(|e| {
        KeyError::malformed(
            origin,
            format!("the PEM body is not cosign's encrypted-key JSON ({e})"),
        )
    })?;
    if envelope.kdf.name != KDF_NAME {
        return Err(KeyError::UnsupportedEncryption {
            origin: origin.to_owned(),
            field: "kdf",
            name: envelope.kdf.name,
        });
    }
    if envelope.cipher.name != CIPHER_NAME {
        return Err(KeyError::UnsupportedEncryption {
            origin: origin.to_owned(),
            field: "cipher",
            name: envelope.cipher.name,
        });
    }
    let ScryptParams { n, r, p } = envelope.kdf.params;
    if !(n.is_power_of_two() && (2..=SCRYPT_N_MAX).contains(&n) && r == SCRYPT_R && p == SCRYPT_P) {
        return Err(KeyError::ScryptCost {
            origin: origin.to_owned(),
            n,
            r,
            p,
        });
    }
    let field = |name: &str, value: &str| {
        BASE64
            .decode(value)
            .map_err(|e| KeyError::malformed(origin, format!("{name} is not valid base64 ({e})")))
    };
    let salt = field("kdf.salt", &envelope.kdf.salt)?;
    if salt.is_empty() || salt.len() > MAX_SALT_BYTES {
        return Err(KeyError::malformed(
            origin,
            format!(
                "kdf.salt is {} bytes (cosign writes {SALT_BYTES})",
                salt.len()
            ),
        ));
    }
    let nonce: [u8; NONCE_BYTES] = field("cipher.nonce", &envelope.cipher.nonce)?
        .try_into()
        .map_err(|v: Vec<u8>| {
            KeyError::malformed(
                origin,
                format!(
                    "cipher.nonce is {} bytes; secretbox nonces are {NONCE_BYTES}",
                    v.len()
                ),
            )
        })?;
    let ciphertext = field("ciphertext", &envelope.ciphertext)?;
    if ciphertext.len() <= TAG_BYTES {
        return Err(KeyError::malformed(
            origin,
            format!(
                "ciphertext is {} bytes, too short to hold a key (truncated?)",
                ciphertext.len()
            ),
        ));
    }

    let key = derive_key(password, &salt, n).ok_or_else(|| {
        KeyError::malformed(origin, format!("scrypt refuses N={n}, r={r}, p={p}"))
    })?;
    let cipher = XSalsa20Poly1305::new_from_slice(key.as_slice())
        .map_err(|_| KeyError::malformed(origin, "the derived key does not fit secretbox"))?;
    cipher
        .decrypt(&Nonce::from(nonce), ciphertext.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| KeyError::WrongPassword {
            origin: origin.to_owned(),
        })
}

/// scrypt(password, salt, N, r=8, p=1) → 32-byte secretbox key; `None` if scrypt refuses the
/// parameters (callers have bounded them already).
fn derive_key(password: &[u8], salt: &[u8], n: u64) -> Option<Zeroizing<[u8; 32]>> {
    let log_n = u8::try_from(n.checked_ilog2()?).ok()?;
    let r = u32::try_from(SCRYPT_R).ok()?;
    let p = u32::try_from(SCRYPT_P).ok()?;
    let params = scrypt::Params::new(log_n, r, p).ok()?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password, salt, &params, key.as_mut_slice()).ok()?;
    Some(key)
}
