//! The `proofline-sbom` binary end to end: the fixture image's four artifacts, valid against
//! the official schemas and byte-identical run to run; an image whose later layer deletes the
//! dpkg database, copies a binary in and modifies a package file; and the errors (exit 2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use proofline_testkit::{TestImage, layer_tar_gz_modes};
use serde_json::Value;

fn sbom(args: &[&str], evidence: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_proofline-sbom"));
    cmd.args(args)
        .arg("--evidence-dir")
        .arg(evidence)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITLAB_CI")
        .env_remove("PROOFLINE_IMAGE")
        .env_remove("PROOFLINE_FAIL_ON_MODIFIED")
        .env_remove("PROOFLINE_SPDX_VERSION")
        .env_remove("PROOFLINE_CYCLONEDX_VERSION")
        .env("PROOFLINE_LOG_LEVEL", "warn")
        .current_dir(evidence.parent().unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_fixture_image_gives_four_valid_artifacts_byte_identical_run_to_run() {
    let tmp = tempfile::tempdir().unwrap();
    let image = common::fixture_ref();
    let first = tmp.path().join("ev1");
    let out = sbom(&["--image", &image], &first, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = first.join("sbom");
    for f in [
        "sbom.spdx.json",
        "sbom.cdx.json",
        "package-verification.json",
        "dependency-tree.json",
        "record.json",
        "summary.md",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let cdx = json(&dir.join("sbom.cdx.json"));
    assert_eq!(cdx["specVersion"], "1.6");
    let errors = common::cyclonedx_errors(&cdx, "1.6");
    assert!(errors.is_empty(), "{errors:#?}");
    let spdx = json(&dir.join("sbom.spdx.json"));
    let errors = common::spdx3_errors(&spdx);
    assert!(errors.is_empty(), "{errors:#?}");
    // Without SOURCE_DATE_EPOCH the image's own `created` is the documents' time.
    assert_eq!(cdx["metadata"]["timestamp"], "2025-01-01T00:00:00Z");

    let record = json(&dir.join("record.json"));
    assert_eq!(record["findings"]["outcome"], "passed");
    assert_eq!(record["findings"]["counts"]["packages"], 10);
    assert_eq!(record["findings"]["counts"]["packages-deb"], 6);
    assert_eq!(
        record["settings"]["timestampSource"],
        "image config `created`"
    );
    let artifacts: Vec<&str> = record["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    for a in [
        "sbom.spdx.json",
        "sbom.cdx.json",
        "package-verification.json",
        "dependency-tree.json",
    ] {
        let path = format!("sbom/{a}");
        assert!(
            artifacts.contains(&path.as_str()),
            "{a} not recorded: {artifacts:?}"
        );
    }
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.contains("**10 packages**"), "{summary}");
    assert!(summary.contains("| deb | 6 | 0 |"), "{summary}");

    let tree = json(&dir.join("dependency-tree.json"));
    assert_eq!(tree["schema"], "proofline/dependency-tree/v1");
    assert_eq!(tree["root"]["id"], "image");
    assert_eq!(tree["nodes"].as_array().unwrap().len(), 10);
    // libzstd1 and zlib1g depend on libc6, which the fixture lacks: listed, not dropped.
    let unresolved: Vec<&str> = tree["unresolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(unresolved.contains(&"libc6"), "{unresolved:?}");

    // A second run into a fresh directory writes the same bytes.
    let second = tmp.path().join("ev2");
    let out = sbom(&["--image", &image], &second, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for f in [
        "sbom.spdx.json",
        "sbom.cdx.json",
        "package-verification.json",
        "dependency-tree.json",
    ] {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(second.join("sbom").join(f)).unwrap(),
            "{f} differs between runs"
        );
    }

    // SOURCE_DATE_EPOCH sets the time; older formats on request, still valid.
    let third = tmp.path().join("ev3");
    let out = sbom(
        &[
            "--image",
            &image,
            "--spdx-version",
            "2.3",
            "--cyclonedx-version",
            "1.4",
        ],
        &third,
        &[("SOURCE_DATE_EPOCH", "1767225600")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cdx = json(&third.join("sbom/sbom.cdx.json"));
    assert_eq!(cdx["specVersion"], "1.4");
    assert_eq!(cdx["metadata"]["timestamp"], "2026-01-01T00:00:00Z");
    let errors = common::cyclonedx_errors(&cdx, "1.4");
    assert!(errors.is_empty(), "{errors:#?}");
    let spdx = json(&third.join("sbom/sbom.spdx.json"));
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    assert_eq!(spdx["creationInfo"]["created"], "2026-01-01T00:00:00Z");
    let errors = common::spdx23_errors(&spdx);
    assert!(errors.is_empty(), "{errors:#?}");
}

/// The fixture's real Debian base layer, then a layer that deletes the dpkg database, copies
/// an executable in and overwrites one packaged file.
fn slimmed_image(dir: &Path) -> String {
    let base = std::fs::read(common::repo().join(
        "fixtures/images/app/blobs/sha256/39fe43eb84f5c386582e679168638920742c11d5b446c8baca539a3ddc29b875",
    ))
    .unwrap();
    let copied = b"\x7fELF\x02\x01\x01 a binary no package owns".to_vec();
    let top = layer_tar_gz_modes(&[
        ("var/lib/.wh.dpkg", b"", 0o644),
        ("usr/local/bin/copied-tool", &copied, 0o755),
        (
            "usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
            b"not the library dpkg recorded",
            0o644,
        ),
    ]);
    let image = TestImage::build(&[base, top], "amd64");
    let layout = dir.join("slim");
    image.write_layout(&layout, "1.0");
    format!("oci:{}:1.0", layout.display())
}

#[test]
fn a_deleted_package_database_a_copied_binary_and_a_modified_file_are_all_seen() {
    let tmp = tempfile::tempdir().unwrap();
    let image = slimmed_image(tmp.path());
    let evidence = tmp.path().join("ev");
    let out = sbom(&["--image", &image], &evidence, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cdx = json(&evidence.join("sbom/sbom.cdx.json"));
    let components = cdx["components"].as_array().unwrap();
    let debs: Vec<&str> = components
        .iter()
        .filter(|c| {
            c["purl"]
                .as_str()
                .is_some_and(|p| p.starts_with("pkg:deb/"))
        })
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        debs,
        [
            "base-files",
            "ca-certificates",
            "libzstd1",
            "media-types",
            "netbase",
            "zlib1g"
        ],
        "packages recovered from the deleted database"
    );
    let found_at = components.iter().find(|c| c["name"] == "zlib1g").unwrap()["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "proofline:found-at")
        .unwrap()["value"]
        .clone();
    assert_eq!(found_at, "/var/lib/dpkg/status (deleted by a later layer)");
    let unowned: Vec<&str> = components
        .iter()
        .filter(|c| c["type"] == "file")
        .filter(|c| {
            c["properties"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["name"] == "proofline:unowned"))
        })
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(unowned, ["/usr/local/bin/copied-tool"]);
    let errors = common::cyclonedx_errors(&cdx, "1.6");
    assert!(errors.is_empty(), "{errors:#?}");

    let verification = json(&evidence.join("sbom/package-verification.json"));
    assert_eq!(verification["modified"], 1);
    let zlib = verification["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["purl"].as_str().unwrap().contains("/zlib1g@"))
        .unwrap();
    assert_eq!(
        zlib["problems"][0]["path"],
        "/lib/x86_64-linux-gnu/libz.so.1.2.13"
    );
    assert_eq!(zlib["problems"][0]["state"], "modified");
    assert_eq!(zlib["problems"][0]["algorithm"], "md5");
    let summary = std::fs::read_to_string(evidence.join("sbom/summary.md")).unwrap();
    assert!(summary.contains("1 modified"), "{summary}");
    assert!(
        summary.contains("1 binaries or libraries no package owns"),
        "{summary}"
    );

    // The same image under --fail-on-modified is a violation (exit 1), recorded as such.
    let strict = tmp.path().join("strict");
    let out = sbom(&["--image", &image, "--fail-on-modified"], &strict, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let record = json(&strict.join("sbom/record.json"));
    assert_eq!(record["findings"]["outcome"], "failed");
    assert_eq!(record["findings"]["counts"]["files-modified"], 1);
    // From proofline.yaml too, and the flag wins over it.
    std::fs::write(
        tmp.path().join("proofline.yaml"),
        "version: 1\nsbom:\n  fail-on-modified: true\n",
    )
    .unwrap();
    let from_policy = tmp.path().join("policy");
    let out = sbom(&["--image", &image], &from_policy, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let overridden = tmp.path().join("overridden");
    let out = sbom(
        &["--image", &image, "--fail-on-modified=false"],
        &overridden,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn errors_name_the_problem_and_exit_2_without_a_partial_record() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("ev");
    let missing = format!("oci:{}:1.0", tmp.path().join("nope").display());
    let out = sbom(&["--image", &missing], &evidence, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
    assert!(!evidence.join("sbom/record.json").exists());

    let out = sbom(&[], &evidence, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--image"), "{}", stderr(&out));

    let out = sbom(
        &["--image", &common::fixture_ref()],
        &evidence,
        &[("SOURCE_DATE_EPOCH", "yesterday")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("SOURCE_DATE_EPOCH"),
        "{}",
        stderr(&out)
    );
    assert!(!evidence.join("sbom/record.json").exists());

    let out = sbom(
        &[
            "--image",
            &common::fixture_ref(),
            "--cyclonedx-version",
            "1.3",
        ],
        &evidence,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("1.4"), "{}", stderr(&out));

    // A truncated layer blob: an error naming the blob, and no record.
    let image = slimmed_image(tmp.path());
    let blobs = tmp.path().join("slim/blobs/sha256");
    let largest = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| p.metadata().unwrap().len())
        .unwrap();
    let bytes = std::fs::read(&largest).unwrap();
    std::fs::write(&largest, &bytes[..bytes.len() / 2]).unwrap();
    let out = sbom(&["--image", &image], &evidence, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let hex = largest.file_name().unwrap().to_string_lossy().into_owned();
    assert!(stderr(&out).contains(&hex[..12]), "{}", stderr(&out));
    assert!(!evidence.join("sbom/record.json").exists());
    assert!(!evidence.join("sbom/sbom.cdx.json").exists());

    std::fs::write(
        tmp.path().join("proofline.yaml"),
        "version: 1\nsbom:\n  fail-on: x\n",
    )
    .unwrap();
    let out = sbom(&["--image", &common::fixture_ref()], &evidence, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("fail-on"), "{}", stderr(&out));
}
