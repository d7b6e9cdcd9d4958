//! `--x509-roots`: the root certificates x509 commit signatures must chain to.

use std::fs;
use std::path::{Path, PathBuf};

use rustls_pki_types::{CertificateDer, TrustAnchor};
use x509_cert::Certificate;
use x509_cert::der::Decode;

use super::{X509Error, fingerprint_hex};

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// One root of the trust store.
#[derive(Debug, Clone)]
pub(super) struct TrustedRoot {
    pub(super) anchor: TrustAnchor<'static>,
    /// Subject DN, for messages.
    pub(super) subject: String,
    /// Validity, unix seconds.
    pub(super) not_before: i64,
    pub(super) not_after: i64,
    /// SHA-256 of the DER, uppercase hex.
    pub(super) fingerprint: String,
}

/// The root certificates we trust to issue commit-signing certificates (a Fulcio root, a company
/// S/MIME CA). An intermediate put here is trusted as a root.
#[derive(Debug, Clone)]
pub struct X509TrustStore {
    roots: Vec<TrustedRoot>,
    anchors: Vec<TrustAnchor<'static>>,
    source: PathBuf,
}

impl X509TrustStore {
    /// Loads `--x509-roots FILE`: a PEM bundle of `CERTIFICATE` blocks; text around the blocks
    /// (comments, `openssl x509 -text` output) is ignored.
    pub fn load(path: &Path) -> Result<Self, X509Error> {
        let bytes = fs::read(path).map_err(|source| X509Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_pem(&bytes, path)
    }

    /// Reads a PEM bundle; `source` names it in errors and messages.
    pub fn from_pem(pem: &[u8], source: &Path) -> Result<Self, X509Error> {
        let text = String::from_utf8_lossy(pem);
        let bad = |index: usize, detail: String| X509Error::BadCertificate {
            path: source.to_path_buf(),
            index,
            detail,
        };
        let mut store = Self {
            roots: Vec::new(),
            anchors: Vec::new(),
            source: source.to_path_buf(),
        };
        let mut rest = text.as_ref();
        while let Some(start) = rest.find(BEGIN) {
            let index = store.roots.len() + 1;
            let block = &rest[start..];
            let Some(end) = block.find(END) else {
                return Err(bad(index, format!("no `{END}` line")));
            };
            let block = &block[..end + END.len()];
            rest = &rest[start + block.len()..];
            let (_, der) = x509_cert::der::pem::decode_vec(block.as_bytes())
                .map_err(|e| bad(index, format!("invalid PEM: {e}")))?;
            store.add_der(der, index, source)?;
        }
        if store.roots.is_empty() {
            return Err(X509Error::NoCertificate {
                path: source.to_path_buf(),
            });
        }
        Ok(store)
    }

    fn add_der(&mut self, der: Vec<u8>, index: usize, source: &Path) -> Result<(), X509Error> {
        let bad = |detail: String| X509Error::BadCertificate {
            path: source.to_path_buf(),
            index,
            detail,
        };
        let cert = Certificate::from_der(&der).map_err(|e| bad(format!("invalid X.509: {e}")))?;
        let validity = &cert.tbs_certificate.validity;
        let secs = |t: &x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        let fingerprint = fingerprint_hex(&der);
        let cert_der = CertificateDer::from(der);
        let anchor = webpki::anchor_from_trusted_cert(&cert_der)
            .map_err(|e| bad(format!("not usable as a trust anchor: {e:?}")))?
            .to_owned();
        self.roots.push(TrustedRoot {
            anchor: anchor.clone(),
            subject: cert.tbs_certificate.subject.to_string(),
            not_before: secs(&validity.not_before),
            not_after: secs(&validity.not_after),
            fingerprint,
        });
        self.anchors.push(anchor);
        Ok(())
    }

    /// Number of root certificates.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Subject DNs of the roots, in file order.
    pub fn subjects(&self) -> Vec<String> {
        self.roots.iter().map(|r| r.subject.clone()).collect()
    }

    /// SHA-256 fingerprints of the roots (uppercase hex), in file order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.roots.iter().map(|r| r.fingerprint.clone()).collect()
    }

    /// The file the roots were read from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    pub(super) fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    /// The root behind a trust anchor of a verified path.
    pub(super) fn root_of(&self, anchor: &TrustAnchor<'_>) -> Option<&TrustedRoot> {
        self.roots.iter().find(|r| {
            r.anchor.subject.as_ref() == anchor.subject.as_ref()
                && r.anchor.subject_public_key_info.as_ref()
                    == anchor.subject_public_key_info.as_ref()
        })
    }
}
