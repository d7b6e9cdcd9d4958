//! Go modules compiled into Go binaries: the build info the Go toolchain embeds in every binary
//! (the `.go.buildinfo` section, or its 16-byte-aligned magic when section headers are stripped),
//! so a Go program copied into an image is listed with every module it was built from.
//!
//! No maintained Rust reader exists (CRATES.md), so this is one, after Go's `debug/buildinfo`:
//! only the Go ≥ 1.18 format (inline varint-prefixed strings, flag bit 2) is read; the older
//! pointer format is reported as a warning naming the binary.
//!
//! What each package carries:
//! - the main module (`mod`), the modules it depends on (`dep`; when replaced with `=>`, the
//!   replacement, which is what was compiled in) and the toolchain's standard library as
//!   `stdlib` (`pkg:golang/stdlib@1.19.8`, as syft writes it). A replacement by a local directory
//!   (`=> ../fork`) keeps the module path it replaces, with the replacement's version
//!   (`(devel)`): a directory is not a module identity.
//! - `arch` from the `GOARCH` build setting, on every package of the binary.
//! - the main module `depends` on every dependency and on `stdlib`, and owns the binary file. A
//!   GOPATH-mode build records only the main package's `path`: it is listed without a version;
//!   a Go toolchain command (`path cmd/gofmt`) is owned by `stdlib`.
//! - the `h1:` checksum of a dependency is **not** carried: it is a digest of the module's
//!   source tree (go.sum), not of any file in the image, and the package model has no field
//!   for a source checksum; recording it as a file digest or a purl qualifier would be misread.
//!   `go version -m` on the binary shows it.

use object::{Object, ObjectSection};
use serde::{Deserialize, Serialize};

use super::{Cataloger, Contents, Extractor, decode_extracted};
use crate::model::{Ecosystem, OwnedFile, Package, purl_escape};

/// The Go binary cataloger.
pub const CATALOGER: Cataloger = Cataloger {
    name: "go-binary",
    wants,
    run,
    extract: Some(Extractor { sniff, reduce }),
};

/// The build info header's magic; the header is 32 bytes and 16-byte aligned.
const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER_LEN: usize = 32;
/// Flag bit 2 of the header: version and module info follow inline as varint-prefixed strings.
const FLAG_INLINE: u8 = 0x2;
/// The Go version string is short (`go1.22.1`, `devel go1.23-abc… +0000`).
const MAX_VERSION_LEN: u64 = 1024;
/// Module info is one line per module: 4 MiB is tens of thousands of modules.
const MAX_MODINFO_LEN: u64 = 4 * 1024 * 1024;
/// `runtime/debug` wraps the module info in two 16-byte sentinels.
const SENTINEL_LEN: usize = 16;

fn wants(_: &str) -> bool {
    false
}

fn sniff(_: &str, head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

/// One Go module as recorded (`mod`, `dep` or a `=>` replacement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Module {
    path: String,
    version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replace: Option<Box<Module>>,
}

/// What a Go binary says about how it was built (kept between the walk and `run`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct BuildInfo {
    go_version: String,
    path: Option<String>,
    main: Option<Module>,
    deps: Vec<Module>,
    settings: Vec<(String, String)>,
}

fn reduce(path: &str, bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let Some(blob) = find_buildinfo(path, bytes)? else {
        return Ok(None);
    };
    let info = parse_buildinfo(path, blob)?;
    serde_json::to_vec(&info)
        .map(Some)
        .map_err(|e| format!("go-buildinfo-unreadable: {path}: {e}"))
}

/// The bytes from the build info header on, if the binary is a Go binary.
fn find_buildinfo<'a>(path: &str, bytes: &'a [u8]) -> Result<Option<&'a [u8]>, String> {
    if let Ok(file) = object::File::parse(bytes)
        && file.sections().next().is_some()
    {
        let Some(section) = file.section_by_name(".go.buildinfo") else {
            return Ok(None);
        };
        let data = section.data().map_err(|e| {
            format!("go-buildinfo-unreadable: {path}: the .go.buildinfo section lies outside the file ({e})")
        })?;
        return Ok(Some(data));
    }
    // Section headers stripped (or the ELF is cut short): Go's own reader scans for the
    // magic at 16-byte alignment.
    let mut offset = 0usize;
    while let Some(rest) = bytes.get(offset..) {
        if rest.len() < MAGIC.len() {
            break;
        }
        if rest.starts_with(MAGIC) {
            return Ok(Some(rest));
        }
        offset = offset.saturating_add(16);
    }
    Ok(None)
}

/// An unsigned LEB128 varint as Go's `binary.Uvarint` reads it; `None` when cut short or wider
/// than 64 bits.
fn uvarint(buf: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in buf.iter().enumerate().take(10) {
        let low = u64::from(b & 0x7f);
        if i == 9 && b > 1 {
            return None;
        }
        value |= low << (7 * i);
        if b < 0x80 {
            return Some((value, i + 1));
        }
    }
    None
}

/// A varint-prefixed string no longer than `max`, and what follows it.
fn read_string<'a>(
    path: &str,
    what: &str,
    buf: &'a [u8],
    max: u64,
) -> Result<(&'a [u8], &'a [u8]), String> {
    let (len, used) = uvarint(buf).ok_or_else(|| {
        format!(
            "go-buildinfo-unreadable: {path}: the length of the {what} is cut short or malformed"
        )
    })?;
    if len > max {
        return Err(format!(
            "go-buildinfo-unreadable: {path}: the {what} declares {len} bytes, more than the {max} accepted"
        ));
    }
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| used.checked_add(l))
        .filter(|&end| end <= buf.len())
        .ok_or_else(|| {
            format!(
                "go-buildinfo-unreadable: {path}: the {what} declares {len} bytes but the file ends first"
            )
        })?;
    Ok((&buf[used..end], &buf[end..]))
}

/// Decodes the build info starting at its header.
fn parse_buildinfo(path: &str, blob: &[u8]) -> Result<BuildInfo, String> {
    let header = blob
        .get(..HEADER_LEN)
        .filter(|h| h.starts_with(MAGIC))
        .ok_or_else(|| {
            format!("go-buildinfo-unreadable: {path}: the build info header is cut short or has no magic")
        })?;
    if header[15] & FLAG_INLINE == 0 {
        return Err(format!(
            "go-buildinfo-unsupported: {path}: built with Go older than 1.18 (pointer-format build info); \
             binaries of old Go are not supported, so its modules are not listed"
        ));
    }
    let rest = &blob[HEADER_LEN..];
    let (version, rest) = read_string(path, "Go version", rest, MAX_VERSION_LEN)?;
    let (modinfo, _) = read_string(path, "module info", rest, MAX_MODINFO_LEN)?;
    // As `debug/buildinfo` does: the text sits between two 16-byte sentinels, and the byte
    // before the closing one is a newline; anything else carries no module info.
    let text = if modinfo.len() > 2 * SENTINEL_LEN
        && modinfo.get(modinfo.len() - SENTINEL_LEN - 1) == Some(&b'\n')
    {
        &modinfo[SENTINEL_LEN..modinfo.len() - SENTINEL_LEN]
    } else {
        &[][..]
    };
    let mut info = parse_modinfo(&String::from_utf8_lossy(text));
    info.go_version = String::from_utf8_lossy(version).into_owned();
    Ok(info)
}

fn module(fields: &str) -> Option<Module> {
    let mut parts = fields.split('\t');
    let path = parts.next().filter(|p| !p.is_empty())?.to_string();
    let version = parts.next().unwrap_or("").to_string();
    let sum = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
    Some(Module {
        path,
        version,
        sum,
        replace: None,
    })
}

/// Go quotes a build setting's key or value (`strconv.Quote`) when it holds spaces, tabs,
/// quotes or `=`; the escapes that can occur are undone, others kept as written.
fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other @ ('"' | '\\')) => out.push(other),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The module info text: `path`, `mod`, `dep`, `=>` and `build` lines, tab-separated.
fn parse_modinfo(text: &str) -> BuildInfo {
    let mut info = BuildInfo::default();
    // Which module the next `=>` replaces: the main one or the latest dependency.
    let mut last_is_main = false;
    for line in text.lines() {
        let Some((word, rest)) = line.split_once('\t') else {
            continue;
        };
        match word {
            "path" => info.path = Some(rest.to_string()),
            "mod" => {
                info.main = module(rest);
                last_is_main = true;
            }
            "dep" => {
                if let Some(m) = module(rest) {
                    info.deps.push(m);
                    last_is_main = false;
                }
            }
            "=>" => {
                let target = if last_is_main {
                    info.main.as_mut()
                } else {
                    info.deps.last_mut()
                };
                if let (Some(t), Some(r)) = (target, module(rest)) {
                    t.replace = Some(Box::new(r));
                }
            }
            "build" => {
                let (key, value) = if let Some(quoted) = rest.strip_prefix('"') {
                    // A quoted key: up to its closing quote, then `=`.
                    match quoted.split_once("\"=") {
                        Some((k, v)) => (unquote(&format!("\"{k}\"")), unquote(v)),
                        None => (unquote(rest), String::new()),
                    }
                } else {
                    match rest.split_once('=') {
                        Some((k, v)) => (k.to_string(), unquote(v)),
                        None => (rest.to_string(), String::new()),
                    }
                };
                info.settings.push((key, value));
            }
            _ => {}
        }
    }
    info
}

/// What was compiled in for a recorded module: its replacement when it has one. A local
/// directory replacement keeps the module path it stands in for.
fn effective(m: &Module) -> (&str, &str) {
    match m.replace.as_deref() {
        Some(r) if r.path.starts_with('.') || r.path.starts_with('/') => {
            (m.path.as_str(), r.version.as_str())
        }
        Some(r) => (r.path.as_str(), r.version.as_str()),
        None => (m.path.as_str(), m.version.as_str()),
    }
}

/// `pkg:golang/<module path>@<version>`, each path segment escaped.
fn purl(path: &str, version: &str) -> String {
    let segments: Vec<String> = path.split('/').map(purl_escape).collect();
    if version.is_empty() {
        format!("pkg:golang/{}", segments.join("/"))
    } else {
        format!("pkg:golang/{}@{}", segments.join("/"), purl_escape(version))
    }
}

fn packages_of(binary: &str, info: &BuildInfo) -> Vec<Package> {
    let arch = info
        .settings
        .iter()
        .find(|(k, _)| k == "GOARCH")
        .map(|(_, v)| v.clone());
    let package = |name: &str, version: &str| {
        let mut p = Package::new(
            Ecosystem::Golang,
            name,
            version,
            purl(name, version),
            binary,
            CATALOGER.name,
        );
        p.arch = arch.clone();
        p
    };
    let mut packages = Vec::new();
    let mut depends = Vec::new();
    for dep in &info.deps {
        let (name, version) = effective(dep);
        depends.push(name.to_string());
        packages.push(package(name, version));
    }
    // `go1.21.0 X:boringcrypto` → `1.21.0`; a development toolchain is kept as written.
    let go = info.go_version.split_whitespace().next().unwrap_or("");
    if !go.is_empty() {
        let version = go.strip_prefix("go").unwrap_or(go);
        depends.push("stdlib".to_string());
        let mut stdlib = package("stdlib", version);
        // The one CPE that is not a guess: NVD files Go's standard library under golang:go.
        if version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            stdlib.cpe = Some(format!("cpe:2.3:a:golang:go:{version}:*:*:*:*:*:*:*"));
        }
        packages.push(stdlib);
    }
    // A GOPATH-mode build (Debian's, among others) records only `path`: the main package, with
    // no version. The toolchain's own commands (`cmd/gofmt`) belong to the standard library.
    let owns = OwnedFile {
        path: binary.to_string(),
        recorded: None,
    };
    let gopath_main = match (&info.main, &info.path) {
        (None, Some(path)) if path.starts_with("cmd/") => {
            if let Some(stdlib) = packages.last_mut().filter(|p| p.name == "stdlib") {
                stdlib.files.push(owns.clone());
            }
            None
        }
        (None, Some(path)) => Some(Module {
            path: path.clone(),
            version: String::new(),
            sum: None,
            replace: None,
        }),
        _ => None,
    };
    if let Some(main) = info.main.as_ref().or(gopath_main.as_ref()) {
        let (name, version) = effective(main);
        let mut p = package(name, version);
        p.depends = depends;
        p.files.push(owns);
        packages.insert(0, p);
    }
    packages
}

fn run(contents: &Contents) -> (Vec<Package>, Vec<String>) {
    let mut warnings = Vec::new();
    let packages = decode_extracted::<BuildInfo>(
        contents,
        CATALOGER.name,
        "go-buildinfo-unreadable",
        &mut warnings,
    )
    .flat_map(|(path, info)| packages_of(path, &info))
    .collect();
    (packages, warnings)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn fixture() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/sbom/binaries/go-hello"
        ))
        .unwrap()
    }

    fn varint(mut n: u64, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    /// A Go ≥ 1.18 build info blob around `modinfo` (sentinels added).
    fn blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend([8, FLAG_INLINE]);
        b.resize(HEADER_LEN, 0);
        varint(version.len() as u64, &mut b);
        b.extend(version.as_bytes());
        let mut wrapped = vec![0x30; SENTINEL_LEN];
        wrapped.extend(modinfo.as_bytes());
        wrapped.extend([0xf9; SENTINEL_LEN]);
        varint(wrapped.len() as u64, &mut b);
        b.extend(wrapped);
        b
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

    #[test]
    fn the_real_go_binary_lists_main_module_deps_replacement_and_stdlib() {
        let (packages, warnings) = catalogued("/usr/local/bin/hello", &fixture());
        assert!(warnings.is_empty(), "{warnings:?}");
        let got: Vec<(&str, &str, &str)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "example.com/hello",
                    "(devel)",
                    "pkg:golang/example.com/hello@%28devel%29"
                ),
                (
                    "example.com/greet",
                    "v1.2.3",
                    "pkg:golang/example.com/greet@v1.2.3"
                ),
                // Replaced by the local directory ../src/shout: the module path is kept.
                (
                    "example.com/shout",
                    "(devel)",
                    "pkg:golang/example.com/shout@%28devel%29"
                ),
                ("stdlib", "1.19.8", "pkg:golang/stdlib@1.19.8"),
            ]
        );
        assert_eq!(
            packages[0].depends,
            ["example.com/greet", "example.com/shout", "stdlib"]
        );
        assert_eq!(packages[0].files[0].path, "/usr/local/bin/hello");
        assert!(packages.iter().all(|p| p.arch.as_deref() == Some("amd64")
            && p.found_at == "/usr/local/bin/hello"
            && p.cataloger == "go-binary"));
    }

    #[test]
    fn stripped_section_headers_are_found_by_the_aligned_magic() {
        let mut bin = fixture();
        // e_shoff (0x28, 8 bytes), e_shnum (0x3c) and e_shstrndx (0x3e) zeroed, like `sstrip`.
        bin[0x28..0x30].fill(0);
        bin[0x3c..0x40].fill(0);
        let (packages, warnings) = catalogued("/bin/hello", &bin);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(packages.len(), 4);
    }

    #[test]
    fn replacement_by_another_module_is_what_was_compiled_in() {
        let modinfo = "path\texample.com/app\nmod\texample.com/app\tv0.3.0\th1:abc=\n\
             dep\tgolang.org/x/text\tv0.3.0\th1:old=\n=>\tgithub.com/fork/text\tv0.3.8\th1:new=\n\
             build\t-ldflags=\"-s -w\"\nbuild\t\"odd=key\"=v\nbuild\tGOARCH=arm64\n";
        let (packages, warnings) = catalogued("/app", &blob("go1.21.0 X:boringcrypto", modinfo));
        assert!(warnings.is_empty(), "{warnings:?}");
        let purls: Vec<&str> = packages.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:golang/example.com/app@v0.3.0",
                "pkg:golang/github.com/fork/text@v0.3.8",
                "pkg:golang/stdlib@1.21.0",
            ]
        );
        assert_eq!(packages[0].arch.as_deref(), Some("arm64"));
        let info = parse_modinfo(modinfo);
        assert_eq!(info.settings[0], ("-ldflags".into(), "-s -w".into()));
        assert_eq!(info.settings[1], ("odd=key".into(), "v".into()));
    }

    #[test]
    fn gopath_builds_and_toolchain_commands_record_only_a_path() {
        // As `go version -m` shows Debian's /usr/lib/go-1.19/bin/gofmt and a GOPATH-mode build.
        let gofmt = "path\tcmd/gofmt\nbuild\t-compiler=gc\nbuild\tGOARCH=amd64\n";
        let (packages, warnings) =
            catalogued("/usr/lib/go-1.19/bin/gofmt", &blob("go1.19.8", gofmt));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].purl, "pkg:golang/stdlib@1.19.8");
        assert_eq!(
            packages[0].cpe.as_deref(),
            Some("cpe:2.3:a:golang:go:1.19.8:*:*:*:*:*:*:*")
        );
        assert_eq!(packages[0].files[0].path, "/usr/lib/go-1.19/bin/gofmt");
        let gopath = "path\tgithub.com/junegunn/fzf\nbuild\tGOARCH=amd64\n";
        let (packages, _) = catalogued("/usr/bin/fzf", &blob("go1.19.8", gopath));
        let purls: Vec<&str> = packages.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:golang/github.com/junegunn/fzf",
                "pkg:golang/stdlib@1.19.8"
            ]
        );
        assert_eq!(packages[0].depends, ["stdlib"]);
        assert_eq!(packages[0].files[0].path, "/usr/bin/fzf");
    }

    #[test]
    fn old_pointer_format_is_a_warning_naming_the_binary() {
        let mut b = blob("go1.16", "");
        b[15] = 0; // no inline flag: Go < 1.18
        let (packages, warnings) = catalogued("/usr/bin/old", &b);
        assert!(packages.is_empty());
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with(
                "go-buildinfo-unsupported: /usr/bin/old: built with Go older than 1.18"
            ),
            "{warnings:?}"
        );
    }

    #[test]
    fn hostile_build_info_is_a_warning_never_a_panic() {
        let good = blob("go1.22.0", "mod\tx\tv1\n");
        // Every truncation of a good blob.
        for len in 0..good.len() {
            assert!(parse_buildinfo("/t", &good[..len]).is_err(), "{len}");
        }
        // A declared length far beyond the bound.
        let mut huge = MAGIC.to_vec();
        huge.extend([8, FLAG_INLINE]);
        huge.resize(HEADER_LEN, 0);
        varint(u64::MAX, &mut huge);
        let e = parse_buildinfo("/t", &huge).unwrap_err();
        assert!(e.contains("more than the 1024 accepted"), "{e}");
        // A varint that never ends.
        let mut endless = huge[..HEADER_LEN].to_vec();
        endless.extend([0xff; 20]);
        assert!(
            parse_buildinfo("/t", &endless)
                .unwrap_err()
                .contains("malformed")
        );
        // A modinfo without sentinels carries no modules.
        let mut bare = huge[..HEADER_LEN].to_vec();
        bare.extend([2, b'g', b'o', 3, b'a', b'b', b'c']);
        assert!(parse_buildinfo("/t", &bare).unwrap().deps.is_empty());
        // Garbage and truncated ELF files.
        let bin = fixture();
        for len in [0, 4, 64, 1000, bin.len() / 2] {
            let _ = reduce("/t", &bin[..len]);
        }
        assert_eq!(reduce("/t", b"\x7fELF garbage").unwrap(), None);
        assert_eq!(uvarint(&[0x80; 10]), None);
        assert_eq!(
            uvarint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Some((u64::MAX, 10))
        );
    }

    #[test]
    fn a_non_go_elf_yields_nothing() {
        let elf = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/sbom/binaries/true"
        ))
        .unwrap();
        assert_eq!(reduce("/bin/true", &elf).unwrap(), None);
    }
}
