//! Hostile images: escaping names, escaping links, duplicates, truncated and tampered
//! blobs, decompression bombs, symlinked blobs. Each gets a warning or a clear error.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;

use common::*;
use proofline_oci::{Digest, Image, OciError, OpenOptions, WalkOptions, WarningCode};

fn open_walk(
    dir: &std::path::Path,
    opts: &OpenOptions,
) -> Result<(Vec<proofline_oci::Entry>, proofline_oci::WalkReport), OciError> {
    walk_ref(&oci_ref(dir), opts, &WalkOptions::default())
}

fn codes(report: &proofline_oci::WalkReport) -> Vec<&'static str> {
    report.warnings.iter().map(|w| w.code.as_str()).collect()
}

#[test]
fn traversal_and_absolute_names_are_skipped_or_normalised_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let l = layer(
        &[
            Node::RawFile(
                b"../../etc/cron.d/evil".to_vec(),
                b"* * * * * root sh".to_vec(),
            ),
            Node::RawFile(b"a/../../escape".to_vec(), b"x".to_vec()),
            Node::RawFile(b"/etc/absolute".to_vec(), b"abs".to_vec()),
            Node::RawFile(b"usr/../etc/normal".to_vec(), b"n".to_vec()),
            Node::RawFile(b"bad\xffname".to_vec(), b"b".to_vec()),
        ],
        Comp::Gzip,
    );
    write_layout(dir.path(), &[l], None);
    let (entries, report) = open_walk(dir.path(), &OpenOptions::default()).unwrap();
    assert_eq!(
        paths(&entries),
        [
            "/etc/absolute file",
            "/etc/normal file",
            "/bad\u{fffd}name file"
        ]
    );
    assert_eq!(
        codes(&report),
        [
            "path-escapes-root",
            "path-escapes-root",
            "absolute-path",
            "dot-dot-in-path",
            "non-utf8-path"
        ]
    );
    assert_eq!(
        report.warnings[0].path.as_deref(),
        Some("../../etc/cron.d/evil")
    );
    assert!(report.warnings[0].layer.starts_with("sha256:"));
}

#[test]
fn symlinks_escaping_the_root_are_kept_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let l = layer(
        &[
            Node::Dir("etc/"),
            Node::Symlink("etc/evil", "../../../../etc/shadow"),
            Node::Symlink("etc/fine", "/etc/passwd"),
            Node::Symlink("etc/rel", "../usr/lib/os-release"),
            Node::Hardlink("etc/hl", "../../outside"),
        ],
        Comp::None,
    );
    write_layout(dir.path(), &[l], None);
    let (entries, report) = open_walk(dir.path(), &OpenOptions::default()).unwrap();
    let evil = entries.iter().find(|e| e.path == "/etc/evil").unwrap();
    assert_eq!(
        evil.link.as_deref(),
        Some("../../../../etc/shadow"),
        "the target is data, kept verbatim"
    );
    assert_eq!(
        proofline_oci::resolve_in_root(&evil.path, evil.link.as_deref().unwrap()),
        "/etc/shadow"
    );
    let hl = entries.iter().find(|e| e.path == "/etc/hl").unwrap();
    assert_eq!(hl.link.as_deref(), Some("/outside"), "clamped at the root");
    assert_eq!(
        codes(&report),
        ["symlink-escapes-root", "hardlink-escapes-root"]
    );
}

#[test]
fn duplicate_entries_in_one_layer_keep_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let l = layer(
        &[
            file("etc/passwd", "first"),
            file("./etc/passwd", "second"),
            file("etc//passwd", "third"),
        ],
        Comp::Gzip,
    );
    write_layout(dir.path(), &[l], None);
    let (entries, report) = open_walk(dir.path(), &OpenOptions::default()).unwrap();
    assert_eq!(paths(&entries), ["/etc/passwd file"]);
    assert_eq!(
        entries[0].sha256.as_deref(),
        Some(sha256_hex(b"first").as_str())
    );
    assert_eq!(codes(&report), ["duplicate-entry", "duplicate-entry"]);
}

#[test]
fn entries_below_a_file_of_the_same_layer_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write_layout(
        dir.path(),
        &[layer(
            &[file("a", "file"), file("a/b", "under a file")],
            Comp::None,
        )],
        None,
    );
    let (entries, report) = open_walk(dir.path(), &OpenOptions::default()).unwrap();
    assert_eq!(paths(&entries), ["/a file"]);
    assert_eq!(codes(&report), ["entry-under-non-directory"]);
}

#[test]
fn invalid_whiteouts_are_ignored_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let base = layer(&[file("x", "1")], Comp::None);
    let top = layer(&[file(".wh.", ""), file(".wh..wh.plnk", "")], Comp::None);
    write_layout(dir.path(), &[base, top], None);
    let (entries, report) = open_walk(dir.path(), &OpenOptions::default()).unwrap();
    assert_eq!(paths(&entries), ["/x file"]);
    assert_eq!(codes(&report), ["invalid-whiteout"]);
}

#[test]
fn truncated_gzip_is_an_error_naming_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let good = layer(&[file("ok", "fine")], Comp::Gzip);
    let full = layer(&[file("big", &"0123456789".repeat(10_000))], Comp::Gzip);
    // The manifest describes the truncated bytes, so only the gzip stream is wrong.
    let truncated = Layer {
        blob: full.blob[..full.blob.len() / 2].to_vec(),
        ..full
    };
    let bad_digest = Digest::of(&truncated.blob);
    write_layout(dir.path(), &[good, truncated], None);
    let err = open_walk(dir.path(), &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, OciError::Layer { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("layer 2 ({bad_digest})")), "{msg}");
}

#[test]
fn truncated_tar_is_an_error_naming_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_of(&[file("a", &"y".repeat(4000))]);
    let cut = &tar[..512 + 1000];
    write_layout(dir.path(), &[layer_from_tar(cut, Comp::Zstd)], None);
    let err = open_walk(dir.path(), &OpenOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("layer 1 (sha256:"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn a_blob_with_the_wrong_digest_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let l = layer(&[file("a", "original content")], Comp::Gzip);
    write_layout(dir.path(), std::slice::from_ref(&l), None);
    // Tamper with the stored blob, keeping its size: same length, different bytes.
    let evil = layer(&[file("a", "tampered content")], Comp::Gzip);
    assert_eq!(evil.blob.len(), l.blob.len());
    let path = dir
        .path()
        .join("blobs/sha256")
        .join(Digest::of(&l.blob).hex());
    std::fs::write(&path, &evil.blob).unwrap();
    let err = open_walk(dir.path(), &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, OciError::Verify(_)), "{err:?}");
    assert!(err.to_string().contains("digest mismatch"), "{err}");
    // A size change is caught before reading.
    std::fs::write(&path, b"short").unwrap();
    let err = open_walk(dir.path(), &OpenOptions::default()).unwrap_err();
    assert!(err.to_string().contains("size mismatch"), "{err}");
}

#[test]
fn a_tampered_config_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let l = layer(&[file("a", "1")], Comp::None);
    write_layout(dir.path(), &[l], None);
    let image = Image::open(&oci_ref(dir.path()), &OpenOptions::default()).unwrap();
    let cfg = dir
        .path()
        .join("blobs/sha256")
        .join(image.config_digest().hex());
    let mut bytes = std::fs::read(&cfg).unwrap();
    let last = bytes.len() - 2;
    bytes[last] = b' ';
    std::fs::write(&cfg, bytes).unwrap();
    let err = Image::open(&oci_ref(dir.path()), &OpenOptions::default()).unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
}

#[test]
fn a_decompression_bomb_stops_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    // 8 MiB of zeros compresses to a few KiB.
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let tar = tar_of(&[Node::File("bomb", zeros)]);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&tar).unwrap();
    let l = Layer {
        blob: e.finish().unwrap(),
        media_type: TAR_GZIP.into(),
        diff_id: Digest::of(&tar),
    };
    assert!(l.blob.len() < 64 * 1024, "{}", l.blob.len());
    write_layout(dir.path(), &[l], None);
    let opts = OpenOptions {
        max_uncompressed_bytes: 1024 * 1024,
        ..Default::default()
    };
    let err = open_walk(dir.path(), &opts).unwrap_err();
    assert!(
        matches!(
            err,
            OciError::DecompressionLimit {
                limit: 1_048_576,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("layer 1 (sha256:") && msg.contains("1048576"),
        "{msg}"
    );
    // The same image is fine under the default limit.
    assert!(open_walk(dir.path(), &OpenOptions::default()).is_ok());
}

#[test]
fn the_budget_counts_all_layers_together() {
    let dir = tempfile::tempdir().unwrap();
    let mk = |name: &'static str| layer(&[Node::File(name, vec![1u8; 600 * 1024])], Comp::Zstd);
    write_layout(dir.path(), &[mk("a"), mk("b")], None);
    let opts = OpenOptions {
        max_uncompressed_bytes: 1024 * 1024,
        ..Default::default()
    };
    let err = open_walk(dir.path(), &opts).unwrap_err();
    assert!(
        err.to_string().contains("layer 1 ("),
        "the second layer read (the base) crosses the limit: {err}"
    );
}

#[test]
fn symlinked_blobs_leading_outside_the_layout_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let l = layer(&[file("a", "1")], Comp::Gzip);
    write_layout(dir.path(), std::slice::from_ref(&l), None);
    let blob = dir
        .path()
        .join("blobs/sha256")
        .join(Digest::of(&l.blob).hex());
    let target = outside.path().join("blob");
    std::fs::rename(&blob, &target).unwrap();
    std::os::unix::fs::symlink(&target, &blob).unwrap();
    let err = open_walk(dir.path(), &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, OciError::UnsafePath { .. }), "{err:?}");
    assert!(
        err.to_string().contains("outside the image layout"),
        "{err}"
    );
    // A symlink that stays inside the layout is fine.
    let inside = dir.path().join("moved-blob");
    std::fs::rename(&target, &inside).unwrap();
    std::fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink("../../moved-blob", &blob).unwrap();
    assert!(open_walk(dir.path(), &OpenOptions::default()).is_ok());
}

#[test]
fn descriptors_with_traversing_or_foreign_digests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_layout(dir.path(), &[layer(&[file("a", "1")], Comp::None)], None);
    // Rewrite index.json to point at a "digest" that is a path.
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha512:../../../../etc/passwd", "size": 10}]});
    std::fs::write(
        dir.path().join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    let err = Image::open(&oci_ref(dir.path()), &OpenOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(!msg.contains("root:"), "{msg}");
    assert!(
        msg.contains("index.json") || msg.contains("digest"),
        "{msg}"
    );
}

#[test]
fn many_warnings_are_capped_but_counted() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<Node> = (0..10_050)
        .map(|i| Node::RawFile(format!("../x{i}").into_bytes(), Vec::new()))
        .collect();
    write_layout(dir.path(), &[layer(&names, Comp::Gzip)], None);
    let (entries, report) = open_walk(dir.path(), &OpenOptions::default()).unwrap();
    assert!(entries.is_empty());
    assert_eq!(report.warnings.len(), 10_000);
    assert_eq!(report.warnings_dropped, 50);
    assert!(
        report
            .warnings
            .iter()
            .all(|w| w.code == WarningCode::PathEscapesRoot)
    );
}

#[test]
fn trailing_garbage_after_a_gzip_stream_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = layer(&[file("a", "1")], Comp::Gzip);
    l.blob.write_all(b"not gzip at all").unwrap();
    write_layout(dir.path(), &[l], None);
    let err = open_walk(dir.path(), &OpenOptions::default()).unwrap_err();
    assert!(err.to_string().contains("layer 1"), "{err}");
}
