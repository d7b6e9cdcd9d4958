//! `proofline-verify`: the verifier as its own binary (the same as `proofline verify`).

use std::process::ExitCode;

use clap::Parser;

/// Verify an image's signatures and its signed evidence offline: every signature against a
/// cosign key or a certificate identity chained to a Sigstore trusted root, every statement's
/// subject against the image digest, every signed file against the bytes on disk. Exit 0 only
/// when everything verified; 1 when anything did not; 2 on unusable input.
#[derive(Debug, Parser)]
#[command(name = "proofline-verify", version, about)]
struct Cli {
    #[command(flatten)]
    args: proofline_verify::VerifyArgs,

    #[command(flatten)]
    log: proofline_stagekit::LogArgs,
}

fn main() -> ExitCode {
    proofline_stagekit::run_main(|cli: &Cli| &cli.log, |cli| proofline_verify::run(&cli.args))
}
