//! npm packages installed in `node_modules` (every `package.json` directly inside
//! `node_modules/<name>/` or `node_modules/@scope/<name>/`, nested copies included).

use serde_json::Value;

use super::{Cataloger, Contents};
use crate::model::{Ecosystem, Package, purl_escape};

/// The npm cataloger.
pub const CATALOGER: Cataloger = Cataloger {
    name: "npm",
    wants,
    run,
};

/// `…/node_modules/<name>/package.json` or `…/node_modules/@scope/<name>/package.json`.
fn wants(path: &str) -> bool {
    let Some(dir) = path.strip_suffix("/package.json") else {
        return false;
    };
    let Some((parent, name)) = dir.rsplit_once('/') else {
        return false;
    };
    if name.is_empty() || name.starts_with('.') {
        return false;
    }
    parent.ends_with("/node_modules")
        || parent.rsplit_once('/').is_some_and(|(grand, scope)| {
            scope.starts_with('@') && grand.ends_with("/node_modules")
        })
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(map) => map
            .get("type")
            .or_else(|| map.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    }
}

fn run(contents: &Contents) -> (Vec<Package>, Vec<String>) {
    let mut packages = Vec::new();
    let mut warnings = Vec::new();
    for (path, bytes) in contents.iter().filter(|(p, _)| wants(p)) {
        let manifest: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(format!("npm-manifest-unreadable: {path}: {e}"));
                continue;
            }
        };
        let (Some(name), Some(version)) = (
            manifest.get("name").and_then(Value::as_str),
            manifest.get("version").and_then(Value::as_str),
        ) else {
            warnings.push(format!(
                "npm-manifest-incomplete: {path} has no name or version"
            ));
            continue;
        };
        let purl_name = match name.split_once('/') {
            Some((scope, rest)) if scope.starts_with('@') => {
                format!("{}/{}", purl_escape(scope), purl_escape(rest))
            }
            _ => purl_escape(name),
        };
        let mut depends: Vec<String> = manifest
            .get("dependencies")
            .and_then(Value::as_object)
            .map(|deps| {
                deps.iter()
                    .map(|(n, v)| format!("{n}@{}", v.as_str().unwrap_or("*")))
                    .collect()
            })
            .unwrap_or_default();
        depends.sort();
        packages.push(Package {
            ecosystem: Ecosystem::Npm,
            purl: format!("pkg:npm/{purl_name}@{}", purl_escape(version)),
            license: manifest.get("license").and_then(text),
            supplier: manifest.get("author").and_then(text),
            arch: None,
            source_package: None,
            depends,
            files: Vec::new(),
            found_at: path.to_string(),
            cataloger: CATALOGER.name,
            owned_by: None,
            name: name.to_string(),
            version: version.to_string(),
        });
    }
    (packages, warnings)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn node_modules_manifests_only() {
        assert!(wants("/app/node_modules/ms/package.json"));
        assert!(wants("/app/node_modules/@types/node/package.json"));
        assert!(wants("/app/node_modules/a/node_modules/ms/package.json"));
        assert!(!wants("/app/package.json"));
        assert!(!wants("/app/node_modules/ms/lib/package.json"));
        assert!(!wants("/app/node_modules/.bin/package.json"));
    }

    #[test]
    fn scoped_and_nested_packages() {
        let mut c = Contents::default();
        c.insert(
            "/app/node_modules/@types/node/package.json",
            br#"{"name":"@types/node","version":"20.1.0","license":"MIT"}"#.to_vec(),
        );
        c.insert(
            "/app/node_modules/a/node_modules/ms/package.json",
            br#"{"name":"ms","version":"2.0.0","license":{"type":"MIT"},"dependencies":{"x":"^1"}}"#.to_vec(),
        );
        c.insert("/app/node_modules/bad/package.json", b"{".to_vec());
        let (packages, warnings) = run(&c);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("npm-manifest-unreadable"));
        let purls: Vec<&str> = packages.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(purls, ["pkg:npm/%40types/node@20.1.0", "pkg:npm/ms@2.0.0"]);
        assert_eq!(packages[1].license.as_deref(), Some("MIT"));
        assert_eq!(packages[1].depends, ["x@^1"]);
    }
}
