//! SPDX 2.3 (and 2.2) JSON into the inventory: `packages` with their purl and CPE external
//! references and declared licence, `files` with their SHA-256, `DEPENDS_ON` / `*DEPENDENCY_OF`
//! relationships as exact purl edges, `CONTAINS` / `hasFiles` as file ownership. The described
//! root is the subject; a container root is not repeated among the packages.

use std::collections::HashMap;

use serde_json::Value;

use super::{
    Builder, ConvertError, Foreign, found_at_from, is_image_purl, licence, sha256_digest,
    sha256_hex, strings, text,
};
use crate::cyclonedx::Subject;

const DOCUMENT: &str = "SPDXRef-DOCUMENT";

pub(super) fn read(document: &str, version: &str, doc: &Value) -> Result<Foreign, ConvertError> {
    let format = format!("SPDX {version}");
    let mut b = Builder::new(document, &format, "spdx");
    let array = |key: &str| -> Result<&[Value], ConvertError> {
        match doc.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a.as_slice()),
            Some(_) => Err(ConvertError::Malformed {
                document: document.into(),
                format: format.clone(),
                problem: format!("`{key}` is not an array"),
            }),
        }
    };
    let packages = array("packages")?;
    let files = array("files")?;
    let relationships = array("relationships")?;
    let document_id = text(doc, "SPDXID").unwrap_or(DOCUMENT);

    // What the document describes: `documentDescribes`, `DESCRIBES` and `DESCRIBED_BY`.
    let mut described: Vec<&str> = strings(doc.get("documentDescribes"));
    for r in relationships {
        match (
            text(r, "spdxElementId"),
            text(r, "relationshipType"),
            text(r, "relatedSpdxElement"),
        ) {
            (Some(a), Some("DESCRIBES"), Some(z)) if a == document_id => described.push(z),
            (Some(a), Some("DESCRIBED_BY"), Some(z)) if z == document_id => described.push(a),
            _ => {}
        }
    }
    let by_id: HashMap<&str, &Value> = packages
        .iter()
        .filter_map(|p| Some((text(p, "SPDXID")?, p)))
        .collect();
    let root = described.iter().find_map(|d| by_id.get(d).copied());
    let root_id = root.and_then(|r| text(r, "SPDXID"));
    let root_is_image = root.is_some_and(|r| {
        text(r, "primaryPackagePurpose") == Some("CONTAINER") || is_image_purl(purl(r))
    });
    let subject = root.map(|r| Subject {
        name: text(r, "name").unwrap_or_default().to_string(),
        digest: digest(r),
    });

    let mut file_names: HashMap<&str, &str> = HashMap::new();
    for f in files {
        let Some(name) = text(f, "fileName") else {
            continue;
        };
        let sha = checksums(f)
            .find(|(alg, _)| *alg == "SHA256")
            .and_then(|(_, v)| sha256_hex(v));
        b.file(name, sha, false)?;
        if let Some(id) = text(f, "SPDXID") {
            file_names.insert(id, name);
        }
    }
    for p in packages {
        let Some(id) = text(p, "SPDXID") else {
            let warning = format!(
                "foreign-malformed: {format}: a package has no SPDXID (name {:?})",
                text(p, "name").unwrap_or("")
            );
            b.warn(warning);
            continue;
        };
        if root_is_image && Some(id) == root_id {
            continue;
        }
        let found_at = text(p, "sourceInfo").and_then(found_at_from);
        let mut package = b.make(
            text(p, "name").unwrap_or_default(),
            text(p, "versionInfo").unwrap_or_default(),
            purl(p),
            found_at.as_deref(),
        );
        package.cpe = external_refs(p)
            .find(|(t, _)| *t == "cpe23Type")
            .or_else(|| external_refs(p).find(|(t, _)| *t == "cpe22Type"))
            .map(|(_, l)| l.to_string());
        package.license = text(p, "licenseDeclared").and_then(licence);
        package.supplier = text(p, "supplier").and_then(supplier);
        let local = b.add(Some(id), package)?;
        for f in strings(p.get("hasFiles")) {
            if let Some(name) = file_names.get(f) {
                b.own(&local, name)?;
            }
        }
    }
    for r in relationships {
        let (Some(a), Some(kind), Some(z)) = (
            text(r, "spdxElementId"),
            text(r, "relationshipType"),
            text(r, "relatedSpdxElement"),
        ) else {
            continue;
        };
        match kind {
            "DEPENDS_ON" => b.edge(a, z)?,
            k if k.ends_with("DEPENDENCY_OF") => b.edge(z, a)?,
            "CONTAINS" if b.is_package(a) => {
                if let Some(name) = file_names.get(z) {
                    b.own(a, name)?;
                }
            }
            "CONTAINED_BY" if b.is_package(z) => {
                if let Some(name) = file_names.get(a) {
                    b.own(z, name)?;
                }
            }
            _ => {}
        }
    }
    let creators = doc
        .get("creationInfo")
        .map(|c| strings(c.get("creators")))
        .unwrap_or_default();
    let tools: Vec<&str> = creators
        .iter()
        .filter_map(|c| c.strip_prefix("Tool:").map(str::trim))
        .collect();
    Ok(Foreign {
        format,
        subject,
        inventory: b.finish(),
        tool: (!tools.is_empty()).then(|| tools.join(", ")),
    })
}

fn external_refs(p: &Value) -> impl Iterator<Item = (&str, &str)> {
    p.get("externalRefs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| Some((text(r, "referenceType")?, text(r, "referenceLocator")?)))
}

fn purl(p: &Value) -> Option<&str> {
    external_refs(p).find(|(t, _)| *t == "purl").map(|(_, l)| l)
}

fn checksums(p: &Value) -> impl Iterator<Item = (&str, &str)> {
    p.get("checksums")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| Some((text(c, "algorithm")?, text(c, "checksumValue")?)))
}

/// The root's digest: its SHA256 checksum, else a version that reads as a digest.
fn digest(p: &Value) -> String {
    match checksums(p)
        .find(|(alg, _)| *alg == "SHA256")
        .and_then(|(_, v)| sha256_hex(v))
    {
        Some(hex) => format!("sha256:{hex}"),
        None => text(p, "versionInfo")
            .and_then(sha256_digest)
            .unwrap_or_default(),
    }
}

/// `Organization: X` / `Person: X (mail)` → `X…`; `NOASSERTION` → none.
fn supplier(s: &str) -> Option<String> {
    let s = s.trim();
    let name = ["Organization:", "Person:", "Tool:"]
        .iter()
        .find_map(|p| s.strip_prefix(p))
        .unwrap_or(s)
        .trim();
    (!name.is_empty() && name != "NOASSERTION").then(|| name.to_string())
}
