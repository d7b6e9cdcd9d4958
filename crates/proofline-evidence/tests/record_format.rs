//! The on-disk format: snapshots, the JSON Schemas, and strict reading of records.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;

use common::{info, run_image, run_sbom};
use proofline_evidence::{
    EvidenceDir, EvidenceError, Findings, MANIFEST_JSON_SCHEMA, Outcome, RECORD_JSON_SCHEMA,
    media_type,
};
use serde_json::{Value, json};

fn record_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(RECORD_JSON_SCHEMA).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn manifest_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(MANIFEST_JSON_SCHEMA).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, value: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{value:#}");
}

/// A stage on the system clock, with inputs, artifacts, settings and counts.
fn realistic(dir: &EvidenceDir) -> proofline_evidence::Record {
    run_image(dir);
    run_sbom(dir);
    let settings = json!({
        "failOn": "high",
        "ignore": ["CVE-2024-0001"],
        "db": {"source": "osv", "offline": true},
    });
    let mut w = dir
        .begin_stage(info("scan").with_settings(&settings).unwrap())
        .unwrap();
    w.consume("sbom", "sbom.spdx.json").unwrap();
    w.consume_path("image", "image.json").unwrap();
    w.write_json_artifact(
        "vulns.json",
        media_type::IN_TOTO,
        &json!({"_type": "https://in-toto.io/Statement/v1"}),
    )
    .unwrap();
    w.write_artifact("results.sarif", b"{}\n", media_type::SARIF)
        .unwrap();
    w.set_findings(
        Findings::new(Outcome::Failed)
            .with_count("critical", 1)
            .with_count("high", 3)
            .with_count("low", 0),
    )
    .unwrap();
    w.finish().unwrap()
}

#[test]
fn record_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = EvidenceDir::open(tmp.path()).unwrap();
    let record = realistic(&dir);
    insta::assert_json_snapshot!("scan_record", record, {
        ".startedAt" => "[timestamp]",
        ".finishedAt" => "[timestamp]",
    });
    // The file is the pretty-printed form of the same value, with a trailing newline.
    let text = fs::read_to_string(tmp.path().join("scan/record.json")).unwrap();
    assert!(
        text.starts_with("{\n  \"schema\": \"proofline/record/v1\",\n  \"stage\": \"scan\",\n")
    );
    assert!(text.ends_with("}\n") && !text.ends_with("}\n\n"));
}

#[test]
fn manifest_snapshot() {
    let (_tmp, dir) = common::fixed_dir();
    realistic(&dir);
    let text = fs::read_to_string(dir.path().join("manifest.json")).unwrap();
    insta::assert_snapshot!("manifest", text);
}

#[test]
fn records_and_manifest_validate_against_their_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = EvidenceDir::open(tmp.path()).unwrap();
    realistic(&dir);
    let mut stage_without_subject = dir
        .begin_stage(proofline_evidence::StageInfo::new(
            "source",
            "proofline-source",
            "0.1.0",
        ))
        .unwrap();
    stage_without_subject
        .set_findings(Findings::new(Outcome::Indeterminate))
        .unwrap();
    stage_without_subject.finish().unwrap();

    let records = record_validator();
    for stage in ["image", "sbom", "scan", "source"] {
        let value: Value =
            serde_json::from_slice(&fs::read(tmp.path().join(stage).join("record.json")).unwrap())
                .unwrap();
        assert_valid(&records, &value);
    }
    let manifest: Value =
        serde_json::from_slice(&fs::read(tmp.path().join("manifest.json")).unwrap()).unwrap();
    assert_valid(&manifest_validator(), &manifest);
}

/// A change that makes a record invalid.
type Mutation = fn(&mut Value);

#[test]
fn schema_rejects_what_the_reader_rejects() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = EvidenceDir::open(tmp.path()).unwrap();
    let record = realistic(&dir);
    let good = serde_json::to_value(&record).unwrap();
    let validator = record_validator();
    assert_valid(&validator, &good);

    let mutations: Vec<(&str, Mutation)> = vec![
        ("extra key", |v| v["extra"] = json!(1)),
        ("extra artifact key", |v| v["artifacts"][0]["x"] = json!(1)),
        ("other schema", |v| {
            v["schema"] = json!("proofline/record/v2")
        }),
        ("dotdot path", |v| {
            v["artifacts"][0]["path"] = json!("scan/../image/image.json")
        }),
        ("absolute path", |v| {
            v["artifacts"][0]["path"] = json!("/etc/passwd")
        }),
        ("backslash path", |v| {
            v["artifacts"][0]["path"] = json!("scan/a\\b")
        }),
        ("upper-case sha", |v| {
            v["artifacts"][0]["sha256"] = json!("A".repeat(64))
        }),
        ("negative size", |v| v["artifacts"][0]["size"] = json!(-1)),
        ("offset timestamp", |v| {
            v["startedAt"] = json!("2025-11-26T21:05:00+01:00")
        }),
        ("bad outcome", |v| v["findings"]["outcome"] = json!("ok")),
        ("bad count key", |v| {
            v["findings"]["counts"]["High"] = json!(1)
        }),
        ("bad digest", |v| {
            v["subject"]["digest"] = json!("sha256:abc")
        }),
        ("settings array", |v| v["settings"] = json!([])),
        ("missing findings", |v| {
            v.as_object_mut().unwrap().remove("findings");
        }),
    ];
    for (name, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        assert!(!validator.is_valid(&bad), "schema accepted: {name}");
        let path = tmp.path().join("scan/record.json");
        fs::write(&path, serde_json::to_vec(&bad).unwrap()).unwrap();
        let err = dir.read_record("scan").unwrap_err();
        assert!(
            err.to_string().contains("scan/record.json"),
            "{name}: error does not name the file: {err}"
        );
    }
}

#[test]
fn unknown_fields_are_rejected_naming_the_file() {
    let (_tmp, dir) = common::fixed_dir();
    run_image(&dir);
    let path = dir.path().join("image/record.json");
    let mut value: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    value["findings"]["note"] = json!("looks fine");
    fs::write(&path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    let err = dir.read_record("image").unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, EvidenceError::MalformedRecord { .. }),
        "{msg}"
    );
    assert!(msg.contains("unknown field `note`"), "{msg}");
    assert!(msg.contains("image/record.json"), "{msg}");
    assert!(msg.contains("rerun stage `image`"), "{msg}");
}

#[test]
fn malformed_records_give_errors_not_panics() {
    let (_tmp, dir) = common::fixed_dir();
    run_image(&dir);
    let path = dir.path().join("image/record.json");
    let cases: [&[u8]; 7] = [
        b"",
        b"{",
        b"[]",
        b"null",
        b"\xff\xfe{}",
        b"{\"schema\": \"proofline/record/v1\"}",
        b"{\"schema\": \"proofline/record/v1\", \"stage\": 7}",
    ];
    for case in cases {
        fs::write(&path, case).unwrap();
        let err = dir.read_record("image").unwrap_err();
        assert!(err.to_string().contains("image/record.json"), "{err}");
        let mut w = dir.begin_stage(info("sbom")).unwrap();
        let err = w.consume("image", "image.json").unwrap_err();
        assert!(err.to_string().contains("image/record.json"), "{err}");
    }
    // A record in the wrong stage directory.
    let sbom = run_sbom_after_fixing(&dir);
    fs::write(&path, sbom).unwrap();
    let err = dir.read_record("image").unwrap_err();
    assert!(
        err.to_string().contains("directory of stage `image`"),
        "{err}"
    );
}

fn run_sbom_after_fixing(dir: &EvidenceDir) -> Vec<u8> {
    run_image(dir);
    run_sbom(dir);
    fs::read(dir.path().join("sbom/record.json")).unwrap()
}

#[test]
fn malformed_manifest_names_the_file() {
    let (_tmp, dir) = common::fixed_dir();
    run_image(&dir);
    fs::write(
        dir.path().join("manifest.json"),
        b"{\"schema\":\"proofline/manifest/v0\",\"stages\":[]}",
    )
    .unwrap();
    let err = dir.read_manifest().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("manifest.json") && msg.contains("proofline/manifest/v0"),
        "{msg}"
    );
    fs::remove_file(dir.path().join("manifest.json")).unwrap();
    assert!(matches!(
        dir.read_manifest(),
        Err(EvidenceError::ManifestMissing { .. })
    ));
}
