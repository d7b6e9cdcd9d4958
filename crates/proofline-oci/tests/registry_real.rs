//! The registry client against the real registry server (Debian's docker-registry 2.8) and
//! cross-checked with skopeo: pushes (monolithic, chunked, mount), verified pulls, indexes, and
//! referrers through the `sha256-<hex>` fallback tag (2.8 has no referrers API).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod registry_support;

use std::io::Read;

use proofline_oci::registry::{RegistryOptions, fallback_tag};
use proofline_oci::{Digest, ImageSink, ImageSource, OciError};
use proofline_testkit::{
    Blob, Registry, TestImage, TestIndex, layer_tar_gz, sha256_digest, skopeo_copy,
    skopeo_inspect_raw,
};
use registry_support::*;
use serde_json::{Value, json};

fn small_image() -> TestImage {
    TestImage::new(&[
        ("etc/os-release", b"ID=debian\n"),
        ("usr/bin/app", b"#!/bin/sh\necho hi\n"),
    ])
}

#[test]
fn pushes_monolithic_and_pulls_back_verified() {
    let reg = Registry::start();
    let image = small_image();
    let repo = open(&reg.reference("app/web:1.0"), &isolated_options());
    push_image(&repo, &image, Some("1.0"));

    let src = open(&reg.reference("app/web:1.0"), &isolated_options());
    let m = src.resolve().unwrap();
    assert_eq!(m.digest.to_string(), image.manifest.digest);
    assert_eq!(m.bytes, image.manifest.bytes);
    assert_eq!(m.media_type, "application/vnd.oci.image.manifest.v1+json");
    for b in image.blobs() {
        assert!(repo.has_blob(&descriptor(b)).unwrap());
        assert_eq!(
            read_all(src.open_blob(&descriptor(b)).unwrap()).unwrap(),
            b.bytes
        );
    }
    assert_eq!(
        src.read_small_blob(&descriptor(&image.config)).unwrap(),
        image.config.bytes
    );
    let absent = Blob::new("application/octet-stream", b"never pushed".to_vec());
    assert!(!repo.has_blob(&descriptor(&absent)).unwrap());
    // By digest too, and through HEAD.
    let by_digest = src.fetch_manifest(&m.digest).unwrap();
    assert_eq!(by_digest, m);
    let head = src.manifest_descriptor("1.0").unwrap().unwrap();
    assert_eq!(head.digest().to_string(), image.manifest.digest);
    assert_eq!(head.size(), image.manifest.size());
    assert!(src.manifest_descriptor("nope").unwrap().is_none());
}

#[test]
fn pushes_large_blobs_in_chunks_and_skopeo_reads_them() {
    let reg = Registry::start();
    // ~700 kB of incompressible layer with a 64 kB monolithic limit and uneven 100 000-byte chunks.
    let data = noise(700_000, 7);
    let image = TestImage::build(&[layer_tar_gz(&[("blob.bin", &data)])], "amd64");
    assert!(image.layers[0].size() > 300_000);
    let opts = RegistryOptions {
        monolithic_limit: 64 * 1024,
        chunk_size: 100_000,
        ..isolated_options()
    };
    let repo = open(&reg.reference("big:1"), &opts);
    push_image(&repo, &image, Some("1"));

    let src = open(&reg.reference("big:1"), &isolated_options());
    assert_eq!(
        read_all(src.open_blob(&descriptor(&image.layers[0])).unwrap()).unwrap(),
        image.layers[0].bytes
    );
    let raw = skopeo_inspect_raw(&reg.docker("big:1"), None);
    assert_eq!(
        sha256_digest(&raw),
        image.manifest.digest,
        "skopeo reads the manifest we pushed"
    );
    let out = tempfile::tempdir().unwrap();
    skopeo_copy(
        &reg.docker("big:1"),
        &format!("oci:{}:copy", out.path().display()),
        &[],
    );
    let stored =
        std::fs::read(out.path().join("blobs/sha256").join(image.layers[0].hex())).unwrap();
    assert_eq!(
        stored, image.layers[0].bytes,
        "skopeo pulled the chunked blob intact"
    );
}

#[test]
fn skopeo_pushes_and_we_read_the_same_digest_and_config() {
    let reg = Registry::start();
    let image = small_image();
    let layout = tempfile::tempdir().unwrap();
    image.write_layout(layout.path(), "v1");
    skopeo_copy(
        &format!("oci:{}:v1", layout.path().display()),
        &reg.docker("from-skopeo:v1"),
        &["--preserve-digests"],
    );

    let src = open(&reg.reference("from-skopeo:v1"), &isolated_options());
    let m = src.resolve().unwrap();
    assert_eq!(m.digest.to_string(), image.manifest.digest);
    assert_eq!(
        src.read_small_blob(&descriptor(&image.config)).unwrap(),
        image.config.bytes
    );
    assert_eq!(
        read_all(src.open_blob(&descriptor(&image.layers[0])).unwrap()).unwrap(),
        image.layers[0].bytes
    );
}

#[test]
fn we_push_and_skopeo_reads_our_manifest_digest() {
    let reg = Registry::start();
    let image = small_image();
    let repo = open(&reg.reference("ours:latest"), &isolated_options());
    push_image(&repo, &image, Some("latest"));
    let raw = skopeo_inspect_raw(&reg.docker("ours:latest"), None);
    assert_eq!(sha256_digest(&raw), image.manifest.digest);
    let by_digest = skopeo_inspect_raw(
        &reg.docker(&format!("ours@{}", image.manifest.digest)),
        None,
    );
    assert_eq!(by_digest, image.manifest.bytes);
}

#[test]
fn index_with_two_platforms_resolves_children_by_digest() {
    let reg = Registry::start();
    let amd = TestImage::build(&[layer_tar_gz(&[("arch", b"amd64")])], "amd64");
    let arm = TestImage::build(&[layer_tar_gz(&[("arch", b"arm64")])], "arm64");
    let index = TestIndex::new(vec![amd.clone(), arm.clone()]);
    let repo = open(&reg.reference("multi:1"), &isolated_options());
    push_image(&repo, &amd, None);
    push_image(&repo, &arm, None);
    repo.put_manifest(&raw(&index.index), Some("1")).unwrap();

    let src = open(&reg.reference("multi:1"), &isolated_options());
    let top = src.resolve().unwrap();
    assert_eq!(top.media_type, "application/vnd.oci.image.index.v1+json");
    assert_eq!(top.digest.to_string(), index.index.digest);
    let doc: Value = serde_json::from_slice(&top.bytes).unwrap();
    let children = doc["manifests"].as_array().unwrap();
    assert_eq!(children.len(), 2);
    for (child, image) in children.iter().zip([&amd, &arm]) {
        assert_eq!(
            child["platform"]["architecture"],
            image.architecture.as_str()
        );
        let digest: Digest = child["digest"].as_str().unwrap().parse().unwrap();
        let m = src.fetch_manifest(&digest).unwrap();
        assert_eq!(m.bytes, image.manifest.bytes);
        assert_eq!(m.media_type, "application/vnd.oci.image.manifest.v1+json");
    }
    assert_eq!(
        sha256_digest(&skopeo_inspect_raw(&reg.docker("multi:1"), None)),
        index.index.digest
    );
}

/// A reader that fails the test if anything reads it: a mounted blob is never uploaded.
struct MustNotRead;
impl Read for MustNotRead {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        panic!("the blob was uploaded instead of mounted");
    }
}

#[test]
fn cross_repository_mount_skips_the_upload() {
    let reg = Registry::start();
    let image = small_image();
    push_image(
        &open(&reg.reference("base:1"), &isolated_options()),
        &image,
        Some("1"),
    );
    let dest = open(&reg.reference("derived:1"), &isolated_options());
    let layer = descriptor(&image.layers[0]);
    assert!(!dest.has_blob(&layer).unwrap());
    dest.put_blob(&layer, &mut MustNotRead, Some("base"))
        .unwrap();
    assert!(dest.has_blob(&layer).unwrap());
    assert_eq!(
        read_all(dest.open_blob(&layer).unwrap()).unwrap(),
        image.layers[0].bytes
    );
}

#[test]
fn a_corrupt_source_blob_is_refused_and_leaves_nothing_behind() {
    let reg = Registry::start();
    let good = Blob::new("application/octet-stream", noise(50_000, 3));
    let mut bad = good.bytes.clone();
    bad[10] ^= 1;
    for opts in [
        isolated_options(),
        RegistryOptions {
            monolithic_limit: 1000,
            chunk_size: 7000,
            ..isolated_options()
        },
    ] {
        let repo = open(&reg.reference("corrupt:1"), &opts);
        let err = repo
            .put_blob(&descriptor(&good), &mut &bad[..], None)
            .unwrap_err();
        assert!(matches!(err, OciError::Verify(_)), "{err}");
        assert!(err.to_string().contains("digest mismatch"), "{err}");
        let short = &good.bytes[..good.bytes.len() - 1];
        let err = repo
            .put_blob(&descriptor(&good), &mut &short[..], None)
            .unwrap_err();
        assert!(err.to_string().contains("size mismatch"), "{err}");
        assert!(
            !repo.has_blob(&descriptor(&good)).unwrap(),
            "nothing was stored under the digest"
        );
    }
}

#[test]
fn a_blob_corrupted_in_registry_storage_fails_verification() {
    let reg = Registry::start();
    let image = small_image();
    let repo = open(&reg.reference("tampered:1"), &isolated_options());
    push_image(&repo, &image, Some("1"));
    let layer = &image.layers[0];
    let path = reg
        .storage()
        .join("docker/registry/v2/blobs/sha256")
        .join(&layer.hex()[..2])
        .join(layer.hex())
        .join("data");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let err = read_all(repo.open_blob(&descriptor(layer)).unwrap()).unwrap_err();
    let err = OciError::io("reading", err);
    assert!(matches!(err, OciError::Verify(_)), "{err}");
    assert!(err.to_string().contains(&layer.digest), "{err}");
}

#[test]
fn a_missing_tag_is_not_found_with_the_registry_code() {
    let reg = Registry::start();
    let src = open(&reg.reference("nothing:here"), &isolated_options());
    let err = src.resolve().unwrap_err();
    assert!(matches!(err, OciError::NotFound { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("here") && text.contains("UNKNOWN"), "{text}");
}

/// An artifact manifest (empty config, one layer) whose subject is `subject`.
fn artifact(subject: &Blob, artifact_type: &str, payload: &[u8]) -> (Vec<Blob>, Blob) {
    let config = Blob::new("application/vnd.oci.empty.v1+json", b"{}".to_vec());
    let layer = Blob::new("application/vnd.proofline.test+json", payload.to_vec());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": artifact_type,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
        "subject": subject.descriptor(),
        "annotations": { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" },
    });
    (
        vec![config, layer],
        Blob::new(
            "application/vnd.oci.image.manifest.v1+json",
            serde_json::to_vec(&manifest).unwrap(),
        ),
    )
}

#[test]
fn referrers_fall_back_to_the_tag_schema_on_a_registry_without_the_api() {
    let reg = Registry::start();
    let image = small_image();
    let repo = open(&reg.reference("signed:1"), &isolated_options());
    push_image(&repo, &image, Some("1"));
    let subject: Digest = image.manifest.digest.parse().unwrap();
    assert!(repo.referrers(&subject, None).unwrap().is_empty());

    let (sig_blobs, sig) = artifact(
        &image.manifest,
        "application/vnd.proofline.signature",
        b"{\"sig\":1}",
    );
    let (sbom_blobs, sbom) = artifact(&image.manifest, "application/spdx+json", b"{\"spdx\":1}");
    for b in sig_blobs.iter().chain(&sbom_blobs) {
        push_blob(&repo, b);
    }
    let d1 = repo
        .attach(&descriptor(&image.manifest), &raw(&sig))
        .unwrap();
    let d2 = repo
        .attach(&descriptor(&image.manifest), &raw(&sbom))
        .unwrap();
    assert_eq!(d1.digest().to_string(), sig.digest);
    assert_eq!(
        d1.artifact_type().as_ref().unwrap().to_string(),
        "application/vnd.proofline.signature"
    );
    // Attaching again does not duplicate the entry.
    repo.attach(&descriptor(&image.manifest), &raw(&sig))
        .unwrap();

    let all = repo.referrers(&subject, None).unwrap();
    let digests: Vec<String> = all.iter().map(|d| d.digest().to_string()).collect();
    assert_eq!(digests, vec![sig.digest.clone(), sbom.digest.clone()]);
    assert_eq!(all[1], d2);
    let only_sbom = repo
        .referrers(&subject, Some("application/spdx+json"))
        .unwrap();
    assert_eq!(only_sbom.len(), 1);
    assert_eq!(only_sbom[0].digest().to_string(), sbom.digest);
    assert!(
        repo.referrers(&subject, Some("application/none"))
            .unwrap()
            .is_empty()
    );

    // The fallback tag is a plain OCI index any client reads.
    let tag = fallback_tag(&subject);
    assert_eq!(tag, format!("sha256-{}", image.manifest.hex()));
    let index: Value = serde_json::from_slice(&skopeo_inspect_raw(
        &reg.docker(&format!("signed:{tag}")),
        None,
    ))
    .unwrap();
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.created"],
        "2024-01-01T00:00:00Z"
    );
}

#[test]
fn attach_refuses_an_artifact_for_another_subject() {
    let reg = Registry::start();
    let image = small_image();
    let other = TestImage::new(&[("x", b"y")]);
    let repo = open(&reg.reference("subj:1"), &isolated_options());
    push_image(&repo, &image, Some("1"));
    let (_, art) = artifact(&other.manifest, "application/x", b"1");
    let err = repo
        .attach(&descriptor(&image.manifest), &raw(&art))
        .unwrap_err();
    assert!(err.to_string().contains("subject"), "{err}");
}
