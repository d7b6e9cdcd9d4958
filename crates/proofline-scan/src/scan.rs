//! The scan itself, as data in and data out: every package of an inventory asked of the
//! database once, advisories of one vulnerability merged by alias into one finding per
//! package, scored, waived (VEX, then the ignore list) and gated. No I/O here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proofline_sbom::Inventory;
use proofline_vulndb::OsvEcosystem;
use proofline_vulndb::matching::Verdict;
use proofline_vulndb::osv::Advisory;
use proofline_vulndb::version::Version;

use crate::args::{DistroOwned, FailOn};
use crate::ignore::{IgnoreDecision, IgnoreList};
use crate::query::{Skip, query_for};
use crate::report::{Finding, PackageRef, Severity, Waiver};
use crate::severity::{SeverityInput, decide};
use crate::vex::VexSet;

/// Where advisories come from (the index, or anything else in tests).
pub trait AdvisorySource {
    /// The advisories naming `name` (normalised) in `ecosystem`; an error names what could
    /// not be read.
    fn advisories_for(&self, ecosystem: &OsvEcosystem, name: &str)
    -> Result<Vec<Advisory>, String>;
}

/// What the scan is judged by.
#[derive(Debug)]
pub struct Judgement<'a> {
    pub fail_on: FailOn,
    pub distro_owned: DistroOwned,
    pub vex: &'a VexSet,
    pub ignore: &'a IgnoreList,
    /// The image's digest (`sha256:…`), for VEX statements about the image as a product.
    pub image_digest: Option<&'a str>,
}

/// Everything the scan learnt besides its findings.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct Notes {
    /// Packages asked about.
    pub packages_scanned: u64,
    /// Language packages a distribution package installed, judged through their owner.
    pub distro_owned_skipped: u64,
    /// Lock-file entries marked development-only (not installed in the image).
    pub dev_only_skipped: u64,
    /// Packages with no OSV ecosystem, per purl type.
    pub no_ecosystem: BTreeMap<String, u64>,
    /// Advisories that name a package but whose versions could not be ordered against it.
    pub indeterminate: Vec<String>,
    /// Ignore entries that expired: the findings they named block again.
    pub expired_waivers: Vec<String>,
    /// Ignore entries that named no finding.
    pub unused_ignores: Vec<String>,
    /// CVSS vectors that could not be read (never used for a severity).
    pub unreadable_vectors: Vec<String>,
}

/// One package identity, which may be found in several places.
struct Group<'a> {
    query: crate::query::Query<'a>,
    locations: BTreeSet<String>,
}

/// Runs the scan over `inventory`.
pub fn scan(
    inventory: &Inventory,
    db: &dyn AdvisorySource,
    judgement: &Judgement<'_>,
) -> Result<(Vec<Finding>, Notes), String> {
    let mut notes = Notes::default();
    // One question per (ecosystem, release, name, version); locations merged.
    let mut groups: BTreeMap<(String, String, String, String), Group<'_>> = BTreeMap::new();
    for package in &inventory.packages {
        match query_for(package, judgement.distro_owned) {
            Ok(query) => {
                let key = (
                    query.target.ecosystem().to_string(),
                    package
                        .purl
                        .split('?')
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    query.target.key_name().to_string(),
                    query.target.version().to_string(),
                );
                groups
                    .entry(key)
                    .or_insert_with(|| Group {
                        query,
                        locations: BTreeSet::new(),
                    })
                    .locations
                    .insert(package.found_at.clone());
            }
            Err(Skip::DistroOwned { .. }) => notes.distro_owned_skipped += 1,
            Err(Skip::DevOnly) => notes.dev_only_skipped += 1,
            Err(Skip::NoEcosystem { purl_type }) => {
                *notes.no_ecosystem.entry(purl_type).or_default() += 1;
            }
        }
    }
    notes.packages_scanned = groups.len() as u64;

    let mut cache: HashMap<(String, String), Vec<Advisory>> = HashMap::new();
    let mut findings = Vec::new();
    let mut used_ignores = Vec::new();
    for group in groups.values() {
        let target = &group.query.target;
        let key = (
            target.ecosystem().to_string(),
            target.key_name().to_string(),
        );
        if !cache.contains_key(&key) {
            let advisories = db.advisories_for(target.ecosystem(), target.key_name())?;
            cache.insert(key.clone(), advisories);
        }
        let advisories = cache.get(&key).map(Vec::as_slice).unwrap_or_default();
        let mut hits: Vec<(&Advisory, Vec<String>)> = Vec::new();
        for advisory in advisories {
            match target.evaluate(advisory) {
                Verdict::Affected { fixed } => hits.push((advisory, fixed)),
                Verdict::NotAffected => {}
                Verdict::Indeterminate(why) => notes.indeterminate.push(format!(
                    "{} {}@{}: {why}",
                    target.ecosystem(),
                    group.query.osv_name,
                    target.version()
                )),
            }
        }
        for merged in merge_by_alias(hits) {
            let finding = finding(group, &merged, judgement, &mut notes, &mut used_ignores);
            findings.push(finding);
        }
    }
    notes.unused_ignores = judgement
        .ignore
        .unused(&used_ignores)
        .map(|e| format!("{} ({})", e.id, e.reason))
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| b.blocking.cmp(&a.blocking))
            .then_with(|| a.package.name.cmp(&b.package.name))
            .then_with(|| a.package.version.cmp(&b.package.version))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok((findings, notes))
}

/// An advisory that affects a package, with the versions that fix it.
type Hit<'a> = (&'a Advisory, Vec<String>);

/// Advisories describing the same vulnerability (sharing an id or alias) as one group.
fn merge_by_alias(hits: Vec<Hit<'_>>) -> Vec<Vec<Hit<'_>>> {
    let mut groups: Vec<(BTreeSet<String>, Vec<Hit<'_>>)> = Vec::new();
    for (advisory, fixed) in hits {
        let ids: BTreeSet<String> = std::iter::once(&advisory.id)
            .chain(&advisory.aliases)
            .map(|s| s.trim().to_ascii_uppercase())
            .collect();
        let mut merged_ids = ids;
        let mut members = vec![(advisory, fixed)];
        // Fold in every existing group this one overlaps (transitively).
        let mut i = 0;
        while i < groups.len() {
            if groups[i].0.intersection(&merged_ids).next().is_some() {
                let (ids, more) = groups.swap_remove(i);
                merged_ids.extend(ids);
                members.extend(more);
                i = 0;
            } else {
                i += 1;
            }
        }
        groups.push((merged_ids, members));
    }
    groups.into_iter().map(|(_, members)| members).collect()
}

/// The id a merged finding goes by: the package's own database first (RUSTSEC, PYSEC, GO, a
/// distribution's), then GHSA, then CVE, then anything else; ties by name.
fn primary_rank(id: &str) -> u8 {
    let upper = id.to_ascii_uppercase();
    if upper.starts_with("CVE-") {
        2
    } else if upper.starts_with("GHSA-") {
        1
    } else {
        0
    }
}

fn finding(
    group: &Group<'_>,
    merged: &[(&Advisory, Vec<String>)],
    judgement: &Judgement<'_>,
    notes: &mut Notes,
    used_ignores: &mut Vec<String>,
) -> Finding {
    let target = &group.query.target;
    let package = group.query.package;
    let primary = merged
        .iter()
        .map(|(a, _)| *a)
        .min_by(|a, b| {
            primary_rank(&a.id)
                .cmp(&primary_rank(&b.id))
                .then_with(|| a.id.cmp(&b.id))
        })
        .unwrap_or(merged[0].0);
    let mut aliases: BTreeSet<String> = BTreeSet::new();
    for (a, _) in merged {
        aliases.insert(a.id.clone());
        aliases.extend(a.aliases.iter().map(|s| s.trim().to_string()));
    }
    aliases.remove(&primary.id);
    let aliases: Vec<String> = aliases.into_iter().collect();

    let mut input = SeverityInput::default();
    for (a, _) in merged {
        for s in a
            .severity
            .iter()
            .chain(a.affected.iter().flat_map(|e| &e.severity))
        {
            match s.kind {
                // Ubuntu's priority words (`high`, `medium`, …) are ratings, not vectors.
                proofline_vulndb::osv::SeverityType::Ubuntu => input.ratings.push(s.score.as_str()),
                _ => input.vectors.push((s.kind.as_str(), s.score.as_str())),
            }
        }
        if let Some(word) = a.database_severity() {
            input.ratings.push(word);
        }
    }
    let decided = decide(&input);
    notes.unreadable_vectors.extend(
        decided
            .unreadable
            .iter()
            .map(|u| format!("{}: {u}", primary.id)),
    );

    let mut fixed: Vec<String> = Vec::new();
    for (_, f) in merged {
        for v in f {
            if !fixed.contains(v) {
                fixed.push(v.clone());
            }
        }
    }
    let eco = target.ecosystem();
    fixed.sort_by(|a, b| {
        match (Version::parse(eco, a), Version::parse(eco, b)) {
            (Ok(a), Ok(b)) => a.compare(&b),
            _ => None,
        }
        .unwrap_or_else(|| a.cmp(b))
    });

    let package_ref = PackageRef {
        name: package.name.clone(),
        version: package.version.clone(),
        ecosystem: eco.to_string(),
        purl: package.purl.clone(),
    };
    let ids: Vec<&str> = std::iter::once(primary.id.as_str())
        .chain(aliases.iter().map(String::as_str))
        .collect();
    let mut waived_by: Option<Waiver> = judgement
        .vex
        .decide(&ids, &package.purl, judgement.image_digest)
        .filter(|d| d.status.waives())
        .map(|d| Waiver {
            kind: "vex".into(),
            source: d.source.display().to_string(),
            status: d.status.as_str().into(),
            justification: d.justification,
            reason: d.impact_statement,
            expires: None,
        });
    if waived_by.is_none() {
        match judgement.ignore.decide(&ids, &package_ref) {
            IgnoreDecision::Active(w) => {
                used_ignores.extend(ids.iter().map(|s| s.to_string()));
                waived_by = Some(w);
            }
            IgnoreDecision::Expired(w) => {
                used_ignores.extend(ids.iter().map(|s| s.to_string()));
                notes.expired_waivers.push(format!(
                    "{} in {}@{}: the ignore entry expired on {} and no longer waives it ({})",
                    primary.id,
                    package.name,
                    package.version,
                    w.expires.as_deref().unwrap_or("?"),
                    w.reason.as_deref().unwrap_or("")
                ));
            }
            IgnoreDecision::None => {}
        }
    }
    let mut references = vec![format!("https://osv.dev/vulnerability/{}", primary.id)];
    for r in primary
        .references
        .iter()
        .filter(|r| r.kind.eq_ignore_ascii_case("ADVISORY"))
        .chain(
            primary
                .references
                .iter()
                .filter(|r| !r.kind.eq_ignore_ascii_case("ADVISORY")),
        )
    {
        if references.len() >= 10 {
            break;
        }
        if !references.contains(&r.url) {
            references.push(r.url.clone());
        }
    }
    let blocking = waived_by.is_none() && judgement.fail_on.blocks(decided.severity);
    Finding {
        id: primary.id.clone(),
        aliases,
        summary: std::iter::once(primary)
            .chain(merged.iter().map(|(a, _)| *a))
            .find_map(|a| a.summary.clone().filter(|s| !s.trim().is_empty())),
        package: package_ref,
        severity: decided.severity,
        cvss: decided.cvss,
        fixed_versions: fixed,
        locations: group.locations.iter().cloned().collect(),
        references,
        waived_by,
        blocking,
    }
}

/// Counts by severity: (all, blocking, waived).
pub fn counts(findings: &[Finding]) -> BTreeMap<Severity, (u64, u64, u64)> {
    let mut out: BTreeMap<Severity, (u64, u64, u64)> = BTreeMap::new();
    for f in findings {
        let e = out.entry(f.severity).or_default();
        e.0 += 1;
        if f.blocking {
            e.1 += 1;
        }
        if f.waived_by.is_some() {
            e.2 += 1;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proofline_sbom::{Ecosystem, Package};
    use time::macros::date;

    use super::*;

    /// Advisories held in memory, keyed like the index.
    struct Memory(Vec<Advisory>);

    impl AdvisorySource for Memory {
        fn advisories_for(
            &self,
            ecosystem: &OsvEcosystem,
            name: &str,
        ) -> Result<Vec<Advisory>, String> {
            Ok(self
                .0
                .iter()
                .filter(|a| {
                    a.affected.iter().any(|e| {
                        e.package.as_ref().is_some_and(|p| {
                            &OsvEcosystem::parse(&p.ecosystem).0 == ecosystem
                                && ecosystem.normalise_name(&p.name) == name
                        })
                    })
                })
                .cloned()
                .collect())
        }
    }

    fn advisory(
        id: &str,
        aliases: &[&str],
        name: &str,
        fixed: &str,
        vector: Option<&str>,
    ) -> Advisory {
        let mut v = serde_json::json!({
            "id": id, "modified": "2025-01-01T00:00:00Z", "aliases": aliases,
            "summary": format!("{id} summary"),
            "affected": [{"package": {"ecosystem": "crates.io", "name": name},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
            "references": [{"type": "WEB", "url": format!("https://example.com/{id}")},
                {"type": "ADVISORY", "url": format!("https://example.com/advisory/{id}")}]
        });
        if let Some(vector) = vector {
            v["severity"] = serde_json::json!([{"type": "CVSS_V3", "score": vector}]);
        }
        serde_json::from_value(v).unwrap()
    }

    fn crate_pkg(name: &str, version: &str, at: &str) -> Package {
        Package::new(
            Ecosystem::Cargo,
            name,
            version,
            format!("pkg:cargo/{name}@{version}"),
            at,
            "cargo",
        )
    }

    fn run(db: &Memory, inventory: &Inventory, ignore: &IgnoreList) -> (Vec<Finding>, Notes) {
        let vex = VexSet::default();
        let judgement = Judgement {
            fail_on: FailOn::High,
            distro_owned: DistroOwned::Distro,
            vex: &vex,
            ignore,
            image_digest: None,
        };
        scan(inventory, db, &judgement).unwrap()
    }

    #[test]
    fn aliases_merge_into_one_finding_with_the_native_id_and_the_worst_score() {
        let db = Memory(vec![
            // RustSec's record and GitHub's for the same bug, and a third sharing only the CVE.
            advisory(
                "RUSTSEC-2022-0013",
                &["CVE-2022-24713"],
                "regex",
                "1.5.5",
                None,
            ),
            advisory(
                "GHSA-m5pq-gvj9-9vr8",
                &["CVE-2022-24713"],
                "regex",
                "1.5.5",
                Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"),
            ),
            advisory("CVE-2022-24713", &[], "regex", "1.5.6", None),
            // An unrelated bug in the same package stays separate.
            advisory("RUSTSEC-2099-0001", &[], "regex", "2.0.0", None),
        ]);
        let mut inventory = Inventory::default();
        inventory
            .packages
            .push(crate_pkg("regex", "1.5.4", "/app/Cargo.lock"));
        inventory
            .packages
            .push(crate_pkg("regex", "1.5.4", "/usr/local/bin/app"));
        let ignore = IgnoreList::new(&[], date!(2026 - 01 - 01), "p").unwrap();
        let (findings, notes) = run(&db, &inventory, &ignore);
        assert_eq!(notes.packages_scanned, 1, "one package found twice");
        assert_eq!(findings.len(), 2, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f.id, "RUSTSEC-2022-0013");
        assert_eq!(f.aliases, ["CVE-2022-24713", "GHSA-m5pq-gvj9-9vr8"]);
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.cvss.as_ref().unwrap().score, 7.5);
        assert_eq!(f.fixed_versions, ["1.5.5", "1.5.6"]);
        assert_eq!(f.locations, ["/app/Cargo.lock", "/usr/local/bin/app"]);
        assert!(f.blocking);
        assert_eq!(f.summary.as_deref(), Some("RUSTSEC-2022-0013 summary"));
        // The osv.dev page first, then the advisory references before the rest.
        assert_eq!(
            f.references[0],
            "https://osv.dev/vulnerability/RUSTSEC-2022-0013"
        );
        assert_eq!(
            f.references[1],
            "https://example.com/advisory/RUSTSEC-2022-0013"
        );
        assert_eq!(findings[1].id, "RUSTSEC-2099-0001");
        assert_eq!(findings[1].severity, Severity::Unknown);
        assert!(!findings[1].blocking, "UNKNOWN is below fail-on high");
    }

    #[test]
    fn ignores_waive_until_they_expire_and_unused_ones_are_listed() {
        let db = Memory(vec![advisory(
            "RUSTSEC-1",
            &["CVE-1"],
            "a",
            "2.0.0",
            Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        )]);
        let mut inventory = Inventory::default();
        inventory
            .packages
            .push(crate_pkg("a", "1.0.0", "/Cargo.lock"));
        let entry = |expires: &str, id: &str| crate::args::IgnoreEntry {
            id: id.into(),
            package: None,
            reason: "accepted".into(),
            expires: expires.into(),
        };
        let today = date!(2026 - 06 - 01);
        let ignore = IgnoreList::new(
            &[entry("2026-06-01", "cve-1"), entry("2027-01-01", "CVE-404")],
            today,
            "p",
        )
        .unwrap();
        let (findings, notes) = run(&db, &inventory, &ignore);
        assert!(!findings[0].blocking);
        assert_eq!(findings[0].waived_by.as_ref().unwrap().kind, "ignore");
        assert_eq!(notes.unused_ignores, ["CVE-404 (accepted)"]);
        let ignore = IgnoreList::new(&[entry("2026-05-31", "CVE-1")], today, "p").unwrap();
        let (findings, notes) = run(&db, &inventory, &ignore);
        assert!(findings[0].blocking);
        assert!(findings[0].waived_by.is_none());
        assert!(
            notes.expired_waivers[0].contains("expired on 2026-05-31"),
            "{notes:?}"
        );
        assert!(notes.unused_ignores.is_empty());
    }

    #[test]
    fn unorderable_versions_are_noted_not_dropped() {
        let mut bad = advisory("RUSTSEC-2", &[], "b", "1.0.0", None);
        bad.affected[0].ranges[0].events[1] =
            proofline_vulndb::osv::Event::Fixed("one point oh".into());
        let db = Memory(vec![bad]);
        let mut inventory = Inventory::default();
        inventory
            .packages
            .push(crate_pkg("b", "0.9.0", "/Cargo.lock"));
        let ignore = IgnoreList::new(&[], date!(2026 - 01 - 01), "p").unwrap();
        let (findings, notes) = run(&db, &inventory, &ignore);
        assert!(findings.is_empty());
        assert_eq!(notes.indeterminate.len(), 1);
        assert!(notes.indeterminate[0].contains("RUSTSEC-2"), "{notes:?}");
    }
}
