//! CycloneDX JSON (1.4–1.6) into the inventory: `library`/`framework`/`application` components
//! (nested ones too) become packages, `file` components files (owned by the package they nest
//! in), `dependencies` exact purl edges. Properties syft, trivy, cyclonedx-npm and Proofline
//! write give where each package was found, its source package and whether it is dev-only.

use serde_json::Value;

use super::{
    Builder, ConvertError, Foreign, MAX_DEPTH, all_of, licence, sha256_digest, sha256_hex, strings,
    text,
};
use crate::cyclonedx::Subject;

/// Properties naming where a package was found, most specific first.
const FOUND_AT: [&str; 4] = [
    "proofline:found-at",
    "syft:location:0:path",
    "aquasecurity:trivy:FilePath",
    "cdx:npm:package:path",
];
/// Properties naming the source package (Debian `Source:`).
const SOURCE: [&str; 3] = [
    "proofline:source-package",
    "syft:metadata:source",
    "aquasecurity:trivy:SrcName",
];

pub(super) fn read(document: &str, version: &str, bom: &Value) -> Result<Foreign, ConvertError> {
    let format = format!("CycloneDX {version}");
    let mut b = Builder::new(document, &format, "cyclonedx");
    let metadata = bom.get("metadata");
    let root = metadata.and_then(|m| m.get("component"));
    let subject = root.map(|c| Subject {
        name: text(c, "name").unwrap_or_default().to_string(),
        digest: digest(c),
    });
    let tool = metadata.and_then(|m| m.get("tools")).and_then(tools);
    match bom.get("components") {
        None | Some(Value::Null) => {}
        Some(components @ Value::Array(_)) => walk(&mut b, components, None, 0)?,
        Some(_) => return Err(b.malformed("`components` is not an array")),
    }
    match bom.get("dependencies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(dependencies)) => {
            for d in dependencies {
                let Some(from) = text(d, "ref") else {
                    continue;
                };
                for to in strings(d.get("dependsOn")) {
                    b.edge(from, to)?;
                }
            }
        }
        Some(_) => return Err(b.malformed("`dependencies` is not an array")),
    }
    Ok(Foreign {
        format,
        subject,
        inventory: b.finish(),
        tool,
    })
}

/// The root's digest: a SHA-256 hash, else a version that reads as a digest (syft, Proofline),
/// else trivy's `RepoDigest` property (`alpine@sha256:…`, the manifest digest).
fn digest(component: &Value) -> String {
    let hashed = component
        .get("hashes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|h| text(h, "alg") == Some("SHA-256"))
        .and_then(|h| text(h, "content"))
        .and_then(sha256_hex);
    match hashed {
        Some(hex) => format!("sha256:{hex}"),
        None => text(component, "version")
            .and_then(sha256_digest)
            .or_else(|| {
                let repo_digest = property(component, "aquasecurity:trivy:RepoDigest")?;
                sha256_digest(repo_digest.rsplit_once('@')?.1)
            })
            .unwrap_or_default(),
    }
}

/// `metadata.tools`: an array of tools (1.4) or `{components, services}` (1.5+).
fn tools(tools: &Value) -> Option<String> {
    let list: Vec<&Value> = match tools {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) => ["components", "services"]
            .iter()
            .filter_map(|k| o.get(*k).and_then(Value::as_array))
            .flatten()
            .collect(),
        _ => Vec::new(),
    };
    let names: Vec<String> = list
        .iter()
        .filter_map(|t| {
            let name = text(t, "name")?;
            Some(match text(t, "version") {
                Some(v) => format!("{name} {v}"),
                None => name.to_string(),
            })
        })
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

fn property<'a>(component: &'a Value, name: &str) -> Option<&'a str> {
    component
        .get("properties")?
        .as_array()?
        .iter()
        .find(|p| text(p, "name") == Some(name))
        .and_then(|p| text(p, "value"))
}

fn walk(
    b: &mut Builder,
    components: &Value,
    parent: Option<&str>,
    depth: usize,
) -> Result<(), ConvertError> {
    let Some(list) = components.as_array() else {
        let warning = format!(
            "foreign-malformed: {}: `components` under `{}` is not an array",
            b.format(),
            parent.unwrap_or("the BOM")
        );
        b.warn(warning);
        return Ok(());
    };
    if depth > MAX_DEPTH {
        let warning = format!(
            "foreign-too-deep: {}: components nested more than {MAX_DEPTH} deep under `{}` not read",
            b.format(),
            parent.unwrap_or("the BOM")
        );
        b.warn(warning);
        return Ok(());
    }
    for c in list {
        if !c.is_object() {
            let warning = format!(
                "foreign-malformed: {}: a component is not an object",
                b.format()
            );
            b.warn(warning);
            continue;
        }
        let Some(name) = text(c, "name") else {
            let warning = format!(
                "foreign-malformed: {}: a component has no name (bom-ref {:?})",
                b.format(),
                text(c, "bom-ref").unwrap_or("")
            );
            b.warn(warning);
            continue;
        };
        match text(c, "type").unwrap_or("library") {
            "file" => {
                let sha = c
                    .get("hashes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|h| text(h, "alg") == Some("SHA-256"))
                    .and_then(|h| text(h, "content"))
                    .and_then(sha256_hex);
                // Proofline lists executables and libraries no package owns as such.
                let executable = property(c, "proofline:unowned") == Some("true");
                b.file(name, sha, executable)?;
                if let Some(parent) = parent {
                    b.own(parent, name)?;
                }
            }
            "library" | "framework" | "application" => {
                let local = package(b, c, name)?;
                if let Some(nested) = c.get("components") {
                    walk(b, nested, Some(&local), depth + 1)?;
                }
            }
            // Operating systems, containers, devices…: not packages, but may hold some.
            _ => {
                if let Some(nested) = c.get("components") {
                    walk(b, nested, None, depth + 1)?;
                }
            }
        }
    }
    Ok(())
}

fn package(b: &mut Builder, c: &Value, name: &str) -> Result<String, ConvertError> {
    let purl = text(c, "purl");
    // npm scopes and Maven group ids are the `group`; our names carry them.
    let name = match (text(c, "group"), purl.and_then(super::purl_type)) {
        (Some(g), Some("npm")) => format!("{g}/{name}"),
        (Some(g), Some("maven")) => format!("{g}:{name}"),
        _ => name.to_string(),
    };
    let found_at = FOUND_AT.iter().find_map(|k| property(c, k));
    let mut p = b.make(
        &name,
        text(c, "version").unwrap_or_default(),
        purl,
        found_at,
    );
    p.cpe = text(c, "cpe").map(str::to_string);
    p.license = all_of(licences(c.get("licenses")));
    p.supplier = c
        .get("supplier")
        .and_then(|s| text(s, "name"))
        .or_else(|| text(c, "publisher"))
        .map(str::to_string);
    p.dev = text(c, "scope") == Some("excluded")
        || property(c, "cdx:npm:package:development") == Some("true");
    p.source_package = SOURCE
        .iter()
        .find_map(|k| property(c, k))
        .filter(|s| *s != p.name)
        .map(str::to_string);
    p.owned_by = property(c, "proofline:owned-by").map(str::to_string);
    // A Debian source version that differs (syft: `sourceVersion`, trivy: `SrcVersion`).
    p.source_version = [
        "proofline:source-version",
        "syft:metadata:sourceVersion",
        "aquasecurity:trivy:SrcVersion",
    ]
    .iter()
    .find_map(|k| property(c, k))
    .filter(|v| *v != p.version)
    .map(str::to_string);
    b.add(text(c, "bom-ref"), p)
}

/// `licenses`: `[{license: {id | name}} | {expression}]`.
fn licences(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| {
            let declared = text(l, "expression").or_else(|| {
                let l = l.get("license")?;
                text(l, "id").or_else(|| text(l, "name"))
            })?;
            licence(declared)
        })
        .collect()
}
