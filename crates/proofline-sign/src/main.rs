//! `proofline-sign`: the sign stage's binary (thin: the logic lives in the library).

fn main() {}
