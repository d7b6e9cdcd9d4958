//! Commit signatures verified by us (never only the forge's "Verified" flag): one verdict per
//! commit, whatever the signature kind.

use serde::Serialize;

/// Which signing scheme a commit's signature uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureKind {
    /// OpenPGP (`-----BEGIN PGP SIGNATURE-----`).
    Gpg,
    /// SSHSIG (`-----BEGIN SSH SIGNATURE-----`), namespace `git`.
    Ssh,
    /// S/MIME or gitsign (`-----BEGIN SIGNED MESSAGE-----` / PKCS#7).
    X509,
}

/// The one status each commit gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureStatus {
    /// A valid signature by a key we trust, for an identity allowed to sign.
    Verified,
    /// No signature at all.
    Unsigned,
    /// The signature does not match the content (changed after signing) or is malformed.
    BadSignature,
    /// Signed by a key that is not in our trust store.
    UnknownKey,
    /// The key had expired when the signature was made (or is outside `valid-after`/`valid-before`).
    ExpiredKey,
    /// The key was revoked.
    RevokedKey,
    /// A valid key, but its identity is not allowed to sign this commit (e.g. principal or
    /// namespace mismatch).
    UntrustedSigner,
}

impl SignatureStatus {
    /// The kebab-case word used in `source.json`, summaries and annotations.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Unsigned => "unsigned",
            Self::BadSignature => "bad-signature",
            Self::UnknownKey => "unknown-key",
            Self::ExpiredKey => "expired-key",
            Self::RevokedKey => "revoked-key",
            Self::UntrustedSigner => "untrusted-signer",
        }
    }
}

/// Our verdict on one signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub status: SignatureStatus,
    pub kind: Option<SignatureKind>,
    /// Who signed, as the key or certificate names them (user id, principal, certificate SAN).
    pub signer: Option<String>,
    /// Key fingerprint (OpenPGP v4/v6 hex, `SHA256:…` for SSH, certificate SHA-256 for x509).
    pub fingerprint: Option<String>,
    /// A human-readable reason (why not verified), never secret.
    pub detail: Option<String>,
}

impl Verdict {
    /// A verdict with just a status and kind.
    pub fn new(status: SignatureStatus, kind: Option<SignatureKind>) -> Self {
        Self {
            status,
            kind,
            signer: None,
            fingerprint: None,
            detail: None,
        }
    }

    pub fn with_signer(mut self, signer: impl Into<String>) -> Self {
        self.signer = Some(signer.into());
        self
    }

    pub fn with_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = Some(fingerprint.into());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// Identifies the kind of an armored commit/tag signature from its first line.
pub fn kind_of(signature: &[u8]) -> Option<SignatureKind> {
    let text = String::from_utf8_lossy(signature);
    let first = text.trim_start().lines().next().unwrap_or("");
    match first.trim() {
        "-----BEGIN PGP SIGNATURE-----" | "-----BEGIN PGP MESSAGE-----" => Some(SignatureKind::Gpg),
        "-----BEGIN SSH SIGNATURE-----" => Some(SignatureKind::Ssh),
        "-----BEGIN SIGNED MESSAGE-----" | "-----BEGIN PKCS7-----" | "-----BEGIN CMS-----" => {
            Some(SignatureKind::X509)
        }
        _ => None,
    }
}
pub mod allowed_signers;
pub mod pgp;
pub mod ssh;
pub mod x509;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn status_words_are_the_serialized_names() {
        for s in [
            SignatureStatus::Verified,
            SignatureStatus::Unsigned,
            SignatureStatus::BadSignature,
            SignatureStatus::UnknownKey,
            SignatureStatus::ExpiredKey,
            SignatureStatus::RevokedKey,
            SignatureStatus::UntrustedSigner,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
