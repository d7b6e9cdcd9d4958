//! Container images for every Proofline stage: references, OCI layouts, `docker save`
//! archives and registries behind one interface, and the merged layer filesystem as a
//! stream of entries, never extracted to disk.

pub mod archive;
pub mod copy;
pub mod digest;
pub mod error;
pub mod fs;
pub mod image;
pub mod layer;
pub mod layout;
pub mod reference;
pub mod registry;
pub mod store;

pub use digest::Digest;
pub use error::OciError;
pub use reference::{ImageRef, RegistryRef, Selector};
pub use store::{ImageSink, ImageSource, RawManifest};

pub use archive::{ArchiveFlavour, DockerArchive, DockerArchiveSink};
pub use copy::{CopyReport, copy, copy_image, copy_with_mount};
pub use fs::{
    Entry, EntryType, SNIFF_BYTES, SniffFilter, WalkOptions, WalkReport, WalkStats, Walker,
    Warning, WarningCode, resolve_in_root,
};
pub use image::{
    ConfigSummary, Image, ImageIdentity, ImageInspect, LayerIdentity, OpenOptions, Platform,
    open_sink, open_source,
};
pub use layer::{Budget, Compression, DEFAULT_MAX_UNCOMPRESSED_BYTES};
pub use layout::{LayoutSink, OciLayout};
