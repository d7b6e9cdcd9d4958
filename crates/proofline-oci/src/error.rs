//! Errors of the OCI layer: small, specific, and each naming the thing and the fix.

use std::io;

use crate::digest::{DigestParseError, VerifyError};

/// Everything that can stop us reading or writing an image. Warnings about hostile
/// layer entries that we skip are not errors: see `fs::Warning`.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("invalid image reference `{reference}`: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error(transparent)]
    Digest(#[from] DigestParseError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("{what} is not valid: {reason}")]
    Malformed { what: String, reason: String },
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge { what: String, limit: u64 },
    #[error("{what} was not found in {store}")]
    NotFound { what: String, store: String },
    #[error(
        "no manifest for platform {wanted} in {store}; available: {available}. Pass --platform with one of them"
    )]
    PlatformNotFound {
        wanted: String,
        store: String,
        available: String,
    },
    #[error("unsupported media type `{media_type}` for {what}")]
    UnsupportedMediaType { what: String, media_type: String },
    #[error("registry {registry}: {message}")]
    Registry { registry: String, message: String },
    #[error("authentication to {registry} failed: {message}")]
    Auth { registry: String, message: String },
    #[error(
        "refusing plain HTTP to {host}: only loopback hosts may be reached without TLS; pass --insecure-registry {host} if you really mean it"
    )]
    InsecureRefused { host: String },
    #[error("layer {layer} of {image}: {message}")]
    Layer {
        image: String,
        layer: String,
        message: String,
    },
    #[error(
        "layer {layer} of {image} decompresses past the limit of {limit} uncompressed bytes for the whole image (a decompression bomb, or a very large image: raise max-uncompressed-bytes if you trust it)"
    )]
    DecompressionLimit {
        image: String,
        layer: String,
        limit: u64,
    },
    #[error(
        "{store} holds several images ({choices}); pick one by tag or digest (oci:PATH:TAG or oci:PATH@sha256:DIGEST)"
    )]
    Ambiguous { store: String, choices: String },
    #[error("tag `{tag}` was not found in {store}; available: {available}")]
    TagNotFound {
        tag: String,
        store: String,
        available: String,
    },
    #[error("refusing {path}: {reason}")]
    UnsafePath { path: String, reason: String },
}

impl OciError {
    /// An I/O error with the context of what we were doing. A [`VerifyError`] raised by a
    /// verifying reader stays a `VerifyError`, so callers can match on it.
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        match source.downcast::<VerifyError>() {
            Ok(v) => OciError::Verify(v),
            Err(source) => OciError::Io {
                what: what.into(),
                source,
            },
        }
    }
}
