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

    /// Log verbosity for messages on stderr (error, warn, info, debug, trace).
    #[arg(
        long,
        env = "PROOFLINE_LOG_LEVEL",
        default_value = "info",
        global = true
    )]
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
    proofline_stagekit::exit_code(proofline_sbom::run_command_line(&cli.command_line))
}
