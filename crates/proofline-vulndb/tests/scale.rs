//! The index at the size the benchmark uses: 200,000 advisories, opened and asked about
//! 1,000 packages. Lookups must read only the records asked for, so opening and looking up stay
//! far below the time it takes to build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use proofline_vulndb::{Advisory, Database, OsvEcosystem, build_from_advisories};
use time::OffsetDateTime;

const ECOSYSTEMS: [&str; 4] = ["PyPI", "npm", "crates.io", "Debian:12"];

/// Advisory `i`: the shape and size of a real one (aliases, CVSS, a range, references).
fn synthetic(i: usize) -> Advisory {
    let ecosystem = ECOSYSTEMS[i % ECOSYSTEMS.len()];
    serde_json::from_value(serde_json::json!({
        "id": format!("SYN-{i:07}"),
        "modified": "2026-01-01T00:00:00Z",
        "published": "2025-01-01T00:00:00Z",
        "aliases": [format!("CVE-2025-{i:06}")],
        "summary": "Synthetic advisory of realistic size for the scale test",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{
            "package": {"ecosystem": ecosystem, "name": format!("package-{}", i / 2)},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": format!("1.{}.0", i % 50)}]}]
        }],
        "references": [
            {"type": "ADVISORY", "url": format!("https://example.invalid/advisories/SYN-{i:07}")},
            {"type": "WEB", "url": format!("https://example.invalid/issues/{i}")}
        ],
        "database_specific": {"severity": "HIGH"}
    }))
    .unwrap()
}

#[test]
fn two_hundred_thousand_advisories_open_and_answer_a_thousand_lookups_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.db");
    let built = Instant::now();
    let summary = build_from_advisories(
        (0..200_000).map(synthetic),
        Vec::new(),
        &out,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let build_time = built.elapsed();
    assert_eq!(summary.identity.advisories, 200_000);

    let started = Instant::now();
    let db = Database::open(&out).unwrap();
    let opened = started.elapsed();
    let mut found = 0;
    for k in 0..1_000usize {
        let i = k * 199;
        let (eco, _) = OsvEcosystem::parse(ECOSYSTEMS[i % ECOSYSTEMS.len()]);
        found += db
            .advisories_for(&eco, &format!("package-{}", i / 2))
            .unwrap()
            .len();
        // A miss costs a binary search.
        assert!(
            db.advisories_for(&eco, &format!("absent-{k}"))
                .unwrap()
                .is_empty()
        );
    }
    let total = started.elapsed();
    assert!(found >= 1_000, "{found}");
    // For comparison: checking every record (what a whole-file checksum at open would cost).
    let verifying = Instant::now();
    assert_eq!(db.verify().unwrap(), 200_000);
    let verified = verifying.elapsed();
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "200,000 advisories: {} bytes, build {build_time:?}, open {opened:?}, open + 1,000 lookups {total:?}, verify all {verified:?}",
            summary.bytes
        );
    }
    // Debug builds parse records several times slower than release; the release target is
    // 100 ms for open + match. Opening must not scale with the records (only the directory).
    assert!(opened < Duration::from_millis(500), "open took {opened:?}");
    assert!(
        total < build_time / 4,
        "open + lookups {total:?} vs build {build_time:?}"
    );
}
