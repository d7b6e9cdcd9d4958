//! How every stage reaches and reads images: one documented set of flags (platform, registry
//! credentials, insecure hosts, the decompression-bomb guard), so `proofline image`, the stage
//! binaries and `proofline pipeline` take the same ones.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use proofline_oci::OpenOptions;
use proofline_oci::registry::{Credentials, RegistryOptions};

/// How to reach and read images (shared by every command that opens one).
#[derive(Debug, Clone, Args)]
pub struct ImageAccessArgs {
    /// Platform to pick from a multi-platform image index, as os/arch[/variant].
    #[arg(long, env = "PROOFLINE_PLATFORM", default_value = "linux/amd64")]
    pub platform: String,

    /// Registry host (host[:port]) that may be reached over plain HTTP. Loopback hosts
    /// always may; every other host needs TLS unless listed here. Repeatable or comma-separated.
    #[arg(long, env = "PROOFLINE_INSECURE_REGISTRY", value_delimiter = ',')]
    pub insecure_registry: Vec<String>,

    /// Registry user name (default: from ~/.docker/config.json or its credential helpers).
    #[arg(long, env = "PROOFLINE_REGISTRY_USERNAME")]
    pub registry_username: Option<String>,

    /// Registry password or token. Prefer the environment variable to the flag, so it stays
    /// out of shell history and process listings.
    #[arg(long, env = "PROOFLINE_REGISTRY_PASSWORD", hide_env_values = true)]
    pub registry_password: Option<String>,

    /// Docker client config to read credentials from (default: $DOCKER_CONFIG/config.json,
    /// else ~/.docker/config.json).
    #[arg(long, env = "PROOFLINE_DOCKER_CONFIG")]
    pub docker_config: Option<PathBuf>,

    /// Largest total of uncompressed layer bytes to read from one image: a guard against
    /// decompression bombs.
    #[arg(long, env = "PROOFLINE_MAX_UNCOMPRESSED_BYTES", default_value_t = 64 * 1024 * 1024 * 1024)]
    pub max_uncompressed_bytes: u64,
}

impl ImageAccessArgs {
    /// Resolves the image-access flags into the library's options.
    pub fn open_options(&self) -> anyhow::Result<OpenOptions> {
        let platform = self.platform.parse().with_context(|| {
            format!(
                "--platform `{}`: write os/arch[/variant], e.g. linux/amd64",
                self.platform
            )
        })?;
        let credentials = match (&self.registry_username, &self.registry_password) {
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
                insecure_registries: self
                    .insecure_registry
                    .iter()
                    .map(|h| h.trim().to_string())
                    .filter(|h| !h.is_empty())
                    .collect(),
                docker_config: self.docker_config.clone(),
                credentials,
                ..RegistryOptions::default()
            },
            max_uncompressed_bytes: self.max_uncompressed_bytes,
        })
    }
}
