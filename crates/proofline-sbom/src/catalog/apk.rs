//! Alpine packages: apk-tools' installed database (`/lib/apk/db/installed`, or
//! `/usr/lib/apk/db/installed` with newer apk-tools), with origin, licences, dependencies and
//! provides (`so:`, `cmd:`), and each package's files with the checksums apk recorded (`Q1` SHA-1,
//! `Q2` SHA-256) for package verification.

use base64::Engine as _;

use super::{Cataloger, Contents, is_os_release, os_release};
use crate::model::{Ecosystem, FileDigest, OwnedFile, Package, is_spdx_expression, purl_escape};

/// Where apk-tools keeps its database: the classic path first, then the merged-/usr one.
const DATABASES: [&str; 2] = ["/lib/apk/db/installed", "/usr/lib/apk/db/installed"];

/// At most this many malformed lines are reported per database (the rest are counted).
const MAX_LINE_WARNINGS: usize = 5;

/// The apk cataloger.
pub const CATALOGER: Cataloger = Cataloger {
    name: "apk",
    wants,
    run,
    extract: None,
};

fn wants(path: &str) -> bool {
    DATABASES.contains(&path) || is_os_release(path)
}

/// One package record of the database, as read.
#[derive(Default)]
struct Record {
    /// 1-based line of the record's first field, for warnings.
    line: usize,
    name: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    license: Option<String>,
    origin: Option<String>,
    maintainer: Option<String>,
    depends: Vec<String>,
    provides: Vec<String>,
    /// The directory the following `R:` lines are in (`F:`), relative to `/`.
    dir: Option<String>,
    files: Vec<OwnedFile>,
}

fn run(contents: &Contents) -> (Vec<Package>, Vec<String>) {
    let distro = os_release(contents);
    let mut packages = Vec::new();
    let mut warnings = Vec::new();
    for db in DATABASES {
        if let Some(bytes) = contents.get(db) {
            parse_database(db, bytes, distro.as_ref(), &mut packages, &mut warnings);
        }
    }
    (packages, warnings)
}

/// Reads every record of one database into packages.
fn parse_database(
    db: &str,
    bytes: &[u8],
    distro: Option<&(String, String)>,
    packages: &mut Vec<Package>,
    warnings: &mut Vec<String>,
) {
    let text = String::from_utf8_lossy(bytes);
    let mut record = Record::default();
    let mut malformed = 0usize;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            finish(db, std::mem::take(&mut record), distro, packages, warnings);
            continue;
        }
        if record.line == 0 {
            record.line = number;
        }
        let Some((key, value)) = line.split_once(':').filter(|(k, _)| k.len() == 1) else {
            malformed += 1;
            if malformed <= MAX_LINE_WARNINGS {
                warnings.push(format!(
                    "apk-malformed-line: {db} line {number} is not `<letter>:<value>`"
                ));
            }
            continue;
        };
        field(db, &mut record, key, value, warnings);
    }
    finish(db, record, distro, packages, warnings);
    if malformed > MAX_LINE_WARNINGS {
        warnings.push(format!(
            "apk-malformed-line: {db} has {malformed} malformed lines in all"
        ));
    }
}

/// Applies one `key:value` line to the record being read.
fn field(db: &str, record: &mut Record, key: &str, value: &str, warnings: &mut Vec<String>) {
    let set = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    match key {
        "P" => record.name = set(value),
        "V" => record.version = set(value),
        "A" => record.arch = set(value),
        "L" => record.license = set(value),
        "o" => record.origin = set(value),
        "m" => record.maintainer = set(value),
        // `!name` is a conflict, not a dependency.
        "D" => record.depends.extend(
            value
                .split_whitespace()
                .filter(|d| !d.starts_with('!'))
                .map(str::to_string),
        ),
        "p" => record
            .provides
            .extend(value.split_whitespace().map(str::to_string)),
        "F" => record.dir = Some(value.trim().trim_matches('/').to_string()),
        "R" => {
            let name = value.trim().trim_start_matches('/');
            let path = match record.dir.as_deref() {
                Some(dir) if !dir.is_empty() => format!("/{dir}/{name}"),
                _ => format!("/{name}"),
            };
            record.files.push(OwnedFile {
                path,
                recorded: None,
            });
        }
        "Z" => {
            let Some(file) = record.files.last_mut() else {
                warnings.push(format!(
                    "apk-checksum-without-file: a Z: line of {db} (record at line {}) follows no R: line",
                    record.line
                ));
                return;
            };
            match checksum(value.trim()) {
                Some(digest) => file.recorded = Some(digest),
                None => warnings.push(format!(
                    "apk-bad-checksum: {db}: the checksum of {} is not Q1/Q2 base64 or hex MD5: {:?}",
                    file.path,
                    value.chars().take(80).collect::<String>()
                )),
            }
        }
        // Sizes, description, URL, build time, commit, install_if, replaces, modes (`a:`,
        // `M:`) and the package checksum identify or describe, but the model has no place for
        // them.
        _ => {}
    }
}

/// A file checksum as apk writes it: `Q1` + base64 SHA-1, `Q2` + base64 SHA-256, or (old
/// databases) plain hex MD5.
fn checksum(value: &str) -> Option<FileDigest> {
    let digest = |algorithm: &str, bytes: Vec<u8>| FileDigest {
        algorithm: algorithm.into(),
        value: hex::encode(bytes),
    };
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).ok();
    if let Some(b) = value.strip_prefix("Q1") {
        return b64(b).filter(|d| d.len() == 20).map(|d| digest("sha1", d));
    }
    if let Some(b) = value.strip_prefix("Q2") {
        return b64(b)
            .filter(|d| d.len() == 32)
            .map(|d| digest("sha256", d));
    }
    (value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())).then(|| FileDigest {
        algorithm: "md5".into(),
        value: value.to_ascii_lowercase(),
    })
}

/// apk's `L:` as an SPDX expression. Current Alpine writes expressions
/// (`MIT AND BSD-2-Clause AND GPL-2.0-or-later`); older packages write space-separated lists
/// (`MIT BSD-3-Clause`), which are read as `AND`: the package contains code under each of them,
/// so all apply (the conservative reading; `OR` would claim a choice nobody offered). Free text
/// that is no expression either way gives no licence.
pub fn license_expression(declared: &str) -> Option<String> {
    let words: Vec<&str> = declared.split_whitespace().collect();
    let has_operator =
        words.iter().any(|w| matches!(*w, "AND" | "OR" | "WITH")) || declared.contains(['(', ')']);
    let expression = if has_operator {
        words.join(" ")
    } else {
        words.join(" AND ")
    };
    is_spdx_expression(&expression).then_some(expression)
}

/// Turns a finished record into a package (or a warning when it lacks its identity).
fn finish(
    db: &str,
    record: Record,
    distro: Option<&(String, String)>,
    packages: &mut Vec<Package>,
    warnings: &mut Vec<String>,
) {
    if record.line == 0 {
        return;
    }
    let Some(name) = record.name else {
        warnings.push(format!(
            "apk-record-without-name: the record of {db} at line {} has no P: field",
            record.line
        ));
        return;
    };
    let Some(version) = record.version else {
        warnings.push(format!(
            "apk-package-without-version: {name} in {db} (line {}) has no V: field",
            record.line
        ));
        return;
    };
    let mut qualifiers = Vec::new();
    if let Some(arch) = &record.arch {
        qualifiers.push(format!("arch={}", purl_escape(arch)));
    }
    if let Some((id, version_id)) = distro {
        qualifiers.push(format!(
            "distro={}-{}",
            purl_escape(id),
            purl_escape(version_id)
        ));
    }
    let source_package = record.origin.filter(|o| o != &name);
    if let Some(origin) = &source_package {
        qualifiers.push(format!("upstream={}", purl_escape(origin)));
    }
    let namespace = distro.map_or("alpine", |(id, _)| id.as_str());
    let purl = format!(
        "pkg:apk/{}/{}@{}{}",
        purl_escape(namespace),
        purl_escape(&name),
        purl_escape(&version),
        if qualifiers.is_empty() {
            String::new()
        } else {
            format!("?{}", qualifiers.join("&"))
        }
    );
    let mut package = Package::new(Ecosystem::Apk, name, version, purl, db, CATALOGER.name);
    package.license = record.license.as_deref().and_then(license_expression);
    package.supplier = record.maintainer;
    package.arch = record.arch;
    package.source_package = source_package;
    package.depends = record.depends;
    package.provides = record.provides;
    package.files = record.files;
    packages.push(package);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DB: &str = "\
C:Q1IKHbsxlRheYEiOxSpa6D7WErOC0=
P:musl-utils
V:1.2.4-r1
A:x86_64
L:MIT BSD GPL2+
o:musl
m:Timo Teräs <timo.teras@iki.fi>
D:scanelf so:libc.musl-x86_64.so.1 !uclibc-utils
p:cmd:getconf=1.2.4-r1 cmd:ldd=1.2.4-r1
F:sbin
R:ldconfig
a:0:0:755
Z:Q1Kja2+POZKxEkUOZqwSjC6kmaED4=
F:usr/bin
R:getconf
Z:Q2n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=
R:ldd

P:scanelf
V:1.3.7-r1
L:GPL-2.0-only
o:pax-utils
R:top-level-file
Z:0123456789ABCDEF0123456789abcdef
";

    fn contents(db: &str) -> Contents {
        let mut c = Contents::default();
        c.insert(DATABASES[0], db.as_bytes().to_vec());
        c.insert(
            "/etc/os-release",
            b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.3\n".to_vec(),
        );
        c
    }

    #[test]
    fn records_become_packages_with_files_and_checksums() {
        let (packages, warnings) = run(&contents(DB));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(packages.len(), 2);
        let utils = &packages[0];
        assert_eq!(
            utils.purl,
            "pkg:apk/alpine/musl-utils@1.2.4-r1?arch=x86_64&distro=alpine-3.18.3&upstream=musl"
        );
        assert_eq!(utils.source_package.as_deref(), Some("musl"));
        assert_eq!(utils.license.as_deref(), Some("MIT AND BSD AND GPL2+"));
        assert_eq!(utils.depends, ["scanelf", "so:libc.musl-x86_64.so.1"]);
        assert_eq!(utils.provides, ["cmd:getconf=1.2.4-r1", "cmd:ldd=1.2.4-r1"]);
        let files: Vec<(&str, Option<(&str, &str)>)> = utils
            .files
            .iter()
            .map(|f| {
                (
                    f.path.as_str(),
                    f.recorded
                        .as_ref()
                        .map(|d| (d.algorithm.as_str(), d.value.as_str())),
                )
            })
            .collect();
        assert_eq!(
            files,
            [
                (
                    "/sbin/ldconfig",
                    Some(("sha1", "2a36b6f8f3992b112450e66ac128c2ea499a103e"))
                ),
                (
                    "/usr/bin/getconf",
                    Some((
                        "sha256",
                        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                    ))
                ),
                ("/usr/bin/ldd", None),
            ]
        );
        let scanelf = &packages[1];
        assert_eq!(
            scanelf.purl,
            "pkg:apk/alpine/scanelf@1.3.7-r1?distro=alpine-3.18.3&upstream=pax-utils"
        );
        assert_eq!(scanelf.files[0].path, "/top-level-file");
        assert_eq!(scanelf.files[0].recorded.as_ref().unwrap().algorithm, "md5");
    }

    #[test]
    fn licences_become_spdx_expressions() {
        assert_eq!(
            license_expression("MIT BSD-3-Clause").as_deref(),
            Some("MIT AND BSD-3-Clause")
        );
        assert_eq!(
            license_expression("GPL-2.0-or-later").as_deref(),
            Some("GPL-2.0-or-later")
        );
        assert_eq!(
            license_expression("(MIT OR Apache-2.0) AND Zlib").as_deref(),
            Some("(MIT OR Apache-2.0) AND Zlib")
        );
        assert_eq!(license_expression("custom:Public Domain"), None);
        assert_eq!(license_expression(""), None);
    }

    #[test]
    fn records_missing_fields_are_warnings_not_packages() {
        let db = "P:noversion\nA:x86_64\n\nV:1.0\nA:x86_64\n\n\nP:ok\nV:1\n";
        let (packages, warnings) = run(&contents(db));
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].name, "ok");
        assert_eq!(
            warnings,
            [
                "apk-package-without-version: noversion in /lib/apk/db/installed (line 1) has no V: field",
                "apk-record-without-name: the record of /lib/apk/db/installed at line 4 has no P: field",
            ]
        );
    }

    #[test]
    fn garbage_and_bad_checksums_are_warnings() {
        let mut db = String::from("P:x\nV:1\nZ:Q1AAAA\nR:f\nZ:Q1notbase64!!\nR:g\nZ:Q1AAAA\n");
        for _ in 0..10 {
            db.push_str("garbage without a key\n");
        }
        db.push_str("\u{0}\u{ff}\n");
        let (packages, warnings) = run(&contents(&db));
        assert_eq!(packages.len(), 1);
        assert!(packages[0].files.iter().all(|f| f.recorded.is_none()));
        assert!(warnings[0].starts_with("apk-checksum-without-file: "));
        assert!(warnings[1].starts_with("apk-bad-checksum: "));
        assert!(warnings[1].contains("/f"));
        assert!(warnings[2].contains("/g"));
        assert_eq!(
            warnings
                .iter()
                .filter(|w| w.starts_with("apk-malformed-line"))
                .count(),
            MAX_LINE_WARNINGS + 1
        );
        // Invalid UTF-8 and a database of nothing but garbage.
        let (packages, _) = run(&contents("\u{fffd}:::\n\n\n"));
        assert!(packages.is_empty());
    }

    #[test]
    fn the_newer_database_path_and_no_os_release() {
        let mut c = Contents::default();
        c.insert(DATABASES[1], b"P:zlib\nV:1.3-r0\nA:aarch64\n".to_vec());
        let (packages, _) = run(&c);
        assert_eq!(packages[0].purl, "pkg:apk/alpine/zlib@1.3-r0?arch=aarch64");
        assert_eq!(packages[0].found_at, DATABASES[1]);
        assert!(wants(DATABASES[1]) && wants("/etc/os-release"));
        assert!(!wants("/lib/apk/db/scripts.tar"));
    }
}
