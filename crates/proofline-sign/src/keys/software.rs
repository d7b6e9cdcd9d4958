//! A private key held in memory and used through AWS-LC: the signer behind `cosign.key` files and
//! ephemeral keys.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use zeroize::Zeroizing;

use super::KeyError;
use super::oid::{KeyKind, key_kind};
use crate::signer::{Algorithm, ModuleInfo, SignError, Signer};

/// The modulus size of Proofline's one RSA scheme.
const RSA_BITS: usize = 4096;

/// The key pair, in AWS-LC's memory. AWS-LC frees key material with `OPENSSL_free`, which
/// cleanses it (zeroes) before releasing it, so dropping the signer zeroizes the private key;
/// the copies this module makes (PKCS#8 DER) are `Zeroizing`.
enum Inner {
    EcdsaP256(EcdsaKeyPair),
    EcdsaP384(EcdsaKeyPair),
    Rsa4096(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A software key that signs through AWS-LC (the workspace's one crypto provider, FIPS-capable).
///
/// Its `Debug` prints the algorithm only; the private key is never printed or logged.
pub struct SoftwareSigner {
    inner: Inner,
    /// DER SubjectPublicKeyInfo, computed once.
    public_key_der: Vec<u8>,
    /// The same as PEM `PUBLIC KEY`.
    public_key_pem: String,
}

impl fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl SoftwareSigner {
    /// Generates a new key (ECDSA P-256 is cosign's default).
    pub fn generate(algorithm: Algorithm) -> Result<Self, KeyError> {
        let failed = KeyError::Module {
            action: "generate a key",
            algorithm,
        };
        let inner = match algorithm {
            Algorithm::EcdsaP256 => Inner::EcdsaP256(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(|_| failed)?,
            ),
            Algorithm::EcdsaP384 => Inner::EcdsaP384(
                EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING).map_err(|_| failed)?,
            ),
            Algorithm::Rsa4096 => {
                Inner::Rsa4096(RsaKeyPair::generate(KeySize::Rsa4096).map_err(|_| failed)?)
            }
            Algorithm::Ed25519 => Inner::Ed25519(Ed25519KeyPair::generate().map_err(|_| failed)?),
        };
        Self::from_inner(inner)
    }

    /// Reads an unencrypted PKCS#8 DER private key, detecting its algorithm. RSA keys must be
    /// 4096-bit; other sizes are refused by name (Proofline's RSA scheme is RSA-4096 only).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_pkcs8_der_at(der, "the PKCS#8 private key")
    }

    /// [`Self::from_pkcs8_der`] with errors naming `origin`.
    pub(crate) fn from_pkcs8_der_at(der: &[u8], origin: &str) -> Result<Self, KeyError> {
        let info = match pkcs8::PrivateKeyInfo::try_from(der) {
            Ok(info) => info,
            Err(e) => {
                if is_sec1(der) {
                    return Err(KeyError::Sec1Key {
                        origin: origin.to_owned(),
                    });
                }
                return Err(KeyError::malformed(
                    origin,
                    format!("not a DER PKCS#8 PrivateKeyInfo ({e})"),
                ));
            }
        };
        let kind =
            key_kind(&info.algorithm).map_err(|algorithm| KeyError::UnsupportedAlgorithm {
                origin: origin.to_owned(),
                algorithm,
            })?;
        let rejected = |name: &str, e: aws_lc_rs::error::KeyRejected| {
            KeyError::malformed(origin, format!("AWS-LC rejects the {name} key ({e})"))
        };
        let inner = match kind {
            KeyKind::EcdsaP256 => Inner::EcdsaP256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
                    .map_err(|e| rejected("ECDSA P-256", e))?,
            ),
            KeyKind::EcdsaP384 => Inner::EcdsaP384(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, der)
                    .map_err(|e| rejected("ECDSA P-384", e))?,
            ),
            KeyKind::Rsa => Inner::Rsa4096(rsa_4096(
                RsaKeyPair::from_pkcs8(der).map_err(|e| rejected("RSA", e))?,
                origin,
            )?),
            KeyKind::Ed25519 => {
                Inner::Ed25519(Ed25519KeyPair::from_pkcs8(der).map_err(|e| rejected("Ed25519", e))?)
            }
        };
        Self::from_inner(inner)
    }

    /// Reads a PKCS#1 `RSAPrivateKey` (PEM label `RSA PRIVATE KEY`, which cosign's
    /// `import-key-pair` also takes). Must be 4096-bit.
    pub(crate) fn from_pkcs1_der_at(der: &[u8], origin: &str) -> Result<Self, KeyError> {
        let key = RsaKeyPair::from_der(der).map_err(|e| {
            KeyError::malformed(origin, format!("not a PKCS#1 RSA private key ({e})"))
        })?;
        Self::from_inner(Inner::Rsa4096(rsa_4096(key, origin)?))
    }

    fn from_inner(inner: Inner) -> Result<Self, KeyError> {
        let algorithm = inner.algorithm();
        let failed = KeyError::Module {
            action: "encode the public key",
            algorithm,
        };
        let der = match &inner {
            Inner::EcdsaP256(k) | Inner::EcdsaP384(k) => k
                .public_key()
                .as_der()
                .map_err(|_| failed)?
                .as_ref()
                .to_vec(),
            Inner::Rsa4096(k) => k
                .public_key()
                .as_der()
                .map_err(|_| failed)?
                .as_ref()
                .to_vec(),
            Inner::Ed25519(k) => k
                .public_key()
                .as_der()
                .map_err(|_| failed)?
                .as_ref()
                .to_vec(),
        };
        let pem = super::spki_to_pem(&der).ok_or(KeyError::Module {
            action: "PEM-encode the public key",
            algorithm,
        })?;
        Ok(SoftwareSigner {
            inner,
            public_key_der: der,
            public_key_pem: pem,
        })
    }

    /// The private key as PKCS#8 v1 DER (what cosign encrypts into `cosign.key`), zeroized when
    /// dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let failed = KeyError::Module {
            action: "export the private key as PKCS#8",
            algorithm: self.algorithm(),
        };
        let der = match &self.inner {
            Inner::EcdsaP256(k) | Inner::EcdsaP384(k) => {
                let doc = k.to_pkcs8v1().map_err(|_| failed)?;
                Zeroizing::new(doc.as_ref().to_vec())
            }
            Inner::Rsa4096(k) => {
                let doc: Pkcs8V1Der<'static> = k.as_der().map_err(|_| failed)?;
                Zeroizing::new(doc.as_ref().to_vec())
            }
            Inner::Ed25519(k) => {
                let doc = k.to_pkcs8v1().map_err(|_| failed)?;
                Zeroizing::new(doc.as_ref().to_vec())
            }
        };
        Ok(der)
    }

    /// The public key as PEM `PUBLIC KEY` (SubjectPublicKeyInfo): what `cosign.pub` holds.
    pub fn public_key_pem(&self) -> String {
        self.public_key_pem.clone()
    }
}

impl Inner {
    fn algorithm(&self) -> Algorithm {
        match self {
            Inner::EcdsaP256(_) => Algorithm::EcdsaP256,
            Inner::EcdsaP384(_) => Algorithm::EcdsaP384,
            Inner::Rsa4096(_) => Algorithm::Rsa4096,
            Inner::Ed25519(_) => Algorithm::Ed25519,
        }
    }
}

/// Keeps an RSA key only if its modulus is exactly 4096 bits (counted by AWS-LC from the public
/// key, so a 4095-bit modulus, which still makes 512-byte signatures, is refused).
fn rsa_4096(key: RsaKeyPair, origin: &str) -> Result<RsaKeyPair, KeyError> {
    let bits = key
        .public_key()
        .as_der()
        .ok()
        .and_then(|der| aws_lc_rs::rsa::PublicEncryptingKey::from_der(der.as_ref()).ok())
        .map(|public| public.key_size_bits())
        .ok_or(KeyError::Module {
            action: "read the RSA key size",
            algorithm: Algorithm::Rsa4096,
        })?;
    if bits == RSA_BITS {
        Ok(key)
    } else {
        Err(KeyError::UnsupportedRsaSize {
            origin: origin.to_owned(),
            bits,
        })
    }
}

/// Whether `der` is a SEC1 `ECPrivateKey` (RFC 5915) on a curve AWS-LC knows.
fn is_sec1(der: &[u8]) -> bool {
    let curves = [
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P384_SHA384_ASN1_SIGNING,
        &aws_lc_rs::signature::ECDSA_P521_SHA512_ASN1_SIGNING,
    ];
    curves
        .into_iter()
        .any(|alg| EcdsaKeyPair::from_private_key_der(alg, der).is_ok())
}

impl Signer for SoftwareSigner {
    fn algorithm(&self) -> Algorithm {
        self.inner.algorithm()
    }

    fn public_key_der(&self) -> &[u8] {
        &self.public_key_der
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let algorithm = self.algorithm();
        let failed = |reason: &str| SignError {
            algorithm,
            reason: reason.to_owned(),
        };
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::EcdsaP256(k) | Inner::EcdsaP384(k) => k
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| failed("AWS-LC refused to make the ECDSA signature")),
            Inner::Rsa4096(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| failed("AWS-LC refused to make the RSA PKCS#1 v1.5 signature"))?;
                Ok(sig)
            }
            Inner::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }

    fn module(&self) -> ModuleInfo {
        crate::crypto_module::aws_lc()
    }
}
