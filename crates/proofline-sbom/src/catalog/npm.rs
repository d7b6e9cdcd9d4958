//! npm packages installed in `node_modules` (every `package.json` directly inside
//! `node_modules/<name>/` or `node_modules/@scope/<name>/`, nested copies included), and the
//! application lockfiles (`package-lock.json` v1–v3, `npm-shrinkwrap.json`): the application
//! itself with its direct dependencies, what the lock declares but the image lacks, and the
//! development-only flag, kept apart from what is installed.

use serde_json::Value;

use super::{Cataloger, Contents};
use crate::model::{Ecosystem, Package, purl_escape};

/// The npm cataloger.
pub const CATALOGER: Cataloger = Cataloger {
    name: "npm",
    wants,
    run,
    extract: None,
};

fn wants(path: &str) -> bool {
    is_installed_manifest(path) || is_lockfile(path)
}

/// An application lockfile (not one shipped inside an installed package).
fn is_lockfile(path: &str) -> bool {
    (path.ends_with("/package-lock.json") || path.ends_with("/npm-shrinkwrap.json"))
        && !path.contains("/node_modules/")
}

/// `…/node_modules/<name>/package.json` or `…/node_modules/@scope/<name>/package.json`.
fn is_installed_manifest(path: &str) -> bool {
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
    for (path, bytes) in contents.iter().filter(|(p, _)| is_installed_manifest(p)) {
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
            purl: purl(name, version),
            cpe: None,
            license: manifest.get("license").and_then(text),
            supplier: manifest.get("author").and_then(text),
            arch: None,
            source_package: None,
            source_version: None,
            depends,
            provides: Vec::new(),
            files: Vec::new(),
            found_at: path.to_string(),
            cataloger: CATALOGER.name,
            owned_by: None,
            dev: false,
            name: name.to_string(),
            version: version.to_string(),
        });
    }
    for (path, bytes) in contents.iter().filter(|(p, _)| is_lockfile(p)) {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(lock) => lockfile(contents, path, &lock, &mut packages),
            Err(e) => warnings.push(format!("npm-lockfile-unreadable: {path}: {e}")),
        }
    }
    (packages, warnings)
}

fn purl(name: &str, version: &str) -> String {
    let purl_name = match name.split_once('/') {
        Some((scope, rest)) if scope.starts_with('@') => {
            format!("{}/{}", purl_escape(scope), purl_escape(rest))
        }
        _ => purl_escape(name),
    };
    format!("pkg:npm/{purl_name}@{}", purl_escape(version))
}

fn lock_package(name: &str, entry: &Value, found_at: &str) -> Option<Package> {
    let version = entry.get("version").and_then(Value::as_str)?;
    let mut depends: Vec<String> = ["dependencies", "requires"]
        .iter()
        .filter_map(|k| entry.get(*k).and_then(Value::as_object))
        .flat_map(|deps| {
            deps.iter().map(|(n, v)| match v.as_str() {
                Some(range) => format!("{n}@{range}"),
                // v1 nested `dependencies` hold objects, not ranges.
                None => n.clone(),
            })
        })
        .collect();
    depends.sort();
    depends.dedup();
    Some(Package {
        ecosystem: Ecosystem::Npm,
        purl: purl(name, version),
        cpe: None,
        license: entry.get("license").and_then(text),
        supplier: None,
        arch: None,
        source_package: None,
        source_version: None,
        depends,
        provides: Vec::new(),
        files: Vec::new(),
        found_at: found_at.to_string(),
        cataloger: CATALOGER.name,
        owned_by: None,
        dev: entry.get("dev").and_then(Value::as_bool).unwrap_or(false),
        name: name.to_string(),
        version: version.to_string(),
    })
}

/// The lock's application and the entries not installed in the image; installed ones are
/// already listed from their own `package.json` and only take the `dev` flag from the lock.
fn lockfile(contents: &Contents, path: &str, lock: &Value, packages: &mut Vec<Package>) {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    if let Some(entries) = lock.get("packages").and_then(Value::as_object) {
        // v2 / v3: keys are install paths.
        for (key, entry) in entries {
            let name = if key.is_empty() {
                entry
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            } else {
                entry
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| key.rsplit("node_modules/").next().map(str::to_string))
            };
            let Some(name) = name else { continue };
            let installed = format!("{dir}/{key}/package.json");
            let dev = entry.get("dev").and_then(Value::as_bool).unwrap_or(false);
            if !key.is_empty() && contents.get(&installed).is_some() {
                if let Some(p) = packages.iter_mut().find(|p| p.found_at == installed) {
                    p.dev = dev;
                }
                continue;
            }
            if let Some(p) = lock_package(&name, entry, path) {
                packages.push(p);
            }
        }
    } else if let Some(deps) = lock.get("dependencies").and_then(Value::as_object) {
        // v1: nested `dependencies`, each possibly with its own nested ones.
        if let (Some(name), Some(_)) = (
            lock.get("name").and_then(Value::as_str),
            lock.get("version").and_then(Value::as_str),
        ) && let Some(mut app) = lock_package(name, lock, path)
        {
            app.depends = deps.keys().cloned().collect();
            packages.push(app);
        }
        let mut stack: Vec<(String, &serde_json::Map<String, Value>)> =
            vec![(format!("{dir}/node_modules"), deps)];
        while let Some((base, deps)) = stack.pop() {
            for (name, entry) in deps {
                let installed = format!("{base}/{name}/package.json");
                if contents.get(&installed).is_none()
                    && let Some(p) = lock_package(name, entry, path)
                {
                    packages.push(p);
                } else if let Some(p) = packages.iter_mut().find(|p| p.found_at == installed) {
                    p.dev = entry.get("dev").and_then(Value::as_bool).unwrap_or(false);
                }
                if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
                    stack.push((format!("{base}/{name}/node_modules"), nested));
                }
            }
        }
    }
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
    fn lockfiles_v3_and_v1_declare_the_app_what_is_missing_and_dev_only() {
        let mut c = Contents::default();
        c.insert(
            "/app/node_modules/ms/package.json",
            br#"{"name":"ms","version":"2.1.3"}"#.to_vec(),
        );
        c.insert(
            "/app/package-lock.json",
            br#"{"name":"app","version":"1.0.0","lockfileVersion":3,"packages":{
                "":{"name":"app","version":"1.0.0","dependencies":{"ms":"2.1.3"},"devDependencies":{"jest":"^29"}},
                "node_modules/ms":{"version":"2.1.3","dev":true},
                "node_modules/jest":{"version":"29.7.0","dev":true,"license":"MIT"}}}"#
                .to_vec(),
        );
        c.insert(
            "/old/package-lock.json",
            br#"{"name":"old","version":"0.1.0","lockfileVersion":1,"dependencies":{
                "a":{"version":"1.0.0","requires":{"b":"^2"},"dependencies":{"b":{"version":"2.0.0"}}}}}"#
                .to_vec(),
        );
        let (mut packages, warnings) = run(&c);
        assert!(warnings.is_empty(), "{warnings:?}");
        packages.sort_by(|a, b| (&a.found_at, &a.name).cmp(&(&b.found_at, &b.name)));
        let seen: Vec<(&str, &str, bool)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.found_at.as_str(), p.dev))
            .collect();
        assert_eq!(
            seen,
            [
                ("ms", "/app/node_modules/ms/package.json", true),
                ("app", "/app/package-lock.json", false),
                ("jest", "/app/package-lock.json", true),
                ("a", "/old/package-lock.json", false),
                ("b", "/old/package-lock.json", false),
                ("old", "/old/package-lock.json", false),
            ]
        );
        let app = packages.iter().find(|p| p.name == "app").unwrap();
        assert_eq!(app.depends, ["ms@2.1.3"]);
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
