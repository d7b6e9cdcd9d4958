//! Where we run: GitHub Actions, GitLab CI or a local shell. The only crate that reads CI variables.
//!
//! - [`CiContext`]: repository, ref, commit (the PR head, not GitHub's merge commit), base, event, PR/MR, actor,
//!   run, API URL — read once through the [`Env`] trait, serializable, free of tokens.
//! - [`Ci`]: outputs (`$GITHUB_OUTPUT` / GitLab dotenv), job summary, annotations, log groups, masking, all
//!   redacted and written to injectable sinks.
//! - [`Secret`], [`Tokens`], [`Redactor`]: tokens are read only as secrets and never reach a log.

mod capture;
mod ci;
pub mod commands;
mod context;
mod env;
mod error;
pub mod file_commands;
mod platform;
mod secret;
mod tokens;

pub use capture::Capture;
pub use ci::{Ci, CiOptions, GITHUB_SUMMARY_LIMIT, LogGroup, StopCommands};
pub use commands::{Annotation, AnnotationLevel};
pub use context::{
    BaseCommit, BaseSource, ChangeRequest, CiContext, CommitSha, GitRef, RefKind, RunInfo,
};
pub use env::{Env, EnvFileError, MapEnv, ProcessEnv};
pub use error::CiError;
pub use file_commands::DotenvLimits;
pub use platform::{Forge, Platform};
pub use secret::{REDACTED, Redactor, Secret};
pub use tokens::{ForgeToken, ForgeTokenKind, IdTokenRequest, TOKEN_VARIABLES, Tokens};
