//! OSV ecosystem names (`PyPI`, `crates.io`, `Debian:12`, …) and the per-ecosystem package-name
//! normalisation that makes an advisory's name and an SBOM's name meet.

use std::fmt;

/// An OSV ecosystem, without its release suffix (`Debian:12` is [`OsvEcosystem::Debian`] with
/// release `12`, see [`OsvEcosystem::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OsvEcosystem {
    Debian,
    Ubuntu,
    Alpine,
    PyPI,
    Npm,
    CratesIo,
    Go,
    Maven,
    /// Any other ecosystem OSV knows (`RubyGems`, `NuGet`, `Red Hat`, …): kept by its OSV
    /// name so an index built from it round-trips, matched by exact name with no version
    /// ordering (only `affected[].versions` lists apply).
    Other(String),
}

impl OsvEcosystem {
    /// Splits an OSV `affected[].package.ecosystem` value into the ecosystem and its release
    /// (`Debian:12` → (Debian, Some("12")), `Alpine:v3.19` → (Alpine, Some("v3.19"))).
    pub fn parse(value: &str) -> (Self, Option<&str>) {
        let (base, release) = match value.split_once(':') {
            Some((base, release)) if !release.is_empty() => (base, Some(release)),
            Some((base, _)) => (base, None),
            None => (value, None),
        };
        let ecosystem = match base {
            "Debian" => Self::Debian,
            "Ubuntu" => Self::Ubuntu,
            "Alpine" => Self::Alpine,
            "PyPI" => Self::PyPI,
            "npm" => Self::Npm,
            "crates.io" => Self::CratesIo,
            "Go" => Self::Go,
            "Maven" => Self::Maven,
            other => Self::Other(other.to_string()),
        };
        (ecosystem, release)
    }

    /// The OSV spelling of the ecosystem (without a release).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Debian => "Debian",
            Self::Ubuntu => "Ubuntu",
            Self::Alpine => "Alpine",
            Self::PyPI => "PyPI",
            Self::Npm => "npm",
            Self::CratesIo => "crates.io",
            Self::Go => "Go",
            Self::Maven => "Maven",
            Self::Other(name) => name,
        }
    }

    /// The ecosystem of a package URL type (`pkg:pypi/…` → PyPI); `None` for types OSV has no
    /// ecosystem for (`generic`, `oci`, …). `deb` needs the purl's `distro`/namespace to tell
    /// Debian from Ubuntu: `namespace` is the purl namespace (`debian`, `ubuntu`, `alpine`).
    pub fn from_purl_type(kind: &str, namespace: Option<&str>) -> Option<Self> {
        Some(match kind {
            "deb" => match namespace.map(str::to_ascii_lowercase).as_deref() {
                Some("ubuntu") => Self::Ubuntu,
                _ => Self::Debian,
            },
            "apk" => Self::Alpine,
            "pypi" => Self::PyPI,
            "npm" => Self::Npm,
            "cargo" => Self::CratesIo,
            "golang" => Self::Go,
            "maven" => Self::Maven,
            "gem" => Self::Other("RubyGems".into()),
            "nuget" => Self::Other("NuGet".into()),
            "composer" => Self::Other("Packagist".into()),
            "hex" => Self::Other("Hex".into()),
            "pub" => Self::Other("Pub".into()),
            "swift" => Self::Other("SwiftURL".into()),
            "cran" => Self::Other("CRAN".into()),
            _ => return None,
        })
    }

    /// A package name as the index stores and looks it up: PyPI names by PEP 503 (lowercase,
    /// runs of `-`, `_`, `.` as one `-`); npm by lowercase (the registry refuses new mixed-case
    /// names, old ones resolve case-insensitively); everything else exactly as written (crates.io,
    /// Go module paths, Maven `group:artifact`, distribution source packages are case-sensitive).
    pub fn normalise_name(&self, name: &str) -> String {
        match self {
            Self::PyPI => {
                let mut out = String::with_capacity(name.len());
                let mut separator = false;
                for c in name.trim().chars() {
                    if matches!(c, '-' | '_' | '.') {
                        separator = true;
                    } else {
                        if separator && !out.is_empty() {
                            out.push('-');
                        }
                        separator = false;
                        out.extend(c.to_lowercase());
                    }
                }
                out
            }
            Self::Npm => name.trim().to_ascii_lowercase(),
            _ => name.trim().to_string(),
        }
    }
}

impl fmt::Display for OsvEcosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_split_off() {
        assert_eq!(
            OsvEcosystem::parse("Debian:12"),
            (OsvEcosystem::Debian, Some("12"))
        );
        assert_eq!(
            OsvEcosystem::parse("Alpine:v3.19"),
            (OsvEcosystem::Alpine, Some("v3.19"))
        );
        assert_eq!(
            OsvEcosystem::parse("crates.io"),
            (OsvEcosystem::CratesIo, None)
        );
        assert_eq!(
            OsvEcosystem::parse("RubyGems"),
            (OsvEcosystem::Other("RubyGems".into()), None)
        );
    }

    #[test]
    fn pep503_names() {
        let p = OsvEcosystem::PyPI;
        assert_eq!(p.normalise_name("Charset_Normalizer"), "charset-normalizer");
        assert_eq!(p.normalise_name("zope.interface"), "zope-interface");
        assert_eq!(p.normalise_name("a__-.b"), "a-b");
        assert_eq!(
            OsvEcosystem::CratesIo.normalise_name("Serde_Json"),
            "Serde_Json"
        );
    }
}
