//! Package verification hashes: every file a package manager recorded a digest for (dpkg md5sums,
//! apk SHA-1 checksums, rpm file digests, Python RECORD sha256, …) checked against the file in the image: `ok`, `modified` or `missing`
//! (a later layer deleting documentation is `missing`, not an error).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use md5::Digest as _;
use proofline_oci::{EntryType, Image, WalkOptions};
use serde::Serialize;
use sha1::Digest as _;

use crate::catalog::CatalogError;
use crate::model::Inventory;

/// `package-verification.json` schema id.
pub const SCHEMA: &str = "proofline/package-verification/v1";

/// A file's state against its recorded digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    Ok,
    Modified,
    Missing,
    /// Recorded with an algorithm we do not compute (reported, never counted as ok).
    Unchecked,
}

/// One checked file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileCheck {
    pub path: String,
    pub algorithm: String,
    pub recorded: String,
    /// The digest of the file in the image, when it exists.
    pub actual: Option<String>,
    pub state: FileState,
}

/// One package's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageCheck {
    pub purl: String,
    pub ok: usize,
    pub modified: usize,
    pub missing: usize,
    pub unchecked: usize,
    /// The files that are not `ok` (all of them are counted above).
    pub problems: Vec<FileCheck>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationReport {
    pub schema: &'static str,
    pub files_checked: usize,
    pub modified: usize,
    pub missing: usize,
    pub unchecked: usize,
    pub packages: Vec<PackageCheck>,
}

/// Digest algorithms computed from file bytes in the second walk (SHA-256 comes from the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Computed {
    Md5,
    Sha1,
}

impl Computed {
    fn from_name(algorithm: &str) -> Option<Self> {
        match algorithm {
            "md5" => Some(Self::Md5),
            "sha1" => Some(Self::Sha1),
            _ => None,
        }
    }

    fn hex(self, bytes: &[u8]) -> String {
        match self {
            Self::Md5 => hex::encode(md5::Md5::digest(bytes)),
            Self::Sha1 => hex::encode(sha1::Sha1::digest(bytes)),
        }
    }
}

/// Any supported digest of `bytes` (a symlink's target, hashed as apk records it).
fn digest_of(algorithm: &str, bytes: &[u8]) -> Option<String> {
    match algorithm {
        "sha256" => Some(hex::encode(
            <sha2::Sha256 as sha2::Digest>::digest(bytes).as_slice(),
        )),
        other => Computed::from_name(other).map(|c| c.hex(bytes)),
    }
}

/// Where a recorded path is in the image: its directories resolved through symlinks; the
/// last component is a symlink itself (`Link(target)`) or resolved to the regular file.
enum Located<'p> {
    Link(String),
    File(Cow<'p, str>),
}

fn locate<'p>(inventory: &Inventory, path: &'p str) -> Located<'p> {
    if let Some((parent, name)) = path.rsplit_once('/') {
        let dir = inventory.resolve_path(if parent.is_empty() { "/" } else { parent });
        let candidate = match dir {
            // No symlinked directory on the way: the path itself, without a copy.
            Cow::Borrowed(_) if !parent.is_empty() && !parent.ends_with('/') => Cow::Borrowed(path),
            _ => Cow::Owned(format!("{}/{name}", dir.trim_end_matches('/'))),
        };
        if let Some(target) = inventory.links.get(&*candidate) {
            return Located::Link(target.clone());
        }
    }
    Located::File(inventory.resolve_path(path))
}

/// Checks every recorded digest. SHA-256 and MD5 come from the catalog walk; other digests
/// (apk's SHA-1) need the file's bytes: a second walk streams exactly those files and computes, for each, only the algorithms its packages
/// recorded (memory stays per-file). A symlink's recorded digest is that of its target path
/// (apk records symlinks so).
pub fn verify(image: &Image, inventory: &Inventory) -> Result<VerificationReport, CatalogError> {
    let mut need: BTreeMap<String, BTreeSet<Computed>> = BTreeMap::new();
    for f in inventory.packages.iter().flat_map(|p| p.files.iter()) {
        let Some(computed) = f
            .recorded
            .as_ref()
            .and_then(|d| Computed::from_name(&d.algorithm))
        else {
            continue;
        };
        if let Located::File(path) = locate(inventory, &f.path)
            && let Some(file) = inventory.files.get(&*path)
            // The catalog walk computed every file's MD5 already: no second pass for dpkg.
            && !(computed == Computed::Md5 && file.md5.is_some())
        {
            need.entry(path.into_owned()).or_default().insert(computed);
        }
    }
    let mut computed: BTreeMap<(String, Computed), String> = BTreeMap::new();
    if !need.is_empty() {
        let wanted: BTreeSet<String> = need.keys().cloned().collect();
        let opts = WalkOptions {
            hash_files: false,
            ..WalkOptions::default()
        }
        .with_content(move |p| wanted.contains(p));
        image.walk(&opts, |entry| {
            if entry.kind == EntryType::File
                && let Some(bytes) = &entry.content
                && let Some(algorithms) = need.get(&entry.path)
            {
                for a in algorithms {
                    computed.insert((entry.path.clone(), *a), a.hex(bytes));
                }
            }
            ControlFlow::Continue(())
        })?;
    }
    let mut report = VerificationReport {
        schema: SCHEMA,
        files_checked: 0,
        modified: 0,
        missing: 0,
        unchecked: 0,
        packages: Vec::new(),
    };
    for p in &inventory.packages {
        let mut check = PackageCheck {
            purl: p.purl.clone(),
            ok: 0,
            modified: 0,
            missing: 0,
            unchecked: 0,
            problems: Vec::new(),
        };
        for f in &p.files {
            let Some(recorded) = &f.recorded else {
                continue;
            };
            // None: missing; Some(None): present but not computed (unsupported algorithm).
            let actual: Option<Option<String>> = match locate(inventory, &f.path) {
                Located::Link(target) => Some(digest_of(&recorded.algorithm, target.as_bytes())),
                Located::File(path) => {
                    inventory.files.get(&*path).map(|i| {
                        match Computed::from_name(&recorded.algorithm) {
                            Some(Computed::Md5) if i.md5.is_some() => i.md5.clone(),
                            Some(c) => computed.get(&(path.into_owned(), c)).cloned(),
                            None if recorded.algorithm == "sha256" => i.sha256.clone(),
                            None => None,
                        }
                    })
                }
            };
            let state = match &actual {
                None => FileState::Missing,
                Some(None) => FileState::Unchecked,
                Some(Some(a)) if a.eq_ignore_ascii_case(&recorded.value) => FileState::Ok,
                Some(Some(_)) => FileState::Modified,
            };
            report.files_checked += 1;
            match state {
                FileState::Ok => check.ok += 1,
                FileState::Modified => check.modified += 1,
                FileState::Missing => check.missing += 1,
                FileState::Unchecked => check.unchecked += 1,
            }
            if state != FileState::Ok {
                check.problems.push(FileCheck {
                    path: f.path.clone(),
                    algorithm: recorded.algorithm.clone(),
                    recorded: recorded.value.clone(),
                    actual: actual.flatten(),
                    state,
                });
            }
        }
        if check.ok + check.modified + check.missing + check.unchecked > 0 {
            report.modified += check.modified;
            report.missing += check.missing;
            report.unchecked += check.unchecked;
            report.packages.push(check);
        }
    }
    Ok(report)
}
