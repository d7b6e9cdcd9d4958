//! `verify`: re-hashes the whole evidence directory against its records and manifest, and reports
//! every difference as data (the CLI exits 1 when the report is not clean).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::digest::{FileDigest, sha256_file};
use crate::dir::{EvidenceDir, RecordState};
use crate::error::{EvidenceError, Result};
use crate::manifest::{Manifest, ManifestEntry};
use crate::paths::{
    MANIFEST_FILE, RECORD_FILE, existing_file, is_valid_stage_name, lstat, printable, to_slash_path,
};
use crate::record::Record;

/// What `verify` found. Paths are relative to the evidence directory, `/`-separated; every
/// list is sorted. Serializes to JSON in this field order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyReport {
    /// Stages with a valid record.
    pub stages: Vec<String>,
    /// How many recorded artifacts were re-hashed and matched.
    pub artifacts_verified: u64,
    /// Recorded artifacts that are absent.
    pub missing: Vec<MissingArtifact>,
    /// Recorded artifacts whose content or size differs from the record.
    pub modified: Vec<ModifiedArtifact>,
    /// Files no record lists (record.json files and manifest.json excepted).
    pub unrecorded: Vec<String>,
    /// `record.json` files that cannot be read or are not valid v1 records.
    pub invalid_records: Vec<InvalidRecord>,
    /// Differences between `manifest.json` and the records.
    pub manifest: Vec<ManifestProblem>,
    /// Inputs whose digest no longer matches what their producing stage now records.
    pub stale_inputs: Vec<StaleInput>,
    /// Paths that were not read: symbolic links, special files, I/O errors.
    pub unreadable: Vec<UnreadablePath>,
}

/// A recorded artifact that is absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MissingArtifact {
    /// The stage whose record lists it.
    pub stage: String,
    /// The artifact.
    pub path: String,
}

/// A recorded artifact whose bytes changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModifiedArtifact {
    /// The stage whose record lists it.
    pub stage: String,
    /// The artifact.
    pub path: String,
    /// What the record says.
    pub expected: FileDigest,
    /// What is on disk.
    pub actual: FileDigest,
}

/// A record that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvalidRecord {
    /// The stage directory.
    pub stage: String,
    /// `<stage>/record.json`.
    pub path: String,
    /// Why (names the file and the parse position).
    pub error: String,
}

/// A difference between `manifest.json` and the records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ManifestProblem {
    /// Records exist but `manifest.json` does not.
    Missing,
    /// `manifest.json` cannot be read or is not a valid v1 manifest.
    Invalid {
        /// Why.
        error: String,
    },
    /// The record file changed after the manifest was built.
    #[serde(rename_all = "camelCase")]
    RecordChanged {
        /// The stage.
        stage: String,
        /// The record digest in the manifest.
        expected_sha256: String,
        /// The record digest now.
        actual_sha256: String,
    },
    /// The manifest lists a stage whose record is gone.
    RecordGone {
        /// The stage.
        stage: String,
    },
    /// A valid record the manifest does not list (e.g. after merging parallel jobs' evidence;
    /// the next stage to finish, or a manifest rebuild, indexes it).
    NotIndexed {
        /// The stage.
        stage: String,
    },
    /// The record digest matches but the entry's other fields do not (the manifest was edited).
    EntryDiffers {
        /// The stage.
        stage: String,
    },
}

/// An input recorded by a stage that its producer no longer records with the same digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StaleInput {
    /// The consuming stage.
    pub stage: String,
    /// The producing stage.
    pub producer: String,
    /// The input path.
    pub path: String,
    /// What the consumer recorded.
    pub consumed: FileDigest,
    /// What the producer records now (`None`: it no longer records this artifact).
    pub current: Option<FileDigest>,
}

/// A path that was not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnreadablePath {
    /// The path.
    pub path: String,
    /// Why.
    pub reason: String,
}

impl VerifyReport {
    /// Whether nothing at all was found.
    pub fn is_clean(&self) -> bool {
        self.problem_count() == 0
    }

    /// How many problems are listed.
    pub fn problem_count(&self) -> usize {
        self.missing.len()
            + self.modified.len()
            + self.unrecorded.len()
            + self.invalid_records.len()
            + self.manifest.len()
            + self.stale_inputs.len()
            + self.unreadable.len()
    }

    /// The report as JSON (pretty-printed, trailing newline).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        crate::fsutil::to_pretty_json(self, "the verify report")
    }

    /// A plain-text rendering for a terminal or CI log, one problem per line with its fix.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let stages = if self.stages.is_empty() {
            "none".to_string()
        } else {
            self.stages.join(", ")
        };
        let _ = writeln!(
            out,
            "evidence verify: {} stage record(s) ({stages}), {} artifact(s) matched",
            self.stages.len(),
            self.artifacts_verified
        );
        for m in &self.missing {
            let _ = writeln!(
                out,
                "missing     {}: listed in the record of stage `{}` but absent; rerun stage `{}`",
                m.path, m.stage, m.stage
            );
        }
        for m in &self.modified {
            let _ = writeln!(
                out,
                "modified    {}: recorded sha256 {} ({} bytes), found sha256 {} ({} bytes); rerun stage `{}`",
                m.path, m.expected.sha256, m.expected.size, m.actual.sha256, m.actual.size, m.stage
            );
        }
        for path in &self.unrecorded {
            let _ = writeln!(
                out,
                "unrecorded  {}: no record lists this file; remove it or rerun the stage that should own it",
                printable(path)
            );
        }
        for r in &self.invalid_records {
            let _ = writeln!(out, "invalid     {}: {}", r.path, printable(&r.error));
        }
        for p in &self.manifest {
            let _ = writeln!(
                out,
                "manifest    {}",
                printable(&render_manifest_problem(p))
            );
        }
        for s in &self.stale_inputs {
            let now = match &s.current {
                Some(d) => format!(
                    "stage `{}` now records sha256 {} ({} bytes)",
                    s.producer, d.sha256, d.size
                ),
                None => format!("stage `{}` no longer records it", s.producer),
            };
            let _ = writeln!(
                out,
                "stale input {}: stage `{}` consumed sha256 {} ({} bytes), {now}; rerun stage `{}`",
                s.path, s.stage, s.consumed.sha256, s.consumed.size, s.stage
            );
        }
        for u in &self.unreadable {
            let _ = writeln!(
                out,
                "unreadable  {}: {}",
                printable(&u.path),
                printable(&u.reason)
            );
        }
        if self.is_clean() {
            out.push_str("result: clean\n");
        } else {
            let _ = writeln!(out, "result: {} problem(s)", self.problem_count());
        }
        out
    }
}

fn render_manifest_problem(p: &ManifestProblem) -> String {
    match p {
        ManifestProblem::Missing => {
            format!("{MANIFEST_FILE} is missing; it is rebuilt when a stage finishes")
        }
        ManifestProblem::Invalid { error } => error.clone(),
        ManifestProblem::RecordChanged {
            stage,
            expected_sha256,
            actual_sha256,
        } => format!(
            "{stage}/{RECORD_FILE} was modified after {MANIFEST_FILE} was built: indexed sha256 {expected_sha256}, found sha256 {actual_sha256}; rerun stage `{stage}`"
        ),
        ManifestProblem::RecordGone { stage } => format!(
            "{MANIFEST_FILE} lists stage `{stage}` but {stage}/{RECORD_FILE} is gone; rerun stage `{stage}`"
        ),
        ManifestProblem::NotIndexed { stage } => format!(
            "{stage}/{RECORD_FILE} is not listed in {MANIFEST_FILE} (evidence merged from another job?); rebuild the manifest"
        ),
        ManifestProblem::EntryDiffers { stage } => format!(
            "the entry of stage `{stage}` in {MANIFEST_FILE} does not match its record; rebuild the manifest"
        ),
    }
}

/// Everything under the root, without following links.
#[derive(Default)]
struct Tree {
    files: BTreeSet<String>,
    unreadable: BTreeMap<String, String>,
}

fn walk(root: &std::path::Path) -> Result<Tree> {
    let mut tree = Tree::default();
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(rel_dir) = stack.pop() {
        let dir = root.join(&rel_dir);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if rel_dir.as_os_str().is_empty() => {
                return Err(EvidenceError::io("list", &dir, e));
            }
            Err(e) => {
                let name = to_slash_path(&rel_dir).unwrap_or_else(|| rel_dir.display().to_string());
                tree.unreadable
                    .insert(name, format!("cannot list directory: {e}"));
                continue;
            }
        };
        for entry in entries {
            let entry = entry.map_err(|e| EvidenceError::io("list", &dir, e))?;
            let rel = rel_dir.join(entry.file_name());
            let Some(name) = to_slash_path(&rel) else {
                tree.unreadable.insert(
                    rel.display().to_string(),
                    "the name is not valid UTF-8".to_string(),
                );
                continue;
            };
            let file_type = match entry.file_type() {
                Ok(t) => t,
                Err(e) => {
                    tree.unreadable.insert(name, format!("cannot inspect: {e}"));
                    continue;
                }
            };
            if file_type.is_dir() {
                stack.push(rel);
            } else if file_type.is_file() {
                tree.files.insert(name);
            } else if file_type.is_symlink() {
                tree.unreadable.insert(
                    name,
                    "symbolic link: evidence holds only regular files; remove it".to_string(),
                );
            } else {
                tree.unreadable
                    .insert(name, "not a regular file; remove it".to_string());
            }
        }
    }
    Ok(tree)
}

/// Re-hashes every artifact of every record and compares the tree, the records and the manifest.
pub fn verify(dir: &EvidenceDir) -> Result<VerifyReport> {
    let root = dir.path();
    let mut tree = walk(root)?;
    let mut report = VerifyReport::default();
    let mut expected_files: BTreeSet<String> = BTreeSet::new();
    expected_files.insert(MANIFEST_FILE.to_string());

    // Records: every `<stage>/record.json` with a valid stage name.
    let mut records: BTreeMap<String, (Record, String)> = BTreeMap::new();
    let mut record_files: BTreeSet<String> = BTreeSet::new();
    for file in &tree.files {
        let Some((stage, RECORD_FILE)) = file.split_once('/') else {
            continue;
        };
        if !is_valid_stage_name(stage) {
            continue;
        }
        record_files.insert(stage.to_string());
        expected_files.insert(file.clone());
        match dir.read_record_state(stage)? {
            Some(RecordState::Valid(record, sha256)) => {
                records.insert(stage.to_string(), (*record, sha256));
            }
            Some(RecordState::Invalid(err)) => report.invalid_records.push(InvalidRecord {
                stage: stage.to_string(),
                path: file.clone(),
                error: err.to_string(),
            }),
            None => {}
        }
    }
    report.stages = records.keys().cloned().collect();

    // Artifacts of every valid record.
    for (stage, (record, _)) in &records {
        for artifact in &record.artifacts {
            expected_files.insert(artifact.path.clone());
            let path = match existing_file(root, &artifact.path) {
                Ok(Some(path)) => path,
                Ok(None) => {
                    report.missing.push(MissingArtifact {
                        stage: stage.clone(),
                        path: artifact.path.clone(),
                    });
                    continue;
                }
                Err(err) => {
                    tree.unreadable
                        .entry(artifact.path.clone())
                        .or_insert_with(|| err.to_string());
                    continue;
                }
            };
            let actual = match sha256_file(&path) {
                Ok(actual) => actual,
                Err(err) => {
                    tree.unreadable
                        .insert(artifact.path.clone(), err.to_string());
                    continue;
                }
            };
            if actual.sha256 == artifact.sha256 && actual.size == artifact.size {
                report.artifacts_verified += 1;
            } else {
                report.modified.push(ModifiedArtifact {
                    stage: stage.clone(),
                    path: artifact.path.clone(),
                    expected: FileDigest {
                        sha256: artifact.sha256.clone(),
                        size: artifact.size,
                    },
                    actual,
                });
            }
        }
    }

    report.unrecorded = tree.files.difference(&expected_files).cloned().collect();
    report.manifest = check_manifest(dir, &records, &record_files, &mut tree)?;
    report.stale_inputs = stale_inputs(&records);
    report.unreadable = tree
        .unreadable
        .into_iter()
        .map(|(path, reason)| UnreadablePath { path, reason })
        .collect();
    report.missing.sort_by(|a, b| a.path.cmp(&b.path));
    report.modified.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

fn check_manifest(
    dir: &EvidenceDir,
    records: &BTreeMap<String, (Record, String)>,
    record_files: &BTreeSet<String>,
    tree: &mut Tree,
) -> Result<Vec<ManifestProblem>> {
    let mut problems = Vec::new();
    let manifest = match lstat(&dir.path().join(MANIFEST_FILE))? {
        None if record_files.is_empty() => return Ok(problems),
        None => {
            problems.push(ManifestProblem::Missing);
            return Ok(problems);
        }
        Some(_) => match dir.read_manifest() {
            Ok(manifest) => manifest,
            Err(err) => {
                // A link is already listed as unreadable; say why the manifest was not used.
                tree.unreadable.remove(MANIFEST_FILE);
                problems.push(ManifestProblem::Invalid {
                    error: err.to_string(),
                });
                return Ok(problems);
            }
        },
    };
    let expected = Manifest::from_entries(
        records
            .values()
            .map(|(record, sha256)| ManifestEntry::for_record(record, sha256.clone()))
            .collect(),
    );
    for entry in &manifest.stages {
        match expected.entry(&entry.stage) {
            Some(now) if now.record_sha256 != entry.record_sha256 => {
                problems.push(ManifestProblem::RecordChanged {
                    stage: entry.stage.clone(),
                    expected_sha256: entry.record_sha256.clone(),
                    actual_sha256: now.record_sha256.clone(),
                });
            }
            Some(now) if now != entry => problems.push(ManifestProblem::EntryDiffers {
                stage: entry.stage.clone(),
            }),
            Some(_) => {}
            // An invalid record is reported once, under invalid records.
            None if record_files.contains(&entry.stage) => {}
            None => problems.push(ManifestProblem::RecordGone {
                stage: entry.stage.clone(),
            }),
        }
    }
    for entry in &expected.stages {
        if manifest.entry(&entry.stage).is_none() {
            problems.push(ManifestProblem::NotIndexed {
                stage: entry.stage.clone(),
            });
        }
    }
    problems.sort_by(|a, b| manifest_problem_key(a).cmp(manifest_problem_key(b)));
    Ok(problems)
}

fn manifest_problem_key(p: &ManifestProblem) -> &str {
    match p {
        ManifestProblem::Missing | ManifestProblem::Invalid { .. } => "",
        ManifestProblem::RecordChanged { stage, .. }
        | ManifestProblem::RecordGone { stage }
        | ManifestProblem::NotIndexed { stage }
        | ManifestProblem::EntryDiffers { stage } => stage,
    }
}

fn stale_inputs(records: &BTreeMap<String, (Record, String)>) -> Vec<StaleInput> {
    let mut stale = Vec::new();
    for (stage, (record, _)) in records {
        for input in &record.inputs {
            let current = records
                .get(&input.stage)
                .and_then(|(producer, _)| producer.artifact(&input.path))
                .map(|a| FileDigest {
                    sha256: a.sha256.clone(),
                    size: a.size,
                });
            let matches = current
                .as_ref()
                .is_some_and(|c| c.sha256 == input.sha256 && c.size == input.size);
            if !matches {
                stale.push(StaleInput {
                    stage: stage.clone(),
                    producer: input.stage.clone(),
                    path: input.path.clone(),
                    consumed: FileDigest {
                        sha256: input.sha256.clone(),
                        size: input.size,
                    },
                    current,
                });
            }
        }
    }
    stale
}
