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
    proofline_stagekit::exit_code(proofline_scan::run_command_line(&cli.command_line))
}
