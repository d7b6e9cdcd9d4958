//! The SPDX 2.3 document of the fixture image validates against the official SPDX 2.3 JSON
//! schema (`fixtures/schemas/spdx2.3`) and is byte-identical run to run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proofline_oci::{Image, ImageRef, OpenOptions};
use proofline_sbom::catalog::CATALOGERS;
use proofline_sbom::catalog_image;
use proofline_sbom::cyclonedx::Subject;
use proofline_sbom::spdx23::write;
use serde_json::Value;

#[test]
fn the_fixture_images_spdx_2_3_document_is_valid() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/schemas/spdx2.3/spdx-schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/images/app");
    let reference: ImageRef = format!("oci:{path}:1.0").parse().unwrap();
    let image = Image::open(&reference, &OpenOptions::default()).unwrap();
    let inventory = catalog_image(&image, CATALOGERS).unwrap();
    let subject = Subject {
        name: "oci:fixtures/images/app:1.0".into(),
        digest: image.digest().to_string(),
    };
    let doc = write(&inventory, &subject, "2026-01-01T00:00:00Z");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        doc["packages"].as_array().unwrap().len(),
        inventory.packages.len() + 1
    );
    assert_eq!(doc, write(&inventory, &subject, "2026-01-01T00:00:00Z"));
    // Every relationship names elements of the document (dependencies the image lacks, e.g.
    // libc6 for the fixture's libzstd1, are not invented).
    let ids: Vec<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["SPDXID"].as_str().unwrap())
        .chain(["SPDXRef-DOCUMENT"])
        .collect();
    for r in doc["relationships"].as_array().unwrap() {
        assert!(ids.contains(&r["spdxElementId"].as_str().unwrap()), "{r}");
        assert!(
            ids.contains(&r["relatedSpdxElement"].as_str().unwrap()),
            "{r}"
        );
    }
    let mut bad = doc.clone();
    bad["packages"][1]["filesAnalyzed"] = Value::from("no");
    assert!(validator.iter_errors(&bad).next().is_some());
}
