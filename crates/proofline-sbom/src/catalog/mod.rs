//! One walk of the image feeds every cataloger: the walk records every regular file (path,
//! mode, SHA-256) and keeps the bytes of just the files some cataloger asked for (package
//! databases, manifests), then each cataloger turns those into packages.

pub mod apk;
pub mod auditable;
pub mod cargo;
pub mod dpkg;
pub mod gobin;
pub mod java;
pub mod npm;
pub mod python;
pub mod rpm;

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use proofline_oci::{EntryType, Image, OciError, WalkOptions};

use crate::model::{ImageFile, Inventory, Package};

/// Why an image could not be catalogued (exit 2); unreadable package data is a warning.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Oci(#[from] OciError),
}

/// The bytes of the files catalogers asked for, by absolute path.
#[derive(Debug, Default)]
pub struct Contents {
    files: BTreeMap<String, Vec<u8>>,
    /// What extractors kept of sniffed files, by cataloger name and path.
    extracted: BTreeMap<(&'static str, String), Vec<u8>>,
}

impl Contents {
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Paths under `dir` (absolute, no trailing slash), in order.
    pub fn under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        self.files
            .range(format!("{dir}/")..)
            .take_while(move |(p, _)| {
                p.starts_with(dir) && p.as_bytes().get(dir.len()) == Some(&b'/')
            })
            .map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// Every collected file, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// Inserts content (tests and catalogers reading nested archives).
    pub fn insert(&mut self, path: impl Into<String>, bytes: Vec<u8>) {
        self.files.insert(path.into(), bytes);
    }

    /// What `cataloger`'s extractor kept, by path, in path order.
    pub fn extracted<'a>(
        &'a self,
        cataloger: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        self.extracted
            .iter()
            .filter(move |((name, _), _)| *name == cataloger)
            .map(|((_, p), b)| (p.as_str(), b.as_slice()))
    }

    /// Records what `cataloger`'s extractor kept of `path`.
    pub fn insert_extracted(&mut self, cataloger: &'static str, path: &str, kept: Vec<u8>) {
        self.extracted.insert((cataloger, path.to_string()), kept);
    }
}

/// Reduces a sniffed file to what its cataloger needs: `Ok(None)` for nothing of interest,
/// `Err(warning)` for an unreadable file.
pub type Reduce = fn(&str, &[u8]) -> Result<Option<Vec<u8>>, String>;

/// Files found by their bytes rather than their name (binaries, archives): which to read,
/// and what of each to keep, so the walk holds one such file in memory at a time.
#[derive(Debug, Clone, Copy)]
pub struct Extractor {
    /// Whether to read this file, from its path and first bytes (`proofline_oci::SNIFF_BYTES`).
    pub sniff: fn(&str, &[u8]) -> bool,
    /// What of the whole file to keep for `run` (`Ok(None)`: nothing of interest); an `Err`
    /// becomes an inventory warning (`code: detail`).
    pub reduce: Reduce,
}

/// Decodes what `cataloger`'s extractor kept of each file (JSON of `T`), in path order; a
/// record that does not decode becomes a `<code>: <path>: <error>` warning.
pub fn decode_extracted<'a, T: serde::de::DeserializeOwned>(
    contents: &'a Contents,
    cataloger: &'a str,
    code: &'a str,
    warnings: &'a mut Vec<String>,
) -> impl Iterator<Item = (&'a str, T)> + 'a {
    contents
        .extracted(cataloger)
        .filter_map(
            move |(path, kept)| match serde_json::from_slice::<T>(kept) {
                Ok(value) => Some((path, value)),
                Err(e) => {
                    warnings.push(format!("{code}: {path}: {e}"));
                    None
                }
            },
        )
}

/// The largest file whose bytes the walk reads (binaries and archives); larger ones are
/// listed with their digest and a `content-too-large` warning.
pub const MAX_CONTENT_BYTES: u64 = 256 * 1024 * 1024;

/// One cataloger: which files it reads, and how it turns them into packages.
#[derive(Debug, Clone, Copy)]
pub struct Cataloger {
    pub name: &'static str,
    /// Whether the walk should keep this path's bytes for the cataloger.
    pub wants: fn(&str) -> bool,
    /// Packages found, plus warnings (`code: detail`).
    pub run: fn(&Contents) -> (Vec<Package>, Vec<String>),
    /// Files this cataloger finds by their bytes.
    pub extract: Option<Extractor>,
}

/// Every cataloger, in a fixed order.
pub const CATALOGERS: &[Cataloger] = &[
    dpkg::CATALOGER,
    python::CATALOGER,
    npm::CATALOGER,
    cargo::CATALOGER,
    gobin::CATALOGER,
    auditable::CATALOGER,
    java::CATALOGER,
    apk::CATALOGER,
    rpm::CATALOGER,
];

/// Walks `image` once and runs `catalogers` over what it collected.
pub fn catalog_image(
    image: &Image,
    catalogers: &'static [Cataloger],
) -> Result<Inventory, CatalogError> {
    let opts = WalkOptions::default()
        .with_content(move |path| catalogers.iter().any(|c| (c.wants)(path)))
        .with_sniff(move |path, head| {
            catalogers
                .iter()
                .filter_map(|c| c.extract)
                .any(|x| (x.sniff)(path, head))
        })
        .with_max_content_bytes(MAX_CONTENT_BYTES)
        .with_md5()
        .with_hidden();
    let mut inventory = Inventory::default();
    let mut contents = Contents::default();
    // Package data a later layer deleted (`rm -rf /var/lib/dpkg`, `apk --purge`): the walk is
    // top-down, so a hidden file with no visible path above it was deleted, not replaced.
    let mut deleted = Contents::default();
    let report = image.walk(&opts, |entry| {
        if entry.hidden {
            if let Some(bytes) = entry.content
                && !inventory.files.contains_key(&entry.path)
                && !deleted.files.contains_key(&entry.path)
            {
                deleted.files.insert(entry.path, bytes);
            }
        } else if entry.kind == EntryType::File {
            inventory.files.insert(
                entry.path.clone(),
                ImageFile {
                    size: entry.size,
                    mode: entry.mode,
                    sha256: entry.sha256.clone(),
                    md5: entry.md5.clone(),
                },
            );
            if let Some(bytes) = entry.content {
                extract(
                    catalogers,
                    &entry.path,
                    &bytes,
                    &mut contents,
                    &mut inventory,
                );
                if catalogers.iter().any(|c| (c.wants)(&entry.path)) {
                    contents.files.insert(entry.path, bytes);
                }
            }
        } else if entry.kind == EntryType::Symlink
            && let Some(target) = entry.link
        {
            inventory.links.insert(entry.path, target);
        }
        ControlFlow::Continue(())
    })?;
    inventory
        .warnings
        .extend(report.warnings.iter().map(ToString::to_string));
    for cataloger in catalogers {
        let (packages, warnings) = (cataloger.run)(&contents);
        inventory.packages.extend(packages);
        inventory.warnings.extend(warnings);
    }
    if !deleted.files.is_empty() {
        recover_deleted(&mut inventory, deleted, &contents, catalogers);
    }
    mark_distro_owned(&mut inventory);
    inventory.normalise();
    Ok(inventory)
}

/// What `found_at` says of a package recovered from package data a later layer deleted.
pub const DELETED_SUFFIX: &str = " (deleted by a later layer)";

/// Packages whose database or manifest a later layer deleted while their files stayed: run
/// each cataloger over the deleted data, and keep the packages that still have a file in the
/// image (ones whose files went too were uninstalled, not hidden).
fn recover_deleted(
    inventory: &mut Inventory,
    mut deleted: Contents,
    visible: &Contents,
    catalogers: &'static [Cataloger],
) {
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Some(bytes) = visible.get(path) {
            deleted.insert(path, bytes.to_vec());
        }
    }
    let known: std::collections::BTreeSet<String> =
        inventory.packages.iter().map(|p| p.purl.clone()).collect();
    for cataloger in catalogers {
        let (packages, _) = (cataloger.run)(&deleted);
        let mut recovered = 0usize;
        let mut databases = std::collections::BTreeSet::new();
        for mut p in packages {
            if known.contains(&p.purl) || deleted.get(&p.found_at).is_none() {
                continue;
            }
            let still_there = p.files.iter().any(|f| {
                f.path != p.found_at
                    && deleted.get(&f.path).is_none()
                    && inventory
                        .files
                        .contains_key(&*inventory.resolve_path(&f.path))
            });
            if !still_there {
                continue;
            }
            databases.insert(p.found_at.clone());
            p.found_at.push_str(DELETED_SUFFIX);
            inventory.packages.push(p);
            recovered += 1;
        }
        if recovered > 0 {
            inventory.warnings.push(format!(
                "package-data-deleted: {} deleted by a later layer; {recovered} {} package(s) whose files are still in the image recovered from the layer below",
                databases.into_iter().collect::<Vec<_>>().join(", "),
                cataloger.name
            ));
        }
    }
}

/// Runs every extractor that wants a delivered file, keeping what each reduces it to.
fn extract(
    catalogers: &'static [Cataloger],
    path: &str,
    bytes: &[u8],
    contents: &mut Contents,
    inventory: &mut Inventory,
) {
    let head = &bytes[..bytes.len().min(proofline_oci::SNIFF_BYTES)];
    for c in catalogers {
        let Some(x) = c.extract.filter(|x| (x.sniff)(path, head)) else {
            continue;
        };
        match (x.reduce)(path, bytes) {
            Ok(Some(kept)) => contents.insert_extracted(c.name, path, kept),
            Ok(None) => {}
            Err(warning) => inventory.warnings.push(warning),
        }
    }
}

/// Language packages whose manifest a distribution package owns are marked with its purl.
fn mark_distro_owned(inventory: &mut Inventory) {
    let mut owner_of: BTreeMap<String, String> = BTreeMap::new();
    for p in inventory
        .packages
        .iter()
        .filter(|p| p.ecosystem.is_distro())
    {
        for f in &p.files {
            owner_of.insert(f.path.clone(), p.purl.clone());
        }
    }
    for p in inventory
        .packages
        .iter_mut()
        .filter(|p| !p.ecosystem.is_distro())
    {
        p.owned_by = owner_of.get(&p.found_at).cloned();
    }
}

/// The `ID` and `VERSION_ID` of `/etc/os-release` (or `/usr/lib/os-release`).
pub fn os_release(contents: &Contents) -> Option<(String, String)> {
    let text = contents
        .get("/etc/os-release")
        .or_else(|| contents.get("/usr/lib/os-release"))?;
    let text = String::from_utf8_lossy(text);
    let field = |key: &str| {
        text.lines().find_map(|l| {
            l.strip_prefix(key)
                .and_then(|v| v.strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_string())
        })
    };
    Some((field("ID")?, field("VERSION_ID").unwrap_or_default()))
}

/// Whether a path is an os-release file (every cataloger that builds distro purls wants it).
pub fn is_os_release(path: &str) -> bool {
    path == "/etc/os-release" || path == "/usr/lib/os-release"
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_language_package_a_distribution_package_owns_is_marked() {
        let mut contents = Contents::default();
        contents.insert(
            "/var/lib/dpkg/status",
            b"Package: python3-six\nStatus: install ok installed\nVersion: 1.16.0-4\nArchitecture: all\n"
                .to_vec(),
        );
        let metadata = "/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA";
        contents.insert(
            "/var/lib/dpkg/info/python3-six.list",
            format!("/usr/lib/python3/dist-packages/six.py\n{metadata}\n").into_bytes(),
        );
        contents.insert(metadata, b"Name: six\nVersion: 1.16.0\n".to_vec());
        contents.insert(
            "/usr/local/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
            b"Name: six\nVersion: 1.16.0\n".to_vec(),
        );
        let mut inventory = Inventory::default();
        for c in CATALOGERS {
            inventory.packages.extend((c.run)(&contents).0);
        }
        mark_distro_owned(&mut inventory);
        inventory.normalise();
        let six: Vec<_> = inventory
            .packages
            .iter()
            .filter(|p| p.name == "six")
            .map(|p| (p.found_at.as_str(), p.owned_by.as_deref()))
            .collect();
        assert_eq!(
            six,
            [
                (
                    metadata,
                    Some("pkg:deb/debian/python3-six@1.16.0-4?arch=all")
                ),
                (
                    "/usr/local/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
                    None
                ),
            ]
        );
    }
}
