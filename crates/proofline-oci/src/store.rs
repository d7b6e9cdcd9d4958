//! The one read/write interface every image store implements (OCI layout, docker-archive,
//! registry), so the code that inspects, lists or copies an image never cares where it lives.

use std::io::Read;

use oci_spec::image::Descriptor;

use crate::digest::{Digest, VerifyError};
use crate::error::OciError;

/// Largest manifest or index we accept (the distribution spec's recommended 4 MiB limit).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// A manifest or index exactly as stored: the bytes are what the digest covers, so they
/// are never re-serialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawManifest {
    /// `application/vnd.oci.image.manifest.v1+json`, `...index.v1+json`, or the Docker v2 equivalents.
    pub media_type: String,
    /// SHA-256 of `bytes`, already verified against what the store promised.
    pub digest: Digest,
    pub bytes: Vec<u8>,
}

impl RawManifest {
    /// Checks that the bytes hash to `digest` (before a sink stores them under that name).
    pub fn verify(&self, what: impl Into<String>) -> Result<(), VerifyError> {
        let actual = Digest::of(&self.bytes);
        if actual != self.digest {
            return Err(VerifyError::DigestMismatch {
                what: what.into(),
                expected: self.digest.clone(),
                actual,
            });
        }
        Ok(())
    }
}

/// A readable image store, bound to one repository / layout / archive.
pub trait ImageSource: Send + Sync {
    /// Human-readable name of the store, used in errors (`oci:./img`, `127.0.0.1:5000/app`).
    fn describe(&self) -> String;

    /// The manifest or index the reference points at (its tag or digest; for a
    /// docker-archive, the single image it holds).
    fn resolve(&self) -> Result<RawManifest, OciError>;

    /// A manifest or index by digest (children of an index). The bytes are verified.
    fn fetch_manifest(&self, digest: &Digest) -> Result<RawManifest, OciError>;

    /// Streams a blob (config or layer). The reader verifies digest and size as it reaches
    /// EOF (see [`crate::digest::VerifyingReader`]): a consumer must read to EOF to know the
    /// blob was intact.
    fn open_blob(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>, OciError>;

    /// Reads a small blob (a config) whole, bounded by `MAX_MANIFEST_BYTES`, verified.
    fn read_small_blob(&self, desc: &Descriptor) -> Result<Vec<u8>, OciError> {
        let size = desc.size();
        if size > MAX_MANIFEST_BYTES {
            return Err(OciError::TooLarge {
                what: format!("blob {} in {}", desc.digest(), self.describe()),
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        self.open_blob(desc)?
            .take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| {
                OciError::io(
                    format!("reading blob {} from {}", desc.digest(), self.describe()),
                    e,
                )
            })?;
        Ok(out)
    }
}

/// A writable image store.
pub trait ImageSink: Send + Sync {
    fn describe(&self) -> String;

    /// Whether the store already holds the blob (so a copy can skip it).
    fn has_blob(&self, desc: &Descriptor) -> Result<bool, OciError>;

    /// Stores a blob, verifying digest and size while it streams; nothing partial is left
    /// behind on failure. `source_repository` lets a registry try a cross-repository mount
    /// when source and destination are on the same registry.
    fn put_blob(
        &self,
        desc: &Descriptor,
        reader: &mut dyn Read,
        source_repository: Option<&str>,
    ) -> Result<(), OciError>;

    /// Stores a manifest or index by digest, and under `tag` when one is given.
    fn put_manifest(&self, manifest: &RawManifest, tag: Option<&str>) -> Result<(), OciError>;

    /// Stores a manifest that an index being copied refers to: by digest only, never as a
    /// top-level image of its own (an OCI layout does not list it in `index.json`).
    /// Defaults to `put_manifest(manifest, None)`, which is right for registries.
    fn put_child_manifest(&self, manifest: &RawManifest) -> Result<(), OciError> {
        self.put_manifest(manifest, None)
    }

    /// Completes the write once the top-level manifest is stored (an archive is renamed into
    /// place here; before that nothing exists at the destination). Defaults to nothing.
    fn finish(&self) -> Result<(), OciError> {
        Ok(())
    }
}
