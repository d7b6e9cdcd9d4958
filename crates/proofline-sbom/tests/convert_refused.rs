//! What convert refuses and why (XML, tag-value, unsupported versions, non-SBOM JSON, size),
//! and hostile input — truncation at every point, every value swapped for every wrong type,
//! malformed members, cycles, 100k components, deep nesting — giving an error or a warning,
//! never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use proofline_sbom::Inventory;
use proofline_sbom::convert::{ConvertError, Foreign, MAX_BYTES, read, read_named};
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sbom/foreign")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each package's resolved dependencies, by purl.
fn edges(inv: &Inventory) -> BTreeMap<String, BTreeSet<String>> {
    inv.packages
        .iter()
        .zip(inv.dependency_graph())
        .map(|(p, on)| (p.purl.clone(), on.iter().map(|d| d.purl.clone()).collect()))
        .collect()
}

fn read_back(document: &Value) -> Foreign {
    read(&serde_json::to_vec(document).unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

// ---- what is not read, and why ----

#[test]
fn xml_and_tag_value_are_refused_with_the_command_that_converts_them() {
    let cases: [(&[u8], &str, &str); 4] = [
        (
            b"<?xml version=\"1.0\"?>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\">",
            "CycloneDX XML",
            "cyclonedx convert",
        ),
        (
            b"<rdf:RDF xmlns:spdx=\"http://spdx.org/rdf/terms#\">",
            "SPDX RDF/XML",
            "pyspdxtools",
        ),
        (
            b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n",
            "SPDX tag-value",
            "pyspdxtools",
        ),
        (b"\xEF\xBB\xBF  <html>", "XML", "JSON"),
    ];
    for (bytes, found, fix) in cases {
        let err = read_named("in.sbom", bytes).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ConvertError::NotJson { .. }), "{text}");
        assert!(
            text.contains(found) && text.contains(fix) && text.contains("in.sbom"),
            "{text}"
        );
    }
}

#[test]
fn unsupported_versions_name_the_version_found() {
    let cases = [
        (
            json!({"bomFormat": "CycloneDX", "specVersion": "1.2"}),
            "CycloneDX 1.2",
        ),
        (
            json!({"bomFormat": "CycloneDX", "specVersion": 1.6}),
            "CycloneDX (no specVersion)",
        ),
        (
            json!({"spdxVersion": "SPDX-2.1", "packages": []}),
            "SPDX version SPDX-2.1",
        ),
        (
            json!({"@context": "https://spdx.org/rdf/3.1/spdx-context.jsonld", "@graph": []}),
            "context version 3.1",
        ),
        (
            json!({"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
                   "@graph": [{"type": "CreationInfo", "@id": "_:c", "specVersion": "3.1.0"}]}),
            "SPDX 3.1.0",
        ),
    ];
    for (doc, found) in cases {
        let err = read(&serde_json::to_vec(&doc).unwrap()).unwrap_err();
        assert!(matches!(err, ConvertError::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains(found), "{err}");
    }
    // SPDX 2.2 JSON has the same fields: read.
    let f = read(br#"{"spdxVersion": "SPDX-2.2", "packages": []}"#).unwrap();
    assert_eq!(f.format, "SPDX 2.2");
}

#[test]
fn json_that_is_no_sbom_is_refused() {
    for bytes in [
        &b"{}"[..],
        b"[]",
        b"42",
        br#"{"bomFormat": "SWID"}"#,
        br#"{"@graph": []}"#,
    ] {
        assert!(matches!(
            read(bytes),
            Err(ConvertError::Unrecognised { .. })
        ));
    }
    assert!(matches!(
        read(b"\x00\xff garbage"),
        Err(ConvertError::BadJson { .. })
    ));
    assert!(matches!(read(b""), Err(ConvertError::BadJson { .. })));
}

#[test]
fn an_sbom_over_the_size_limit_is_refused_before_parsing() {
    let big = vec![b' '; MAX_BYTES + 1];
    let err = read_named("huge.json", &big).unwrap_err();
    assert!(matches!(err, ConvertError::TooLarge { .. }));
    assert!(err.to_string().contains("huge.json"));
}

// ---- hostile input: errors or warnings, never a panic ----

#[test]
fn every_truncation_of_every_format_is_an_error_not_a_panic() {
    for name in [
        "trivy-fluentd.cdx.json",
        "syft-image.spdx.json",
        "syft-image.spdx3.json",
        "node-app-lock.cdx.json",
    ] {
        let doc = fixture(name);
        // Every proper prefix of the document without its trailing newline is cut JSON.
        let whole = doc.trim_ascii_end().len();
        for end in (0..whole).step_by(7) {
            assert!(
                read(&doc[..end]).is_err(),
                "{name}: a prefix of {end} bytes read as whole"
            );
        }
        assert!(read(&doc).is_ok());
    }
}

/// Replaces the node at `target` (in walk order) with `with`.
fn mutate(v: &mut Value, target: usize, with: &Value, seen: &mut usize) -> bool {
    if *seen == target {
        *v = with.clone();
        return true;
    }
    *seen += 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|x| mutate(x, target, with, seen)),
        Value::Object(o) => o.values_mut().any(|x| mutate(x, target, with, seen)),
        _ => false,
    }
}

#[test]
fn every_value_replaced_by_every_wrong_type_never_panics() {
    let replacements = [
        json!(null),
        json!(7),
        json!("x"),
        json!([]),
        json!({}),
        json!([1, {"a": []}]),
    ];
    for name in [
        "syft-image.cdx.json",
        "syft-image.spdx.json",
        "syft-image.spdx3.json",
        "node-app-lock.cdx.json",
    ] {
        let original: Value = serde_json::from_slice(&fixture(name)).unwrap();
        let mut target = 1;
        loop {
            let mut changed_any = false;
            for with in &replacements {
                let mut doc = original.clone();
                let mut seen = 0;
                if mutate(&mut doc, target, with, &mut seen) {
                    changed_any = true;
                    // Either outcome is fine; a panic fails the test.
                    let _ = read(&serde_json::to_vec(&doc).unwrap());
                }
            }
            if !changed_any {
                break;
            }
            target += 1;
        }
        assert!(target > 50, "{name}: only {target} nodes walked");
    }
}

#[test]
fn malformed_members_are_warnings_and_the_rest_is_read() {
    let doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {"component": {"name": 5}, "tools": "nobody"},
        "components": [
            1, "x", {"name": 5},
            {"type": "library", "name": "ok", "version": "1", "purl": "pkg:npm/ok@1",
             "licenses": "MIT", "properties": {}, "hashes": 7, "components": "no", "scope": 3},
            {"type": "library", "name": "twice", "bom-ref": "dup", "purl": "pkg:npm/twice@1"},
            {"type": "library", "name": "again", "bom-ref": "dup", "purl": "pkg:npm/again@1"}
        ],
        "dependencies": [{"ref": 3}, {"ref": "dup", "dependsOn": "nope"}, 5,
                          {"ref": "dup", "dependsOn": ["ghost", 9]}]
    });
    let f = read_back(&doc);
    assert_eq!(f.inventory.packages.len(), 3);
    let codes: BTreeSet<&str> = f
        .inventory
        .warnings
        .iter()
        .map(|w| w.split(':').next().unwrap())
        .collect();
    assert_eq!(
        codes,
        BTreeSet::from([
            "foreign-duplicate-id",
            "foreign-malformed",
            "foreign-unresolved-dependency"
        ])
    );
    assert_eq!(f.subject.as_ref().unwrap().name, "");
    // Wrong top-level shapes are errors naming the member.
    let err = read(br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {"a": 1}}"#)
        .unwrap_err();
    assert!(
        err.to_string().contains("`components` is not an array"),
        "{err}"
    );
    let err = read(br#"{"spdxVersion": "SPDX-2.3", "relationships": "x"}"#).unwrap_err();
    assert!(
        err.to_string().contains("`relationships` is not an array"),
        "{err}"
    );
    let err =
        read(br#"{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": {}}"#)
            .unwrap_err();
    assert!(
        err.to_string().contains("`@graph` is not an array"),
        "{err}"
    );
}

#[test]
fn dependency_cycles_in_every_format_are_kept_as_edges() {
    let cdx = json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6",
        "components": [
            {"type": "library", "bom-ref": "a", "name": "a", "version": "1", "purl": "pkg:npm/a@1"},
            {"type": "library", "bom-ref": "b", "name": "b", "version": "1", "purl": "pkg:npm/b@1"}
        ],
        "dependencies": [{"ref": "a", "dependsOn": ["b", "a"]}, {"ref": "b", "dependsOn": ["a"]}]
    });
    let spdx2 = json!({
        "spdxVersion": "SPDX-2.3",
        "packages": [
            {"SPDXID": "SPDXRef-a", "name": "a", "versionInfo": "1", "externalRefs": [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/a@1"}]},
            {"SPDXID": "SPDXRef-b", "name": "b", "versionInfo": "1", "externalRefs": [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/b@1"}]}
        ],
        "relationships": [
            {"spdxElementId": "SPDXRef-a", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-b"},
            {"spdxElementId": "SPDXRef-a", "relationshipType": "DEPENDENCY_OF", "relatedSpdxElement": "SPDXRef-b"}
        ]
    });
    let spdx3 = json!({
        "@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
        "@graph": [
            {"type": "software_Package", "spdxId": "urn:a", "name": "a", "software_packageVersion": "1", "software_packageUrl": "pkg:npm/a@1"},
            {"type": "software_Package", "spdxId": "urn:b", "name": "b", "software_packageVersion": "1", "software_packageUrl": "pkg:npm/b@1"},
            {"type": "Relationship", "spdxId": "urn:r1", "from": "urn:a", "relationshipType": "dependsOn", "to": ["urn:b"]},
            {"type": "Relationship", "spdxId": "urn:r2", "from": "urn:b", "relationshipType": "dependsOn", "to": "urn:a"}
        ]
    });
    for doc in [cdx, spdx2, spdx3] {
        let f = read_back(&doc);
        let graph = edges(&f.inventory);
        assert_eq!(
            graph["pkg:npm/a@1"],
            BTreeSet::from(["pkg:npm/b@1".to_string()])
        );
        assert_eq!(
            graph["pkg:npm/b@1"],
            BTreeSet::from(["pkg:npm/a@1".to_string()])
        );
    }
}

#[test]
fn a_hundred_thousand_components_in_a_chain_are_read() {
    let n = 100_000;
    let components: Vec<Value> = (0..n)
        .map(|i| {
            json!({"type": "library", "bom-ref": format!("r{i}"), "name": format!("p{i}"),
                        "version": "1.0.0", "purl": format!("pkg:npm/p{i}@1.0.0")})
        })
        .collect();
    let dependencies: Vec<Value> = (0..n)
        .map(|i| json!({"ref": format!("r{i}"), "dependsOn": [format!("r{}", (i + 1) % n)]}))
        .collect();
    let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
                     "components": components, "dependencies": dependencies});
    let f = read_back(&doc);
    assert_eq!(f.inventory.packages.len(), n);
    assert!(f.inventory.packages.iter().all(|p| p.depends.len() == 1));
    assert_eq!(
        edges(&f.inventory)["pkg:npm/p99999@1.0.0"],
        BTreeSet::from(["pkg:npm/p0@1.0.0".to_string()])
    );
}

#[test]
fn deep_nesting_is_bounded() {
    // Components 40 deep: the first 33 levels read, the rest a warning.
    let mut c = json!({"type": "library", "name": "leaf", "purl": "pkg:npm/leaf@1"});
    for i in 0..40 {
        c = json!({"type": "library", "name": format!("n{i}"), "purl": format!("pkg:npm/n{i}@1"), "components": [c]});
    }
    let f = read_back(&json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [c]}));
    assert_eq!(f.inventory.packages.len(), 33);
    assert!(
        f.inventory
            .warnings
            .iter()
            .any(|w| w.starts_with("foreign-too-deep"))
    );
    // JSON nested past serde_json's limit is an error, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        read(deep.as_bytes()),
        Err(ConvertError::BadJson { .. })
    ));
}
