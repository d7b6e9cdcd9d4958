//! From an SBOM package to the OSV question about it: which ecosystem (and distribution
//! release), which name (a Debian binary package is judged by its source package, a Maven
//! jar by `group:artifact`), which version; and which packages are not asked about, and why.

use proofline_sbom::{Ecosystem, Package};
use proofline_vulndb::OsvEcosystem;
use proofline_vulndb::matching::Target;

use crate::args::DistroOwned;
use crate::purl::Purl;

/// A package and the OSV question about it.
#[derive(Debug)]
pub struct Query<'a> {
    pub package: &'a Package,
    pub target: Target,
    /// The name OSV knows the package by (before normalisation), for the report.
    pub osv_name: String,
}

/// Why a package was not matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// A language package a distribution package installed: judged through its owner.
    DistroOwned { owner: String },
    /// No OSV ecosystem for this kind of package (a `generic` purl, an unowned binary).
    NoEcosystem { purl_type: String },
    /// Declared only as a development dependency in a lock file (npm `dev: true`) and not
    /// installed in the image: it does not ship, so it is not judged (an installed copy is a
    /// separate package and is).
    DevOnly,
}

/// The OSV question for `package`, or why there is none.
pub fn query_for(package: &Package, distro_owned: DistroOwned) -> Result<Query<'_>, Skip> {
    if package.dev {
        return Err(Skip::DevOnly);
    }
    if let (Some(owner), DistroOwned::Distro) = (&package.owned_by, distro_owned) {
        return Err(Skip::DistroOwned {
            owner: owner.clone(),
        });
    }
    let purl = Purl::parse(&package.purl).ok();
    let namespace = purl.as_ref().and_then(|p| p.namespace.as_deref());
    let distro = purl.as_ref().and_then(|p| p.qualifier("distro"));
    let kind = purl
        .as_ref()
        .map(|p| p.kind.clone())
        .unwrap_or_else(|| package.ecosystem.purl_type().to_string());
    let ecosystem = match package.ecosystem {
        Ecosystem::Deb => OsvEcosystem::from_purl_type("deb", namespace.or(distro_id(distro))),
        Ecosystem::Apk => Some(OsvEcosystem::Alpine),
        Ecosystem::Rpm => rpm_ecosystem(namespace.or(distro_id(distro))),
        Ecosystem::Pypi => Some(OsvEcosystem::PyPI),
        Ecosystem::Npm => Some(OsvEcosystem::Npm),
        Ecosystem::Cargo => Some(OsvEcosystem::CratesIo),
        Ecosystem::Golang => Some(OsvEcosystem::Go),
        Ecosystem::Maven => Some(OsvEcosystem::Maven),
        Ecosystem::Other => OsvEcosystem::from_purl_type(&kind, namespace),
    };
    let Some(ecosystem) = ecosystem else {
        return Err(Skip::NoEcosystem { purl_type: kind });
    };
    let release = distro.and_then(|d| release_of(&ecosystem, d));
    let (name, version) = match ecosystem {
        // Distribution advisories name source packages and their versions.
        OsvEcosystem::Debian | OsvEcosystem::Ubuntu | OsvEcosystem::Alpine => (
            package
                .source_package
                .clone()
                .or_else(|| upstream_name(purl.as_ref()))
                .unwrap_or_else(|| package.name.clone()),
            package
                .source_version
                .clone()
                .unwrap_or_else(|| package.version.clone()),
        ),
        OsvEcosystem::Maven => (
            match namespace {
                Some(group) => format!(
                    "{group}:{}",
                    purl.as_ref().map_or(&package.name, |p| &p.name)
                ),
                None => package.name.clone(),
            },
            package.version.clone(),
        ),
        // Go's standard library is `stdlib` in OSV, versions without the `go` prefix.
        OsvEcosystem::Go if package.name == "stdlib" => (
            "stdlib".to_string(),
            package.version.trim_start_matches("go").to_string(),
        ),
        _ => (package.name.clone(), package.version.clone()),
    };
    Ok(Query {
        package,
        target: Target::new(ecosystem, release.as_deref(), &name, &version),
        osv_name: name,
    })
}

/// `distro=debian-12` → `debian`.
fn distro_id(distro: Option<&str>) -> Option<&str> {
    distro.and_then(|d| d.split('-').next())
}

/// The source package a foreign SBOM recorded in the purl (`upstream=glibc`,
/// `upstream=gcc-12@12.2.0-14` in syft's style).
fn upstream_name(purl: Option<&Purl>) -> Option<String> {
    let upstream = purl?.qualifier("upstream")?;
    Some(upstream.split('@').next().unwrap_or(upstream).to_string())
}

/// OSV's release for a purl `distro` qualifier: `debian-12` → `12`, `ubuntu-22.04` → `22.04`,
/// `alpine-3.18.4` → `v3.18` (OSV's Alpine releases are `v<major>.<minor>`).
fn release_of(ecosystem: &OsvEcosystem, distro: &str) -> Option<String> {
    let (_, version) = distro.split_once('-')?;
    if version.is_empty() {
        return None;
    }
    Some(match ecosystem {
        OsvEcosystem::Alpine => {
            let mut parts = version.trim_start_matches('v').split('.');
            let major = parts.next()?;
            let minor = parts.next()?;
            format!("v{major}.{minor}")
        }
        OsvEcosystem::Debian => version.split('.').next()?.to_string(),
        _ => version.to_string(),
    })
}

/// OSV's ecosystems for rpm-based distributions, by purl namespace or os-release id.
fn rpm_ecosystem(namespace: Option<&str>) -> Option<OsvEcosystem> {
    let name = match namespace?.to_ascii_lowercase().as_str() {
        "redhat" | "rhel" => "Red Hat",
        "almalinux" => "AlmaLinux",
        "rocky" | "rockylinux" => "Rocky Linux",
        "opensuse" | "opensuse-leap" | "opensuse-tumbleweed" => "openSUSE",
        "suse" | "sles" => "SUSE",
        "mageia" => "Mageia",
        _ => return None,
    };
    Some(OsvEcosystem::Other(name.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn debian_by_source_package_and_release() {
        let mut p = Package::new(
            Ecosystem::Deb,
            "libssl3",
            "3.0.11-1~deb12u2",
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl",
            "/var/lib/dpkg/status",
            "dpkg",
        );
        p.source_package = Some("openssl".into());
        let q = query_for(&p, DistroOwned::Distro).unwrap();
        assert_eq!(q.osv_name, "openssl");
        assert_eq!(q.target.ecosystem(), &OsvEcosystem::Debian);
        p.source_package = None;
        let q = query_for(&p, DistroOwned::Distro).unwrap();
        assert_eq!(q.osv_name, "openssl", "from the purl's upstream qualifier");
    }

    #[test]
    fn alpine_release_and_maven_names() {
        assert_eq!(
            release_of(&OsvEcosystem::Alpine, "alpine-3.18.4").as_deref(),
            Some("v3.18")
        );
        assert_eq!(
            release_of(&OsvEcosystem::Ubuntu, "ubuntu-22.04").as_deref(),
            Some("22.04")
        );
        let p = Package::new(
            Ecosystem::Maven,
            "log4j-core",
            "2.14.1",
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            "/app/app.jar",
            "java",
        );
        assert_eq!(
            query_for(&p, DistroOwned::Distro).unwrap().osv_name,
            "org.apache.logging.log4j:log4j-core"
        );
    }

    #[test]
    fn distro_owned_skipped_unless_upstream() {
        let mut p = Package::new(
            Ecosystem::Pypi,
            "six",
            "1.16.0",
            "pkg:pypi/six@1.16.0",
            "/usr/lib/python3/dist-packages/six-1.16.0.dist-info",
            "python",
        );
        p.owned_by = Some("pkg:deb/debian/python3-six@1.16.0-4".into());
        assert!(matches!(
            query_for(&p, DistroOwned::Distro),
            Err(Skip::DistroOwned { .. })
        ));
        assert!(query_for(&p, DistroOwned::Upstream).is_ok());
        let g = Package::new(Ecosystem::Other, "x", "1", "pkg:generic/x@1", "/x", "file");
        assert!(matches!(
            query_for(&g, DistroOwned::Distro),
            Err(Skip::NoEcosystem { .. })
        ));
    }
}
