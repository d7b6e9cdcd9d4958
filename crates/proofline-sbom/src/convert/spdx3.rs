//! SPDX 3.0.1 JSON-LD into the inventory: `software_Package` elements with their purl, CPE
//! (`externalIdentifier`) and supplier, `software_File` elements with their SHA-256, and the
//! relationships that matter here: `dependsOn` (exact purl edges), `hasDeclaredLicense` (to a
//! licence expression or listed licence) and `contains` (file ownership). The `software_Sbom`'s
//! root element is the subject; a container root is not repeated among the packages.

use std::collections::HashMap;

use serde_json::Value;

use super::{
    Builder, ConvertError, Foreign, all_of, found_at_from, is_image_purl, licence, sha256_digest,
    sha256_hex, strings, text,
};
use crate::cyclonedx::Subject;

const LISTED: &str = "https://spdx.org/licenses/";

pub(super) fn read(document: &str, version: &str, doc: &Value) -> Result<Foreign, ConvertError> {
    let format = format!("SPDX {version}");
    let mut b = Builder::new(document, &format, "spdx");
    let Some(graph) = doc.get("@graph").and_then(Value::as_array) else {
        return Err(b.malformed("`@graph` is not an array"));
    };
    let by_id: HashMap<&str, &Value> = graph.iter().filter_map(|e| Some((id(e)?, e))).collect();

    for e in graph {
        if kind(e) == Some("CreationInfo")
            && let Some(v) = text(e, "specVersion")
            && !v.starts_with("3.0")
        {
            return Err(ConvertError::Unsupported {
                document: document.into(),
                found: format!("SPDX {v} (creationInfo specVersion)"),
                supported: super::SPDX_SUPPORTED,
                fix: super::SPDX_FIX,
            });
        }
    }

    // The root: the first software_Sbom's root element (through the SpdxDocument if needed).
    let root_id = graph
        .iter()
        .find(|e| kind(e) == Some("software_Sbom"))
        .and_then(sbom_root)
        .or_else(|| {
            let top = graph
                .iter()
                .find(|e| kind(e) == Some("SpdxDocument"))
                .and_then(sbom_root)?;
            match by_id.get(top) {
                Some(sbom) if kind(sbom) == Some("software_Sbom") => sbom_root(sbom),
                _ => Some(top),
            }
        });
    let root = root_id.and_then(|r| by_id.get(r).copied());
    let root_is_image = root.is_some_and(|r| {
        text(r, "software_primaryPurpose") == Some("container") || is_image_purl(purl(r))
    });
    let subject = root.map(|r| Subject {
        name: text(r, "name").unwrap_or_default().to_string(),
        digest: digest(r),
    });

    let mut licences: HashMap<&str, String> = HashMap::new();
    let mut agents: HashMap<&str, &str> = HashMap::new();
    let mut files: HashMap<&str, &str> = HashMap::new();
    // Licences and agents first: packages and relationships name them, in any order.
    for e in graph {
        let (Some(eid), Some(k)) = (id(e), kind(e)) else {
            continue;
        };
        match k {
            "simplelicensing_LicenseExpression" => {
                if let Some(l) = text(e, "simplelicensing_licenseExpression").and_then(licence) {
                    licences.insert(eid, l);
                }
            }
            "expandedlicensing_ListedLicense" | "expandedlicensing_CustomLicense" => {
                let name = eid.strip_prefix(LISTED).or_else(|| text(e, "name"));
                if let Some(l) = name.and_then(licence) {
                    licences.insert(eid, l);
                }
            }
            "Organization" | "Person" | "Agent" | "SoftwareAgent" | "Tool" => {
                if let Some(name) = text(e, "name") {
                    agents.insert(eid, name);
                }
            }
            _ => {}
        }
    }
    for e in graph {
        let (Some(eid), Some(k)) = (id(e), kind(e)) else {
            continue;
        };
        match k {
            "software_File" => {
                let Some(name) = text(e, "name") else {
                    continue;
                };
                let executable = text(e, "software_primaryPurpose") == Some("executable")
                    || strings(e.get("software_additionalPurpose")).contains(&"executable");
                b.file(name, sha256(e), executable)?;
                files.insert(eid, name);
            }
            "software_Package" if !(root_is_image && Some(eid) == root_id) => {
                let found_at = text(e, "comment")
                    .or_else(|| text(e, "software_sourceInfo"))
                    .and_then(found_at_from);
                let mut p = b.make(
                    text(e, "name").unwrap_or_default(),
                    text(e, "software_packageVersion").unwrap_or_default(),
                    purl(e),
                    found_at.as_deref(),
                );
                p.cpe = identifiers(e)
                    .find(|(t, _)| *t == "cpe23")
                    .or_else(|| identifiers(e).find(|(t, _)| *t == "cpe22"))
                    .map(|(_, v)| v.to_string());
                p.supplier = strings(e.get("suppliedBy"))
                    .first()
                    .and_then(|a| agents.get(a))
                    .map(|s| s.to_string());
                b.add(Some(eid), p)?;
            }
            _ => {}
        }
    }
    let mut declared: HashMap<&str, Vec<String>> = HashMap::new();
    for e in graph {
        if !matches!(
            kind(e),
            Some("Relationship" | "LifecycleScopedRelationship")
        ) {
            continue;
        }
        let (Some(from), Some(rel)) = (text(e, "from"), text(e, "relationshipType")) else {
            continue;
        };
        for to in strings(e.get("to")) {
            match rel {
                "dependsOn" => b.edge(from, to)?,
                "hasDeclaredLicense" if b.is_package(from) => {
                    let l = licences
                        .get(to)
                        .cloned()
                        .or_else(|| to.strip_prefix(LISTED).and_then(licence));
                    if let Some(l) = l {
                        declared.entry(from).or_default().push(l);
                    }
                }
                "contains" if b.is_package(from) => {
                    if let Some(name) = files.get(to) {
                        b.own(from, name)?;
                    }
                }
                _ => {}
            }
        }
    }
    for (from, mut ls) in declared {
        ls.sort();
        ls.dedup();
        if let Some(p) = b.package_mut(from) {
            p.license = all_of(ls);
        }
    }
    let mut tools: Vec<&str> = graph
        .iter()
        .filter(|e| kind(e) == Some("CreationInfo"))
        .flat_map(|e| strings(e.get("createdUsing")))
        .map(|t| agents.get(t).copied().unwrap_or(t))
        .collect();
    tools.sort();
    tools.dedup();
    Ok(Foreign {
        format,
        subject,
        inventory: b.finish(),
        tool: (!tools.is_empty()).then(|| tools.join(", ")),
    })
}

fn id(e: &Value) -> Option<&str> {
    text(e, "spdxId").or_else(|| text(e, "@id"))
}

fn kind(e: &Value) -> Option<&str> {
    text(e, "type").or_else(|| text(e, "@type"))
}

fn sbom_root(e: &Value) -> Option<&str> {
    strings(e.get("rootElement")).first().copied()
}

fn identifiers(e: &Value) -> impl Iterator<Item = (&str, &str)> {
    e.get("externalIdentifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| Some((text(i, "externalIdentifierType")?, text(i, "identifier")?)))
}

fn purl(e: &Value) -> Option<&str> {
    text(e, "software_packageUrl").or_else(|| {
        identifiers(e)
            .find(|(t, _)| *t == "packageUrl")
            .map(|(_, v)| v)
    })
}

fn sha256(e: &Value) -> Option<String> {
    e.get("verifiedUsing")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|h| text(h, "algorithm") == Some("sha256"))
        .and_then(|h| text(h, "hashValue"))
        .and_then(sha256_hex)
}

/// The root's digest: its sha256 hash, else a version that reads as a digest.
fn digest(e: &Value) -> String {
    match sha256(e) {
        Some(hex) => format!("sha256:{hex}"),
        None => text(e, "software_packageVersion")
            .and_then(sha256_digest)
            .unwrap_or_default(),
    }
}
