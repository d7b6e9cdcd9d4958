//! Exit codes and logging, identical for every binary.

use std::process::ExitCode;

/// What a command concluded when it could do its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0: the work was done and nothing is above the threshold.
    Passed,
    /// Exit 1: the work was done and found a policy violation.
    Violation,
}

impl Outcome {
    /// The worse of two outcomes.
    pub fn and(self, other: Outcome) -> Outcome {
        if self == Outcome::Violation || other == Outcome::Violation {
            Outcome::Violation
        } else {
            Outcome::Passed
        }
    }
}

/// Exit code for "usage or operational error" (the work was not done).
pub const EXIT_ERROR: u8 = 2;

/// Maps a command's result to the exit code, logging the error chain on stderr.
pub fn exit_code(result: anyhow::Result<Outcome>) -> ExitCode {
    match result {
        Ok(Outcome::Passed) => ExitCode::SUCCESS,
        Ok(Outcome::Violation) => ExitCode::from(1),
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Logs to stderr (stdout carries data), colours only on a terminal.
pub fn init_tracing(level: &str) {
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
