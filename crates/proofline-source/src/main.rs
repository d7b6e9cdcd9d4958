//! `proofline-source`: the source stage as its own binary (the same as `proofline source`).

use std::process::ExitCode;

use clap::Parser;

/// Verify every commit a change brings and the branch protection and reviews around it.
#[derive(Debug, Parser)]
#[command(name = "proofline-source", version, about)]
struct Cli {
    #[command(flatten)]
    args: proofline_source::SourceArgs,

    #[command(flatten)]
    log: proofline_stagekit::LogArgs,
}

fn main() -> ExitCode {
    proofline_stagekit::run_main(
        |cli: &Cli| &cli.log,
        |cli| {
            proofline_stagekit::StageCi::detect(&cli.args.evidence_dir)
                .and_then(|ci| proofline_source::stage::run(&cli.args, &ci))
        },
    )
}
