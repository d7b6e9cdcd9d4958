//! Writing stages: atomicity, confinement, consuming other stages' artifacts, the manifest.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;

use common::{fixed_dir, info, run_image, run_sbom, tree};
use proofline_evidence::{
    Clock, EvidenceDir, EvidenceError, Findings, Outcome, StageInfo, Subject, Timestamp, media_type,
};

#[test]
fn finished_stage_leaves_only_its_files_and_no_temp_files() {
    let (_tmp, dir) = fixed_dir();
    let record = run_image(&dir);
    assert_eq!(
        tree(dir.path()),
        [
            "image/",
            "image/image.json",
            "image/layers/",
            "image/layers/list.txt",
            "image/record.json",
            "manifest.json",
        ]
    );
    assert_eq!(record.artifacts.len(), 2);
    assert_eq!(record.artifacts[0].path, "image/image.json");
    assert_eq!(record.artifacts[1].path, "image/layers/list.txt");
    assert_eq!(
        record.artifacts[1].sha256,
        proofline_evidence::sha256_hex(b"a\nb\nc\n")
    );
    assert_eq!(record.artifacts[1].size, 6);
    // What finish returned is what is on disk.
    assert_eq!(dir.read_record("image").unwrap(), record);
    let bytes = fs::read(dir.path().join("image/record.json")).unwrap();
    assert_eq!(bytes, record.to_json().unwrap());
    assert!(bytes.ends_with(b"}\n"));
}

#[test]
fn output_is_invisible_until_finish_and_dropped_on_failure() {
    let (_tmp, dir) = fixed_dir();
    let mut w = dir.begin_stage(info("image")).unwrap();
    w.write_artifact("image.json", b"{}", media_type::JSON)
        .unwrap();
    assert!(!dir.path().join("image").exists());
    drop(w); // the stage failed midway
    assert_eq!(tree(dir.path()), Vec::<String>::new());
}

#[test]
fn a_failed_rerun_keeps_the_previous_evidence_and_a_finished_one_replaces_it() {
    let (_tmp, dir) = fixed_dir();
    run_image(&dir);
    let before = dir.read_record("image").unwrap();
    let mut w = dir.begin_stage(info("image")).unwrap();
    w.write_artifact("other.json", b"{}", media_type::JSON)
        .unwrap();
    drop(w); // the rerun failed midway
    assert_eq!(dir.read_record("image").unwrap(), before);
    assert_eq!(dir.read_manifest().unwrap().stages.len(), 1);
    assert!(dir.verify().unwrap().is_clean());

    let mut w = dir.begin_stage(info("image")).unwrap();
    w.write_artifact("other.json", b"{}", media_type::JSON)
        .unwrap();
    let after = w.finish().unwrap();
    assert_eq!(after.artifacts.len(), 1);
    assert_eq!(after.artifacts[0].path, "image/other.json");
    assert!(
        !dir.path().join("image/image.json").exists(),
        "the old artifacts are gone with the old record"
    );
    assert!(dir.verify().unwrap().is_clean());
}

#[test]
fn failing_producer_keeps_nothing_and_the_path_can_be_retried() {
    let (_tmp, dir) = fixed_dir();
    let mut w = dir.begin_stage(info("scan")).unwrap();
    let err = w
        .write_artifact_with("results.sarif", media_type::SARIF, |out| {
            out.write_all(b"{\"partial\":")?;
            Err(std::io::Error::other("scanner crashed"))
        })
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("results.sarif") && msg.contains("scanner crashed"),
        "{msg}"
    );
    let artifact = w
        .write_artifact_with("results.sarif", media_type::SARIF, |out| {
            serde_json::to_writer(&mut *out, &serde_json::json!({"version": "2.1.0"}))?;
            out.write_all(b"\n")
        })
        .unwrap();
    assert_eq!(
        artifact.sha256,
        proofline_evidence::sha256_hex(b"{\"version\":\"2.1.0\"}\n")
    );
    w.finish().unwrap();
    assert_eq!(
        tree(dir.path()),
        [
            "manifest.json",
            "scan/",
            "scan/record.json",
            "scan/results.sarif"
        ]
    );
}

#[test]
fn traversal_and_odd_paths_are_refused() {
    let (_tmp, dir) = fixed_dir();
    let mut w = dir.begin_stage(info("sbom")).unwrap();
    for bad in [
        "../x",
        "/etc/x",
        "a/../../x",
        "",
        "a\\..\\x",
        "a\0b",
        "./x",
        "a//b",
        "record.json",
    ] {
        let err = w.write_artifact(bad, b"x", media_type::TEXT).unwrap_err();
        assert!(
            matches!(err, EvidenceError::InvalidPath { .. }),
            "{bad:?}: {err}"
        );
    }
    for bad in ["../image", "IMAGE", "a/b", ""] {
        assert!(matches!(
            w.consume(bad, "x"),
            Err(EvidenceError::InvalidStageName { .. })
        ));
    }
    assert!(matches!(
        w.consume("image", "../sbom/x"),
        Err(EvidenceError::InvalidPath { .. })
    ));
    w.finish().unwrap();
    // Nothing escaped: the parent of the evidence directory holds only it.
    let parent = dir.path().parent().unwrap();
    assert_eq!(
        tree(parent)
            .iter()
            .filter(|p| !p.starts_with("evidence"))
            .count(),
        0
    );
}

#[test]
fn duplicate_artifacts_and_bad_media_types_are_refused() {
    let (_tmp, dir) = fixed_dir();
    let mut w = dir.begin_stage(info("sbom")).unwrap();
    w.write_artifact("a.json", b"1", media_type::JSON).unwrap();
    assert!(matches!(
        w.write_artifact("a.json", b"2", media_type::JSON),
        Err(EvidenceError::DuplicateArtifact { .. })
    ));
    assert!(matches!(
        w.write_artifact("b.json", b"2", "json"),
        Err(EvidenceError::InvalidField {
            field: "media type",
            ..
        })
    ));
    assert!(matches!(
        w.set_findings(Findings::default().with_count("Critical", 1)),
        Err(EvidenceError::InvalidField { .. })
    ));
}

#[test]
fn bad_stage_info_is_refused_before_anything_is_written() {
    let (_tmp, dir) = fixed_dir();
    let cases = [
        StageInfo::new("Image", "proofline", "0.1.0"),
        StageInfo::new("image", "", "0.1.0"),
        StageInfo::new("image", "proofline", "0.1 beta"),
        info("image").with_subject(Subject::new("x").with_digest("sha256:abc")),
        info("image").with_subject(Subject::new("")),
    ];
    for case in cases {
        assert!(dir.begin_stage(case.clone()).is_err(), "{case:?}");
    }
    assert!(
        info("image")
            .with_settings(&["not", "an", "object"])
            .is_err()
    );
    assert_eq!(tree(dir.path()), Vec::<String>::new());
}

#[cfg(unix)]
#[test]
fn symlinked_stage_dir_pointing_outside_is_refused() {
    let (tmp, dir) = fixed_dir();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("keep.txt"), b"mine").unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("scan")).unwrap();
    let err = dir.begin_stage(info("scan")).unwrap_err();
    assert!(matches!(err, EvidenceError::SymlinkRefused { .. }), "{err}");
    assert!(err.to_string().contains("scan"), "{err}");
    assert_eq!(tree(&outside), ["keep.txt"]);

    // A record read through the link is refused too, and verify lists the link.
    assert!(matches!(
        dir.read_record("scan"),
        Err(EvidenceError::SymlinkRefused { .. } | EvidenceError::NoRecord { .. })
    ));
    let report = dir.verify().unwrap();
    assert_eq!(report.unreadable.len(), 1);
    assert_eq!(report.unreadable[0].path, "scan");
}

#[cfg(unix)]
#[test]
fn consuming_through_a_symlink_is_refused() {
    let (tmp, dir) = fixed_dir();
    run_image(&dir);
    let secret = tmp.path().join("secret");
    fs::write(&secret, b"{\"layers\":3}\n").unwrap(); // same bytes: the link itself is the problem
    let artifact = dir.path().join("image/image.json");
    fs::remove_file(&artifact).unwrap();
    std::os::unix::fs::symlink(&secret, &artifact).unwrap();
    let mut w = dir.begin_stage(info("sbom")).unwrap();
    let err = w.consume("image", "image.json").unwrap_err();
    assert!(matches!(err, EvidenceError::SymlinkRefused { .. }), "{err}");
    assert!(err.to_string().contains("image.json"), "{err}");
}

#[cfg(unix)]
#[test]
fn symlinked_evidence_root_is_resolved_once_and_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, tmp.path().join("link")).unwrap();
    let dir = EvidenceDir::open(tmp.path().join("link")).unwrap();
    assert_eq!(dir.path(), fs::canonicalize(&real).unwrap());
    run_image(&dir);
    assert!(real.join("image/record.json").is_file());
}

#[test]
fn consume_records_inputs_and_detects_a_modified_artifact() {
    let (_tmp, dir) = fixed_dir();
    let image = run_image(&dir);
    let sbom = run_sbom(&dir);
    assert_eq!(sbom.inputs.len(), 1);
    assert_eq!(sbom.inputs[0].stage, "image");
    assert_eq!(sbom.inputs[0].path, "image/image.json");
    assert_eq!(sbom.inputs[0].sha256, image.artifacts[0].sha256);
    assert_eq!(sbom.inputs[0].media_type, media_type::JSON);

    fs::write(dir.path().join("image/image.json"), b"{\"layers\":4}\n").unwrap();
    let mut w = dir.begin_stage(info("scan")).unwrap();
    let err = w.consume("image", "image.json").unwrap_err();
    let msg = err.to_string();
    let actual = proofline_evidence::sha256_hex(b"{\"layers\":4}\n");
    assert!(matches!(err, EvidenceError::InputModified { .. }));
    assert!(msg.contains("image/image.json"), "{msg}");
    assert!(msg.contains(&image.artifacts[0].sha256), "{msg}");
    assert!(msg.contains(&actual), "{msg}");
    assert!(msg.contains("rerun stage `image`"), "{msg}");
    // The streaming variant sees it too.
    assert!(matches!(
        w.consume_path("image", "image.json"),
        Err(EvidenceError::InputModified { .. })
    ));
}

#[test]
fn consume_names_the_missing_record_missing_file_and_unlisted_artifact() {
    let (_tmp, dir) = fixed_dir();
    let mut w = dir.begin_stage(info("scan")).unwrap();
    let err = w.consume("sbom", "sbom.spdx.json").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EvidenceError::RecordMissing { .. }), "{msg}");
    assert!(
        msg.contains("sbom/sbom.spdx.json") && msg.contains("run stage `sbom` first"),
        "{msg}"
    );
    drop(w);

    run_image(&dir);
    let mut w = dir.begin_stage(info("scan")).unwrap();
    let err = w.consume("image", "nope.json").unwrap_err();
    assert!(matches!(err, EvidenceError::NotRecorded { .. }), "{err}");
    fs::remove_file(dir.path().join("image/layers/list.txt")).unwrap();
    let err = w.consume("image", "layers/list.txt").unwrap_err();
    assert!(matches!(err, EvidenceError::InputMissing { .. }), "{err}");
    assert!(err.to_string().contains("list.txt"), "{err}");
    let err = w.consume("scan", "x").unwrap_err();
    assert!(
        matches!(err, EvidenceError::ConsumeOwnStage { .. }),
        "{err}"
    );
    let path = w.consume_path("image", "image.json").unwrap();
    assert_eq!(fs::read(path).unwrap(), b"{\"layers\":3}\n");
}

#[test]
fn manifest_is_byte_identical_whatever_the_order_stages_ran_in() {
    let clock = Clock::Fixed(Timestamp::from_unix_seconds(1_764_187_500).unwrap());
    let run = |order: &[&str]| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = EvidenceDir::open(tmp.path()).unwrap().with_clock(clock);
        for stage in order {
            let mut w = dir
                .begin_stage(
                    info(stage)
                        .with_settings(&serde_json::json!({"b": 1, "a": {"z": 1, "y": 2}}))
                        .unwrap(),
                )
                .unwrap();
            w.write_artifact("out.json", stage.as_bytes(), media_type::JSON)
                .unwrap();
            w.set_findings(
                Findings::new(Outcome::Failed)
                    .with_count("high", 2)
                    .with_count("critical", 1),
            )
            .unwrap();
            w.finish().unwrap();
        }
        let manifest = fs::read(tmp.path().join("manifest.json")).unwrap();
        let harden = fs::read(tmp.path().join("harden/record.json")).unwrap();
        (tmp, manifest, harden)
    };
    let (_a, manifest_a, record_a) = run(&["harden", "sbom"]);
    let (_b, manifest_b, record_b) = run(&["sbom", "harden"]);
    assert_eq!(manifest_a, manifest_b);
    assert_eq!(record_a, record_b);
    let text = String::from_utf8(record_a).unwrap();
    // Settings keys sorted recursively; counts sorted.
    assert!(
        text.find("\"a\"").unwrap() < text.find("\"b\"").unwrap(),
        "{text}"
    );
    assert!(
        text.find("\"y\"").unwrap() < text.find("\"z\"").unwrap(),
        "{text}"
    );
    assert!(
        text.find("\"critical\"").unwrap() < text.find("\"high\"").unwrap(),
        "{text}"
    );
    let manifest: serde_json::Value = serde_json::from_slice(&manifest_a).unwrap();
    assert_eq!(manifest["stages"][0]["stage"], "harden");
    assert_eq!(manifest["stages"][1]["stage"], "sbom");
}

#[test]
fn manifest_lists_every_stage_with_its_record_digest() {
    let (_tmp, dir) = fixed_dir();
    run_image(&dir);
    run_sbom(&dir);
    let manifest = dir.read_manifest().unwrap();
    assert_eq!(manifest.stages.len(), 2);
    let entry = manifest.entry("sbom").unwrap();
    assert_eq!(entry.record, "sbom/record.json");
    let bytes = fs::read(dir.path().join("sbom/record.json")).unwrap();
    assert_eq!(entry.record_sha256, proofline_evidence::sha256_hex(&bytes));
    assert_eq!(entry.artifact_count, 1);
    assert_eq!(entry.outcome, Outcome::Passed);
    assert_eq!(
        entry.subject.as_ref().unwrap().digest.as_deref(),
        Some(common::DIGEST)
    );
    // Rebuilding changes nothing.
    let before = fs::read(dir.path().join("manifest.json")).unwrap();
    dir.rebuild_manifest().unwrap();
    assert_eq!(fs::read(dir.path().join("manifest.json")).unwrap(), before);
}

#[test]
fn stages_finishing_concurrently_are_all_indexed() {
    // Every stage finishes at the same moment; without the directory lock some manifest
    // rebuilds read the records before another stage's rename and write after its manifest.
    let tmp = tempfile::tempdir().unwrap();
    let dir = EvidenceDir::open(tmp.path()).unwrap();
    let stages: Vec<String> = (0..16).map(|i| format!("stage-{i:02}")).collect();
    for _round in 0..3 {
        let barrier = std::sync::Barrier::new(stages.len());
        std::thread::scope(|scope| {
            for stage in &stages {
                let (dir, barrier) = (dir.clone(), &barrier);
                scope.spawn(move || {
                    let mut w = dir.begin_stage(info(stage)).unwrap();
                    w.write_artifact("a.txt", stage.as_bytes(), media_type::TEXT)
                        .unwrap();
                    barrier.wait();
                    w.finish().unwrap();
                });
            }
        });
        let manifest = dir.read_manifest().unwrap();
        let listed: Vec<&str> = manifest.stages.iter().map(|e| e.stage.as_str()).collect();
        assert_eq!(
            listed,
            stages.iter().map(String::as_str).collect::<Vec<_>>()
        );
        let report = dir.verify().unwrap();
        assert!(report.is_clean(), "{}", report.render_text());
    }
}

#[test]
fn open_existing_does_not_create() {
    let tmp = tempfile::tempdir().unwrap();
    let err = EvidenceDir::open_existing(tmp.path().join("nope")).unwrap_err();
    assert!(matches!(err, EvidenceError::DirMissing { .. }));
    assert!(err.to_string().contains("PROOFLINE_EVIDENCE_DIR"), "{err}");
    assert!(!tmp.path().join("nope").exists());
    fs::write(tmp.path().join("file"), b"").unwrap();
    assert!(matches!(
        EvidenceDir::open_existing(tmp.path().join("file")),
        Err(EvidenceError::WrongFileType { .. })
    ));
}

#[cfg(unix)]
#[test]
fn symlinked_manifest_is_refused_and_its_target_untouched() {
    let (tmp, dir) = fixed_dir();
    let outside = tmp.path().join("outside.json");
    fs::write(&outside, b"precious").unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("manifest.json")).unwrap();
    let mut w = dir.begin_stage(info("image")).unwrap();
    w.write_artifact("a.json", b"{}", media_type::JSON).unwrap();
    let err = w.finish().unwrap_err();
    assert!(matches!(err, EvidenceError::SymlinkRefused { .. }), "{err}");
    assert!(err.to_string().contains("manifest.json"), "{err}");
    assert_eq!(fs::read(&outside).unwrap(), b"precious");
    assert!(matches!(
        dir.read_manifest(),
        Err(EvidenceError::SymlinkRefused { .. })
    ));
}
