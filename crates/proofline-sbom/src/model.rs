//! The one inventory every SBOM format is written from: packages with their identity (purl),
//! licences, the files they own with recorded digests, where they were found and by which
//! cataloger, plus every file in the image so nothing unowned is invisible.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

/// The package ecosystem, which decides the purl type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Deb,
    Apk,
    Rpm,
    Pypi,
    Npm,
    Cargo,
    Golang,
    Maven,
    /// A package read from a foreign SBOM whose purl type no cataloger here produces (`gem`,
    /// `nuget`, `composer`, …) or that had no purl: its `purl` keeps what the document said
    /// (or `pkg:generic/…` when it said nothing usable).
    Other,
}

impl Ecosystem {
    /// A distribution's package manager (dpkg, apk, rpm), as opposed to a language's.
    pub fn is_distro(self) -> bool {
        matches!(self, Self::Deb | Self::Apk | Self::Rpm)
    }

    /// The purl type (`pkg:<type>/…`).
    pub fn purl_type(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Apk => "apk",
            Self::Rpm => "rpm",
            Self::Pypi => "pypi",
            Self::Npm => "npm",
            Self::Cargo => "cargo",
            Self::Golang => "golang",
            Self::Maven => "maven",
            Self::Other => "generic",
        }
    }
}

/// A digest a package manager recorded for a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDigest {
    /// `md5`, `sha1`, `sha256`, … as the package manager names it.
    pub algorithm: String,
    /// Lowercase hex.
    pub value: String,
}

/// A file a package says it owns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnedFile {
    /// Absolute path in the image.
    pub path: String,
    /// The digest the package manager recorded, when it recorded one.
    pub recorded: Option<FileDigest>,
}

/// One package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    /// Package URL (purl spec), e.g. `pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12`.
    pub purl: String,
    /// CPE 2.3 formatted string, where one is meaningful (the product has a known vendor).
    pub cpe: Option<String>,
    /// SPDX licence expression, when the package declares one we can express.
    pub license: Option<String>,
    /// Who supplies it (Debian `Maintainer`, PyPI `Author`, …).
    pub supplier: Option<String>,
    /// CPU architecture, when the package records one.
    pub arch: Option<String>,
    /// The source package it was built from (Debian `Source:`), when it differs.
    pub source_package: Option<String>,
    /// The source package's version when it differs from the package's (Debian `Source: gcc-12
    /// (12.2.0-14)`): distribution advisories are about source versions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// What it depends on: names as declared (constraints kept), resolved by name within its
    /// ecosystem; or a purl (`pkg:…`), resolved exactly to the packages with that purl in any
    /// ecosystem (foreign SBOMs give exact edges; names would be lossy for same-name packages).
    pub depends: Vec<String>,
    /// Other names it can be depended on by, as declared (apk `p:` such as
    /// `so:libc.musl-x86_64.so.1=1` or `cmd:getconf`, rpm `Provides`), constraints kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provides: Vec<String>,
    /// Files it owns.
    pub files: Vec<OwnedFile>,
    /// Where it was found (its database or manifest).
    pub found_at: String,
    /// Which cataloger found it (`dpkg`, `python`, `npm`, …).
    pub cataloger: &'static str,
    /// The purl of the distribution package that owns this language package's files (e.g.
    /// Debian's `python3-six` owning `six-1.16.0.dist-info`): its advisories are the
    /// distribution's, which may have backported fixes.
    pub owned_by: Option<String>,
    /// Declared only as a development dependency (npm lockfile `dev: true`): not part of what
    /// runs, and kept apart from what is installed.
    pub dev: bool,
}

impl Package {
    /// A package with its identity and origin; every other field empty.
    pub fn new(
        ecosystem: Ecosystem,
        name: impl Into<String>,
        version: impl Into<String>,
        purl: impl Into<String>,
        found_at: impl Into<String>,
        cataloger: &'static str,
    ) -> Self {
        Self {
            ecosystem,
            name: name.into(),
            version: version.into(),
            purl: purl.into(),
            cpe: None,
            license: None,
            supplier: None,
            arch: None,
            source_package: None,
            source_version: None,
            depends: Vec::new(),
            provides: Vec::new(),
            files: Vec::new(),
            found_at: found_at.into(),
            cataloger,
            owned_by: None,
            dev: false,
        }
    }

    /// A stable identifier derived from content (ecosystem, name, version, where found).
    pub fn id(&self) -> String {
        let key = format!(
            "{}|{}|{}|{}",
            self.purl, self.found_at, self.name, self.version
        );
        let digest = <sha2::Sha256 as sha2::Digest>::digest(key.as_bytes());
        format!("pkg-{}", &hex::encode(digest.as_slice())[..16])
    }
}

/// A regular file of the merged filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageFile {
    pub size: u64,
    pub mode: u32,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: Option<String>,
    /// Lowercase hex MD5 of the content, computed in the same walk (dpkg records MD5s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

/// Everything the catalogers found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// Sorted by ecosystem, name, version, place found.
    pub packages: Vec<Package>,
    /// Every regular file in the image, by absolute path.
    pub files: BTreeMap<String, ImageFile>,
    /// Every symlink in the image: path → target as stored.
    pub links: BTreeMap<String, String>,
    /// What the walk or a cataloger could not read, with a stable code first (`code: detail`).
    pub warnings: Vec<String>,
}

impl Inventory {
    /// Sorts packages deterministically.
    pub fn normalise(&mut self) {
        for p in &mut self.packages {
            p.files.sort();
            p.files.dedup();
        }
        self.packages.sort_by(|a, b| {
            (a.ecosystem, &a.name, &a.version, &a.found_at).cmp(&(
                b.ecosystem,
                &b.name,
                &b.version,
                &b.found_at,
            ))
        });
        self.warnings.sort();
        self.warnings.dedup();
    }

    /// For each package (same order as `packages`), the present packages its declared
    /// dependencies name in its own ecosystem, sorted by id and without repeats. A dependency
    /// resolves to a package of that name, else to one that provides it (apk `so:`/`cmd:`
    /// provides, rpm `Provides`); a `pkg:` entry to the package with exactly that purl.
    /// Dependencies the image lacks are not invented.
    pub fn dependency_graph(&self) -> Vec<Vec<&Package>> {
        let index = self.dependency_index();
        self.packages
            .iter()
            .map(|p| {
                let on: Vec<&Package> = p
                    .depends
                    .iter()
                    .filter_map(|d| index.resolve(p, d))
                    .collect();
                let mut keyed: Vec<(String, &Package)> =
                    on.into_iter().map(|d| (d.id(), d)).collect();
                keyed.sort_by(|a, b| a.0.cmp(&b.0));
                keyed.dedup_by(|a, b| a.0 == b.0);
                keyed.into_iter().map(|(_, d)| d).collect()
            })
            .collect()
    }

    /// Looks declared dependencies up among the present packages.
    pub fn dependency_index(&self) -> DependencyIndex<'_> {
        let mut by_name: BTreeMap<(String, Ecosystem), Vec<&Package>> = BTreeMap::new();
        for p in &self.packages {
            by_name
                .entry((lookup_key(p.ecosystem, &p.name), p.ecosystem))
                .or_default()
                .push(p);
        }
        let mut by_provide: BTreeMap<(String, Ecosystem), Vec<&Package>> = BTreeMap::new();
        for p in &self.packages {
            for provided in &p.provides {
                by_provide
                    .entry((
                        lookup_key(p.ecosystem, declared_name(provided)),
                        p.ecosystem,
                    ))
                    .or_default()
                    .push(p);
            }
        }
        let mut by_purl: BTreeMap<&str, Vec<&Package>> = BTreeMap::new();
        for p in &self.packages {
            by_purl.entry(p.purl.as_str()).or_default().push(p);
        }
        DependencyIndex {
            by_name,
            by_provide,
            by_purl,
            by_found_at: self
                .packages
                .iter()
                .filter(|p| p.ecosystem == Ecosystem::Npm)
                .map(|p| (p.found_at.as_str(), p))
                .collect(),
        }
    }

    /// A namespace for identifiers, derived from the image digest and the packages found: the
    /// same image gives the same identifiers, a different inventory different ones.
    pub fn namespace(&self, image_digest: &str) -> String {
        let ids: Vec<String> = self.packages.iter().map(Package::id).collect();
        let seed = format!("{image_digest}|{}", ids.join(","));
        hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(seed.as_bytes())[..16])
    }

    /// Follows symlinked directories (e.g. `/lib` → `usr/lib` on merged-/usr systems) so a path
    /// a package recorded finds the regular file it names. Borrows `path` when no symlink is
    /// on the way (the common case: this runs for every file of every package).
    pub fn resolve_path<'p>(&self, path: &'p str) -> Cow<'p, str> {
        let mut current = Cow::Borrowed(path);
        for _ in 0..40 {
            match self.resolve_first_link(&current) {
                Some(next) => current = Cow::Owned(next),
                None => break,
            }
        }
        current
    }

    /// `path` with its first symlinked ancestor (or itself) replaced by the link's target.
    fn resolve_first_link(&self, path: &str) -> Option<String> {
        if self.links.is_empty() {
            return None;
        }
        let normal =
            path.starts_with('/') && path.len() > 1 && !path.ends_with('/') && !path.contains("//");
        if !normal {
            // `//a/b/`, `a/b`: the same prefixes, spelled the canonical way.
            let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
            if parts.is_empty() {
                return None;
            }
            return self.resolve_first_link(&format!("/{}", parts.join("/")));
        }
        let ends = path.match_indices('/').skip(1).map(|(i, _)| i);
        for end in ends.chain(std::iter::once(path.len())) {
            let prefix = &path[..end];
            if let Some(target) = self.links.get(prefix) {
                let resolved = proofline_oci::resolve_in_root(prefix, target);
                let rest = &path[end..];
                return Some(if rest.is_empty() {
                    resolved
                } else {
                    format!("{}{rest}", resolved.trim_end_matches('/'))
                });
            }
        }
        None
    }

    /// Executables and shared libraries no package claims: a binary copied in is never
    /// invisible. Package managers' own databases (maintainer scripts) are not counted.
    pub fn unowned_binaries(&self) -> Vec<&str> {
        const DATABASES: [&str; 3] = ["/var/lib/dpkg/", "/lib/apk/db/", "/var/lib/rpm/"];
        let owned: std::collections::HashSet<Cow<'_, str>> = self
            .packages
            .iter()
            .flat_map(|p| p.files.iter().map(|f| self.resolve_path(&f.path)))
            .collect();
        self.files
            .iter()
            .filter(|(path, f)| {
                let executable = f.mode & 0o111 != 0;
                let library = path.contains(".so");
                (executable || library)
                    && !DATABASES.iter().any(|db| path.starts_with(db))
                    && !owned.contains(&Cow::Borrowed(path.as_str()))
            })
            .map(|(path, _)| path.as_str())
            .collect()
    }
}

/// The present packages by name and ecosystem, to resolve declared dependencies.
#[derive(Debug)]
pub struct DependencyIndex<'a> {
    by_name: BTreeMap<(String, Ecosystem), Vec<&'a Package>>,
    /// What packages provide besides their name (apk `so:`/`cmd:`, rpm `Provides`).
    by_provide: BTreeMap<(String, Ecosystem), Vec<&'a Package>>,
    by_found_at: BTreeMap<&'a str, &'a Package>,
    by_purl: BTreeMap<&'a str, Vec<&'a Package>>,
}

/// How names compare within an ecosystem: PyPI names case- and separator-insensitively
/// (PEP 503), every other ecosystem exactly.
fn lookup_key(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::Pypi => crate::catalog::python::normalise(name),
        _ => name.to_string(),
    }
}

impl<'a> DependencyIndex<'a> {
    /// The present package a declared dependency of `from` names: the first alternative
    /// (`a | b`) present, in `from`'s ecosystem. When several packages share the name (npm's
    /// nested copies, two databases), the one `from` would load: for npm the nearest
    /// `node_modules` up from `from`'s own folder, as Node resolves; otherwise one from the same
    /// database or manifest.
    pub fn resolve(&self, from: &Package, declared: &str) -> Option<&'a Package> {
        if declared.starts_with("pkg:") {
            // An exact edge (foreign SBOMs), in any ecosystem.
            let candidates = self.by_purl.get(declared)?;
            return candidates
                .iter()
                .find(|c| c.found_at == from.found_at)
                .or_else(|| candidates.first())
                .copied();
        }
        declared.split('|').find_map(|alternative| {
            let name = dependency_name(alternative);
            // A package of that name (the whole declared name first: `so:libc.musl…`), else
            // one that provides it.
            let key = |n: &str| (lookup_key(from.ecosystem, n), from.ecosystem);
            let whole = key(declared_name(alternative));
            let short = key(name);
            let candidates = self
                .by_name
                .get(&whole)
                .or_else(|| self.by_name.get(&short))
                .or_else(|| self.by_provide.get(&whole))
                .or_else(|| self.by_provide.get(&short))?;
            if let [only] = candidates.as_slice() {
                return Some(*only);
            }
            if from.ecosystem == Ecosystem::Npm
                && let Some(found) = self.node_resolve(from, name)
            {
                return Some(found);
            }
            candidates
                .iter()
                .find(|c| c.found_at == from.found_at)
                .or_else(|| candidates.first())
                .copied()
        })
    }

    /// Node's lookup: `<dir>/node_modules/<name>/package.json` from `from`'s folder upwards.
    fn node_resolve(&self, from: &Package, name: &str) -> Option<&'a Package> {
        // The package's folder: `…/node_modules/x` for `…/node_modules/x/package.json`, the
        // project for its `package-lock.json`.
        let mut dir = from.found_at.rsplit_once('/')?.0;
        loop {
            let candidate = format!("{dir}/node_modules/{name}/package.json");
            if let Some(p) = self.by_found_at.get(candidate.as_str()) {
                return Some(*p);
            }
            dir = &dir[..dir.rfind('/')?];
        }
    }
}

/// The package name a declared dependency names: the first alternative, without its version
/// constraint, architecture qualifier or extras (`libc6 (>= 2.36) | libc6.1`, `foo>=1; extra`,
/// `libgcc-s1:amd64`, npm's `ms@^2.1.3` and `@types/node@18`).
pub fn dependency_name(declared: &str) -> &str {
    let first = declared
        .trim_start()
        .split(['|', ' ', '(', '<', '>', '=', '!', '~', ';', '['])
        .next()
        .unwrap_or("")
        .trim();
    let first = first.split(':').next().unwrap_or(first);
    // npm's `name@range` and `@scope/name@range`: the name ends at an `@` after the first byte.
    match first.get(1..).and_then(|rest| rest.find('@')) {
        Some(at) => &first[..=at],
        None => first,
    }
}

/// A declared dependency or provide without its version constraint or alternatives, but whole
/// otherwise: `so:libc.musl-x86_64.so.1=1` → `so:libc.musl-x86_64.so.1`, `musl>=1.2` → `musl`,
/// `libc.so.6(GLIBC_2.34)(64bit)` unchanged (provides are matched on this whole name).
pub fn declared_name(declared: &str) -> &str {
    declared
        .trim()
        .split(['|', ' ', '<', '>', '=', '!', '~', ';', '['])
        .next()
        .unwrap_or("")
        .trim()
}

/// Whether a licence string reads as an SPDX licence expression (ids, `AND`/`OR`/`WITH`,
/// parentheses); free text is not, and is written as `NOASSERTION` or a name instead.
pub fn is_spdx_expression(l: &str) -> bool {
    !l.is_empty()
        && l.split_whitespace().all(|w| {
            matches!(w, "AND" | "OR" | "WITH")
                || w.trim_matches(['(', ')'])
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'))
        })
}

/// Percent-encodes a purl component (name, version, qualifier value).
pub fn purl_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn file(mode: u32) -> ImageFile {
        ImageFile {
            size: 1,
            mode,
            sha256: Some("00".repeat(32)),
            md5: None,
        }
    }

    #[test]
    fn symlinked_directories_are_followed() {
        let mut inv = Inventory::default();
        inv.links.insert("/lib".into(), "usr/lib".into());
        inv.links.insert("/usr/lib/alt".into(), "/opt/real".into());
        assert_eq!(
            inv.resolve_path("/lib/x86_64-linux-gnu/libz.so.1"),
            "/usr/lib/x86_64-linux-gnu/libz.so.1"
        );
        assert_eq!(inv.resolve_path("/lib/alt/f"), "/opt/real/f");
        assert_eq!(inv.resolve_path("/etc/passwd"), "/etc/passwd");
    }

    fn deb(name: &str, depends: &[&str]) -> Package {
        Package {
            ecosystem: Ecosystem::Deb,
            name: name.into(),
            version: "1".into(),
            purl: format!("pkg:deb/debian/{name}@1"),
            cpe: None,
            license: None,
            supplier: None,
            arch: None,
            source_package: None,
            source_version: None,
            depends: depends.iter().map(|d| d.to_string()).collect(),
            provides: Vec::new(),
            files: Vec::new(),
            found_at: "/var/lib/dpkg/status".into(),
            cataloger: "dpkg",
            owned_by: None,
            dev: false,
        }
    }

    #[test]
    fn dependencies_resolve_to_present_packages_only() {
        let inv = Inventory {
            packages: vec![
                deb(
                    "bash",
                    &[
                        "libc6 (>= 2.36)",
                        "libtinfo6 | libncurses",
                        "libc6:amd64",
                        "absent",
                    ],
                ),
                deb("libc6", &[]),
                deb("libtinfo6", &[]),
            ],
            ..Inventory::default()
        };
        let graph = inv.dependency_graph();
        let mut names: Vec<&str> = graph[0].iter().map(|p| p.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["libc6", "libtinfo6"]);
        assert!(graph[1].is_empty() && graph[2].is_empty());
    }

    #[test]
    fn dependencies_resolve_through_provides() {
        let mut musl = deb("musl", &[]);
        musl.ecosystem = Ecosystem::Apk;
        musl.provides = vec!["so:libc.musl-x86_64.so.1=1".into()];
        let mut utils = deb("musl-utils", &[]);
        utils.ecosystem = Ecosystem::Apk;
        utils.provides = vec!["cmd:getconf=1.2.4-r1".into(), "musl".into()];
        let mut app = deb(
            "app",
            &[
                "so:libc.musl-x86_64.so.1",
                "cmd:getconf",
                "musl>=1.2",
                "so:libssl.so.3",
            ],
        );
        app.ecosystem = Ecosystem::Apk;
        // Same provide in another ecosystem is not used.
        let mut other = deb("libz", &[]);
        other.provides = vec!["so:libssl.so.3".into()];
        let inv = Inventory {
            packages: vec![app, musl, utils, other],
            ..Inventory::default()
        };
        let graph = inv.dependency_graph();
        let mut names: Vec<&str> = graph[0].iter().map(|p| p.name.as_str()).collect();
        names.sort();
        // `musl>=1.2` is the package named musl, not musl-utils that also provides it.
        assert_eq!(names, ["musl", "musl-utils"]);
        assert_eq!(
            declared_name("libc.so.6(GLIBC_2.34)(64bit)"),
            "libc.so.6(GLIBC_2.34)(64bit)"
        );
    }

    #[test]
    fn a_purl_dependency_resolves_exactly_where_a_name_would_be_ambiguous() {
        let mut old = deb("minimist", &[]);
        old.version = "0.0.8".into();
        old.purl = "pkg:deb/debian/minimist@0.0.8".into();
        let inv = Inventory {
            packages: vec![
                deb(
                    "mkdirp",
                    &["pkg:deb/debian/minimist@0.0.8", "pkg:npm/absent@1"],
                ),
                deb("minimist", &[]),
                old,
            ],
            ..Inventory::default()
        };
        let graph = inv.dependency_graph();
        let on: Vec<&str> = graph[0].iter().map(|p| p.version.as_str()).collect();
        assert_eq!(on, ["0.0.8"]);
    }

    #[test]
    fn a_binary_no_package_owns_is_listed() {
        let mut inv = Inventory::default();
        inv.links.insert("/lib".into(), "usr/lib".into());
        inv.files.insert("/usr/lib/libz.so.1".into(), file(0o644));
        inv.files
            .insert("/usr/local/bin/copied-in".into(), file(0o755));
        inv.files.insert("/etc/passwd".into(), file(0o644));
        inv.files
            .insert("/var/lib/dpkg/info/zlib1g.postinst".into(), file(0o755));
        inv.packages.push(Package {
            ecosystem: Ecosystem::Deb,
            name: "zlib1g".into(),
            version: "1".into(),
            purl: "pkg:deb/debian/zlib1g@1".into(),
            cpe: None,
            license: None,
            supplier: None,
            arch: None,
            source_package: None,
            source_version: None,
            depends: Vec::new(),
            provides: Vec::new(),
            files: vec![OwnedFile {
                path: "/lib/libz.so.1".into(),
                recorded: None,
            }],
            found_at: "/var/lib/dpkg/status".into(),
            cataloger: "dpkg",
            owned_by: None,
            dev: false,
        });
        assert_eq!(inv.unowned_binaries(), ["/usr/local/bin/copied-in"]);
    }

    #[test]
    fn npm_dependencies_resolve_to_the_copy_node_would_load() {
        let npm = |name: &str, version: &str, at: &str, depends: &[&str]| {
            let mut p = Package::new(
                Ecosystem::Npm,
                name,
                version,
                format!("pkg:npm/{name}@{version}"),
                at,
                "npm",
            );
            p.depends = depends.iter().map(ToString::to_string).collect();
            p
        };
        let mut inv = Inventory {
            packages: vec![
                npm("app", "1.0.0", "/app/package.json", &["mkdirp", "minimist"]),
                npm(
                    "minimist",
                    "1.2.0",
                    "/app/node_modules/minimist/package.json",
                    &[],
                ),
                npm(
                    "mkdirp",
                    "0.5.1",
                    "/app/node_modules/mkdirp/package.json",
                    &["minimist"],
                ),
                npm(
                    "minimist",
                    "0.0.8",
                    "/app/node_modules/mkdirp/node_modules/minimist/package.json",
                    &[],
                ),
            ],
            ..Inventory::default()
        };
        inv.normalise();
        let graph = inv.dependency_graph();
        let edges: Vec<(String, Vec<String>)> = inv
            .packages
            .iter()
            .zip(graph)
            .map(|(p, on)| {
                (
                    format!("{}@{}", p.name, p.version),
                    on.iter()
                        .map(|d| format!("{}@{}", d.name, d.version))
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, on)| !on.is_empty())
            .collect();
        let find = |k: &str| edges.iter().find(|(p, _)| p == k).unwrap().1.clone();
        let mut app = find("app@1.0.0");
        app.sort();
        assert_eq!(app, ["minimist@1.2.0", "mkdirp@0.5.1"]);
        assert_eq!(find("mkdirp@0.5.1"), ["minimist@0.0.8"]);
    }

    #[test]
    fn dependency_names_across_ecosystems() {
        for (declared, name) in [
            ("libc6 (>= 2.36) | libc6.1", "libc6"),
            ("libgcc-s1:amd64", "libgcc-s1"),
            ("PySocks!=1.5.7,>=1.5.6; extra == \"socks\"", "PySocks"),
            ("requests[socks]>=2", "requests"),
            ("ms@^2.1.3", "ms"),
            ("ms@~2.1.3", "ms"),
            ("minimist@1.2.0", "minimist"),
            ("@types/node@^18.0.0", "@types/node"),
            ("@types/node", "@types/node"),
            ("lodash", "lodash"),
        ] {
            assert_eq!(dependency_name(declared), name, "{declared}");
        }
    }
}
