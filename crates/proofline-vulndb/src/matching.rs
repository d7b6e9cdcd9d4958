//! OSV's evaluation rules (osv-schema "Evaluation"): whether one package version is affected by
//! one advisory, through `affected[].versions` lists and `ECOSYSTEM`/`SEMVER` ranges with
//! `introduced`/`fixed`/`last_affected`/`limit` events, and which versions fix it.

use std::cmp::Ordering;

use crate::ecosystem::OsvEcosystem;
use crate::osv::{Advisory, Affected, Event, RangeType};
use crate::version::{Version, VersionError};

/// The package version being judged, parsed once for every advisory about it.
#[derive(Debug)]
pub struct Target {
    ecosystem: OsvEcosystem,
    /// The distribution release (`12` of `Debian:12`, `v3.18` of `Alpine:v3.18`), when known.
    release: Option<String>,
    /// Normalised as the index keys it ([`OsvEcosystem::normalise_name`]).
    name: String,
    version: String,
    /// By the ecosystem's rules (for `ECOSYSTEM` ranges).
    parsed: Result<Version, VersionError>,
    /// By SemVer 2.0 (for `SEMVER` ranges), parsed on first use.
    semver: std::sync::OnceLock<Result<Version, VersionError>>,
}

/// What one advisory says about the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The advisory does not name this package, or names it but not this version.
    NotAffected,
    /// Affected; `fixed` lists the versions after this one that fix it, ascending (empty: no
    /// fix is known).
    Affected { fixed: Vec<String> },
    /// The advisory names this package but its versions cannot be ordered against this one
    /// (a version or event that does not parse by the ecosystem's rules, a range type we
    /// cannot evaluate); the reason says which.
    Indeterminate(String),
}

impl Target {
    pub fn new(ecosystem: OsvEcosystem, release: Option<&str>, name: &str, version: &str) -> Self {
        let parsed = Version::parse(&ecosystem, version);
        Self {
            name: ecosystem.normalise_name(name),
            release: release.map(str::to_string),
            version: version.to_string(),
            parsed,
            semver: std::sync::OnceLock::new(),
            ecosystem,
        }
    }

    pub fn ecosystem(&self) -> &OsvEcosystem {
        &self.ecosystem
    }

    /// The name as the index keys it.
    pub fn key_name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether an `affected[].package.ecosystem` value (`Debian:12`, `PyPI`) applies: the same
    /// ecosystem, and the same release when both name one (`Ubuntu:22.04:LTS` is release
    /// `22.04`). An advisory without a release applies to every release; a target whose
    /// release is unknown is matched against every release (more findings, never fewer).
    fn ecosystem_applies(&self, value: &str) -> bool {
        let (ecosystem, release) = OsvEcosystem::parse(value);
        if ecosystem != self.ecosystem {
            return false;
        }
        match (release, &self.release) {
            (Some(theirs), Some(ours)) => theirs.split(':').next() == Some(ours.as_str()),
            _ => true,
        }
    }

    /// Evaluates one advisory. Withdrawn advisories never affect anything.
    pub fn evaluate(&self, advisory: &Advisory) -> Verdict {
        if advisory.is_withdrawn() {
            return Verdict::NotAffected;
        }
        let mut affected = false;
        let mut fixed: Vec<(Version, String)> = Vec::new();
        let mut doubt: Option<String> = None;
        for entry in &advisory.affected {
            let Some(package) = &entry.package else {
                continue;
            };
            if !self.ecosystem_applies(&package.ecosystem)
                || self.ecosystem.normalise_name(&package.name) != self.name
            {
                continue;
            }
            match self.evaluate_entry(entry, &mut fixed) {
                Ok(true) => affected = true,
                Ok(false) => {}
                Err(why) => {
                    doubt.get_or_insert(format!("{}: {why}", advisory.id));
                }
            }
        }
        if affected {
            fixed.sort_by(|a, b| a.0.compare(&b.0).unwrap_or(Ordering::Equal));
            let mut versions: Vec<String> = Vec::new();
            for (_, text) in fixed {
                if !versions.contains(&text) {
                    versions.push(text);
                }
            }
            return Verdict::Affected { fixed: versions };
        }
        match doubt {
            Some(why) => Verdict::Indeterminate(why),
            None => Verdict::NotAffected,
        }
    }

    /// One `affected[]` entry: its `versions` list, then its ranges. Collects the `fixed`
    /// events above the target's version into `fixed`.
    fn evaluate_entry(
        &self,
        entry: &Affected,
        fixed: &mut Vec<(Version, String)>,
    ) -> Result<bool, String> {
        let listed = entry.versions.iter().any(|v| v.trim() == self.version);
        let mut in_range = false;
        let mut doubt = None;
        for range in &entry.ranges {
            let parse: fn(&OsvEcosystem, &str) -> Result<Version, VersionError> = match range.kind {
                RangeType::Ecosystem => Version::parse,
                RangeType::Semver => |_: &OsvEcosystem, v: &str| Version::parse_semver(v),
                // GIT ranges are commits: their affected versions are in `versions` (OSV
                // enumerates them), which the list check above covers.
                RangeType::Git => continue,
                RangeType::Other(ref kind) => {
                    doubt.get_or_insert(format!("range type {kind} cannot be evaluated"));
                    continue;
                }
            };
            let version = match range.kind {
                RangeType::Semver => self
                    .semver
                    .get_or_init(|| Version::parse_semver(&self.version)),
                _ => &self.parsed,
            };
            let version = match version {
                Ok(v) => v,
                Err(e) => {
                    doubt.get_or_insert(e.to_string());
                    continue;
                }
            };
            match self.in_range(version, &range.events, parse) {
                Ok((hit, fixes)) => {
                    if hit {
                        in_range = true;
                        fixed.extend(fixes);
                    }
                }
                Err(why) => {
                    doubt.get_or_insert(why);
                }
            }
        }
        if listed || in_range {
            return Ok(true);
        }
        match doubt {
            Some(why) => Err(why),
            None => Ok(false),
        }
    }

    /// The schema's algorithm: events sorted by version (`introduced: "0"` first); walking
    /// them, `introduced` at or below the version opens, `fixed` at or below closes,
    /// `last_affected` below closes; `limit`s (when present) bound the range from above.
    /// Returns whether the version is in the range, and the range's `fixed` versions above it.
    #[allow(clippy::type_complexity)]
    fn in_range(
        &self,
        version: &Version,
        events: &[Event],
        parse: fn(&OsvEcosystem, &str) -> Result<Version, VersionError>,
    ) -> Result<(bool, Vec<(Version, String)>), String> {
        // (event, parsed version; None for introduced "0" and limit "*")
        let mut parsed: Vec<(&Event, Option<Version>)> = Vec::with_capacity(events.len());
        for event in events {
            let text = event.version().trim();
            let value = match event {
                Event::Introduced(_) if text == "0" => None,
                Event::Limit(_) if text == "*" => None,
                _ => Some(parse(&self.ecosystem, text).map_err(|e| e.to_string())?),
            };
            parsed.push((event, value));
        }
        let order = |a: &Option<Version>, b: &Option<Version>| -> Result<Ordering, String> {
            match (a, b) {
                (None, None) => Ok(Ordering::Equal),
                (None, Some(_)) => Ok(Ordering::Less),
                (Some(_), None) => Ok(Ordering::Greater),
                (Some(a), Some(b)) => a.compare(b).ok_or_else(|| {
                    format!(
                        "versions `{}` and `{}` cannot be ordered",
                        a.as_str(),
                        b.as_str()
                    )
                }),
            }
        };
        let cmp_version = |v: &Version| -> Result<Ordering, String> {
            version.compare(v).ok_or_else(|| {
                format!(
                    "version `{}` cannot be ordered against `{}`",
                    version.as_str(),
                    v.as_str()
                )
            })
        };
        // Sort by version; a comparison failure anywhere makes the range indeterminate.
        let mut failure = None;
        parsed.sort_by(|a, b| match order(&a.1, &b.1) {
            Ok(o) => o,
            Err(e) => {
                failure.get_or_insert(e);
                Ordering::Equal
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        let limits: Vec<&Option<Version>> = parsed
            .iter()
            .filter(|(e, _)| matches!(e, Event::Limit(_)))
            .map(|(_, v)| v)
            .collect();
        if !limits.is_empty() {
            let mut below_a_limit = false;
            for limit in limits {
                match limit {
                    None => below_a_limit = true,
                    Some(l) => {
                        if cmp_version(l)? == Ordering::Less {
                            below_a_limit = true;
                        }
                    }
                }
            }
            if !below_a_limit {
                return Ok((false, Vec::new()));
            }
        }
        let mut vulnerable = false;
        for (event, value) in &parsed {
            match (event, value) {
                (Event::Introduced(_), None) => vulnerable = true,
                (Event::Introduced(_), Some(v)) if cmp_version(v)? != Ordering::Less => {
                    vulnerable = true;
                }
                (Event::Fixed(_), Some(v)) if cmp_version(v)? != Ordering::Less => {
                    vulnerable = false;
                }
                (Event::LastAffected(_), Some(v)) if cmp_version(v)? == Ordering::Greater => {
                    vulnerable = false;
                }
                _ => {}
            }
        }
        if !vulnerable {
            return Ok((false, Vec::new()));
        }
        let mut fixes = Vec::new();
        for (event, value) in parsed {
            if let (Event::Fixed(text), Some(v)) = (event, value)
                && cmp_version(&v)? == Ordering::Less
            {
                fixes.push((v, text.trim().to_string()));
            }
        }
        Ok((true, fixes))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn advisory(affected: serde_json::Value) -> Advisory {
        serde_json::from_value(serde_json::json!({
            "id": "TEST-1", "modified": "2024-01-01T00:00:00Z", "affected": affected
        }))
        .unwrap()
    }

    fn verdict(
        eco: OsvEcosystem,
        release: Option<&str>,
        name: &str,
        v: &str,
        a: &Advisory,
    ) -> Verdict {
        Target::new(eco, release, name, v).evaluate(a)
    }

    fn affected(eco: OsvEcosystem, name: &str, v: &str, a: &Advisory) -> bool {
        matches!(verdict(eco, None, name, v, a), Verdict::Affected { .. })
    }

    #[test]
    fn ecosystem_range_with_fixed_and_reintroduced() {
        let a = advisory(serde_json::json!([{
            "package": {"ecosystem": "PyPI", "name": "Requests"},
            "ranges": [{"type": "ECOSYSTEM", "events": [
                {"introduced": "2.0"}, {"fixed": "2.0.5"}, {"introduced": "0"}, {"fixed": "1.2.3"}
            ]}]
        }]));
        let p = || OsvEcosystem::PyPI;
        assert!(affected(p(), "requests", "1.0", &a));
        assert!(
            affected(p(), "requests", "1.2.3rc1", &a),
            "a pre-release of the fix is before it"
        );
        assert!(!affected(p(), "requests", "1.2.3", &a));
        assert!(!affected(p(), "requests", "1.9", &a));
        assert!(affected(p(), "requests", "2.0", &a));
        assert!(affected(p(), "requests", "2.0.4.post1", &a));
        assert!(!affected(p(), "requests", "2.0.5", &a));
        assert!(!affected(p(), "requests", "3", &a));
        assert!(!affected(p(), "urllib3", "1.0", &a), "other package");
        assert!(
            !affected(OsvEcosystem::Npm, "requests", "1.0.0", &a),
            "other ecosystem"
        );
        assert_eq!(
            verdict(p(), None, "REQUESTS", "1.0", &a),
            Verdict::Affected {
                fixed: vec!["1.2.3".into(), "2.0.5".into()]
            }
        );
        assert_eq!(
            verdict(p(), None, "requests", "2.0.1", &a),
            Verdict::Affected {
                fixed: vec!["2.0.5".into()]
            }
        );
    }

    #[test]
    fn last_affected_and_limit() {
        let a = advisory(serde_json::json!([{
            "package": {"ecosystem": "crates.io", "name": "smallvec"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"last_affected": "1.6.0"}]}]
        }]));
        let c = || OsvEcosystem::CratesIo;
        assert!(affected(c(), "smallvec", "1.6.0", &a));
        assert!(affected(c(), "smallvec", "1.0.0", &a));
        assert!(!affected(c(), "smallvec", "1.6.1", &a));
        assert!(!affected(c(), "smallvec", "0.6.14", &a));
        assert!(
            !affected(c(), "smallvec", "1.0.0-alpha.1", &a),
            "pre-release sorts first"
        );
        assert_eq!(
            verdict(c(), None, "smallvec", "1.2.0", &a),
            Verdict::Affected { fixed: vec![] },
            "no fix known"
        );
        let a = advisory(serde_json::json!([{
            "package": {"ecosystem": "Go", "name": "example.com/m"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"limit": "1.5.0"}]}]
        }]));
        let g = || OsvEcosystem::Go;
        assert!(affected(g(), "example.com/m", "v1.4.9", &a));
        assert!(!affected(g(), "example.com/m", "v1.5.0", &a));
    }

    #[test]
    fn versions_list_and_withdrawn() {
        let mut a = advisory(serde_json::json!([{
            "package": {"ecosystem": "npm", "name": "minimist"},
            "versions": ["1.2.0", "1.2.1"]
        }]));
        assert!(affected(OsvEcosystem::Npm, "minimist", "1.2.0", &a));
        assert!(!affected(OsvEcosystem::Npm, "minimist", "1.2.2", &a));
        a.withdrawn = Some("2024-02-01T00:00:00Z".into());
        assert!(!affected(OsvEcosystem::Npm, "minimist", "1.2.0", &a));
    }

    #[test]
    fn distribution_releases() {
        let a = advisory(serde_json::json!([{
            "package": {"ecosystem": "Debian:12", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}]
        }]));
        let d = || OsvEcosystem::Debian;
        assert!(matches!(
            verdict(d(), Some("12"), "openssl", "3.0.11-1~deb12u1", &a),
            Verdict::Affected { .. }
        ));
        assert_eq!(
            verdict(d(), Some("12"), "openssl", "3.0.11-1~deb12u2", &a),
            Verdict::NotAffected
        );
        assert_eq!(
            verdict(d(), Some("11"), "openssl", "1.1.1n-0+deb11u1", &a),
            Verdict::NotAffected,
            "other release"
        );
        assert!(
            matches!(
                verdict(d(), None, "openssl", "1:1.0", &a),
                Verdict::NotAffected
            ),
            "epoch 1 is above any epoch-0 fix"
        );
        let u = advisory(serde_json::json!([{
            "package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.10"}]}]
        }]));
        assert!(matches!(
            verdict(
                OsvEcosystem::Ubuntu,
                Some("22.04"),
                "openssl",
                "3.0.2-0ubuntu1.9",
                &u
            ),
            Verdict::Affected { .. }
        ));
    }

    #[test]
    fn unorderable_is_indeterminate_not_silent() {
        let a = advisory(serde_json::json!([{
            "package": {"ecosystem": "PyPI", "name": "x"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "not a version!"}]}]
        }]));
        assert!(matches!(
            verdict(OsvEcosystem::PyPI, None, "x", "1.0", &a),
            Verdict::Indeterminate(_)
        ));
        // The listed version still decides when a range cannot be read.
        let a = advisory(serde_json::json!([{
            "package": {"ecosystem": "PyPI", "name": "x"},
            "versions": ["1.0"],
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "bogus!"}]}]
        }]));
        assert!(affected(OsvEcosystem::PyPI, "x", "1.0", &a));
        let a = advisory(serde_json::json!([{
            "package": {"ecosystem": "PyPI", "name": "x"},
            "ranges": [{"type": "GIT", "repo": "https://x", "events": [{"introduced": "0"}, {"fixed": "abc"}]}]
        }]));
        assert_eq!(
            verdict(OsvEcosystem::PyPI, None, "x", "1.0", &a),
            Verdict::NotAffected
        );
    }
}
