//! The CycloneDX BOM of the fixture image validates against the official CycloneDX 1.4, 1.5 and
//! 1.6 schemas (`fixtures/schemas/cyclonedx`, with the SPDX licence list and JSF schemas they
//! reference served from disk, never the network), and is byte-identical run to run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use proofline_oci::{Image, ImageRef, OpenOptions};
use proofline_sbom::catalog::CATALOGERS;
use proofline_sbom::catalog_image;
use proofline_sbom::cyclonedx::{CycloneDxVersion, Subject, write};
use serde_json::Value;

#[test]
fn the_fixture_images_bom_is_valid_cyclonedx_1_4_1_5_and_1_6() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/images/app");
    let reference: ImageRef = format!("oci:{path}:1.0").parse().unwrap();
    let image = Image::open(&reference, &OpenOptions::default()).unwrap();
    let inventory = catalog_image(&image, CATALOGERS).unwrap();
    let subject = Subject {
        name: "oci:fixtures/images/app:1.0".into(),
        digest: image.digest().to_string(),
    };
    for version in [
        CycloneDxVersion::V1_4,
        CycloneDxVersion::V1_5,
        CycloneDxVersion::V1_6,
    ] {
        let bom = common::to_json(write(&inventory, &subject, version, "2026-01-01T00:00:00Z"));
        let errors = common::cyclonedx_errors(&bom, version.as_str());
        assert!(
            errors.is_empty(),
            "CycloneDX {}: {errors:#?}",
            version.as_str()
        );
        let unowned = inventory.unowned_binaries();
        assert_eq!(
            bom["components"].as_array().unwrap().len(),
            inventory.packages.len() + unowned.len()
        );
        for path in &unowned {
            assert!(
                bom["components"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["name"] == *path),
                "unowned {path} missing from the BOM"
            );
        }
        // Deterministic, including the serial number.
        assert_eq!(
            bom,
            common::to_json(write(&inventory, &subject, version, "2026-01-01T00:00:00Z"))
        );
    }
    // A broken BOM is rejected, so the validation above cannot pass vacuously.
    let mut bad = common::to_json(write(
        &inventory,
        &subject,
        CycloneDxVersion::V1_6,
        "2026-01-01T00:00:00Z",
    ));
    bad["components"][0]["purl"] = Value::from(42);
    assert!(!common::cyclonedx_errors(&bad, "1.6").is_empty());
}
