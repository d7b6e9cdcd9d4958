//! x509 commit signatures (gitsign, S/MIME via gpgsm): identified and their signer certificate's
//! identity reported. This does NOT verify the signature or the certificate chain yet (no
//! `--x509-roots`): callers must never report such a commit as `verified`.

use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};

/// OID of the SubjectAltName extension.
const SAN_OID: &str = "2.5.29.17";
/// Fulcio: OIDC issuer (v1, raw string) and (v2, DER UTF8String).
const FULCIO_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
const FULCIO_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";

/// Why an x509 signature could not be read.
#[derive(Debug, thiserror::Error)]
pub enum X509Error {
    #[error("the x509 signature is not PEM: {0}")]
    Pem(String),
    #[error("the x509 signature is not a CMS SignedData: {0}")]
    Cms(String),
    #[error(
        "the x509 signature carries no certificate for its signer; gitsign and gpgsm embed it, was it stripped?"
    )]
    NoSignerCertificate,
}

/// Who an x509 signature claims to be from (unverified).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct X509Signer {
    /// The certificate subject DN (empty for Fulcio certificates).
    pub subject: String,
    /// The certificate issuer DN.
    pub issuer: String,
    /// SubjectAltName entries: emails, URIs (`https://github.com/...` workflow identities), DNS names.
    pub san: Vec<String>,
    /// Fulcio's OIDC issuer extension, when present.
    pub oidc_issuer: Option<String>,
    /// SHA-256 of the certificate DER, uppercase hex.
    pub fingerprint: String,
}

/// Reads the signer certificate of an armored x509 commit/tag signature
/// (`-----BEGIN SIGNED MESSAGE-----` or `PKCS7`/`CMS`).
pub fn identify_x509(signature_armored: &[u8]) -> Result<X509Signer, X509Error> {
    let (_label, der) = x509_cert::der::pem::decode_vec(signature_armored)
        .map_err(|e| X509Error::Pem(e.to_string()))?;
    let ci = ContentInfo::from_der(&der).map_err(|e| X509Error::Cms(e.to_string()))?;
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| X509Error::Cms(e.to_string()))?;
    let certs: Vec<&Certificate> = sd
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
    let signer = sd
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or(X509Error::NoSignerCertificate)?;
    let cert = certs
        .iter()
        .copied()
        .find(|cert| match &signer.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                cert.tbs_certificate.issuer == ias.issuer
                    && cert.tbs_certificate.serial_number == ias.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                cert.tbs_certificate.extensions.iter().flatten().any(|e| {
                    e.extn_id.to_string() == "2.5.29.14"
                        && e.extn_value.as_bytes().ends_with(ski.0.as_bytes())
                })
            }
        })
        .ok_or(X509Error::NoSignerCertificate)?;
    Ok(describe(cert))
}

fn describe(cert: &Certificate) -> X509Signer {
    let mut san = Vec::new();
    let mut oidc_issuer = None;
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let oid = ext.extn_id.to_string();
        if oid == SAN_OID {
            if let Ok(names) = SubjectAltName::from_der(ext.extn_value.as_bytes()) {
                for name in names.0 {
                    match name {
                        GeneralName::Rfc822Name(s) => san.push(s.to_string()),
                        GeneralName::UniformResourceIdentifier(s) => san.push(s.to_string()),
                        GeneralName::DnsName(s) => san.push(s.to_string()),
                        _ => {}
                    }
                }
            }
        } else if oid == FULCIO_ISSUER_V2 {
            oidc_issuer = x509_cert::der::asn1::Utf8StringRef::from_der(ext.extn_value.as_bytes())
                .ok()
                .map(|s| s.as_str().to_string());
        } else if oid == FULCIO_ISSUER_V1 && oidc_issuer.is_none() {
            oidc_issuer = Some(String::from_utf8_lossy(ext.extn_value.as_bytes()).into_owned());
        }
    }
    let fingerprint = cert
        .to_der()
        .map(|der| hex::encode_upper(Sha256::digest(&der)))
        .unwrap_or_default();
    X509Signer {
        subject: cert.tbs_certificate.subject.to_string(),
        issuer: cert.tbs_certificate.issuer.to_string(),
        san,
        oidc_issuer,
        fingerprint,
    }
}
