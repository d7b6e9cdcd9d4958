//! The CMS side of an x509 signature: the `SignedData` parsed, its signer certificate found, and
//! the signature checked against the commit payload (digest, signed attributes, signature).

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm};
use sha2::{Digest, Sha256, Sha384, Sha512};
use webpki::EndEntityCert;
use webpki::aws_lc_rs as algs;
use x509_cert::Certificate;
use x509_cert::der::asn1::OctetString;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::time::Time;

use ::cms::cert::CertificateChoices;
use ::cms::content_info::ContentInfo;
use ::cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};

use super::X509Error;

/// PEM labels git, gpgsm and gitsign write (`SIGNED MESSAGE`) or that OpenSSL writes.
const PEM_LABELS: [&str; 3] = ["SIGNED MESSAGE", "PKCS7", "CMS"];

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The digest algorithms a `SignerInfo` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn of(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            SHA256 => Some(Self::Sha256),
            SHA384 => Some(Self::Sha384),
            SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// A parsed x509 signature: its one `SignerInfo` and the certificates it carries.
#[derive(Debug)]
pub(super) struct SignedMessage {
    signed_data: SignedData,
    signer: SignerInfo,
    /// The signer certificate and its DER.
    pub(super) cert: Certificate,
    pub(super) cert_der: Vec<u8>,
    /// DER of the other certificates of the `certificates` set (intermediates, usually).
    pub(super) others: Vec<Vec<u8>>,
}

impl SignedMessage {
    /// Reads an armored CMS `SignedData` and finds its signer certificate.
    pub(super) fn parse(armored: &[u8]) -> Result<Self, X509Error> {
        let (label, der) = x509_cert::der::pem::decode_vec(armored.trim_ascii())
            .map_err(|e| X509Error::Pem(e.to_string()))?;
        if !PEM_LABELS.contains(&label) {
            return Err(X509Error::Pem(format!(
                "unexpected label `{label}`, expected `SIGNED MESSAGE`"
            )));
        }
        // gpgsm writes BER (indefinite lengths): re-encode it as DER when DER decoding fails.
        let ci = ContentInfo::from_der(&der).or_else(|e| {
            super::ber::to_der(&der)
                .ok()
                .and_then(|der| ContentInfo::from_der(&der).ok())
                .ok_or_else(|| X509Error::Cms(e.to_string()))
        })?;
        if ci.content_type != ID_SIGNED_DATA {
            return Err(X509Error::Cms(format!(
                "content type {} is not SignedData",
                ci.content_type
            )));
        }
        let signed_data: SignedData = ci
            .content
            .decode_as()
            .map_err(|e| X509Error::Cms(e.to_string()))?;
        let count = signed_data.signer_infos.0.len();
        let signer = match signed_data.signer_infos.0.iter().next() {
            Some(signer) if count == 1 => signer.clone(),
            _ => {
                return Err(X509Error::Cms(format!(
                    "{count} SignerInfos, a commit signature has exactly one"
                )));
            }
        };
        let certs: Vec<&Certificate> = signed_data
            .certificates
            .as_ref()
            .map(|set| {
                set.0
                    .iter()
                    .filter_map(|c| match c {
                        CertificateChoices::Certificate(cert) => Some(cert),
                        CertificateChoices::Other(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let position = certs
            .iter()
            .position(|cert| is_signer(cert, &signer.sid))
            .ok_or(X509Error::NoSignerCertificate)?;
        let mut cert_der = Vec::new();
        let mut others = Vec::new();
        for (i, cert) in certs.iter().enumerate() {
            let der = cert.to_der().map_err(|e| X509Error::Cms(e.to_string()))?;
            if i == position {
                cert_der = der;
            } else {
                others.push(der);
            }
        }
        let cert = certs[position].clone();
        Ok(Self {
            signed_data,
            signer,
            cert,
            cert_der,
            others,
        })
    }

    /// Checks that the signature is over `payload`: encapsulated content, signed attributes
    /// (`content-type`, `message-digest`) and the signature itself. `Err` says why not.
    pub(super) fn check_content(&self, payload: &[u8]) -> Result<(), String> {
        let encap = &self.signed_data.encap_content_info;
        if encap.econtent_type != ID_DATA {
            return Err(format!(
                "the signed content type is {}, not id-data",
                encap.econtent_type
            ));
        }
        if let Some(embedded) = &encap.econtent {
            let embedded = embedded
                .decode_as::<OctetString>()
                .map_err(|e| format!("unreadable embedded content: {e}"))?;
            if embedded.as_bytes() != payload {
                return Err("it embeds content that differs from the commit".to_string());
            }
        }
        let hash = Hash::of(&self.signer.digest_alg.oid).ok_or_else(|| {
            format!(
                "unsupported digest algorithm {} (SHA-256, SHA-384 and SHA-512 are)",
                self.signer.digest_alg.oid
            )
        })?;
        let signed: Vec<u8> = match &self.signer.signed_attrs {
            Some(attrs) => {
                let content_type = self.single_attribute(ID_CONTENT_TYPE, "content-type")?;
                let content_type = content_type
                    .ok_or("its signed attributes have no content-type")?
                    .decode_as::<ObjectIdentifier>()
                    .map_err(|e| format!("unreadable content-type attribute: {e}"))?;
                if content_type != ID_DATA {
                    return Err(format!(
                        "its content-type attribute is {content_type}, not id-data"
                    ));
                }
                let digest = self
                    .single_attribute(ID_MESSAGE_DIGEST, "message-digest")?
                    .ok_or("its signed attributes have no message-digest")?
                    .decode_as::<OctetString>()
                    .map_err(|e| format!("unreadable message-digest attribute: {e}"))?;
                if digest.as_bytes() != hash.digest(payload).as_slice() {
                    return Err(format!(
                        "the {hash:?} digest of the commit differs from the signed message-digest (changed after signing?)"
                    ));
                }
                // The signature is over the DER of the attributes as a SET OF (RFC 5652, 5.4).
                attrs
                    .to_der()
                    .map_err(|e| format!("cannot encode the signed attributes: {e}"))?
            }
            None => payload.to_vec(),
        };
        let algorithm = self.algorithm(hash)?;
        let cert_der = CertificateDer::from(self.cert_der.as_slice());
        let cert = EndEntityCert::try_from(&cert_der)
            .map_err(|e| format!("the signer certificate cannot be used: {e:?}"))?;
        cert.verify_signature(algorithm, &signed, self.signer.signature.as_bytes())
            .map_err(|e| match e {
                webpki::Error::InvalidSignatureForPublicKey => {
                    "the signature is not valid for the signer certificate's key (changed after signing, or forged)"
                        .to_string()
                }
                other => format!("the signature cannot be checked: {other:?}"),
            })
    }

    /// The `signingTime` signed attribute, in unix seconds.
    pub(super) fn signing_time(&self) -> Result<Option<i64>, String> {
        let Some(value) = self.single_attribute(ID_SIGNING_TIME, "signingTime")? else {
            return Ok(None);
        };
        let time = value
            .to_der()
            .ok()
            .and_then(|der| Time::from_der(&der).ok())
            .ok_or("an unreadable signingTime attribute")?;
        let secs = time.to_unix_duration().as_secs();
        i64::try_from(secs)
            .map(Some)
            .map_err(|_| "a signingTime out of range".to_string())
    }

    /// The one value of a signed attribute; `Err` when the attribute is repeated or multi-valued.
    fn single_attribute(
        &self,
        oid: ObjectIdentifier,
        name: &str,
    ) -> Result<Option<&x509_cert::der::Any>, String> {
        let Some(attrs) = &self.signer.signed_attrs else {
            return Ok(None);
        };
        let mut found = attrs.iter().filter(|a| a.oid == oid);
        let Some(attr) = found.next() else {
            return Ok(None);
        };
        if found.next().is_some() || attr.values.len() != 1 {
            return Err(format!(
                "a {name} attribute that is repeated or has several values"
            ));
        }
        Ok(attr.values.iter().next())
    }

    /// The verification algorithm for the `SignerInfo`'s signature algorithm and the signer key.
    fn algorithm(&self, hash: Hash) -> Result<&'static dyn SignatureVerificationAlgorithm, String> {
        let sig_alg: &AlgorithmIdentifierOwned = &self.signer.signature_algorithm;
        let spki = &self.cert.tbs_certificate.subject_public_key_info.algorithm;
        let unsupported = || {
            format!(
                "unsupported signature algorithm {} for a {} key",
                sig_alg.oid, spki.oid
            )
        };
        let ecdsa_hash = match sig_alg.oid {
            ECDSA_SHA256 => Some(Hash::Sha256),
            ECDSA_SHA384 => Some(Hash::Sha384),
            ECDSA_SHA512 => Some(Hash::Sha512),
            EC_PUBLIC_KEY => Some(hash),
            _ => None,
        };
        if let Some(h) = ecdsa_hash {
            let curve = spki
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            return match (spki.oid, curve, h) {
                (EC_PUBLIC_KEY, Some(P256), Hash::Sha256) => Ok(algs::ECDSA_P256_SHA256),
                (EC_PUBLIC_KEY, Some(P256), Hash::Sha384) => Ok(algs::ECDSA_P256_SHA384),
                (EC_PUBLIC_KEY, Some(P256), Hash::Sha512) => Ok(algs::ECDSA_P256_SHA512),
                (EC_PUBLIC_KEY, Some(P384), Hash::Sha256) => Ok(algs::ECDSA_P384_SHA256),
                (EC_PUBLIC_KEY, Some(P384), Hash::Sha384) => Ok(algs::ECDSA_P384_SHA384),
                (EC_PUBLIC_KEY, Some(P384), Hash::Sha512) => Ok(algs::ECDSA_P384_SHA512),
                (EC_PUBLIC_KEY, Some(P521), Hash::Sha256) => Ok(algs::ECDSA_P521_SHA256),
                (EC_PUBLIC_KEY, Some(P521), Hash::Sha384) => Ok(algs::ECDSA_P521_SHA384),
                (EC_PUBLIC_KEY, Some(P521), Hash::Sha512) => Ok(algs::ECDSA_P521_SHA512),
                _ => Err(unsupported()),
            };
        }
        let rsa_hash = match sig_alg.oid {
            RSA_SHA256 => Some(Hash::Sha256),
            RSA_SHA384 => Some(Hash::Sha384),
            RSA_SHA512 => Some(Hash::Sha512),
            RSA_ENCRYPTION => Some(hash),
            _ => None,
        };
        match (rsa_hash, sig_alg.oid, spki.oid) {
            (Some(Hash::Sha256), _, RSA_ENCRYPTION) => Ok(algs::RSA_PKCS1_2048_8192_SHA256),
            (Some(Hash::Sha384), _, RSA_ENCRYPTION) => Ok(algs::RSA_PKCS1_2048_8192_SHA384),
            (Some(Hash::Sha512), _, RSA_ENCRYPTION) => Ok(algs::RSA_PKCS1_2048_8192_SHA512),
            (None, ED25519, ED25519) => Ok(algs::ED25519),
            _ => Err(unsupported()),
        }
    }
}

/// Whether `cert` is the one the `SignerInfo` names.
fn is_signer(cert: &Certificate, sid: &SignerIdentifier) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            cert.tbs_certificate.issuer == ias.issuer
                && cert.tbs_certificate.serial_number == ias.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            cert.tbs_certificate.extensions.iter().flatten().any(|e| {
                e.extn_id == SUBJECT_KEY_ID
                    && OctetString::from_der(e.extn_value.as_bytes())
                        .is_ok_and(|id| id.as_bytes() == ski.0.as_bytes())
            })
        }
    }
}
