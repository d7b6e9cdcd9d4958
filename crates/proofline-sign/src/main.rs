//! `proofline-sign`: the sign stage as its own binary (the same as `proofline sign`).

use std::process::ExitCode;

use clap::Parser;

/// Sign the image and every evidence artifact as Sigstore bundles: keyed (a cosign key), keyless
/// (Fulcio and Rekor with the CI's OIDC identity) or with an ephemeral key; `keygen` makes a
/// cosign-compatible key pair.
#[derive(Debug, Parser)]
#[command(name = "proofline-sign", version, about)]
struct Cli {
    #[command(flatten)]
    command_line: proofline_sign::SignCommandLine,

    #[command(flatten)]
    log: proofline_stagekit::LogArgs,
}

fn main() -> ExitCode {
    proofline_stagekit::run_main(
        |cli: &Cli| &cli.log,
        |cli| proofline_sign::run_command_line(&cli.command_line),
    )
}
