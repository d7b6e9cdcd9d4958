//! Dispatch of each command to the library that does the work.

mod evidence;
mod image;
mod pipeline;
mod source;

use anyhow::{Context, bail};
use proofline_oci::OpenOptions;
use proofline_oci::registry::{Credentials, RegistryOptions};

use crate::Outcome;
use crate::cli::{Command, EvidenceCommand, ImageAccessArgs, ImageCommand};

pub(crate) fn dispatch(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Image(ImageCommand::Inspect(args)) => image::inspect(&args),
        Command::Image(ImageCommand::Ls(args)) => image::ls(&args),
        Command::Image(ImageCommand::Copy(args)) => image::copy(&args),
        Command::Evidence(EvidenceCommand::Verify(args)) => evidence::verify(&args),
        Command::Source(args) => source::run(&args),
        Command::Pipeline(args) => pipeline::run(&args),
    }
}

/// Resolves the image-access flags into the library's options.
pub(crate) fn open_options(access: &ImageAccessArgs) -> anyhow::Result<OpenOptions> {
    let platform = access.platform.parse().with_context(|| {
        format!(
            "--platform `{}`: write os/arch[/variant], e.g. linux/amd64",
            access.platform
        )
    })?;
    let credentials = match (&access.registry_username, &access.registry_password) {
        (Some(user), Some(password)) => Some(Credentials::basic(user, password)),
        (None, None) => None,
        (Some(_), None) => bail!(
            "PROOFLINE_REGISTRY_USERNAME is set but PROOFLINE_REGISTRY_PASSWORD is not: set both, or neither to use ~/.docker/config.json"
        ),
        (None, Some(_)) => bail!(
            "PROOFLINE_REGISTRY_PASSWORD is set but PROOFLINE_REGISTRY_USERNAME is not: set both, or neither to use ~/.docker/config.json"
        ),
    };
    Ok(OpenOptions {
        platform,
        registry: RegistryOptions {
            insecure_registries: access
                .insecure_registry
                .iter()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .collect(),
            docker_config: access.docker_config.clone(),
            credentials,
            ..RegistryOptions::default()
        },
        max_uncompressed_bytes: access.max_uncompressed_bytes,
    })
}
