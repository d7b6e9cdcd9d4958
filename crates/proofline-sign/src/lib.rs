//! Proofline's sign stage: signs the image and every artifact the other stages left in the
//! evidence directory, keyed (cosign keys) or keyless (Fulcio + Rekor), as Sigstore bundles.

pub mod keys;
pub mod signer;
