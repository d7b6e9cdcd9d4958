//! Registries through the OCI distribution API: manifests and blobs verified by digest, pushes
//! (monolithic, chunked, cross-repository mount), referrers (the API or the `sha256-<hex>` tag
//! fallback), and authentication (Basic, bearer tokens, Docker config and credential helpers).
//!
//! The store traits are synchronous, so each [`Repository`] owns a small tokio runtime and
//! bridges blob bodies to `std::io::Read` through a bounded channel: memory stays flat whatever
//! the blob size. Do not call it from inside an async task (use `spawn_blocking`).

mod auth;
mod blobs;
mod credentials;
mod manifests;
mod referrers;
mod stream;
mod transport;

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use oci_spec::image::Descriptor;
use reqwest::header::HeaderValue;
use reqwest::{Response, StatusCode};
use url::Url;

pub use credentials::{Credentials, Secret};
pub use referrers::fallback_tag;
pub use transport::plain_http_allowed;

use crate::digest::Digest;
use crate::error::OciError;
use crate::reference::RegistryRef;
use crate::store::{ImageSink, ImageSource, RawManifest};
use auth::{Auth, Scope};
use transport::{Request, Transport};

/// How to reach registries: TLS policy, credentials, timeouts, retries and upload sizes.
/// `Debug` never shows secrets.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Hosts (`host[:port]`) that may be reached over plain HTTP besides loopback.
    pub insecure_registries: Vec<String>,
    /// `~/.docker/config.json` override (else `$DOCKER_CONFIG/config.json`, else the home default).
    pub docker_config: Option<PathBuf>,
    /// Explicit credentials (the CLI's `PROOFLINE_REGISTRY_USERNAME`/`PROOFLINE_REGISTRY_PASSWORD`),
    /// tried before the Docker config.
    pub credentials: Option<Credentials>,
    /// When set, the explicit credentials go to this registry only (`host[:port]`); otherwise to
    /// every registry the operation touches.
    pub credentials_registry: Option<String>,
    /// Directories searched for `docker-credential-<name>` before `PATH`.
    pub credential_helper_dirs: Vec<PathBuf>,
    /// How long a credential helper may take.
    pub credential_helper_timeout: Duration,
    /// Limit for each request, and for each wait for data while a blob streams.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after 408/429/5xx answers or connection failures (with backoff, honouring `Retry-After`).
    pub max_retries: u32,
    /// Longest `Retry-After` we wait for; a longer one fails at once with the registry's answer.
    pub max_retry_wait: Duration,
    /// Blobs up to this size are pushed in one `PUT`; larger ones in chunks of `chunk_size`.
    pub monolithic_limit: u64,
    /// Size of each `PATCH` of a chunked upload (also the memory an upload holds).
    pub chunk_size: u64,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            docker_config: None,
            credentials: None,
            credentials_registry: None,
            credential_helper_dirs: Vec::new(),
            credential_helper_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 4,
            max_retry_wait: Duration::from_secs(60),
            monolithic_limit: 8 * 1024 * 1024,
            chunk_size: 8 * 1024 * 1024,
        }
    }
}

pub(crate) type Settings = RegistryOptions;

/// Opens a registry repository for reading.
pub fn open_source(
    r: &RegistryRef,
    opts: &RegistryOptions,
) -> Result<Box<dyn ImageSource>, OciError> {
    Ok(Box::new(Repository::open(r, opts)?))
}

/// Opens a registry repository for writing.
pub fn open_sink(r: &RegistryRef, opts: &RegistryOptions) -> Result<Box<dyn ImageSink>, OciError> {
    Ok(Box::new(Repository::open(r, opts)?))
}

/// One repository on one registry: an [`ImageSource`], an [`ImageSink`], and referrers.
#[derive(Debug)]
pub struct Repository {
    runtime: tokio::runtime::Runtime,
    transport: Transport,
    auth: Auth,
    reference: RegistryRef,
}

impl Repository {
    /// Prepares the client; nothing is sent until the first operation. The registry is reached
    /// over HTTPS, or plain HTTP when [`plain_http_allowed`]; any other URL the registry sends
    /// us to (token realm, redirect, upload location) over plain HTTP fails with
    /// [`OciError::InsecureRefused`] before anything is sent to it.
    pub fn open(r: &RegistryRef, opts: &RegistryOptions) -> Result<Self, OciError> {
        if opts.chunk_size == 0 {
            return Err(OciError::Registry {
                registry: r.registry.clone(),
                message: "the upload chunk size must be at least one byte".into(),
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("proofline-registry")
            .enable_all()
            .build()
            .map_err(|e| {
                OciError::io(format!("starting the HTTP runtime for {}", r.registry), e)
            })?;
        let transport = Transport::new(&r.registry, opts.clone())?;
        Ok(Self {
            runtime,
            transport,
            auth: Auth::new(),
            reference: r.clone(),
        })
    }

    /// The reference this repository was opened with.
    pub fn reference(&self) -> &RegistryRef {
        &self.reference
    }

    /// `registry/repository`, for messages.
    pub fn name(&self) -> String {
        format!("{}/{}", self.reference.registry, self.reference.repository)
    }

    /// The manifest or index at a tag or digest (`reference`), verified.
    pub fn fetch_manifest_ref(&self, reference: &str) -> Result<RawManifest, OciError> {
        let expected = reference.parse::<Digest>().ok();
        self.runtime
            .block_on(self.get_manifest(reference, expected.as_ref()))
    }

    /// The descriptor of the manifest at a tag or digest (a `HEAD`), or `None` when there is none.
    pub fn manifest_descriptor(&self, reference: &str) -> Result<Option<Descriptor>, OciError> {
        self.runtime.block_on(self.head_manifest(reference))
    }

    /// Whether a blob exists in the repository (a `HEAD`).
    pub fn blob_exists(&self, digest: &Digest) -> Result<bool, OciError> {
        self.runtime
            .block_on(self.head_blob(digest, &Scope::pull(&self.reference.repository)))
    }

    /// Descriptors of the manifests whose `subject` is `subject`, optionally only of one
    /// artifact type: through the referrers API, or the `sha256-<hex>` tag where there is none.
    pub fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, OciError> {
        self.runtime
            .block_on(self.list_referrers(subject, artifact_type))
    }

    /// Pushes `artifact` (a manifest whose `subject` is `subject`; its blobs pushed before) and,
    /// when the registry does not index referrers itself (no `OCI-Subject` answer), adds it to
    /// the fallback index tagged `sha256-<hex>`. Returns the artifact's descriptor.
    pub fn attach(
        &self,
        subject: &Descriptor,
        artifact: &RawManifest,
    ) -> Result<Descriptor, OciError> {
        self.runtime
            .block_on(self.attach_artifact(subject, artifact))
    }

    /// `/v2/<repository>/<tail>` on the registry.
    fn api(&self, tail: &str) -> Result<Url, OciError> {
        self.transport
            .url(&format!("/v2/{}/{tail}", self.reference.repository))
    }

    /// Sends `req` with what we hold for `scope`, answering one `401` challenge.
    async fn send(&self, req: Request, scope: &Scope) -> Result<Response, OciError> {
        let held = self.auth.header_for(scope);
        let resp = self.transport.execute(&req, held.as_ref()).await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let header: HeaderValue = self
            .auth
            .authenticate(&self.transport, &resp, scope)
            .await?;
        let resp = self.transport.execute(&req, Some(&header)).await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            let source = self.auth.source().map_or_else(
                || "no credentials (anonymous)".to_string(),
                |s| format!("credentials from {s}"),
            );
            let err = self.transport.status_error(&req, resp, None).await;
            return Err(match err {
                OciError::Auth { registry, message } => OciError::Auth {
                    registry,
                    message: format!("{message}; we sent {source}"),
                },
                other => other,
            });
        }
        Ok(resp)
    }
}

impl ImageSource for Repository {
    fn describe(&self) -> String {
        self.name()
    }

    fn resolve(&self) -> Result<RawManifest, OciError> {
        let reference = self.reference.reference();
        self.runtime
            .block_on(self.get_manifest(&reference, self.reference.digest.as_ref()))
    }

    fn fetch_manifest(&self, digest: &Digest) -> Result<RawManifest, OciError> {
        self.runtime
            .block_on(self.get_manifest(&digest.to_string(), Some(digest)))
    }

    fn open_blob(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>, OciError> {
        self.runtime.block_on(self.get_blob(desc))
    }
}

impl ImageSink for Repository {
    fn describe(&self) -> String {
        self.name()
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool, OciError> {
        let digest = descriptor_digest(desc)?;
        self.runtime
            .block_on(self.head_blob(&digest, &Scope::push(&self.reference.repository)))
    }

    fn put_blob(
        &self,
        desc: &Descriptor,
        reader: &mut dyn Read,
        source_repository: Option<&str>,
    ) -> Result<(), OciError> {
        self.upload_blob(desc, reader, source_repository)
    }

    fn put_manifest(&self, manifest: &RawManifest, tag: Option<&str>) -> Result<(), OciError> {
        self.runtime.block_on(async {
            self.put_manifest_at(manifest, &manifest.digest.to_string())
                .await?;
            if let Some(tag) = tag {
                self.put_manifest_at(manifest, tag).await?;
            }
            Ok(())
        })
    }
}

/// Our [`Digest`] of a descriptor (only sha256 is accepted).
pub(crate) fn descriptor_digest(desc: &Descriptor) -> Result<Digest, OciError> {
    Ok(desc.digest().to_string().parse::<Digest>()?)
}
