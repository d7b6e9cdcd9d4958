//! Foreign SBOMs read into the inventory: real outputs of cyclonedx-npm, cyclonedx-py, syft and
//! trivy and the official SPDX / CycloneDX examples (`fixtures/sbom/foreign`, see SOURCE.md) give
//! the exact packages, licences and edges counted independently with `jq`; our own writers'
//! output reads back to the same packages and graph. Refused and hostile input:
//! `convert_refused.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use proofline_sbom::convert::{ConvertError, Foreign, read, read_named};
use proofline_sbom::cyclonedx::{self, CycloneDxVersion, Subject};
use proofline_sbom::model::ImageFile;
use proofline_sbom::{Ecosystem, Inventory, OwnedFile, Package, spdx3, spdx23};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sbom/foreign")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load(name: &str) -> Foreign {
    read_named(name, &fixture(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn by_purl<'a>(f: &'a Foreign, purl: &str) -> &'a Package {
    f.inventory
        .packages
        .iter()
        .find(|p| p.purl == purl)
        .unwrap_or_else(|| panic!("no {purl}"))
}

/// Each package's resolved dependencies, by purl.
fn edges(inv: &Inventory) -> BTreeMap<String, BTreeSet<String>> {
    inv.packages
        .iter()
        .zip(inv.dependency_graph())
        .map(|(p, on)| (p.purl.clone(), on.iter().map(|d| d.purl.clone()).collect()))
        .collect()
}

// ---- real foreign documents ----

#[test]
fn cyclonedx_npm_lockfile_sbom_keeps_both_minimist_versions_and_the_exact_edge() {
    let f = load("node-app-lock.cdx.json");
    assert_eq!(f.format, "CycloneDX 1.6");
    // jq '[.components[], .components[].components[]?] | length' → 10 (minimist@0.0.8 nests in mkdirp)
    assert_eq!(f.inventory.packages.len(), 10);
    assert!(
        f.inventory
            .packages
            .iter()
            .all(|p| p.ecosystem == Ecosystem::Npm)
    );
    let subject = f.subject.as_ref().unwrap();
    assert_eq!(subject.name, "node-app");
    assert!(f.tool.as_deref().unwrap().contains("cyclonedx-npm"));
    // The nested minimist: found where npm put it, and mkdirp depends on it, not on 1.2.0.
    let old = by_purl(&f, "pkg:npm/minimist@0.0.8");
    assert_eq!(old.found_at, "node_modules/mkdirp/node_modules/minimist");
    let graph = edges(&f.inventory);
    assert_eq!(
        graph["pkg:npm/mkdirp@0.5.1"],
        BTreeSet::from(["pkg:npm/minimist@0.0.8".to_string()])
    );
    // jq: dependsOn of brace-expansion → balanced-match, concat-map.
    assert_eq!(graph["pkg:npm/brace-expansion@1.1.22"].len(), 2);
    // jq: 4 components carry cdx:npm:package:development.
    let dev: BTreeSet<&str> = f
        .inventory
        .packages
        .iter()
        .filter(|p| p.dev)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        dev,
        BTreeSet::from([
            "balanced-match",
            "brace-expansion",
            "concat-map",
            "minimatch"
        ])
    );
    assert_eq!(
        by_purl(&f, "pkg:npm/minimatch@3.0.4").license.as_deref(),
        Some("ISC")
    );
    assert!(
        f.inventory.warnings.is_empty(),
        "{:?}",
        f.inventory.warnings
    );
}

#[test]
fn cyclonedx_py_environment_sbom_reads_same_name_versions_apart() {
    let f = load("python-image-env.cdx.json");
    // jq '.components | length' → 20, all pkg:pypi.
    assert_eq!(f.inventory.packages.len(), 20);
    assert!(
        f.inventory
            .packages
            .iter()
            .all(|p| p.ecosystem == Ecosystem::Pypi)
    );
    assert!(
        f.subject.is_none(),
        "the environment SBOM has no metadata.component"
    );
    let graph = edges(&f.inventory);
    // jq '.dependencies[] | select(.ref == "Flask==0.12.2")' → Click, Jinja2, Werkzeug, itsdangerous.
    assert_eq!(
        graph["pkg:pypi/flask@0.12.2"],
        BTreeSet::from(
            [
                "pkg:pypi/click@7.0",
                "pkg:pypi/itsdangerous@0.24",
                "pkg:pypi/jinja2@2.10",
                "pkg:pypi/werkzeug@0.14.1"
            ]
            .map(String::from)
        )
    );
    // urllib3 1.26.12 → certifi 2022.9.24 and idna 3.3, not the older copies of the same names.
    assert_eq!(
        graph["pkg:pypi/urllib3@1.26.12"],
        BTreeSet::from(["pkg:pypi/certifi@2022.9.24", "pkg:pypi/idna@3.3"].map(String::from))
    );
    // An SPDX id next to a trove classifier: the id is the licence.
    assert_eq!(
        by_purl(&f, "pkg:pypi/markupsafe@1.1.1").license.as_deref(),
        Some("BSD-3-Clause")
    );
    // Only a classifier: kept as the free-text name it is.
    assert_eq!(
        by_purl(&f, "pkg:pypi/click@7.0").license.as_deref(),
        Some("License :: OSI Approved :: BSD License")
    );
}

#[test]
fn cargo_cyclonedx_spec_1_3_is_refused_with_the_fix() {
    let err = read_named(
        "rust-app.cdx.json",
        &fixture("rust-app.cargo-cyclonedx.cdx.json"),
    )
    .unwrap_err();
    assert!(matches!(err, ConvertError::Unsupported { .. }));
    let text = err.to_string();
    assert!(text.contains("rust-app.cdx.json"), "{text}");
    assert!(text.contains("CycloneDX 1.3"), "{text}");
    assert!(text.contains("--spec-version"), "{text}");
}

#[test]
fn syft_cyclonedx_reads_packages_but_not_the_operating_system() {
    let f = load("syft-image.cdx.json");
    assert_eq!(f.format, "CycloneDX 1.7");
    // 3 components: 2 libraries + 1 operating-system.
    assert_eq!(f.inventory.packages.len(), 2);
    assert_eq!(f.tool.as_deref(), Some("syft v0.42.0-bogus"));
    let subject = f.subject.as_ref().unwrap();
    assert_eq!(subject.name, "user-image-input");
    assert_eq!(subject.digest, "", "`sha256:redacted` is not a digest");
    let deb = by_purl(&f, "pkg:deb/debian/package-2@2.0.1");
    assert_eq!(deb.ecosystem, Ecosystem::Deb);
    assert_eq!(deb.found_at, "/somefile-2.txt");
    assert_eq!(
        deb.cpe.as_deref(),
        Some("cpe:2.3:*:some:package:2:*:*:*:*:*:*:*")
    );
    // `a-purl-1` is no purl: kept, generic, and counted.
    let other = by_purl(&f, "pkg:generic/package-1@1.0.1");
    assert_eq!(other.ecosystem, Ecosystem::Other);
    assert_eq!(other.license.as_deref(), Some("MIT"));
    assert_eq!(other.found_at, "/somefile-1.txt");
    assert_eq!(f.inventory.warnings.len(), 1);
    assert!(f.inventory.warnings[0].starts_with("foreign-no-purl: CycloneDX 1.7: 1 package"));
}

#[test]
fn syft_spdx_2_3_root_image_is_the_subject_not_a_package() {
    let f = load("syft-image.spdx.json");
    assert_eq!(f.format, "SPDX 2.3");
    // jq '.packages | length' → 3, one the described CONTAINER root.
    assert_eq!(f.inventory.packages.len(), 2);
    let subject = f.subject.as_ref().unwrap();
    assert_eq!(subject.name, "user-image-input");
    assert_eq!(
        subject.digest,
        "sha256:2731251dc34951c0e50fcc643b4c5f74922dad1a5d98f302b504cf46cd5d9368"
    );
    assert_eq!(f.tool.as_deref(), Some("syft-v0.42.0-bogus"));
    let deb = by_purl(&f, "pkg:deb/debian/package-2@2.0.1");
    assert_eq!(deb.found_at, "/somefile-2.txt");
    assert_eq!(deb.license, None, "NOASSERTION is no licence");
    assert_eq!(deb.cataloger, "spdx");
    assert_eq!(
        by_purl(&f, "pkg:generic/package-1@1.0.1")
            .license
            .as_deref(),
        Some("MIT")
    );
}

#[test]
fn syft_spdx_3_root_image_is_the_subject_not_a_package() {
    let f = load("syft-image.spdx3.json");
    assert_eq!(f.format, "SPDX 3.0.1");
    // jq '[."@graph"[] | select(.type == "software_Package")] | length' → 3, one the root.
    assert_eq!(f.inventory.packages.len(), 2);
    let subject = f.subject.as_ref().unwrap();
    assert_eq!(subject.name, "user-image-input");
    assert_eq!(
        subject.digest,
        "sha256:2731251dc34951c0e50fcc643b4c5f74922dad1a5d98f302b504cf46cd5d9368"
    );
    assert_eq!(f.tool.as_deref(), Some("syft-v0.42.0-bogus"));
    let deb = by_purl(&f, "pkg:deb/debian/package-2@2.0.1");
    assert_eq!(
        deb.cpe.as_deref(),
        Some("cpe:2.3:*:some:package:2:*:*:*:*:*:*:*")
    );
    assert_eq!(deb.found_at, "/somefile-2.txt");
}

#[test]
fn trivy_cyclonedx_keeps_gems_as_other_and_debian_source_packages() {
    let f = load("trivy-fluentd.cdx.json");
    // jq '[.components[] | select(.type == "library")] | length' → 3 (+1 operating-system).
    assert_eq!(f.inventory.packages.len(), 3);
    assert_eq!(f.tool.as_deref(), Some("trivy dev"));
    assert_eq!(
        f.subject.as_ref().unwrap().name,
        "integration/testdata/fixtures/images/fluentd-multiple-lockfiles.tar.gz"
    );
    let idn = by_purl(&f, "pkg:deb/debian/libidn2-0@2.0.5-1?distro=debian-10.2");
    assert_eq!(idn.source_package.as_deref(), Some("libidn2"));
    let bash = by_purl(&f, "pkg:deb/debian/bash@5.0-4?distro=debian-10.2");
    assert_eq!(
        bash.source_package, None,
        "SrcName equal to the name adds nothing"
    );
    let gem = by_purl(&f, "pkg:gem/activesupport@6.0.2.1");
    assert_eq!(gem.ecosystem, Ecosystem::Other);
    assert_eq!(gem.license.as_deref(), Some("MIT"));
    assert_eq!(
        gem.found_at,
        "var/lib/gems/2.5.0/specifications/activesupport-6.0.2.1.gemspec"
    );
    // Root → OS → packages edges are containment, not package dependencies.
    assert!(f.inventory.packages.iter().all(|p| p.depends.is_empty()));
    assert!(
        f.inventory.warnings.is_empty(),
        "{:?}",
        f.inventory.warnings
    );
}

#[test]
fn official_spdx_2_3_example_reads_packages_files_and_the_described_root() {
    let f = load("SPDXJSONExample-v2.3.spdx.json");
    // jq '.packages | length' → 4; the described glibc is SOURCE, not a container: kept.
    assert_eq!(f.inventory.packages.len(), 4);
    let subject = f.subject.as_ref().unwrap();
    assert_eq!(subject.name, "glibc");
    assert_eq!(
        subject.digest,
        "sha256:11b6d3ee554eedf79299905a98f9b9a04e498210b59f15094c916c91d150efcd"
    );
    let glibc = by_purl(&f, "pkg:generic/glibc@2.11.1");
    assert_eq!(
        glibc.license.as_deref(),
        Some("(LGPL-2.0-only AND LicenseRef-3)")
    );
    assert_eq!(
        glibc.cpe.as_deref(),
        Some("cpe:2.3:a:pivotal_software:spring_framework:4.1.0:*:*:*:*:*:*:*")
    );
    assert_eq!(
        glibc.supplier.as_deref(),
        Some("Jane Doe (jane.doe@example.com)")
    );
    // jq '.packages[0].hasFiles | unique | length' → 4.
    assert_eq!(glibc.files.len(), 4);
    let jena = by_purl(&f, "pkg:maven/org.apache.jena/apache-jena@3.12.0");
    assert_eq!(jena.ecosystem, Ecosystem::Maven);
    // jq '.files | length' → 5, SHA1/MD5 only: listed without a SHA-256.
    assert_eq!(f.inventory.files.len(), 5);
    assert!(f.inventory.files.values().all(|file| file.sha256.is_none()));
    assert!(f.tool.as_deref().unwrap().contains("LicenseFind-1.0"));
    // glibc, Apache Commons Lang and Saxon have no purl.
    assert!(
        f.inventory
            .warnings
            .iter()
            .any(|w| w.starts_with("foreign-no-purl: SPDX 2.3: 3 package"))
    );
}

#[test]
fn official_spdx_3_example_reads_the_package_and_its_executable() {
    let f = load("package_sbom.json");
    assert_eq!(f.format, "SPDX 3.0.1");
    assert_eq!(f.inventory.packages.len(), 1);
    let p = &f.inventory.packages[0];
    assert_eq!((p.name.as_str(), p.version.as_str()), ("my-package", "1.0"));
    assert_eq!(
        p.files,
        [OwnedFile {
            path: "myprogram".into(),
            recorded: None
        }]
    );
    assert_eq!(f.inventory.files["myprogram"].mode, 0o755);
    assert_eq!(f.subject.as_ref().unwrap().name, "my-package");
}

#[test]
fn official_cyclonedx_examples_read_edges_and_expressions() {
    let f = load("valid-dependency-1.6.json");
    assert_eq!(f.inventory.packages.len(), 3);
    assert_eq!(
        edges(&f.inventory)["pkg:generic/library-b@1.0.0"],
        BTreeSet::from(["pkg:generic/library-c@1.0.0".to_string()])
    );
    let f = load("valid-license-expression-1.4.json");
    let p = &f.inventory.packages[0];
    assert_eq!(
        p.license.as_deref(),
        Some("EPL-2.0 OR GPL-2.0 WITH Classpath-exception-2.0")
    );
    assert_eq!(p.supplier.as_deref(), Some("Acme Inc"));
}

// ---- our own writers, read back ----

fn package(eco: Ecosystem, name: &str, version: &str, purl: &str, found_at: &str) -> Package {
    Package::new(eco, name, version, purl, found_at, "test")
}

fn own_inventory() -> Inventory {
    let mut libc = package(
        Ecosystem::Deb,
        "libc6",
        "2.36-9+deb12u4",
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12",
        "/var/lib/dpkg/status",
    );
    libc.license = Some("LGPL-2.1-or-later".into());
    libc.supplier = Some("GNU Libc Maintainers".into());
    libc.source_package = Some("glibc".into());
    libc.cpe = Some("cpe:2.3:a:gnu:glibc:2.36:*:*:*:*:*:*:*".into());
    libc.files = vec![OwnedFile {
        path: "/usr/lib/x86_64-linux-gnu/libc.so.6".into(),
        recorded: None,
    }];
    let mut bash = package(
        Ecosystem::Deb,
        "bash",
        "5.2.15-2+b7",
        "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12",
        "/var/lib/dpkg/status",
    );
    bash.license = Some("GPL-3.0-or-later".into());
    bash.depends = vec!["libc6 (>= 2.36)".into(), "base-files (>= 2.1.12)".into()];
    let mut mkdirp = package(
        Ecosystem::Npm,
        "mkdirp",
        "0.5.1",
        "pkg:npm/mkdirp@0.5.1",
        "/app/node_modules/mkdirp/package.json",
    );
    mkdirp.depends = vec!["pkg:npm/minimist@0.0.8".into()];
    mkdirp.license = Some("MIT".into());
    let mut new = package(
        Ecosystem::Npm,
        "minimist",
        "1.2.0",
        "pkg:npm/minimist@1.2.0",
        "/app/node_modules/minimist/package.json",
    );
    new.license = Some("MIT".into());
    let old = package(
        Ecosystem::Npm,
        "minimist",
        "0.0.8",
        "pkg:npm/minimist@0.0.8",
        "/app/node_modules/mkdirp/node_modules/minimist/package.json",
    );
    let mut requests = package(
        Ecosystem::Pypi,
        "requests",
        "2.28.1",
        "pkg:pypi/requests@2.28.1",
        "/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
    );
    requests.license = Some("Apache-2.0".into());
    requests.depends = vec!["urllib3 (<1.27,>=1.21.1)".into()];
    let urllib3 = package(
        Ecosystem::Pypi,
        "urllib3",
        "1.26.12",
        "pkg:pypi/urllib3@1.26.12",
        "/usr/lib/python3/dist-packages/urllib3-1.26.12.dist-info/METADATA",
    );
    let mut serde = package(
        Ecosystem::Cargo,
        "serde",
        "1.0.200",
        "pkg:cargo/serde@1.0.200",
        "/src/Cargo.lock",
    );
    serde.license = Some("MIT OR Apache-2.0".into());
    serde.dev = true;
    let mut inv = Inventory {
        packages: vec![libc, bash, mkdirp, new, old, requests, urllib3, serde],
        ..Inventory::default()
    };
    let file = |mode| ImageFile {
        size: 10,
        mode,
        sha256: Some("ab".repeat(32)),
        md5: None,
    };
    inv.files
        .insert("/usr/lib/x86_64-linux-gnu/libc.so.6".into(), file(0o755));
    inv.files
        .insert("/usr/local/bin/copied-in".into(), file(0o755));
    inv.normalise();
    inv
}

fn subject() -> Subject {
    Subject {
        name: "oci:/tmp/layout:fixture".into(),
        digest: format!("sha256:{}", "cd".repeat(32)),
    }
}

/// What every writer carries for a package.
#[derive(Debug, PartialEq, Eq)]
struct Identity {
    name: String,
    version: String,
    license: Option<String>,
    found_at: String,
    cpe: Option<String>,
}

/// Name, version, licence, where found and CPE, by purl.
fn identity(inv: &Inventory) -> BTreeMap<String, Identity> {
    inv.packages
        .iter()
        .map(|p| {
            let id = Identity {
                name: p.name.clone(),
                version: p.version.clone(),
                license: p.license.clone(),
                found_at: p.found_at.clone(),
                cpe: p.cpe.clone(),
            };
            (p.purl.clone(), id)
        })
        .collect()
}

fn read_back(document: &impl serde::Serialize) -> Foreign {
    read(&serde_json::to_vec(document).unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_same(original: &Inventory, back: &Foreign) {
    assert_eq!(identity(original), identity(&back.inventory));
    assert_eq!(edges(original), edges(&back.inventory));
    assert_eq!(back.subject.as_ref(), Some(&subject()));
    assert!(
        back.inventory.warnings.is_empty(),
        "{:?}",
        back.inventory.warnings
    );
    // The exact edge survives where a name would pick either minimist.
    assert_eq!(
        edges(&back.inventory)["pkg:npm/mkdirp@0.5.1"],
        BTreeSet::from(["pkg:npm/minimist@0.0.8".to_string()])
    );
}

#[test]
fn our_cyclonedx_1_4_1_5_1_6_read_back_to_the_same_packages_and_graph() {
    let inv = own_inventory();
    for version in [
        CycloneDxVersion::V1_4,
        CycloneDxVersion::V1_5,
        CycloneDxVersion::V1_6,
    ] {
        let back = read_back(&cyclonedx::write(
            &inv,
            &subject(),
            version,
            "2026-01-01T00:00:00Z",
        ));
        assert_eq!(back.format, format!("CycloneDX {}", version.as_str()));
        assert_same(&inv, &back);
        assert!(back.tool.as_deref().unwrap().starts_with("proofline-sbom"));
        let libc = back
            .inventory
            .packages
            .iter()
            .find(|p| p.name == "libc6")
            .unwrap();
        assert_eq!(libc.supplier.as_deref(), Some("GNU Libc Maintainers"));
        assert_eq!(libc.source_package.as_deref(), Some("glibc"));
        assert_eq!(libc.arch.as_deref(), Some("amd64"));
        assert_eq!(libc.files.len(), 1);
        let dev: Vec<&str> = back
            .inventory
            .packages
            .iter()
            .filter(|p| p.dev)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(dev, ["serde"]);
        // The copied-in binary comes back as an executable with its SHA-256.
        let copied = &back.inventory.files["/usr/local/bin/copied-in"];
        assert_eq!(
            (copied.mode, copied.sha256.as_deref()),
            (0o755, Some("ab".repeat(32).as_str()))
        );
    }
}

#[test]
fn our_spdx_2_3_reads_back_to_the_same_packages_and_graph() {
    let inv = own_inventory();
    let back = read_back(&spdx23::write(&inv, &subject(), "2026-01-01T00:00:00Z"));
    assert_eq!(back.format, "SPDX 2.3");
    assert_same(&inv, &back);
    let libc = back
        .inventory
        .packages
        .iter()
        .find(|p| p.name == "libc6")
        .unwrap();
    assert_eq!(libc.supplier.as_deref(), Some("GNU Libc Maintainers"));
}

#[test]
fn our_spdx_3_reads_back_to_the_same_packages_and_graph() {
    let inv = own_inventory();
    let back = read_back(&spdx3::write(&inv, &subject(), "2026-01-01T00:00:00Z"));
    assert_eq!(back.format, "SPDX 3.0.1");
    assert_same(&inv, &back);
    assert!(back.tool.as_deref().unwrap().starts_with("proofline-sbom"));
    let copied = &back.inventory.files["/usr/local/bin/copied-in"];
    assert_eq!(copied.mode, 0o755);
}

#[test]
fn a_converted_sbom_converts_again_to_the_same_inventory() {
    // cyclonedx → inventory → spdx3 → inventory: the scan stage's path for a foreign SBOM.
    let first = load("python-image-env.cdx.json");
    let subject = Subject {
        name: "env".into(),
        digest: format!("sha256:{}", "ef".repeat(32)),
    };
    let again = read_back(&spdx3::write(
        &first.inventory,
        &subject,
        "2026-01-01T00:00:00Z",
    ));
    assert_eq!(edges(&first.inventory), edges(&again.inventory));
    assert_eq!(
        first.inventory.packages.len(),
        again.inventory.packages.len()
    );
}

#[test]
fn trivy_repo_digest_is_the_subject_digest() {
    let hex = "21a3deaa0d32a8057914f36584b5288d2e5ecc984380bc0118285c70fa8c9300";
    let doc = serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.5",
        "metadata": {"component": {"type": "container", "name": "alpine:3.15", "properties": [
            {"name": "aquasecurity:trivy:ImageID", "value": format!("sha256:{}", "0".repeat(64))},
            {"name": "aquasecurity:trivy:RepoDigest", "value": format!("alpine@sha256:{hex}")}
        ]}}
    });
    let f = read(&serde_json::to_vec(&doc).unwrap()).unwrap();
    let subject = f.subject.unwrap();
    assert_eq!(subject.name, "alpine:3.15");
    assert_eq!(subject.digest, format!("sha256:{hex}"));
}
