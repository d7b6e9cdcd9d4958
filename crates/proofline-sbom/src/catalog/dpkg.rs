//! Debian packages: `/var/lib/dpkg/status` and distroless `/var/lib/dpkg/status.d/*`, with
//! `Source:`, architecture, epochs and binNMU versions as recorded, and each package's files and
//! md5sums from `/var/lib/dpkg/info/<name>[:<arch>].{list,md5sums}`.

use std::collections::BTreeMap;

use super::{Cataloger, Contents, is_os_release, os_release};
use crate::model::{Ecosystem, FileDigest, OwnedFile, Package, purl_escape};

const STATUS: &str = "/var/lib/dpkg/status";
const STATUS_D: &str = "/var/lib/dpkg/status.d";
const INFO: &str = "/var/lib/dpkg/info";

/// The dpkg cataloger.
pub const CATALOGER: Cataloger = Cataloger {
    name: "dpkg",
    wants,
    run,
    extract: None,
};

fn wants(path: &str) -> bool {
    path == STATUS
        || is_os_release(path)
        // Distroless: one status file per package, plus its md5sums.
        || path.strip_prefix(STATUS_D).is_some_and(|rest| rest.starts_with('/'))
        || path.strip_prefix(INFO).is_some_and(|rest| {
            rest.starts_with('/') && (rest.ends_with(".list") || rest.ends_with(".md5sums"))
        })
}

/// One stanza of a dpkg status file: field name → value (continuation lines joined by `\n`).
fn stanzas(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    let mut current: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            last = None;
        } else if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(key) = &last
                && let Some(value) = current.get_mut(key)
            {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            let key = key.trim().to_string();
            current.insert(key.clone(), value.trim().to_string());
            last = Some(key);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn run(contents: &Contents) -> (Vec<Package>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut databases: Vec<(String, &[u8])> = Vec::new();
    if let Some(bytes) = contents.get(STATUS) {
        databases.push((STATUS.to_string(), bytes));
    }
    for (path, bytes) in contents.under(STATUS_D) {
        if !path.ends_with(".md5sums") {
            databases.push((path.to_string(), bytes));
        }
    }
    let distro = os_release(contents);
    let mut packages = Vec::new();
    for (path, bytes) in databases {
        let text = String::from_utf8_lossy(bytes);
        for stanza in stanzas(&text) {
            let Some(name) = stanza.get("Package").cloned() else {
                warnings.push(format!(
                    "dpkg-stanza-without-package: a stanza of {path} has no Package field"
                ));
                continue;
            };
            // The status file keeps removed packages with their config files: only installed
            // ones are in the image. Distroless status.d files have no Status field.
            if let Some(status) = stanza.get("Status")
                && !status.ends_with(" installed")
            {
                continue;
            }
            let Some(version) = stanza.get("Version").cloned() else {
                warnings.push(format!("dpkg-package-without-version: {name} in {path}"));
                continue;
            };
            let arch = stanza.get("Architecture").cloned();
            let source_package = stanza
                .get("Source")
                .map(|s| s.split_whitespace().next().unwrap_or(s).to_string());
            // `Source: gcc-12 (12.2.0-14)`: the source version, when it differs from ours.
            let source_version = stanza
                .get("Source")
                .and_then(|s| s.split_once('('))
                .and_then(|(_, v)| v.split_once(')'))
                .map(|(v, _)| v.trim().to_string())
                .filter(|v| !v.is_empty() && v != &version);
            let mut qualifiers = Vec::new();
            if let Some(arch) = &arch {
                qualifiers.push(format!("arch={}", purl_escape(arch)));
            }
            if let Some((id, version_id)) = &distro {
                qualifiers.push(format!(
                    "distro={}-{}",
                    purl_escape(id),
                    purl_escape(version_id)
                ));
            }
            if let Some(src) = &source_package
                && src != &name
            {
                qualifiers.push(format!("upstream={}", purl_escape(src)));
            }
            let namespace = distro.as_ref().map_or("debian", |(id, _)| id.as_str());
            let purl = format!(
                "pkg:deb/{}/{}@{}{}",
                purl_escape(namespace),
                purl_escape(&name),
                purl_escape(&version),
                if qualifiers.is_empty() {
                    String::new()
                } else {
                    format!("?{}", qualifiers.join("&"))
                }
            );
            let depends = ["Pre-Depends", "Depends"]
                .iter()
                .filter_map(|k| stanza.get(*k))
                .flat_map(|v| v.split(','))
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty())
                .collect();
            let files = owned_files(contents, &name, arch.as_deref());
            packages.push(Package {
                ecosystem: Ecosystem::Deb,
                purl,
                cpe: None,
                license: None,
                supplier: stanza.get("Maintainer").cloned(),
                arch,
                source_package: source_package.filter(|s| s != &name),
                source_version,
                depends,
                // Virtual packages it satisfies (`debconf-2.0`, `awk`).
                provides: stanza
                    .get("Provides")
                    .into_iter()
                    .flat_map(|v| v.split(','))
                    .map(|d| d.trim().to_string())
                    .filter(|d| !d.is_empty())
                    .collect(),
                files,
                found_at: path.clone(),
                cataloger: CATALOGER.name,
                owned_by: None,
                dev: false,
                name,
                version,
            });
        }
    }
    (packages, warnings)
}

/// The files of a package from `info/<name>[:<arch>].list` and their md5sums (distroless
/// images keep `status.d/<name>.md5sums` instead).
fn owned_files(contents: &Contents, name: &str, arch: Option<&str>) -> Vec<OwnedFile> {
    let stems: Vec<String> = std::iter::once(name.to_string())
        .chain(arch.map(|a| format!("{name}:{a}")))
        .collect();
    let find = |suffix: &str| {
        stems.iter().find_map(|stem| {
            contents
                .get(&format!("{INFO}/{stem}.{suffix}"))
                .or_else(|| contents.get(&format!("{STATUS_D}/{stem}.{suffix}")))
        })
    };
    let mut md5: BTreeMap<String, String> = BTreeMap::new();
    if let Some(bytes) = find("md5sums") {
        for line in String::from_utf8_lossy(bytes).lines() {
            if let Some((digest, path)) = line.split_once("  ") {
                md5.insert(
                    format!("/{}", path.trim_start_matches('/')),
                    digest.trim().to_lowercase(),
                );
            }
        }
    }
    let mut files: Vec<OwnedFile> = Vec::new();
    if let Some(bytes) = find("list") {
        for line in String::from_utf8_lossy(bytes).lines() {
            let path = line.trim();
            if path.is_empty() || path == "/." {
                continue;
            }
            files.push(OwnedFile {
                path: path.to_string(),
                recorded: md5.remove(path).map(|value| FileDigest {
                    algorithm: "md5".into(),
                    value,
                }),
            });
        }
    }
    // Distroless: no .list, only md5sums; or md5sums naming files the list lacks.
    files.extend(md5.into_iter().map(|(path, value)| OwnedFile {
        path,
        recorded: Some(FileDigest {
            algorithm: "md5".into(),
            value,
        }),
    }));
    files
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const STATUS_TEXT: &str = "\
Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Depends: libgcc-s1
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Description: GNU C Library
 multi-line description

Package: oldpkg
Status: deinstall ok config-files
Version: 1.0

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b2
Pre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6)
";

    fn contents() -> Contents {
        let mut c = Contents::default();
        c.insert(STATUS, STATUS_TEXT.as_bytes().to_vec());
        c.insert(
            "/usr/lib/os-release",
            b"ID=debian\nVERSION_ID=\"12\"\n".to_vec(),
        );
        c.insert(
            format!("{INFO}/libc6:amd64.list"),
            b"/.\n/lib\n/lib/x86_64-linux-gnu/libc.so.6\n".to_vec(),
        );
        c.insert(
            format!("{INFO}/libc6:amd64.md5sums"),
            b"0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n".to_vec(),
        );
        c.insert(
            format!("{STATUS_D}/tzdata"),
            b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n".to_vec(),
        );
        c.insert(
            format!("{STATUS_D}/tzdata.md5sums"),
            b"ffffffffffffffffffffffffffffffff  usr/share/zoneinfo/UTC\n".to_vec(),
        );
        c
    }

    #[test]
    fn source_version_kept_when_it_differs() {
        let mut c = Contents::default();
        c.insert(
            "/var/lib/dpkg/status",
            b"Package: libgcc-s1\nStatus: install ok installed\nVersion: 12.2.0-14\nSource: gcc-12 (12.2.0-14)\n\nPackage: libstdc++6\nStatus: install ok installed\nVersion: 12.2.0-14+b1\nSource: gcc-12 (12.2.0-14)\n".to_vec(),
        );
        let (packages, _) = run(&c);
        assert_eq!(packages[0].source_package.as_deref(), Some("gcc-12"));
        assert_eq!(packages[0].source_version, None);
        assert_eq!(packages[1].source_version.as_deref(), Some("12.2.0-14"));
    }

    #[test]
    fn installed_packages_with_source_arch_and_files() {
        let (packages, warnings) = run(&contents());
        assert!(warnings.is_empty(), "{warnings:?}");
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["libc6", "bash", "tzdata"]);
        let libc = &packages[0];
        assert_eq!(
            libc.purl,
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"
        );
        assert_eq!(libc.source_package.as_deref(), Some("glibc"));
        assert_eq!(libc.files.len(), 2);
        assert_eq!(libc.files[1].recorded.as_ref().unwrap().algorithm, "md5");
        let bash = &packages[1];
        assert_eq!(bash.version, "5.2.15-2+b2");
        assert_eq!(bash.depends, ["libc6 (>= 2.36)", "libtinfo6 (>= 6)"]);
        // Distroless: status.d without Status, files from its md5sums.
        let tz = &packages[2];
        assert_eq!(tz.found_at, "/var/lib/dpkg/status.d/tzdata");
        assert_eq!(tz.files[0].path, "/usr/share/zoneinfo/UTC");
    }

    #[test]
    fn wants_only_the_dpkg_database() {
        assert!(wants(STATUS));
        assert!(wants("/var/lib/dpkg/status.d/tzdata"));
        assert!(wants("/var/lib/dpkg/status.d/tzdata.md5sums"));
        assert!(wants("/var/lib/dpkg/info/bash.list"));
        assert!(!wants("/var/lib/dpkg/info/bash.postinst"));
        assert!(!wants("/usr/bin/bash"));
    }
}
