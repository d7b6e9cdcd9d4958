//! Registries through the OCI distribution API (placeholder until the registry client lands).

use std::path::PathBuf;

use crate::error::OciError;
use crate::reference::RegistryRef;
use crate::store::{ImageSink, ImageSource};

/// How to reach registries: TLS policy and credentials.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Hosts (`host[:port]`) that may be reached over plain HTTP besides loopback.
    pub insecure_registries: Vec<String>,
    /// `~/.docker/config.json` override (else `$DOCKER_CONFIG/config.json`, else the home default).
    pub docker_config: Option<PathBuf>,
}

/// Opens a registry repository for reading.
pub fn open_source(r: &RegistryRef, _opts: &RegistryOptions) -> Result<Box<dyn ImageSource>, OciError> {
    Err(OciError::Registry { registry: r.registry.clone(), message: "registry support is not built yet".into() })
}

/// Opens a registry repository for writing.
pub fn open_sink(r: &RegistryRef, _opts: &RegistryOptions) -> Result<Box<dyn ImageSink>, OciError> {
    Err(OciError::Registry { registry: r.registry.clone(), message: "registry support is not built yet".into() })
}
