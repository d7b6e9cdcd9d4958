//! The scan stage's command line: one documented `Args` struct shared by `proofline-scan` and
//! `proofline scan`, every flag also read from `PROOFLINE_<FLAG>`, plus the `db` tools, and
//! the `scan:` section of proofline.yaml.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use proofline_stagekit::ImageAccessArgs;
use serde::{Deserialize, Serialize};

use crate::report::Severity;

/// The gate: the lowest severity that blocks a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Only CRITICAL findings block (the default).
    Critical,
    /// HIGH and CRITICAL findings block.
    High,
    /// MEDIUM and above block.
    Medium,
    /// LOW and above block (findings without a severity do not).
    Low,
    /// Every finding blocks, even one whose advisory gives no severity.
    Unknown,
    /// Nothing blocks: findings are reported only.
    None,
}

impl FailOn {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
            Self::Unknown => "unknown",
            Self::None => "none",
        }
    }

    /// Whether an unwaived finding of `severity` blocks.
    pub fn blocks(self, severity: Severity) -> bool {
        let threshold = match self {
            Self::Critical => Severity::Critical,
            Self::High => Severity::High,
            Self::Medium => Severity::Medium,
            Self::Low => Severity::Low,
            Self::Unknown => Severity::Unknown,
            Self::None => return false,
        };
        severity >= threshold
    }
}

/// Which advisories apply to a language package a distribution package installed (a Debian
/// `python3-urllib3`'s urllib3 dist-info, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DistroOwned {
    /// The distribution's advisories, through the distribution package (the default):
    /// distributions backport fixes without changing the upstream version, so upstream
    /// advisories on such packages are the classic false positive.
    Distro,
    /// The upstream ecosystem's advisories too (PyPI, npm, …), by the upstream version.
    Upstream,
}

impl DistroOwned {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Distro => "distro",
            Self::Upstream => "upstream",
        }
    }
}

/// What the scan judges; `proofline pipeline` takes these too.
#[derive(Debug, Clone, Default, Args)]
pub struct ScanSettings {
    /// The vulnerability database: an index built by `proofline scan db build` or `db update`,
    /// or a directory (or all.zip) of OSV advisories [default: ~/.cache/proofline/vulndb.idx, or
    /// $XDG_CACHE_HOME/proofline/vulndb.idx].
    #[arg(long, env = "PROOFLINE_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// A database built longer ago than this many days is a warning, or an error with
    /// --require-fresh-db [default: 7].
    #[arg(long, env = "PROOFLINE_MAX_DB_AGE", value_name = "DAYS")]
    pub max_db_age: Option<u32>,

    /// Refuse to scan (exit 2) with a database older than --max-db-age [default: false].
    #[arg(long, env = "PROOFLINE_REQUIRE_FRESH_DB", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub require_fresh_db: Option<bool>,

    /// The lowest severity that fails the scan (exit 1) when a finding at or above it is not
    /// waived [default: critical].
    #[arg(long, env = "PROOFLINE_FAIL_ON", value_enum)]
    pub fail_on: Option<FailOn>,

    /// OpenVEX 0.2.0 documents whose `not_affected` and `fixed` statements waive findings
    /// (repeat the flag, or separate with commas in the env var).
    #[arg(
        long,
        env = "PROOFLINE_VEX",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub vex: Vec<PathBuf>,

    /// Advisories for language packages installed by a distribution package: the
    /// distribution's (distro) or the upstream ecosystem's as well (upstream) [default: distro].
    #[arg(long, env = "PROOFLINE_MATCH_DISTRO_OWNED", value_enum)]
    pub match_distro_owned: Option<DistroOwned>,
}

/// One entry of `scan.ignore` in proofline.yaml: a reasoned, expiring risk acceptance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IgnoreEntry {
    /// The vulnerability: its id or any alias (`CVE-2023-32681`, `GHSA-…`, `PYSEC-…`).
    pub id: String,
    /// Only this package (its name, or a purl without version); every package when absent.
    #[serde(default)]
    pub package: Option<String>,
    /// Why the risk is accepted (required: an auditor reads it).
    pub reason: String,
    /// The last day (YYYY-MM-DD, UTC) the entry waives; after it the finding blocks again.
    pub expires: String,
}

/// The `scan:` section of proofline.yaml (flags override it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ScanSection {
    pub db: Option<PathBuf>,
    pub max_db_age: Option<u32>,
    pub require_fresh_db: Option<bool>,
    pub fail_on: Option<FailOn>,
    /// VEX documents, relative to the policy file's directory.
    #[serde(default)]
    pub vex: Vec<PathBuf>,
    pub match_distro_owned: Option<DistroOwned>,
    #[serde(default)]
    pub ignore: Vec<IgnoreEntry>,
}

/// The settings in force: flag > env > policy file > default, resolved once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanPolicy {
    pub db: PathBuf,
    pub max_db_age_days: u32,
    pub require_fresh_db: bool,
    pub fail_on: FailOn,
    pub vex: Vec<PathBuf>,
    pub match_distro_owned: DistroOwned,
    pub ignore: Vec<IgnoreEntry>,
}

impl ScanPolicy {
    /// Resolves flags over the policy file's section; `base` is the policy file's directory
    /// (its relative VEX paths are relative to it).
    pub fn resolve(
        flags: &ScanSettings,
        section: Option<&ScanSection>,
        base: Option<&std::path::Path>,
    ) -> Self {
        let section = section.cloned().unwrap_or_default();
        let relative = |p: PathBuf| match base {
            Some(b) if p.is_relative() => b.join(p),
            _ => p,
        };
        let vex = if flags.vex.is_empty() {
            section.vex.into_iter().map(relative).collect()
        } else {
            flags.vex.clone()
        };
        Self {
            db: flags
                .db
                .clone()
                .or(section.db.map(relative))
                .unwrap_or_else(default_db),
            max_db_age_days: flags.max_db_age.or(section.max_db_age).unwrap_or(7),
            require_fresh_db: flags
                .require_fresh_db
                .or(section.require_fresh_db)
                .unwrap_or(false),
            fail_on: flags
                .fail_on
                .or(section.fail_on)
                .unwrap_or(FailOn::Critical),
            vex,
            match_distro_owned: flags
                .match_distro_owned
                .or(section.match_distro_owned)
                .unwrap_or(DistroOwned::Distro),
            ignore: section.ignore,
        }
    }
}

/// Where `db update` writes and the scan looks by default.
pub fn default_db() -> PathBuf {
    cache_home().join("proofline").join("vulndb.idx")
}

fn cache_home() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache"),
        None => PathBuf::from(".cache"),
    }
}

/// Match every package of an image (or SBOM) against an offline OSV database, gate on
/// severity, and record the findings under `evidence/scan/` (report, in-toto vulns statement,
/// SARIF, GitLab container-scanning report, OpenVEX, summary).
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Image to scan, catalogued in-process like the SBOM stage: oci:PATH[:TAG],
    /// docker-archive:PATH or HOST/REPO[:TAG][@DIGEST] (default: the evidence directory's SBOM,
    /// or the image its `image` stage pinned).
    #[arg(long, env = "PROOFLINE_IMAGE", conflicts_with = "sbom")]
    pub image: Option<String>,

    /// An SBOM to scan instead of an image: ours or a foreign one (SPDX 2.3/3.0.1 JSON,
    /// CycloneDX 1.4–1.6 JSON).
    #[arg(long, env = "PROOFLINE_SBOM", value_name = "FILE")]
    pub sbom: Option<PathBuf>,

    #[command(flatten)]
    pub access: ImageAccessArgs,

    /// The evidence directory to write `scan/` into.
    #[arg(long, env = "PROOFLINE_EVIDENCE_DIR", default_value = "evidence")]
    pub evidence_dir: PathBuf,

    /// The policy file; its `scan:` section sets defaults the flags override and holds the
    /// ignore list (default: proofline.yaml in the working directory, when present).
    #[arg(long, env = "PROOFLINE_POLICY")]
    pub policy: Option<PathBuf>,

    #[command(flatten)]
    pub settings: ScanSettings,
}

/// `db build`: an index from OSV advisories on disk.
#[derive(Debug, Clone, Args)]
pub struct DbBuildArgs {
    /// OSV sources: directories of .json/.yaml advisories, OSV's per-ecosystem all.zip
    /// archives, or single advisory files (repeat the flag).
    #[arg(
        long = "from",
        env = "PROOFLINE_DB_FROM",
        value_delimiter = ',',
        required = true,
        value_name = "DIR|ZIP|FILE"
    )]
    pub from: Vec<PathBuf>,

    /// The index to write (replaced atomically) [default: the scan's default --db].
    #[arg(long, env = "PROOFLINE_DB_OUT", value_name = "DB")]
    pub out: Option<PathBuf>,
}

/// `db update`: download OSV's archives (only what changed) and rebuild the index.
#[derive(Debug, Clone, Args)]
pub struct DbUpdateArgs {
    /// The index to write (replaced atomically) [default: the scan's default --db].
    #[arg(long, env = "PROOFLINE_DB_OUT", value_name = "DB")]
    pub out: Option<PathBuf>,

    /// Where OSV's archives are served: a mirror of https://osv-vulnerabilities.storage.googleapis.com
    /// with the same `{ECOSYSTEM}/all.zip` layout.
    #[arg(
        long,
        env = "PROOFLINE_DB_BASE_URL",
        default_value = "https://osv-vulnerabilities.storage.googleapis.com"
    )]
    pub base_url: String,

    /// OSV ecosystems to download (repeat, or commas in the env var) [default: PyPI, npm,
    /// crates.io, Go, Maven, Debian, Alpine, Ubuntu].
    #[arg(
        long = "ecosystems",
        alias = "ecosystem",
        env = "PROOFLINE_DB_ECOSYSTEMS",
        value_delimiter = ','
    )]
    pub ecosystems: Vec<String>,

    /// Where the downloaded archives and their ETags are kept between runs (cache this
    /// directory in CI) [default: next to the index, in `<DB>.d/`].
    #[arg(long, env = "PROOFLINE_DB_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// `db info`: what an index or OSV directory holds.
#[derive(Debug, Clone, Args)]
pub struct DbInfoArgs {
    /// The index or OSV directory [default: the scan's default --db].
    #[arg(long, env = "PROOFLINE_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// `proofline-scan db …`.
#[derive(Debug, Clone, Subcommand)]
pub enum DbCommand {
    /// Build an index from OSV advisories on disk (directories, all.zip archives, files).
    Build(DbBuildArgs),
    /// Download OSV's per-ecosystem archives (conditional requests: unchanged ones are not
    /// downloaded again) and rebuild the index.
    Update(DbUpdateArgs),
    /// Print what a database holds: sources, digests, advisory count, build time and age.
    Info(DbInfoArgs),
}

/// `proofline-scan` / `proofline scan`: the stage, or one of its database tools.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScanCommandLine {
    #[command(subcommand)]
    pub command: Option<ScanCommand>,

    #[command(flatten)]
    pub args: ScanArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ScanCommand {
    /// The offline vulnerability database: build, update, info.
    #[command(subcommand)]
    Db(DbCommand),
}
