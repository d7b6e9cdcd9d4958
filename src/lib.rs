//! The umbrella CLI: wires the Proofline crates into `proofline <command>`; the logic lives
//! in the libraries, this crate only parses, dispatches and presents.

pub mod cli;
mod commands;
mod stages;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

pub use cli::Cli;

pub use proofline_stagekit::{EXIT_ERROR, Outcome};

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
    proofline_stagekit::init_tracing(&cli.log_level);
    proofline_stagekit::exit_code(commands::dispatch(cli.command))
}
