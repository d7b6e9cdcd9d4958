//! The binary and archive catalogers (Go build info, cargo-auditable, Java archives) over an
//! image walked once: real binaries and jars (fixtures/sbom/binaries) at various paths, found by
//! their bytes, with the exact packages, purls and dependency edges they hold.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Cursor, Write};

use proofline_oci::{Image, OpenOptions};
use proofline_sbom::catalog::CATALOGERS;
use proofline_sbom::cyclonedx::{CycloneDxVersion, Subject, write};
use proofline_sbom::{Inventory, Package, catalog_image};
use proofline_testkit::TestImage;

const BINARY_CATALOGERS: [&str; 5] = [
    "go-binary",
    "cargo-auditable",
    "java",
    "java-manifest",
    "java-filename",
];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../fixtures/sbom/binaries/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn catalogued(files: &[(&str, &[u8])]) -> Inventory {
    let dir = tempfile::tempdir().unwrap();
    TestImage::new(files).write_layout(dir.path(), "1.0");
    let reference = format!("oci:{}:1.0", dir.path().display()).parse().unwrap();
    let image = Image::open(&reference, &OpenOptions::default()).unwrap();
    catalog_image(&image, CATALOGERS).unwrap()
}

/// A war holding a real jar under WEB-INF/lib, built with the zip writer.
fn war() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    w.start_file("META-INF/maven/com.example/shop/pom.properties", opts)
        .unwrap();
    w.write_all(b"groupId=com.example\nartifactId=shop\nversion=2.0.1\n")
        .unwrap();
    w.start_file("WEB-INF/lib/slf4j-nop.jar", opts).unwrap();
    w.write_all(&fixture("slf4j-nop.jar")).unwrap();
    w.finish().unwrap().into_inner()
}

fn found(inventory: &Inventory) -> Vec<(&str, &str, &str, &str)> {
    inventory
        .packages
        .iter()
        .filter(|p| BINARY_CATALOGERS.contains(&p.cataloger))
        .map(|p| {
            (
                p.cataloger,
                p.purl.as_str(),
                p.found_at.as_str(),
                p.version.as_str(),
            )
        })
        .collect()
}

fn package<'a>(inventory: &'a Inventory, purl: &str) -> &'a Package {
    inventory
        .packages
        .iter()
        .find(|p| p.purl == purl)
        .unwrap_or_else(|| panic!("{purl} not found"))
}

#[test]
fn go_rust_and_java_packages_are_found_in_binaries_and_archives() {
    let go = fixture("go-hello");
    let rust = fixture("tiny-audited");
    let nop = fixture("slf4j-nop.jar");
    let shaded = fixture("maven3-slf4j-provider.jar");
    let guice = fixture("guice-jndi.jar");
    let war = war();
    let inventory = catalogued(&[
        ("usr/local/bin/hello", &go),
        ("opt/rust/tiny-audited", &rust),
        ("usr/share/java/slf4j-nop.jar", &nop),
        ("app/lib/maven3-slf4j-provider.jar", &shaded),
        ("app/lib/guice-jndi.jar", &guice),
        ("srv/shop.war", &war),
        // A zip named .jar that is cut short, and an ELF that is neither Go nor auditable.
        ("app/lib/broken.jar", &nop[..nop.len() / 2]),
        ("bin/true", &fixture("true")),
    ]);
    let mut got = found(&inventory);
    got.sort();
    let mut want = vec![
        (
            "cargo-auditable",
            "pkg:cargo/autocfg@1.5.1",
            "/opt/rust/tiny-audited",
            "1.5.1",
        ),
        (
            "cargo-auditable",
            "pkg:cargo/itoa@1.0.19",
            "/opt/rust/tiny-audited",
            "1.0.19",
        ),
        (
            "cargo-auditable",
            "pkg:cargo/tiny-audited@0.1.0",
            "/opt/rust/tiny-audited",
            "0.1.0",
        ),
        (
            "go-binary",
            "pkg:golang/example.com/greet@v1.2.3",
            "/usr/local/bin/hello",
            "v1.2.3",
        ),
        (
            "go-binary",
            "pkg:golang/example.com/hello@%28devel%29",
            "/usr/local/bin/hello",
            "(devel)",
        ),
        (
            "go-binary",
            "pkg:golang/example.com/shout@%28devel%29",
            "/usr/local/bin/hello",
            "(devel)",
        ),
        (
            "go-binary",
            "pkg:golang/stdlib@1.19.8",
            "/usr/local/bin/hello",
            "1.19.8",
        ),
        (
            "java",
            "pkg:maven/com.example/shop@2.0.1",
            "/srv/shop.war",
            "2.0.1",
        ),
        (
            "java",
            "pkg:maven/org.apache.maven/maven-slf4j-provider@3.8.7",
            "/app/lib/maven3-slf4j-provider.jar",
            "3.8.7",
        ),
        (
            "java",
            "pkg:maven/org.slf4j/slf4j-nop@1.7.32",
            "/srv/shop.war!/WEB-INF/lib/slf4j-nop.jar",
            "1.7.32",
        ),
        (
            "java",
            "pkg:maven/org.slf4j/slf4j-nop@1.7.32",
            "/usr/share/java/slf4j-nop.jar",
            "1.7.32",
        ),
        (
            "java",
            "pkg:maven/org.slf4j/slf4j-simple@1.7.32",
            "/app/lib/maven3-slf4j-provider.jar",
            "1.7.32",
        ),
        (
            "java-manifest",
            "pkg:maven/guice-jndi@4.2.3",
            "/app/lib/guice-jndi.jar",
            "4.2.3",
        ),
    ];
    want.sort();
    assert_eq!(got, want);

    // Dependency edges, resolved through the inventory's one graph.
    let graph = inventory.dependency_graph();
    let edges = |purl: &str| -> Vec<String> {
        let i = inventory
            .packages
            .iter()
            .position(|p| p.purl == purl)
            .unwrap();
        let mut on: Vec<String> = graph[i].iter().map(|p| p.purl.clone()).collect();
        on.sort();
        on
    };
    assert_eq!(
        edges("pkg:golang/example.com/hello@%28devel%29"),
        [
            "pkg:golang/example.com/greet@v1.2.3",
            "pkg:golang/example.com/shout@%28devel%29",
            "pkg:golang/stdlib@1.19.8",
        ]
    );
    assert_eq!(
        edges("pkg:cargo/tiny-audited@0.1.0"),
        ["pkg:cargo/autocfg@1.5.1", "pkg:cargo/itoa@1.0.19"]
    );
    assert_eq!(
        edges("pkg:maven/com.example/shop@2.0.1"),
        ["pkg:maven/org.slf4j/slf4j-nop@1.7.32"]
    );
    assert_eq!(
        edges("pkg:maven/org.apache.maven/maven-slf4j-provider@3.8.7"),
        ["pkg:maven/org.slf4j/slf4j-simple@1.7.32"]
    );

    // The Go main module and the root crate own their binaries; build-only crates are apart.
    let hello = package(&inventory, "pkg:golang/example.com/hello@%28devel%29");
    assert_eq!(hello.files[0].path, "/usr/local/bin/hello");
    assert_eq!(hello.arch.as_deref(), Some("amd64"));
    let root = package(&inventory, "pkg:cargo/tiny-audited@0.1.0");
    assert_eq!(root.files[0].path, "/opt/rust/tiny-audited");
    assert!(package(&inventory, "pkg:cargo/autocfg@1.5.1").dev);
    assert!(!package(&inventory, "pkg:cargo/itoa@1.0.19").dev);

    // The broken jar is a warning naming it; nothing else warns.
    let ours: Vec<&String> = inventory
        .warnings
        .iter()
        .filter(|w| w.starts_with("java-") || w.starts_with("go-") || w.starts_with("cargo-"))
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert!(ours[0].starts_with("java-archive-unreadable: /app/lib/broken.jar: "));

    // The same image gives the same inventory.
    assert_eq!(
        found(&inventory),
        found(&catalogued(&[
            ("usr/local/bin/hello", &go),
            ("opt/rust/tiny-audited", &rust),
            ("usr/share/java/slf4j-nop.jar", &nop),
            ("app/lib/maven3-slf4j-provider.jar", &shaded),
            ("app/lib/guice-jndi.jar", &guice),
            ("srv/shop.war", &war),
            ("app/lib/broken.jar", &nop[..nop.len() / 2]),
            ("bin/true", &fixture("true")),
        ]))
    );
}

#[test]
fn a_stripped_non_go_elf_and_a_zip_not_named_as_an_archive_yield_nothing() {
    let inventory = catalogued(&[
        ("bin/true", &fixture("true")),
        ("usr/bin/true-copy", &fixture("true")),
        ("data/slf4j-nop.zip", &fixture("slf4j-nop.jar")),
    ]);
    assert_eq!(found(&inventory), []);
    assert!(
        !inventory
            .warnings
            .iter()
            .any(|w| w.starts_with("java-") || w.starts_with("go-") || w.starts_with("cargo-")),
        "{:?}",
        inventory.warnings
    );
}

#[test]
fn the_binaries_bom_is_valid_cyclonedx_1_6() {
    let war = war();
    let inventory = catalogued(&[
        ("usr/local/bin/hello", &fixture("go-hello")),
        ("opt/rust/tiny-audited", &fixture("tiny-audited")),
        (
            "app/lib/maven3-slf4j-provider.jar",
            &fixture("maven3-slf4j-provider.jar"),
        ),
        ("app/lib/guice-jndi.jar", &fixture("guice-jndi.jar")),
        ("srv/shop.war", &war),
    ]);
    let subject = Subject {
        name: "oci:binaries:1.0".into(),
        digest: format!("sha256:{}", "0".repeat(64)),
    };
    let bom = common::to_json(write(
        &inventory,
        &subject,
        CycloneDxVersion::V1_6,
        "2026-01-01T00:00:00Z",
    ));
    let errors = common::cyclonedx_errors(&bom, "1.6");
    assert!(errors.is_empty(), "{errors:#?}");
    // Build-only crates are kept apart from what runs.
    let autocfg = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["purl"] == "pkg:cargo/autocfg@1.5.1")
        .unwrap();
    assert_eq!(autocfg["scope"], "excluded");
}
