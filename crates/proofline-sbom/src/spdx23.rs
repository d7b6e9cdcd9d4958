//! SPDX 2.3 JSON from the inventory (`--spdx-version 2.3`): the image as the described root
//! package, every package with its purl, declared licence and supplier, and `CONTAINS` /
//! `DEPENDS_ON` relationships. Deterministic: the namespace derives from content.

use serde_json::{Value, json};

use crate::cyclonedx::Subject;
use crate::model::{Inventory, Package, is_spdx_expression};

/// The root package's SPDX id.
pub const IMAGE_ID: &str = "SPDXRef-Image";

fn spdx_id(p: &Package) -> String {
    format!("SPDXRef-{}", p.id())
}

/// A declared licence only when it is a plain SPDX-id-looking token or expression; anything
/// else (free text) is `NOASSERTION`, never an invalid expression.
fn declared(license: Option<&str>) -> String {
    match license {
        Some(l) if is_spdx_expression(l) => l.to_string(),
        _ => "NOASSERTION".into(),
    }
}

/// Writes the document; `timestamp` is RFC 3339 (`SOURCE_DATE_EPOCH` or the image's time).
pub fn write(inventory: &Inventory, subject: &Subject, timestamp: &str) -> Value {
    let digest_hex = subject
        .digest
        .strip_prefix("sha256:")
        .unwrap_or(&subject.digest);
    let mut packages = vec![json!({
        "SPDXID": IMAGE_ID,
        "name": subject.name,
        "versionInfo": subject.digest,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
        "checksums": [{ "algorithm": "SHA256", "checksumValue": digest_hex }],
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": IMAGE_ID,
    })];
    for (p, on) in inventory.packages.iter().zip(inventory.dependency_graph()) {
        let id = spdx_id(p);
        let mut refs = vec![json!({
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": p.purl,
        })];
        if let Some(cpe) = &p.cpe {
            refs.push(json!({
                "referenceCategory": "SECURITY",
                "referenceType": "cpe23Type",
                "referenceLocator": cpe,
            }));
        }
        packages.push(json!({
            "SPDXID": id,
            "name": p.name,
            "versionInfo": p.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": declared(p.license.as_deref()),
            "copyrightText": "NOASSERTION",
            "supplier": p.supplier.as_ref().map_or("NOASSERTION".to_string(), |s| format!("Organization: {}", s.replace('\n', " "))),
            "sourceInfo": format!("found at {} by the {} cataloger", p.found_at, p.cataloger),
            "externalRefs": refs,
        }));
        relationships.push(json!({
            "spdxElementId": IMAGE_ID,
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
        for dep in on {
            relationships.push(json!({
                "spdxElementId": id,
                "relationshipType": "DEPENDS_ON",
                "relatedSpdxElement": spdx_id(dep),
            }));
        }
    }
    let namespace = inventory.namespace(&subject.digest);
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": subject.name,
        "documentNamespace": format!("https://proofline.dev/spdx/{namespace}"),
        "creationInfo": {
            "created": timestamp,
            "creators": [format!("Tool: proofline-sbom-{}", env!("CARGO_PKG_VERSION"))],
        },
        "documentDescribes": [IMAGE_ID],
        "packages": packages,
        "relationships": relationships,
    })
}
