//! `proofline`: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    proofline::run(std::env::args_os())
}
