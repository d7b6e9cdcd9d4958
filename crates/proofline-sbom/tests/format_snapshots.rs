//! Snapshots of everything the stage writes for the fixture image: CycloneDX 1.6, SPDX 3.0.1,
//! SPDX 2.3, the dependency tree and the package verification. A change to any of them shows up
//! as a reviewed diff (`cargo insta review`), never silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use proofline_oci::{Image, ImageRef, OpenOptions};
use proofline_sbom::catalog::CATALOGERS;
use proofline_sbom::cyclonedx::{self, CycloneDxVersion, Subject};
use proofline_sbom::{catalog_image, spdx3, spdx23, tree, verify};

const TIME: &str = "2026-01-01T00:00:00Z";

fn fixture() -> (Image, Subject) {
    let reference: ImageRef = common::fixture_ref().parse().unwrap();
    let image = Image::open(&reference, &OpenOptions::default()).unwrap();
    let subject = Subject {
        name: "oci:fixtures/images/app:1.0".into(),
        digest: image.digest().to_string(),
    };
    (image, subject)
}

#[test]
fn the_fixture_images_documents() {
    let (image, subject) = fixture();
    let inventory = catalog_image(&image, CATALOGERS).unwrap();
    insta::assert_json_snapshot!(
        "cyclonedx-1.6",
        cyclonedx::write(&inventory, &subject, CycloneDxVersion::V1_6, TIME)
    );
    insta::assert_json_snapshot!("spdx-3.0.1", spdx3::write(&inventory, &subject, TIME));
    insta::assert_json_snapshot!("spdx-2.3", spdx23::write(&inventory, &subject, TIME));
    insta::assert_json_snapshot!(
        "dependency-tree",
        tree::build(&inventory, &subject.name, &subject.digest)
    );
    insta::assert_json_snapshot!(
        "package-verification",
        verify::verify(&image, &inventory).unwrap()
    );
}
