//! Python distributions: `*.dist-info/METADATA` with its `RECORD` (sha256 per file), and
//! `*.egg-info/PKG-INFO` (or a single-file `.egg-info`); names normalised as PEP 503 says.

use base64::Engine;

use super::{Cataloger, Contents};
use crate::model::{Ecosystem, FileDigest, OwnedFile, Package, purl_escape};

/// The Python cataloger.
pub const CATALOGER: Cataloger = Cataloger {
    name: "python",
    wants,
    run,
    extract: None,
};

fn wants(path: &str) -> bool {
    path.ends_with(".dist-info/METADATA")
        || path.ends_with(".dist-info/RECORD")
        || path.ends_with(".egg-info/PKG-INFO")
        || path.ends_with(".egg-info")
}

/// PEP 503: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The header block of a core-metadata file (email-header format).
fn headers(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, value)) = out.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

fn run(contents: &Contents) -> (Vec<Package>, Vec<String>) {
    let mut packages = Vec::new();
    let mut warnings = Vec::new();
    for (path, bytes) in contents.iter() {
        let (metadata_dir, record) = if let Some(dir) = path.strip_suffix("/METADATA") {
            (dir, contents.get(&format!("{dir}/RECORD")))
        } else if let Some(dir) = path.strip_suffix("/PKG-INFO") {
            (dir, None)
        } else if path.ends_with(".egg-info") {
            (path, None)
        } else {
            continue;
        };
        let text = String::from_utf8_lossy(bytes);
        let fields = headers(&text);
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty() && v != "UNKNOWN")
        };
        let (Some(name), Some(version)) = (get("Name"), get("Version")) else {
            warnings.push(format!(
                "python-metadata-incomplete: {path} has no Name or Version"
            ));
            continue;
        };
        let site = metadata_dir
            .rsplit_once('/')
            .map_or("", |(parent, _)| parent);
        let files = record.map(|r| record_files(r, site)).unwrap_or_default();
        let license = get("License-Expression")
            .or_else(|| get("License").filter(|l| !l.contains('\n') && l.len() < 64));
        packages.push(Package {
            ecosystem: Ecosystem::Pypi,
            purl: format!(
                "pkg:pypi/{}@{}",
                purl_escape(&normalise(&name)),
                purl_escape(&version)
            ),
            cpe: None,
            license,
            supplier: get("Author").or_else(|| get("Author-email")),
            arch: None,
            source_package: None,
            source_version: None,
            depends: fields
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("Requires-Dist"))
                .map(|(_, v)| v.clone())
                .collect(),
            provides: Vec::new(),
            files,
            found_at: path.to_string(),
            cataloger: CATALOGER.name,
            owned_by: None,
            dev: false,
            name: normalise(&name),
            version,
        });
    }
    (packages, warnings)
}

/// `RECORD` rows: `path,sha256=<urlsafe base64>,size`, paths relative to the site directory.
fn record_files(record: &[u8], site: &str) -> Vec<OwnedFile> {
    String::from_utf8_lossy(record)
        .lines()
        .filter_map(|line| {
            let mut cols = line.rsplitn(3, ',');
            let _size = cols.next()?;
            let hash = cols.next()?;
            let rel = cols.next()?.trim_matches('"');
            if rel.is_empty() {
                return None;
            }
            let recorded = hash.split_once('=').and_then(|(algo, b64)| {
                let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(b64.trim_end_matches('='))
                    .ok()?;
                Some(FileDigest {
                    algorithm: algo.to_string(),
                    value: hex::encode(raw),
                })
            });
            Some(OwnedFile {
                path: join(site, rel),
                recorded,
            })
        })
        .collect()
}

/// `site` + a relative path that may climb with `..` (scripts in `../../bin`).
fn join(site: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = site.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_as_pep_503_says() {
        assert_eq!(normalise("Friendly-Bard"), "friendly-bard");
        assert_eq!(normalise("FRIENDLY._-bard"), "friendly-bard");
        assert_eq!(normalise("zope.interface"), "zope-interface");
    }

    #[test]
    fn dist_info_with_record_digests_in_hex() {
        let mut c = Contents::default();
        let dir = "/usr/lib/python3/site-packages/Six-1.16.0.dist-info";
        c.insert(
            format!("{dir}/METADATA"),
            b"Metadata-Version: 2.1\nName: Six\nVersion: 1.16.0\nLicense: MIT\nRequires-Dist: foo>=1\n\nbody".to_vec(),
        );
        c.insert(
            format!("{dir}/RECORD"),
            b"six.py,sha256=TOOfJz4-Ws5TQ4Xp9a4V5C0dQL7HXNPp3tWS5c9SXgg,34549\n../../../bin/x,,\nSix-1.16.0.dist-info/RECORD,,\n".to_vec(),
        );
        let (packages, warnings) = run(&c);
        assert!(warnings.is_empty());
        let p = &packages[0];
        assert_eq!(p.purl, "pkg:pypi/six@1.16.0");
        assert_eq!(p.license.as_deref(), Some("MIT"));
        assert_eq!(p.depends, ["foo>=1"]);
        assert_eq!(p.files[0].path, "/usr/lib/python3/site-packages/six.py");
        let d = p.files[0].recorded.as_ref().unwrap();
        assert_eq!(d.algorithm, "sha256");
        assert_eq!(d.value.len(), 64);
        assert_eq!(p.files[1].path, "/usr/bin/x");
        assert!(p.files[1].recorded.is_none());
    }
}
