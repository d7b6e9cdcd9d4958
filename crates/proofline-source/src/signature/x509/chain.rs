//! The certificate chain of an x509 signature: signer → embedded intermediates → a root of
//! `--x509-roots`, every certificate valid at the signing time (rustls-webpki on aws-lc-rs).

use std::time::Duration;

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use webpki::aws_lc_rs as algs;
use webpki::{
    EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeId, KeyPurposeIdIter, KeyUsage,
    RequiredEkuNotFoundContext,
};
use x509_cert::Certificate;
use x509_cert::der::Decode;

use super::cms::SignedMessage;
use super::trust::X509TrustStore;
use super::{SignatureStatus, rfc3339};

/// Algorithms accepted for the signatures of the chain's certificates.
static CHAIN_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    algs::ECDSA_P256_SHA256,
    algs::ECDSA_P256_SHA384,
    algs::ECDSA_P256_SHA512,
    algs::ECDSA_P384_SHA256,
    algs::ECDSA_P384_SHA384,
    algs::ECDSA_P384_SHA512,
    algs::ECDSA_P521_SHA256,
    algs::ECDSA_P521_SHA384,
    algs::ECDSA_P521_SHA512,
    algs::ED25519,
    algs::RSA_PKCS1_2048_8192_SHA256,
    algs::RSA_PKCS1_2048_8192_SHA384,
    algs::RSA_PKCS1_2048_8192_SHA512,
    algs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    algs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    algs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// Extended key usages that may sign commits: code signing (Fulcio), email protection (S/MIME)
/// and anyExtendedKeyUsage (DER of the OIDs' contents).
const EKU_CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];
const EKU_EMAIL_PROTECTION: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04];
const EKU_ANY: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// Accepts a certificate without extended key usage, or one allowing a purpose above.
#[derive(Debug, Clone, Copy)]
struct CommitSigning;

impl ExtendedKeyUsageValidator for CommitSigning {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let allowed = [
            KeyPurposeId::new(EKU_CODE_SIGNING),
            KeyPurposeId::new(EKU_EMAIL_PROTECTION),
            KeyPurposeId::new(EKU_ANY),
        ];
        let mut present = Vec::new();
        for id in iter {
            let id = id?;
            if allowed.contains(&id) {
                return Ok(());
            }
            present.push(id.to_decoded_oid());
        }
        if present.is_empty() {
            Ok(())
        } else {
            Err(webpki::Error::RequiredEkuNotFoundContext(
                RequiredEkuNotFoundContext {
                    required: KeyUsage::required(EKU_CODE_SIGNING),
                    present,
                },
            ))
        }
    }
}

/// Why a chain is not trusted: the verdict status and its detail.
#[derive(Debug)]
pub(super) struct ChainFailure {
    pub(super) status: SignatureStatus,
    pub(super) detail: String,
}

fn unix_time(secs: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// Verifies the chain of `message`'s signer certificate at `signed_at` (unix seconds; `when`
/// says it in words) and returns the subject of the root it reaches.
pub(super) fn verify(
    roots: &X509TrustStore,
    message: &SignedMessage,
    signed_at: i64,
    when: &str,
) -> Result<String, ChainFailure> {
    let leaf_der = CertificateDer::from(message.cert_der.as_slice());
    let leaf = EndEntityCert::try_from(&leaf_der).map_err(|e| ChainFailure {
        status: SignatureStatus::UnknownKey,
        detail: format!("the signer certificate cannot be validated: {e:?}"),
    })?;
    let intermediates: Vec<CertificateDer<'_>> = message
        .others
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let issuer = message.cert.tbs_certificate.issuer.to_string();
    let build = |at: i64| {
        leaf.verify_for_usage(
            CHAIN_ALGORITHMS,
            roots.anchors(),
            &intermediates,
            unix_time(at),
            CommitSigning,
            None,
            None,
        )
    };
    let untrusted = |e: webpki::Error| {
        let (status, why) = match e {
            webpki::Error::UnknownIssuer => (
                SignatureStatus::UnknownKey,
                format!(
                    "its issuer `{issuer}` is not in {} nor reachable through the certificates embedded in the signature; add the issuing CA's root to --x509-roots",
                    roots.source().display()
                ),
            ),
            webpki::Error::RequiredEkuNotFoundContext(_) => (
                SignatureStatus::UntrustedSigner,
                "a certificate of the chain has an extended key usage without code signing or email protection"
                    .to_string(),
            ),
            webpki::Error::CaUsedAsEndEntity => (
                SignatureStatus::UntrustedSigner,
                "the signer certificate is a CA certificate".to_string(),
            ),
            webpki::Error::EndEntityUsedAsCa => (
                SignatureStatus::UnknownKey,
                "an issuer in the chain is not a CA (basicConstraints)".to_string(),
            ),
            webpki::Error::InvalidSignatureForPublicKey => (
                SignatureStatus::UnknownKey,
                "a certificate signature in the chain does not verify with its issuer's key"
                    .to_string(),
            ),
            other => (
                SignatureStatus::UnknownKey,
                format!("the chain does not validate: {other:?}"),
            ),
        };
        ChainFailure {
            status,
            detail: format!(
                "the certificate chain of {} does not reach a root of --x509-roots: {why}",
                subject_or_issuer(&message.cert)
            ),
        }
    };

    let first = build(signed_at);
    let path = match first {
        Ok(path) => path,
        Err(webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. }) => {
            // Outside its validity at the signing time: trusted otherwise? Check the chain at a
            // time the signer certificate was valid, so an untrusted chain stays `unknown-key`.
            let validity = &message.cert.tbs_certificate.validity;
            let valid_at =
                i64::try_from(validity.not_before.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
            return match build(valid_at) {
                Ok(path) => {
                    let mut ders = vec![message.cert_der.clone()];
                    ders.extend(path.intermediate_certificates().map(|c| c.der().to_vec()));
                    Err(expired(
                        &ders,
                        roots.root_of(path.anchor()),
                        signed_at,
                        when,
                    ))
                }
                Err(webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. }) => {
                    let mut ders = vec![message.cert_der.clone()];
                    ders.extend(message.others.iter().cloned());
                    Err(expired(&ders, None, signed_at, when))
                }
                Err(e) => Err(untrusted(e)),
            };
        }
        Err(e) => return Err(untrusted(e)),
    };
    let Some(root) = roots.root_of(path.anchor()) else {
        return Err(ChainFailure {
            status: SignatureStatus::UnknownKey,
            detail: "the chain ends at a trust anchor that is not in --x509-roots".to_string(),
        });
    };
    if signed_at < root.not_before || signed_at > root.not_after {
        let mut ders = vec![message.cert_der.clone()];
        ders.extend(path.intermediate_certificates().map(|c| c.der().to_vec()));
        return Err(expired(&ders, Some(root), signed_at, when));
    }
    Ok(root.subject.clone())
}

fn subject_or_issuer(cert: &Certificate) -> String {
    let subject = cert.tbs_certificate.subject.to_string();
    if subject.is_empty() {
        format!(
            "the certificate issued by `{}`",
            cert.tbs_certificate.issuer
        )
    } else {
        format!("`{subject}`")
    }
}

/// `expired-key`, naming each certificate of the chain that was not valid at `signed_at`.
fn expired(
    ders: &[Vec<u8>],
    root: Option<&super::trust::TrustedRoot>,
    signed_at: i64,
    when: &str,
) -> ChainFailure {
    let mut outside = Vec::new();
    for der in ders {
        let Ok(cert) = Certificate::from_der(der) else {
            continue;
        };
        let validity = &cert.tbs_certificate.validity;
        let secs =
            |t: &x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(0);
        let (from, to) = (secs(&validity.not_before), secs(&validity.not_after));
        if signed_at < from || signed_at > to {
            outside.push(format!(
                "{} (valid {} to {})",
                subject_or_issuer(&cert),
                rfc3339(from),
                rfc3339(to)
            ));
        }
    }
    if let Some(root) = root
        && (signed_at < root.not_before || signed_at > root.not_after)
    {
        outside.push(format!(
            "the root `{}` (valid {} to {})",
            root.subject,
            rfc3339(root.not_before),
            rfc3339(root.not_after)
        ));
    }
    let trust = if root.is_some() {
        ""
    } else {
        "; whether the chain reaches --x509-roots could not be checked"
    };
    let which = if outside.is_empty() {
        "a certificate of the chain".to_string()
    } else {
        outside.join(", ")
    };
    ChainFailure {
        status: SignatureStatus::ExpiredKey,
        detail: format!("{which} was not valid at the signing time {when}{trust}"),
    }
}
