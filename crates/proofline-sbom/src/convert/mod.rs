//! Reads SBOMs other tools wrote (CycloneDX 1.4–1.6 JSON, SPDX 2.3 JSON, SPDX 3.0.1 JSON-LD)
//! into the same [`Inventory`] the catalogers fill, so every later stage (the writers, the scan)
//! takes any SBOM as input. The format is detected from the content, never from the file name.
//!
//! Limits, so a hostile document cannot exhaust memory: the document is at most [`MAX_BYTES`]
//! (64 MiB, several times the largest real image SBOMs), at most [`MAX_PACKAGES`] packages,
//! [`MAX_FILES`] files and [`MAX_EDGES`] dependency or ownership edges, components nested at most
//! [`MAX_DEPTH`] deep (JSON nesting itself stops at serde_json's limit of 128).

mod cyclonedx;
mod spdx23;
mod spdx3;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::cyclonedx::Subject;
use crate::model::{
    Ecosystem, ImageFile, Inventory, OwnedFile, Package, is_spdx_expression, purl_escape,
};

/// The largest document read (64 MiB).
pub const MAX_BYTES: usize = 64 * 1024 * 1024;
/// The most packages one document may carry.
pub const MAX_PACKAGES: usize = 500_000;
/// The most files one document may carry.
pub const MAX_FILES: usize = 1_000_000;
/// The most dependency and ownership edges one document may carry.
pub const MAX_EDGES: usize = 4_000_000;
/// How deep CycloneDX components may nest.
pub const MAX_DEPTH: usize = 32;

/// A foreign SBOM, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// What was read, e.g. `CycloneDX 1.5`, `SPDX 2.3`, `SPDX 3.0.1`.
    pub format: String,
    /// What the document describes (CycloneDX `metadata.component`, SPDX 2 `documentDescribes`
    /// or `DESCRIBES`, SPDX 3 the `software_Sbom`'s `rootElement`). `digest` is `sha256:<hex>`
    /// when the document records a SHA-256 for it, else its version when that reads as a digest,
    /// else empty. A container root is not repeated among the packages; any other root is.
    pub subject: Option<Subject>,
    /// The packages (cataloger `cyclonedx` or `spdx`), their dependencies as exact purl edges,
    /// the files the document lists (size and mode unknown: 0, and `0o755` for executables) and
    /// what could not be read, as `code: detail` warnings.
    pub inventory: Inventory,
    /// The tool(s) that wrote it, as the document names them (`syft v1.0`, `trivy dev`).
    pub tool: Option<String>,
}

/// Why a document could not be read at all (anything less is a warning in the inventory).
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(
        "{document}: {size} bytes is over the {MAX_BYTES}-byte limit for an SBOM read by convert; \
         split it (e.g. one SBOM per image or project) and convert each part"
    )]
    TooLarge { document: String, size: usize },
    #[error("{document}: this is {found}, but convert reads JSON only; {fix}")]
    NotJson {
        document: String,
        found: &'static str,
        fix: &'static str,
    },
    #[error("{document}: not valid JSON (line {line}, column {column}): {detail}")]
    BadJson {
        document: String,
        line: usize,
        column: usize,
        detail: String,
    },
    #[error(
        "{document}: JSON, but not an SBOM convert reads: it has no CycloneDX `bomFormat`, no SPDX 2 \
         `spdxVersion` and no SPDX 3 `@context` with `@graph`"
    )]
    Unrecognised { document: String },
    #[error("{document}: {found} is not supported (convert reads {supported}); {fix}")]
    Unsupported {
        document: String,
        found: String,
        supported: &'static str,
        fix: &'static str,
    },
    #[error("{document}: {format}: {problem}")]
    Malformed {
        document: String,
        format: String,
        problem: String,
    },
    #[error("{document}: {format}: more than {limit} {what}; refusing to hold it in memory")]
    TooMany {
        document: String,
        format: String,
        what: &'static str,
        limit: usize,
    },
}

const CYCLONEDX_SUPPORTED: &str =
    "CycloneDX 1.4, 1.5 and 1.6 JSON (1.7 too: the fields read are unchanged)";
const CYCLONEDX_FIX: &str = "write it again with spec version 1.4 or later (`cargo cyclonedx --spec-version 1.5`, \
     `cyclonedx-py … --spec-version 1.6`, `syft -o cyclonedx-json@1.6`) or upgrade it with the CycloneDX CLI: \
     `cyclonedx convert --input-file IN --output-file OUT.cdx.json --output-version v1_6`";
const SPDX_SUPPORTED: &str =
    "SPDX 2.3 JSON (2.2 too: same JSON fields) and SPDX 3.0.1 JSON-LD (3.0.0 too)";
const SPDX_FIX: &str = "write it again as SPDX 2.3 JSON (`pyspdxtools --infile IN --outfile OUT.spdx.json` \
     converts 2.x documents) or as SPDX 3.0.1 JSON-LD";

/// Reads a foreign SBOM; errors call it "the SBOM" (use [`read_named`] to name the file).
pub fn read(bytes: &[u8]) -> Result<Foreign, ConvertError> {
    read_named("the SBOM", bytes)
}

/// Reads a foreign SBOM; `document` names it in errors and is where its packages were found
/// when the document does not say.
pub fn read_named(document: &str, bytes: &[u8]) -> Result<Foreign, ConvertError> {
    if bytes.len() > MAX_BYTES {
        return Err(ConvertError::TooLarge {
            document: document.into(),
            size: bytes.len(),
        });
    }
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let text = text.get(start..).unwrap_or_default();
    if let Some((found, fix)) = not_json(text) {
        return Err(ConvertError::NotJson {
            document: document.into(),
            found,
            fix,
        });
    }
    let value: Value = serde_json::from_slice(text).map_err(|e| ConvertError::BadJson {
        document: document.into(),
        line: e.line(),
        column: e.column(),
        detail: e.to_string(),
    })?;
    let unrecognised = || ConvertError::Unrecognised {
        document: document.into(),
    };
    let Some(object) = value.as_object() else {
        return Err(unrecognised());
    };
    if let Some(format) = object.get("bomFormat") {
        if format.as_str() != Some("CycloneDX") {
            return Err(unrecognised());
        }
        let version = object
            .get("specVersion")
            .and_then(Value::as_str)
            .unwrap_or("(no specVersion)");
        return match version {
            "1.4" | "1.5" | "1.6" | "1.7" => cyclonedx::read(document, version, &value),
            _ => Err(ConvertError::Unsupported {
                document: document.into(),
                found: format!("CycloneDX {version}"),
                supported: CYCLONEDX_SUPPORTED,
                fix: CYCLONEDX_FIX,
            }),
        };
    }
    if let Some(version) = object.get("spdxVersion") {
        let version = version.as_str().unwrap_or("(spdxVersion not a string)");
        return match version {
            "SPDX-2.3" | "SPDX-2.2" => spdx23::read(document, &version[5..], &value),
            _ => Err(ConvertError::Unsupported {
                document: document.into(),
                found: format!("SPDX version {version}"),
                supported: SPDX_SUPPORTED,
                fix: SPDX_FIX,
            }),
        };
    }
    if let (Some(context), Some(_)) = (object.get("@context"), object.get("@graph")) {
        let contexts: Vec<&str> = match context {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let spdx = contexts
            .iter()
            .find_map(|c| c.split_once("spdx.org/rdf/").map(|(_, v)| v));
        return match spdx.map(|v| v.split('/').next().unwrap_or_default()) {
            Some(v @ ("3.0.1" | "3.0.0")) => spdx3::read(document, v, &value),
            Some(v) => Err(ConvertError::Unsupported {
                document: document.into(),
                found: format!("SPDX JSON-LD with context version {v}"),
                supported: SPDX_SUPPORTED,
                fix: SPDX_FIX,
            }),
            None => Err(unrecognised()),
        };
    }
    Err(unrecognised())
}

/// Recognises the non-JSON serialisations of both standards, with the command that converts
/// each to JSON.
fn not_json(text: &[u8]) -> Option<(&'static str, &'static str)> {
    let head = String::from_utf8_lossy(text.get(..4096).unwrap_or(text)).to_ascii_lowercase();
    if head.starts_with('<') {
        return Some(if head.contains("cyclonedx") {
            (
                "CycloneDX XML",
                "convert it with the CycloneDX CLI: `cyclonedx convert --input-file IN.xml --output-file OUT.cdx.json --output-format json`",
            )
        } else if head.contains("spdx") {
            (
                "SPDX RDF/XML",
                "convert it with the SPDX tools: `pyspdxtools --infile IN.rdf.xml --outfile OUT.spdx.json`",
            )
        } else {
            (
                "XML",
                "give the JSON serialisation of the SBOM (CycloneDX JSON, SPDX 2.3 JSON or SPDX 3 JSON-LD)",
            )
        });
    }
    if head.starts_with("spdxversion:") || head.contains("\nspdxversion:") {
        return Some((
            "SPDX tag-value or YAML",
            "convert it with the SPDX tools: `pyspdxtools --infile IN.spdx --outfile OUT.spdx.json`",
        ));
    }
    None
}

/// The purl type of `purl` when it reads as a purl (`pkg:<type>/<name>…`).
pub(crate) fn purl_type(purl: &str) -> Option<&str> {
    let rest = purl.strip_prefix("pkg:")?.trim_start_matches('/');
    let (kind, name) = rest.split_once('/')?;
    let valid = kind.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'));
    (valid && !name.is_empty()).then_some(kind)
}

/// The ecosystem a purl type names; types no cataloger here produces are [`Ecosystem::Other`].
pub(crate) fn ecosystem_of(kind: &str) -> Ecosystem {
    match kind.to_ascii_lowercase().as_str() {
        "deb" => Ecosystem::Deb,
        "apk" => Ecosystem::Apk,
        "rpm" => Ecosystem::Rpm,
        "pypi" => Ecosystem::Pypi,
        "npm" => Ecosystem::Npm,
        "cargo" => Ecosystem::Cargo,
        "golang" => Ecosystem::Golang,
        "maven" => Ecosystem::Maven,
        _ => Ecosystem::Other,
    }
}

/// A qualifier's value (`arch` in `pkg:deb/debian/bash@5?arch=amd64`), when present and set.
pub(crate) fn qualifier(purl: &str, key: &str) -> Option<String> {
    let query = purl.split('#').next()?.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, v)| k.eq_ignore_ascii_case(key) && !v.is_empty())
        .map(|(_, v)| v.to_string())
}

/// A licence as the document gives it; `NOASSERTION`, `NONE` and empty mean none declared.
pub(crate) fn licence(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s != "NOASSERTION" && s != "NONE").then(|| s.to_string())
}

/// Several licences declared for one package, as one expression: the SPDX expressions among
/// them joined with `AND` (all apply); free-text names (`License :: OSI Approved :: BSD
/// License`) only when there is no expression, joined with `, `.
pub(crate) fn all_of(licences: Vec<String>) -> Option<String> {
    let (expressions, names): (Vec<String>, Vec<String>) =
        licences.into_iter().partition(|l| is_spdx_expression(l));
    if expressions.is_empty() {
        return (!names.is_empty()).then(|| names.join(", "));
    }
    if expressions.len() == 1 {
        return expressions.into_iter().next();
    }
    Some(
        expressions
            .iter()
            .map(|l| {
                if l.contains(' ') {
                    format!("({l})")
                } else {
                    l.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" AND "),
    )
}

/// A digest as `sha256:<hex>` when `value` is one (`sha256:redacted` is not).
pub(crate) fn sha256_digest(value: &str) -> Option<String> {
    let hex = sha256_hex(value.strip_prefix("sha256:")?)?;
    Some(format!("sha256:{hex}"))
}

/// A SHA-256 as lowercase hex, when the value is one.
pub(crate) fn sha256_hex(value: &str) -> Option<String> {
    let v = value.trim().to_ascii_lowercase();
    (v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())).then_some(v)
}

/// The string at `key`, when it is a non-empty string.
pub(crate) fn text<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The strings of a value that may be one string or an array of them (JSON-LD allows both).
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Collects packages, files and edges under the document's own identifiers (bom-ref, SPDXID,
/// spdxId), then resolves edges into exact purl dependencies.
pub(crate) struct Builder {
    document: String,
    format: String,
    cataloger: &'static str,
    packages: Vec<Package>,
    refs: HashMap<String, usize>,
    edges: Vec<(String, String)>,
    files: BTreeMap<String, ImageFile>,
    owned: Vec<(String, String)>,
    warnings: Vec<String>,
    no_purl: (usize, String),
    anonymous: usize,
}

impl Builder {
    pub(crate) fn new(document: &str, format: &str, cataloger: &'static str) -> Self {
        Self {
            document: document.into(),
            format: format.into(),
            cataloger,
            packages: Vec::new(),
            refs: HashMap::new(),
            edges: Vec::new(),
            files: BTreeMap::new(),
            owned: Vec::new(),
            warnings: Vec::new(),
            no_purl: (0, String::new()),
            anonymous: 0,
        }
    }

    pub(crate) fn format(&self) -> &str {
        &self.format
    }

    pub(crate) fn malformed(&self, problem: impl Into<String>) -> ConvertError {
        ConvertError::Malformed {
            document: self.document.clone(),
            format: self.format.clone(),
            problem: problem.into(),
        }
    }

    fn too_many(&self, what: &'static str, limit: usize) -> ConvertError {
        ConvertError::TooMany {
            document: self.document.clone(),
            format: self.format.clone(),
            what,
            limit,
        }
    }

    pub(crate) fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// A package with its identity: the ecosystem from the purl type, the architecture from
    /// its `arch` qualifier; no usable purl gives `pkg:generic/<name>@<version>` (counted).
    pub(crate) fn make(
        &mut self,
        name: &str,
        version: &str,
        purl: Option<&str>,
        found_at: Option<&str>,
    ) -> Package {
        let purl = purl.map(str::trim);
        let (ecosystem, purl) = match purl.and_then(|p| purl_type(p).map(|t| (p, t))) {
            Some((p, kind)) => (ecosystem_of(kind), p.to_string()),
            None => {
                self.no_purl.0 += 1;
                if self.no_purl.1.is_empty() {
                    self.no_purl.1 = format!("{name}@{version} (purl {:?})", purl.unwrap_or(""));
                }
                let at = if version.is_empty() {
                    String::new()
                } else {
                    format!("@{}", purl_escape(version))
                };
                (
                    Ecosystem::Other,
                    format!("pkg:generic/{}{at}", purl_escape(name)),
                )
            }
        };
        let mut p = Package::new(
            ecosystem,
            name,
            version,
            purl,
            found_at.unwrap_or(&self.document),
            self.cataloger,
        );
        p.arch = qualifier(&p.purl, "arch");
        p
    }

    /// Adds a package under the document's identifier for it (none: an identifier of its own).
    /// Returns the identifier edges and files should use.
    pub(crate) fn add(&mut self, local: Option<&str>, p: Package) -> Result<String, ConvertError> {
        if self.packages.len() >= MAX_PACKAGES {
            return Err(self.too_many("packages", MAX_PACKAGES));
        }
        let local = match local {
            Some(l) if !self.refs.contains_key(l) => l.to_string(),
            Some(l) => {
                self.warnings.push(format!(
                    "foreign-duplicate-id: {}: `{l}` names two elements; edges go to the first",
                    self.format
                ));
                self.anonymous += 1;
                format!("\u{0}duplicate-{}", self.anonymous)
            }
            None => {
                self.anonymous += 1;
                format!("\u{0}anonymous-{}", self.anonymous)
            }
        };
        self.refs.insert(local.clone(), self.packages.len());
        self.packages.push(p);
        Ok(local)
    }

    pub(crate) fn package_mut(&mut self, local: &str) -> Option<&mut Package> {
        let i = *self.refs.get(local)?;
        self.packages.get_mut(i)
    }

    pub(crate) fn is_package(&self, local: &str) -> bool {
        self.refs.contains_key(local)
    }

    /// `from` depends on `to` (both the document's identifiers).
    pub(crate) fn edge(&mut self, from: &str, to: &str) -> Result<(), ConvertError> {
        if self.edges.len() + self.owned.len() >= MAX_EDGES {
            return Err(self.too_many("edges", MAX_EDGES));
        }
        self.edges.push((from.to_string(), to.to_string()));
        Ok(())
    }

    /// A file the document lists, with its SHA-256 when recorded.
    pub(crate) fn file(
        &mut self,
        path: &str,
        sha256: Option<String>,
        executable: bool,
    ) -> Result<(), ConvertError> {
        if self.files.len() >= MAX_FILES {
            return Err(self.too_many("files", MAX_FILES));
        }
        let entry = self.files.entry(path.to_string()).or_insert(ImageFile {
            size: 0,
            mode: 0o644,
            sha256: None,
            md5: None,
        });
        if entry.sha256.is_none() {
            entry.sha256 = sha256;
        }
        if executable {
            entry.mode = 0o755;
        }
        Ok(())
    }

    /// The package `local` owns the file at `path`.
    pub(crate) fn own(&mut self, local: &str, path: &str) -> Result<(), ConvertError> {
        if self.edges.len() + self.owned.len() >= MAX_EDGES {
            return Err(self.too_many("edges", MAX_EDGES));
        }
        self.owned.push((local.to_string(), path.to_string()));
        Ok(())
    }

    /// Resolves edges to purls: an edge from something that is not a package (the root, an
    /// operating-system component) is not a package dependency and is dropped; an edge from a
    /// package to something that is not one is counted in a warning.
    pub(crate) fn finish(mut self) -> Inventory {
        let mut unresolved = (0usize, String::new());
        for (from, to) in std::mem::take(&mut self.edges) {
            let Some(&f) = self.refs.get(&from) else {
                continue;
            };
            match self.refs.get(&to) {
                Some(&t) if t != f => {
                    let purl = self.packages.get(t).map(|p| p.purl.clone());
                    if let (Some(purl), Some(p)) = (purl, self.packages.get_mut(f)) {
                        p.depends.push(purl);
                    }
                }
                Some(_) => {}
                None => {
                    unresolved.0 += 1;
                    if unresolved.1.is_empty() {
                        unresolved.1 = format!("`{from}` → `{to}`");
                    }
                }
            }
        }
        for (local, path) in std::mem::take(&mut self.owned) {
            if let Some(p) = self.package_mut(&local) {
                p.files.push(OwnedFile {
                    path,
                    recorded: None,
                });
            }
        }
        for p in &mut self.packages {
            p.depends.sort();
            p.depends.dedup();
        }
        if self.no_purl.0 > 0 {
            self.warnings.push(format!(
                "foreign-no-purl: {}: {} package(s) without a usable purl kept as pkg:generic (e.g. {})",
                self.format, self.no_purl.0, self.no_purl.1
            ));
        }
        if unresolved.0 > 0 {
            self.warnings.push(format!(
                "foreign-unresolved-dependency: {}: {} dependency edge(s) from a package to no package of the document (e.g. {})",
                self.format, unresolved.0, unresolved.1
            ));
        }
        let mut inventory = Inventory {
            packages: self.packages,
            files: self.files,
            links: BTreeMap::new(),
            warnings: self.warnings,
        };
        inventory.normalise();
        inventory
    }
}

/// Where a package was found, from a free-text origin: ours (`found at P by the C cataloger`)
/// or syft's (`acquired package info from …: /P`).
pub(crate) fn found_at_from(info: &str) -> Option<String> {
    if let Some(rest) = info.strip_prefix("found at ") {
        let path = rest.rsplit_once(" by the ").map_or(rest, |(p, _)| p);
        return Some(path.to_string());
    }
    let (_, path) = info.rsplit_once(": ")?;
    let first = path.split(", ").next().unwrap_or(path).trim();
    first.starts_with('/').then(|| first.to_string())
}

/// Whether a purl names a container image (the usual SBOM root, not a package in it).
pub(crate) fn is_image_purl(purl: Option<&str>) -> bool {
    matches!(purl.and_then(purl_type), Some("oci" | "docker"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn purl_types_and_qualifiers_are_read() {
        assert_eq!(purl_type("pkg:deb/debian/bash@5?arch=amd64"), Some("deb"));
        assert_eq!(purl_type("pkg://npm/x@1"), Some("npm"));
        assert_eq!(purl_type("a-purl-1"), None);
        assert_eq!(purl_type("pkg:deb"), None);
        assert_eq!(purl_type("pkg:/x"), None);
        assert_eq!(
            qualifier("pkg:deb/debian/bash@5?distro=d&arch=amd64#sub", "arch").as_deref(),
            Some("amd64")
        );
        assert_eq!(qualifier("pkg:oci/x@sha256%3Aab?arch=", "arch"), None);
        assert_eq!(ecosystem_of("gem"), Ecosystem::Other);
        assert_eq!(ecosystem_of("PyPI"), Ecosystem::Pypi);
    }

    #[test]
    fn origins_give_the_path() {
        assert_eq!(
            found_at_from("found at /var/lib/dpkg/status by the dpkg cataloger").as_deref(),
            Some("/var/lib/dpkg/status")
        );
        assert_eq!(
            found_at_from("acquired package info from DPKG DB: /var/lib/dpkg/status").as_deref(),
            Some("/var/lib/dpkg/status")
        );
        assert_eq!(found_at_from("built from source"), None);
    }

    #[test]
    fn several_licences_all_apply() {
        assert_eq!(
            all_of(vec!["MIT".into(), "Apache-2.0 OR BSD-3-Clause".into()]).as_deref(),
            Some("MIT AND (Apache-2.0 OR BSD-3-Clause)")
        );
        let classifier = "License :: OSI Approved :: BSD License".to_string();
        assert_eq!(
            all_of(vec!["BSD-3-Clause".into(), classifier.clone()]).as_deref(),
            Some("BSD-3-Clause")
        );
        assert_eq!(all_of(vec![classifier.clone()]), Some(classifier));
        assert_eq!(sha256_digest("sha256:redacted"), None);
        assert_eq!(licence("NOASSERTION"), None);
    }
}
