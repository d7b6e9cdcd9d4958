//! Where the sign stage puts its signatures in the evidence directory, shared by the signer
//! and the verifier so both agree on every path.
//!
//! ```text
//! sign/signature.sigstore.json        the image signature, cosign v3 form (DSSE, sign/v1 statement)
//! sign/simple-signing.json            cosign v2's simple-signing payload for the manifest digest
//! sign/simple-signing.sigstore.json   its signature (message signature bundle)
//! sign/attestations/<stage>/<file>.sigstore.json   one DSSE bundle per evidence file and record
//! sign/signatures.json                what was signed, with what (for people; never trusted)
//! sign/crypto-module.json             which cryptographic module made each signature
//! sign/cosign.pub                     the public key (keyed and ephemeral signing)
//! ```

/// The sign stage's name.
pub const SIGN_STAGE: &str = "sign";
/// The cosign v3 image signature bundle, relative to `sign/`.
pub const IMAGE_SIGNATURE_BUNDLE: &str = "signature.sigstore.json";
/// The cosign v2 simple-signing payload, relative to `sign/`.
pub const SIMPLE_SIGNING_PAYLOAD: &str = "simple-signing.json";
/// Its bundle, relative to `sign/`.
pub const SIMPLE_SIGNING_BUNDLE: &str = "simple-signing.sigstore.json";
/// The index of signatures made, relative to `sign/`.
pub const SIGNATURES_INDEX: &str = "signatures.json";
/// The crypto module statement, relative to `sign/`.
pub const CRYPTO_MODULE: &str = "crypto-module.json";
/// The signer's public key (keyed or ephemeral), relative to `sign/`.
pub const PUBLIC_KEY: &str = "cosign.pub";
/// The folder of attestation bundles, relative to `sign/`.
pub const ATTESTATIONS_DIR: &str = "attestations";
/// The media type of Sigstore bundles v0.3.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The bundle for an evidence file, relative to `sign/`: `attestations/<path>.sigstore.json`.
pub fn attestation_bundle(evidence_path: &str) -> String {
    format!("{ATTESTATIONS_DIR}/{evidence_path}.sigstore.json")
}

/// The record of a stage, relative to the evidence directory.
pub fn record_path(stage: &str) -> String {
    format!("{stage}/{}", proofline_evidence::RECORD_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_paths_mirror_the_evidence() {
        assert_eq!(
            attestation_bundle("sbom/sbom.cdx.json"),
            "attestations/sbom/sbom.cdx.json.sigstore.json"
        );
        assert_eq!(record_path("scan"), "scan/record.json");
    }
}
