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

    // six as an installed wheel, with RECORD sha256 digests matching the files in the image.
    let six = inventory
        .packages
        .iter()
        .find(|p| p.ecosystem == Ecosystem::Pypi)
        .unwrap();
    assert_eq!(six.purl, "pkg:pypi/six@1.16.0");
    let py = six
        .files
        .iter()
        .find(|f| f.path.ends_with("/six.py"))
        .unwrap();
    let recorded = py.recorded.as_ref().unwrap();
    assert_eq!(recorded.algorithm, "sha256");
    assert_eq!(
        Some(&recorded.value),
        inventory.files[&py.path].sha256.as_ref()
    );
    // npm: the installed packages from node_modules, and the application from its lockfile
    // (whose entries are all installed, so nothing is listed twice).
    let npm: Vec<(&str, &str)> = inventory
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Npm)
        .map(|p| (p.purl.as_str(), p.found_at.as_str()))
        .collect();
    // Every executable and library belongs to a package (through merged-/usr symlinks), and the
    // package manager's own maintainer scripts are not "binaries copied in".
    assert!(
        inventory.unowned_binaries().is_empty(),
        "{:?}",
        inventory.unowned_binaries()
    );
    assert_eq!(
        npm,
        [
            (
                "pkg:npm/minimist@1.2.0",
                "/app/node_modules/minimist/package.json"
            ),
            ("pkg:npm/ms@2.1.3", "/app/node_modules/ms/package.json"),
            (
                "pkg:npm/proofline-fixture-app@1.0.0",
                "/app/package-lock.json"
            ),
        ]
    );
}

#[test]
fn recorded_digests_of_the_fixture_image_are_checked_through_merged_usr_symlinks() {
    let image = fixture();
    let inventory = catalog_image(&image, CATALOGERS).unwrap();
    let report = proofline_sbom::verify::verify(&image, &inventory).unwrap();
    assert!(report.files_checked > 100, "{}", report.files_checked);
    // The fixture's builder deleted nothing and changed nothing a package recorded, except
    // what a later layer removed (reported as missing, not modified).
    assert_eq!(
        report.modified,
        0,
        "{:#?}",
        report
            .packages
            .iter()
            .flat_map(|p| &p.problems)
            .filter(|f| f.state == proofline_sbom::verify::FileState::Modified)
            .collect::<Vec<_>>()
    );
    let six = report
        .packages
        .iter()
        .find(|p| p.purl == "pkg:pypi/six@1.16.0")
        .unwrap();
    assert!(six.ok >= 2, "{six:#?}");
    let zlib = report
        .packages
        .iter()
        .find(|p| p.purl.starts_with("pkg:deb/debian/zlib1g@"))
        .unwrap();
    assert!(zlib.ok >= 1, "{zlib:#?}");
}

#[test]
fn a_changed_file_is_modified_and_a_deleted_one_missing() {
    use proofline_sbom::verify::FileState;
    use proofline_sbom::{FileDigest, OwnedFile};
    let image = fixture();
    let mut inventory = catalog_image(&image, CATALOGERS).unwrap();
    let six = inventory
        .packages
        .iter_mut()
        .find(|p| p.ecosystem == Ecosystem::Pypi)
        .unwrap();
    let py = six
        .files
        .iter_mut()
        .find(|f| f.path.ends_with("/six.py"))
        .unwrap();
    py.recorded = Some(FileDigest {
        algorithm: "sha256".into(),
        value: "00".repeat(32),
    });
    six.files.push(OwnedFile {
        path: "/usr/local/lib/python3.11/site-packages/deleted.py".into(),
        recorded: Some(FileDigest {
            algorithm: "sha256".into(),
            value: "11".repeat(32),
        }),
    });
    let report = proofline_sbom::verify::verify(&image, &inventory).unwrap();
    let six = report
        .packages
        .iter()
        .find(|p| p.purl == "pkg:pypi/six@1.16.0")
        .unwrap();
    let states: Vec<(FileState, bool)> = six
        .problems
        .iter()
        .map(|f| (f.state, f.actual.is_some()))
        .collect();
    assert!(states.contains(&(FileState::Modified, true)), "{six:#?}");
    assert!(states.contains(&(FileState::Missing, false)), "{six:#?}");
    assert_eq!(report.modified, 1);
}
