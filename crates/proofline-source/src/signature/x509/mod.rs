//! x509 commit signatures (gitsign, S/MIME via gpgsm) verified in pure Rust against the root
//! certificates given by `--x509-roots`, so the stage needs neither gpgsm nor gitsign on the runner.
//!
//! A signature is `verified` only when all of these hold:
//!
//! * it is one CMS `SignedData` with exactly one `SignerInfo`, detached over the commit payload
//!   (content type id-data); when it has signed attributes, `content-type` is id-data,
//!   `message-digest` is the digest of the payload (SHA-256/384/512, as the `SignerInfo` names it),
//!   and the signature is over the DER of the signed attributes; without them, over the payload;
//!   ECDSA P-256/P-384/P-521, RSA PKCS#1 v1.5 (2048 to 8192 bits) and Ed25519 are understood;
//! * the signer certificate chains, through the intermediates embedded in the signature, to a
//!   certificate of `--x509-roots` (rustls-webpki: chain signatures, basicConstraints `CA` and path
//!   length on issuers, name constraints; extended key usage, when present, must allow code
//!   signing, email protection or any purpose), and every certificate of the chain, the root
//!   included, was valid at the **signing time**: the `signingTime` signed attribute when present,
//!   else the committer time. Fulcio certificates (gitsign) live ten minutes, so validity at
//!   signing time is exactly the check they are designed for; note that `signingTime` is the
//!   signer's own claim, not a timestamp from a third party;
//! * the signer certificate's key usage, when present, allows `digitalSignature` or
//!   `nonRepudiation` (RFC 8550, section 4.4.2);
//! * the committer email is one of the certificate's SAN rfc822 names or subject `emailAddress`
//!   values (ASCII case-insensitive). A Fulcio certificate issued to a CI workflow names a URI
//!   (`https://github.com/OWNER/REPO/.github/workflows/…`) and no email: commits it signs are
//!   `untrusted-signer` unless the committer email is also among its names.
//!
//! Not checked: revocation (no CRL or OCSP is fetched or read), the Rekor transparency-log entry
//! and the SCTs of Fulcio certificates, and the Fulcio OIDC issuer (any issuer the root vouches
//! for is accepted). gpgsm's BER (indefinite lengths) is re-encoded as DER before reading.

mod ber;
mod chain;
mod cms;
mod trust;

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::asn1::Utf8StringRef;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages, SubjectAltName};

pub use trust::X509TrustStore;

use super::{SignatureKind, SignatureStatus, Verdict};
use cms::SignedMessage;

/// OID of the SubjectAltName extension.
const SAN_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
/// OID of the KeyUsage extension.
const KEY_USAGE_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// Subject attributes: commonName and (PKCS#9) emailAddress.
const CN_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const EMAIL_ADDRESS_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");
/// Fulcio: OIDC issuer (v1, raw string) and (v2, DER UTF8String).
const FULCIO_ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
const FULCIO_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

/// Why an x509 signature or the `--x509-roots` trust store could not be read.
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
    #[error(
        "cannot read x509 root certificates from {path}: {source}; check the --x509-roots path"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no CERTIFICATE block in {path}; --x509-roots takes a PEM bundle of root CA certificates (`-----BEGIN CERTIFICATE-----`), convert DER ones with `openssl x509 -inform DER -in ca.der -out ca.pem`"
    )]
    NoCertificate { path: PathBuf },
    #[error(
        "certificate #{index} of {path} cannot be read ({detail}); check that its PEM block is complete (BEGIN and END lines, base64 unchanged) and that it is an X.509 v3 CA certificate"
    )]
    BadCertificate {
        path: PathBuf,
        /// 1-based position of the block in the file.
        index: usize,
        detail: String,
    },
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
/// (`-----BEGIN SIGNED MESSAGE-----` or `PKCS7`/`CMS`), without verifying anything.
pub fn identify_x509(signature_armored: &[u8]) -> Result<X509Signer, X509Error> {
    let message = SignedMessage::parse(signature_armored)?;
    Ok(describe(&message.cert))
}

/// Verifies an armored x509 (CMS) signature over `payload` (the commit or tag without its
/// signature, as `extract_signature` gives it).
///
/// `committer_email` must be one of the signer certificate's email names; `signed_at_unix` (the
/// committer time) is the signing time when the signature has no `signingTime` attribute. The
/// verdict's `signer` is the certificate identity (first SAN email, else SAN URI, else subject
/// CN) and `fingerprint` the SHA-256 of the signer certificate (uppercase hex).
///
/// Status, in this order: unreadable signature, content digest or signature not matching the
/// payload → `bad-signature`; no `roots` → `unknown-key` (never `verified` without a trust
/// store); the chain does not reach a root → `unknown-key`; a certificate of the chain was
/// outside its validity at the signing time → `expired-key`; extended key usage, key usage or
/// the committer email not allowed by the certificate → `untrusted-signer`; else `verified`.
pub fn verify_x509(
    signature_armored: &[u8],
    payload: &[u8],
    committer_email: &str,
    signed_at_unix: i64,
    roots: Option<&X509TrustStore>,
) -> Verdict {
    let kind = Some(SignatureKind::X509);
    let message = match SignedMessage::parse(signature_armored) {
        Ok(message) => message,
        Err(e) => {
            return Verdict::new(SignatureStatus::BadSignature, kind)
                .with_detail(format!("malformed x509 signature: {e}"));
        }
    };
    let names = Names::of(&message.cert);
    let identity = names.identity();
    let fingerprint = fingerprint_hex(&message.cert_der);
    let verdict = |status: SignatureStatus, detail: String| {
        Verdict::new(status, kind)
            .with_signer(identity.clone())
            .with_fingerprint(fingerprint.clone())
            .with_detail(detail)
    };

    // 1. The bytes: content changed after signing, or a forged signature.
    if let Err(why) = message.check_content(payload) {
        return verdict(
            SignatureStatus::BadSignature,
            format!("x509 signature by {identity} does not match the signed content: {why}"),
        );
    }
    let (signed_at, time_source) = match message.signing_time() {
        Ok(Some(t)) => (t, "its signingTime attribute"),
        Ok(None) => (signed_at_unix, "the committer time"),
        Err(why) => {
            return verdict(
                SignatureStatus::BadSignature,
                format!("x509 signature by {identity} has {why}"),
            );
        }
    };

    // 2. Trust: a chain to one of our roots, valid at the signing time.
    let Some(roots) = roots else {
        return verdict(
            SignatureStatus::UnknownKey,
            format!(
                "x509 signature by {identity}, not verified: pass --x509-roots FILE with the issuing CA"
            ),
        );
    };
    let when = format!("{} ({time_source})", rfc3339(signed_at));
    let root = match chain::verify(roots, &message, signed_at, &when) {
        Ok(root) => root,
        Err(failure) => return verdict(failure.status, failure.detail),
    };

    // 3. What the certificate may sign, and for whom.
    if let Some(usage) = key_usage(&message.cert)
        && !usage.digital_signature()
        && !usage.non_repudiation()
    {
        return verdict(
            SignatureStatus::UntrustedSigner,
            format!(
                "the certificate of {identity} does not allow signing (its key usage has neither digitalSignature nor nonRepudiation)"
            ),
        );
    }
    let Some(email) = names.matching_email(committer_email) else {
        let named = if names.emails().next().is_some() {
            format!(
                "its email names are `{}`",
                names.emails().collect::<Vec<_>>().join("`, `")
            )
        } else {
            format!("it names no email, only `{identity}`")
        };
        return verdict(
            SignatureStatus::UntrustedSigner,
            format!(
                "the certificate does not name the committer `{committer_email}`: {named} (a workflow identity never matches a committer email)"
            ),
        );
    };
    Verdict::new(SignatureStatus::Verified, kind)
        .with_signer(email.to_string())
        .with_fingerprint(fingerprint)
        .with_detail(format!(
            "certificate chain to the root `{root}` of --x509-roots, valid at {when}; revocation not checked"
        ))
}

/// The names a certificate gives its holder.
#[derive(Debug, Default)]
struct Names {
    san_emails: Vec<String>,
    subject_emails: Vec<String>,
    uris: Vec<String>,
    common_name: Option<String>,
    subject: String,
}

impl Names {
    fn of(cert: &Certificate) -> Self {
        let mut names = Self {
            subject: cert.tbs_certificate.subject.to_string(),
            ..Self::default()
        };
        for rdn in &cert.tbs_certificate.subject.0 {
            for atv in rdn.0.iter() {
                let value = String::from_utf8_lossy(atv.value.value()).into_owned();
                if atv.oid == EMAIL_ADDRESS_OID {
                    names.subject_emails.push(value);
                } else if atv.oid == CN_OID && names.common_name.is_none() {
                    names.common_name = Some(value);
                }
            }
        }
        for name in san(cert) {
            match name {
                GeneralName::Rfc822Name(s) => names.san_emails.push(s.to_string()),
                GeneralName::UniformResourceIdentifier(s) => names.uris.push(s.to_string()),
                _ => {}
            }
        }
        names
    }

    fn emails(&self) -> impl Iterator<Item = &str> {
        self.san_emails
            .iter()
            .chain(&self.subject_emails)
            .map(String::as_str)
    }

    fn matching_email(&self, email: &str) -> Option<&str> {
        let email = email.trim();
        self.emails().find(|e| e.eq_ignore_ascii_case(email))
    }

    /// SAN email, else SAN URI, else subject CN, else the whole subject.
    fn identity(&self) -> String {
        self.san_emails
            .first()
            .or(self.uris.first())
            .or(self.subject_emails.first())
            .or(self.common_name.as_ref())
            .cloned()
            .unwrap_or_else(|| self.subject.clone())
    }
}

fn san(cert: &Certificate) -> Vec<GeneralName> {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == SAN_OID)
        .filter_map(|e| SubjectAltName::from_der(e.extn_value.as_bytes()).ok())
        .flat_map(|names| names.0)
        .collect()
}

fn key_usage(cert: &Certificate) -> Option<KeyUsage> {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == KEY_USAGE_OID)
        // An unreadable key usage allows nothing.
        .map(|e| {
            KeyUsage::from_der(e.extn_value.as_bytes())
                .unwrap_or(KeyUsage(KeyUsages::EncipherOnly.into()))
        })
}

fn fingerprint_hex(der: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(der))
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

fn describe(cert: &Certificate) -> X509Signer {
    let mut san_text = Vec::new();
    for name in san(cert) {
        match name {
            GeneralName::Rfc822Name(s) => san_text.push(s.to_string()),
            GeneralName::UniformResourceIdentifier(s) => san_text.push(s.to_string()),
            GeneralName::DnsName(s) => san_text.push(s.to_string()),
            _ => {}
        }
    }
    let mut oidc_issuer = None;
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        if ext.extn_id == FULCIO_ISSUER_V2 {
            oidc_issuer = Utf8StringRef::from_der(ext.extn_value.as_bytes())
                .ok()
                .map(|s| s.as_str().to_string());
        } else if ext.extn_id == FULCIO_ISSUER_V1 && oidc_issuer.is_none() {
            oidc_issuer = Some(String::from_utf8_lossy(ext.extn_value.as_bytes()).into_owned());
        }
    }
    let fingerprint = cert
        .to_der()
        .map(|der| fingerprint_hex(&der))
        .unwrap_or_default();
    X509Signer {
        subject: cert.tbs_certificate.subject.to_string(),
        issuer: cert.tbs_certificate.issuer.to_string(),
        san: san_text,
        oidc_issuer,
        fingerprint,
    }
}
