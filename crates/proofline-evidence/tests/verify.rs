//! `verify` over real evidence directories that were tampered with in every way it reports.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;

use common::{fixed_dir, run_image, run_sbom};
use proofline_evidence::{EvidenceDir, ManifestProblem, VerifyReport, sha256_hex, verify};

#[test]
fn untouched_evidence_is_clean() {
    let (_tmp, dir) = fixed_dir();
    run_image(&dir);
    run_sbom(&dir);
    let report = verify(&dir).unwrap();
    assert!(report.is_clean(), "{}", report.render_text());
    assert_eq!(report.stages, ["image", "sbom"]);
    assert_eq!(report.artifacts_verified, 3);
    assert_eq!(
        report.render_text(),
        "evidence verify: 2 stage record(s) (image, sbom), 3 artifact(s) matched\nresult: clean\n"
    );
}

#[test]
fn empty_directory_is_clean_with_no_stages() {
    let (_tmp, dir) = fixed_dir();
    let report = dir.verify().unwrap();
    assert!(report.is_clean());
    assert!(report.stages.is_empty());
}

#[test]
fn finds_missing_modified_and_unrecorded_files() {
    let (_tmp, dir) = fixed_dir();
    let image = run_image(&dir);
    run_sbom(&dir);
    let root = dir.path();
    fs::remove_file(root.join("sbom/sbom.spdx.json")).unwrap();
    fs::write(root.join("image/layers/list.txt"), b"a\nb\nc\nd\n").unwrap();
    fs::write(root.join("image/extra.txt"), b"smuggled").unwrap();
    fs::create_dir(root.join("loose")).unwrap();
    fs::write(root.join("loose/file"), b"").unwrap();
    fs::create_dir(root.join(".tmp-proofline-abc")).unwrap(); // a killed writer's staging dir
    fs::write(root.join(".tmp-proofline-abc/half.json"), b"{").unwrap();

    let report = verify(&dir).unwrap();
    assert!(!report.is_clean());
    assert_eq!(report.missing.len(), 1);
    assert_eq!(report.missing[0].path, "sbom/sbom.spdx.json");
    assert_eq!(report.missing[0].stage, "sbom");
    assert_eq!(report.modified.len(), 1);
    let modified = &report.modified[0];
    assert_eq!(modified.path, "image/layers/list.txt");
    assert_eq!(modified.expected.sha256, image.artifacts[1].sha256);
    assert_eq!(modified.expected.size, 6);
    assert_eq!(modified.actual.sha256, sha256_hex(b"a\nb\nc\nd\n"));
    assert_eq!(modified.actual.size, 8);
    assert_eq!(
        report.unrecorded,
        [
            ".tmp-proofline-abc/half.json",
            "image/extra.txt",
            "loose/file"
        ]
    );
    assert!(report.manifest.is_empty());
    assert_eq!(report.artifacts_verified, 1);
    assert_eq!(report.problem_count(), 5);

    let text = report.render_text();
    assert!(text.contains("missing     sbom/sbom.spdx.json"), "{text}");
    assert!(
        text.contains(&format!("recorded sha256 {}", image.artifacts[1].sha256)),
        "{text}"
    );
    assert!(
        text.contains(&format!("found sha256 {}", sha256_hex(b"a\nb\nc\nd\n"))),
        "{text}"
    );
    assert!(text.contains("unrecorded  image/extra.txt"), "{text}");
    assert!(text.ends_with("result: 5 problem(s)\n"), "{text}");

    // The JSON form round-trips.
    let json = report.to_json().unwrap();
    let back: VerifyReport = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn finds_a_record_tampered_with_after_the_manifest() {
    let (_tmp, dir) = fixed_dir();
    run_image(&dir);
    let path = dir.path().join("image/record.json");
    let original = fs::read(&path).unwrap();
    let tampered = String::from_utf8(original.clone())
        .unwrap()
        .replace("\"passed\"", "\"failed\"");
    fs::write(&path, &tampered).unwrap();
    let report = verify(&dir).unwrap();
    assert_eq!(
        report.manifest,
        [ManifestProblem::RecordChanged {
            stage: "image".into(),
            expected_sha256: sha256_hex(&original),
            actual_sha256: sha256_hex(tampered.as_bytes()),
        }]
    );
    assert!(
        report
            .render_text()
            .contains("image/record.json was modified after manifest.json")
    );
    // The artifacts themselves still match the (tampered) record.
    assert!(report.modified.is_empty() && report.missing.is_empty());
}

#[test]
fn finds_manifest_entries_without_records_and_records_without_entries() {
    let (_tmp, dir) = fixed_dir();
    run_image(&dir);
    run_sbom(&dir);
    let manifest_before = fs::read(dir.path().join("manifest.json")).unwrap();
    // A third stage arrives from another job's artifacts: not indexed in this manifest.
    let mut w = dir.begin_stage(common::info("harden")).unwrap();
    w.write_artifact("results.json", b"[]", "application/json")
        .unwrap();
    w.finish().unwrap();
    fs::write(dir.path().join("manifest.json"), &manifest_before).unwrap();
    // And sbom's whole directory is gone (plus the input scan would have consumed).
    fs::remove_dir_all(dir.path().join("sbom")).unwrap();

    let report = verify(&dir).unwrap();
    assert_eq!(
        report.manifest,
        [
            ManifestProblem::NotIndexed {
                stage: "harden".into()
            },
            ManifestProblem::RecordGone {
                stage: "sbom".into()
            },
        ]
    );
    dir.rebuild_manifest().unwrap();
    assert!(verify(&dir).unwrap().is_clean());
}

#[test]
fn finds_a_missing_or_edited_manifest() {
    let (_tmp, dir) = fixed_dir();
    run_image(&dir);
    let path = dir.path().join("manifest.json");
    let original = fs::read_to_string(&path).unwrap();

    fs::remove_file(&path).unwrap();
    assert_eq!(verify(&dir).unwrap().manifest, [ManifestProblem::Missing]);

    fs::write(
        &path,
        original.replace("\"artifactCount\": 2", "\"artifactCount\": 1"),
    )
    .unwrap();
    assert_eq!(
        verify(&dir).unwrap().manifest,
        [ManifestProblem::EntryDiffers {
            stage: "image".into()
        }]
    );

    fs::write(
        &path,
        "{\"schema\":\"proofline/manifest/v1\",\"stages\":[],\"x\":1}",
    )
    .unwrap();
    let report = verify(&dir).unwrap();
    let [ManifestProblem::Invalid { error }] = report.manifest.as_slice() else {
        panic!("{report:?}");
    };
    assert!(
        error.contains("manifest.json") && error.contains("unknown field"),
        "{error}"
    );
}

#[test]
fn finds_stale_inputs_when_the_producer_reran() {
    let (_tmp, dir) = fixed_dir();
    run_image(&dir);
    let sbom = run_sbom(&dir);
    // image reruns and produces different bytes: sbom's input no longer matches.
    let mut w = dir.begin_stage(common::info("image")).unwrap();
    w.write_artifact("image.json", b"{\"layers\":5}\n", "application/json")
        .unwrap();
    w.finish().unwrap();
    let report = verify(&dir).unwrap();
    assert_eq!(report.stale_inputs.len(), 1, "{report:?}");
    let stale = &report.stale_inputs[0];
    assert_eq!(
        (stale.stage.as_str(), stale.producer.as_str()),
        ("sbom", "image")
    );
    assert_eq!(stale.consumed.sha256, sbom.inputs[0].sha256);
    assert_eq!(
        stale.current.as_ref().unwrap().sha256,
        sha256_hex(b"{\"layers\":5}\n")
    );
    assert!(report.render_text().contains("rerun stage `sbom`"));
}

#[test]
fn malformed_and_hostile_records_are_reported_not_followed() {
    let (_tmp, dir) = fixed_dir();
    run_image(&dir);
    let path = dir.path().join("image/record.json");
    fs::write(&path, b"{ not json").unwrap();
    let report = verify(&dir).unwrap();
    assert_eq!(report.invalid_records.len(), 1);
    assert_eq!(report.invalid_records[0].path, "image/record.json");
    assert!(report.invalid_records[0].error.contains("record.json"));
    // Its artifacts are now listed by nothing.
    assert_eq!(
        report.unrecorded,
        ["image/image.json", "image/layers/list.txt"]
    );
    // Invalid records are reported once: not also as a manifest problem.
    assert!(report.manifest.is_empty(), "{report:?}");

    // A record pointing outside the evidence directory is refused, never opened.
    let hostile = serde_json::json!({
        "schema": "proofline/record/v1", "stage": "image",
        "tool": {"name": "proofline", "version": "0.1.0"}, "subject": null, "settings": {},
        "inputs": [], "findings": {"outcome": "passed", "counts": {}},
        "artifacts": [{"path": "image/../../../etc/passwd", "sha256": "0".repeat(64), "size": 1, "mediaType": "text/plain"}],
        "startedAt": "2025-11-26T20:05:00Z", "finishedAt": "2025-11-26T20:05:00Z"
    });
    fs::write(&path, serde_json::to_vec(&hostile).unwrap()).unwrap();
    let report = verify(&dir).unwrap();
    assert_eq!(report.invalid_records.len(), 1);
    assert!(
        report.invalid_records[0].error.contains("`..`"),
        "{report:?}"
    );
    assert!(report.missing.is_empty() && report.modified.is_empty());
}

#[cfg(unix)]
#[test]
fn symlinks_inside_the_evidence_directory_are_listed() {
    let (tmp, dir) = fixed_dir();
    run_image(&dir);
    let outside = tmp.path().join("outside.txt");
    fs::write(&outside, b"a\nb\nc\n").unwrap();
    let artifact = dir.path().join("image/layers/list.txt");
    fs::remove_file(&artifact).unwrap();
    std::os::unix::fs::symlink(&outside, &artifact).unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("image/extra")).unwrap();
    let report = verify(&dir).unwrap();
    let paths: Vec<&str> = report.unreadable.iter().map(|u| u.path.as_str()).collect();
    assert_eq!(paths, ["image/extra", "image/layers/list.txt"]);
    assert!(report.unreadable[0].reason.contains("symbolic link"));
    assert!(report.missing.is_empty() && report.modified.is_empty());
    assert!(!report.is_clean());
}

#[test]
fn verify_on_a_fresh_open_of_the_same_directory() {
    let (_tmp, dir) = fixed_dir();
    run_image(&dir);
    let reopened = EvidenceDir::open_existing(dir.path()).unwrap();
    assert!(reopened.verify().unwrap().is_clean());
}

#[cfg(unix)]
#[test]
fn hostile_file_names_cannot_forge_log_lines() {
    let (_tmp, dir) = fixed_dir();
    run_image(&dir);
    let name = "x\n::error::forged\r";
    fs::write(dir.path().join("image").join(name), b"").unwrap();
    let report = verify(&dir).unwrap();
    assert_eq!(report.unrecorded, [format!("image/{name}")]);
    let text = report.render_text();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("image/x\\n::error::forged\\r"), "{text}");
}
