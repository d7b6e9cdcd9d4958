//! Cosign-compatible key material: generation, import of cosign's encrypted private keys, public keys.
