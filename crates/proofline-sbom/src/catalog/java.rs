//! Java archives (`.jar`, `.war`, `.ear`, Jenkins `.jpi`/`.hpi`): the Maven coordinates in each
//! `META-INF/maven/<group>/<artifact>/pom.properties`, the `META-INF/MANIFEST.MF` main section,
//! and the archives nested in them (`WEB-INF/lib/`, `BOOT-INF/lib/`, any `*.jar` entry), so a
//! fat jar or a war lists every library inside it.
//!
//! What each package carries:
//! - name `<artifactId>` (as syft names jars; the groupId is in the purl): `depends` holds names
//!   and the inventory's dependency graph reads `a:b` as a name with an architecture qualifier,
//!   so `<groupId>:<artifactId>` would not resolve. Purl `pkg:maven/<groupId>/<artifactId>@<version>`.
//! - how it was identified, in `cataloger`: `java` from a pom.properties; `java-manifest` when
//!   there is none and MANIFEST.MF gave the name or version; `java-filename` when only the file
//!   name (`name-1.2.3.jar`) did. Without a pom.properties the groupId is known only when the
//!   manifest has `Implementation-Vendor-Id`; otherwise the purl has no namespace rather than a
//!   guessed one.
//! - a shaded jar with several pom.properties gives one package each; the jar's own one (the
//!   artifactId matching the file name or `Implementation-Title`, or the only one) depends on
//!   the others and carries the manifest's vendor (`supplier`) and `Bundle-License` (only when it
//!   is an SPDX expression); failing a name match, the only pom whose version is the manifest's
//!   `Implementation-Version`.
//! - `found_at` is the archive, `/app/x.war!/WEB-INF/lib/y.jar` for a nested one; an archive's
//!   own packages depend on those of the archives nested directly in it.
//! - no CPE: a jar names no CPE vendor, and a guessed one (from a groupId) gives false matches.
//!
//! Bounds: nesting depth, entries per archive, bytes of one manifest or pom.properties, and the
//! decompressed bytes of one outermost archive with everything nested in it (zip bombs).

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use serde::{Deserialize, Serialize};

use super::{Cataloger, Contents, Extractor, decode_extracted};
use crate::model::{Ecosystem, Package, is_spdx_expression, purl_escape};

/// The Java archive cataloger.
pub const CATALOGER: Cataloger = Cataloger {
    name: "java",
    wants,
    run,
    extract: Some(Extractor { sniff, reduce }),
};

const EXTENSIONS: [&str; 5] = [".jar", ".war", ".ear", ".jpi", ".hpi"];
/// Archives nested deeper than this are reported, not opened.
const MAX_DEPTH: usize = 4;
/// Entries of one archive's central directory.
const MAX_ENTRIES: usize = 65_536;
/// One MANIFEST.MF or pom.properties.
const MAX_TEXT_BYTES: u64 = 1024 * 1024;
/// Decompressed bytes read from one outermost archive, nested archives included.
const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;

fn wants(_: &str) -> bool {
    false
}

fn is_archive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    EXTENSIONS.iter().any(|e| lower.ends_with(e))
}

fn sniff(path: &str, head: &[u8]) -> bool {
    is_archive_name(path) && (head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06"))
}

/// How a package was identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum How {
    Pom,
    Manifest,
    Filename,
}

/// One artifact found in an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Artifact {
    group: Option<String>,
    artifact: String,
    version: String,
    how: How,
    /// The archive's own artifact (not one shaded into it).
    main: bool,
    supplier: Option<String>,
    license: Option<String>,
}

/// One archive: its artifacts and the archives nested directly in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Archive {
    path: String,
    artifacts: Vec<Artifact>,
    nested: Vec<String>,
}

/// What the walk keeps of one outermost archive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Reduced {
    archives: Vec<Archive>,
    warnings: Vec<String>,
}

fn reduce(path: &str, bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut budget = MAX_TOTAL_BYTES;
    let mut out = Reduced::default();
    read_archive(path, bytes, 0, &mut budget, &mut out)
        .map_err(|e| format!("java-archive-unreadable: {path}: {e}"))?;
    serde_json::to_vec(&out)
        .map(Some)
        .map_err(|e| format!("java-archive-unreadable: {path}: {e}"))
}

/// Reads entry `index` whole, at most `limit` bytes and within the archive's `budget`.
fn read_entry<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    index: usize,
    name: &str,
    limit: u64,
    budget: &mut u64,
) -> Result<Vec<u8>, String> {
    let allowed = limit.min(*budget);
    let entry = zip.by_index(index).map_err(|e| format!("{name}: {e}"))?;
    if entry.size() > allowed {
        return Err(too_large(name, limit, *budget));
    }
    let mut buf = Vec::new();
    entry
        .take(allowed.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| format!("{name}: {e}"))?;
    let read = buf.len() as u64;
    if read > allowed {
        return Err(too_large(name, limit, *budget));
    }
    *budget -= read;
    Ok(buf)
}

fn too_large(name: &str, limit: u64, budget: u64) -> String {
    if budget < limit {
        format!(
            "{name} decompresses past the {MAX_TOTAL_BYTES} bytes read from one archive (zip bomb?); the rest is not read"
        )
    } else {
        format!("{name} is larger than the {limit} bytes accepted")
    }
}

/// Reads one archive (and, recursively, the archives nested in it) into `out`. `Err` when the
/// archive itself cannot be read; problems inside it are `out.warnings`.
fn read_archive(
    path: &str,
    bytes: &[u8],
    depth: usize,
    budget: &mut u64,
    out: &mut Reduced,
) -> Result<(), String> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("not a readable zip: {e}"))?;
    if zip.len() > MAX_ENTRIES {
        return Err(format!(
            "{} entries, more than the {MAX_ENTRIES} accepted",
            zip.len()
        ));
    }
    let names: Vec<Option<String>> = (0..zip.len())
        .map(|i| {
            zip.name_for_index(i)
                .and_then(Result::ok)
                .map(|n| n.into_owned())
        })
        .collect();
    let mut manifest = BTreeMap::new();
    let mut poms = Vec::new();
    let mut nested = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let Some(name) = name else { continue };
        if name.ends_with('/') {
            continue;
        }
        let warn = |out: &mut Reduced, e: String| {
            out.warnings
                .push(format!("java-archive-unreadable: {path}: {e}"));
        };
        if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
            match read_entry(&mut zip, index, name, MAX_TEXT_BYTES, budget) {
                Ok(b) => manifest = parse_manifest(&String::from_utf8_lossy(&b)),
                Err(e) => warn(out, e),
            }
        } else if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            match read_entry(&mut zip, index, name, MAX_TEXT_BYTES, budget) {
                Ok(b) => match pom_artifact(&String::from_utf8_lossy(&b)) {
                    Some(a) => poms.push(a),
                    None => warn(out, format!("{name} lacks groupId, artifactId or version")),
                },
                Err(e) => warn(out, e),
            }
        } else if is_archive_name(name) {
            nested.push((index, name.clone()));
        }
    }
    let file_name = path.rsplit(['/', '!']).next().unwrap_or(path);
    let artifacts = identify(file_name, &manifest, poms);
    let mut children = Vec::new();
    for (index, name) in nested {
        let child = format!("{path}!/{name}");
        if depth + 1 > MAX_DEPTH {
            out.warnings.push(format!(
                "java-archive-too-deep: {child}: nested more than {MAX_DEPTH} archives deep; not read"
            ));
            continue;
        }
        let inner = match read_entry(&mut zip, index, &name, MAX_TOTAL_BYTES, budget) {
            Ok(b) => b,
            Err(e) => {
                out.warnings
                    .push(format!("java-archive-unreadable: {path}: {e}"));
                continue;
            }
        };
        match read_archive(&child, &inner, depth + 1, budget, out) {
            Ok(()) => children.push(child),
            Err(e) => out
                .warnings
                .push(format!("java-archive-unreadable: {child}: {e}")),
        }
    }
    out.archives.push(Archive {
        path: path.to_string(),
        artifacts,
        nested: children,
    });
    Ok(())
}

/// The main section of a MANIFEST.MF (up to the first blank line), continuation lines joined.
fn parse_manifest(text: &str) -> BTreeMap<String, String> {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if let Some(more) = line.strip_prefix(' ') {
            if let Some(value) = last.as_ref().and_then(|k| fields.get_mut(k)) {
                value.push_str(more);
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            let key = key.trim().to_string();
            fields.insert(key.clone(), value.trim_start().to_string());
            last = Some(key);
        }
    }
    for value in fields.values_mut() {
        *value = value.trim().to_string();
    }
    fields
}

/// `groupId`, `artifactId` and `version` of a pom.properties (Java properties: `#` comments,
/// `=` or `:` separators).
fn pom_artifact(text: &str) -> Option<Artifact> {
    let mut props = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        if let Some(i) = line.find(['=', ':']) {
            props.insert(line[..i].trim(), line[i + 1..].trim());
        }
    }
    let field = |k: &str| {
        props
            .get(k)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string())
    };
    Some(Artifact {
        group: Some(field("groupId")?),
        artifact: field("artifactId")?,
        version: field("version")?,
        how: How::Pom,
        main: false,
        supplier: None,
        license: None,
    })
}

/// `name-1.2.3.jar` → (`name`, `1.2.3`): the version starts at the first `-` followed by a digit.
fn split_file_name(file_name: &str) -> (&str, &str) {
    let stem = file_name
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(file_name);
    let bytes = stem.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return (&stem[..i], &stem[i + 1..]);
        }
    }
    (stem, "")
}

/// The archive's artifacts: its pom.properties, or else one from the manifest and file name.
fn identify(
    file_name: &str,
    manifest: &BTreeMap<String, String>,
    mut poms: Vec<Artifact>,
) -> Vec<Artifact> {
    let get = |k: &str| manifest.get(k).filter(|v| !v.is_empty()).cloned();
    let (file_artifact, file_version) = split_file_name(file_name);
    let supplier = get("Implementation-Vendor").or_else(|| get("Bundle-Vendor"));
    let license = get("Bundle-License").filter(|l| is_spdx_expression(l));
    if !poms.is_empty() {
        let title = get("Implementation-Title");
        let main = if poms.len() == 1 {
            Some(0)
        } else {
            poms.iter()
                .position(|p| p.artifact == file_artifact)
                .or_else(|| {
                    poms.iter()
                        .position(|p| Some(&p.artifact) == title.as_ref())
                })
                .or_else(|| {
                    // Debian renames jars (`maven3-slf4j-provider.jar`): the one pom whose
                    // version is the manifest's Implementation-Version.
                    let version = get("Implementation-Version")?;
                    let mut same = poms
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.version == version);
                    match (same.next(), same.next()) {
                        (Some((i, _)), None) => Some(i),
                        _ => None,
                    }
                })
        };
        if let Some(p) = main.and_then(|i| poms.get_mut(i)) {
            p.main = true;
            p.supplier = supplier;
            p.license = license;
        }
        return poms;
    }
    let symbolic = get("Bundle-SymbolicName")
        .map(|s| s.split(';').next().unwrap_or("").trim().to_string())
        .filter(|s| !s.is_empty());
    let mut from_manifest = false;
    let artifact = if file_artifact.is_empty() {
        from_manifest = true;
        match symbolic.or_else(|| get("Implementation-Title")) {
            Some(a) => a,
            None => return Vec::new(),
        }
    } else {
        file_artifact.to_string()
    };
    let version = if file_version.is_empty() {
        let v = get("Implementation-Version")
            .or_else(|| get("Bundle-Version"))
            .or_else(|| get("Specification-Version"));
        from_manifest |= v.is_some();
        v.unwrap_or_default()
    } else {
        file_version.to_string()
    };
    let group = get("Implementation-Vendor-Id");
    from_manifest |= group.is_some();
    vec![Artifact {
        group,
        artifact,
        version,
        how: if from_manifest {
            How::Manifest
        } else {
            How::Filename
        },
        main: true,
        supplier,
        license,
    }]
}

fn name_of(a: &Artifact) -> String {
    a.artifact.clone()
}

fn purl_of(a: &Artifact) -> String {
    let mut purl = String::from("pkg:maven/");
    if let Some(g) = &a.group {
        purl.push_str(&purl_escape(g));
        purl.push('/');
    }
    purl.push_str(&purl_escape(&a.artifact));
    if !a.version.is_empty() {
        purl.push('@');
        purl.push_str(&purl_escape(&a.version));
    }
    purl
}

/// An archive's heads: its own artifact if known, else all of them.
fn heads(archive: &Archive) -> Vec<&Artifact> {
    let main: Vec<&Artifact> = archive.artifacts.iter().filter(|a| a.main).collect();
    if main.is_empty() {
        archive.artifacts.iter().collect()
    } else {
        main
    }
}

fn packages_of(reduced: &Reduced) -> Vec<Package> {
    let by_path: BTreeMap<&str, &Archive> = reduced
        .archives
        .iter()
        .map(|a| (a.path.as_str(), a))
        .collect();
    let mut packages = Vec::new();
    for archive in &reduced.archives {
        let nested: Vec<String> = archive
            .nested
            .iter()
            .filter_map(|n| by_path.get(n.as_str()))
            .flat_map(|a| heads(a))
            .map(name_of)
            .collect();
        let has_main = archive.artifacts.iter().any(|a| a.main);
        for a in &archive.artifacts {
            let mut p = Package::new(
                Ecosystem::Maven,
                name_of(a),
                &a.version,
                purl_of(a),
                &archive.path,
                match a.how {
                    How::Pom => CATALOGER.name,
                    How::Manifest => "java-manifest",
                    How::Filename => "java-filename",
                },
            );
            p.supplier = a.supplier.clone();
            p.license = a.license.clone();
            if a.main || !has_main {
                if a.main {
                    // The jar's own artifact depends on what was shaded into it.
                    p.depends
                        .extend(archive.artifacts.iter().filter(|o| !o.main).map(name_of));
                }
                p.depends.extend(nested.iter().cloned());
            }
            packages.push(p);
        }
    }
    packages
}

fn run(contents: &Contents) -> (Vec<Package>, Vec<String>) {
    let mut warnings = Vec::new();
    let reduced: Vec<Reduced> = decode_extracted::<Reduced>(
        contents,
        CATALOGER.name,
        "java-archive-unreadable",
        &mut warnings,
    )
    .map(|(_, reduced)| reduced)
    .collect();
    let mut packages = Vec::new();
    for r in reduced {
        packages.extend(packages_of(&r));
        warnings.extend(r.warnings);
    }
    (packages, warnings)
}

#[cfg(test)]
#[path = "java_tests.rs"]
mod tests;
