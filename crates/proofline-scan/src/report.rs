//! The scan's findings as data: what every output (report.json, the vulns predicate, SARIF,
//! the GitLab report, OpenVEX, the summary) is rendered from.

use serde::{Deserialize, Serialize};

/// Severity, ordered from least to most severe so `>=` reads as "at or above".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }

    /// From a CVSS base score (v3.x and v4.0 share the qualitative scale): 0.0 is "None",
    /// which we report as LOW only when a vector said so; callers map 0.0 themselves.
    pub fn from_score(score: f64) -> Self {
        if score >= 9.0 {
            Self::Critical
        } else if score >= 7.0 {
            Self::High
        } else if score >= 4.0 {
            Self::Medium
        } else {
            Self::Low
        }
    }
}

/// A CVSS vector and the base score computed from it (never a stored number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// `3.0`, `3.1` or `4.0`.
    pub version: String,
    pub vector: String,
    pub score: f64,
}

/// The vulnerable package as the image holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    pub name: String,
    pub version: String,
    /// The OSV ecosystem the package was matched in (`PyPI`, `crates.io`, `Debian`, …).
    pub ecosystem: String,
    pub purl: String,
}

/// Why a finding does not block: a VEX statement or an ignore entry of proofline.yaml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    /// `vex` or `ignore`.
    pub kind: String,
    /// The VEX document's path or `proofline.yaml`.
    pub source: String,
    /// VEX: `not_affected` or `fixed`; ignore: `ignored`.
    pub status: String,
    /// VEX `justification` (e.g. `vulnerable_code_not_in_execute_path`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// VEX `impact_statement` / ignore `reason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Ignore entries only: the date (YYYY-MM-DD) after which the entry stops waiving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// One vulnerability in one package (aliases merged: one finding per package and vulnerability).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The advisory id chosen as primary (the database's own, e.g. RUSTSEC-…, PYSEC-…, GHSA-…).
    pub id: String,
    /// Every other id of the same vulnerability (CVE, GHSA, …), sorted.
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub package: PackageRef,
    pub severity: Severity,
    /// The highest-scoring CVSS vector of the merged advisories, when any has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Cvss>,
    /// Versions that fix it in this package's ecosystem (empty: no fix yet).
    pub fixed_versions: Vec<String>,
    /// Where the package was found in the image (paths).
    pub locations: Vec<String>,
    /// Advisory URLs (the database's page first).
    pub references: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived_by: Option<Waiver>,
    /// At or above the gate's threshold and not waived.
    pub blocking: bool,
}

/// The database a scan ran against, as the report records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseRef {
    /// The index file or OSV directory scanned against.
    pub path: String,
    /// `index` or `directory`.
    pub kind: String,
    /// When the index was built (RFC 3339), or the newest advisory's `modified` for a directory.
    pub built: String,
    pub age_days: f64,
    pub advisories: u64,
    /// Each source (directory or archive) the index was built from, with its digest.
    pub sources: Vec<DatabaseSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSource {
    pub name: String,
    pub sha256: String,
    pub advisories: u64,
}

/// What was scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The image reference or SBOM path as given.
    pub name: String,
    /// `sha256:…` of the image, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Everything one scan found: the source of every output file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub subject: Subject,
    pub scanner: Scanner,
    pub database: DatabaseRef,
    /// The gate: findings at or above it block unless waived (`none`: nothing blocks).
    pub fail_on: String,
    /// RFC 3339 times the scan started and finished.
    pub scanned_at: String,
    pub finished_at: String,
    pub packages_scanned: u64,
    pub findings: Vec<Finding>,
    /// What else the scan learnt: skipped packages, indeterminate matches, expired or unused
    /// waivers, unreadable vectors.
    pub notes: crate::scan::Notes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scanner {
    pub name: String,
    pub version: String,
    pub uri: String,
}
