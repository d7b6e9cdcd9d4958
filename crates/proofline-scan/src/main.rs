//! `proofline-scan`: the scan stage as its own binary (the same as `proofline scan`).

use std::process::ExitCode;

use clap::Parser;

/// Every package of an image (or SBOM) matched against an offline OSV database, gated on
/// severity, with VEX in and out, recorded as evidence.
#[derive(Debug, Parser)]
#[command(name = "proofline-scan", version, about)]
struct Cli {
    #[command(flatten)]
    command_line: proofline_scan::ScanCommandLine,

    #[command(flatten)]
    log: proofline_stagekit::LogArgs,
}

fn main() -> ExitCode {
    proofline_stagekit::run_main(
        |cli: &Cli| &cli.log,
        |cli| proofline_scan::run_command_line(&cli.command_line),
    )
}
