//! Cross-check with cargo itself: our Cargo.lock cataloger finds exactly the packages `cargo
//! metadata --all-features` resolves for this workspace's own lockfile (the lockfile holds what every
//! feature of the workspace could pull in, such as the `fips` build's AWS-LC).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::Command;

use proofline_sbom::catalog::{Contents, cargo};
use serde_json::Value;

#[test]
fn the_workspace_lockfile_matches_cargo_metadata() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let lock = std::fs::read(format!("{root}/Cargo.lock")).unwrap();
    let mut contents = Contents::default();
    contents.insert("/src/Cargo.lock", lock);
    let (packages, warnings) = (cargo::CATALOGER.run)(&contents);
    assert!(warnings.is_empty(), "{warnings:?}");
    let ours: BTreeSet<(String, String)> = packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();

    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--all-features",
            "--locked",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).unwrap();
    let theirs: BTreeSet<(String, String)> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(ours.len(), packages.len(), "a package listed twice");
    assert_eq!(ours, theirs);
}
