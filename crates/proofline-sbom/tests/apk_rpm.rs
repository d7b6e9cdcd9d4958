//! The apk and rpm catalogers over test images holding real databases (an Alpine 3.18
//! `installed` db and an rpm 4.18 `rpmdb.sqlite`, see `fixtures/sbom/{apk,rpm}/SOURCE.md`), some
//! of the files they list with the right content, some with the wrong one, and package
//! verification of apk's SHA-1 and rpm's SHA-256 digests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;

use proofline_oci::{Image, OpenOptions};
use proofline_sbom::catalog::CATALOGERS;
use proofline_sbom::cyclonedx::{CycloneDxVersion, Subject, write};
use proofline_sbom::verify::{FileState, verify};
use proofline_sbom::{Ecosystem, Inventory, catalog_image};
use proofline_testkit::TestImage;

const APK_DB: &[u8] = include_bytes!("../../../fixtures/sbom/apk/installed");
const RPM_DB: &[u8] = include_bytes!("../../../fixtures/sbom/rpm/rpmdb.sqlite");

/// A layer of regular files and symlinks (`target` set).
fn layer(entries: &[(&str, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data, target) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        if let Some(target) = target {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_mode(0o777);
            h.set_size(0);
            tar.append_link(&mut h, path, target).unwrap();
        } else {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            tar.append_data(&mut h, path, *data).unwrap();
        }
    }
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

fn open(image: &TestImage, dir: &tempfile::TempDir) -> Image {
    image.write_layout(dir.path(), "t");
    let reference = format!("oci:{}:t", dir.path().display()).parse().unwrap();
    Image::open(&reference, &OpenOptions::default()).unwrap()
}

/// The inventory's CycloneDX 1.6 BOM validates against the official schema, with every
/// package and its resolved dependencies in it.
fn assert_valid_cyclonedx(image: &Image, inventory: &Inventory) {
    let subject = Subject {
        name: "oci:test:t".into(),
        digest: image.digest().to_string(),
    };
    let bom = common::to_json(write(
        inventory,
        &subject,
        CycloneDxVersion::V1_6,
        "2026-01-01T00:00:00Z",
    ));
    let errors = common::cyclonedx_errors(&bom, "1.6");
    assert!(errors.is_empty(), "{errors:#?}");
    let purls: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    for p in &inventory.packages {
        assert!(
            purls.contains(&p.purl.as_str()),
            "{} not in the BOM",
            p.purl
        );
    }
    let edges: usize = bom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dependsOn"].as_array().map_or(0, Vec::len))
        .sum();
    let resolved: usize = inventory.dependency_graph().iter().map(Vec::len).sum();
    assert!(
        edges >= resolved,
        "{edges} edges in the BOM, {resolved} resolved"
    );
}

/// name → (purl, licence, depends resolved by the dependency graph).
fn summary(
    inventory: &Inventory,
    ecosystem: Ecosystem,
) -> BTreeMap<String, (String, Option<String>, Vec<String>)> {
    let graph = inventory.dependency_graph();
    inventory
        .packages
        .iter()
        .zip(graph)
        .filter(|(p, _)| p.ecosystem == ecosystem)
        .map(|(p, on)| {
            let mut on: Vec<String> = on.iter().map(|d| d.name.clone()).collect();
            on.sort();
            (p.name.clone(), (p.purl.clone(), p.license.clone(), on))
        })
        .collect()
}

fn states(
    report: &proofline_sbom::verify::VerificationReport,
    purl_prefix: &str,
) -> BTreeMap<String, FileState> {
    report
        .packages
        .iter()
        .filter(|p| p.purl.starts_with(purl_prefix))
        .flat_map(|p| p.problems.iter())
        .map(|f| (f.path.clone(), f.state))
        .collect()
}

#[test]
fn alpine_packages_with_provides_resolved_and_sha1_checksums_verified() {
    let image = TestImage::build(
        &[layer(&[
            ("lib/apk/db/installed", APK_DB, None),
            (
                "etc/os-release",
                b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.3\n",
                None,
            ),
            // Real content (its SHA-1 is the one recorded).
            ("etc/hostname", b"localhost\n", None),
            (
                "etc/shells",
                b"# valid login shells\n/bin/sh\n/bin/ash\n",
                None,
            ),
            // Not the content Alpine shipped.
            ("etc/motd", b"Welcome, attacker\n", None),
            // Symlinks: apk records the SHA-1 of the target.
            ("lib/libz.so.1", b"", Some("libz.so.1.2.13")),
            (
                "lib/libc.musl-aarch64.so.1",
                b"",
                Some("ld-musl-aarch64.so.1"),
            ),
            ("var/run", b"", Some("/run")),
            // A symlink retargeted.
            ("usr/lib/libssl.so.3", b"", Some("/tmp/evil.so")),
        ])],
        "amd64",
    );
    let dir = tempfile::tempdir().unwrap();
    let image = open(&image, &dir);
    let inventory = catalog_image(&image, CATALOGERS).unwrap();
    assert!(inventory.warnings.is_empty(), "{:?}", inventory.warnings);
    let apk = summary(&inventory, Ecosystem::Apk);
    let row = |purl: &str, licence: &str, on: &[&str]| {
        (
            purl.to_string(),
            Some(licence.to_string()),
            on.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    };
    let q = "?arch=aarch64&distro=alpine-3.18.3";
    let expected: BTreeMap<String, _> = [
        (
            "alpine-baselayout",
            row(
                &format!("pkg:apk/alpine/alpine-baselayout@3.4.3-r1{q}"),
                "GPL-2.0-only",
                &["alpine-baselayout-data"],
            ),
        ),
        (
            "alpine-baselayout-data",
            row(
                &format!(
                    "pkg:apk/alpine/alpine-baselayout-data@3.4.3-r1{q}&upstream=alpine-baselayout"
                ),
                "GPL-2.0-only",
                &[],
            ),
        ),
        (
            "libssl3",
            row(
                &format!("pkg:apk/alpine/libssl3@3.1.2-r0{q}&upstream=openssl"),
                "Apache-2.0",
                &["musl"],
            ),
        ),
        (
            "musl",
            row(&format!("pkg:apk/alpine/musl@1.2.4-r1{q}"), "MIT", &[]),
        ),
        (
            "musl-utils",
            row(
                &format!("pkg:apk/alpine/musl-utils@1.2.4-r1{q}&upstream=musl"),
                "MIT AND BSD-2-Clause AND GPL-2.0-or-later",
                &["musl", "scanelf"],
            ),
        ),
        (
            "scanelf",
            row(
                &format!("pkg:apk/alpine/scanelf@1.3.7-r1{q}&upstream=pax-utils"),
                "GPL-2.0-only",
                &["musl"],
            ),
        ),
        (
            "ssl_client",
            row(
                &format!("pkg:apk/alpine/ssl_client@1.36.1-r2{q}&upstream=busybox"),
                "GPL-2.0-only",
                &["libssl3", "musl"],
            ),
        ),
        (
            "zlib",
            row(
                &format!("pkg:apk/alpine/zlib@1.2.13-r1{q}"),
                "Zlib",
                &["musl"],
            ),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(apk, expected);
    let baselayout = inventory
        .packages
        .iter()
        .find(|p| p.name == "alpine-baselayout")
        .unwrap();
    // Declared as written; `/bin/sh` (busybox is not in this db) stays an unresolved edge.
    assert_eq!(
        baselayout.depends,
        ["alpine-baselayout-data=3.4.3-r1", "/bin/sh"]
    );
    assert_eq!(
        baselayout.supplier.as_deref(),
        Some("Natanael Copa <ncopa@alpinelinux.org>")
    );

    assert_valid_cyclonedx(&image, &inventory);

    let report = verify(&image, &inventory).unwrap();
    let apk_files: usize = inventory
        .packages
        .iter()
        .flat_map(|p| p.files.iter())
        .filter(|f| f.recorded.is_some())
        .count();
    assert_eq!(apk_files, 41);
    assert_eq!(report.files_checked, 41);
    assert_eq!(report.unchecked, 0);
    let problems = states(&report, "pkg:apk/");
    // hostname, shells and three symlinks are ok, so not among the problems.
    for ok in [
        "/etc/hostname",
        "/etc/shells",
        "/lib/libz.so.1",
        "/lib/libc.musl-aarch64.so.1",
        "/var/run",
    ] {
        assert!(!problems.contains_key(ok), "{ok}: {:?}", problems.get(ok));
    }
    assert_eq!(problems["/etc/motd"], FileState::Modified);
    assert_eq!(problems["/usr/lib/libssl.so.3"], FileState::Modified);
    assert_eq!(problems["/etc/passwd"], FileState::Missing);
    assert_eq!(report.modified, 2);
    assert_eq!(report.missing, 41 - 5 - 2);
    let motd = report
        .packages
        .iter()
        .flat_map(|p| p.problems.iter())
        .find(|f| f.path == "/etc/motd")
        .unwrap();
    assert_eq!(motd.algorithm, "sha1");
    assert_eq!(motd.recorded, "48b912f610627546cfc30af0f974745a1bf7c30f");
    assert_eq!(
        motd.actual.as_deref(),
        Some("eb63d260e9814b6f550e64c9fbc4f7ab6e5c225b")
    );
}

#[test]
fn rpm_packages_from_a_real_sqlite_rpmdb_with_sha256_digests_verified() {
    let image = TestImage::build(
        &[layer(&[
            ("var/lib/rpm/rpmdb.sqlite", RPM_DB, None),
            (
                "etc/os-release",
                b"NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=40\n",
                None,
            ),
            (
                "usr/bin/pl-hello",
                b"#!/bin/sh\ncat /usr/share/pl-libgreet/greeting.txt\n",
                None,
            ),
            (
                "usr/share/pl-libgreet/greeting.txt",
                b"hello, world\n",
                None,
            ),
            ("usr/share/pl-libgreet/fr.txt", b"hallo\n", None),
            // An old-format database beside it is named, not ignored.
            (
                "usr/lib/sysimage/rpm/Packages",
                b"\0\0\0\0\x61\x15\x06\0",
                None,
            ),
        ])],
        "amd64",
    );
    let dir = tempfile::tempdir().unwrap();
    let image = open(&image, &dir);
    let inventory = catalog_image(&image, CATALOGERS).unwrap();
    assert_eq!(
        inventory.warnings,
        [
            "rpm-unsupported-database: /usr/lib/sysimage/rpm/Packages is an rpm database in the \
          Berkeley DB (rpm < 4.16) format, which is not read: its packages are missing from the SBOM"
        ]
    );
    let rpm = summary(&inventory, Ecosystem::Rpm);
    let expected: BTreeMap<String, _> = [
        (
            "pl-hello".to_string(),
            (
                "pkg:rpm/fedora/pl-hello@0.9-1.fc40?arch=noarch&epoch=2&distro=fedora-40&upstream=pl-hello-0.9-1.fc40.src.rpm".to_string(),
                Some("MIT".to_string()),
                vec!["pl-libgreet".to_string()],
            ),
        ),
        (
            "pl-libgreet".to_string(),
            (
                "pkg:rpm/fedora/pl-libgreet@1.2.0-3?arch=noarch&distro=fedora-40&upstream=pl-libgreet-1.2.0-3.src.rpm".to_string(),
                Some("Apache-2.0 OR MIT".to_string()),
                vec![],
            ),
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(rpm, expected);
    let hello = inventory
        .packages
        .iter()
        .find(|p| p.name == "pl-hello")
        .unwrap();
    assert_eq!(hello.version, "2:0.9-1.fc40");
    assert_eq!(hello.supplier.as_deref(), Some("Proofline"));
    assert_eq!(hello.depends, ["/bin/sh", "libgreet(data)", "pl-libgreet"]);
    let files: Vec<(&str, Option<&str>)> = hello
        .files
        .iter()
        .map(|f| {
            (
                f.path.as_str(),
                f.recorded.as_ref().map(|d| d.algorithm.as_str()),
            )
        })
        .collect();
    // The directory and the ghost file are owned but have no digest.
    assert_eq!(
        files,
        [
            ("/usr/bin/pl-hello", Some("sha256")),
            ("/var/log/pl-hello", None),
            ("/var/log/pl-hello/last.log", None),
        ]
    );
    assert_eq!(
        hello.files[0].recorded.as_ref().unwrap().value,
        "2e306dc133b79f2caef479e6f6478b02248447effc845ef54ce5076e918f1007"
    );

    assert_valid_cyclonedx(&image, &inventory);

    let report = verify(&image, &inventory).unwrap();
    assert_eq!(report.files_checked, 3);
    assert_eq!(
        (report.modified, report.missing, report.unchecked),
        (1, 0, 0)
    );
    let problems = states(&report, "pkg:rpm/");
    assert_eq!(
        problems,
        [(
            "/usr/share/pl-libgreet/fr.txt".to_string(),
            FileState::Modified
        )]
        .into_iter()
        .collect()
    );
    // A file deleted from the image is missing.
    let mut without = inventory.clone();
    without.files.remove("/usr/bin/pl-hello");
    let report = verify(&image, &without).unwrap();
    assert_eq!(report.missing, 1);
}

#[test]
fn one_walk_computes_md5_and_sha1_for_the_same_file_and_each_is_judged_alone() {
    use proofline_sbom::{FileDigest, OwnedFile, Package};
    let image = TestImage::new(&[("etc/hostname", b"localhost\n")]);
    let dir = tempfile::tempdir().unwrap();
    let image = open(&image, &dir);
    let mut inventory = catalog_image(&image, CATALOGERS).unwrap();
    let file = |path: &str, algorithm: &str, value: &str| OwnedFile {
        path: path.into(),
        recorded: Some(FileDigest {
            algorithm: algorithm.into(),
            value: value.into(),
        }),
    };
    let mut a = Package::new(Ecosystem::Apk, "a", "1", "pkg:apk/alpine/a@1", "/db", "apk");
    a.files = vec![
        // The right SHA-1 of `localhost\n` (ok) and a wrong MD5 (its MD5 is b841…df: modified).
        file(
            "/etc/hostname",
            "sha1",
            "ea75706155cffed0a1bd43ddba4543da27d73a67",
        ),
        file("/etc/hostname", "md5", "63c39a8c5f4a3a5e7e5ab4f1d7c1f3f4"),
        file(
            "/etc/missing",
            "sha1",
            "0000000000000000000000000000000000000000",
        ),
    ];
    inventory.packages.push(a);
    let report = verify(&image, &inventory).unwrap();
    assert_eq!(report.files_checked, 3);
    let problems: Vec<(&str, &str, FileState)> = report.packages[0]
        .problems
        .iter()
        .map(|f| (f.path.as_str(), f.algorithm.as_str(), f.state))
        .collect();
    assert_eq!(
        problems,
        [
            ("/etc/hostname", "md5", FileState::Modified),
            ("/etc/missing", "sha1", FileState::Missing),
        ]
    );
    assert_eq!(report.packages[0].ok, 1);
}
