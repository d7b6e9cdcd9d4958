//! Helpers shared by the registry test files: opening repositories and pushing test images.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;

use oci_spec::image::Descriptor;
use proofline_oci::registry::{RegistryOptions, Repository};
use proofline_oci::{Digest, ImageRef, ImageSink, RawManifest, RegistryRef};
use proofline_testkit::{Blob, TestImage};

/// Options that never read the developer's own Docker config.
pub fn isolated_options() -> RegistryOptions {
    RegistryOptions {
        docker_config: Some("/nonexistent/proofline-test/config.json".into()),
        ..RegistryOptions::default()
    }
}

pub fn registry_ref(s: &str) -> RegistryRef {
    match s.parse::<ImageRef>().unwrap() {
        ImageRef::Registry(r) => r,
        other => panic!("not a registry reference: {other:?}"),
    }
}

pub fn open(reference: &str, opts: &RegistryOptions) -> Repository {
    Repository::open(&registry_ref(reference), opts).unwrap()
}

pub fn descriptor(b: &Blob) -> Descriptor {
    serde_json::from_value(b.descriptor()).unwrap()
}

pub fn raw(b: &Blob) -> RawManifest {
    RawManifest {
        media_type: b.media_type.clone(),
        digest: b.digest.parse::<Digest>().unwrap(),
        bytes: b.bytes.clone(),
    }
}

pub fn push_blob(sink: &dyn ImageSink, b: &Blob) {
    sink.put_blob(&descriptor(b), &mut &b.bytes[..], None)
        .unwrap();
}

/// Pushes the blobs and manifest of `image`, tagged `tag` when given.
pub fn push_image(sink: &dyn ImageSink, image: &TestImage, tag: Option<&str>) {
    for b in image.blobs() {
        push_blob(sink, b);
    }
    sink.put_manifest(&raw(&image.manifest), tag).unwrap();
}

pub fn read_all(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.read_to_end(&mut out)?;
    Ok(out)
}

/// Incompressible bytes (xorshift), so a gzip layer is as large as its content.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
