//! CycloneDX JSON (1.4, 1.5, 1.6) from the inventory: the image as the root component, every
//! package with its purl, licence, supplier and owned-file hashes, and the dependency graph.
//! Deterministic: identifiers derive from content and the time is given by the caller.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::model::{Inventory, Package};

/// The CycloneDX versions we write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycloneDxVersion {
    V1_4,
    V1_5,
    V1_6,
}

impl CycloneDxVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_4 => "1.4",
            Self::V1_5 => "1.5",
            Self::V1_6 => "1.6",
        }
    }

    /// Parses `1.4`, `1.5` or `1.6`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "1.4" => Some(Self::V1_4),
            "1.5" => Some(Self::V1_5),
            "1.6" => Some(Self::V1_6),
            _ => None,
        }
    }
}

/// The image an SBOM describes (its root component).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The reference as given (`oci:…`, `registry/repo:tag`).
    pub name: String,
    /// The manifest digest, `sha256:<hex>`.
    pub digest: String,
}

/// A UUID (version 4 layout, variant RFC 4122) derived from bytes, so the same input gives the
/// same serial number.
fn content_uuid(seed: &[u8]) -> String {
    let mut b: [u8; 16] = [0; 16];
    b.copy_from_slice(&Sha256::digest(seed)[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn licenses(p: &Package) -> Option<Value> {
    let l = p.license.as_ref()?;
    // A single identifier-looking word is an id; anything else an expression or a name.
    let simple = l
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'));
    Some(if simple && !l.contains(' ') {
        json!([{ "license": { "id": l } }])
    } else if l.contains(" OR ") || l.contains(" AND ") || l.contains(" WITH ") {
        json!([{ "expression": l }])
    } else {
        json!([{ "license": { "name": l } }])
    })
}

/// Writes the BOM. `timestamp` is RFC 3339 (from `SOURCE_DATE_EPOCH` or the image's creation
/// time, never "now" unless the caller chose so).
pub fn write(
    inventory: &Inventory,
    subject: &Subject,
    version: CycloneDxVersion,
    timestamp: &str,
) -> Value {
    let root_ref = format!("image:{}", subject.digest);
    let ids: BTreeMap<String, String> = inventory
        .packages
        .iter()
        .map(|p| (p.id(), p.name.clone()))
        .collect();
    let mut components = Vec::new();
    for p in &inventory.packages {
        let mut c = json!({
            "type": "library",
            "bom-ref": p.id(),
            "name": p.name,
            "version": p.version,
            "purl": p.purl,
        });
        if let Some(cpe) = &p.cpe {
            c["cpe"] = json!(cpe);
        }
        if let Some(l) = licenses(p) {
            c["licenses"] = l;
        }
        if p.dev {
            // Declared for development only: not part of what runs in the image.
            c["scope"] = json!("excluded");
        }
        if let Some(s) = &p.supplier {
            c["supplier"] = json!({ "name": s });
        }
        let mut properties = vec![
            json!({ "name": "proofline:cataloger", "value": p.cataloger }),
            json!({ "name": "proofline:found-at", "value": p.found_at }),
        ];
        if let Some(owner) = &p.owned_by {
            properties.push(json!({ "name": "proofline:owned-by", "value": owner }));
        }
        if let Some(src) = &p.source_package {
            properties.push(json!({ "name": "proofline:source-package", "value": src }));
        }
        if let Some(v) = &p.source_version {
            properties.push(json!({ "name": "proofline:source-version", "value": v }));
        }
        c["properties"] = Value::Array(properties);
        // Owned files with their SHA-256 as found in the image.
        let files: Vec<Value> = p
            .files
            .iter()
            .filter_map(|f| {
                let path = inventory.resolve_path(&f.path);
                let sha = inventory.files.get(&path)?.sha256.as_ref()?;
                Some(json!({
                    "type": "file",
                    "bom-ref": format!("{}:{}", p.id(), f.path),
                    "name": path,
                    "hashes": [{ "alg": "SHA-256", "content": sha }],
                }))
            })
            .collect();
        if !files.is_empty() {
            c["components"] = Value::Array(files);
        }
        components.push(c);
    }
    // Executables and shared libraries no package owns: a binary copied in is never invisible.
    let mut unowned_refs = Vec::new();
    for path in inventory.unowned_binaries() {
        let Some(sha) = inventory.files.get(path).and_then(|f| f.sha256.as_ref()) else {
            continue;
        };
        let bom_ref = format!("file:{path}");
        components.push(json!({
            "type": "file",
            "bom-ref": bom_ref,
            "name": path,
            "hashes": [{ "alg": "SHA-256", "content": sha }],
            "properties": [{ "name": "proofline:unowned", "value": "true" }],
        }));
        unowned_refs.push(bom_ref);
    }
    // Dependencies: the image depends on every package; a package on those named in its
    // declared dependencies that are present (first word of each alternative).
    let mut dependencies = vec![json!({
        "ref": root_ref,
        "dependsOn": ids.keys().cloned().chain(unowned_refs).collect::<Vec<_>>(),
    })];
    for (p, on) in inventory.packages.iter().zip(inventory.dependency_graph()) {
        let on: Vec<String> = on.iter().map(|d| d.id()).collect();
        dependencies.push(json!({ "ref": p.id(), "dependsOn": on }));
    }
    let tool = match version {
        CycloneDxVersion::V1_4 => {
            json!([{ "vendor": "Proofline", "name": "proofline-sbom", "version": env!("CARGO_PKG_VERSION") }])
        }
        _ => {
            json!({ "components": [{ "type": "application", "name": "proofline-sbom", "version": env!("CARGO_PKG_VERSION") }] })
        }
    };
    let seed = format!(
        "{}|{}|{}",
        subject.digest,
        version.as_str(),
        ids.keys().cloned().collect::<Vec<_>>().join(",")
    );
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": version.as_str(),
        "serialNumber": format!("urn:uuid:{}", content_uuid(seed.as_bytes())),
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": tool,
            "component": {
                "type": "container",
                "bom-ref": root_ref,
                "name": subject.name,
                "version": subject.digest,
            },
        },
        "components": components,
        "dependencies": dependencies,
    })
}
