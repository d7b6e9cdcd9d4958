//! SPDX 3.0.1 JSON-LD from the inventory (the default SPDX output): an `SpdxDocument` and a
//! `software_Sbom` rooted at the image package, every package with its purl, declared licences
//! as `simplelicensing_LicenseExpression` elements, and `contains` / `dependsOn` relationships.
//! Every `spdxId` derives from content under one document namespace, so output is reproducible.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::cyclonedx::Subject;
use crate::model::{Inventory, is_spdx_expression};

const CREATION: &str = "_:creationinfo";

/// Writes the document; `timestamp` is RFC 3339 (`SOURCE_DATE_EPOCH` or the image's time).
pub fn write(inventory: &Inventory, subject: &Subject, timestamp: &str) -> Value {
    let base = format!(
        "https://proofline.dev/spdx/{}",
        inventory.namespace(&subject.digest)
    );
    let id = |kind: &str, key: &str| format!("{base}/{kind}/{key}");
    let image_id = id("image", "root");
    let tool_id = id("tool", "proofline-sbom");
    let agent_id = id("agent", "proofline");
    let digest_hex = subject
        .digest
        .strip_prefix("sha256:")
        .unwrap_or(&subject.digest);

    let mut graph = vec![
        json!({
            "type": "CreationInfo",
            "@id": CREATION,
            "specVersion": "3.0.1",
            "created": timestamp,
            "createdBy": [agent_id],
            "createdUsing": [tool_id],
        }),
        json!({ "type": "Organization", "spdxId": agent_id, "creationInfo": CREATION, "name": "Proofline" }),
        json!({
            "type": "Tool",
            "spdxId": tool_id,
            "creationInfo": CREATION,
            "name": format!("proofline-sbom {}", env!("CARGO_PKG_VERSION")),
        }),
        json!({
            "type": "software_Package",
            "spdxId": image_id,
            "creationInfo": CREATION,
            "name": subject.name,
            "software_packageVersion": subject.digest,
            "software_primaryPurpose": "container",
            "verifiedUsing": [{ "type": "Hash", "algorithm": "sha256", "hashValue": digest_hex }],
        }),
    ];
    let mut elements = vec![image_id.clone()];
    let mut relationships = Vec::new();
    let mut licences: BTreeMap<String, String> = BTreeMap::new();
    let mut emitted_files = std::collections::BTreeSet::new();
    for (p, on) in inventory.packages.iter().zip(inventory.dependency_graph()) {
        let pid = id("package", &p.id());
        let mut package = json!({
            "type": "software_Package",
            "spdxId": pid,
            "creationInfo": CREATION,
            "name": p.name,
            "software_packageVersion": p.version,
            "software_packageUrl": p.purl,
            "software_primaryPurpose": "library",
            "comment": format!("found at {} by the {} cataloger", p.found_at, p.cataloger),
        });
        if let Some(cpe) = &p.cpe {
            package["externalIdentifier"] = json!([{
                "type": "ExternalIdentifier",
                "externalIdentifierType": "cpe23",
                "identifier": cpe,
            }]);
        }
        if let Some(owner) = &p.owned_by {
            package["comment"] = Value::from(format!(
                "found at {} by the {} cataloger; its files belong to {owner}",
                p.found_at, p.cataloger
            ));
        }
        graph.push(package);
        elements.push(pid.clone());
        // The files it owns, as found in the image, with their SHA-256.
        let mut owned = Vec::new();
        for f in &p.files {
            let path = inventory.resolve_path(&f.path);
            let Some(sha) = inventory.files.get(&path).and_then(|i| i.sha256.as_ref()) else {
                continue;
            };
            let fid = id("file", &hex::encode(&Sha256::digest(path.as_bytes())[..8]));
            if emitted_files.insert(fid.clone()) {
                graph.push(json!({
                    "type": "software_File",
                    "spdxId": fid,
                    "creationInfo": CREATION,
                    "name": path,
                    "verifiedUsing": [{ "type": "Hash", "algorithm": "sha256", "hashValue": sha }],
                }));
                elements.push(fid.clone());
            }
            owned.push(fid);
        }
        if !owned.is_empty() {
            owned.sort();
            owned.dedup();
            relationships.push(("contains", pid.clone(), owned));
        }
        let on: Vec<String> = on.iter().map(|d| id("package", &d.id())).collect();
        if !on.is_empty() {
            relationships.push(("dependsOn", pid.clone(), on));
        }
        if let Some(l) = p.license.as_deref().filter(|l| is_spdx_expression(l)) {
            let lid = licences
                .entry(l.to_string())
                .or_insert_with(|| id("license", &hex::encode(&Sha256::digest(l.as_bytes())[..8])))
                .clone();
            relationships.push(("hasDeclaredLicense", pid.clone(), vec![lid]));
        }
    }
    for (expression, lid) in &licences {
        graph.push(json!({
            "type": "simplelicensing_LicenseExpression",
            "spdxId": lid,
            "creationInfo": CREATION,
            "simplelicensing_licenseExpression": expression,
        }));
        elements.push(lid.clone());
    }
    let mut contains: Vec<String> = inventory
        .packages
        .iter()
        .map(|p| id("package", &p.id()))
        .collect();
    // Executables and shared libraries no package owns: a binary copied in is never invisible.
    for path in inventory.unowned_binaries() {
        let Some(sha) = inventory.files.get(path).and_then(|f| f.sha256.as_ref()) else {
            continue;
        };
        let fid = id("file", &hex::encode(&Sha256::digest(path.as_bytes())[..8]));
        graph.push(json!({
            "type": "software_File",
            "spdxId": fid,
            "creationInfo": CREATION,
            "name": path,
            "software_primaryPurpose": "executable",
            "verifiedUsing": [{ "type": "Hash", "algorithm": "sha256", "hashValue": sha }],
            "comment": "owned by no package",
        }));
        elements.push(fid.clone());
        contains.push(fid);
    }
    if !contains.is_empty() {
        relationships.insert(0, ("contains", image_id.clone(), contains));
    }
    for (n, (kind, from, to)) in relationships.into_iter().enumerate() {
        let rid = id("relationship", &n.to_string());
        graph.push(json!({
            "type": "Relationship",
            "spdxId": rid,
            "creationInfo": CREATION,
            "from": from,
            "relationshipType": kind,
            "to": to,
        }));
        elements.push(rid);
    }
    let sbom_id = id("sbom", "image");
    graph.push(json!({
        "type": "software_Sbom",
        "spdxId": sbom_id,
        "creationInfo": CREATION,
        "rootElement": [image_id],
        "element": elements,
        "software_sbomType": ["analyzed"],
    }));
    let mut all = elements.clone();
    all.push(sbom_id.clone());
    all.push(agent_id);
    all.push(tool_id);
    graph.push(json!({
        "type": "SpdxDocument",
        "spdxId": id("document", "root"),
        "creationInfo": CREATION,
        "rootElement": [sbom_id],
        "element": all,
        "profileConformance": ["core", "software", "simpleLicensing"],
    }));
    json!({
        "@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
        "@graph": graph,
    })
}
