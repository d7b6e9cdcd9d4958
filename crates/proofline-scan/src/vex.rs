//! VEX input: OpenVEX 0.2.0 documents loaded, checked and asked, per finding, whether a
//! statement about this vulnerability covers this package (directly, or as a subcomponent of
//! this image), the latest statement winning as the OpenVEX specification says.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use crate::purl::{Purl, PurlError};

/// A VEX document larger than this is refused (they are small; this bounds memory).
pub const MAX_DOCUMENT_BYTES: u64 = 32 * 1024 * 1024;
/// Statements across all documents.
pub const MAX_STATEMENTS: usize = 200_000;

const CONTEXT_V020: &str = "https://openvex.dev/ns/v0.2.0";

/// Why the VEX documents could not be used (the scan exits 2 on any).
#[derive(Debug, thiserror::Error)]
pub enum VexError {
    #[error("cannot read the VEX document {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the VEX document {path} is {size} bytes, over the {MAX_DOCUMENT_BYTES}-byte limit")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("the VEX document {path} is not OpenVEX JSON: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the VEX document {path} has @context `{context}`; only OpenVEX 0.2.0 (`{CONTEXT_V020}`) is supported: re-issue it with vexctl 0.2 or later"
    )]
    UnsupportedContext { path: PathBuf, context: String },
    #[error("the VEX document {path} is invalid: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error("the VEX document {path}, statement {index}: {problem}")]
    InvalidStatement {
        path: PathBuf,
        index: usize,
        problem: String,
    },
    #[error("the VEX documents hold more than {MAX_STATEMENTS} statements")]
    TooManyStatements,
}

/// An OpenVEX status label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl VexStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAffected => "not_affected",
            Self::Affected => "affected",
            Self::Fixed => "fixed",
            Self::UnderInvestigation => "under_investigation",
        }
    }

    /// `not_affected` and `fixed` waive a finding; `affected` and `under_investigation` don't.
    pub fn waives(self) -> bool {
        matches!(self, Self::NotAffected | Self::Fixed)
    }
}

/// What the VEX documents say about one finding: the latest applicable statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub status: VexStatus,
    pub justification: Option<String>,
    pub impact_statement: Option<String>,
    pub action_statement: Option<String>,
    /// The document the statement came from.
    pub source: PathBuf,
    /// The statement's `@id`, when it has one.
    pub statement_id: Option<String>,
    /// The statement's effective time (its own, else its document's), RFC 3339.
    pub timestamp: String,
}

impl Decision {
    /// The report's waiver for this decision: `Some` only for a status that waives
    /// (`not_affected`, `fixed`); `affected` and `under_investigation` are reported, not waived.
    pub fn waiver(&self) -> Option<crate::report::Waiver> {
        self.status.waives().then(|| crate::report::Waiver {
            kind: "vex".into(),
            source: self.source.display().to_string(),
            status: self.status.as_str().into(),
            justification: self.justification.clone(),
            reason: self.impact_statement.clone(),
            expires: None,
        })
    }
}

#[derive(Debug, Deserialize)]
struct RawDocument {
    #[serde(rename = "@id")]
    id: Option<String>,
    author: Option<String>,
    timestamp: Option<String>,
    version: Option<serde_json::Value>,
    statements: Vec<RawStatement>,
}

#[derive(Debug, Deserialize)]
struct RawStatement {
    #[serde(rename = "@id")]
    id: Option<String>,
    vulnerability: RawVulnerability,
    timestamp: Option<String>,
    #[serde(default)]
    products: Vec<RawComponent>,
    status: VexStatus,
    justification: Option<String>,
    impact_statement: Option<String>,
    action_statement: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawVulnerability {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawComponent {
    #[serde(rename = "@id")]
    id: Option<String>,
    identifiers: Option<RawIdentifiers>,
    hashes: Option<RawHashes>,
    #[serde(default)]
    subcomponents: Vec<RawComponent>,
}

#[derive(Debug, Deserialize)]
struct RawIdentifiers {
    purl: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawHashes {
    #[serde(rename = "sha-256")]
    sha256: Option<String>,
}

/// One product or subcomponent, as the ways it can be matched.
#[derive(Debug, Clone)]
struct Component {
    purls: Vec<Purl>,
    /// `sha256:<hex>` image digests it names (`@id`, an oci purl's version, `…@sha256:…`, hashes).
    digests: Vec<String>,
    subcomponents: Vec<Component>,
}

#[derive(Debug, Clone)]
struct Statement {
    ids: Vec<String>,
    products: Vec<Component>,
    status: VexStatus,
    justification: Option<String>,
    impact_statement: Option<String>,
    action_statement: Option<String>,
    statement_id: Option<String>,
    source: PathBuf,
    time: OffsetDateTime,
    timestamp: String,
    /// Load order, for ties between equal timestamps (the later-loaded statement wins).
    order: usize,
}

/// Every statement of the loaded VEX documents.
#[derive(Debug, Clone, Default)]
pub struct VexSet {
    statements: Vec<Statement>,
    warnings: Vec<String>,
}

/// The justification labels OpenVEX 0.2.0 defines (its schema rejects any other).
pub const JUSTIFICATIONS: [&str; 5] = [
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
];

impl VexSet {
    /// Parse and check OpenVEX 0.2.0 documents; the first problem found is the error, naming
    /// the file (and statement) and what is wrong.
    pub fn load(paths: &[PathBuf]) -> Result<VexSet, VexError> {
        let mut set = VexSet::default();
        for path in paths {
            set.load_one(path)?;
        }
        Ok(set)
    }

    /// Problems that do not stop the scan (an `affected` statement without an action).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn len(&self) -> usize {
        self.statements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    fn load_one(&mut self, path: &Path) -> Result<(), VexError> {
        let read = |source| VexError::Read {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read)?.len();
        if size > MAX_DOCUMENT_BYTES {
            return Err(VexError::TooLarge {
                path: path.to_path_buf(),
                size,
            });
        }
        let bytes = std::fs::read(path).map_err(read)?;
        let parse = |source| VexError::Parse {
            path: path.to_path_buf(),
            source,
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(parse)?;
        // The context first: a 0.0.x document fails on its version, not on its shape.
        let context = value
            .get("@context")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("(none)");
        if context.trim_end_matches('/') != CONTEXT_V020 {
            return Err(VexError::UnsupportedContext {
                path: path.to_path_buf(),
                context: context.to_string(),
            });
        }
        let doc: RawDocument = serde_json::from_value(value).map_err(parse)?;
        let invalid = |problem: String| VexError::Invalid {
            path: path.to_path_buf(),
            problem,
        };
        // `@id`, `author`, `timestamp` and `version` are required by the specification but
        // left out by real tools (vexctl's own test documents); missing ones are warnings,
        // wrong ones errors.
        for (field, present) in [
            (
                "@id",
                doc.id.as_deref().is_some_and(|v| !v.trim().is_empty()),
            ),
            (
                "author",
                doc.author.as_deref().is_some_and(|v| !v.trim().is_empty()),
            ),
            ("version", doc.version.is_some()),
        ] {
            if !present {
                self.warnings.push(format!(
                    "{}: the document has no `{field}` (OpenVEX requires one)",
                    path.display()
                ));
            }
        }
        if let Some(version) = &doc.version
            && version.as_u64().is_none_or(|v| v < 1)
        {
            return Err(invalid(format!(
                "`version` must be an integer of at least 1, not {version}"
            )));
        }
        let doc_time = match &doc.timestamp {
            Some(ts) => Some((
                OffsetDateTime::parse(ts, &Rfc3339)
                    .map_err(|e| invalid(format!("`timestamp` `{ts}` is not RFC 3339: {e}")))?,
                ts.clone(),
            )),
            None => None,
        };
        if doc.statements.is_empty() {
            return Err(invalid("it has no statements".into()));
        }
        for (index, raw) in doc.statements.into_iter().enumerate() {
            let bad = |problem: String| VexError::InvalidStatement {
                path: path.to_path_buf(),
                index,
                problem,
            };
            if self.statements.len() >= MAX_STATEMENTS {
                return Err(VexError::TooManyStatements);
            }
            let name = raw.vulnerability.name.trim().to_string();
            if name.is_empty() {
                return Err(bad("`vulnerability.name` is empty".into()));
            }
            if raw.products.is_empty() {
                // Products may come from an encapsulating document we do not have.
                self.warnings.push(format!(
                    "{}, statement {index}: no `products` for {name}; it applies to nothing",
                    path.display()
                ));
            }
            let (time, timestamp) = match &raw.timestamp {
                Some(ts) => (
                    OffsetDateTime::parse(ts, &Rfc3339)
                        .map_err(|e| bad(format!("`timestamp` `{ts}` is not RFC 3339: {e}")))?,
                    ts.clone(),
                ),
                None => doc_time.clone().ok_or_else(|| {
                    bad(format!(
                        "no `timestamp` for {name}, and the document has none to inherit"
                    ))
                })?,
            };
            match raw.status {
                VexStatus::NotAffected => {
                    if raw.justification.is_none() && raw.impact_statement.is_none() {
                        return Err(bad(format!(
                            "`not_affected` for {name} needs a `justification` or an `impact_statement`"
                        )));
                    }
                    if let Some(j) = &raw.justification
                        && !JUSTIFICATIONS.contains(&j.as_str())
                    {
                        return Err(bad(format!(
                            "unknown justification `{j}` (one of: {})",
                            JUSTIFICATIONS.join(", ")
                        )));
                    }
                }
                VexStatus::Affected if raw.action_statement.is_none() => {
                    self.warnings.push(format!(
                        "{}, statement {index}: `affected` for {name} has no `action_statement`",
                        path.display()
                    ));
                }
                _ => {}
            }
            let mut products = Vec::with_capacity(raw.products.len());
            for (p, product) in raw.products.iter().enumerate() {
                let component =
                    component(product).map_err(|problem| bad(format!("product {p}: {problem}")))?;
                products.push(component);
            }
            let mut ids = vec![name];
            ids.extend(
                raw.vulnerability
                    .aliases
                    .iter()
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty()),
            );
            let order = self.statements.len();
            self.statements.push(Statement {
                ids,
                products,
                status: raw.status,
                justification: raw.justification,
                impact_statement: raw.impact_statement,
                action_statement: raw.action_statement,
                statement_id: raw.id,
                source: path.to_path_buf(),
                time,
                timestamp,
                order,
            });
        }
        Ok(())
    }

    /// The latest statement about any of `ids` (a finding's id and aliases) that covers the
    /// package `package_purl`: a product that is the package, or a product that is the image
    /// (`image_digest`, `sha256:…`) with no subcomponents or a subcomponent that is the package.
    pub fn decide(
        &self,
        ids: &[&str],
        package_purl: &str,
        image_digest: Option<&str>,
    ) -> Option<Decision> {
        let package = Purl::parse(package_purl).ok()?;
        let image = image_digest.and_then(normalise_digest);
        self.statements
            .iter()
            .filter(|s| {
                s.ids
                    .iter()
                    .any(|sid| ids.iter().any(|id| sid.eq_ignore_ascii_case(id.trim())))
            })
            .filter(|s| {
                s.products
                    .iter()
                    .any(|p| covers(p, &package, image.as_deref()))
            })
            .max_by(|a, b| a.time.cmp(&b.time).then(a.order.cmp(&b.order)))
            .map(|s| Decision {
                status: s.status,
                justification: s.justification.clone(),
                impact_statement: s.impact_statement.clone(),
                action_statement: s.action_statement.clone(),
                source: s.source.clone(),
                statement_id: s.statement_id.clone(),
                timestamp: s.timestamp.clone(),
            })
    }
}

fn covers(product: &Component, package: &Purl, image: Option<&str>) -> bool {
    if product.purls.iter().any(|p| p.covers(package)) {
        return true;
    }
    let is_image = image.is_some_and(|d| product.digests.iter().any(|pd| pd == d));
    is_image
        && (product.subcomponents.is_empty()
            || product
                .subcomponents
                .iter()
                .any(|s| s.purls.iter().any(|p| p.covers(package))))
}

fn component(raw: &RawComponent) -> Result<Component, String> {
    let mut purls = Vec::new();
    let mut digests = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    if let Some(id) = &raw.id {
        names.push(id);
    }
    if let Some(p) = raw.identifiers.as_ref().and_then(|i| i.purl.as_deref()) {
        names.push(p);
    }
    for name in names {
        if name.starts_with("pkg:") {
            let purl = Purl::parse(name).map_err(|e| e.to_string())?;
            if purl.kind == "oci"
                && let Some(d) = purl.version.as_deref().and_then(normalise_digest)
            {
                digests.push(d);
            }
            purls.push(purl);
        } else if let Some(d) = normalise_digest(name) {
            digests.push(d);
        } else if let Some((_, d)) = name.rsplit_once('@')
            && let Some(d) = normalise_digest(d)
        {
            digests.push(d);
        }
    }
    if let Some(h) = raw.hashes.as_ref().and_then(|h| h.sha256.as_deref())
        && let Some(d) = normalise_digest(&format!("sha256:{h}"))
    {
        digests.push(d);
    }
    if raw.subcomponents.len() > 100_000 {
        return Err("more than 100000 subcomponents".into());
    }
    let subcomponents = raw
        .subcomponents
        .iter()
        .map(|s| {
            if s.subcomponents.is_empty() {
                component(s)
            } else {
                Err("a subcomponent cannot have subcomponents".into())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Component {
        purls,
        digests,
        subcomponents,
    })
}

/// `sha256:<64 hex>` lowercased, from `sha256:…` or `sha256%3A…`.
fn normalise_digest(text: &str) -> Option<String> {
    let lower = text.trim().to_ascii_lowercase();
    let hex = lower
        .strip_prefix("sha256:")
        .or_else(|| lower.strip_prefix("sha256%3a"))?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("sha256:{hex}"))
}

#[cfg(test)]
mod tests;
