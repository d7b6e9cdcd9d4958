//! The run handle: the context plus everything a stage says back to the CI system — outputs, job summary,
//! annotations, log groups, masking — written to the right place for GitHub, GitLab or a local run.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::commands::{
    Annotation, escape_data, github_command, gitlab_section_end, gitlab_section_name,
    gitlab_section_start, plain_text,
};
use crate::context::CiContext;
use crate::env::{Env, ProcessEnv, non_empty};
use crate::error::CiError;
use crate::file_commands::{
    DotenvLimits, dotenv_line, dotenv_name, dotenv_names, github_output_record,
};
use crate::platform::Platform;
use crate::secret::{Redactor, Secret};
use crate::tokens::Tokens;

/// GitHub drops a step summary larger than 1 MiB.
pub const GITHUB_SUMMARY_LIMIT: u64 = 1024 * 1024;

/// Where outputs and summaries go where the platform has no fixed place for them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiOptions {
    /// The job summary file on GitLab and locally (GitHub always uses `$GITHUB_STEP_SUMMARY`).
    pub summary_file: Option<PathBuf>,
    /// The dotenv report outputs go to on GitLab (publish it with `artifacts:reports:dotenv`).
    pub dotenv_file: Option<PathBuf>,
    /// Prefix for dotenv variable names (`""`: output `image-digest` becomes `IMAGE_DIGEST`).
    pub dotenv_prefix: String,
    /// GitLab's dotenv limits to enforce before GitLab rejects the report.
    pub dotenv_limits: DotenvLimits,
    /// Locally, outputs are appended here in the `$GITHUB_OUTPUT` format; `None` drops them.
    pub local_output_file: Option<PathBuf>,
}

impl CiOptions {
    /// Options for a stage writing into `evidence_dir`: the summary at `<evidence-dir>/<stage>/summary.md`, the
    /// dotenv report at `<evidence-dir>/<stage>/outputs.env` (inside the stage's own folder, so
    /// merged artifacts of parallel jobs never clobber each other); local outputs dropped.
    pub fn for_stage(evidence_dir: impl AsRef<Path>, stage: &str) -> Self {
        let dir = evidence_dir.as_ref();
        Self {
            summary_file: Some(dir.join(stage).join("summary.md")),
            dotenv_file: Some(dir.join(stage).join("outputs.env")),
            ..Self::default()
        }
    }
}

/// Where log text goes.
#[derive(Clone, Copy)]
enum Stream {
    /// Workflow commands and GitLab section markers (stdout by default).
    Commands,
    /// Plain annotation lines and local headings (stderr by default).
    Messages,
}

struct LogState {
    commands: Box<dyn Write + Send>,
    messages: Box<dyn Write + Send>,
    redactor: Redactor,
    sections: u64,
}

/// The run: what [`CiContext`] describes, plus the channels back to the CI system.
///
/// Every text it logs passes through the redactor, which knows every token and every secret given to
/// [`Ci::mask`]. `Ci` is `Send + Sync`; methods take `&self`.
pub struct Ci {
    context: CiContext,
    tokens: Tokens,
    options: CiOptions,
    github_output: Option<PathBuf>,
    github_step_summary: Option<PathBuf>,
    clock: fn() -> u64,
    log: Mutex<LogState>,
}

impl Ci {
    /// Read the context and tokens from `env`. Workflow commands go to stdout, plain messages to stderr; see
    /// [`Ci::with_command_sink`] / [`Ci::with_message_sink`]. Tokens are registered with the redactor at once
    /// (no output); call [`Ci::mask_tokens`] to also have GitHub mask them.
    pub fn from_env(env: &dyn Env, options: CiOptions) -> Result<Self, CiError> {
        let context = CiContext::from_env(env)?;
        let tokens = Tokens::from_env(env, context.platform);
        let mut redactor = Redactor::new();
        for token in tokens.all() {
            redactor.register(token);
        }
        let github = context.platform == Platform::GithubActions;
        let file_var = |name: &str| {
            github
                .then(|| non_empty(env, name))
                .flatten()
                .map(PathBuf::from)
        };
        Ok(Self {
            github_output: file_var("GITHUB_OUTPUT"),
            github_step_summary: file_var("GITHUB_STEP_SUMMARY"),
            context,
            tokens,
            options,
            clock: unix_now,
            log: Mutex::new(LogState {
                commands: Box::new(io::stdout()),
                messages: Box::new(io::stderr()),
                redactor,
                sections: 0,
            }),
        })
    }

    /// [`Ci::from_env`] over the process environment.
    pub fn from_process_env(options: CiOptions) -> Result<Self, CiError> {
        Self::from_env(&ProcessEnv, options)
    }

    /// Write workflow commands (and GitLab section markers) to `sink` instead of stdout.
    #[must_use]
    pub fn with_command_sink(self, sink: impl Write + Send + 'static) -> Self {
        self.lock().commands = Box::new(sink);
        self
    }

    /// Write plain annotation lines (GitLab, local) and local group headings to `sink` instead of stderr.
    #[must_use]
    pub fn with_message_sink(self, sink: impl Write + Send + 'static) -> Self {
        self.lock().messages = Box::new(sink);
        self
    }

    /// Use `clock` (Unix seconds) for GitLab section timestamps.
    #[must_use]
    pub fn with_clock(mut self, clock: fn() -> u64) -> Self {
        self.clock = clock;
        self
    }

    /// The CI context.
    pub fn context(&self) -> &CiContext {
        &self.context
    }

    /// The platform.
    pub fn platform(&self) -> Platform {
        self.context.platform
    }

    /// The tokens found in the environment.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The token for this platform's forge API (see [`Tokens::token_for_forge`]).
    pub fn token_for_forge(&self) -> Option<Secret> {
        self.tokens.token_for_forge()
    }

    /// The options given at construction.
    pub fn options(&self) -> &CiOptions {
        &self.options
    }

    fn lock(&self) -> MutexGuard<'_, LogState> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_line(&self, stream: Stream, line: &str) -> Result<(), CiError> {
        let mut state = self.lock();
        let sink = match stream {
            Stream::Commands => &mut state.commands,
            Stream::Messages => &mut state.messages,
        };
        sink.write_all(line.as_bytes())
            .and_then(|()| sink.write_all(b"\n"))
            .and_then(|()| sink.flush())
            .map_err(|source| CiError::Log { source })
    }

    /// `text` with every registered secret (tokens, [`Ci::mask`]ed values) replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.lock().redactor.redact(text).into_owned()
    }

    /// A copy of the redactor, for code that logs through other channels (e.g. a `tracing` layer).
    pub fn redactor(&self) -> Redactor {
        self.lock().redactor.clone()
    }

    /// Register `secret` for redaction and, on GitHub, emit `::add-mask::` for it (one command per non-blank line
    /// of a multi-line secret, since the runner masks line by line). Blank secrets are ignored.
    pub fn mask(&self, secret: &Secret) -> Result<(), CiError> {
        self.lock().redactor.register(secret);
        if self.platform() == Platform::GithubActions {
            for piece in secret.mask_pieces() {
                self.write_line(
                    Stream::Commands,
                    &format!("::add-mask::{}", escape_data(piece)),
                )?;
            }
        }
        Ok(())
    }

    /// [`Ci::mask`] every token in the environment.
    pub fn mask_tokens(&self) -> Result<(), CiError> {
        let tokens: Vec<Secret> = self.tokens.all().cloned().collect();
        tokens.iter().try_for_each(|t| self.mask(t))
    }

    /// Set a step output.
    ///
    /// - GitHub: appended to `$GITHUB_OUTPUT` (`name=value`, or the `name<<ghadelimiter_…` form for multi-line
    ///   values). Names: a letter or `_` first, then letters, digits, `-`, `_`.
    /// - GitLab: appended to the dotenv report (`CiOptions::dotenv_file`) as `PREFIX_NAME=value` (`-` → `_`,
    ///   upper-cased); values must be single-line, without surrounding whitespace or `$`, within GitLab's limits.
    /// - Local: appended to `CiOptions::local_output_file` in the GitHub format, or dropped.
    ///
    /// A value containing a registered secret is refused everywhere.
    pub fn set_output(&self, name: &str, value: &str) -> Result<(), CiError> {
        if self.lock().redactor.contains_secret(value) {
            return Err(CiError::SecretInOutput {
                name: name.to_owned(),
            });
        }
        match self.platform() {
            Platform::GithubActions => {
                let record = github_output_record(name, value)?;
                let path = self
                    .github_output
                    .as_deref()
                    .ok_or(CiError::MissingFileCommand {
                        variable: "GITHUB_OUTPUT",
                    })?;
                append_existing(path, record.as_bytes(), "$GITHUB_OUTPUT")
            }
            Platform::GitlabCi => {
                let path = self
                    .options
                    .dotenv_file
                    .as_deref()
                    .ok_or(CiError::NoDotenvFile)?;
                self.append_dotenv(path, name, value)
            }
            Platform::Local => {
                let record = github_output_record(name, value)?;
                match &self.options.local_output_file {
                    Some(path) => append_creating(path, record.as_bytes(), "the output file"),
                    None => Ok(()),
                }
            }
        }
    }

    fn append_dotenv(&self, path: &Path, name: &str, value: &str) -> Result<(), CiError> {
        let variable = dotenv_name(&self.options.dotenv_prefix, name)?;
        let line = dotenv_line(&variable, name, value, path)?;
        let existing = read_if_exists(path, "the dotenv report")?;
        let limits = self.options.dotenv_limits;
        let size = existing.len() as u64 + line.len() as u64;
        if size >= limits.max_bytes {
            return Err(CiError::DotenvLimit {
                name: name.to_owned(),
                path: path.to_owned(),
                what: "its size limit in bytes",
                actual: size,
                limit: limits.max_bytes,
            });
        }
        let mut names = dotenv_names(&existing);
        names.insert(variable);
        let count = names.len() as u64;
        if count > limits.max_variables {
            return Err(CiError::DotenvLimit {
                name: name.to_owned(),
                path: path.to_owned(),
                what: "its variable limit",
                actual: count,
                limit: limits.max_variables,
            });
        }
        append_creating(path, line.as_bytes(), "the dotenv report")
    }

    /// Append Markdown to the job summary (secrets redacted; a final line break added when missing).
    ///
    /// GitHub: `$GITHUB_STEP_SUMMARY`, refused when it would pass GitHub's 1 MiB per-step limit. GitLab:
    /// `CiOptions::summary_file` (required). Local: `CiOptions::summary_file`, or nowhere. Returns the file written.
    pub fn append_summary(&self, markdown: &str) -> Result<Option<PathBuf>, CiError> {
        let mut text = self.redact(markdown);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        match self.platform() {
            Platform::GithubActions => {
                let path = self
                    .github_step_summary
                    .clone()
                    .ok_or(CiError::MissingFileCommand {
                        variable: "GITHUB_STEP_SUMMARY",
                    })?;
                let current = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                let size = current + text.len() as u64;
                if size > GITHUB_SUMMARY_LIMIT {
                    return Err(CiError::SummaryTooLarge {
                        path,
                        size,
                        limit: GITHUB_SUMMARY_LIMIT,
                    });
                }
                append_existing(&path, text.as_bytes(), "$GITHUB_STEP_SUMMARY")?;
                Ok(Some(path))
            }
            Platform::GitlabCi => {
                let path = self
                    .options
                    .summary_file
                    .clone()
                    .ok_or(CiError::NoSummaryFile)?;
                append_creating(&path, text.as_bytes(), "the job summary")?;
                Ok(Some(path))
            }
            Platform::Local => match self.options.summary_file.clone() {
                Some(path) => {
                    append_creating(&path, text.as_bytes(), "the job summary")?;
                    Ok(Some(path))
                }
                None => Ok(None),
            },
        }
    }

    /// Show a finding: a GitHub annotation (`::error file=…::msg`), or a plain `error: file:line: msg` line on the
    /// message sink elsewhere. Message, title and file are redacted first.
    pub fn annotate(&self, annotation: &Annotation) -> Result<(), CiError> {
        let redacted = {
            let state = self.lock();
            let r = &state.redactor;
            Annotation {
                message: r.redact(&annotation.message).into_owned(),
                title: annotation
                    .title
                    .as_deref()
                    .map(|t| r.redact(t).into_owned()),
                file: annotation.file.as_deref().map(|f| r.redact(f).into_owned()),
                ..annotation.clone()
            }
        };
        match self.platform() {
            Platform::GithubActions => {
                self.write_line(Stream::Commands, &redacted.to_github_command())
            }
            Platform::GitlabCi | Platform::Local => {
                self.write_line(Stream::Messages, &redacted.to_plain_line())
            }
        }
    }

    /// A debug message: `::debug::` on GitHub (shown with debug logging on); nothing elsewhere.
    pub fn debug(&self, message: &str) -> Result<(), CiError> {
        if self.platform() == Platform::GithubActions {
            let line = github_command("debug", &[], &self.redact(message));
            self.write_line(Stream::Commands, &line)?;
        }
        Ok(())
    }

    /// Open a collapsible log group, closed when the returned guard drops (or by [`LogGroup::end`]).
    ///
    /// GitHub: `::group::title` … `::endgroup::`. GitLab: `section_start:<unix>:<name>[collapsed=true]` …
    /// `section_end`. Local: a `==> title` heading on the message sink.
    pub fn group(&self, title: &str) -> Result<LogGroup<'_>, CiError> {
        let title = self.redact(title);
        let end = match self.platform() {
            Platform::GithubActions => {
                self.write_line(Stream::Commands, &github_command("group", &[], &title))?;
                Some("::endgroup::".to_owned())
            }
            Platform::GitlabCi => {
                let name = {
                    let mut state = self.lock();
                    state.sections += 1;
                    gitlab_section_name(&title, state.sections)
                };
                let start = gitlab_section_start(&name, (self.clock)(), &title, true);
                self.write_line(Stream::Commands, &start)?;
                Some(name)
            }
            Platform::Local => {
                let heading = format!("==> {}", plain_text(&title).replace('\n', " "));
                self.write_line(Stream::Messages, &heading)?;
                None
            }
        };
        Ok(LogGroup { ci: self, end })
    }

    fn end_group(&self, end: &str) -> Result<(), CiError> {
        match self.platform() {
            Platform::GitlabCi => {
                self.write_line(Stream::Commands, &gitlab_section_end(end, (self.clock)()))
            }
            _ => self.write_line(Stream::Commands, end),
        }
    }

    /// Stop GitHub from interpreting workflow commands until the guard drops, so untrusted text (a tool's log)
    /// can be printed without being able to add masks, annotations or outputs. Uses an unpredictable token.
    /// While it lives, this `Ci`'s own commands are not interpreted either. No-op on GitLab and locally.
    pub fn stop_commands(&self) -> Result<StopCommands<'_>, CiError> {
        if self.platform() != Platform::GithubActions {
            return Ok(StopCommands {
                ci: self,
                token: None,
            });
        }
        let token = unpredictable_token();
        self.write_line(Stream::Commands, &format!("::stop-commands::{token}"))?;
        Ok(StopCommands {
            ci: self,
            token: Some(token),
        })
    }
}

impl fmt::Debug for Ci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ci")
            .field("context", &self.context)
            .field("tokens", &self.tokens)
            .field("options", &self.options)
            .field("github_output", &self.github_output)
            .field("github_step_summary", &self.github_step_summary)
            .finish_non_exhaustive()
    }
}

/// An open log group; it closes when dropped. Errors on close are reported by [`LogGroup::end`] (a drop can only
/// log them through `tracing`).
#[must_use = "the group closes when this guard is dropped"]
pub struct LogGroup<'a> {
    ci: &'a Ci,
    end: Option<String>,
}

impl LogGroup<'_> {
    /// Close the group now, reporting a write error.
    pub fn end(mut self) -> Result<(), CiError> {
        match self.end.take() {
            Some(end) => self.ci.end_group(&end),
            None => Ok(()),
        }
    }
}

impl Drop for LogGroup<'_> {
    fn drop(&mut self) {
        if let Some(end) = self.end.take()
            && let Err(error) = self.ci.end_group(&end)
        {
            tracing::warn!(%error, "could not close a log group");
        }
    }
}

impl fmt::Debug for LogGroup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogGroup")
            .field("open", &self.end.is_some())
            .finish()
    }
}

/// Workflow commands are stopped while this lives; dropping it resumes them.
#[must_use = "commands resume when this guard is dropped"]
pub struct StopCommands<'a> {
    ci: &'a Ci,
    token: Option<String>,
}

impl StopCommands<'_> {
    /// Resume workflow commands now, reporting a write error.
    pub fn resume(mut self) -> Result<(), CiError> {
        match self.token.take() {
            Some(token) => self
                .ci
                .write_line(Stream::Commands, &format!("::{token}::")),
            None => Ok(()),
        }
    }
}

impl Drop for StopCommands<'_> {
    fn drop(&mut self) {
        if let Some(token) = self.token.take()
            && let Err(error) = self
                .ci
                .write_line(Stream::Commands, &format!("::{token}::"))
        {
            tracing::warn!(%error, "could not resume workflow commands");
        }
    }
}

impl fmt::Debug for StopCommands<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopCommands")
            .field("active", &self.token.is_some())
            .finish()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// 128 bits an attacker printing into the log cannot predict: SipHash under the process's random `RandomState`
/// keys (seeded from the OS), over the time and the process id.
fn unpredictable_token() -> String {
    use std::hash::{BuildHasher, RandomState};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let a = RandomState::new().hash_one((nanos, std::process::id()));
    let b = RandomState::new().hash_one((a, nanos));
    format!("proofline-{a:016x}{b:016x}")
}

/// Append to a file the runner created (GitHub file commands): a missing file is an error, as in `@actions/core`.
fn append_existing(path: &Path, bytes: &[u8], what: &'static str) -> Result<(), CiError> {
    let error = |source| CiError::WriteFile {
        what,
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new().append(true).open(path).map_err(error)?;
    file.write_all(bytes).map_err(error)
}

/// Append to a file we own, creating it and its directory.
fn append_creating(path: &Path, bytes: &[u8], what: &'static str) -> Result<(), CiError> {
    let error = |source| CiError::WriteFile {
        what,
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(error)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(error)?;
    file.write_all(bytes).map_err(error)
}

fn read_if_exists(path: &Path, what: &'static str) -> Result<String, CiError> {
    match File::open(path) {
        Ok(mut file) => {
            let mut text = String::new();
            file.read_to_string(&mut text)
                .map_err(|source| CiError::WriteFile {
                    what,
                    path: path.to_owned(),
                    source,
                })?;
            Ok(text)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(CiError::WriteFile {
            what,
            path: path.to_owned(),
            source,
        }),
    }
}
