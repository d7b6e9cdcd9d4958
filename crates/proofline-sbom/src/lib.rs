//! The SBOM stage: every package in an image, read from the merged filesystem by one walk,
//! into one inventory that every output format is written from.

pub mod catalog;
pub mod convert;
pub mod cyclonedx;
pub mod model;
pub mod spdx23;
pub mod spdx3;
pub mod verify;

pub use catalog::{CatalogError, catalog_image};
pub use model::{Ecosystem, FileDigest, Inventory, OwnedFile, Package};
