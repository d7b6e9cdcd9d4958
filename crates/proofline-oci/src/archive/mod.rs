//! `docker save` tarballs, read in place and written atomically. Two flavours exist:
//! Docker ≥ 25 writes an OCI layout inside the tar (`oci-layout`, `index.json`, `blobs/`,
//! plus a `manifest.json` for older loaders), read as a layout so every digest is
//! preserved; older Docker writes only `manifest.json` with uncompressed layers, for which
//! a manifest is synthesised (see [`legacy`]).

mod legacy;
mod members;
mod sink;

use std::io::Read;
use std::path::Path;

use oci_spec::image::Descriptor;

use crate::digest::{Digest, VerifyError, VerifyingReader};
use crate::error::OciError;
use crate::layout::{LayoutReader, descriptor_digest};
use crate::store::{ImageSource, RawManifest};
use legacy::LegacyImage;
use members::TarMembers;
pub use sink::DockerArchiveSink;

/// Which `docker save` format an archive uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveFlavour {
    /// An OCI image layout inside the tar (Docker ≥ 25, `skopeo copy oci-archive:`).
    Oci,
    /// `manifest.json` only (Docker < 25, `skopeo copy docker-archive:`).
    Legacy,
}

// One per opened archive: the size difference costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Oci(LayoutReader<TarMembers>),
    Legacy {
        members: TarMembers,
        image: LegacyImage,
    },
}

/// A `docker save` tarball, read without extracting it: its members are indexed once and
/// read by seeking in the file.
pub struct DockerArchive {
    inner: Inner,
    name: String,
}

impl std::fmt::Debug for DockerArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerArchive")
            .field("name", &self.name)
            .field("flavour", &self.flavour())
            .finish()
    }
}

impl DockerArchive {
    /// Opens the archive at `path` and detects its flavour (a tar holding `oci-layout` and
    /// `index.json` is read as a layout, else `manifest.json` is required). An archive
    /// holding several images is refused with their names.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OciError> {
        let path = path.as_ref();
        let name = format!("docker-archive:{}", path.display());
        let members = TarMembers::index(path, name.clone())?;
        let inner = if members.contains("oci-layout") && members.contains("index.json") {
            Inner::Oci(LayoutReader::new(members, None)?)
        } else if members.contains("manifest.json") {
            let image = LegacyImage::read(&members)?;
            Inner::Legacy { members, image }
        } else {
            return Err(OciError::Malformed {
                what: name,
                reason: "neither an OCI layout (oci-layout, index.json) nor a docker save manifest.json is inside"
                    .into(),
            });
        };
        Ok(Self { inner, name })
    }

    pub fn flavour(&self) -> ArchiveFlavour {
        match self.inner {
            Inner::Oci(_) => ArchiveFlavour::Oci,
            Inner::Legacy { .. } => ArchiveFlavour::Legacy,
        }
    }

    /// The image's names: `RepoTags` of a legacy archive, the `ref.name` tags of an OCI one.
    pub fn repo_tags(&self) -> Vec<String> {
        match &self.inner {
            Inner::Oci(l) => l.tags(),
            Inner::Legacy { image, .. } => image.repo_tags.clone(),
        }
    }
}

impl ImageSource for DockerArchive {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn resolve(&self) -> Result<RawManifest, OciError> {
        match &self.inner {
            Inner::Oci(l) => l.resolve(),
            Inner::Legacy { image, .. } => Ok(image.manifest.clone()),
        }
    }

    fn fetch_manifest(&self, digest: &Digest) -> Result<RawManifest, OciError> {
        match &self.inner {
            Inner::Oci(l) => l.fetch_manifest(digest),
            Inner::Legacy { image, .. } if &image.manifest.digest == digest => {
                Ok(image.manifest.clone())
            }
            Inner::Legacy { .. } => Err(OciError::NotFound {
                what: format!("manifest {digest}"),
                store: self.name.clone(),
            }),
        }
    }

    fn open_blob(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>, OciError> {
        match &self.inner {
            Inner::Oci(l) => l.open_blob(desc),
            Inner::Legacy { members, image } => {
                let digest = descriptor_digest(desc)?;
                let not_found = || OciError::NotFound {
                    what: format!("blob {digest}"),
                    store: self.name.clone(),
                };
                let member = image.blobs.get(&digest).ok_or_else(not_found)?;
                let (reader, size) = members.open(member)?.ok_or_else(not_found)?;
                let what = format!("blob {digest} (`{member}`) in {}", self.name);
                if size != desc.size() {
                    return Err(VerifyError::SizeMismatch {
                        what,
                        expected: desc.size(),
                        actual: size,
                    }
                    .into());
                }
                Ok(Box::new(VerifyingReader::new(
                    reader,
                    what,
                    digest,
                    Some(desc.size()),
                )))
            }
        }
    }
}
