//! Container images for every Proofline stage: references, OCI layouts, `docker save`
//! archives and registries behind one interface, and the merged layer filesystem as a
//! stream of entries, never extracted to disk.

pub mod digest;
pub mod error;
pub mod reference;
pub mod registry;
pub mod store;

pub use digest::Digest;
pub use error::OciError;
pub use reference::{ImageRef, RegistryRef, Selector};
pub use store::{ImageSink, ImageSource, RawManifest};
