//! Unit tests of the Java archive cataloger: real Debian jars, archives nested in archives,
//! and hostile zips (bombs, truncation, deep nesting).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use zip::write::SimpleFileOptions;

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../fixtures/sbom/binaries/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A zip of `(name, bytes)` entries, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn catalogued(path: &str, bytes: &[u8]) -> (Vec<Package>, Vec<String>) {
    let mut c = Contents::default();
    match reduce(path, bytes) {
        Ok(Some(kept)) => c.insert_extracted(CATALOGER.name, path, kept),
        Ok(None) => {}
        Err(w) => return (Vec::new(), vec![w]),
    }
    run(&c)
}

fn summary(packages: &[Package]) -> Vec<(String, String, &'static str, String)> {
    packages
        .iter()
        .map(|p| {
            (
                p.purl.clone(),
                p.found_at.clone(),
                p.cataloger,
                p.depends.join(","),
            )
        })
        .collect()
}

#[test]
fn a_jar_with_pom_properties() {
    let (packages, warnings) =
        catalogued("/usr/share/java/slf4j-nop.jar", &fixture("slf4j-nop.jar"));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(packages.len(), 1);
    let p = &packages[0];
    assert_eq!(p.name, "slf4j-nop");
    assert_eq!(p.purl, "pkg:maven/org.slf4j/slf4j-nop@1.7.32");
    assert_eq!(p.cataloger, "java");
    // Bundle-Vendor: SLF4J.ORG; no Bundle-License.
    assert_eq!(p.supplier.as_deref(), Some("SLF4J.ORG"));
    assert_eq!(p.license, None);
}

#[test]
fn a_shaded_jar_gives_a_package_per_pom_and_its_own_depends_on_the_shaded_one() {
    let (packages, warnings) = catalogued(
        "/opt/maven3-slf4j-provider.jar",
        &fixture("maven3-slf4j-provider.jar"),
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        summary(&packages),
        [
            (
                "pkg:maven/org.apache.maven/maven-slf4j-provider@3.8.7".into(),
                "/opt/maven3-slf4j-provider.jar".into(),
                "java",
                "slf4j-simple".into()
            ),
            (
                "pkg:maven/org.slf4j/slf4j-simple@1.7.32".into(),
                "/opt/maven3-slf4j-provider.jar".into(),
                "java",
                String::new()
            ),
        ]
    );
}

#[test]
fn without_pom_properties_the_manifest_and_file_name_identify_it() {
    // guice-jndi.jar: Bundle-Version 4.2.3, Bundle-License a URL (not SPDX: no licence).
    let (packages, warnings) =
        catalogued("/usr/share/java/guice-jndi.jar", &fixture("guice-jndi.jar"));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        summary(&packages),
        [(
            "pkg:maven/guice-jndi@4.2.3".into(),
            "/usr/share/java/guice-jndi.jar".into(),
            "java-manifest",
            String::new()
        )]
    );
    assert_eq!(packages[0].license, None);
    assert_eq!(packages[0].supplier.as_deref(), Some("Google, Inc."));
    // Only the file name.
    let bare = zip_of(&[("a/B.class", b"\xca\xfe")]);
    let (packages, _) = catalogued("/app/lib/commons-io-2.11.0.jar", &bare);
    assert_eq!(
        summary(&packages),
        [(
            "pkg:maven/commons-io@2.11.0".into(),
            "/app/lib/commons-io-2.11.0.jar".into(),
            "java-filename",
            String::new()
        )]
    );
}

#[test]
fn manifest_continuation_lines_and_an_spdx_bundle_license() {
    let mf = b"Manifest-Version: 1.0\r\nBundle-License: Apache-2.0 OR\r\n  MIT\r\nImplementation-Title: th\r\n ing\r\nImplementation-Version: 0.9\r\nImplementation-Vendor-Id: org.ex\r\n\r\nName: x\r\nImplementation-Version: 7\r\n";
    let jar = zip_of(&[("META-INF/MANIFEST.MF", mf)]);
    let (packages, _) = catalogued("/app/thing.jar", &jar);
    assert_eq!(packages[0].purl, "pkg:maven/org.ex/thing@0.9");
    assert_eq!(packages[0].license.as_deref(), Some("Apache-2.0 OR MIT"));
    let fields = parse_manifest(&String::from_utf8_lossy(mf));
    assert_eq!(fields["Implementation-Title"], "thing");
}

#[test]
fn a_war_lists_its_nested_jars_recursively_and_depends_on_them() {
    let inner = fixture("slf4j-nop.jar");
    let fat = zip_of(&[
        ("BOOT-INF/lib/slf4j-nop.jar", &inner),
        ("BOOT-INF/classes/App.class", b"\xca\xfe"),
    ]);
    let war = zip_of(&[
        (
            "META-INF/maven/com.ex/shop/pom.properties",
            b"groupId=com.ex\nartifactId=shop\nversion=2.0\n",
        ),
        ("WEB-INF/lib/guice-jndi.jar", &fixture("guice-jndi.jar")),
        ("WEB-INF/lib/fat-1.0.jar", &fat),
    ]);
    let (packages, warnings) = catalogued("/app/shop.war", &war);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        summary(&packages),
        [
            (
                "pkg:maven/guice-jndi@4.2.3".into(),
                "/app/shop.war!/WEB-INF/lib/guice-jndi.jar".into(),
                "java-manifest",
                String::new()
            ),
            (
                "pkg:maven/org.slf4j/slf4j-nop@1.7.32".into(),
                "/app/shop.war!/WEB-INF/lib/fat-1.0.jar!/BOOT-INF/lib/slf4j-nop.jar".into(),
                "java",
                String::new()
            ),
            (
                "pkg:maven/fat@1.0".into(),
                "/app/shop.war!/WEB-INF/lib/fat-1.0.jar".into(),
                "java-filename",
                "slf4j-nop".into()
            ),
            (
                "pkg:maven/com.ex/shop@2.0".into(),
                "/app/shop.war".into(),
                "java",
                "guice-jndi,fat".into()
            ),
        ]
    );
}

#[test]
fn nesting_deeper_than_the_bound_is_a_warning() {
    let mut jar = zip_of(&[("META-INF/MANIFEST.MF", b"Implementation-Version: 1\n")]);
    for _ in 0..6 {
        jar = zip_of(&[("lib/in-1.jar", &jar)]);
    }
    let (packages, warnings) = catalogued("/deep.jar", &jar);
    // The outer archive and 4 levels below it are read.
    assert_eq!(packages.len(), MAX_DEPTH + 1);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("java-archive-too-deep: /deep.jar!/lib/in-1.jar!/lib/in-1.jar!/lib/in-1.jar!/lib/in-1.jar!/lib/in-1.jar:"), "{warnings:?}");
}

#[test]
fn a_zip_bomb_stops_at_the_budget() {
    // Ten nested jars of 10 MiB of zeros each: 100 MiB decompressed from ~100 KiB.
    let zeros = vec![0u8; 10 * 1024 * 1024];
    let names: Vec<String> = (0..10).map(|i| format!("lib/b{i}.jar")).collect();
    let entries: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), zeros.as_slice()))
        .collect();
    let bomb = zip_of(&entries);
    assert!(bomb.len() < 200 * 1024);
    let (_, warnings) = catalogued("/bomb.jar", &bomb);
    assert!(
        warnings.iter().any(|w| w.contains("zip bomb")),
        "{warnings:?}"
    );
    // A manifest larger than the text bound.
    let big = vec![b'a'; (MAX_TEXT_BYTES + 1) as usize];
    let (_, warnings) = catalogued("/big.jar", &zip_of(&[("META-INF/MANIFEST.MF", &big)]));
    assert!(
        warnings[0].contains("larger than the 1048576 bytes accepted"),
        "{warnings:?}"
    );
}

#[test]
fn truncated_and_garbage_archives_are_warnings() {
    let jar = fixture("maven3-slf4j-provider.jar");
    for len in [0, 4, 30, 100, jar.len() / 2, jar.len() - 10, jar.len() - 1] {
        let (packages, warnings) = catalogued("/t.jar", &jar[..len]);
        assert!(packages.is_empty(), "{len}");
        assert!(
            warnings[0].starts_with("java-archive-unreadable: /t.jar: "),
            "{len} {warnings:?}"
        );
    }
    // A nested jar that is garbage is a warning; the outer one is still listed.
    let outer = zip_of(&[("lib/x-1.jar", b"PK\x03\x04garbage")]);
    let (packages, warnings) = catalogued("/o-2.jar", &outer);
    assert_eq!(packages.len(), 1);
    assert!(
        warnings[0].starts_with("java-archive-unreadable: /o-2.jar!/lib/x-1.jar: "),
        "{warnings:?}"
    );
    // A lone end-of-central-directory signature.
    assert!(reduce("/g.jar", b"PK\x05\x06").is_err());
}

#[test]
fn sniffing_needs_the_name_and_the_zip_magic() {
    assert!(sniff("/a/B.JAR", b"PK\x03\x04rest"));
    assert!(sniff("/a/b.war", b"PK\x03\x04"));
    assert!(sniff("/a/b.hpi", b"PK\x03\x04"));
    assert!(!sniff("/a/b.zip", b"PK\x03\x04"));
    assert!(!sniff("/a/b.jar", b"\x7fELF"));
    assert_eq!(
        split_file_name("commons-lang3-3.12.0.jar"),
        ("commons-lang3", "3.12.0")
    );
    assert_eq!(split_file_name("guice-jndi.jar"), ("guice-jndi", ""));
}
