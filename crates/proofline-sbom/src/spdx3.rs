//! SPDX 3.0.1 JSON-LD from the inventory (the default SPDX output): an `SpdxDocument` and a
//! `software_Sbom` rooted at the image package, every package with its purl, declared licences
//! as `simplelicensing_LicenseExpression` elements, and `contains` / `dependsOn` relationships.
//! Every `spdxId` derives from content under one document namespace, so output is reproducible.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::cyclonedx::Subject;
use crate::model::{Inventory, is_spdx_expression};

const CREATION: &str = "_:creationinfo";

/// A document ready to serialize: typed, so the `@graph` (one element per file of every
/// package) is written without building an intermediate JSON tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "@graph")]
    graph: Vec<Element<'a>>,
}

/// One `@graph` element. Fields are in the order SPDX's examples print them; absent ones
/// are omitted. Every element but `CreationInfo` has an `spdxId` and the shared creation info.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Element<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "@id", skip_serializing_if = "Option::is_none")]
    blank_id: Option<&'static str>,
    #[serde(rename = "spdxId", skip_serializing_if = "Option::is_none")]
    spdx_id: Option<String>,
    #[serde(rename = "creationInfo", skip_serializing_if = "Option::is_none")]
    creation_info: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "specVersion", skip_serializing_if = "Option::is_none")]
    spec_version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<&'a str>,
    #[serde(rename = "createdBy", skip_serializing_if = "Option::is_none")]
    created_by: Option<[String; 1]>,
    #[serde(rename = "createdUsing", skip_serializing_if = "Option::is_none")]
    created_using: Option<[String; 1]>,
    #[serde(
        rename = "software_packageVersion",
        skip_serializing_if = "Option::is_none"
    )]
    package_version: Option<&'a str>,
    #[serde(
        rename = "software_packageUrl",
        skip_serializing_if = "Option::is_none"
    )]
    package_url: Option<&'a str>,
    #[serde(
        rename = "software_primaryPurpose",
        skip_serializing_if = "Option::is_none"
    )]
    primary_purpose: Option<&'static str>,
    #[serde(rename = "verifiedUsing", skip_serializing_if = "Option::is_none")]
    verified_using: Option<[Hash<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(rename = "externalIdentifier", skip_serializing_if = "Option::is_none")]
    external_identifier: Option<[ExternalIdentifier<'a>; 1]>,
    #[serde(
        rename = "simplelicensing_licenseExpression",
        skip_serializing_if = "Option::is_none"
    )]
    license_expression: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(rename = "relationshipType", skip_serializing_if = "Option::is_none")]
    relationship_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<Vec<String>>,
    #[serde(rename = "rootElement", skip_serializing_if = "Option::is_none")]
    root_element: Option<[String; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    element: Option<Vec<String>>,
    #[serde(rename = "software_sbomType", skip_serializing_if = "Option::is_none")]
    sbom_type: Option<[&'static str; 1]>,
    #[serde(rename = "profileConformance", skip_serializing_if = "Option::is_none")]
    profile_conformance: Option<[&'static str; 3]>,
}

impl<'a> Element<'a> {
    /// An element of `kind` with its id and the document's creation info.
    fn new(kind: &'static str, spdx_id: String) -> Self {
        Self {
            kind,
            blank_id: None,
            spdx_id: Some(spdx_id),
            creation_info: Some(CREATION),
            name: None,
            spec_version: None,
            created: None,
            created_by: None,
            created_using: None,
            package_version: None,
            package_url: None,
            primary_purpose: None,
            verified_using: None,
            comment: None,
            external_identifier: None,
            license_expression: None,
            from: None,
            relationship_type: None,
            to: None,
            root_element: None,
            element: None,
            sbom_type: None,
            profile_conformance: None,
        }
    }

    fn named(kind: &'static str, spdx_id: String, name: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::new(kind, spdx_id)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Hash<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    algorithm: &'static str,
    hash_value: &'a str,
}

fn sha256(hash_value: &str) -> Option<[Hash<'_>; 1]> {
    Some([Hash {
        kind: "Hash",
        algorithm: "sha256",
        hash_value,
    }])
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalIdentifier<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    external_identifier_type: &'static str,
    identifier: &'a str,
}

/// Writes the document; `timestamp` is RFC 3339 (`SOURCE_DATE_EPOCH` or the image's time).
pub fn write<'a>(
    inventory: &'a Inventory,
    subject: &'a Subject,
    timestamp: &'a str,
) -> Document<'a> {
    let base = format!(
        "https://proofline.dev/spdx/{}",
        inventory.namespace(&subject.digest)
    );
    let id = |kind: &str, key: &str| format!("{base}/{kind}/{key}");
    let file_id = |path: &str| id("file", &hex::encode(&Sha256::digest(path.as_bytes())[..8]));
    let image_id = id("image", "root");
    let tool_id = id("tool", "proofline-sbom");
    let agent_id = id("agent", "proofline");
    let digest_hex = subject
        .digest
        .strip_prefix("sha256:")
        .unwrap_or(&subject.digest);

    let mut graph = vec![
        Element {
            blank_id: Some(CREATION),
            spdx_id: None,
            creation_info: None,
            spec_version: Some("3.0.1"),
            created: Some(timestamp),
            created_by: Some([agent_id.clone()]),
            created_using: Some([tool_id.clone()]),
            ..Element::new("CreationInfo", String::new())
        },
        Element::named("Organization", agent_id.clone(), "Proofline"),
        Element::named(
            "Tool",
            tool_id.clone(),
            format!("proofline-sbom {}", env!("CARGO_PKG_VERSION")),
        ),
        Element {
            package_version: Some(&subject.digest),
            primary_purpose: Some("container"),
            verified_using: sha256(digest_hex),
            ..Element::named("software_Package", image_id.clone(), subject.name.as_str())
        },
    ];
    let mut elements = vec![image_id.clone()];
    let mut relationships = Vec::new();
    let mut licences: BTreeMap<&str, String> = BTreeMap::new();
    let mut emitted_files = std::collections::BTreeSet::new();
    let package_ids: Vec<String> = inventory
        .packages
        .iter()
        .map(|p| id("package", &p.id()))
        .collect();
    for ((p, on), pid) in inventory
        .packages
        .iter()
        .zip(inventory.dependency_graph())
        .zip(&package_ids)
    {
        let comment = match &p.owned_by {
            Some(owner) => format!(
                "found at {} by the {} cataloger; its files belong to {owner}",
                p.found_at, p.cataloger
            ),
            None => format!("found at {} by the {} cataloger", p.found_at, p.cataloger),
        };
        graph.push(Element {
            package_version: Some(&p.version),
            package_url: Some(&p.purl),
            primary_purpose: Some("library"),
            comment: Some(comment),
            external_identifier: p.cpe.as_deref().map(|identifier| {
                [ExternalIdentifier {
                    kind: "ExternalIdentifier",
                    external_identifier_type: "cpe23",
                    identifier,
                }]
            }),
            ..Element::named("software_Package", pid.clone(), p.name.as_str())
        });
        elements.push(pid.clone());
        // The files it owns, as found in the image, with their SHA-256.
        let mut owned = Vec::new();
        for f in &p.files {
            let path = inventory.resolve_path(&f.path);
            let Some(sha) = inventory
                .files
                .get(&*path)
                .and_then(|i| i.sha256.as_deref())
            else {
                continue;
            };
            let fid = file_id(&path);
            if emitted_files.insert(fid.clone()) {
                graph.push(Element {
                    verified_using: sha256(sha),
                    ..Element::named("software_File", fid.clone(), path)
                });
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
                .entry(l)
                .or_insert_with(|| id("license", &hex::encode(&Sha256::digest(l.as_bytes())[..8])))
                .clone();
            relationships.push(("hasDeclaredLicense", pid.clone(), vec![lid]));
        }
    }
    for (expression, lid) in licences {
        elements.push(lid.clone());
        graph.push(Element {
            license_expression: Some(expression),
            ..Element::new("simplelicensing_LicenseExpression", lid)
        });
    }
    let mut contains = package_ids;
    // Executables and shared libraries no package owns: a binary copied in is never invisible.
    for path in inventory.unowned_binaries() {
        let Some(sha) = inventory.files.get(path).and_then(|f| f.sha256.as_deref()) else {
            continue;
        };
        let fid = file_id(path);
        graph.push(Element {
            primary_purpose: Some("executable"),
            verified_using: sha256(sha),
            comment: Some("owned by no package".into()),
            ..Element::named("software_File", fid.clone(), path)
        });
        elements.push(fid.clone());
        contains.push(fid);
    }
    if !contains.is_empty() {
        relationships.insert(0, ("contains", image_id.clone(), contains));
    }
    for (n, (kind, from, to)) in relationships.into_iter().enumerate() {
        let rid = id("relationship", &n.to_string());
        elements.push(rid.clone());
        graph.push(Element {
            from: Some(from),
            relationship_type: Some(kind),
            to: Some(to),
            ..Element::new("Relationship", rid)
        });
    }
    let sbom_id = id("sbom", "image");
    let mut all = elements.clone();
    all.push(sbom_id.clone());
    all.push(agent_id);
    all.push(tool_id);
    graph.push(Element {
        root_element: Some([image_id]),
        element: Some(elements),
        sbom_type: Some(["analyzed"]),
        ..Element::new("software_Sbom", sbom_id.clone())
    });
    graph.push(Element {
        root_element: Some([sbom_id]),
        element: Some(all),
        profile_conformance: Some(["core", "software", "simpleLicensing"]),
        ..Element::new("SpdxDocument", id("document", "root"))
    });
    Document {
        context: "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
        graph,
    }
}
