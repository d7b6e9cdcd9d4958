//! The errors of this crate: each names the variable, file or value at fault and says what to do.

use std::path::PathBuf;

use crate::platform::Platform;

/// Everything that can go wrong reading the CI environment or writing outputs, summaries and log commands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CiError {
    /// A variable the runner always sets is missing or empty.
    #[error(
        "{variable} is not set although {marker}=true ({platform}): the runner sets it for every job. \
         Run inside a {platform} job, or unset {marker} to run locally"
    )]
    MissingVariable {
        /// The missing variable.
        variable: &'static str,
        /// The detected platform.
        platform: Platform,
        /// The variable that selected the platform.
        marker: &'static str,
    },

    /// A variable has a value we cannot use.
    #[error(
        "{variable}={value:?} is not {expected}; check what sets {variable} in the job environment"
    )]
    InvalidVariable {
        /// The variable.
        variable: &'static str,
        /// Its value (never a token: tokens are not validated), truncated.
        value: String,
        /// What it should be.
        expected: &'static str,
    },

    /// `GITHUB_EVENT_PATH` names a file we cannot read.
    #[error(
        "cannot read the event payload GITHUB_EVENT_PATH={path:?}: {source}. The runner writes it for every job; \
         if the environment was copied from another job or container, make the file available at that path"
    )]
    EventPayloadUnreadable {
        /// The path from `GITHUB_EVENT_PATH`.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The event payload is larger than any webhook payload GitHub sends.
    #[error(
        "the event payload GITHUB_EVENT_PATH={path:?} is larger than {limit} bytes; GitHub webhook payloads are \
         capped at 25 MB, so this is not a runner-written payload"
    )]
    EventPayloadTooLarge {
        /// The path from `GITHUB_EVENT_PATH`.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },

    /// The event payload is not the JSON object GitHub writes.
    #[error(
        "the event payload GITHUB_EVENT_PATH={path:?} is not a valid `{event}` webhook payload: {source}"
    )]
    EventPayloadMalformed {
        /// The path from `GITHUB_EVENT_PATH`.
        path: PathBuf,
        /// `GITHUB_EVENT_NAME`.
        event: String,
        /// The JSON error.
        source: serde_json::Error,
    },

    /// The event payload lacks a field this event must carry, or the field is malformed.
    #[error(
        "the `{event}` event payload GITHUB_EVENT_PATH={path:?} has no valid `{field}` ({problem}); \
         the payload does not match the event name GITHUB_EVENT_NAME={event}"
    )]
    EventPayloadField {
        /// The path from `GITHUB_EVENT_PATH`.
        path: PathBuf,
        /// `GITHUB_EVENT_NAME`.
        event: String,
        /// The JSON path of the field, e.g. `pull_request.head.sha`.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },

    /// An output name that the target format cannot carry.
    #[error("output name {name:?} is not valid for {target}: {reason}")]
    InvalidOutputName {
        /// The name given.
        name: String,
        /// `$GITHUB_OUTPUT`, the GitLab dotenv report, …
        target: &'static str,
        /// Which rule it breaks.
        reason: &'static str,
    },

    /// A value the GitLab dotenv report cannot carry faithfully.
    #[error(
        "output {name:?} cannot go into the GitLab dotenv report {path:?}: {reason}. Write the value to a file in \
         the evidence directory and output its path instead"
    )]
    DotenvValue {
        /// The output name.
        name: String,
        /// The dotenv file.
        path: PathBuf,
        /// Which rule it breaks.
        reason: &'static str,
    },

    /// Writing this output would make the dotenv report exceed one of GitLab's limits.
    #[error(
        "output {name:?} would make the GitLab dotenv report {path:?} exceed {what} ({actual} > {limit}); GitLab \
         rejects the whole report. Output fewer or shorter values (instance limits `dotenv_size` / \
         `dotenv_variables`; raise `DotenvLimits` only if your instance allows more)"
    )]
    DotenvLimit {
        /// The output name.
        name: String,
        /// The dotenv file.
        path: PathBuf,
        /// `its size limit in bytes` or `its variable limit`.
        what: &'static str,
        /// The size or count it would reach.
        actual: u64,
        /// The limit.
        limit: u64,
    },

    /// The value of an output contains a registered secret.
    #[error(
        "output {name:?} contains a registered secret; outputs are readable by later jobs and logged by runners \
         (GitHub skips such outputs), so the value was not written"
    )]
    SecretInOutput {
        /// The output name.
        name: String,
    },

    /// A GitHub file-command variable (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`) is missing.
    #[error(
        "{variable} is not set although GITHUB_ACTIONS=true: runners set it for every step since runner 2.297.0 \
         (October 2022). Update the self-hosted runner, or run inside a workflow step"
    )]
    MissingFileCommand {
        /// The missing variable.
        variable: &'static str,
    },

    /// The job summary would exceed GitHub's per-step limit.
    #[error(
        "the job summary {path:?} would be {size} bytes, over GitHub's {limit}-byte limit per step (the runner \
         would drop it); shorten the summary and link to the full report in the evidence directory"
    )]
    SummaryTooLarge {
        /// The summary file.
        path: PathBuf,
        /// The size it would reach.
        size: u64,
        /// The limit.
        limit: u64,
    },

    /// On GitLab, no summary file was configured.
    #[error(
        "no job summary file is configured for GitLab CI: set `CiOptions::summary_file` (for example \
         `<evidence-dir>/<stage>/summary.md`, exposed with `artifacts:paths`)"
    )]
    NoSummaryFile,

    /// On GitLab, no dotenv file was configured for outputs.
    #[error(
        "no dotenv file is configured for outputs on GitLab CI: set `CiOptions::dotenv_file` (for example \
         `<evidence-dir>/<stage>/outputs.env`, published with `artifacts:reports:dotenv`)"
    )]
    NoDotenvFile,

    /// A file (output, dotenv, summary) could not be written.
    #[error("cannot write {what} {path:?}: {source}")]
    WriteFile {
        /// What the file is, e.g. `$GITHUB_OUTPUT`.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The log sink (stdout/stderr by default) could not be written.
    #[error("cannot write to the job log: {source}")]
    Log {
        /// The I/O error.
        source: std::io::Error,
    },
}

/// `value` cut to a length that keeps error messages readable.
pub(crate) fn truncate_for_message(value: &str) -> String {
    const MAX: usize = 120;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let mut cut: String = value.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}
