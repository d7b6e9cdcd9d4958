//! `proofline-source`: the source stage as its own binary (the same as `proofline source`).

use std::process::ExitCode;

use clap::Parser;

/// Verify every commit a change brings and the branch protection and reviews around it.
#[derive(Debug, Parser)]
#[command(name = "proofline-source", version, about)]
struct Cli {
    #[command(flatten)]
    args: proofline_source::SourceArgs,

    /// Log verbosity for messages on stderr (error, warn, info, debug, trace).
    #[arg(long, env = "PROOFLINE_LOG_LEVEL", default_value = "info")]
    log_level: String,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                proofline_stagekit::EXIT_ERROR
            } else {
                0
            });
        }
    };
    proofline_stagekit::init_tracing(&cli.log_level);
    proofline_stagekit::exit_code(
        proofline_stagekit::StageCi::detect(&cli.args.evidence_dir)
            .and_then(|ci| proofline_source::stage::run(&cli.args, &ci)),
    )
}
