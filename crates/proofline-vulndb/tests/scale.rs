//! The index at scale: 20,000 advisories (the benchmark, `cargo xtask bench-scan`, times
//! 200,000), every lookup exact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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

/// Timings belong to `cargo xtask bench-scan` (200,000 advisories); here, at 20,000, what the
/// index must get right at scale: every lookup answers exactly its package's records, misses
/// answer nothing, and every record verifies.
#[test]
fn twenty_thousand_advisories_answer_every_lookup_exactly() {
    const N: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.db");
    let summary = build_from_advisories(
        (0..N).map(synthetic),
        Vec::new(),
        &out,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert_eq!(summary.identity.advisories, N as u64);
    // package-{j} is named by advisories 2j and 2j+1, always in two different ecosystems.
    assert_eq!(summary.packages, N as u64);
    let db = Database::open(&out).unwrap();
    for k in 0..1_000usize {
        let i = (k * 199) % N;
        let (eco, _) = OsvEcosystem::parse(ECOSYSTEMS[i % ECOSYSTEMS.len()]);
        let name = format!("package-{}", i / 2);
        let ids: Vec<String> = db
            .advisories_for(&eco, &name)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, [format!("SYN-{i:07}")], "{name}");
        assert!(
            db.advisories_for(&eco, &format!("absent-{k}"))
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(db.verify().unwrap(), N as u64);
}
