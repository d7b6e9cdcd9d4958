//! Small OCI test images built in memory: deterministic gzip layers, config, manifest, an
//! optional multi-platform index, and an OCI image layout on disk for skopeo to read.

use std::io::Write as _;
use std::path::Path;

use serde_json::{Value, json};
use sha2::Digest as _;

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// A blob with its media type and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub media_type: String,
    pub digest: String,
    pub bytes: Vec<u8>,
}

impl Blob {
    pub fn new(media_type: &str, bytes: Vec<u8>) -> Self {
        Self {
            media_type: media_type.to_string(),
            digest: sha256_digest(&bytes),
            bytes,
        }
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Its OCI descriptor as JSON.
    pub fn descriptor(&self) -> Value {
        json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.size() })
    }

    /// The hex part of the digest.
    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

/// A gzip-compressed tar of `files` (`path`, contents), with fixed times and owners.
pub fn layer_tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let with_modes: Vec<(&str, &[u8], u32)> = files.iter().map(|(p, d)| (*p, *d, 0o644)).collect();
    layer_tar_gz_modes(&with_modes)
}

/// Like [`layer_tar_gz`], with each file's permission bits (`0o755` for an executable).
pub fn layer_tar_gz_modes(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, path, *data).unwrap();
    }
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

/// One image: config, layers and its OCI manifest.
#[derive(Debug, Clone)]
pub struct TestImage {
    pub config: Blob,
    pub layers: Vec<Blob>,
    pub manifest: Blob,
    pub architecture: String,
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

impl TestImage {
    /// A linux/amd64 image with one gzip layer holding `files`.
    pub fn new(files: &[(&str, &[u8])]) -> Self {
        Self::build(&[layer_tar_gz(files)], "amd64")
    }

    /// An image for `linux/<architecture>` whose layers are the given (already compressed) blobs.
    pub fn build(layers: &[Vec<u8>], architecture: &str) -> Self {
        let layers: Vec<Blob> = layers
            .iter()
            .map(|l| Blob::new(OCI_LAYER_GZIP, l.clone()))
            .collect();
        let diff_ids: Vec<String> = layers
            .iter()
            .map(|l| {
                let mut raw = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::MultiGzDecoder::new(&l.bytes[..]),
                    &mut raw,
                )
                .unwrap();
                sha256_digest(&raw)
            })
            .collect();
        let config = json!({
            "architecture": architecture,
            "os": "linux",
            "config": { "Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"] },
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
        });
        let config = Blob::new(OCI_CONFIG, serde_json::to_vec(&config).unwrap());
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.descriptor(),
            "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
        });
        let manifest = Blob::new(OCI_MANIFEST, serde_json::to_vec(&manifest).unwrap());
        Self {
            config,
            layers,
            manifest,
            architecture: architecture.to_string(),
        }
    }

    /// Config and layers, in push order.
    pub fn blobs(&self) -> Vec<&Blob> {
        std::iter::once(&self.config)
            .chain(self.layers.iter())
            .collect()
    }

    /// Writes an OCI image layout at `dir` with this image tagged `tag`.
    pub fn write_layout(&self, dir: &Path, tag: &str) {
        write_layout(dir, &self.blobs(), &[(&self.manifest, tag)]);
    }
}

/// A multi-platform index over several images.
#[derive(Debug, Clone)]
pub struct TestIndex {
    pub images: Vec<TestImage>,
    pub index: Blob,
}

impl TestIndex {
    /// An OCI index listing `images` with `linux/<architecture>` platforms.
    pub fn new(images: Vec<TestImage>) -> Self {
        let manifests: Vec<Value> = images
            .iter()
            .map(|i| {
                let mut d = i.manifest.descriptor();
                d["platform"] = json!({ "architecture": i.architecture, "os": "linux" });
                d
            })
            .collect();
        let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
        let index = Blob::new(OCI_INDEX, serde_json::to_vec(&index).unwrap());
        Self { images, index }
    }

    /// Writes an OCI image layout at `dir` with the index tagged `tag`.
    pub fn write_layout(&self, dir: &Path, tag: &str) {
        let mut blobs: Vec<&Blob> = Vec::new();
        for i in &self.images {
            blobs.extend(i.blobs());
            blobs.push(&i.manifest);
        }
        write_layout(dir, &blobs, &[(&self.index, tag)]);
    }
}

fn write_layout(dir: &Path, blobs: &[&Blob], tagged: &[(&Blob, &str)]) {
    let blob_dir = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blob_dir).unwrap();
    for b in blobs.iter().copied().chain(tagged.iter().map(|(b, _)| *b)) {
        std::fs::write(blob_dir.join(b.hex()), &b.bytes).unwrap();
    }
    std::fs::write(
        dir.join("oci-layout"),
        serde_json::to_vec(&json!({ "imageLayoutVersion": "1.0.0" })).unwrap(),
    )
    .unwrap();
    let manifests: Vec<Value> = tagged
        .iter()
        .map(|(b, tag)| {
            let mut d = b.descriptor();
            d["annotations"] = json!({ "org.opencontainers.image.ref.name": tag });
            d
        })
        .collect();
    let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_deterministic_and_layouts_complete() {
        let a = TestImage::new(&[("etc/hostname", b"x\n")]);
        let b = TestImage::new(&[("etc/hostname", b"x\n")]);
        assert_eq!(a.manifest.digest, b.manifest.digest);
        let index = TestIndex::new(vec![
            a.clone(),
            TestImage::build(&[layer_tar_gz(&[("y", b"z")])], "arm64"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        index.write_layout(dir.path(), "t");
        for blob in [&index.index, &a.manifest, &a.config, &a.layers[0]] {
            let stored = std::fs::read(dir.path().join("blobs/sha256").join(blob.hex())).unwrap();
            assert_eq!(sha256_digest(&stored), blob.digest);
        }
        let top: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
        assert_eq!(top["manifests"][0]["digest"], index.index.digest.as_str());
    }
}
