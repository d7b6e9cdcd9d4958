//! OCI layouts read and written, and copies between layouts and docker-archives that
//! keep the manifest digest.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proofline_oci::image::sink_tag;
use proofline_oci::{
    Digest, DockerArchive, DockerArchiveSink, ImageRef, ImageSink, ImageSource, LayoutSink,
    OciError, OciLayout, OpenOptions, Selector, copy, copy_image,
};
use serde_json::{Value, json};

fn small_layers() -> Vec<Layer> {
    vec![
        layer(
            &[
                Node::Dir("etc/"),
                file("etc/passwd", "root:x:0:0\n"),
                Node::Symlink("etc/mtab", "/proc/mounts"),
            ],
            Comp::Gzip,
        ),
        layer(
            &[file("etc/.wh.passwd", ""), file("etc/hostname", "box\n")],
            Comp::Zstd,
        ),
    ]
}

#[test]
fn layout_selection_by_tag_digest_and_the_single_image() {
    let dir = tempfile::tempdir().unwrap();
    let layers = small_layers();
    let (m1, d1) = store_image(
        dir.path(),
        &layers[..1],
        &config_for(&layers[..1], "amd64", json!({})),
    );
    let (m2, d2) = store_image(
        dir.path(),
        &layers,
        &config_for(&layers, "amd64", json!({})),
    );
    write_index(
        dir.path(),
        vec![
            index_entry(
                "application/vnd.oci.image.manifest.v1+json",
                &m1,
                &d1,
                Some("1.0"),
            ),
            index_entry(
                "application/vnd.oci.image.manifest.v1+json",
                &m2,
                &d2,
                Some("2.0"),
            ),
        ],
    );
    let open = |sel: Option<Selector>| OciLayout::open(dir.path(), sel);
    assert_eq!(
        open(Some(Selector::Tag("2.0".into())))
            .unwrap()
            .resolve()
            .unwrap()
            .digest,
        d2
    );
    assert_eq!(
        open(Some(Selector::Digest(d1.clone())))
            .unwrap()
            .resolve()
            .unwrap()
            .digest,
        d1
    );
    let err = open(None).unwrap().resolve().unwrap_err();
    assert!(matches!(err, OciError::Ambiguous { .. }), "{err:?}");
    assert!(
        err.to_string().contains("1.0, 2.0"),
        "the error lists the tags: {err}"
    );
    let err = open(Some(Selector::Tag("3.0".into())))
        .unwrap()
        .resolve()
        .unwrap_err();
    assert!(
        err.to_string().contains("tag `3.0` was not found") && err.to_string().contains("1.0, 2.0"),
        "{err}"
    );
    assert_eq!(open(None).unwrap().tags(), ["1.0", "2.0"]);
}

#[test]
fn manifests_without_a_media_type_field_are_read() {
    // umoci and others omit the optional `mediaType` in the manifest itself.
    let dir = tempfile::tempdir().unwrap();
    let layers = small_layers();
    let config = serde_json::to_vec(&config_for(&layers, "amd64", json!({}))).unwrap();
    let cd = write_blob(dir.path(), &config);
    let manifest = json!({
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
        "layers": layers.iter().map(|l| json!({"mediaType": l.media_type, "digest": write_blob(dir.path(), &l.blob).to_string(), "size": l.blob.len()})).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let d = write_blob(dir.path(), &bytes);
    write_index(
        dir.path(),
        vec![index_entry(
            "application/vnd.oci.image.manifest.v1+json",
            &bytes,
            &d,
            None,
        )],
    );
    let entries = ls(&oci_ref(dir.path()));
    assert_eq!(entries.len(), 3, "{entries:?}");
}

#[test]
fn not_a_layout_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = OciLayout::open(dir.path(), None).unwrap_err();
    assert!(err.to_string().contains("oci-layout"), "{err}");
    let err = OciLayout::open(dir.path().join("missing"), None).unwrap_err();
    assert!(matches!(err, OciError::NotFound { .. }), "{err:?}");
}

#[test]
fn copy_layout_to_layout_preserves_the_digest_and_the_listing() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let digest = write_layout(src.path(), &small_layers(), Some("v1"));
    let dst_dir = dst.path().join("new-layout");
    let dst_ref: ImageRef = format!("oci:{}:copied", dst_dir.display()).parse().unwrap();
    let report = copy_image(&oci_ref(src.path()), &dst_ref, &OpenOptions::default()).unwrap();
    assert_eq!(report.digest.as_ref(), Some(&digest));
    assert_eq!(
        (report.manifests, report.blobs_copied, report.blobs_skipped),
        (1, 3, 0)
    );
    let back: ImageRef = format!("oci:{}:copied", dst_dir.display()).parse().unwrap();
    assert_eq!(ls(&back), ls(&oci_ref(src.path())));
    assert_eq!(
        OciLayout::open(&dst_dir, None)
            .unwrap()
            .resolve()
            .unwrap()
            .digest,
        digest
    );
    // Copying again skips every blob and replaces the tag's entry instead of adding one.
    let again = copy_image(&oci_ref(src.path()), &dst_ref, &OpenOptions::default()).unwrap();
    assert_eq!((again.blobs_copied, again.blobs_skipped), (0, 3));
    let index: Value =
        serde_json::from_slice(&std::fs::read(dst_dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    // A second tag adds an entry.
    let other: ImageRef = format!("oci:{}:other", dst_dir.display()).parse().unwrap();
    copy_image(&oci_ref(src.path()), &other, &OpenOptions::default()).unwrap();
    assert_eq!(
        OciLayout::open(&dst_dir, None).unwrap().tags(),
        ["copied", "other"]
    );
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dst_dir.join("blobs/sha256"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".tmp")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn copy_layout_to_archive_to_layout_preserves_the_digest() {
    let src = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let digest = write_layout(src.path(), &small_layers(), Some("v1"));
    let archive = work.path().join("image.tar");
    let archive_ref: ImageRef = format!("docker-archive:{}", archive.display())
        .parse()
        .unwrap();
    copy_image(&oci_ref(src.path()), &archive_ref, &OpenOptions::default()).unwrap();
    let a = DockerArchive::open(&archive).unwrap();
    assert_eq!(a.flavour(), proofline_oci::ArchiveFlavour::Oci);
    assert_eq!(a.resolve().unwrap().digest, digest);
    assert_eq!(ls(&archive_ref), ls(&oci_ref(src.path())));
    let back = work.path().join("back");
    let back_ref: ImageRef = format!("oci:{}:rt", back.display()).parse().unwrap();
    let report = copy_image(&archive_ref, &back_ref, &OpenOptions::default()).unwrap();
    assert_eq!(report.digest, Some(digest.clone()));
    assert_eq!(
        OciLayout::open(&back, None)
            .unwrap()
            .resolve()
            .unwrap()
            .digest,
        digest
    );
    // The archive also carries a docker-load manifest.json pointing at real members.
    let mut tar = tar::Archive::new(std::fs::File::open(&archive).unwrap());
    let mut names = Vec::new();
    let mut docker_manifest = Value::Null;
    for e in tar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        if name == "manifest.json" {
            docker_manifest = serde_json::from_reader(&mut e).unwrap();
        }
        names.push(name);
    }
    let entry = &docker_manifest[0];
    assert!(names.contains(&entry["Config"].as_str().unwrap().to_string()));
    for l in entry["Layers"].as_array().unwrap() {
        assert!(names.contains(&l.as_str().unwrap().to_string()));
    }
    assert!(names.contains(&"oci-layout".to_string()) && names.contains(&"index.json".to_string()));
}

#[test]
fn a_failed_archive_write_leaves_nothing_behind() {
    let src = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let layers = small_layers();
    write_layout(src.path(), &layers, None);
    // Corrupt a layer blob so the copy fails half-way.
    let blob = src
        .path()
        .join("blobs/sha256")
        .join(Digest::of(&layers[1].blob).hex());
    let mut bytes = std::fs::read(&blob).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();
    let archive = work.path().join("out.tar");
    let sink = DockerArchiveSink::create(&archive).unwrap();
    let source = OciLayout::open(src.path(), None).unwrap();
    let err = copy(&source, &sink, None).unwrap_err();
    assert!(matches!(err, OciError::Verify(_)), "{err:?}");
    drop(sink);
    assert!(!archive.exists());
    assert_eq!(
        std::fs::read_dir(work.path()).unwrap().count(),
        0,
        "the temporary tar is removed"
    );
}

#[test]
fn copy_of_an_index_copies_every_platform() {
    let src = tempfile::tempdir().unwrap();
    let amd = vec![layer(&[file("arch", "amd64")], Comp::Gzip)];
    let arm = vec![layer(&[file("arch", "arm64")], Comp::Gzip)];
    let (ma, da) = store_image(src.path(), &amd, &config_for(&amd, "amd64", json!({})));
    let (mr, dr) = store_image(src.path(), &arm, &config_for(&arm, "arm64", json!({})));
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": da.to_string(), "size": ma.len(), "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": dr.to_string(), "size": mr.len(), "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        ],
    });
    let ib = serde_json::to_vec(&index).unwrap();
    let di = write_blob(src.path(), &ib);
    write_index(
        src.path(),
        vec![index_entry(
            "application/vnd.oci.image.index.v1+json",
            &ib,
            &di,
            Some("multi"),
        )],
    );
    let work = tempfile::tempdir().unwrap();
    let dst = work.path().join("dst");
    let dst_ref: ImageRef = format!("oci:{}", dst.display()).parse().unwrap();
    let report = copy_image(&oci_ref(src.path()), &dst_ref, &OpenOptions::default()).unwrap();
    assert_eq!(report.digest, Some(di.clone()));
    assert_eq!(report.manifests, 3);
    // Only the index is a top-level entry; both platforms resolve from the copy.
    let index_json: Value =
        serde_json::from_slice(&std::fs::read(dst.join("index.json")).unwrap()).unwrap();
    assert_eq!(index_json["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(index_json["manifests"][0]["digest"], di.to_string());
    let arm_opts = OpenOptions {
        platform: "linux/arm64".parse().unwrap(),
        ..Default::default()
    };
    let img = proofline_oci::Image::open(&dst_ref, &arm_opts).unwrap();
    assert_eq!(img.digest(), &dr);
    assert_eq!(img.identity().index_digest, Some(di));
    // Through an archive too.
    let archive: ImageRef = format!("docker-archive:{}", work.path().join("multi.tar").display())
        .parse()
        .unwrap();
    copy_image(&oci_ref(src.path()), &archive, &OpenOptions::default()).unwrap();
    assert_eq!(
        proofline_oci::Image::open(&archive, &arm_opts)
            .unwrap()
            .digest(),
        &dr
    );
    assert_eq!(
        proofline_oci::Image::open(&archive, &OpenOptions::default())
            .unwrap()
            .digest(),
        &da
    );
}

#[test]
fn layout_sink_refuses_non_layouts_and_digest_destinations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "keep me").unwrap();
    let err = LayoutSink::create(dir.path()).unwrap_err();
    assert!(err.to_string().contains("non-empty directory"), "{err}");
    let d = Digest::of(b"x");
    let r: ImageRef = format!("oci:{}@{d}", dir.path().display()).parse().unwrap();
    assert!(proofline_oci::open_sink(&r, &OpenOptions::default()).is_err());
    assert_eq!(
        sink_tag(&format!("oci:{}:t", dir.path().display()).parse().unwrap()),
        Some("t".into())
    );
}

#[test]
fn layout_sink_verifies_blobs_before_they_land() {
    let dir = tempfile::tempdir().unwrap();
    let sink = LayoutSink::create(dir.path().join("l")).unwrap();
    let desc = oci_spec::image::Descriptor::new(
        oci_spec::image::MediaType::ImageLayer,
        5,
        oci_spec::image::Digest::try_from(Digest::of(b"hello").to_string()).unwrap(),
    );
    let err = sink.put_blob(&desc, &mut &b"hellO"[..], None).unwrap_err();
    assert!(matches!(err, OciError::Verify(_)), "{err:?}");
    assert!(!sink.has_blob(&desc).unwrap());
    sink.put_blob(&desc, &mut &b"hello"[..], None).unwrap();
    assert!(sink.has_blob(&desc).unwrap());
    let names: Vec<String> = std::fs::read_dir(dir.path().join("l/blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [Digest::of(b"hello").hex().to_string()]);
}
