//! The SPDX 3.0.1 JSON-LD document of the fixture image validates against the official SPDX
//! 3.0.1 JSON schema (`fixtures/schemas/spdx3`), as does the spec's own example (so the schema
//! is wired right), and is byte-identical run to run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proofline_oci::{Image, ImageRef, OpenOptions};
use proofline_sbom::catalog::CATALOGERS;
use proofline_sbom::catalog_image;
use proofline_sbom::cyclonedx::Subject;
use proofline_sbom::spdx3::write;
use serde_json::Value;

fn to_json(document: impl serde::Serialize) -> Value {
    serde_json::to_value(document).unwrap()
}

fn read(rel: &str) -> Value {
    let path = format!(
        "{}/../../fixtures/schemas/spdx3/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_fixture_images_spdx_3_document_is_valid() {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&read("spdx-json-schema.json"))
        .unwrap();
    let errors = |doc: &Value| -> Vec<String> {
        validator
            .iter_errors(doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .take(20)
            .collect()
    };
    assert!(errors(&read("example-package_sbom.json")).is_empty());

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/images/app");
    let reference: ImageRef = format!("oci:{path}:1.0").parse().unwrap();
    let image = Image::open(&reference, &OpenOptions::default()).unwrap();
    let inventory = catalog_image(&image, CATALOGERS).unwrap();
    let subject = Subject {
        name: "oci:fixtures/images/app:1.0".into(),
        digest: image.digest().to_string(),
    };
    let doc = to_json(write(&inventory, &subject, "2026-01-01T00:00:00Z"));
    let found = errors(&doc);
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(
        doc,
        to_json(write(&inventory, &subject, "2026-01-01T00:00:00Z"))
    );
    let packages = doc["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "software_Package")
        .count();
    assert_eq!(packages, inventory.packages.len() + 1);
    let files = doc["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "software_File")
        .count();
    // Every owned file present in the image, once, plus the binaries no package owns.
    let owned: std::collections::BTreeSet<String> = inventory
        .packages
        .iter()
        .flat_map(|p| p.files.iter())
        .map(|f| inventory.resolve_path(&f.path).into_owned())
        .filter(|p| inventory.files.contains_key(p.as_str()))
        .collect();
    assert!(owned.len() > 200, "{}", owned.len());
    assert_eq!(files, owned.len() + inventory.unowned_binaries().len());

    let mut bad = doc.clone();
    bad["@graph"][0]["specVersion"] = Value::from(3);
    assert!(!errors(&bad).is_empty());
}
