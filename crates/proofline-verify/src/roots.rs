//! The trusted roots used without `--trusted-root` (by `proofline-verify` and the conformance
//! client alike): our own
//! pinned copy of the public Sigstore production root (refreshed by hand from Sigstore's TUF
//! repository, see docs/conformance.md), and the staging root `sigstore-trust-root` embeds.

use sigstore_verify::trust_root::{SIGSTORE_STAGING_TRUSTED_ROOT, TrustedRoot};

use crate::trust::TrustError;

/// The public Sigstore production `trusted_root.json`, as Sigstore's TUF repository
/// (`tuf-repo-cdn.sigstore.dev`, target `trusted_root.json`) served it.
pub const PRODUCTION_TRUSTED_ROOT: &str = include_str!("../trusted_root.prod.json");

/// The SHA-256 of [`PRODUCTION_TRUSTED_ROOT`]: a refresh changes it, deliberately.
pub const PRODUCTION_TRUSTED_ROOT_SHA256: &str =
    "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66";

/// Which public instance's root to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instance {
    /// sigstore.dev.
    Production,
    /// sigstage.dev (`--staging`).
    Staging,
}

/// The embedded root of `instance`, parsed, with a name for messages.
pub fn embedded(instance: Instance) -> Result<(TrustedRoot, String), TrustError> {
    let (json, name) = match instance {
        Instance::Production => (
            PRODUCTION_TRUSTED_ROOT,
            "the embedded Sigstore production trusted root",
        ),
        Instance::Staging => (
            SIGSTORE_STAGING_TRUSTED_ROOT,
            "the embedded Sigstore staging trusted root",
        ),
    };
    let root = TrustedRoot::from_json(json).map_err(|e| TrustError::BadTrustedRoot {
        source_name: name.to_string(),
        reason: e.to_string(),
    })?;
    Ok((root, name.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_embedded_production_root_is_the_pinned_one() {
        assert_eq!(
            proofline_evidence::sha256_hex(PRODUCTION_TRUSTED_ROOT.as_bytes()),
            PRODUCTION_TRUSTED_ROOT_SHA256,
            "trusted_root.prod.json changed: if this is a deliberate refresh (docs/conformance.md), update the pin"
        );
    }

    #[test]
    fn both_embedded_roots_parse_and_build_a_verifier() {
        for instance in [Instance::Production, Instance::Staging] {
            let (root, _) = embedded(instance).unwrap();
            sigstore_verify::Verifier::new(&root).unwrap();
        }
    }
}
