//! Unit tests of the index format: round trip, corruption, newer formats.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn advisory(id: &str, modified: &str, ecosystem: &str, name: &str) -> Advisory {
    serde_json::from_value(serde_json::json!({
        "id": id, "modified": modified, "details": "dropped",
        "affected": [{"package": {"ecosystem": ecosystem, "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2"}]}]}]
    }))
    .unwrap()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
}

fn sample() -> Vec<Advisory> {
    vec![
        advisory("A-1", "2024-01-01T00:00:00Z", "PyPI", "Zope.Interface"),
        advisory("A-2", "2024-01-01T00:00:00Z", "Debian:12", "openssl"),
        advisory("A-3", "2024-01-01T00:00:00Z", "Debian:11", "openssl"),
        advisory("A-1", "2025-01-01T00:00:00Z", "PyPI", "zope-interface"),
        advisory("A-1", "2023-01-01T00:00:00Z", "PyPI", "old"),
    ]
}

fn built() -> (tempfile::TempDir, PathBuf, BuildSummary) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("db.plvdb");
    let summary = build_from_advisories(sample(), Vec::new(), &out, now()).unwrap();
    (dir, out, summary)
}

#[test]
fn duplicates_keep_the_newest_and_releases_share_a_key() {
    let (_dir, out, summary) = built();
    assert_eq!(summary.duplicates, 2);
    assert_eq!(summary.identity.advisories, 3);
    let db = Database::open(&out).unwrap();
    let found = db
        .advisories_for(&OsvEcosystem::PyPI, "zope_interface")
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].modified, "2025-01-01T00:00:00Z");
    assert!(found[0].details.is_none(), "details are trimmed");
    assert!(
        db.advisories_for(&OsvEcosystem::PyPI, "old")
            .unwrap()
            .is_empty()
    );
    let debian = db.advisories_for(&OsvEcosystem::Debian, "openssl").unwrap();
    let ecosystems: Vec<_> = debian
        .iter()
        .map(|a| a.affected[0].package.as_ref().unwrap().ecosystem.as_str())
        .collect();
    assert_eq!(ecosystems, ["Debian:12", "Debian:11"]);
    assert!(
        db.advisories_for(&OsvEcosystem::Ubuntu, "openssl")
            .unwrap()
            .is_empty()
    );
    assert_eq!(db.identity().built, "2023-11-14T22:13:20Z");
}

#[test]
fn same_input_same_bytes() {
    let (_d1, a, _) = built();
    let (_d2, b, _) = built();
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn every_truncation_is_an_error_naming_the_file_and_the_fix() {
    let (dir, out, _) = built();
    let bytes = std::fs::read(&out).unwrap();
    let cut = dir.path().join("cut.plvdb");
    for len in [
        0,
        7,
        8,
        PREFIX_LEN,
        PREFIX_LEN + 10,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let err = Database::open(&cut).unwrap_err().to_string();
        assert!(err.contains("cut.plvdb"), "{len}: {err}");
        assert!(
            err.contains("rebuild it with `proofline-scan db build`"),
            "{len}: {err}"
        );
    }
}

#[test]
fn every_flipped_byte_is_caught_at_open_or_at_lookup() {
    let (dir, out, _) = built();
    let bytes = std::fs::read(&out).unwrap();
    let flipped = dir.path().join("flipped.plvdb");
    for i in 0..bytes.len() {
        let mut copy = bytes.clone();
        copy[i] ^= 0x01;
        std::fs::write(&flipped, &copy).unwrap();
        let result = Database::open(&flipped).and_then(|db| {
            for (eco, name) in [
                (OsvEcosystem::PyPI, "zope-interface"),
                (OsvEcosystem::Debian, "openssl"),
            ] {
                db.advisories_for(&eco, name)?;
            }
            Ok(db)
        });
        let verified = Database::open(&flipped).and_then(|db| db.verify());
        assert!(verified.is_err(), "byte {i}: verify missed it");
        match result {
            Err(e) => assert!(e.to_string().contains("flipped.plvdb"), "byte {i}: {e}"),
            // A flip in the format word to a newer number is reported as such, never accepted.
            Ok(_) => panic!("byte {i} flipped and nothing noticed"),
        }
    }
}

#[test]
fn newer_format_names_the_version_needed() {
    let (dir, out, _) = built();
    let mut bytes = std::fs::read(&out).unwrap();
    bytes[8..12].copy_from_slice(&(FORMAT + 1).to_le_bytes());
    let newer = dir.path().join("newer.plvdb");
    std::fs::write(&newer, &bytes).unwrap();
    let err = Database::open(&newer).unwrap_err().to_string();
    assert!(err.contains(&format!("format {}", FORMAT + 1)), "{err}");
    assert!(
        err.contains(&format!("needs proofline {}", env!("CARGO_PKG_VERSION"))),
        "{err}"
    );
}

#[test]
fn not_an_index_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(
        &junk,
        b"hello, this is not an index at all, no sir, not one bit of it....",
    )
    .unwrap();
    let err = Database::open(&junk).unwrap_err().to_string();
    assert!(err.contains("magic"), "{err}");
}
