//! `proofline-scan`: the scan stage as its own binary (the same as `proofline scan`).

fn main() {}
