//! `verify-bundle`: reads the bundle, the artifact (a file or `sha256:<hex>`) and the trust
//! (key, or identity and issuer over a trusted root), then verifies through
//! [`crate::trust::verify_artifact`], the core `proofline-verify` uses.

use std::path::{Path, PathBuf};

use super::{Category, Failure, VerifyBundleArgs};
use crate::reason::Reason;
use crate::roots::{self, Instance};
use crate::trust::{
    ArtifactInput, MAX_BUNDLE_BYTES, Matcher, Trust, TrustError, Verified, load_trusted_root,
    read_bounded, verify_artifact,
};

/// The largest artifact read into memory; larger ones can be given as `sha256:<hex>`.
pub const MAX_ARTIFACT_BYTES: u64 = 512 * 1024 * 1024;

/// The artifact operand, as the protocol reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOrDigest {
    /// A path.
    File(PathBuf),
    /// A SHA-256, lowercase hex.
    Sha256(String),
}

impl FileOrDigest {
    /// A digest only when the operand is `sha256:` and 64 hex characters and not an existing
    /// file; otherwise a path (the protocol's rule).
    pub fn parse(operand: &str) -> Self {
        if let Some(hex) = operand.strip_prefix("sha256:")
            && hex.len() == 64
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && !Path::new(operand).exists()
        {
            return FileOrDigest::Sha256(hex.to_ascii_lowercase());
        }
        FileOrDigest::File(PathBuf::from(operand))
    }
}

/// Runs `verify-bundle`.
pub fn verify_bundle(args: &VerifyBundleArgs) -> Result<Verified, Failure> {
    let bundle = read_bounded(&args.bundle, MAX_BUNDLE_BYTES).map_err(|e| {
        Failure::new(
            Category::Verify(Reason::Bundle),
            format!(
                "cannot read the bundle {}: {e}: check --bundle",
                args.bundle.display()
            ),
        )
    })?;
    let trust = trust(args).map_err(trust_failure)?;
    match FileOrDigest::parse(&args.file_or_digest) {
        FileOrDigest::Sha256(hex) => Ok(verify_artifact(
            &trust,
            &bundle,
            ArtifactInput::Sha256(&hex),
        )?),
        FileOrDigest::File(path) => {
            let bytes = read_bounded(&path, MAX_ARTIFACT_BYTES).map_err(|e| {
                Failure::new(
                    Category::Verify(Reason::Artifact),
                    format!(
                        "cannot read the artifact {}: {e}: pass an existing file, or sha256:<hex>",
                        path.display()
                    ),
                )
            })?;
            Ok(verify_artifact(
                &trust,
                &bundle,
                ArtifactInput::Bytes(&bytes),
            )?)
        }
    }
}

fn trust(args: &VerifyBundleArgs) -> Result<Trust, TrustError> {
    let root = match &args.trusted_root {
        Some(path) => load_trusted_root(Some(path))?,
        None if args.staging => roots::embedded(Instance::Staging)?,
        None => roots::embedded(Instance::Production)?,
    };
    match (
        &args.key,
        &args.certificate_identity,
        &args.certificate_oidc_issuer,
    ) {
        (Some(key), _, _) => Trust::key(key, Some(root), false),
        (None, Some(identity), Some(issuer)) => Trust::identity(
            Matcher::Exact(identity.clone()),
            Matcher::Exact(issuer.clone()),
            root,
        ),
        // clap requires one of the two forms; this is the message if a caller skips clap.
        _ => Err(TrustError::BadKey {
            path: PathBuf::from("(none)"),
            reason: "neither --key nor --certificate-identity and --certificate-oidc-issuer given"
                .into(),
        }),
    }
}

fn trust_failure(e: TrustError) -> Failure {
    let reason = match e {
        TrustError::BadTrustedRoot { .. } => Reason::TrustedRoot,
        TrustError::ReadKey { .. } | TrustError::BadKey { .. } | TrustError::BadRegex { .. } => {
            Reason::Key
        }
    };
    Failure::new(Category::Verify(reason), e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn digest_operands_follow_the_protocol_rule() {
        let hex = "a".repeat(64);
        assert_eq!(
            FileOrDigest::parse(&format!("sha256:{hex}")),
            FileOrDigest::Sha256(hex.clone())
        );
        assert_eq!(
            FileOrDigest::parse(&format!("sha256:{}", "A".repeat(64))),
            FileOrDigest::Sha256(hex.clone())
        );
        for not_digest in [
            format!("sha256:{}", "a".repeat(63)),
            format!("sha256:{}", "a".repeat(65)),
            format!("sha256:{}g", "a".repeat(63)),
            format!("sha512:{hex}"),
            hex.clone(),
            "a.txt".to_string(),
        ] {
            assert_eq!(
                FileOrDigest::parse(&not_digest),
                FileOrDigest::File(PathBuf::from(&not_digest))
            );
        }
    }
}
