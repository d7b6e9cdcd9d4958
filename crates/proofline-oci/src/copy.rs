//! Copying an image between any two stores: every manifest byte-for-byte (so digests are
//! preserved), every blob streamed and verified, blobs the destination has skipped.

use oci_spec::image::{ImageIndex, ImageManifest};
use serde::Serialize;

use crate::digest::Digest;
use crate::error::OciError;
use crate::image::media::{self, ManifestKind};
use crate::image::{OpenOptions, open_sink, open_source, sink_tag};
use crate::layout::descriptor_digest;
use crate::reference::ImageRef;
use crate::store::{ImageSink, ImageSource, RawManifest};

/// How deep indexes may nest before we call it hostile.
const MAX_DEPTH: usize = 4;

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyReport {
    /// The digest of the top-level manifest or index (the same at both ends).
    pub digest: Option<Digest>,
    pub media_type: String,
    /// Manifests and indexes written, the top-level one included.
    pub manifests: usize,
    pub blobs_copied: usize,
    /// Blobs the destination already had.
    pub blobs_skipped: usize,
    pub bytes_copied: u64,
}

/// Copies what `src` resolves to (an index with all its child manifests, whatever their
/// platform, or a single manifest) into `dst`, tagging it `tag` when given, then calls
/// [`ImageSink::finish`].
pub fn copy(
    src: &dyn ImageSource,
    dst: &dyn ImageSink,
    tag: Option<&str>,
) -> Result<CopyReport, OciError> {
    copy_with_mount(src, dst, tag, None)
}

/// [`copy`], passing `mount_from` (the source repository on the same registry) so a
/// registry destination can mount blobs instead of uploading them.
pub fn copy_with_mount(
    src: &dyn ImageSource,
    dst: &dyn ImageSink,
    tag: Option<&str>,
    mount_from: Option<&str>,
) -> Result<CopyReport, OciError> {
    let root = src.resolve()?;
    let mut report = CopyReport {
        digest: Some(root.digest.clone()),
        media_type: root.media_type.clone(),
        ..Default::default()
    };
    copy_children(src, dst, &root, mount_from, 0, &mut report)?;
    dst.put_manifest(&root, tag)?;
    report.manifests += 1;
    dst.finish()?;
    Ok(report)
}

/// Copies what `m` refers to (not `m` itself): blobs of a manifest, children of an index.
fn copy_children(
    src: &dyn ImageSource,
    dst: &dyn ImageSink,
    m: &RawManifest,
    mount_from: Option<&str>,
    depth: usize,
    report: &mut CopyReport,
) -> Result<(), OciError> {
    let what = format!("manifest {} of {}", m.digest, src.describe());
    if depth >= MAX_DEPTH {
        return Err(OciError::Malformed {
            what,
            reason: format!("indexes nest more than {MAX_DEPTH} deep"),
        });
    }
    let malformed = |e: serde_json::Error| OciError::Malformed {
        what: what.clone(),
        reason: e.to_string(),
    };
    match media::detect(Some(&m.media_type), &m.bytes, &what)?.0 {
        ManifestKind::Manifest => {
            let manifest: ImageManifest = serde_json::from_slice(&m.bytes).map_err(malformed)?;
            for desc in std::iter::once(manifest.config()).chain(manifest.layers().iter()) {
                descriptor_digest(desc)?;
                if dst.has_blob(desc)? {
                    report.blobs_skipped += 1;
                    continue;
                }
                let mut reader = src.open_blob(desc)?;
                dst.put_blob(desc, &mut reader, mount_from)?;
                report.blobs_copied += 1;
                report.bytes_copied += desc.size();
            }
        }
        ManifestKind::Index => {
            let index: ImageIndex = serde_json::from_slice(&m.bytes).map_err(malformed)?;
            for child in index.manifests() {
                let digest = descriptor_digest(child)?;
                let mut raw = src.fetch_manifest(&digest)?;
                // The document's own `mediaType` wins; the descriptor fills in when it has none.
                let child_what = format!("manifest {digest} of {}", src.describe());
                raw.media_type =
                    media::detect(Some(child.media_type().as_ref()), &raw.bytes, &child_what)?.1;
                copy_children(src, dst, &raw, mount_from, depth + 1, report)?;
                dst.put_child_manifest(&raw)?;
                report.manifests += 1;
            }
        }
    }
    Ok(())
}

/// Opens both references and copies. The destination's tag comes from its reference
/// (`oci:PATH:TAG`, `host/repo:TAG`); between repositories of one registry, blobs are
/// offered for a cross-repository mount.
pub fn copy_image(
    src: &ImageRef,
    dst: &ImageRef,
    opts: &OpenOptions,
) -> Result<CopyReport, OciError> {
    let source = open_source(src, opts)?;
    let sink = open_sink(dst, opts)?;
    let mount_from = match (src, dst) {
        (ImageRef::Registry(s), ImageRef::Registry(d))
            if s.registry == d.registry && s.repository != d.repository =>
        {
            Some(s.repository.as_str())
        }
        _ => None,
    };
    let tag = sink_tag(dst);
    copy_with_mount(source.as_ref(), sink.as_ref(), tag.as_deref(), mount_from)
}
