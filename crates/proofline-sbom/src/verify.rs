//! Package verification hashes: every file a package manager recorded a digest for (dpkg md5sums,
//! Python RECORD sha256, …) checked against the file in the image: `ok`, `modified` or `missing`
//! (a later layer deleting documentation is `missing`, not an error).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use md5::Digest as _;
use proofline_oci::{EntryType, Image, WalkOptions};
use serde::Serialize;

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

/// Checks every recorded digest. Digests other than SHA-256 need the file's bytes: a second
/// walk streams exactly those files and hashes each as it passes (memory stays per-file).
pub fn verify(image: &Image, inventory: &Inventory) -> Result<VerificationReport, CatalogError> {
    let resolved = |p: &str| inventory.resolve_path(p);
    let need: BTreeSet<String> = inventory
        .packages
        .iter()
        .flat_map(|p| p.files.iter())
        .filter(|f| f.recorded.as_ref().is_some_and(|d| d.algorithm == "md5"))
        .map(|f| resolved(&f.path))
        .filter(|p| inventory.files.contains_key(p))
        .collect();
    let mut md5s: BTreeMap<String, String> = BTreeMap::new();
    if !need.is_empty() {
        let wanted = need.clone();
        let opts = WalkOptions {
            hash_files: false,
            ..WalkOptions::default()
        }
        .with_content(move |p| wanted.contains(p));
        image.walk(&opts, |entry| {
            if entry.kind == EntryType::File
                && let Some(bytes) = &entry.content
            {
                md5s.insert(entry.path.clone(), hex::encode(md5::Md5::digest(bytes)));
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
            let path = resolved(&f.path);
            let actual = match recorded.algorithm.as_str() {
                "sha256" => inventory.files.get(&path).map(|i| i.sha256.clone()),
                "md5" => inventory.files.get(&path).map(|_| md5s.get(&path).cloned()),
                _ => inventory.files.get(&path).map(|_| None),
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
