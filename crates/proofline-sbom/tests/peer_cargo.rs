//! Cross-check of the Cargo.lock cataloger against the peer tool: the (name, version) set we
//! read from the rust-app corpus lockfile against what `cargo cyclonedx` 0.5.9 recorded for the
//! same lockfile (fixtures/sbom/peer/SOURCE.md). Installing cargo-cyclonedx compiles for minutes,
//! so its output is recorded rather than produced at test time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use proofline_sbom::Ecosystem;
use proofline_sbom::catalog::{Contents, cargo};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sbom/peer")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn pair(name: &str, version: &str) -> (String, String) {
    (name.to_string(), version.to_string())
}

#[test]
fn cargo_lock_packages_match_cargo_cyclonedx() {
    let mut contents = Contents::default();
    contents.insert("/src/rust-app/Cargo.lock", fixture("rust-app.Cargo.lock"));
    let (packages, warnings) = (cargo::CATALOGER.run)(&contents);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(packages.iter().all(|p| p.ecosystem == Ecosystem::Cargo));
    let ours: BTreeSet<(String, String)> =
        packages.iter().map(|p| pair(&p.name, &p.version)).collect();
    assert_eq!(
        ours.len(),
        packages.len(),
        "a lockfile entry was read twice"
    );

    let bom: serde_json::Value =
        serde_json::from_slice(&fixture("rust-app.cargo-cyclonedx.cdx.json")).unwrap();
    let theirs: BTreeSet<(String, String)> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| pair(c["name"].as_str().unwrap(), c["version"].as_str().unwrap()))
        .collect();
    assert_eq!(theirs.len(), 11);

    // Everything cargo-cyclonedx lists, we list, including `autocfg` (a build dependency it
    // marks `scope: excluded`; a lockfile does not say which dependencies are build-only).
    let missing: Vec<_> = theirs.difference(&ours).collect();
    assert!(
        missing.is_empty(),
        "cargo-cyclonedx lists, we miss: {missing:?}"
    );

    // What we list beyond it, each for a reason the lockfile cannot show:
    let extra: BTreeSet<(String, String)> = ours.difference(&theirs).cloned().collect();
    let explained: BTreeSet<(String, String)> = [
        // The root crate: cargo-cyclonedx puts it in metadata.component, not components.
        pair("rust-app", "0.1.0"),
        // Target-specific: `time` 0.1 depends on these only under cfg(target_os = "wasi") and
        // cfg(windows). cargo-cyclonedx resolves for the host triple (the BOM's
        // cdx:rustc:sbom:target:triple property, x86_64-unknown-linux-gnu) and drops them; a
        // Cargo.lock records every target's packages without their cfg, so we keep them.
        pair("wasi", "0.10.0+wasi-snapshot-preview1"),
        pair("winapi", "0.3.9"),
        pair("winapi-i686-pc-windows-gnu", "0.4.0"),
        pair("winapi-x86_64-pc-windows-gnu", "0.4.0"),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        extra, explained,
        "an unexplained difference to cargo-cyclonedx"
    );

    // The root is the peer's metadata component, with the same version.
    let root = &bom["metadata"]["component"];
    assert_eq!(root["name"], "rust-app");
    assert_eq!(root["version"], "0.1.0");
    assert_eq!(
        bom["metadata"]["properties"][0]["value"],
        "x86_64-unknown-linux-gnu"
    );
}
