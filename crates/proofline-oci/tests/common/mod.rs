//! Builds real images for the tests: tar layers written header by header (so hostile
//! names can be produced), compressed with gzip or zstd, stored as real OCI layouts.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use proofline_oci::{Digest, Entry, Image, ImageRef, OpenOptions, WalkOptions, WalkReport};
use serde_json::{Value, json};

/// One tar member, described loosely enough to express hostile ones.
#[derive(Clone, Debug)]
pub enum Node {
    File(&'static str, Vec<u8>),
    Dir(&'static str),
    Symlink(&'static str, &'static str),
    Hardlink(&'static str, &'static str),
    /// Raw name bytes (non-UTF-8, `..`, absolute), regular file.
    RawFile(Vec<u8>, Vec<u8>),
    Fifo(&'static str),
}

pub fn file(name: &'static str, content: &str) -> Node {
    Node::File(name, content.as_bytes().to_vec())
}

fn header(
    name: &[u8],
    kind: tar::EntryType,
    size: u64,
    link: Option<&[u8]>,
    mode: u32,
) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    {
        let gnu = h.as_gnu_mut().unwrap();
        assert!(name.len() < 100, "test names stay short");
        gnu.name[..name.len()].copy_from_slice(name);
        if let Some(l) = link {
            gnu.linkname[..l.len()].copy_from_slice(l);
        }
    }
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(kind);
    h.set_cksum();
    h
}

fn push(out: &mut Vec<u8>, h: &tar::Header, data: &[u8]) {
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    let pad = (512 - data.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, pad));
}

/// An uncompressed tar of `nodes`, in order, with the end-of-archive marker.
pub fn tar_of(nodes: &[Node]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nodes {
        match n {
            Node::File(name, data) => push(
                &mut out,
                &header(
                    name.as_bytes(),
                    tar::EntryType::Regular,
                    data.len() as u64,
                    None,
                    0o644,
                ),
                data,
            ),
            Node::RawFile(name, data) => push(
                &mut out,
                &header(
                    name,
                    tar::EntryType::Regular,
                    data.len() as u64,
                    None,
                    0o600,
                ),
                data,
            ),
            Node::Dir(name) => push(
                &mut out,
                &header(name.as_bytes(), tar::EntryType::Directory, 0, None, 0o755),
                &[],
            ),
            Node::Symlink(name, target) => push(
                &mut out,
                &header(
                    name.as_bytes(),
                    tar::EntryType::Symlink,
                    0,
                    Some(target.as_bytes()),
                    0o777,
                ),
                &[],
            ),
            Node::Hardlink(name, target) => push(
                &mut out,
                &header(
                    name.as_bytes(),
                    tar::EntryType::Link,
                    0,
                    Some(target.as_bytes()),
                    0o644,
                ),
                &[],
            ),
            Node::Fifo(name) => push(
                &mut out,
                &header(name.as_bytes(), tar::EntryType::Fifo, 0, None, 0o644),
                &[],
            ),
        }
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comp {
    None,
    Gzip,
    Zstd,
}

pub const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// A layer blob ready to store: the compressed bytes, its media type, and the diff ID.
#[derive(Clone, Debug)]
pub struct Layer {
    pub blob: Vec<u8>,
    pub media_type: String,
    pub diff_id: Digest,
}

pub fn layer(nodes: &[Node], comp: Comp) -> Layer {
    let tar = tar_of(nodes);
    layer_from_tar(&tar, comp)
}

pub fn layer_from_tar(tar: &[u8], comp: Comp) -> Layer {
    let (blob, media_type) = match comp {
        Comp::None => (tar.to_vec(), TAR),
        Comp::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(tar).unwrap();
            (e.finish().unwrap(), TAR_GZIP)
        }
        Comp::Zstd => (zstd::encode_all(tar, 3).unwrap(), TAR_ZSTD),
    };
    Layer {
        blob,
        media_type: media_type.to_string(),
        diff_id: Digest::of(tar),
    }
}

pub fn write_blob(dir: &Path, bytes: &[u8]) -> Digest {
    let d = Digest::of(bytes);
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(d.hex()), bytes).unwrap();
    d
}

pub fn config_for(layers: &[Layer], arch: &str, extra: Value) -> Value {
    let mut config = json!({
        "created": "2024-01-01T00:00:00Z",
        "architecture": arch,
        "os": "linux",
        "config": extra,
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>()},
        "history": layers.iter().map(|_| json!({"created": "2024-01-01T00:00:00Z", "created_by": "test"})).collect::<Vec<_>>(),
    });
    if arch == "arm64" {
        config["variant"] = json!("v8");
    }
    config
}

/// Stores config, layers and manifest blobs; returns the manifest bytes and digest.
pub fn store_image(dir: &Path, layers: &[Layer], config: &Value) -> (Vec<u8>, Digest) {
    let config_bytes = serde_json::to_vec(config).unwrap();
    let config_digest = write_blob(dir, &config_bytes);
    let layer_descs: Vec<Value> = layers
        .iter()
        .map(|l| json!({"mediaType": l.media_type, "digest": write_blob(dir, &l.blob).to_string(), "size": l.blob.len()}))
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config_bytes.len()},
        "layers": layer_descs,
    });
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let digest = write_blob(dir, &bytes);
    (bytes, digest)
}

/// Writes `oci-layout` and `index.json` listing `entries` (already stored blobs).
pub fn write_index(dir: &Path, entries: Vec<Value>) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({"schemaVersion": 2, "manifests": entries});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

pub fn index_entry(media_type: &str, bytes: &[u8], digest: &Digest, tag: Option<&str>) -> Value {
    let mut e = json!({"mediaType": media_type, "digest": digest.to_string(), "size": bytes.len()});
    if let Some(t) = tag {
        e["annotations"] = json!({"org.opencontainers.image.ref.name": t});
    }
    e
}

/// A complete single-image layout with `layers`, tagged `tag`. Returns the manifest digest.
pub fn write_layout(dir: &Path, layers: &[Layer], tag: Option<&str>) -> Digest {
    let config = config_for(layers, "amd64", json!({"Env": ["PATH=/usr/bin:/bin"]}));
    write_layout_with_config(dir, layers, tag, &config)
}

pub fn write_layout_with_config(
    dir: &Path,
    layers: &[Layer],
    tag: Option<&str>,
    config: &Value,
) -> Digest {
    let (bytes, digest) = store_image(dir, layers, config);
    write_index(
        dir,
        vec![index_entry(
            "application/vnd.oci.image.manifest.v1+json",
            &bytes,
            &digest,
            tag,
        )],
    );
    digest
}

pub fn oci_ref(dir: &Path) -> ImageRef {
    format!("oci:{}", dir.display()).parse().unwrap()
}

/// Opens and walks `r`, returning entries and the report.
pub fn walk_ref(
    r: &ImageRef,
    opts: &OpenOptions,
    walk: &WalkOptions,
) -> Result<(Vec<Entry>, WalkReport), proofline_oci::OciError> {
    let image = Image::open(r, opts)?;
    let mut entries = Vec::new();
    let report = image.walk(walk, |e| {
        entries.push(e);
        ControlFlow::Continue(())
    })?;
    Ok((entries, report))
}

/// The `ls` JSON lines of `r`.
pub fn ls(r: &ImageRef) -> Vec<String> {
    let (entries, _) = walk_ref(r, &OpenOptions::default(), &WalkOptions::default()).unwrap();
    entries
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect()
}

/// `path type` pairs, for compact assertions.
pub fn paths(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| format!("{} {}", e.path, e.kind))
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Digest::of(bytes).hex().to_string()
}
