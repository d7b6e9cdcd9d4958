//! Proofline's verifier: checks that an image's signature and every signed evidence artifact
//! verify, offline, against a key or a Sigstore trusted root, and fails closed.
