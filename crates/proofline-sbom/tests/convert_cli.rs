//! `proofline-sbom convert` end to end: foreign SBOMs (syft, trivy, cyclonedx-npm) written as
//! CycloneDX and SPDX that validate against the official schemas, the same bytes twice, and
//! clear refusals (exit 2, no output file) for what it cannot read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn convert(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_proofline-sbom"));
    cmd.arg("convert")
        .args(args)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("PROOFLINE_SPDX_VERSION")
        .env_remove("PROOFLINE_CYCLONEDX_VERSION")
        .env_remove("PROOFLINE_CONVERT_TO")
        .env("PROOFLINE_LOG_LEVEL", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn foreign(name: &str) -> String {
    common::repo()
        .join("fixtures/sbom/foreign")
        .join(name)
        .display()
        .to_string()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn purls(bom: &Value) -> Vec<String> {
    let mut out: Vec<String> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

#[test]
fn foreign_sboms_become_valid_cyclonedx_and_spdx_the_same_bytes_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    for (input, packages) in [
        // jq '[.components[] | select(.purl)] | length' node-app-lock.cdx.json → 10
        ("node-app-lock.cdx.json", 10),
        ("trivy-fluentd.cdx.json", 3),
        ("syft-image.spdx.json", 2),
        ("syft-image.spdx3.json", 2),
    ] {
        let cdx = cwd.join(format!("{input}.cdx.json"));
        let out = convert(
            &[&foreign(input), cdx.to_str().unwrap(), "--to", "cyclonedx"],
            cwd,
            &[("SOURCE_DATE_EPOCH", "1767225600")],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{input}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bom = json(&cdx);
        let errors = common::cyclonedx_errors(&bom, "1.6");
        assert!(errors.is_empty(), "{input}: {errors:#?}");
        assert_eq!(purls(&bom).len(), packages, "{input}: {:?}", purls(&bom));

        for (version, check) in [("3.0.1", true), ("2.3", false)] {
            let spdx = cwd.join(format!("{input}.{version}.spdx.json"));
            let out = convert(
                &[
                    &foreign(input),
                    spdx.to_str().unwrap(),
                    "--to",
                    "spdx",
                    "--spdx-version",
                    version,
                ],
                cwd,
                &[("SOURCE_DATE_EPOCH", "1767225600")],
            );
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let doc = json(&spdx);
            let errors = if check {
                common::spdx3_errors(&doc)
            } else {
                common::spdx23_errors(&doc)
            };
            assert!(errors.is_empty(), "{input} → SPDX {version}: {errors:#?}");
        }

        // Again, to standard output: the same bytes.
        let again = convert(
            &[&foreign(input), "-", "--to", "cyclonedx"],
            cwd,
            &[("SOURCE_DATE_EPOCH", "1767225600")],
        );
        assert_eq!(again.status.code(), Some(0));
        assert_eq!(again.stdout, std::fs::read(&cdx).unwrap(), "{input}");
    }

    // The nested minimist of the npm project keeps its exact edge through the conversion.
    let bom = json(&cwd.join("node-app-lock.cdx.json.cdx.json"));
    let id_of = |purl: &str| {
        bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["purl"] == purl)
            .unwrap()["bom-ref"]
            .clone()
    };
    let mkdirp = id_of("pkg:npm/mkdirp@0.5.1");
    let deps = bom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == mkdirp)
        .unwrap();
    assert_eq!(
        deps["dependsOn"],
        serde_json::json!([id_of("pkg:npm/minimist@0.0.8")])
    );
}

#[test]
fn what_convert_cannot_read_is_refused_with_exit_2_and_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let out_path = cwd.join("out.json");
    let xml = cwd.join("bom.xml");
    std::fs::write(
        &xml,
        "<?xml version=\"1.0\"?><bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\"/>",
    )
    .unwrap();
    for (input, expect) in [
        (xml.display().to_string(), "JSON only"),
        (foreign("rust-app.cargo-cyclonedx.cdx.json"), "1.3"),
        (
            cwd.join("missing.json").display().to_string(),
            "missing.json",
        ),
    ] {
        let out = convert(
            &[&input, out_path.to_str().unwrap(), "--to", "spdx"],
            cwd,
            &[],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{input}: {stderr}");
        assert!(stderr.contains(expect), "{input}: {stderr}");
        assert!(!out_path.exists(), "{input}: partial output written");
    }
}
