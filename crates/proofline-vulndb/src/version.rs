//! Version ordering per ecosystem, each by its own rules (Debian policy, apk-tools, PEP 440,
//! SemVer 2.0 precedence, Go module versions, Maven's ComparableVersion): the comparisons OSV
//! ranges are defined over.
//!
//! Matching parses each package version and each range event once ([`Version::parse`],
//! [`Version::parse_semver`]) and then only compares ([`Version::compare`]): parsing keeps the
//! original text plus the parsed form; comparing does not allocate (dpkg's comparison of a
//! digit run longer than 19 digits is the one exception, inside `debversion`).

mod alpine;
mod go;
mod maven;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::fmt;

use crate::ecosystem::OsvEcosystem;

/// Longest version text accepted, in bytes. Real versions are far shorter (npm's own limit is
/// 256 characters, Maven 4 refuses longer ones); the bound keeps hostile input from costing
/// more than a few microseconds or nesting Maven's item lists deeply.
pub const MAX_VERSION_LEN: usize = 256;

/// A version parsed by one ecosystem's ordering scheme, with its original text.
///
/// Two versions are comparable only when they were parsed for the same scheme (see
/// [`Version::compare`]). npm, crates.io, Go and OSV `SEMVER` ranges share the SemVer scheme;
/// Debian and Ubuntu share dpkg's.
#[derive(Debug, Clone)]
pub enum Version {
    /// dpkg's order (Debian policy §5.6.12): Debian and Ubuntu.
    Debian(DebianVersion),
    /// apk-tools' order: Alpine.
    Alpine(AlpineVersion),
    /// PEP 440: PyPI.
    Pep440(Pep440Version),
    /// SemVer 2.0 precedence: npm, crates.io, Go, and OSV `SEMVER` ranges in any ecosystem.
    SemVer(SemVersion),
    /// Maven's `ComparableVersion`.
    Maven(MavenVersion),
    /// An ecosystem without ordering rules here: equal only to the identical string.
    Opaque(OpaqueVersion),
}

/// A Debian or Ubuntu version (`[epoch:]upstream[-revision]`).
#[derive(Debug, Clone)]
pub struct DebianVersion {
    text: Box<str>,
    parsed: debversion::Version,
}

/// An Alpine (apk) version; validated when parsed, compared from its text.
#[derive(Debug, Clone)]
pub struct AlpineVersion {
    text: Box<str>,
}

/// A PEP 440 version.
#[derive(Debug, Clone)]
pub struct Pep440Version {
    text: Box<str>,
    parsed: pep440_rs::Version,
}

/// A SemVer 2.0 version (build metadata kept, but never ordered).
#[derive(Debug, Clone)]
pub struct SemVersion {
    text: Box<str>,
    parsed: semver::Version,
}

/// A Maven version, as the item list Maven compares.
#[derive(Debug, Clone)]
pub struct MavenVersion {
    text: Box<str>,
    items: maven::Items,
}

/// A version of an ecosystem with no ordering rules here.
#[derive(Debug, Clone)]
pub struct OpaqueVersion {
    text: Box<str>,
}

/// A version that its ecosystem's rules do not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version {text:?} of {context} is not {scheme}: {reason}")]
pub struct VersionError {
    /// The version text (cut to 100 characters when longer).
    pub text: String,
    /// Where it came from: `npm package`, `PyPI package`, `an OSV SEMVER range`, …
    pub context: String,
    /// The scheme it failed: `SemVer 2.0`, `a PEP 440 version`, …
    pub scheme: &'static str,
    /// Why, in the words of the parser that refused it.
    pub reason: String,
}

const SEMVER: &str = "SemVer 2.0";
const DEBIAN: &str = "a Debian version ([epoch:]upstream[-revision], Debian policy §5.6.12)";
const ALPINE: &str = "an apk version";
const PEP440: &str = "a PEP 440 version";
const GO: &str = "a Go module or toolchain version";
const MAVEN: &str = "a Maven version";

fn error(
    text: &str,
    context: String,
    scheme: &'static str,
    reason: impl Into<String>,
) -> VersionError {
    let text = match text.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text.to_string(),
    };
    VersionError {
        text,
        context,
        scheme,
        reason: reason.into(),
    }
}

impl Version {
    /// Parses `text` by the rules of `ecosystem` (an OSV ecosystem without its release suffix).
    pub fn parse(ecosystem: &OsvEcosystem, text: &str) -> Result<Version, VersionError> {
        let context = || format!("{} package", ecosystem.as_str());
        let scheme = match ecosystem {
            OsvEcosystem::Debian | OsvEcosystem::Ubuntu => DEBIAN,
            OsvEcosystem::Alpine => ALPINE,
            OsvEcosystem::PyPI => PEP440,
            OsvEcosystem::Npm | OsvEcosystem::CratesIo => SEMVER,
            OsvEcosystem::Go => GO,
            OsvEcosystem::Maven => MAVEN,
            OsvEcosystem::Other(_) => "a version",
        };
        if text.is_empty() {
            return Err(error(text, context(), scheme, "it is empty"));
        }
        if text.len() > MAX_VERSION_LEN {
            return Err(error(
                text,
                context(),
                scheme,
                format!(
                    "it is {} bytes long, over the {MAX_VERSION_LEN}-byte limit",
                    text.len()
                ),
            ));
        }
        let boxed = || Box::<str>::from(text);
        Ok(match ecosystem {
            OsvEcosystem::Debian | OsvEcosystem::Ubuntu => Version::Debian(DebianVersion {
                text: boxed(),
                parsed: parse_debian(text)
                    .map_err(|reason| error(text, context(), scheme, reason))?,
            }),
            OsvEcosystem::Alpine => {
                alpine::validate(text).map_err(|reason| error(text, context(), scheme, reason))?;
                Version::Alpine(AlpineVersion { text: boxed() })
            }
            OsvEcosystem::PyPI => Version::Pep440(Pep440Version {
                text: boxed(),
                parsed: text
                    .trim()
                    .parse()
                    .map_err(|e: pep440_rs::VersionParseError| {
                        error(text, context(), scheme, e.to_string())
                    })?,
            }),
            OsvEcosystem::Npm => Version::SemVer(SemVersion {
                text: boxed(),
                parsed: parse_npm(text).map_err(|e| error(text, context(), scheme, e))?,
            }),
            OsvEcosystem::CratesIo => Version::SemVer(SemVersion {
                text: boxed(),
                parsed: semver::Version::parse(text)
                    .map_err(|e| error(text, context(), scheme, e.to_string()))?,
            }),
            OsvEcosystem::Go => Version::SemVer(SemVersion {
                text: boxed(),
                parsed: go::parse(text).map_err(|reason| error(text, context(), scheme, reason))?,
            }),
            OsvEcosystem::Maven => Version::Maven(MavenVersion {
                text: boxed(),
                items: maven::parse(text),
            }),
            OsvEcosystem::Other(_) => Version::Opaque(OpaqueVersion { text: boxed() }),
        })
    }

    /// Parses by SemVer 2.0, for OSV ranges of type `SEMVER` (any ecosystem): a leading `v` is
    /// accepted (Go writes `v1.2.3`; OSV's Go data strips it), nothing else that is not SemVer.
    pub fn parse_semver(text: &str) -> Result<Version, VersionError> {
        let context = || "an OSV SEMVER range".to_string();
        if text.len() > MAX_VERSION_LEN {
            return Err(error(
                text,
                context(),
                SEMVER,
                format!(
                    "it is {} bytes long, over the {MAX_VERSION_LEN}-byte limit",
                    text.len()
                ),
            ));
        }
        let bare = text.strip_prefix('v').unwrap_or(text);
        Ok(Version::SemVer(SemVersion {
            text: text.into(),
            parsed: semver::Version::parse(bare)
                .map_err(|e| error(text, context(), SEMVER, e.to_string()))?,
        }))
    }

    /// The order between two versions parsed for the same scheme; `None` when the schemes
    /// differ, or for opaque versions (of ecosystems with no rules here) unless the strings are
    /// identical (`Some(Equal)`).
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        Some(match (self, other) {
            (Version::Debian(a), Version::Debian(b)) => a.parsed.cmp(&b.parsed),
            (Version::Alpine(a), Version::Alpine(b)) => alpine::compare(&a.text, &b.text),
            (Version::Pep440(a), Version::Pep440(b)) => a.parsed.cmp(&b.parsed),
            // Precedence, not `Ord`: `Ord` also orders build metadata (`+build.1 < +build.2`).
            (Version::SemVer(a), Version::SemVer(b)) => a.parsed.cmp_precedence(&b.parsed),
            (Version::Maven(a), Version::Maven(b)) => a.items.compare(&b.items),
            (Version::Opaque(a), Version::Opaque(b)) if a.text == b.text => Ordering::Equal,
            _ => return None,
        })
    }

    /// The original text.
    pub fn as_str(&self) -> &str {
        match self {
            Version::Debian(v) => &v.text,
            Version::Alpine(v) => &v.text,
            Version::Pep440(v) => &v.text,
            Version::SemVer(v) => &v.text,
            Version::Maven(v) => &v.text,
            Version::Opaque(v) => &v.text,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// npm: node-semver's `clean()` (surrounding whitespace and leading `=`/`v` go), then SemVer
/// 2.0; a bare `MAJOR` or `MAJOR.MINOR` is padded with `.0` as OSV's own npm ordering does
/// (GitHub's npm advisories write range events like `"introduced": "1.0"`, GHSA-r683-j2x4-v87g).
fn parse_npm(text: &str) -> Result<semver::Version, String> {
    let bare = text.trim().trim_start_matches(['=', 'v']);
    semver::Version::parse(bare).or_else(|e| {
        let mut parts = bare.split('.');
        let mut number = || -> Option<u64> {
            let part = parts.next()?;
            let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
            (digits && (part == "0" || !part.starts_with('0')))
                .then(|| part.parse().ok())
                .flatten()
        };
        let major = number().ok_or_else(|| e.to_string())?;
        let minor = match bare.matches('.').count() {
            0 => 0,
            1 => number().ok_or_else(|| e.to_string())?,
            _ => return Err(e.to_string()),
        };
        Ok(semver::Version::new(major, minor, 0))
    })
}

/// `debversion`'s parser plus the checks dpkg makes that it leaves out: a colon only after a
/// numeric epoch, no empty revision, an upstream version that starts with a digit.
fn parse_debian(text: &str) -> Result<debversion::Version, String> {
    let parsed: debversion::Version = text.parse().map_err(|e: debversion::ParseError| {
        format!("{e} (allowed: digits, letters, `.+~-:`, an optional numeric epoch)")
    })?;
    if parsed.epoch.is_none() && text.contains(':') {
        return Err("a colon is only allowed after a numeric epoch (`1:2.3-4`)".to_string());
    }
    if text.ends_with('-') {
        return Err("the revision after the last `-` is empty".to_string());
    }
    if !parsed
        .upstream_version
        .starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(format!(
            "the upstream version {:?} does not start with a digit",
            parsed.upstream_version
        ));
    }
    Ok(parsed)
}
