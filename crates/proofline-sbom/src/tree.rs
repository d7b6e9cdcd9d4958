//! `dependency-tree.json`: the whole dependency graph with the image as its root node, and every
//! declared dependency that did not resolve to a package in the image listed with the reason,
//! never silently dropped.

use serde::Serialize;

use crate::model::{Ecosystem, Inventory, dependency_name};

/// `dependency-tree.json` schema id.
pub const SCHEMA: &str = "proofline/dependency-tree/v1";

/// The root node's id.
pub const ROOT_ID: &str = "image";

/// The image at the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Root {
    pub id: &'static str,
    pub name: String,
    pub digest: String,
}

/// One package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// The same id the SBOMs use (`bom-ref`, SPDX id suffix).
    pub id: String,
    pub purl: String,
    pub name: String,
    pub version: String,
    pub ecosystem: Ecosystem,
    pub found_at: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,
}

/// How an edge came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    /// The image contains the package.
    Contains,
    /// The package declares a dependency on the other.
    DependsOn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    /// The dependency as the package declared it (for `depends-on`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<String>,
}

/// Why a declared dependency has no package in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnresolvedReason {
    /// Optional: only with a Python extra (`; extra == "socks"`) that was not asked for.
    OptionalExtra,
    /// Conditional on an environment marker (`; python_version < "3"`, `; sys_platform == …`).
    EnvironmentMarker,
    /// Nothing in the image by that name (or, for Debian, it may be a virtual package another
    /// package provides).
    NotInImage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unresolved {
    pub from: String,
    pub declared: String,
    /// The name looked up.
    pub name: String,
    pub reason: UnresolvedReason,
}

/// Counts, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeCounts {
    pub nodes: usize,
    pub dependency_edges: usize,
    pub unresolved: usize,
    /// Unresolved only because optional or conditional.
    pub unresolved_optional: usize,
}

/// The whole tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DependencyTree {
    pub schema: &'static str,
    pub root: Root,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub unresolved: Vec<Unresolved>,
    pub counts: TreeCounts,
}

/// Builds the tree of `inventory` under the image `name`@`digest`.
pub fn build(inventory: &Inventory, name: &str, digest: &str) -> DependencyTree {
    let index = inventory.dependency_index();
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let mut unresolved = Vec::new();
    for p in &inventory.packages {
        let id = p.id();
        nodes.push(Node {
            id: id.clone(),
            purl: p.purl.clone(),
            name: p.name.clone(),
            version: p.version.clone(),
            ecosystem: p.ecosystem,
            found_at: p.found_at.clone(),
            dev: p.dev,
        });
        edges.push(Edge {
            from: ROOT_ID.to_string(),
            to: id.clone(),
            kind: EdgeKind::Contains,
            declared: None,
        });
        let mut seen = std::collections::BTreeSet::new();
        for declared in &p.depends {
            match index.resolve(p, declared) {
                Some(dep) => {
                    let to = dep.id();
                    if to != id && seen.insert(to.clone()) {
                        edges.push(Edge {
                            from: id.clone(),
                            to,
                            kind: EdgeKind::DependsOn,
                            declared: Some(declared.clone()),
                        });
                    }
                }
                None => unresolved.push(Unresolved {
                    from: id.clone(),
                    declared: declared.clone(),
                    name: if declared.starts_with("pkg:") {
                        declared.clone()
                    } else {
                        dependency_name(declared).to_string()
                    },
                    reason: reason(declared),
                }),
            }
        }
    }
    let counts = TreeCounts {
        nodes: nodes.len(),
        dependency_edges: edges
            .iter()
            .filter(|e| e.kind == EdgeKind::DependsOn)
            .count(),
        unresolved: unresolved.len(),
        unresolved_optional: unresolved
            .iter()
            .filter(|u| u.reason != UnresolvedReason::NotInImage)
            .count(),
    };
    DependencyTree {
        schema: SCHEMA,
        root: Root {
            id: ROOT_ID,
            name: name.to_string(),
            digest: digest.to_string(),
        },
        nodes,
        edges,
        unresolved,
        counts,
    }
}

/// Why a dependency that did not resolve may legitimately be absent.
fn reason(declared: &str) -> UnresolvedReason {
    let Some((_, marker)) = declared.split_once(';') else {
        return UnresolvedReason::NotInImage;
    };
    let compact: String = marker.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.contains("extra==") {
        UnresolvedReason::OptionalExtra
    } else {
        UnresolvedReason::EnvironmentMarker
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Package;

    fn pkg(eco: Ecosystem, name: &str, depends: &[&str]) -> Package {
        let mut p = Package::new(eco, name, "1", format!("pkg:x/{name}@1"), "/db", "test");
        p.depends = depends.iter().map(ToString::to_string).collect();
        p
    }

    #[test]
    fn edges_resolve_alternatives_and_unresolved_ones_say_why() {
        let mut inv = Inventory {
            packages: vec![
                pkg(
                    Ecosystem::Deb,
                    "bash",
                    &["base-files (>= 2.1.12)", "debianutils (>= 5.6-0.1)"],
                ),
                pkg(Ecosystem::Deb, "base-files", &["awk | mawk", "bash"]),
                {
                    // Provides the virtual `awk` (Debian `Provides:`), but `mawk` is named first.
                    let mut mawk = pkg(Ecosystem::Deb, "mawk", &[]);
                    mawk.provides = vec!["awk".into()];
                    mawk
                },
                {
                    let mut debconf_user = pkg(Ecosystem::Deb, "ca-certs", &["debconf-2.0"]);
                    debconf_user
                        .depends
                        .push("debconf (>= 0.5) | debconf-2.0".into());
                    debconf_user
                },
                {
                    let mut cdebconf = pkg(Ecosystem::Deb, "cdebconf", &[]);
                    cdebconf.provides = vec!["debconf-2.0".into()];
                    cdebconf
                },
                pkg(
                    Ecosystem::Pypi,
                    "requests",
                    &[
                        "urllib3<1.24,>=1.21.1",
                        "PySocks!=1.5.7,>=1.5.6; extra == \"socks\"",
                        "win-inet-pton; sys_platform == \"win32\" and python_version == \"2.7\"",
                    ],
                ),
                // Same name in another ecosystem: never an edge across ecosystems.
                pkg(Ecosystem::Npm, "urllib3", &[]),
            ],
            ..Inventory::default()
        };
        inv.normalise();
        let tree = build(&inv, "app:1.0", "sha256:00");
        let name = |id: &str| {
            tree.nodes
                .iter()
                .find(|n| n.id == id)
                .map_or(id.to_string(), |n| n.name.clone())
        };
        let depends: Vec<(String, String)> = tree
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::DependsOn)
            .map(|e| (name(&e.from), name(&e.to)))
            .collect();
        assert_eq!(
            depends,
            [
                ("base-files".to_string(), "mawk".to_string()),
                ("base-files".to_string(), "bash".to_string()),
                ("bash".to_string(), "base-files".to_string()),
                // Both declarations name the virtual package cdebconf provides: one edge.
                ("ca-certs".to_string(), "cdebconf".to_string()),
            ]
        );
        let contains = tree
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Contains && e.from == ROOT_ID)
            .count();
        assert_eq!(contains, 7, "the root contains every package");
        let unresolved: Vec<(String, &str, UnresolvedReason)> = tree
            .unresolved
            .iter()
            .map(|u| (name(&u.from), u.name.as_str(), u.reason))
            .collect();
        assert_eq!(
            unresolved,
            [
                (
                    "bash".to_string(),
                    "debianutils",
                    UnresolvedReason::NotInImage
                ),
                (
                    "requests".to_string(),
                    "urllib3",
                    UnresolvedReason::NotInImage
                ),
                (
                    "requests".to_string(),
                    "PySocks",
                    UnresolvedReason::OptionalExtra
                ),
                (
                    "requests".to_string(),
                    "win-inet-pton",
                    UnresolvedReason::EnvironmentMarker
                ),
            ]
        );
        assert_eq!(tree.counts.unresolved, 4);
        assert_eq!(tree.counts.unresolved_optional, 2);
        assert_eq!(tree.counts.dependency_edges, 4);
    }
}
