//! The walk itself: one pass over the layers, top to bottom, with per-path bookkeeping
//! (seen paths, whiteouts, opaque directories) as the only state that grows.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::ops::ControlFlow;

use oci_spec::image::Descriptor;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::path::{
    Escapes, join, link_escapes_root, normalize_entry_name, parent, resolve_in_root,
};
use super::{Entry, EntryType, SNIFF_BYTES, WalkOptions, Warning, WarningCode};
use crate::error::OciError;
use crate::layer::{Budget, LayerErrors, LayerReader};
use crate::store::ImageSource;

/// Warnings kept in memory; beyond this they are only counted (memory stays flat even
/// for a layer made of nothing but hostile entries).
const MAX_WARNINGS: usize = 10_000;

/// Read size for file contents.
const CONTENT_BUFFER: usize = 256 * 1024;

/// Buffer between the decompressor and the tar reader.
const DECODED_BUFFER: usize = 128 * 1024;

const OPAQUE: &str = ".wh..wh..opq";
const WHITEOUT_PREFIX: &str = ".wh.";

/// Counters of one walk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WalkStats {
    /// Layers read to their end (and so verified).
    pub layers: usize,
    /// Tar entries read, hidden and skipped ones included.
    pub tar_entries: u64,
    /// Entries yielded.
    pub entries: u64,
    /// Uncompressed bytes read, all layers together.
    pub uncompressed_bytes: u64,
    /// Whether the consumer stopped the walk early (the unread rest is then unverified).
    pub stopped_early: bool,
}

/// The outcome of [`Walker::run`] bundled with its warnings.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WalkReport {
    pub stats: WalkStats,
    pub warnings: Vec<Warning>,
    /// Warnings beyond the in-memory cap, counted but not kept.
    pub warnings_dropped: u64,
}

#[derive(Clone, Copy)]
struct Seen {
    layer: usize,
    dir: bool,
}

/// Per-path state carried from higher layers to lower ones. Layer indices are the
/// manifest's (0 = base); something recorded at layer `l` affects only layers `< l`.
#[derive(Default)]
struct Merge {
    seen: HashMap<Box<str>, Seen>,
    whiteouts: HashMap<Box<str>, usize>,
    opaque: HashMap<Box<str>, usize>,
}

enum Visibility {
    Visible,
    Hidden,
    Duplicate,
    UnderNonDirectory,
}

impl Merge {
    fn visibility(&self, path: &str, layer: usize) -> Visibility {
        if let Some(s) = self.seen.get(path) {
            return if s.layer == layer {
                Visibility::Duplicate
            } else {
                Visibility::Hidden
            };
        }
        if self.whiteouts.get(path).is_some_and(|&l| l > layer) {
            return Visibility::Hidden;
        }
        if self.opaque.get("/").is_some_and(|&l| l > layer) {
            return Visibility::Hidden;
        }
        // Strict ancestors: `/a` and `/a/b` for `/a/b/c`.
        for (i, _) in path.match_indices('/').skip(1) {
            let ancestor = &path[..i];
            if !self.whiteouts.is_empty()
                && self.whiteouts.get(ancestor).is_some_and(|&l| l > layer)
            {
                return Visibility::Hidden;
            }
            if !self.opaque.is_empty() && self.opaque.get(ancestor).is_some_and(|&l| l > layer) {
                return Visibility::Hidden;
            }
            if let Some(s) = self.seen.get(ancestor)
                && !s.dir
            {
                return if s.layer > layer {
                    Visibility::Hidden
                } else {
                    Visibility::UnderNonDirectory
                };
            }
        }
        Visibility::Visible
    }
}

/// Walks the merged filesystem of `layers` (base first, as in the manifest). See the
/// module documentation for the order and the handling of hostile entries.
pub struct Walker<'a> {
    source: &'a dyn ImageSource,
    image: String,
    layers: Vec<Descriptor>,
    opts: &'a WalkOptions,
    max_uncompressed_bytes: u64,
    warnings: Vec<Warning>,
    warnings_dropped: u64,
}

impl std::fmt::Debug for Walker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walker")
            .field("image", &self.image)
            .field("layers", &self.layers.len())
            .field("opts", self.opts)
            .field("warnings", &self.warnings.len())
            .finish()
    }
}

/// The state of the layer being read.
struct LayerCtx<'l> {
    index: usize,
    digest: String,
    errors: &'l LayerErrors,
}

impl<'a> Walker<'a> {
    /// `image` names the image in errors; `max_uncompressed_bytes` bounds all layers together.
    pub fn new(
        source: &'a dyn ImageSource,
        image: impl Into<String>,
        layers: Vec<Descriptor>,
        opts: &'a WalkOptions,
        max_uncompressed_bytes: u64,
    ) -> Self {
        Self {
            source,
            image: image.into(),
            layers,
            opts,
            max_uncompressed_bytes,
            warnings: Vec::new(),
            warnings_dropped: 0,
        }
    }

    /// Warnings of the last run (capped; see [`Walker::warnings_dropped`]).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Warnings that were counted but not kept.
    pub fn warnings_dropped(&self) -> u64 {
        self.warnings_dropped
    }

    /// Hands every visible entry to `visit`, which may stop the walk with
    /// `ControlFlow::Break(())`. Entries are yielded while a layer streams, so a layer whose
    /// digest turns out wrong at its end has already yielded entries: treat the whole
    /// output as invalid when this returns an error.
    pub fn run(
        &mut self,
        mut visit: impl FnMut(Entry) -> ControlFlow<()>,
    ) -> Result<WalkStats, OciError> {
        self.warnings.clear();
        self.warnings_dropped = 0;
        let budget = Budget::new(self.max_uncompressed_bytes);
        let mut merge = Merge::default();
        let mut stats = WalkStats::default();
        let mut buf = vec![0u8; CONTENT_BUFFER];
        let source = self.source;
        for index in (0..self.layers.len()).rev() {
            let desc = self.layers[index].clone();
            let digest = desc.digest().to_string();
            let label = format!("{} ({digest})", index + 1);
            let reader = LayerReader::open(source, &desc, label, self.image.clone(), &budget)?;
            if let Some(declared) = reader.declared()
                && declared != reader.compression()
            {
                self.warn(
                    WarningCode::MediaTypeMismatch,
                    &digest,
                    None,
                    format!(
                        "media type {} says {declared} but the content is {}; read as {}",
                        desc.media_type(),
                        reader.compression(),
                        reader.compression()
                    ),
                );
            }
            let errors = reader.errors().clone();
            let ctx = LayerCtx {
                index,
                digest,
                errors: &errors,
            };
            // Inflate into a large buffer: tar reads headers and small files a few hundred
            // bytes at a time, and inflating into so little room runs the slow path.
            let mut archive =
                tar::Archive::new(std::io::BufReader::with_capacity(DECODED_BUFFER, reader));
            let flow = self.walk_layer(
                &mut archive,
                &ctx,
                &mut merge,
                &mut stats,
                &mut buf,
                &mut visit,
            )?;
            stats.uncompressed_bytes = budget.used();
            if flow.is_break() {
                stats.stopped_early = true;
                return Ok(stats);
            }
            archive.into_inner().into_inner().finish()?;
            stats.layers += 1;
            stats.uncompressed_bytes = budget.used();
        }
        Ok(stats)
    }

    fn warn(&mut self, code: WarningCode, layer: &str, path: Option<&str>, message: String) {
        tracing::debug!(code = code.as_str(), layer, path, "{message}");
        if self.warnings.len() >= MAX_WARNINGS {
            self.warnings_dropped += 1;
            return;
        }
        self.warnings.push(Warning {
            code,
            layer: layer.to_string(),
            path: path.map(str::to_string),
            message,
        });
    }

    fn walk_layer<R: Read>(
        &mut self,
        archive: &mut tar::Archive<R>,
        ctx: &LayerCtx<'_>,
        merge: &mut Merge,
        stats: &mut WalkStats,
        buf: &mut [u8],
        visit: &mut impl FnMut(Entry) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, OciError> {
        let entries = archive
            .entries()
            .map_err(|e| ctx.errors.error(e, "reading the tar stream"))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| ctx.errors.error(e, "reading the tar stream"))?;
            stats.tar_entries += 1;
            let etype = entry.header().entry_type();
            if etype.is_pax_global_extensions()
                || etype.is_gnu_longname()
                || etype.is_gnu_longlink()
            {
                continue;
            }
            let Some(path) = self.entry_path(&entry, ctx) else {
                continue;
            };
            if path == "/" {
                continue;
            }
            let dir = parent(&path);
            let base = &path[path.rfind('/').map_or(0, |i| i + 1)..];
            if let Some(target) = base.strip_prefix(WHITEOUT_PREFIX) {
                self.record_whiteout(merge, ctx, &path, dir, base, target);
                continue;
            }
            match merge.visibility(&path, ctx.index) {
                Visibility::Visible => {}
                Visibility::Hidden => {
                    if let Some(hidden) = self.hidden_file(&mut entry, path, ctx, buf)? {
                        stats.entries += 1;
                        if visit(hidden).is_break() {
                            return Ok(ControlFlow::Break(()));
                        }
                    }
                    continue;
                }
                Visibility::Duplicate => {
                    self.warn(
                        WarningCode::DuplicateEntry,
                        &ctx.digest,
                        Some(&path),
                        "a second entry for this path in the same layer; the first one was kept"
                            .into(),
                    );
                    continue;
                }
                Visibility::UnderNonDirectory => {
                    self.warn(
                        WarningCode::EntryUnderNonDirectory,
                        &ctx.digest,
                        Some(&path),
                        "this layer made a parent of this path a non-directory; entry skipped"
                            .into(),
                    );
                    continue;
                }
            }
            let kind = if etype.is_file() || etype.is_contiguous() || etype.is_gnu_sparse() {
                EntryType::File
            } else if etype.is_dir() {
                EntryType::Dir
            } else if etype.is_symlink() {
                EntryType::Symlink
            } else if etype.is_hard_link() {
                EntryType::Hardlink
            } else {
                EntryType::Other
            };
            merge.seen.insert(
                path.clone().into_boxed_str(),
                Seen {
                    layer: ctx.index,
                    dir: kind == EntryType::Dir,
                },
            );
            let (mode, uid, gid) = self.ids(&entry, ctx, &path);
            let link = self.link(&entry, kind, ctx, &path);
            let mut out = Entry {
                path,
                kind,
                mode,
                uid,
                gid,
                size: if kind == EntryType::File {
                    entry.size()
                } else {
                    0
                },
                sha256: None,
                md5: None,
                link,
                layer: ctx.index,
                content: None,
                hidden: false,
            };
            if kind == EntryType::File {
                self.read_content(&mut entry, &mut out, ctx, buf)?;
            }
            stats.entries += 1;
            if visit(out).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// The entry's normalised absolute path, or `None` (with a warning) when it escapes.
    fn entry_path<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        ctx: &LayerCtx<'_>,
    ) -> Option<String> {
        let raw = entry.path_bytes();
        let name: Cow<'_, str> = match std::str::from_utf8(&raw) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => {
                let lossy = String::from_utf8_lossy(&raw).into_owned();
                self.warn(
                    WarningCode::NonUtf8Path,
                    &ctx.digest,
                    Some(&lossy),
                    "the name is not UTF-8; shown with replacement characters".into(),
                );
                Cow::Owned(lossy)
            }
        };
        match normalize_entry_name(&name) {
            Err(Escapes) => {
                self.warn(
                    WarningCode::PathEscapesRoot,
                    &ctx.digest,
                    Some(&name),
                    "the name climbs above the image root with `..`; entry skipped".into(),
                );
                None
            }
            Ok(n) => {
                if n.absolute {
                    self.warn(
                        WarningCode::AbsolutePath,
                        &ctx.digest,
                        Some(&name),
                        format!("absolute name in a layer; read as {}", n.path),
                    );
                }
                if n.dot_dot {
                    self.warn(
                        WarningCode::DotDotInPath,
                        &ctx.digest,
                        Some(&name),
                        format!("`..` in the name; normalised to {}", n.path),
                    );
                }
                Some(n.path)
            }
        }
    }

    fn record_whiteout(
        &mut self,
        merge: &mut Merge,
        ctx: &LayerCtx<'_>,
        path: &str,
        dir: &str,
        base: &str,
        target: &str,
    ) {
        if base == OPAQUE {
            merge.opaque.entry(dir.into()).or_insert(ctx.index);
        } else if target.starts_with(WHITEOUT_PREFIX) {
            // Other `.wh..wh.` names are aufs bookkeeping (`.wh..wh.plnk`, `.wh..wh.aufs`): not content.
        } else if target.is_empty() || target == "." || target == ".." {
            self.warn(
                WarningCode::InvalidWhiteout,
                &ctx.digest,
                Some(path),
                "a whiteout that names no file; ignored".into(),
            );
        } else {
            merge
                .whiteouts
                .entry(join(dir, target).into_boxed_str())
                .or_insert(ctx.index);
        }
    }

    fn ids<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        ctx: &LayerCtx<'_>,
        path: &str,
    ) -> (u32, u64, u64) {
        let h = entry.header();
        let (mode, uid, gid) = (h.mode(), h.uid(), h.gid());
        if mode.is_err() || uid.is_err() || gid.is_err() {
            self.warn(
                WarningCode::MalformedHeader,
                &ctx.digest,
                Some(path),
                "mode, uid or gid is not a number; read as 0".into(),
            );
        }
        (
            mode.unwrap_or(0) & 0o7777,
            uid.unwrap_or(0),
            gid.unwrap_or(0),
        )
    }

    fn link<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        kind: EntryType,
        ctx: &LayerCtx<'_>,
        path: &str,
    ) -> Option<String> {
        if !matches!(kind, EntryType::Symlink | EntryType::Hardlink) {
            return None;
        }
        let target = entry
            .link_name_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let Some(target) = target.filter(|t| !t.is_empty()) else {
            self.warn(
                WarningCode::MissingLinkTarget,
                &ctx.digest,
                Some(path),
                format!("a {kind} without a target"),
            );
            return None;
        };
        if kind == EntryType::Symlink {
            if link_escapes_root(path, &target) {
                self.warn(
                    WarningCode::SymlinkEscapesRoot,
                    &ctx.digest,
                    Some(path),
                    format!(
                        "symlink target `{target}` climbs above the image root; resolved in the root it is {}",
                        resolve_in_root(path, &target)
                    ),
                );
            }
            return Some(target);
        }
        // Hardlink names are relative to the layer root, like entry names.
        match normalize_entry_name(&target) {
            Ok(n) => Some(n.path),
            Err(Escapes) => {
                let clamped = resolve_in_root("/", &target);
                self.warn(
                    WarningCode::HardlinkEscapesRoot,
                    &ctx.digest,
                    Some(path),
                    format!("hardlink target `{target}` climbs above the image root; clamped to {clamped}"),
                );
                Some(clamped)
            }
        }
    }

    fn read_content<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        out: &mut Entry,
        ctx: &LayerCtx<'_>,
        buf: &mut [u8],
    ) -> Result<(), OciError> {
        let wanted = self.opts.content.as_ref().is_some_and(|f| f(&out.path));
        let mut content = None;
        if wanted {
            content = self.content_buffer(out, ctx);
        }
        // Undecided until the first bytes are in: whether a sniffer wants this file.
        let mut head: Option<Vec<u8>> = (!wanted && self.opts.sniff.is_some() && out.size > 0)
            .then(|| Vec::with_capacity(SNIFF_BYTES));
        let mut hasher = self.opts.hash_files.then(Sha256::new);
        let mut md5 = self.opts.md5.then(<md5::Md5 as md5::Digest>::new);
        if hasher.is_none() && md5.is_none() && content.is_none() && head.is_none() {
            return Ok(());
        }
        let mut total = 0u64;
        loop {
            let n = entry
                .read(buf)
                .map_err(|e| ctx.errors.error(e, &format!("reading {}", out.path)))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if let Some(h) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
            if let Some(h) = md5.as_mut() {
                md5::Digest::update(h, &buf[..n]);
            }
            if let Some(c) = content.as_mut() {
                c.extend_from_slice(&buf[..n]);
            }
            if let Some(h) = head.as_mut() {
                let need = SNIFF_BYTES.min(usize::try_from(out.size).unwrap_or(usize::MAX));
                let take = (need - h.len()).min(n);
                h.extend_from_slice(&buf[..take]);
                if h.len() >= need {
                    let sniffed = self.opts.sniff.as_ref().is_some_and(|f| f(&out.path, h));
                    if sniffed && let Some(mut c) = self.content_buffer(out, ctx) {
                        c.extend_from_slice(&buf[..n]);
                        content = Some(c);
                    }
                    head = None;
                }
            }
            if hasher.is_none() && md5.is_none() && content.is_none() && head.is_none() {
                // Not hashing and nobody wants the bytes: the tar reader skips the rest.
                return Ok(());
            }
        }
        if total != out.size {
            return Err(ctx.errors.message(format!(
                "{} ends after {total} of its {} bytes (the tar stream is truncated)",
                out.path, out.size
            )));
        }
        out.sha256 = hasher.map(|h| hex::encode(h.finalize().as_slice()));
        out.md5 = md5.map(|h| hex::encode(md5::Digest::finalize(h).as_slice()));
        out.content = content;
        Ok(())
    }

    /// A regular file an upper layer hid, with its content, when the options ask for it.
    fn hidden_file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: String,
        ctx: &LayerCtx<'_>,
        buf: &mut [u8],
    ) -> Result<Option<Entry>, OciError> {
        let etype = entry.header().entry_type();
        let wanted = self.opts.deliver_hidden
            && (etype.is_file() || etype.is_contiguous())
            && self.opts.content.as_ref().is_some_and(|f| f(&path));
        if !wanted {
            return Ok(None);
        }
        let (mode, uid, gid) = self.ids(entry, ctx, &path);
        let mut out = Entry {
            path,
            kind: EntryType::File,
            mode,
            uid,
            gid,
            size: entry.size(),
            sha256: None,
            md5: None,
            link: None,
            layer: ctx.index,
            content: None,
            hidden: true,
        };
        self.read_content(entry, &mut out, ctx, buf)?;
        Ok(Some(out))
    }

    /// An empty buffer for a file's content, or `None` (with a warning) over the size limit.
    fn content_buffer(&mut self, out: &Entry, ctx: &LayerCtx<'_>) -> Option<Vec<u8>> {
        if out.size <= self.opts.max_content_bytes {
            return Some(Vec::with_capacity(usize::try_from(out.size).unwrap_or(0)));
        }
        self.warn(
            WarningCode::ContentTooLarge,
            &ctx.digest,
            Some(&out.path),
            format!(
                "{} bytes, over the content limit of {}; content not delivered",
                out.size, self.opts.max_content_bytes
            ),
        );
        None
    }
}
