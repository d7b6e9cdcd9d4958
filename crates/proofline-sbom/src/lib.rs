//! The SBOM stage: every package in an image, read from the merged filesystem by one walk,
//! into one inventory that every output format is written from.

pub mod args;
pub mod catalog;
pub mod convert;
pub mod cyclonedx;
pub mod model;
pub mod spdx23;
pub mod spdx3;
pub mod stage;
pub mod tree;

mod convert_cli;
pub mod verify;

pub use args::{SbomArgs, SbomCommand, SbomCommandLine, SbomSettings};
pub use catalog::{CatalogError, catalog_image};
pub use model::{Ecosystem, FileDigest, Inventory, OwnedFile, Package};

/// Runs what the command line asks: the stage, or `convert`.
pub fn run_command_line(
    command_line: &SbomCommandLine,
) -> anyhow::Result<proofline_stagekit::Outcome> {
    match &command_line.command {
        Some(SbomCommand::Convert(args)) => convert_cli::run(args),
        None => {
            let ci = proofline_stagekit::StageCi::detect(&command_line.args.evidence_dir)?;
            stage::run(&command_line.args, &ci)
        }
    }
}
