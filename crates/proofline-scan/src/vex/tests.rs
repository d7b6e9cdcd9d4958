//! VEX loading and deciding against the documents in fixtures/scan/vex.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use super::*;

const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/scan/vex")
        .join(name)
}

fn january() -> VexSet {
    VexSet::load(&[fixture("app-2026-01.openvex.json")]).unwrap()
}

#[test]
fn not_affected_by_alias_and_normalised_purl() {
    let set = january();
    // The finding's primary id is the PYSEC one; the statement is named by CVE with aliases.
    let d = set
        .decide(
            &["PYSEC-2022-42969", "GHSA-w596-4wvx-j9j6"],
            "pkg:pypi/py@1.11.0",
            None,
        )
        .unwrap();
    assert_eq!(d.status, VexStatus::NotAffected);
    assert!(d.status.waives());
    assert_eq!(
        d.justification.as_deref(),
        Some("vulnerable_code_not_in_execute_path")
    );
    assert!(d.impact_statement.unwrap().contains("svnwc"));
    assert_eq!(d.source, fixture("app-2026-01.openvex.json"));
    assert_eq!(
        d.statement_id.as_deref(),
        Some("https://openvex.dev/docs/example/proofline-app-2026-01#py-redos")
    );
    assert_eq!(d.timestamp, "2026-01-10T09:00:00Z");
    // Another version of the package is not covered (the product names 1.11.0).
    assert!(
        set.decide(&["CVE-2022-42969"], "pkg:pypi/py@1.10.0", None)
            .is_none()
    );
    // Another vulnerability is not covered.
    assert!(
        set.decide(&["CVE-2020-29651"], "pkg:pypi/py@1.11.0", None)
            .is_none()
    );
}

#[test]
fn image_product_with_subcomponent_needs_the_digest_and_the_package() {
    let set = january();
    let ids = ["GHSA-9wx4-h78v-vm56"];
    // PyPI names normalise: the statement says `Requests`.
    let d = set
        .decide(&ids, "pkg:pypi/requests@2.31.0", Some(DIGEST))
        .unwrap();
    assert_eq!(d.status, VexStatus::Fixed);
    assert!(d.status.waives());
    // Without the image digest, or for another image, the statement does not apply.
    assert!(set.decide(&ids, "pkg:pypi/requests@2.31.0", None).is_none());
    let other = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    assert!(
        set.decide(&ids, "pkg:pypi/requests@2.31.0", Some(other))
            .is_none()
    );
    // Another package of the same image is not a listed subcomponent.
    assert!(
        set.decide(&ids, "pkg:pypi/urllib3@2.0.7", Some(DIGEST))
            .is_none()
    );
    // The digest matches however the caller spells it.
    assert!(
        set.decide(
            &ids,
            "pkg:pypi/requests@2.31.0",
            Some(&DIGEST.to_uppercase().replace("SHA256", "sha256"))
        )
        .is_some()
    );
}

#[test]
fn image_product_without_subcomponents_covers_every_package_of_the_image() {
    let set = january();
    let d = set
        .decide(
            &["CVE-2023-45853"],
            "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64",
            Some(DIGEST),
        )
        .unwrap();
    assert_eq!(d.status, VexStatus::NotAffected);
    assert_eq!(
        d.justification.as_deref(),
        Some("vulnerable_code_not_present")
    );
    assert!(
        set.decide(
            &["CVE-2023-45853"],
            "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1",
            None
        )
        .is_none()
    );
}

#[test]
fn image_named_by_reference_with_digest() {
    let set = january();
    let d = set
        .decide(
            &["CVE-2021-44228"],
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            Some(DIGEST),
        )
        .unwrap();
    assert_eq!(d.status, VexStatus::UnderInvestigation);
    assert!(!d.status.waives());
}

#[test]
fn versionless_product_and_qualifiers() {
    let set = january();
    let d = set
        .decide(&["CVE-2024-6345"], "pkg:pypi/setuptools@68.0.0", None)
        .unwrap();
    assert_eq!(d.status, VexStatus::Affected);
    assert!(!d.status.waives());
    // The statement's own timestamp overrides the document's.
    assert_eq!(d.timestamp, "2026-01-12T08:30:00+01:00");
    // The openssl statement names arch=arm64: an amd64 package is not covered.
    let purl = "pkg:deb/debian/openssl@3.0.11-1~deb12u1";
    assert!(
        set.decide(
            &["CVE-2023-5363"],
            &format!("{purl}?arch=amd64&distro=debian-12"),
            None
        )
        .is_none()
    );
    assert!(
        set.decide(
            &["CVE-2023-5363"],
            &format!("{purl}?distro=debian-12&arch=arm64"),
            None
        )
        .is_some()
    );
}

#[test]
fn affected_without_action_is_a_warning() {
    let set = january();
    assert_eq!(set.len(), 6);
    assert!(
        set.warnings()
            .iter()
            .any(|w| w.contains("CVE-2024-6345") && w.contains("action_statement")),
        "{:?}",
        set.warnings()
    );
}

#[test]
fn the_latest_statement_wins_whatever_the_load_order() {
    let jan = fixture("app-2026-01.openvex.json");
    let feb = fixture("app-2026-02.openvex.json");
    for order in [
        vec![jan.clone(), feb.clone()],
        vec![feb.clone(), jan.clone()],
    ] {
        let set = VexSet::load(&order).unwrap();
        let d = set
            .decide(
                &["CVE-2022-42969", "GHSA-w596-4wvx-j9j6"],
                "pkg:pypi/py@1.11.0",
                None,
            )
            .unwrap();
        assert_eq!(d.status, VexStatus::Affected, "{order:?}");
        assert_eq!(d.source, feb);
        // The February document's older statement (2025-12) loses to January's.
        let d = set
            .decide(
                &["CVE-2023-45853"],
                "pkg:deb/debian/zlib1g@1.2.13",
                Some(DIGEST),
            )
            .unwrap();
        assert_eq!(d.status, VexStatus::NotAffected, "{order:?}");
        assert_eq!(d.source, jan);
    }
}

#[test]
fn real_documents_from_the_openvex_projects() {
    let set = VexSet::load(&[
        fixture("spec-minimal.openvex.json"),
        fixture("vexctl/v020-1.vex.json"),
    ])
    .unwrap();
    let d = set
        .decide(
            &["CVE-2023-12345"],
            "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64",
            None,
        )
        .unwrap();
    assert_eq!(d.status, VexStatus::Fixed);
    assert!(
        set.decide(
            &["CVE-2023-12345"],
            "pkg:apk/wolfi/git@2.39.0-r1?arch=aarch64",
            None
        )
        .is_none()
    );
    let d = set
        .decide(&["CVE-9876-54321"], "pkg:apk/wolfi/bash@1.0.0", None)
        .unwrap();
    assert_eq!(d.status, VexStatus::UnderInvestigation);
    // vexctl's document has no document timestamp or version: warned about, not refused.
    assert!(
        set.warnings()
            .iter()
            .any(|w| w.contains("v020-1") && w.contains("version"))
    );
}

fn load_err(name: &str) -> String {
    let err = VexSet::load(&[fixture(name)]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(name), "the error names the file: {text}");
    text
}

#[test]
fn invalid_documents_are_errors_naming_file_and_problem() {
    assert!(
        load_err("bad-not-affected-without-justification.openvex.json")
            .contains("needs a `justification` or an `impact_statement`")
    );
    assert!(
        load_err("bad-justification.openvex.json")
            .contains("unknown justification `we_do_not_care`")
    );
    assert!(load_err("bad-status.openvex.json").contains("wontfix"));
    assert!(load_err("bad-timestamp.openvex.json").contains("last tuesday"));
    assert!(load_err("bad-truncated.openvex.json").contains("not OpenVEX JSON"));
    let old = load_err("vexctl/v001-1.vex.json");
    assert!(old.contains("only OpenVEX 0.2.0"), "{old}");
    let missing = VexSet::load(&[fixture("no-such.openvex.json")]).unwrap_err();
    assert!(matches!(missing, VexError::Read { .. }));
}

#[test]
fn hostile_documents_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        "null",
        "[]",
        "{}",
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[]}"#,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","timestamp":"2026-01-01T00:00:00Z","statements":[{"vulnerability":{"name":""},"products":[],"status":"fixed"}]}"#,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","timestamp":"2026-01-01T00:00:00Z","statements":[{"vulnerability":{"name":"X"},"products":[{"@id":"pkg:npm/%zz"}],"status":"fixed"}]}"#,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","timestamp":"2026-01-01T00:00:00Z","version":0,"statements":[{"vulnerability":{"name":"X"},"products":[{"@id":"pkg:npm/a"}],"status":"fixed"}]}"#,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"X"},"products":[{"@id":"pkg:npm/a"}],"status":"fixed"}]}"#,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","timestamp":"2026-01-01T00:00:00Z","statements":[{"vulnerability":{"name":"X"},"products":[{"@id":"sha256:zz","subcomponents":[{"@id":"pkg:npm/a","subcomponents":[{"@id":"pkg:npm/b"}]}]}],"status":"fixed"}]}"#,
    ];
    for (i, text) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case-{i}.json"));
        std::fs::write(&path, text).unwrap();
        assert!(
            VexSet::load(&[path]).is_err(),
            "case {i} should be refused: {text}"
        );
    }
    // A statement with no products is accepted with a warning and applies to nothing.
    let path = dir.path().join("no-products.json");
    std::fs::write(&path, r#"{"@context":"https://openvex.dev/ns/v0.2.0","timestamp":"2026-01-01T00:00:00Z","statements":[{"vulnerability":{"name":"X"},"status":"fixed"}]}"#).unwrap();
    let set = VexSet::load(&[path]).unwrap();
    assert!(set.decide(&["X"], "pkg:npm/a@1", None).is_none());
    assert!(!set.warnings().is_empty());
    // A package purl that does not parse matches nothing rather than failing.
    assert!(
        january()
            .decide(&["CVE-2022-42969"], "not a purl", None)
            .is_none()
    );
}

#[test]
fn decisions_become_waivers_only_when_they_waive() {
    let set = january();
    let waiver = set
        .decide(&["CVE-2022-42969"], "pkg:pypi/py@1.11.0", None)
        .unwrap()
        .waiver()
        .unwrap();
    assert_eq!(waiver.kind, "vex");
    assert_eq!(waiver.status, "not_affected");
    assert_eq!(
        waiver.justification.as_deref(),
        Some("vulnerable_code_not_in_execute_path")
    );
    assert!(waiver.reason.unwrap().contains("svnwc"));
    assert_eq!(
        waiver.source,
        fixture("app-2026-01.openvex.json").display().to_string()
    );
    assert_eq!(waiver.expires, None);
    let fixed = set
        .decide(
            &["CVE-2024-35195"],
            "pkg:pypi/requests@2.31.0",
            Some(DIGEST),
        )
        .unwrap();
    assert_eq!(fixed.waiver().unwrap().status, "fixed");
    let affected = set
        .decide(&["CVE-2024-6345"], "pkg:pypi/setuptools@68.0.0", None)
        .unwrap();
    assert_eq!(affected.waiver(), None);
}
