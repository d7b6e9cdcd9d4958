//! The umbrella CLI: wires the Proofline crates into `proofline <command>`; the logic lives
//! in the libraries, this crate only parses, dispatches and presents.

pub mod cli;
mod commands;
mod stage;
mod stages;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

pub use cli::Cli;

/// What a command concluded when it could do its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0: the work was done and nothing is above the threshold.
    Passed,
    /// Exit 1: the work was done and found a policy violation.
    Violation,
}

/// Exit code for "usage or operational error" (the work was not done).
pub const EXIT_ERROR: u8 = 2;

/// Parses `args`, runs the command, and maps the result to Proofline's exit codes:
/// 0 passed, 1 policy violation, 2 usage or operational error.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { 0 });
        }
    };
    init_tracing(&cli.log_level);
    match commands::dispatch(cli.command) {
        Ok(Outcome::Passed) => ExitCode::SUCCESS,
        Ok(Outcome::Violation) => ExitCode::from(1),
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}
