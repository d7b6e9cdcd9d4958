//! CycloneDX JSON (1.4, 1.5, 1.6) from the inventory: the image as the root component, every
//! package with its purl, licence, supplier and owned-file hashes, and the dependency graph.
//! Deterministic: identifiers derive from content and the time is given by the caller.

use std::borrow::Cow;

use serde::Serialize;
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

/// A BOM ready to serialize: typed, so writing the large `components` list builds no
/// intermediate JSON tree (an image's SBOM lists every file of every package).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom<'a> {
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata<'a>,
    components: Vec<Component<'a>>,
    dependencies: Vec<Dependency>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Metadata<'a> {
    timestamp: &'a str,
    tools: Tools,
    component: Component<'a>,
}

/// `metadata.tools`: a list of tools in 1.4, `{components: [...]}` from 1.5 on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
enum Tools {
    Legacy([LegacyTool; 1]),
    Components { components: [Component<'static>; 1] },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct LegacyTool {
    vendor: &'static str,
    name: &'static str,
    version: &'static str,
}

/// A component: the image, a package, or a file (fields in the order CycloneDX tools print).
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Component<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    name: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpe: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    licenses: Option<[LicenseChoice<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Supplier<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hashes: Option<[Hash<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<Vec<Property<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Vec<Component<'a>>>,
}

impl<'a> Component<'a> {
    fn new(kind: &'static str, name: impl Into<Cow<'a, str>>) -> Self {
        Self {
            kind,
            bom_ref: None,
            name: name.into(),
            version: None,
            purl: None,
            cpe: None,
            licenses: None,
            scope: None,
            supplier: None,
            hashes: None,
            properties: None,
            components: None,
        }
    }

    /// A file with its SHA-256.
    fn file(bom_ref: String, path: Cow<'a, str>, sha256: &'a str) -> Self {
        Self {
            bom_ref: Some(bom_ref),
            hashes: Some([Hash {
                alg: "SHA-256",
                content: sha256,
            }]),
            ..Self::new("file", path)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Supplier<'a> {
    name: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Hash<'a> {
    alg: &'static str,
    content: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Property<'a> {
    name: &'static str,
    value: &'a str,
}

/// `{"license": {"id"|"name": …}}` or `{"expression": …}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
enum LicenseChoice<'a> {
    License(License<'a>),
    Expression(&'a str),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
enum License<'a> {
    Id(&'a str),
    Name(&'a str),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

fn licenses(p: &Package) -> Option<[LicenseChoice<'_>; 1]> {
    let l = p.license.as_deref()?;
    // A single identifier-looking word is an id; anything else an expression or a name.
    let simple = l
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'));
    Some([if simple && !l.contains(' ') {
        LicenseChoice::License(License::Id(l))
    } else if l.contains(" OR ") || l.contains(" AND ") || l.contains(" WITH ") {
        LicenseChoice::Expression(l)
    } else {
        LicenseChoice::License(License::Name(l))
    }])
}

/// Writes the BOM. `timestamp` is RFC 3339 (from `SOURCE_DATE_EPOCH` or the image's creation
/// time, never "now" unless the caller chose so).
pub fn write<'a>(
    inventory: &'a Inventory,
    subject: &'a Subject,
    version: CycloneDxVersion,
    timestamp: &'a str,
) -> Bom<'a> {
    let root_ref = format!("image:{}", subject.digest);
    let ids: Vec<String> = inventory.packages.iter().map(Package::id).collect();
    let mut components = Vec::with_capacity(inventory.packages.len());
    for (p, id) in inventory.packages.iter().zip(&ids) {
        let mut properties = vec![
            Property {
                name: "proofline:cataloger",
                value: p.cataloger,
            },
            Property {
                name: "proofline:found-at",
                value: &p.found_at,
            },
        ];
        let optional = [
            ("proofline:owned-by", &p.owned_by),
            ("proofline:source-package", &p.source_package),
            ("proofline:source-version", &p.source_version),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                properties.push(Property { name, value });
            }
        }
        // Owned files with their SHA-256 as found in the image.
        let files: Vec<Component<'a>> = p
            .files
            .iter()
            .filter_map(|f| {
                let path = inventory.resolve_path(&f.path);
                let sha = inventory.files.get(&*path)?.sha256.as_deref()?;
                Some(Component::file(format!("{id}:{}", f.path), path, sha))
            })
            .collect();
        components.push(Component {
            bom_ref: Some(id.clone()),
            version: Some(&p.version),
            purl: Some(&p.purl),
            cpe: p.cpe.as_deref(),
            licenses: licenses(p),
            // Declared for development only: not part of what runs in the image.
            scope: p.dev.then_some("excluded"),
            supplier: p.supplier.as_deref().map(|name| Supplier { name }),
            properties: Some(properties),
            components: (!files.is_empty()).then_some(files),
            ..Component::new("library", p.name.as_str())
        });
    }
    // Executables and shared libraries no package owns: a binary copied in is never invisible.
    let mut unowned_refs = Vec::new();
    for path in inventory.unowned_binaries() {
        let Some(sha) = inventory.files.get(path).and_then(|f| f.sha256.as_deref()) else {
            continue;
        };
        let bom_ref = format!("file:{path}");
        unowned_refs.push(bom_ref.clone());
        components.push(Component {
            properties: Some(vec![Property {
                name: "proofline:unowned",
                value: "true",
            }]),
            ..Component::file(bom_ref, Cow::Borrowed(path), sha)
        });
    }
    let mut sorted_ids = ids.clone();
    sorted_ids.sort();
    sorted_ids.dedup();
    // Dependencies: the image depends on every package; a package on those named in its
    // declared dependencies that are present (first word of each alternative).
    let mut dependencies = vec![Dependency {
        reference: root_ref.clone(),
        depends_on: sorted_ids.iter().cloned().chain(unowned_refs).collect(),
    }];
    for (id, on) in ids.into_iter().zip(inventory.dependency_graph()) {
        dependencies.push(Dependency {
            reference: id,
            depends_on: on.iter().map(|d| d.id()).collect(),
        });
    }
    let tools = match version {
        CycloneDxVersion::V1_4 => Tools::Legacy([LegacyTool {
            vendor: "Proofline",
            name: "proofline-sbom",
            version: env!("CARGO_PKG_VERSION"),
        }]),
        _ => Tools::Components {
            components: [Component {
                version: Some(env!("CARGO_PKG_VERSION")),
                ..Component::new("application", "proofline-sbom")
            }],
        },
    };
    let seed = format!(
        "{}|{}|{}",
        subject.digest,
        version.as_str(),
        sorted_ids.join(",")
    );
    Bom {
        bom_format: "CycloneDX",
        spec_version: version.as_str(),
        serial_number: format!("urn:uuid:{}", content_uuid(seed.as_bytes())),
        version: 1,
        metadata: Metadata {
            timestamp,
            tools,
            component: Component {
                bom_ref: Some(root_ref),
                version: Some(&subject.digest),
                ..Component::new("container", subject.name.as_str())
            },
        },
        components,
        dependencies,
    }
}
