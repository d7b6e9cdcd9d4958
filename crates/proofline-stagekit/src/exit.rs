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

/// The `--log-level` flag every stage binary takes (flattened into its `Cli`).
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Log verbosity for messages on stderr (error, warn, info, debug, trace).
    #[arg(
        long,
        env = "PROOFLINE_LOG_LEVEL",
        default_value = "info",
        global = true
    )]
    pub log_level: String,
}

/// A stage binary's `main`: parses `T` (a usage error prints clap's message and exits 2;
/// `--help`/`--version` exit 0), starts logging at the level `log` picks, runs, and maps the
/// result to the exit code.
pub fn run_main<T: clap::Parser>(
    log: impl FnOnce(&T) -> &LogArgs,
    run: impl FnOnce(&T) -> anyhow::Result<Outcome>,
) -> ExitCode {
    let cli = match T::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { 0 });
        }
    };
    init_tracing(&log(&cli).log_level);
    exit_code(run(&cli))
}
