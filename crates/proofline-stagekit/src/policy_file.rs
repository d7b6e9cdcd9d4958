//! `proofline.yaml`: the one optional policy file every stage shares. Each stage owns a section
//! (`source:`, `scan:`, …) and its types; unknown keys anywhere are rejected, so a typo can never
//! silently weaken a policy. All YAML goes through here (serde-saphyr, with its budgets against
//! alias bombs), so a parser swap stays a one-file change.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// The file looked for in the working directory when no `--policy` is given.
pub const DEFAULT_POLICY_FILE: &str = "proofline.yaml";

/// The sections a policy file may have: one per stage.
pub const SECTIONS: [&str; 9] = [
    "source", "build", "sbom", "harden", "scan", "sign", "publish", "verify", "report",
];

/// Why the policy file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    #[error(
        "cannot read the policy file {path}: {source}; pass --policy with an existing file or remove the flag"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the policy file {path} is not valid YAML: {reason}")]
    Yaml { path: PathBuf, reason: String },
    #[error("the policy file {path} must be a mapping of sections ({}), found {found}", SECTIONS.join(", "))]
    NotAMapping { path: PathBuf, found: &'static str },
    #[error("the policy file {path} has an unknown section `{key}`; the sections are {}, plus `version`", SECTIONS.join(", "))]
    UnknownSection { path: PathBuf, key: String },
    #[error("the policy file {path} has version {found}; this Proofline reads version 1")]
    Version { path: PathBuf, found: String },
    #[error("in the policy file {path}, section `{section}`: {reason}")]
    Section {
        path: PathBuf,
        section: String,
        reason: String,
    },
}

/// A loaded policy file (or none).
#[derive(Debug, Clone, Default)]
pub struct PolicyFile {
    path: Option<PathBuf>,
    root: serde_json::Map<String, serde_json::Value>,
}

impl PolicyFile {
    /// Loads `explicit` when given (it must exist), else `proofline.yaml` in `dir` when present,
    /// else an empty policy (every stage's defaults).
    pub fn discover(explicit: Option<&Path>, dir: &Path) -> Result<Self, PolicyFileError> {
        match explicit {
            Some(path) => Self::load(path),
            None => {
                let path = dir.join(DEFAULT_POLICY_FILE);
                if path.is_file() {
                    Self::load(&path)
                } else {
                    Ok(Self::default())
                }
            }
        }
    }

    /// Loads and checks the top level of a policy file.
    pub fn load(path: &Path) -> Result<Self, PolicyFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses policy text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, PolicyFileError> {
        let value: serde_json::Value =
            serde_saphyr::from_str(text).map_err(|e| PolicyFileError::Yaml {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let root = match value {
            serde_json::Value::Object(map) => map,
            serde_json::Value::Null => serde_json::Map::new(),
            other => {
                return Err(PolicyFileError::NotAMapping {
                    path: path.to_path_buf(),
                    found: kind(&other),
                });
            }
        };
        for (key, value) in &root {
            if key == "version" {
                if value != &serde_json::json!(1) {
                    return Err(PolicyFileError::Version {
                        path: path.to_path_buf(),
                        found: value.to_string(),
                    });
                }
            } else if !SECTIONS.contains(&key.as_str()) {
                return Err(PolicyFileError::UnknownSection {
                    path: path.to_path_buf(),
                    key: key.clone(),
                });
            }
        }
        Ok(Self {
            path: Some(path.to_path_buf()),
            root,
        })
    }

    /// The file this policy came from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A stage's section, deserialized into its type (which should `deny_unknown_fields`);
    /// `None` when the file has no such section.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, PolicyFileError> {
        let Some(value) = self.root.get(name) else {
            return Ok(None);
        };
        if value.is_null() {
            return Ok(None);
        }
        serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|e| PolicyFileError::Section {
                path: self.path.clone().unwrap_or_default(),
                section: name.to_string(),
                reason: e.to_string(),
            })
    }
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "nothing",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Source {
        required_approvals: Option<u32>,
    }

    #[test]
    fn sections_are_typed_and_unknown_keys_rejected() {
        let p = Path::new("proofline.yaml");
        let file = PolicyFile::parse("version: 1\nsource:\n  required-approvals: 2\n", p).unwrap();
        assert_eq!(
            file.section::<Source>("source").unwrap(),
            Some(Source {
                required_approvals: Some(2)
            })
        );
        assert_eq!(file.section::<Source>("scan").unwrap(), None);

        let typo = PolicyFile::parse("source:\n  required-aprovals: 2\n", p).unwrap();
        let err = typo.section::<Source>("source").unwrap_err().to_string();
        assert!(
            err.contains("section `source`") && err.contains("required-aprovals"),
            "{err}"
        );

        let err = PolicyFile::parse("sorce: {}\n", p).unwrap_err().to_string();
        assert!(err.contains("unknown section `sorce`"), "{err}");
        let err = PolicyFile::parse("version: 2\n", p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("version 2"), "{err}");
        let err = PolicyFile::parse("- a\n", p).unwrap_err().to_string();
        assert!(err.contains("found a list"), "{err}");
        assert!(PolicyFile::parse("a: [\n", p).is_err());
    }

    #[test]
    fn an_alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(PolicyFile::parse(&text, Path::new("bomb.yaml")).is_err());
    }

    #[test]
    fn a_missing_default_file_is_an_empty_policy_but_an_explicit_one_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let file = PolicyFile::discover(None, dir.path()).unwrap();
        assert!(file.path().is_none());
        let err = PolicyFile::discover(Some(&dir.path().join("nope.yaml")), dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("nope.yaml") && err.contains("--policy"),
            "{err}"
        );
    }
}
