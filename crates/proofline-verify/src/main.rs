//! `proofline-verify`: the verifier's binary (thin: the logic lives in the library).

fn main() {}
