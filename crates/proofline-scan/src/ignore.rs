//! The ignore list of proofline.yaml (`scan.ignore`): risk acceptances that must carry a reason
//! and an expiry date; an expired entry stops waiving and says so.

use time::{Date, format_description::BorrowedFormatItem, macros::format_description};

use crate::args::IgnoreEntry;
use crate::report::{PackageRef, Waiver};

const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// A malformed ignore entry: the policy file is wrong, so the scan refuses to run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    #[error(
        "scan.ignore entry for `{id}` has no reason: say why the risk is accepted (reason: \"…\"), an auditor reads it"
    )]
    NoReason { id: String },
    #[error(
        "scan.ignore entry for `{id}` has expires: `{expires}`, which is not a date: write it as YYYY-MM-DD (e.g. 2027-01-31)"
    )]
    BadDate { id: String, expires: String },
    #[error("scan.ignore has an entry with an empty id: name the vulnerability (CVE-…, GHSA-…, …)")]
    NoId,
}

/// What the ignore list says about one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreDecision {
    /// No entry names it.
    None,
    /// An entry waives it.
    Active(Waiver),
    /// An entry named it but expired on that date: it does not waive.
    Expired(Waiver),
}

/// The validated ignore list, judged against one day (today, UTC).
#[derive(Debug)]
pub struct IgnoreList {
    entries: Vec<(IgnoreEntry, Date)>,
    today: Date,
    source: String,
}

impl IgnoreList {
    /// Validates every entry (reason present, expiry a date); `source` names the policy file.
    pub fn new(entries: &[IgnoreEntry], today: Date, source: &str) -> Result<Self, IgnoreError> {
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            if e.id.trim().is_empty() {
                return Err(IgnoreError::NoId);
            }
            if e.reason.trim().is_empty() {
                return Err(IgnoreError::NoReason { id: e.id.clone() });
            }
            let date = Date::parse(e.expires.trim(), DATE).map_err(|_| IgnoreError::BadDate {
                id: e.id.clone(),
                expires: e.expires.clone(),
            })?;
            out.push((e.clone(), date));
        }
        Ok(Self {
            entries: out,
            today,
            source: source.to_string(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The decision for a finding known by `ids` (its id and aliases) in `package`. An active
    /// entry wins over an expired one naming the same finding.
    pub fn decide(&self, ids: &[&str], package: &PackageRef) -> IgnoreDecision {
        let mut expired = None;
        for (entry, date) in &self.entries {
            if !ids
                .iter()
                .any(|id| id.eq_ignore_ascii_case(entry.id.trim()))
            {
                continue;
            }
            if let Some(p) = &entry.package
                && !package_matches(p, package)
            {
                continue;
            }
            let waiver = Waiver {
                kind: "ignore".into(),
                source: self.source.clone(),
                status: "ignored".into(),
                justification: None,
                reason: Some(entry.reason.clone()),
                expires: Some(entry.expires.trim().to_string()),
            };
            if *date >= self.today {
                return IgnoreDecision::Active(waiver);
            }
            expired.get_or_insert(waiver);
        }
        match expired {
            Some(w) => IgnoreDecision::Expired(w),
            None => IgnoreDecision::None,
        }
    }

    /// Entries that named no finding of this scan (stale entries worth deleting).
    pub fn unused<'a>(&'a self, used: &'a [String]) -> impl Iterator<Item = &'a IgnoreEntry> {
        self.entries
            .iter()
            .map(|(e, _)| e)
            .filter(move |e| !used.iter().any(|u| u.eq_ignore_ascii_case(e.id.trim())))
    }
}

/// `package` in an entry: a name (`urllib3`) or a purl without version (`pkg:pypi/urllib3`).
fn package_matches(wanted: &str, package: &PackageRef) -> bool {
    let wanted = wanted.trim();
    if wanted.starts_with("pkg:") {
        let base = package
            .purl
            .split(['@', '?', '#'])
            .next()
            .unwrap_or(&package.purl);
        let wanted_base = wanted.split(['@', '?', '#']).next().unwrap_or(wanted);
        return base.eq_ignore_ascii_case(wanted_base)
            && wanted
                .split_once('@')
                .is_none_or(|(_, v)| v.split(['?', '#']).next() == Some(package.version.as_str()));
    }
    wanted.eq_ignore_ascii_case(&package.name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use time::macros::date;

    use super::*;

    fn entry(id: &str, package: Option<&str>, expires: &str) -> IgnoreEntry {
        IgnoreEntry {
            id: id.into(),
            package: package.map(Into::into),
            reason: "not reachable: we never parse untrusted URLs".into(),
            expires: expires.into(),
        }
    }

    fn pkg() -> PackageRef {
        PackageRef {
            name: "urllib3".into(),
            version: "1.26.4".into(),
            ecosystem: "PyPI".into(),
            purl: "pkg:pypi/urllib3@1.26.4".into(),
        }
    }

    #[test]
    fn active_until_the_end_of_the_expiry_day() {
        let list = IgnoreList::new(
            &[entry("CVE-2023-43804", None, "2026-11-27")],
            date!(2026 - 11 - 27),
            "proofline.yaml",
        )
        .unwrap();
        let ids = ["PYSEC-2023-192", "cve-2023-43804"];
        assert!(matches!(
            list.decide(&ids, &pkg()),
            IgnoreDecision::Active(_)
        ));
        let list = IgnoreList::new(
            &[entry("CVE-2023-43804", None, "2026-11-26")],
            date!(2026 - 11 - 27),
            "proofline.yaml",
        )
        .unwrap();
        let IgnoreDecision::Expired(w) = list.decide(&ids, &pkg()) else {
            panic!("expected expired")
        };
        assert_eq!(w.expires.as_deref(), Some("2026-11-26"));
    }

    #[test]
    fn package_scoped() {
        let today = date!(2026 - 01 - 01);
        for (p, hit) in [
            ("urllib3", true),
            ("URLLIB3", true),
            ("requests", false),
            ("pkg:pypi/urllib3", true),
            ("pkg:pypi/urllib3@1.26.4", true),
            ("pkg:pypi/urllib3@2.0.0", false),
            ("pkg:npm/urllib3", false),
        ] {
            let list =
                IgnoreList::new(&[entry("CVE-1", Some(p), "2027-01-01")], today, "p").unwrap();
            assert_eq!(
                matches!(list.decide(&["CVE-1"], &pkg()), IgnoreDecision::Active(_)),
                hit,
                "{p}"
            );
        }
    }

    #[test]
    fn active_beats_expired_and_unused_listed() {
        let list = IgnoreList::new(
            &[
                entry("CVE-1", None, "2020-01-01"),
                entry("CVE-1", None, "2030-01-01"),
                entry("CVE-9", None, "2030-01-01"),
            ],
            date!(2026 - 01 - 01),
            "p",
        )
        .unwrap();
        assert!(matches!(
            list.decide(&["CVE-1"], &pkg()),
            IgnoreDecision::Active(_)
        ));
        let used = vec!["CVE-1".to_string()];
        let unused: Vec<_> = list.unused(&used).map(|e| e.id.as_str()).collect();
        assert_eq!(unused, ["CVE-9"]);
    }

    #[test]
    fn malformed_entries_refused() {
        let today = date!(2026 - 01 - 01);
        let mut e = entry("CVE-1", None, "2027-13-01");
        assert!(matches!(
            IgnoreList::new(&[e.clone()], today, "p"),
            Err(IgnoreError::BadDate { .. })
        ));
        e.expires = "2027-01-01".into();
        e.reason = "  ".into();
        let err = IgnoreList::new(&[e.clone()], today, "p").unwrap_err();
        assert!(err.to_string().contains("no reason"), "{err}");
        e.reason = "r".into();
        e.id = "".into();
        assert!(matches!(
            IgnoreList::new(&[e], today, "p"),
            Err(IgnoreError::NoId)
        ));
    }
}
