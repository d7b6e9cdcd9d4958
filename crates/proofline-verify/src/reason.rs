//! Why a bundle was rejected, as one stable keyword per kind of failure. The keyword is
//! derived from `sigstore_verify`'s typed errors (never from their text), so the conformance
//! client can state its reason and the conformance test can check it against each case.

use sigstore_verify::bundle::Error as BundleError;
use sigstore_verify::types::Error as TypesError;
use sigstore_verify::{CertificateError, Error, TransparencyLogError};

/// The kind of failure. `keyword()` is the stable spelling shown first on the reason line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The bundle cannot be read: not JSON, an unknown media type, bad base64, an empty
    /// certificate chain, a negative log index, or content this verifier does not support.
    Bundle,
    /// The kind of signer does not match what was asked: a key-signed bundle checked against an
    /// identity, or a certificate-signed bundle checked against a key.
    Key,
    /// The signature does not verify over the artifact (or DSSE envelope) with the signer's key.
    Signature,
    /// The bundle is about another artifact: the message digest or no statement subject matches,
    /// or the artifact could not be read.
    Artifact,
    /// The certificate's identity (SAN) is not the one required.
    Identity,
    /// The certificate's OIDC issuer is not the one required.
    Issuer,
    /// The certificate is not trusted at the signing time: it does not chain to a trusted Fulcio
    /// authority, the signing time (log integrated time or TSA timestamp) is outside its validity
    /// or outside every authority's `validFor`, or it cannot be parsed. (sigstore-verify checks
    /// the chain at the signing time, and reports a leaf expired then as an invalid chain.)
    Certificate,
    /// The certificate's signed certificate timestamp (CT log) is missing or invalid.
    Sct,
    /// The transparency-log entry is from an unknown log, malformed, or does not describe this
    /// bundle's signature, key or artifact.
    Tlog,
    /// The inclusion proof is missing or does not prove the entry is in the log.
    InclusionProof,
    /// The checkpoint (signed tree head) is missing, malformed, for another tree, or not signed
    /// by the log.
    Checkpoint,
    /// The signed entry timestamp (inclusion promise) is missing or invalid.
    Set,
    /// An RFC 3161 timestamp is invalid, untrusted, outside its authority's validity, or there
    /// is no trusted signing time at all.
    Timestamp,
    /// The trusted root (or the key given) cannot be used.
    TrustedRoot,
}

impl Reason {
    /// Every reason, in a stable order.
    pub const ALL: [Reason; 14] = [
        Reason::Bundle,
        Reason::Key,
        Reason::Signature,
        Reason::Artifact,
        Reason::Identity,
        Reason::Issuer,
        Reason::Certificate,
        Reason::Sct,
        Reason::Tlog,
        Reason::InclusionProof,
        Reason::Checkpoint,
        Reason::Set,
        Reason::Timestamp,
        Reason::TrustedRoot,
    ];

    /// The stable keyword (kebab-case).
    pub fn keyword(self) -> &'static str {
        match self {
            Reason::Bundle => "bundle",
            Reason::Key => "key",
            Reason::Signature => "signature",
            Reason::Artifact => "artifact",
            Reason::Identity => "identity",
            Reason::Issuer => "issuer",
            Reason::Certificate => "certificate",
            Reason::Sct => "sct",
            Reason::Tlog => "tlog",
            Reason::InclusionProof => "inclusion-proof",
            Reason::Checkpoint => "checkpoint",
            Reason::Set => "set",
            Reason::Timestamp => "timestamp",
            Reason::TrustedRoot => "trusted-root",
        }
    }

    /// The reason spelled `keyword`, if any.
    pub fn from_keyword(keyword: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.keyword() == keyword)
    }

    /// The reason for one of `sigstore_verify`'s errors, by its variant.
    pub fn of(error: &Error) -> Reason {
        match error {
            Error::IdentityMismatch { .. } => Reason::Identity,
            Error::IssuerMismatch { .. } => Reason::Issuer,
            Error::SignatureInvalid(_) => Reason::Signature,
            Error::ArtifactMismatch(_) | Error::UnsupportedArtifact(_) | Error::ArtifactRead(_) => {
                Reason::Artifact
            }
            Error::Certificate(CertificateError::Sct(_)) => Reason::Sct,
            Error::Certificate(_) => Reason::Certificate,
            Error::TransparencyLog(e) => match e {
                TransparencyLogError::InclusionProof(_) => Reason::InclusionProof,
                TransparencyLogError::Checkpoint(_) => Reason::Checkpoint,
                TransparencyLogError::InclusionPromise(_) => Reason::Set,
                // The log's time outside the certificate's validity (or in the future).
                TransparencyLogError::IntegratedTime(_) => Reason::Certificate,
                _ => Reason::Tlog,
            },
            Error::Timestamp(_) => Reason::Timestamp,
            Error::InvalidTrustRoot(_) | Error::TrustRoot(_) | Error::TrustedCertificate(_) => {
                Reason::TrustedRoot
            }
            Error::Crypto(_) => Reason::Signature,
            Error::Bundle(e) => match e {
                BundleError::MissingInclusionProof(_)
                | BundleError::LogIndexOutOfRange { .. }
                // A proof without a checkpoint cannot be checked against a signed tree head.
                | BundleError::MissingCheckpoint => Reason::InclusionProof,
                BundleError::CheckpointRootMismatch => Reason::Checkpoint,
                BundleError::MissingInclusionPromise(_) => Reason::Set,
                BundleError::MissingTimestamp | BundleError::MissingSigningTimeEvidence => {
                    Reason::Timestamp
                }
                _ => Reason::Bundle,
            },
            Error::Types(TypesError::InvalidCheckpoint(_)) => Reason::Checkpoint,
            _ => Reason::Bundle,
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.keyword())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstore_verify::TimestampError;

    #[test]
    fn keywords_are_unique_and_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_keyword(r.keyword()), Some(r));
        }
        let mut words: Vec<_> = Reason::ALL.iter().map(|r| r.keyword()).collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), Reason::ALL.len());
        assert_eq!(Reason::from_keyword("nope"), None);
    }

    #[test]
    fn typed_errors_map_to_their_category() {
        let cases = [
            (Error::SignatureInvalid("x".into()), Reason::Signature),
            (Error::ArtifactMismatch("x".into()), Reason::Artifact),
            (
                CertificateError::ChainInvalid("x".into()).into(),
                Reason::Certificate,
            ),
            (CertificateError::Sct("x".into()).into(), Reason::Sct),
            (
                TransparencyLogError::Checkpoint("x".into()).into(),
                Reason::Checkpoint,
            ),
            (
                TransparencyLogError::InclusionProof("x".into()).into(),
                Reason::InclusionProof,
            ),
            (
                TransparencyLogError::InclusionPromise("x".into()).into(),
                Reason::Set,
            ),
            (
                TransparencyLogError::EntryMismatch("x".into()).into(),
                Reason::Tlog,
            ),
            (
                TransparencyLogError::IntegratedTime("x".into()).into(),
                Reason::Certificate,
            ),
            (
                BundleError::CheckpointRootMismatch.into(),
                Reason::Checkpoint,
            ),
            (
                BundleError::MissingCheckpoint.into(),
                Reason::InclusionProof,
            ),
            (
                TimestampError::NoVerifiedTimestamp("x".into()).into(),
                Reason::Timestamp,
            ),
            (Error::InvalidTrustRoot("x".into()), Reason::TrustedRoot),
            (Error::InvalidBundle("x".into()), Reason::Bundle),
        ];
        for (error, reason) in cases {
            assert_eq!(Reason::of(&error), reason, "{error}");
        }
    }
}
