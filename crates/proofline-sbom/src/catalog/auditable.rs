//! Rust crates compiled into binaries built with `cargo auditable`: the zlib-compressed JSON of
//! the `.dep-v0` ELF section, read with the format's own reader (`auditable-info`, decompressed
//! size bounded), so a Rust program copied into an image is listed with every crate in it.
//!
//! What each package carries:
//! - purl `pkg:cargo/<name>@<version>`, as the Cargo.lock cataloger writes registry and
//!   workspace crates. The section records only the *kind* of a source (`crates.io`, `local`,
//!   `git`, `registry`, …), never its URL, so a git or alternate-registry crate cannot get the
//!   `vcs_url` the Cargo.lock cataloger gives it: its purl is the plain one.
//! - `depends`: the names at the JSON's `dependencies` indices.
//! - the root crate (`"root": true`) owns the binary file: it is the crate the binary was built
//!   from, and the binary is then not listed as a file no package owns.
//! - `"kind": "build"` crates (build scripts, proc-macros and what only they use) are marked
//!   `dev`: like development dependencies they are not part of what runs in the image, and the
//!   writers keep them apart (CycloneDX `scope: excluded`).

use serde::Deserialize;

use super::{Cataloger, Contents, Extractor, decode_extracted};
use crate::model::{Ecosystem, OwnedFile, Package, purl_escape};

/// The cargo-auditable cataloger.
pub const CATALOGER: Cataloger = Cataloger {
    name: "cargo-auditable",
    wants,
    run,
    extract: Some(Extractor { sniff, reduce }),
};

/// The largest decompressed `.dep-v0` JSON accepted (a zip bomb stops here); `cargo auditable`'s
/// own default.
const MAX_JSON_BYTES: usize = 8 * 1024 * 1024;

fn wants(_: &str) -> bool {
    false
}

fn sniff(_: &str, head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

fn reduce(path: &str, bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    // Cheap check first: most ELF files are not Rust binaries. An ELF too damaged to read
    // names no section, and nothing says it was Rust: nothing to report.
    let has_section = object::File::parse(bytes).is_ok_and(|f| {
        use object::Object;
        f.section_by_name(".dep-v0").is_some()
    });
    if !has_section {
        return Ok(None);
    }
    match auditable_info::audit_info_from_slice(bytes, MAX_JSON_BYTES) {
        Ok(info) => serde_json::to_vec(&info)
            .map(Some)
            .map_err(|e| format!("cargo-auditable-unreadable: {path}: {e}")),
        Err(auditable_info::Error::NoAuditData) => Ok(None),
        Err(auditable_info::Error::OutputLimitExceeded) => Err(format!(
            "cargo-auditable-too-large: {path}: the .dep-v0 dependency data decompresses to more than \
             {MAX_JSON_BYTES} bytes; its crates are not listed"
        )),
        Err(e) => Err(format!(
            "cargo-auditable-unreadable: {path}: the .dep-v0 section: {e}"
        )),
    }
}

/// One crate of the `.dep-v0` JSON (already validated by `auditable-info`: one root, no cycles).
#[derive(Debug, Deserialize)]
struct Crate {
    name: String,
    version: String,
    kind: Option<String>,
    #[serde(default)]
    dependencies: Vec<usize>,
    #[serde(default)]
    root: bool,
}

#[derive(Debug, Deserialize)]
struct Audit {
    packages: Vec<Crate>,
}

fn packages_of(binary: &str, audit: &Audit) -> Vec<Package> {
    audit
        .packages
        .iter()
        .map(|c| {
            let mut p = Package::new(
                Ecosystem::Cargo,
                &c.name,
                &c.version,
                format!(
                    "pkg:cargo/{}@{}",
                    purl_escape(&c.name),
                    purl_escape(&c.version)
                ),
                binary,
                CATALOGER.name,
            );
            p.depends = c
                .dependencies
                .iter()
                .filter_map(|&i| audit.packages.get(i))
                .map(|d| d.name.clone())
                .collect();
            p.dev = c.kind.as_deref() == Some("build");
            if c.root {
                p.files.push(OwnedFile {
                    path: binary.to_string(),
                    recorded: None,
                });
            }
            p
        })
        .collect()
}

fn run(contents: &Contents) -> (Vec<Package>, Vec<String>) {
    let mut warnings = Vec::new();
    let packages = decode_extracted::<Audit>(
        contents,
        CATALOGER.name,
        "cargo-auditable-unreadable",
        &mut warnings,
    )
    .flat_map(|(path, audit)| packages_of(path, &audit))
    .collect();
    (packages, warnings)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../../fixtures/sbom/binaries/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
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

    /// The real binary with its `.dep-v0` contents replaced by `data` (same length or shorter,
    /// zero-padded: the section header keeps its size).
    fn with_section(data: &[u8]) -> Vec<u8> {
        use object::{Object, ObjectSection};
        let mut bin = fixture("tiny-audited");
        let file = object::File::parse(&*bin).unwrap();
        let (offset, size) = file
            .section_by_name(".dep-v0")
            .unwrap()
            .file_range()
            .unwrap();
        let (offset, size) = (offset as usize, size as usize);
        assert!(data.len() <= size);
        bin[offset..offset + size].fill(0);
        bin[offset..offset + data.len()].copy_from_slice(data);
        bin
    }

    #[test]
    fn the_real_auditable_binary_lists_its_crates_root_and_build_deps() {
        let (packages, warnings) =
            catalogued("/usr/local/bin/tiny-audited", &fixture("tiny-audited"));
        assert!(warnings.is_empty(), "{warnings:?}");
        let got: Vec<(&str, bool, bool)> = packages
            .iter()
            .map(|p| (p.purl.as_str(), p.dev, !p.files.is_empty()))
            .collect();
        assert_eq!(
            got,
            [
                ("pkg:cargo/autocfg@1.5.1", true, false),
                ("pkg:cargo/itoa@1.0.19", false, false),
                ("pkg:cargo/tiny-audited@0.1.0", false, true),
            ]
        );
        assert_eq!(packages[2].depends, ["autocfg", "itoa"]);
        assert_eq!(packages[2].files[0].path, "/usr/local/bin/tiny-audited");
        assert!(packages.iter().all(
            |p| p.cataloger == "cargo-auditable" && p.found_at == "/usr/local/bin/tiny-audited"
        ));
    }

    #[test]
    fn bad_zlib_is_a_warning_naming_the_binary() {
        let (packages, warnings) =
            catalogued("/bin/x", &with_section(b"\x78\x9cnot deflate at all"));
        assert!(packages.is_empty());
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("cargo-auditable-unreadable: /bin/x: the .dep-v0 section"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_zlib_bomb_stops_at_the_bound() {
        use std::io::Write;
        // 64 MiB of spaces compresses to ~64 KiB; the fixture's section is far smaller, so the
        // bomb is appended as a fresh section by rewriting the section's file range.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let chunk = vec![b' '; 1024 * 1024];
        for _ in 0..64 {
            z.write_all(&chunk).unwrap();
        }
        let bomb = z.finish().unwrap();
        let err = auditable_info::json_from_slice(&with_bomb(&bomb), MAX_JSON_BYTES).unwrap_err();
        assert!(
            matches!(err, auditable_info::Error::OutputLimitExceeded),
            "{err}"
        );
        let (packages, warnings) = catalogued("/bin/bomb", &with_bomb(&bomb));
        assert!(packages.is_empty());
        assert!(
            warnings[0].starts_with("cargo-auditable-too-large: /bin/bomb"),
            "{warnings:?}"
        );
    }

    /// The fixture with its `.dep-v0` section header pointing at `data` appended to the file.
    fn with_bomb(data: &[u8]) -> Vec<u8> {
        use object::read::elf::{ElfFile64, FileHeader};
        let mut bin = fixture("tiny-audited");
        let elf = ElfFile64::<object::Endianness>::parse(&*bin).unwrap();
        let endian = elf.endian();
        let header = elf.elf_header();
        let shoff = header.e_shoff(endian) as usize;
        let shentsize = usize::from(header.e_shentsize(endian));
        let sections = header.sections(endian, &*bin).unwrap();
        let index = sections
            .iter()
            .position(|s| sections.section_name(endian, s).unwrap() == b".dep-v0")
            .unwrap();
        let entry = shoff + index * shentsize;
        let new_offset = bin.len() as u64;
        // Elf64_Shdr: sh_offset at +24, sh_size at +32 (little-endian x86-64).
        bin[entry + 24..entry + 32].copy_from_slice(&new_offset.to_le_bytes());
        bin[entry + 32..entry + 40].copy_from_slice(&(data.len() as u64).to_le_bytes());
        bin.extend_from_slice(data);
        bin
    }

    #[test]
    fn hostile_binaries_never_panic() {
        let bin = fixture("tiny-audited");
        for len in [0, 4, 63, 64, 4096, bin.len() / 2, bin.len() - 1] {
            let _ = catalogued("/t", &bin[..len]);
        }
        // A section whose declared size runs far past the end of the file.
        let mut huge = with_bomb(b"x");
        let n = huge.len();
        huge.truncate(n - 1);
        let _ = catalogued("/t", &huge);
        // Valid zlib, invalid JSON.
        let z = {
            use std::io::Write;
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            z.write_all(b"{\"packages\": [{\"name\": 1}]}").unwrap();
            z.finish().unwrap()
        };
        let (packages, warnings) = catalogued("/t", &with_section(&z));
        assert!(packages.is_empty());
        assert!(
            warnings[0].starts_with("cargo-auditable-unreadable: /t"),
            "{warnings:?}"
        );
        // Dependency indices out of range are dropped, not followed.
        let audit: Audit = serde_json::from_str(
            r#"{"packages":[{"name":"a","version":"1.0.0","source":"local","dependencies":[7],"root":true}]}"#,
        )
        .unwrap();
        assert!(packages_of("/t", &audit)[0].depends.is_empty());
    }

    #[test]
    fn a_binary_without_dep_v0_yields_nothing() {
        assert_eq!(reduce("/bin/true", &fixture("true")).unwrap(), None);
        assert_eq!(reduce("/bin/hello", &fixture("go-hello")).unwrap(), None);
    }
}
