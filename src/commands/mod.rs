//! Dispatch of each command to the library that does the work.

use crate::Outcome;
use crate::cli::Command;

pub(crate) fn dispatch(command: Command) -> anyhow::Result<Outcome> {
    anyhow::bail!("command {command:?} is being wired")
}
