//! The merged filesystem of an image as a stream of entries, whiteouts applied, read
//! straight from the layer streams: never extracted to disk, never a whole layer in memory.
//!
//! # Order
//! Layers are read from the top (the last in the manifest) down to the base. Within a
//! layer, entries come in the layer's tar order. An entry is yielded the first time its
//! path is met, unless a higher layer deleted it (`.wh.<name>` on it or an ancestor),
//! made an ancestor directory opaque (`.wh..wh..opq`), or replaced an ancestor directory
//! with a non-directory. So the top layer's files come first, then what each lower layer
//! adds that is still visible; the order is deterministic for a given image, but not
//! sorted. Sort the output if you need a canonical listing.
//!
//! Parent directories that no layer lists are not invented, and the root itself (`./`)
//! is not yielded.
//!
//! # Hostile layers
//! Names with `..` that would climb above the root are skipped, absolute names are made
//! relative to the root, a second entry with the same path in one layer is skipped, and
//! links pointing out of the root are kept (a link is only data) and reported: each of
//! these produces a [`Warning`]. A truncated stream, a digest mismatch and a blown
//! decompression budget are errors naming the layer.

mod path;
mod walk;

use std::fmt;

use serde::Serialize;

pub use path::{link_escapes_root, resolve_in_root};
pub use walk::{WalkReport, WalkStats, Walker};

/// Default largest file content delivered to a [`WalkOptions::content`] consumer (16 MiB).
pub const DEFAULT_MAX_CONTENT_BYTES: u64 = 16 * 1024 * 1024;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    File,
    Dir,
    Symlink,
    Hardlink,
    /// Character and block devices, FIFOs and anything else that holds no data.
    Other,
}

impl fmt::Display for EntryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryType::File => "file",
            EntryType::Dir => "dir",
            EntryType::Symlink => "symlink",
            EntryType::Hardlink => "hardlink",
            EntryType::Other => "other",
        })
    }
}

/// One path of the merged filesystem. Serialises to exactly
/// `{"path","type","mode","uid","gid","size","sha256","link"}` (the `ls` line format);
/// `layer` and `content` are for in-process consumers only.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Absolute and normalised: `/etc/passwd`.
    pub path: String,
    #[serde(rename = "type")]
    pub kind: EntryType,
    /// Permission bits (`0o7777` mask), e.g. `420` for `0644`.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Bytes of content for files; 0 for everything else.
    pub size: u64,
    /// Lowercase hex SHA-256 of a regular file's content (when hashing is on).
    pub sha256: Option<String>,
    /// Lowercase hex MD5 of a regular file's content, when [`WalkOptions::md5`] asks for it.
    #[serde(skip)]
    pub md5: Option<String>,
    /// Symlink target exactly as stored (resolve it with [`resolve_in_root`]), or the
    /// absolute, normalised path a hardlink points at.
    pub link: Option<String>,
    /// Index of the layer the entry comes from, 0 = the base layer.
    #[serde(skip)]
    pub layer: usize,
    /// The file's bytes, when [`WalkOptions::content`] asked for this path and the file is
    /// no larger than [`WalkOptions::max_content_bytes`].
    #[serde(skip)]
    pub content: Option<Vec<u8>>,
    /// Not part of the merged filesystem: a regular file of a lower layer that an upper layer
    /// deleted or replaced, delivered only with [`WalkOptions::deliver_hidden`] (e.g. a package
    /// database a later layer removed, so its packages are not lost).
    #[serde(skip)]
    pub hidden: bool,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("mode", &format_args!("{:o}", self.mode))
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("size", &self.size)
            .field("sha256", &self.sha256)
            .field("link", &self.link)
            .field("layer", &self.layer)
            .field("hidden", &self.hidden)
            .field(
                "content",
                &self.content.as_ref().map(|c| format!("{} bytes", c.len())),
            )
            .finish()
    }
}

/// Stable codes for what the walker noticed and worked around (findings are data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningCode {
    /// A name whose `..` climbs above the root: the entry was skipped.
    PathEscapesRoot,
    /// An absolute name (`/etc/passwd`): read relative to the root.
    AbsolutePath,
    /// A name with `..` that stays inside the root (`a/../b`): normalised.
    DotDotInPath,
    /// A name that is not UTF-8: shown with replacement characters.
    NonUtf8Path,
    /// A second entry for the same path in one layer: the first one was kept.
    DuplicateEntry,
    /// An entry below a path that the same layer made a non-directory: skipped.
    EntryUnderNonDirectory,
    /// A symlink whose target climbs above the root: kept, it is only data.
    SymlinkEscapesRoot,
    /// A hardlink whose target climbs above the root: kept, target clamped at `/`.
    HardlinkEscapesRoot,
    /// A symlink or hardlink without a target.
    MissingLinkTarget,
    /// A whiteout that names nothing (`.wh.`, `.wh..`): ignored.
    InvalidWhiteout,
    /// A header field (mode, uid, gid) that is not a number: read as 0.
    MalformedHeader,
    /// The media type says one compression, the bytes say another: the bytes won.
    MediaTypeMismatch,
    /// A file the content filter asked for is larger than the content limit: not delivered.
    ContentTooLarge,
}

impl WarningCode {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::PathEscapesRoot => "path-escapes-root",
            WarningCode::AbsolutePath => "absolute-path",
            WarningCode::DotDotInPath => "dot-dot-in-path",
            WarningCode::NonUtf8Path => "non-utf8-path",
            WarningCode::DuplicateEntry => "duplicate-entry",
            WarningCode::EntryUnderNonDirectory => "entry-under-non-directory",
            WarningCode::SymlinkEscapesRoot => "symlink-escapes-root",
            WarningCode::HardlinkEscapesRoot => "hardlink-escapes-root",
            WarningCode::MissingLinkTarget => "missing-link-target",
            WarningCode::InvalidWhiteout => "invalid-whiteout",
            WarningCode::MalformedHeader => "malformed-header",
            WarningCode::MediaTypeMismatch => "media-type-mismatch",
            WarningCode::ContentTooLarge => "content-too-large",
        }
    }
}

impl fmt::Display for WarningCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something odd in a layer that the walker worked around.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: WarningCode,
    /// The layer's digest (`sha256:…`).
    pub layer: String,
    /// The entry's path as found in the tar (normalised when it could be).
    pub path: Option<String>,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] layer {}", self.code, self.layer)?;
        if let Some(p) = &self.path {
            write!(f, ", {p}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Decides which files' content a walk delivers, by absolute path.
pub type ContentFilter = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// Decides, from a file's path and its first [`SNIFF_BYTES`] bytes (fewer for a smaller file),
/// whether a walk delivers its content: how binaries are found whatever their name.
pub type SniffFilter = Box<dyn Fn(&str, &[u8]) -> bool + Send + Sync>;

/// How many leading bytes a [`SniffFilter`] sees.
pub const SNIFF_BYTES: usize = 64;

/// What a walk computes besides the listing.
pub struct WalkOptions {
    /// SHA-256 every regular file that is yielded (on by default).
    pub hash_files: bool,
    /// Also MD5 every regular file that is yielded, in the same pass (package managers that
    /// record MD5s, e.g. dpkg, are then checked without reading the layers again).
    pub md5: bool,
    /// Deliver the bytes of the yielded regular files whose path this accepts.
    pub content: Option<ContentFilter>,
    /// Also deliver the bytes of files whose first bytes this accepts (ELF binaries, zips).
    pub sniff: Option<SniffFilter>,
    /// Also yield regular files an upper layer deleted or replaced, when [`Self::content`]
    /// accepts their path, marked [`Entry::hidden`] and with their content.
    pub deliver_hidden: bool,
    /// Larger files are not delivered (a `content-too-large` warning instead).
    pub max_content_bytes: u64,
}

impl Default for WalkOptions {
    fn default() -> Self {
        Self {
            hash_files: true,
            md5: false,
            content: None,
            sniff: None,
            deliver_hidden: false,
            max_content_bytes: DEFAULT_MAX_CONTENT_BYTES,
        }
    }
}

impl WalkOptions {
    /// Delivers the content of files whose path `filter` accepts.
    pub fn with_content(mut self, filter: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.content = Some(Box::new(filter));
        self
    }

    /// Also delivers the content of files whose path and first bytes `filter` accepts.
    pub fn with_sniff(
        mut self,
        filter: impl Fn(&str, &[u8]) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.sniff = Some(Box::new(filter));
        self
    }

    /// Also computes each file's MD5 in the same pass.
    pub fn with_md5(mut self) -> Self {
        self.md5 = true;
        self
    }

    /// Also yields files upper layers hid, when the content filter wants them.
    pub fn with_hidden(mut self) -> Self {
        self.deliver_hidden = true;
        self
    }

    /// Sets the largest file whose content is delivered.
    pub fn with_max_content_bytes(mut self, max: u64) -> Self {
        self.max_content_bytes = max;
        self
    }
}

impl fmt::Debug for WalkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalkOptions")
            .field("hash_files", &self.hash_files)
            .field("md5", &self.md5)
            .field("content", &self.content.as_ref().map(|_| "<filter>"))
            .field("sniff", &self.sniff.as_ref().map(|_| "<filter>"))
            .field("deliver_hidden", &self.deliver_hidden)
            .field("max_content_bytes", &self.max_content_bytes)
            .finish()
    }
}
