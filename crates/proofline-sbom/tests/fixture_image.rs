//! The catalogers over the fixture image (`fixtures/images/app`): a real dpkg database of 6
//! Debian bookworm packages, read by one walk of the merged filesystem.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proofline_oci::{Image, ImageRef, OpenOptions};
use proofline_sbom::catalog::CATALOGERS;
use proofline_sbom::{Ecosystem, catalog_image};

fn fixture() -> Image {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/images/app");
    let reference: ImageRef = format!("oci:{path}:1.0").parse().unwrap();
    Image::open(&reference, &OpenOptions::default()).unwrap()
}

#[test]
fn the_fixture_images_debian_packages_with_their_files_and_md5sums() {
    let inventory = catalog_image(&fixture(), CATALOGERS).unwrap();
    let debs: Vec<_> = inventory
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Deb)
        .collect();
    assert_eq!(
        debs.len(),
        6,
        "{:#?}",
        debs.iter().map(|p| &p.name).collect::<Vec<_>>()
    );
    for p in &debs {
        assert!(
            p.purl.starts_with(&format!("pkg:deb/debian/{}@", p.name)),
            "{}",
            p.purl
        );
        assert!(p.purl.contains("distro=debian-12"), "{}", p.purl);
        assert!(!p.files.is_empty(), "{} owns no files", p.name);
        // Every recorded file digest is an md5, and most listed files exist in the image.
        assert!(
            p.files
                .iter()
                .filter_map(|f| f.recorded.as_ref())
                .all(|d| d.algorithm == "md5" && d.value.len() == 32)
        );
        assert!(
            p.files
                .iter()
                .any(|f| inventory.files.contains_key(&f.path)),
            "{}",
            p.name
        );
    }
    // The same image gives the same inventory.
    let again = catalog_image(&fixture(), CATALOGERS).unwrap();
    assert_eq!(inventory, again);
    let names: Vec<String> = debs
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    insta::assert_debug_snapshot!("fixture_debs", names);
}
