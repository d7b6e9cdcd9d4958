//! Dispatch of each command to the library that does the work.

mod evidence;
mod image;
mod pipeline;
mod source;

use proofline_oci::OpenOptions;

use crate::Outcome;
use crate::cli::{Command, EvidenceCommand, ImageAccessArgs, ImageCommand};

pub(crate) fn dispatch(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Image(ImageCommand::Inspect(args)) => image::inspect(&args),
        Command::Image(ImageCommand::Ls(args)) => image::ls(&args),
        Command::Image(ImageCommand::Copy(args)) => image::copy(&args),
        Command::Evidence(EvidenceCommand::Verify(args)) => evidence::verify(&args),
        Command::Source(args) => source::run(&args),
        Command::Sbom(command_line) => proofline_sbom::run_command_line(&command_line),
        Command::Scan(command_line) => proofline_scan::run_command_line(&command_line),
        Command::Sign(command_line) => proofline_sign::run_command_line(&command_line),
        Command::Verify(args) => proofline_verify::run(&args),
        Command::Pipeline(args) => pipeline::run(&args),
    }
}

/// Resolves the image-access flags into the library's options.
pub(crate) fn open_options(access: &ImageAccessArgs) -> anyhow::Result<OpenOptions> {
    access.open_options()
}
