//! Test support shared by every Proofline crate's tests: the real registry server (Debian's
//! `docker-registry`) on a free loopback port, with htpasswd or a bearer-token front; `skopeo`
//! for cross-checks; and small, deterministic OCI test images. Never published.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod front;
mod image;
mod registry;
pub mod sigstore;
mod skopeo;

pub use front::TokenRequest;
pub use image::{
    Blob, OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, TestImage, TestIndex, layer_tar_gz,
    layer_tar_gz_modes, sha256_digest,
};
pub use registry::Registry;
pub use skopeo::{skopeo, skopeo_copy, skopeo_inspect_raw, skopeo_ok};

/// The script that installs what the tests need.
pub const SETUP_HINT: &str =
    "run scripts/test.sh (it installs docker-registry, skopeo and apache2-utils with apt-get)";

/// The path of `tool`, or a panic saying how to install it.
pub fn require_tool(tool: &str) -> std::path::PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([
            std::path::PathBuf::from("/usr/bin"),
            std::path::PathBuf::from("/usr/sbin"),
        ])
        .map(|d| d.join(tool))
        .find(|p| p.is_file());
    match found {
        Some(p) => p,
        None => panic!("`{tool}` is not installed; {SETUP_HINT}"),
    }
}
