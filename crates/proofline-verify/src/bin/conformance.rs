//! `proofline-conformance`: the Sigstore conformance suite's client (`verify-bundle`,
//! `sign-bundle`) over Proofline's verifier. Exit 0 on success, 1 when a bundle is rejected,
//! 2 when the work could not be done; on failure, one line on stderr: `<category>: <reason>`.

use std::process::ExitCode;

use clap::Parser;
use proofline_verify::conformance::{ConformanceArgs, run};

fn main() -> ExitCode {
    let args = ConformanceArgs::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            #[allow(clippy::print_stderr)] // the protocol's reason line
            {
                eprintln!("{failure}");
            }
            ExitCode::from(failure.exit_code())
        }
    }
}
