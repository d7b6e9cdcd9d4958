//! `proofline-sbom`: the SBOM stage as its own binary (the same as `proofline sbom`).

use std::process::ExitCode;

use clap::Parser;

/// Every package in an image as SPDX and CycloneDX, with package verification and the
/// dependency tree, recorded as evidence.
#[derive(Debug, Parser)]
#[command(name = "proofline-sbom", version, about)]
struct Cli {
    #[command(flatten)]
    command_line: proofline_sbom::SbomCommandLine,

    #[command(flatten)]
    log: proofline_stagekit::LogArgs,
}

fn main() -> ExitCode {
    proofline_stagekit::run_main(
        |cli: &Cli| &cli.log,
        |cli| proofline_sbom::run_command_line(&cli.command_line),
    )
}
