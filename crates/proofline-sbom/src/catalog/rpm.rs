//! RPM packages from the rpm database in its SQLite format (rpm >= 4.16: Fedora 33+, RHEL 9,
//! Amazon Linux 2023, openSUSE): each row of `Packages` is a header blob with the package's
//! identity, licence, requires/provides and files with their digests. The database is opened
//! from memory (never written to disk). Berkeley DB and ndb databases are reported as not read.

mod header;

use std::io::Read as _;

use rusqlite::{Connection, MAIN_DB};

use super::{Cataloger, Contents, Extractor, is_os_release, os_release};
use crate::model::{Ecosystem, FileDigest, OwnedFile, Package, is_spdx_expression, purl_escape};

/// The SQLite rpmdb: classic path, then the one of newer Fedora/openSUSE.
const SQLITE_DATABASES: [&str; 2] = [
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
];

/// rpm databases in formats this cataloger does not read: path suffix and format name.
const UNSUPPORTED: [(&str, &str); 2] = [
    ("/Packages", "Berkeley DB (rpm < 4.16)"),
    ("/Packages.db", "ndb (openSUSE/SLE)"),
];
const RPM_DIRS: [&str; 2] = ["/var/lib/rpm", "/usr/lib/sysimage/rpm"];

/// At most this many unreadable headers are reported one by one per database.
const MAX_HEADER_WARNINGS: usize = 5;

const NAME: i32 = 1000;
const VERSION: i32 = 1001;
const RELEASE: i32 = 1002;
const EPOCH: i32 = 1003;
const LICENSE: i32 = 1014;
const VENDOR: i32 = 1011;
const ARCH: i32 = 1022;
const FILEMODES: i32 = 1030;
const FILEDIGESTS: i32 = 1035;
const FILEFLAGS: i32 = 1037;
const SOURCERPM: i32 = 1044;
const PROVIDENAME: i32 = 1047;
const REQUIRENAME: i32 = 1049;
const DIRINDEXES: i32 = 1116;
const BASENAMES: i32 = 1117;
const DIRNAMES: i32 = 1118;
const FILEDIGESTALGO: i32 = 5011;

/// `RPMFILE_GHOST`: listed but not shipped (created at run time): no digest to check.
const GHOST: u32 = 1 << 6;
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;

/// The rpm cataloger.
pub const CATALOGER: Cataloger = Cataloger {
    name: "rpm",
    wants,
    run,
    extract: Some(Extractor {
        sniff,
        reduce: keep_nothing,
    }),
};

fn wants(path: &str) -> bool {
    SQLITE_DATABASES.contains(&path) || is_os_release(path)
}

/// A database we cannot read, or the SQLite write-ahead log: only its existence and size
/// matter, so the walk keeps none of its bytes (they may be tens of MiB).
fn unsupported_format(path: &str) -> Option<&'static str> {
    let (dir, _) = path.rsplit_once('/')?;
    if !RPM_DIRS.contains(&dir) {
        return None;
    }
    UNSUPPORTED
        .iter()
        .find(|(suffix, _)| path.ends_with(suffix))
        .map(|(_, format)| *format)
}

fn is_wal(path: &str) -> bool {
    SQLITE_DATABASES
        .iter()
        .any(|db| path.strip_prefix(db) == Some("-wal"))
}

fn sniff(path: &str, _head: &[u8]) -> bool {
    unsupported_format(path).is_some() || is_wal(path)
}

/// Keeps the file's size (8 bytes, big-endian) and nothing else.
fn keep_nothing(_path: &str, bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    Ok(Some((bytes.len() as u64).to_be_bytes().to_vec()))
}

fn run(contents: &Contents) -> (Vec<Package>, Vec<String>) {
    let distro = os_release(contents);
    let mut packages = Vec::new();
    let mut warnings = Vec::new();
    for db in SQLITE_DATABASES {
        if let Some(bytes) = contents.get(db) {
            match read_sqlite(bytes) {
                Ok(blobs) => {
                    let mut bad = 0usize;
                    for (hnum, blob) in blobs {
                        match header::parse(&blob) {
                            Ok(h) => packages.extend(package(&h, db, distro.as_ref())),
                            Err(e) => {
                                bad += 1;
                                if bad <= MAX_HEADER_WARNINGS {
                                    warnings
                                        .push(format!("rpm-bad-header: {db} package {hnum}: {e}"));
                                }
                            }
                        }
                    }
                    if bad > MAX_HEADER_WARNINGS {
                        warnings.push(format!(
                            "rpm-bad-header: {db} has {bad} unreadable package headers in all"
                        ));
                    }
                }
                Err(e) => warnings.push(format!("rpm-unreadable-database: {db}: {e}")),
            }
        }
    }
    for (path, kept) in contents.extracted(CATALOGER.name) {
        let size = kept
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_be_bytes);
        if let Some(format) = unsupported_format(path) {
            warnings.push(format!(
                "rpm-unsupported-database: {path} is an rpm database in the {format} format, \
                 which is not read: its packages are missing from the SBOM"
            ));
        } else if size > 0 {
            warnings.push(format!(
                "rpm-unread-wal: {path} holds {size} bytes of transactions not yet checkpointed \
                 into the database: packages they installed or removed are not reflected"
            ));
        }
    }
    (packages, warnings)
}

/// Every `(hnum, blob)` of the `Packages` table, read from an in-memory copy of the database.
fn read_sqlite(bytes: &[u8]) -> Result<Vec<(i64, Vec<u8>)>, String> {
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    let mut head = bytes
        .get(..100)
        .filter(|h| h.starts_with(MAGIC))
        .ok_or("not an SQLite database (no `SQLite format 3` header)")?
        .to_vec();
    // rpm keeps its database in WAL mode, which an in-memory database cannot open: read it
    // as a rollback-journal database (header bytes 18-19: file format versions 2 → 1).
    head[18] = 1;
    head[19] = 1;
    let reader = head.as_slice().chain(bytes.get(100..).unwrap_or_default());
    let mut db = Connection::open_in_memory().map_err(|e| e.to_string())?;
    db.deserialize_read_exact(MAIN_DB, reader, bytes.len(), true)
        .map_err(|e| format!("cannot load it: {e}"))?;
    let mut statement = db
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(|e| format!("no readable Packages table: {e}"))?;
    let rows = statement
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .map_err(|e| format!("cannot query Packages: {e}"))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot read Packages: {e}"))
}

/// The source package's name from `SOURCERPM` (`name-version-release.src.rpm`).
fn source_name(srpm: &str) -> Option<&str> {
    let stem = srpm
        .strip_suffix(".src.rpm")
        .or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
    let mut parts = stem.rsplitn(3, '-');
    let (_release, _version) = (parts.next()?, parts.next()?);
    parts.next().filter(|n| !n.is_empty())
}

/// The digest algorithm names of `FILEDIGESTALGO` (rpm's `PGPHASHALGO_*`; MD5 when absent).
fn algorithm(code: Option<u32>) -> String {
    match code.unwrap_or(1) {
        1 => "md5".into(),
        2 => "sha1".into(),
        8 => "sha256".into(),
        9 => "sha384".into(),
        10 => "sha512".into(),
        11 => "sha224".into(),
        other => format!("rpm-digest-algo-{other}"),
    }
}

/// One package from its header; `None` for rpm's pseudo-packages (imported `gpg-pubkey`s).
fn package(h: &header::Header<'_>, db: &str, distro: Option<&(String, String)>) -> Option<Package> {
    let none_is_empty = |v: Option<String>| v.filter(|s| !s.is_empty() && s != "(none)");
    let name = none_is_empty(h.string(NAME))?;
    if name == "gpg-pubkey" {
        return None;
    }
    let version = h.string(VERSION).unwrap_or_default();
    let release = h.string(RELEASE).unwrap_or_default();
    let epoch = h.int32s(EPOCH).first().copied();
    let arch = none_is_empty(h.string(ARCH));
    let evr = if release.is_empty() {
        version.clone()
    } else {
        format!("{version}-{release}")
    };
    let source = none_is_empty(h.string(SOURCERPM));
    let source_package = source
        .as_deref()
        .and_then(source_name)
        .filter(|s| *s != name)
        .map(str::to_string);
    let mut qualifiers = Vec::new();
    if let Some(arch) = &arch {
        qualifiers.push(format!("arch={}", purl_escape(arch)));
    }
    if let Some(e) = epoch {
        qualifiers.push(format!("epoch={e}"));
    }
    if let Some((id, version_id)) = distro {
        qualifiers.push(format!(
            "distro={}-{}",
            purl_escape(id),
            purl_escape(version_id)
        ));
    }
    if let Some(src) = &source {
        qualifiers.push(format!("upstream={}", purl_escape(src)));
    }
    // The purl namespace is the distribution (`fedora`, `rhel`, `opensuse-leap`…); without
    // os-release none is known, and the purl has none.
    let namespace = distro.map_or(String::new(), |(id, _)| format!("{}/", purl_escape(id)));
    let purl = format!(
        "pkg:rpm/{namespace}{}@{}{}",
        purl_escape(&name),
        purl_escape(&evr),
        if qualifiers.is_empty() {
            String::new()
        } else {
            format!("?{}", qualifiers.join("&"))
        }
    );
    let version = match epoch {
        Some(e) => format!("{e}:{evr}"),
        None => evr,
    };
    let provides = h.strings(PROVIDENAME);
    // rpmlib(...) requirements name rpm features, not packages; a package's requirements it
    // provides itself are no edge.
    let mut depends: Vec<String> = h
        .strings(REQUIRENAME)
        .into_iter()
        .filter(|r| !r.starts_with("rpmlib(") && *r != name && !provides.contains(r))
        .collect();
    depends.dedup();
    let mut p = Package::new(Ecosystem::Rpm, name, version, purl, db, CATALOGER.name);
    p.license = none_is_empty(h.string(LICENSE)).filter(|l| is_spdx_expression(l));
    p.supplier = none_is_empty(h.string(VENDOR));
    p.arch = arch;
    p.source_package = source_package;
    p.depends = depends;
    p.provides = provides;
    p.files = files(h);
    Some(p)
}

/// The package's files: directory + basename, with the digest rpm recorded for regular files
/// (directories, symlinks and ghost files have none).
fn files(h: &header::Header<'_>) -> Vec<OwnedFile> {
    let basenames = h.strings(BASENAMES);
    let dirnames = h.strings(DIRNAMES);
    let dirindexes = h.int32s(DIRINDEXES);
    let digests = h.strings(FILEDIGESTS);
    let modes = h.int16s(FILEMODES);
    let flags = h.int32s(FILEFLAGS);
    let algorithm = algorithm(h.int32s(FILEDIGESTALGO).first().copied());
    basenames
        .iter()
        .enumerate()
        .filter_map(|(i, base)| {
            let dir = dirnames.get(usize::try_from(*dirindexes.get(i)?).ok()?)?;
            let path = format!("{dir}{base}");
            let ghost = flags.get(i).is_some_and(|f| f & GHOST != 0);
            let regular = modes.get(i).is_none_or(|m| m & S_IFMT == S_IFREG);
            let recorded = digests
                .get(i)
                .filter(|d| !d.is_empty() && !ghost && regular)
                .map(|d| FileDigest {
                    algorithm: algorithm.clone(),
                    value: d.to_ascii_lowercase(),
                });
            Some(OwnedFile { path, recorded })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn s(v: &str) -> (u32, Vec<u8>) {
        (1, format!("{v}\0").into_bytes())
    }

    fn a(v: &[&str]) -> (u32, Vec<u8>) {
        (
            v.len() as u32,
            v.iter()
                .flat_map(|s| format!("{s}\0").into_bytes())
                .collect(),
        )
    }

    fn header_blob() -> Vec<u8> {
        let entries: Vec<(i32, u32, (u32, Vec<u8>))> = vec![
            (NAME, 6, s("bash")),
            (VERSION, 6, s("5.2.26")),
            (RELEASE, 6, s("3.fc40")),
            (EPOCH, 4, (1, 1u32.to_be_bytes().to_vec())),
            (LICENSE, 6, s("GPL-3.0-or-later")),
            (VENDOR, 6, s("Fedora Project")),
            (ARCH, 6, s("x86_64")),
            (SOURCERPM, 6, s("bash-5.2.26-3.fc40.src.rpm")),
            (
                REQUIRENAME,
                8,
                a(&[
                    "libc.so.6()(64bit)",
                    "rpmlib(CompressedFileNames)",
                    "bash",
                    "filesystem",
                ]),
            ),
            (PROVIDENAME, 8, a(&["bash", "/bin/sh", "config(bash)"])),
            (BASENAMES, 8, a(&["bash", "bashrc", "run"])),
            (DIRNAMES, 8, a(&["/usr/bin/", "/etc/"])),
            (
                DIRINDEXES,
                4,
                (
                    3,
                    [0u32, 1, 1].iter().flat_map(|i| i.to_be_bytes()).collect(),
                ),
            ),
            (FILEDIGESTS, 8, a(&["AB12", "cd34", ""])),
            (
                FILEFLAGS,
                4,
                (
                    3,
                    [0u32, 1, GHOST]
                        .iter()
                        .flat_map(|i| i.to_be_bytes())
                        .collect(),
                ),
            ),
            (FILEDIGESTALGO, 4, (1, 8u32.to_be_bytes().to_vec())),
        ];
        let values: Vec<(i32, u32, u32, Vec<u8>)> = entries
            .into_iter()
            .map(|(tag, kind, (count, bytes))| (tag, kind, count, bytes))
            .collect();
        header::tests::blob(&values)
    }

    #[test]
    fn a_header_becomes_a_package() {
        let b = header_blob();
        let h = header::parse(&b).unwrap();
        let distro = ("fedora".to_string(), "40".to_string());
        let p = package(&h, SQLITE_DATABASES[0], Some(&distro)).unwrap();
        assert_eq!(
            p.purl,
            "pkg:rpm/fedora/bash@5.2.26-3.fc40?arch=x86_64&epoch=1&distro=fedora-40&upstream=bash-5.2.26-3.fc40.src.rpm"
        );
        assert_eq!(p.version, "1:5.2.26-3.fc40");
        assert_eq!(p.license.as_deref(), Some("GPL-3.0-or-later"));
        assert_eq!(p.supplier.as_deref(), Some("Fedora Project"));
        assert_eq!(p.source_package, None);
        assert_eq!(p.depends, ["libc.so.6()(64bit)", "filesystem"]);
        let files: Vec<(&str, Option<&str>)> = p
            .files
            .iter()
            .map(|f| {
                (
                    f.path.as_str(),
                    f.recorded.as_ref().map(|d| d.value.as_str()),
                )
            })
            .collect();
        assert_eq!(
            files,
            [
                ("/usr/bin/bash", Some("ab12")),
                ("/etc/bashrc", Some("cd34")),
                ("/etc/run", None),
            ]
        );
        assert_eq!(p.files[0].recorded.as_ref().unwrap().algorithm, "sha256");
        // No os-release: no namespace, no distro.
        let p = package(&h, SQLITE_DATABASES[0], None).unwrap();
        assert!(
            p.purl
                .starts_with("pkg:rpm/bash@5.2.26-3.fc40?arch=x86_64&epoch=1&upstream=")
        );
    }

    #[test]
    fn source_names() {
        assert_eq!(source_name("glibc-2.39-2.fc40.src.rpm"), Some("glibc"));
        assert_eq!(
            source_name("python-3.12-x-1.2-3.src.rpm"),
            Some("python-3.12-x")
        );
        assert_eq!(source_name("bad.src.rpm"), None);
        assert_eq!(source_name("(none)"), None);
    }

    #[test]
    fn garbage_databases_are_warnings() {
        for bytes in [b"".to_vec(), b"not sqlite at all".to_vec(), {
            let mut v = b"SQLite format 3\0".to_vec();
            v.extend(std::iter::repeat_n(0xa5, 4000));
            v
        }] {
            let mut c = Contents::default();
            c.insert(SQLITE_DATABASES[0], bytes);
            let (packages, warnings) = run(&c);
            assert!(packages.is_empty());
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert!(
                warnings[0].starts_with("rpm-unreadable-database: /var/lib/rpm/rpmdb.sqlite: "),
                "{warnings:?}"
            );
        }
    }

    /// An rpmdb (WAL mode, as rpm leaves it) whose `Packages` rows are `blobs`.
    fn sqlite(blobs: &[Vec<u8>]) -> Vec<u8> {
        let mut db = Connection::open_in_memory().unwrap();
        db.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
        )
        .unwrap();
        for b in blobs {
            db.execute("INSERT INTO Packages (blob) VALUES (?1)", [b])
                .unwrap();
        }
        let mut bytes = db.serialize(MAIN_DB).unwrap().to_vec();
        bytes[18] = 2;
        bytes[19] = 2;
        bytes
    }

    #[test]
    fn bad_headers_among_good_ones_are_warnings() {
        let good = header_blob();
        let mut huge_count = good.clone();
        huge_count[..4].copy_from_slice(&0x00ff_ffffu32.to_be_bytes());
        let truncated = good[..good.len() / 2].to_vec();
        let mut blobs = vec![good, huge_count, truncated];
        blobs.extend(std::iter::repeat_n(vec![0xff; 3], 6));
        let mut c = Contents::default();
        c.insert(SQLITE_DATABASES[1], sqlite(&blobs));
        let (packages, warnings) = run(&c);
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].name, "bash");
        assert_eq!(packages[0].found_at, SQLITE_DATABASES[1]);
        assert_eq!(
            warnings[..2],
            [
                "rpm-bad-header: /usr/lib/sysimage/rpm/rpmdb.sqlite package 2: header has \
                 16777215 index entries (rpm allows 1 to 65535)",
                "rpm-bad-header: /usr/lib/sysimage/rpm/rpmdb.sqlite package 3: header blob of \
                 274 bytes is shorter than its 548-byte preamble",
            ]
        );
        assert_eq!(warnings.len(), MAX_HEADER_WARNINGS + 1);
        assert_eq!(
            warnings[MAX_HEADER_WARNINGS],
            "rpm-bad-header: /usr/lib/sysimage/rpm/rpmdb.sqlite has 8 unreadable package headers in all"
        );
        // A database without the Packages table.
        let mut db = Connection::open_in_memory().unwrap();
        db.execute_batch("CREATE TABLE Other (x)").unwrap();
        c.insert(SQLITE_DATABASES[1], db.serialize(MAIN_DB).unwrap().to_vec());
        let (_, warnings) = run(&c);
        assert!(
            warnings[0].contains("no readable Packages table"),
            "{warnings:?}"
        );
    }

    #[test]
    fn unsupported_formats_are_named() {
        assert!(sniff("/var/lib/rpm/Packages", b""));
        assert!(sniff("/usr/lib/sysimage/rpm/Packages.db", b""));
        assert!(sniff("/var/lib/rpm/rpmdb.sqlite-wal", b""));
        assert!(!sniff("/home/u/Packages", b""));
        assert!(!sniff("/var/lib/rpm/rpmdb.sqlite", b""));
        let mut c = Contents::default();
        c.insert_extracted(
            "rpm",
            "/var/lib/rpm/Packages",
            keep_nothing("", &[0; 4096]).unwrap().unwrap(),
        );
        c.insert_extracted(
            "rpm",
            "/var/lib/rpm/rpmdb.sqlite-wal",
            keep_nothing("", &[]).unwrap().unwrap(),
        );
        let (_, warnings) = run(&c);
        assert_eq!(
            warnings,
            [
                "rpm-unsupported-database: /var/lib/rpm/Packages is an rpm database in the \
              Berkeley DB (rpm < 4.16) format, which is not read: its packages are missing from the SBOM"
            ]
        );
    }
}
