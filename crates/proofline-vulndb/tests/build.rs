//! `build` and `Database::open` over the real advisories in fixtures/vulndb, OSV zips built from
//! them, and hostile inputs (zip bombs, traversal names, malformed and non-OSV files).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use proofline_vulndb::{
    Advisory, Database, DbError, Limits, OsvEcosystem, build, build_with_limits,
};
use support::*;
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap()
}

/// Parses every fixture file directly: the newest record per id.
fn reference() -> BTreeMap<String, Advisory> {
    let mut out: BTreeMap<String, Advisory> = BTreeMap::new();
    for file in advisory_files(&fixtures()) {
        if let Some(a) = parse(&file) {
            let a = a.trimmed();
            match out.get(&a.id) {
                Some(kept) if !a.newer_than(kept) => {}
                _ => {
                    out.insert(a.id.clone(), a);
                }
            }
        }
    }
    out
}

/// Asserts that every package of every reference advisory looks up exactly the reference
/// advisories naming it.
fn assert_lookups_match(db: &Database, reference: &BTreeMap<String, Advisory>) {
    let mut by_key: BTreeMap<(OsvEcosystem, String), BTreeSet<String>> = BTreeMap::new();
    for a in reference.values() {
        for p in a.affected.iter().filter_map(|x| x.package.as_ref()) {
            let (eco, _) = OsvEcosystem::parse(&p.ecosystem);
            let name = eco.normalise_name(&p.name);
            by_key.entry((eco, name)).or_default().insert(a.id.clone());
        }
    }
    assert!(
        by_key.len() > 1000,
        "the fixtures name {} packages",
        by_key.len()
    );
    for ((eco, name), ids) in &by_key {
        let found = db.advisories_for(eco, name).unwrap();
        let found_ids: BTreeSet<String> = found.iter().map(|a| a.id.clone()).collect();
        assert_eq!(&found_ids, ids, "{eco} {name}");
        for a in found {
            assert_eq!(&a, &reference[&a.id], "{}", a.id);
        }
    }
    assert_eq!(db.package_count(), by_key.len() as u64);
}

#[test]
fn round_trip_of_the_fixture_database_equals_parsing_the_files() {
    let reference = reference();
    assert!(reference.len() > 1900, "{} advisories", reference.len());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("osv.db");
    let summary = build(&[fixtures()], &out, now()).unwrap();
    assert_eq!(summary.identity.advisories, reference.len() as u64);
    assert_eq!(summary.identity.built, "2026-09-21T14:13:20Z");
    assert_eq!(summary.identity.sources.len(), 1);
    assert_eq!(summary.identity.sources[0].sha256.len(), 64);
    assert_eq!(summary.duplicates, 0);
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    let db = Database::open(&out).unwrap();
    assert_eq!(db.identity(), &summary.identity);
    assert_eq!(db.verify().unwrap(), reference.len() as u64);
    assert_lookups_match(&db, &reference);

    // Names as an SBOM spells them meet the advisory's.
    let flask = db.advisories_for(&OsvEcosystem::PyPI, "Flask").unwrap();
    assert!(flask.iter().any(|a| a.id == "PYSEC-2018-66"));
    let charset = db
        .advisories_for(&OsvEcosystem::PyPI, "Charset_Normalizer")
        .unwrap();
    assert_eq!(
        charset,
        db.advisories_for(&OsvEcosystem::PyPI, "charset-normalizer")
            .unwrap()
    );
    assert!(
        db.advisories_for(&OsvEcosystem::Npm, "flask")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_plain_directory_opens_with_the_same_answers() {
    let reference = reference();
    let db = Database::open(&fixtures()).unwrap();
    assert_eq!(db.identity().advisories, reference.len() as u64);
    assert_lookups_match(&db, &reference);
}

#[test]
fn directory_digest_follows_content_and_names() {
    let a = tempfile::tempdir().unwrap();
    let write = |dir: &std::path::Path, name: &str, modified: &str| {
        std::fs::write(
            dir.join(name),
            serde_json::to_vec(&record("X-1", modified, "npm", "a")).unwrap(),
        )
        .unwrap();
    };
    write(a.path(), "X-1.json", "2024-01-01T00:00:00Z");
    let out = a.path().join("db");
    let first = build(&[a.path().join("X-1.json")], &out, now()).unwrap();
    let dir_digest = |dir: &std::path::Path| {
        build(&[dir.to_path_buf()], &out, now())
            .unwrap()
            .identity
            .sources[0]
            .sha256
            .clone()
    };
    let sub = tempfile::tempdir().unwrap();
    write(sub.path(), "X-1.json", "2024-01-01T00:00:00Z");
    let d1 = dir_digest(sub.path());
    write(sub.path(), "X-1.json", "2024-02-01T00:00:00Z");
    let d2 = dir_digest(sub.path());
    std::fs::rename(sub.path().join("X-1.json"), sub.path().join("Y.json")).unwrap();
    let d3 = dir_digest(sub.path());
    assert!(d1 != d2 && d2 != d3 && d1 != d3);
    // A single file's digest is its SHA-256.
    assert_eq!(first.identity.sources[0].advisories, 1);
}

#[test]
fn an_osv_all_zip_builds_the_same_records_as_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let rustsec = fixtures().join("rustsec-osv");
    let zip_path = dir.path().join("all.zip");
    let bytes = all_zip_of(&rustsec);
    std::fs::write(&zip_path, &bytes).unwrap();
    let from_zip = dir.path().join("zip.db");
    let from_dir = dir.path().join("dir.db");
    let z = build(std::slice::from_ref(&zip_path), &from_zip, now()).unwrap();
    let d = build(&[rustsec], &from_dir, now()).unwrap();
    assert_eq!(z.identity.advisories, 1206);
    assert_eq!(z.identity.advisories, d.identity.advisories);
    use sha2::Digest;
    assert_eq!(
        z.identity.sources[0].sha256,
        hex::encode(sha2::Sha256::digest(&bytes))
    );
    let (zdb, ddb) = (
        Database::open(&from_zip).unwrap(),
        Database::open(&from_dir).unwrap(),
    );
    let packages: Vec<_> = ddb.packages().collect();
    assert_eq!(packages, zdb.packages().collect::<Vec<_>>());
    for (eco, name) in packages {
        let eco = OsvEcosystem::parse(&eco).0;
        assert_eq!(
            zdb.advisories_for(&eco, &name).unwrap(),
            ddb.advisories_for(&eco, &name).unwrap()
        );
    }
    // The zip itself opens as a database too.
    let direct = Database::open(&zip_path).unwrap();
    assert_eq!(direct.identity().advisories, 1206);
}

#[test]
fn duplicates_across_sources_keep_the_newest_modified() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.json");
    std::fs::write(
        &old,
        serde_json::to_vec(&record("DUP-1", "2024-05-01T00:00:00Z", "npm", "old-name")).unwrap(),
    )
    .unwrap();
    let newer =
        serde_json::to_vec(&record("DUP-1", "2024-06-01T00:00:00Z", "npm", "new-name")).unwrap();
    let zip_path = dir.path().join("all.zip");
    std::fs::write(&zip_path, zip_of(&[("DUP-1.json".into(), newer)])).unwrap();
    let out = dir.path().join("db");
    for sources in [
        vec![old.clone(), zip_path.clone()],
        vec![zip_path.clone(), old.clone()],
    ] {
        let summary = build(&sources, &out, now()).unwrap();
        assert_eq!(summary.duplicates, 1);
        assert_eq!(summary.identity.advisories, 1);
        assert_eq!(
            summary
                .identity
                .sources
                .iter()
                .map(|s| s.advisories)
                .sum::<u64>(),
            2
        );
        let db = Database::open(&out).unwrap();
        assert_eq!(
            db.advisories_for(&OsvEcosystem::Npm, "new-name")
                .unwrap()
                .len(),
            1
        );
        assert!(
            db.advisories_for(&OsvEcosystem::Npm, "old-name")
                .unwrap()
                .is_empty()
        );
    }
}

#[test]
fn withdrawn_records_are_kept_and_marked() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = record("W-1", "2024-05-01T00:00:00Z", "crates.io", "gone");
    r["withdrawn"] = "2024-05-02T00:00:00Z".into();
    std::fs::write(dir.path().join("W-1.json"), serde_json::to_vec(&r).unwrap()).unwrap();
    let out = dir.path().join("db");
    let summary = build(&[dir.path().to_path_buf()], &out, now()).unwrap();
    assert_eq!(summary.withdrawn, 1);
    let found = Database::open(&out)
        .unwrap()
        .advisories_for(&OsvEcosystem::CratesIo, "gone")
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].is_withdrawn());
}

#[test]
fn non_osv_files_are_skipped_and_counted_but_malformed_osv_fails_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(
        src.join("package.json"),
        br#"{"name":"x","version":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(src.join("README.md"), b"# not read").unwrap();
    std::fs::write(src.join("config.yaml"), b"title: nothing\n").unwrap();
    std::fs::write(
        src.join("ok.json"),
        serde_json::to_vec(&record("OK-1", "2024-01-01T00:00:00Z", "npm", "a")).unwrap(),
    )
    .unwrap();
    let out = dir.path().join("db");
    let summary = build(std::slice::from_ref(&src), &out, now()).unwrap();
    assert_eq!(summary.identity.advisories, 1);
    assert_eq!(summary.skipped.len(), 2, "{:?}", summary.skipped);
    assert_eq!(summary.ignored, 1);

    let mut bad = record("BAD-1", "2024-01-01T00:00:00Z", "npm", "a");
    bad["affected"][0]["ranges"][0]["events"][1] = serde_json::json!({"fixed": 5});
    std::fs::write(src.join("bad.json"), serde_json::to_vec(&bad).unwrap()).unwrap();
    let err = build(std::slice::from_ref(&src), &out, now())
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.json"), "{err}");
    assert!(err.contains("affected[0].ranges[0].events[1]"), "{err}");
    // The earlier index is untouched by a failed build.
    assert_eq!(Database::open(&out).unwrap().identity().advisories, 1);
}

#[test]
fn a_single_file_that_is_not_osv_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("package.json");
    std::fs::write(&f, br#"{"name":"x"}"#).unwrap();
    let err = build(&[f], &dir.path().join("db"), now()).unwrap_err();
    assert!(matches!(err, DbError::NotOsv { .. }), "{err}");
}

#[test]
fn zip_bomb_entry_is_stopped_at_the_per_entry_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut big =
        b"{\"id\":\"BOMB-1\",\"modified\":\"2024-01-01T00:00:00Z\",\"details\":\"".to_vec();
    big.resize(17 * 1024 * 1024, b'A');
    big.extend_from_slice(b"\"}");
    let zip = zip_of(&[("BOMB-1.json".into(), big)]);
    assert!(zip.len() < 200 * 1024, "compressed to {} bytes", zip.len());
    let path = dir.path().join("bomb.zip");
    std::fs::write(&path, zip).unwrap();
    let err = build(&[path], &dir.path().join("db"), now()).unwrap_err();
    assert!(matches!(err, DbError::ZipLimit { .. }), "{err}");
    assert!(err.to_string().contains("BOMB-1.json"), "{err}");
    assert!(!dir.path().join("db").exists());
}

#[test]
fn zip_total_size_and_entry_count_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let entries: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| {
            let id = format!("T-{i}");
            let mut r = record(&id, "2024-01-01T00:00:00Z", "npm", "a");
            r["details"] = "x".repeat(10_000).into();
            (format!("{id}.json"), serde_json::to_vec(&r).unwrap())
        })
        .collect();
    let path = dir.path().join("all.zip");
    std::fs::write(&path, zip_of(&entries)).unwrap();
    let out = dir.path().join("db");
    let total = Limits {
        max_total_bytes: 100_000,
        ..Limits::default()
    };
    let err = build_with_limits(std::slice::from_ref(&path), &out, now(), &total).unwrap_err();
    assert!(matches!(err, DbError::ZipLimit { .. }), "{err}");
    let count = Limits {
        max_entries: 19,
        ..Limits::default()
    };
    let err = build_with_limits(std::slice::from_ref(&path), &out, now(), &count).unwrap_err();
    assert!(err.to_string().contains("20 entries"), "{err}");
    // Within the limits the same archive builds.
    assert_eq!(build(&[path], &out, now()).unwrap().identity.advisories, 20);
}

#[test]
fn traversal_entry_names_are_only_names() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("a/b");
    std::fs::create_dir_all(&inner).unwrap();
    let names = [
        "../../escape.json",
        "/tmp/absolute-proofline-test.json",
        "..\\win.json",
    ];
    let entries: Vec<(String, Vec<u8>)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let r = record(&format!("TR-{i}"), "2024-01-01T00:00:00Z", "npm", "t");
            (n.to_string(), serde_json::to_vec(&r).unwrap())
        })
        .collect();
    let path = inner.join("all.zip");
    std::fs::write(&path, zip_of(&entries)).unwrap();
    let out = inner.join("db");
    let summary = build(std::slice::from_ref(&path), &out, now()).unwrap();
    assert_eq!(summary.identity.advisories, 3);
    let mut left: Vec<PathBuf> = Vec::new();
    for e in walk(dir.path()) {
        left.push(e);
    }
    left.sort();
    assert_eq!(left, vec![inner.join("all.zip"), inner.join("db")]);
    assert!(!std::path::Path::new("/tmp/absolute-proofline-test.json").exists());
    assert_eq!(
        Database::open(&out)
            .unwrap()
            .advisories_for(&OsvEcosystem::Npm, "t")
            .unwrap()
            .len(),
        3
    );
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_truncated_zip_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = all_zip_of(&fixtures().join("ghsa-npm"));
    let path = dir.path().join("cut.zip");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = build(std::slice::from_ref(&path), &dir.path().join("db"), now()).unwrap_err();
    assert!(matches!(err, DbError::Zip { .. }), "{err}");
    assert!(err.to_string().contains("cut.zip"), "{err}");
}

#[test]
fn symbolic_links_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::os::unix::fs::symlink(&src, src.join("loop")).unwrap();
    let outside = dir.path().join("outside.json");
    std::fs::write(
        &outside,
        serde_json::to_vec(&record("OUT-1", "2024-01-01T00:00:00Z", "npm", "a")).unwrap(),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, src.join("link.json")).unwrap();
    std::fs::write(
        src.join("in.json"),
        serde_json::to_vec(&record("IN-1", "2024-01-01T00:00:00Z", "npm", "a")).unwrap(),
    )
    .unwrap();
    let summary = build(&[src], &dir.path().join("db"), now()).unwrap();
    assert_eq!(summary.identity.advisories, 1);
    assert_eq!(summary.ignored, 2);
}
