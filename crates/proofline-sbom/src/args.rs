//! The SBOM stage's command line: one documented `Args` struct shared by `proofline-sbom` and
//! `proofline sbom`, every flag also read from `PROOFLINE_<FLAG>`, plus `convert`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use proofline_stagekit::ImageAccessArgs;
use serde::{Deserialize, Serialize};

use crate::cyclonedx::CycloneDxVersion;

/// The SPDX version of `sbom.spdx.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum SpdxVersion {
    /// SPDX 3.0.1 JSON-LD (the default).
    #[value(name = "3.0.1")]
    #[serde(rename = "3.0.1")]
    V3_0_1,
    /// SPDX 2.3 JSON, for consumers that do not read SPDX 3 yet.
    #[value(name = "2.3")]
    #[serde(rename = "2.3")]
    V2_3,
}

impl SpdxVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V3_0_1 => "3.0.1",
            Self::V2_3 => "2.3",
        }
    }
}

/// The CycloneDX version of `sbom.cdx.json`, as a flag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum CycloneDxFlag {
    #[value(name = "1.4")]
    #[serde(rename = "1.4")]
    V1_4,
    #[value(name = "1.5")]
    #[serde(rename = "1.5")]
    V1_5,
    /// The default.
    #[value(name = "1.6")]
    #[serde(rename = "1.6")]
    V1_6,
}

impl From<CycloneDxFlag> for CycloneDxVersion {
    fn from(flag: CycloneDxFlag) -> Self {
        match flag {
            CycloneDxFlag::V1_4 => Self::V1_4,
            CycloneDxFlag::V1_5 => Self::V1_5,
            CycloneDxFlag::V1_6 => Self::V1_6,
        }
    }
}

/// What the SBOM stage writes and judges; `proofline pipeline` takes these too.
#[derive(Debug, Clone, Default, Args)]
pub struct SbomSettings {
    /// SPDX version of sbom.spdx.json: 3.0.1 (JSON-LD) or 2.3 (JSON) [default: 3.0.1].
    #[arg(long, env = "PROOFLINE_SPDX_VERSION", value_enum)]
    pub spdx_version: Option<SpdxVersion>,

    /// CycloneDX version of sbom.cdx.json: 1.4, 1.5 or 1.6 [default: 1.6].
    #[arg(long, env = "PROOFLINE_CYCLONEDX_VERSION", value_enum)]
    pub cyclonedx_version: Option<CycloneDxFlag>,

    /// A file that differs from the digest its package manager recorded is a policy violation
    /// (exit 1) [default: false: reported only].
    #[arg(long, env = "PROOFLINE_FAIL_ON_MODIFIED", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub fail_on_modified: Option<bool>,
}

/// The `sbom:` section of proofline.yaml (flags override it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SbomSection {
    pub spdx_version: Option<SpdxVersion>,
    pub cyclonedx_version: Option<CycloneDxFlag>,
    pub fail_on_modified: Option<bool>,
}

/// The settings in force: flag > env > policy file > default, resolved once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SbomPolicy {
    pub spdx_version: SpdxVersion,
    pub cyclonedx_version: CycloneDxFlag,
    pub fail_on_modified: bool,
}

impl SbomPolicy {
    pub fn resolve(flags: &SbomSettings, section: Option<&SbomSection>) -> Self {
        let section = section.cloned().unwrap_or_default();
        Self {
            spdx_version: flags
                .spdx_version
                .or(section.spdx_version)
                .unwrap_or(SpdxVersion::V3_0_1),
            cyclonedx_version: flags
                .cyclonedx_version
                .or(section.cyclonedx_version)
                .unwrap_or(CycloneDxFlag::V1_6),
            fail_on_modified: flags
                .fail_on_modified
                .or(section.fail_on_modified)
                .unwrap_or(false),
        }
    }
}

/// List every package in an image (dpkg, apk, rpm, Python, npm, Cargo, Go, Java, and binaries
/// no package owns) as SPDX and CycloneDX, check each file against its package manager's
/// recorded digest, and record it all under `evidence/sbom/`.
#[derive(Debug, Clone, Args)]
pub struct SbomArgs {
    /// Image to describe: oci:PATH[:TAG], docker-archive:PATH or HOST/REPO[:TAG][@DIGEST]
    /// (default: the image the evidence directory's `image` stage pinned).
    #[arg(long, env = "PROOFLINE_IMAGE")]
    pub image: Option<String>,

    #[command(flatten)]
    pub access: ImageAccessArgs,

    /// The evidence directory to write `sbom/` into.
    #[arg(long, env = "PROOFLINE_EVIDENCE_DIR", default_value = "evidence")]
    pub evidence_dir: PathBuf,

    /// The policy file; its `sbom:` section sets defaults the flags override (default:
    /// proofline.yaml in the working directory, when present).
    #[arg(long, env = "PROOFLINE_POLICY")]
    pub policy: Option<PathBuf>,

    #[command(flatten)]
    pub settings: SbomSettings,
}

/// The format `convert` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertTarget {
    /// SPDX (3.0.1 JSON-LD, or 2.3 JSON with --spdx-version 2.3).
    Spdx,
    /// CycloneDX JSON (1.6, or --cyclonedx-version).
    Cyclonedx,
}

/// `convert`: read a foreign SBOM and write it in one of our formats.
#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// The SBOM to read: SPDX 2.3 or 3.0.1 JSON, or CycloneDX 1.4–1.6 JSON (syft, trivy,
    /// cyclonedx tools, ours); `-` reads standard input.
    #[arg(value_name = "IN")]
    pub input: PathBuf,

    /// Where to write the result; `-` writes standard output.
    #[arg(value_name = "OUT")]
    pub output: PathBuf,

    /// The format to write.
    #[arg(long, env = "PROOFLINE_CONVERT_TO", value_enum)]
    pub to: ConvertTarget,

    /// SPDX version to write with --to spdx.
    #[arg(
        long,
        env = "PROOFLINE_SPDX_VERSION",
        value_enum,
        default_value = "3.0.1"
    )]
    pub spdx_version: SpdxVersion,

    /// CycloneDX version to write with --to cyclonedx.
    #[arg(
        long,
        env = "PROOFLINE_CYCLONEDX_VERSION",
        value_enum,
        default_value = "1.6"
    )]
    pub cyclonedx_version: CycloneDxFlag,
}

/// `proofline-sbom` / `proofline sbom`: the stage, or one of its tools.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SbomCommandLine {
    #[command(subcommand)]
    pub command: Option<SbomCommand>,

    #[command(flatten)]
    pub args: SbomArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SbomCommand {
    /// Convert a foreign SBOM (SPDX 2.3/3.0.1, CycloneDX 1.4–1.6 JSON) to SPDX or CycloneDX,
    /// through the same inventory the stage writes from.
    Convert(ConvertArgs),
}
