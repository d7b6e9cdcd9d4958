//! `docker save` archives, both flavours, hand-built and made by the real skopeo: they must
//! list exactly like the layout they came from.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use proofline_oci::{ArchiveFlavour, Digest, DockerArchive, ImageRef, ImageSource, OciError};
use serde_json::json;

fn layers() -> Vec<Layer> {
    vec![
        layer(
            &[
                Node::Dir("usr/"),
                Node::Dir("usr/lib/"),
                file("usr/lib/os-release", "ID=test\n"),
                Node::Symlink("etc", "usr/etc"),
                Node::Hardlink("usr/lib/os-release.bak", "usr/lib/os-release"),
            ],
            Comp::None,
        ),
        layer(
            &[
                Node::Dir("usr/lib/"),
                file("usr/lib/.wh.os-release", ""),
                file("usr/lib/new", "new"),
            ],
            Comp::None,
        ),
        // The same layer twice: docker save stores it once and links the second.
        layer(&[file("dup", "same")], Comp::None),
        layer(&[file("dup", "same")], Comp::None),
    ]
}

enum Member<'a> {
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
}

fn write_tar(path: &Path, members: &[Member<'_>]) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for m in members {
        let mut h = tar::Header::new_ustar();
        match m {
            Member::File(name, data) => {
                h.set_size(data.len() as u64);
                h.set_mode(0o644);
                h.set_cksum();
                b.append_data(&mut h, name, *data).unwrap();
            }
            Member::Symlink(name, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, name, target).unwrap();
            }
        }
    }
    b.finish().unwrap();
}

/// A legacy `docker save` tarball of `layers` (`<id>/layer.tar`, `<hex>.json` config).
fn legacy_archive(path: &Path, layers: &[Layer]) -> Vec<u8> {
    let config = serde_json::to_vec(&config_for(layers, "amd64", json!({"Cmd": ["sh"]}))).unwrap();
    let config_name = format!("{}.json", Digest::of(&config).hex());
    let ids: Vec<String> = (0..layers.len())
        .map(|i| format!("{:064x}", i + 1))
        .collect();
    let names: Vec<String> = ids.iter().map(|id| format!("{id}/layer.tar")).collect();
    let manifest = serde_json::to_vec(
        &json!([{"Config": config_name, "RepoTags": ["test/app:1.0"], "Layers": names}]),
    )
    .unwrap();
    let mut members = vec![
        Member::File("manifest.json", &manifest),
        Member::File(&config_name, &config),
    ];
    let link = format!("../{}/layer.tar", ids[2]);
    for (i, l) in layers.iter().enumerate() {
        if i == 3 {
            members.push(Member::Symlink(&names[3], &link));
        } else {
            members.push(Member::File(&names[i], &l.blob));
        }
    }
    write_tar(path, &members);
    config
}

#[test]
fn legacy_archive_lists_like_the_layout() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    write_layout(&layout, &layers(), None);
    let tarball = work.path().join("legacy.tar");
    legacy_archive(&tarball, &layers());
    let archive = DockerArchive::open(&tarball).unwrap();
    assert_eq!(archive.flavour(), ArchiveFlavour::Legacy);
    assert_eq!(archive.repo_tags(), ["test/app:1.0"]);
    let r: ImageRef = format!("docker-archive:{}", tarball.display())
        .parse()
        .unwrap();
    let listing = ls(&r);
    assert_eq!(listing, ls(&oci_ref(&layout)));
    assert_eq!(listing.len(), 6, "{listing:#?}");
    // The synthesised manifest is deterministic and uses the real layer digests.
    let again = DockerArchive::open(&tarball).unwrap();
    assert_eq!(archive.resolve().unwrap(), again.resolve().unwrap());
    let image = proofline_oci::Image::open(&r, &Default::default()).unwrap();
    let ids = image.identity();
    for (l, want) in ids.layers.iter().zip(layers()) {
        assert_eq!(l.digest, Digest::of(&want.blob));
        assert_eq!(l.media_type, TAR);
        assert_eq!(
            l.diff_id.as_deref(),
            Some(want.diff_id.to_string().as_str())
        );
    }
}

#[test]
fn legacy_archive_with_gzip_layers_detects_and_hashes_them() {
    let work = tempfile::tempdir().unwrap();
    let ls_layers = vec![
        layer(&[file("a", "1")], Comp::Gzip),
        layer(&[file("b", "2")], Comp::Gzip),
    ];
    let tarball = work.path().join("gz.tar");
    let config = serde_json::to_vec(&config_for(&ls_layers, "amd64", json!({}))).unwrap();
    let manifest = serde_json::to_vec(&json!([{"Config": "config.json", "RepoTags": null, "Layers": ["l1/layer.tar", "l2/layer.tar"]}])).unwrap();
    write_tar(
        &tarball,
        &[
            Member::File("manifest.json", &manifest),
            Member::File("config.json", &config),
            Member::File("l1/layer.tar", &ls_layers[0].blob),
            Member::File("l2/layer.tar", &ls_layers[1].blob),
        ],
    );
    let r: ImageRef = format!("docker-archive:{}", tarball.display())
        .parse()
        .unwrap();
    let image = proofline_oci::Image::open(&r, &Default::default()).unwrap();
    let ids = image.identity();
    assert_eq!(ids.layers[0].media_type, TAR_GZIP);
    assert_eq!(ids.layers[0].digest, Digest::of(&ls_layers[0].blob));
    assert_eq!(ls(&r).len(), 2);
}

#[test]
fn oci_flavoured_archive_preserves_digests() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let digest = write_layout(&layout, &layers(), Some("1.0"));
    // Docker >= 25: the layout's files inside the tar, plus a manifest.json.
    let mut owned: Vec<(String, Vec<u8>)> = Vec::new();
    for name in ["oci-layout", "index.json"] {
        owned.push((name.to_string(), std::fs::read(layout.join(name)).unwrap()));
    }
    for e in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        owned.push((
            format!("blobs/sha256/{}", e.file_name().to_string_lossy()),
            std::fs::read(e.path()).unwrap(),
        ));
    }
    owned.push(("manifest.json".into(), b"[]".to_vec()));
    let members: Vec<Member<'_>> = owned.iter().map(|(n, b)| Member::File(n, b)).collect();
    let tarball = work.path().join("oci.tar");
    write_tar(&tarball, &members);
    let archive = DockerArchive::open(&tarball).unwrap();
    assert_eq!(archive.flavour(), ArchiveFlavour::Oci);
    assert_eq!(archive.resolve().unwrap().digest, digest);
    let r: ImageRef = format!("docker-archive:{}", tarball.display())
        .parse()
        .unwrap();
    assert_eq!(ls(&r), ls(&oci_ref(&layout)));
}

#[test]
fn archives_with_several_images_or_nothing_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let two = serde_json::to_vec(&json!([
        {"Config": "a.json", "RepoTags": ["a:1"], "Layers": []},
        {"Config": "b.json", "RepoTags": ["b:2"], "Layers": []},
    ]))
    .unwrap();
    let path = work.path().join("two.tar");
    write_tar(&path, &[Member::File("manifest.json", &two)]);
    let err = DockerArchive::open(&path).unwrap_err();
    assert!(
        matches!(err, OciError::Ambiguous { .. }) && err.to_string().contains("a:1, b:2"),
        "{err}"
    );
    let empty = work.path().join("empty.tar");
    write_tar(&empty, &[Member::File("README", b"hi")]);
    assert!(
        DockerArchive::open(&empty)
            .unwrap_err()
            .to_string()
            .contains("manifest.json")
    );
    let not_tar = work.path().join("not.tar");
    std::fs::write(&not_tar, vec![b'x'; 2048]).unwrap();
    assert!(DockerArchive::open(&not_tar).is_err());
    let gz = work.path().join("image.tar.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(&path).unwrap(), &mut e).unwrap();
    e.finish().unwrap();
    let err = DockerArchive::open(&gz).unwrap_err().to_string();
    assert!(
        err.contains("gzip-compressed; decompress it first"),
        "{err}"
    );
    let dup = work.path().join("dup.tar");
    write_tar(
        &dup,
        &[
            Member::File("manifest.json", b"[]"),
            Member::File("./manifest.json", b"[]"),
        ],
    );
    assert!(
        DockerArchive::open(&dup)
            .unwrap_err()
            .to_string()
            .contains("ambiguous")
    );
}

#[test]
fn a_tampered_layer_inside_an_archive_is_caught() {
    let work = tempfile::tempdir().unwrap();
    let ls_layers = vec![layer(&[file("a", "payload-1")], Comp::None)];
    let tarball = work.path().join("t.tar");
    let config = serde_json::to_vec(&config_for(&ls_layers, "amd64", json!({}))).unwrap();
    let manifest =
        serde_json::to_vec(&json!([{"Config": "c.json", "Layers": ["l/layer.tar"]}])).unwrap();
    let evil = layer(&[file("a", "payload-2")], Comp::None);
    write_tar(
        &tarball,
        &[
            Member::File("manifest.json", &manifest),
            Member::File("c.json", &config),
            Member::File("l/layer.tar", &evil.blob),
        ],
    );
    let r: ImageRef = format!("docker-archive:{}", tarball.display())
        .parse()
        .unwrap();
    let err = walk_ref(&r, &Default::default(), &Default::default()).unwrap_err();
    assert!(
        err.to_string().contains("digest mismatch"),
        "the diff ID from the config pins the layer: {err}"
    );
}

fn skopeo() -> Option<&'static str> {
    let path = "/usr/bin/skopeo";
    if Path::new(path).exists() {
        Some(path)
    } else {
        eprintln!("skipping: skopeo is not installed at {path}");
        None
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn skopeo_made_archives_list_like_the_layout() {
    let Some(skopeo) = skopeo() else { return };
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    // Docker images cannot carry zstd layers, so skopeo's docker-archive gets gzip and
    // plain ones; the oci-archive below gets a zstd one too.
    let mixed = |middle: Comp| {
        vec![
            layer(
                &[
                    Node::Dir("etc/"),
                    file("etc/passwd", "root:x:0:0\n"),
                    Node::Symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
                ],
                Comp::Gzip,
            ),
            layer(
                &[
                    Node::Dir("etc/"),
                    file("etc/.wh.passwd", ""),
                    file("etc/group", "root:x:0:\n"),
                ],
                middle,
            ),
            layer(&[Node::Dir("opt/"), file("opt/app", "binary")], Comp::None),
        ]
    };
    let digest = write_layout(&layout, &mixed(Comp::Gzip), Some("1.0"));
    let zstd_layout = work.path().join("zstd-layout");
    let zstd_digest = write_layout(&zstd_layout, &mixed(Comp::Zstd), Some("1.0"));
    let expected = ls(&oci_ref(&layout));
    assert_eq!(expected.len(), 5, "{expected:#?}");
    let policy = work.path().join("policy.json");
    std::fs::write(
        &policy,
        br#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    let src = format!("oci:{}:1.0", layout.display());

    // docker-archive: skopeo writes the legacy `docker save` format.
    let legacy = work.path().join("legacy.tar");
    run(Command::new(skopeo)
        .arg("--policy")
        .arg(&policy)
        .args(["copy", "-q", &src])
        .arg(format!("docker-archive:{}:test/app:1.0", legacy.display())));
    let archive = DockerArchive::open(&legacy).unwrap();
    assert_eq!(archive.flavour(), ArchiveFlavour::Legacy);
    assert_eq!(archive.repo_tags(), ["docker.io/test/app:1.0"]);
    let r: ImageRef = format!("docker-archive:{}", legacy.display())
        .parse()
        .unwrap();
    assert_eq!(
        ls(&r),
        expected,
        "skopeo's docker-archive lists like the layout"
    );

    // oci-archive: an OCI layout in a tar, digests preserved, zstd layers included
    // (`--preserve-digests`, else skopeo compresses the uncompressed layer).
    let oci_archive = work.path().join("oci.tar");
    let zstd_src = format!("oci:{}:1.0", zstd_layout.display());
    run(Command::new(skopeo)
        .arg("--policy")
        .arg(&policy)
        .args(["copy", "-q", "--preserve-digests", &zstd_src])
        .arg(format!("oci-archive:{}:1.0", oci_archive.display())));
    let archive = DockerArchive::open(&oci_archive).unwrap();
    assert_eq!(archive.flavour(), ArchiveFlavour::Oci);
    assert_eq!(archive.resolve().unwrap().digest, zstd_digest);
    let r: ImageRef = format!("docker-archive:{}", oci_archive.display())
        .parse()
        .unwrap();
    assert_eq!(ls(&r), expected);

    // And skopeo reads what we write: our archive → skopeo → a layout with the same digest.
    let ours = work.path().join("ours.tar");
    let ours_ref: ImageRef = format!("docker-archive:{}", ours.display())
        .parse()
        .unwrap();
    proofline_oci::copy_image(&oci_ref(&layout), &ours_ref, &Default::default()).unwrap();
    let back = work.path().join("back");
    run(Command::new(skopeo)
        .arg("--policy")
        .arg(&policy)
        .args(["copy", "-q", "--preserve-digests"])
        .arg(format!("oci-archive:{}", ours.display()))
        .arg(format!("oci:{}:rt", back.display())));
    let back_ref: ImageRef = format!("oci:{}:rt", back.display()).parse().unwrap();
    assert_eq!(
        proofline_oci::Image::open(&back_ref, &Default::default())
            .unwrap()
            .digest(),
        &digest
    );
    assert_eq!(ls(&back_ref), expected);
    // skopeo also reads it as a docker-archive (through manifest.json).
    let back2 = work.path().join("back2");
    run(Command::new(skopeo)
        .arg("--policy")
        .arg(&policy)
        .args(["copy", "-q"])
        .arg(format!("docker-archive:{}", ours.display()))
        .arg(format!("oci:{}:rt", back2.display())));
    assert_eq!(
        ls(&format!("oci:{}:rt", back2.display()).parse().unwrap()),
        expected
    );
}
