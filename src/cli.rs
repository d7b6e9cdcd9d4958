//! The command-line interface of the umbrella binary: one documented clap `Args` struct per
//! command, every flag also read from a `PROOFLINE_<FLAG>` environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
pub use proofline_stagekit::ImageAccessArgs;

/// Proofline turns a CI pipeline into a compliance engine for container images: every stage
/// leaves signed, verifiable evidence in one evidence directory.
#[derive(Debug, Parser)]
#[command(name = "proofline", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log verbosity for messages on stderr (error, warn, info, debug, trace).
    #[arg(
        long,
        global = true,
        env = "PROOFLINE_LOG_LEVEL",
        default_value = "info"
    )]
    pub log_level: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read container images: inspect, list the merged filesystem, copy.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Work with the evidence directory.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Stage 1: verify every commit a change brings (signatures against our own trust store),
    /// and the branch protection and reviews the forge reports.
    Source(proofline_source::SourceArgs),
    /// Stage 3: every package in the image (dpkg, apk, rpm, Python, npm, Cargo, Go, Java, and
    /// binaries no package owns) as SPDX and CycloneDX, package files checked against their
    /// recorded digests, and the dependency tree; `convert` reads foreign SBOMs.
    Sbom(proofline_sbom::SbomCommandLine),
    /// Stage 5: every package matched against an offline OSV database; critical findings
    /// block (exit 1) unless waived by VEX or a reasoned, expiring ignore; SARIF, GitLab and
    /// OpenVEX outputs; `db build|update|info` manage the database.
    Scan(proofline_scan::ScanCommandLine),
    /// Stage 6: sign the image (cosign v3 bundle and v2 simple signing) and every evidence
    /// artifact as an in-toto statement in a Sigstore bundle: keyed, keyless (Fulcio + Rekor) or
    /// with an ephemeral key; `keygen` makes a cosign-compatible key pair.
    Sign(proofline_sign::SignCommandLine),
    /// Verify an image's signatures and signed evidence offline against a key or a certificate
    /// identity and a Sigstore trusted root; exit 0 only when everything verified.
    Verify(Box<proofline_verify::VerifyArgs>),
    /// Run every stage that exists, in order, over one image and one evidence directory.
    Pipeline(Box<PipelineArgs>),
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Show an image's digest, platform, config (secret-looking env values redacted) and layers.
    Inspect(InspectArgs),
    /// List the merged filesystem, one JSON object per line.
    Ls(LsArgs),
    /// Copy an image between OCI layouts, docker archives and registries, digest preserved.
    Copy(CopyArgs),
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Re-hash every file of the evidence directory against the stage records; exit 1 when
    /// anything is missing, modified or unrecorded.
    Verify(EvidenceVerifyArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// JSON (stable keys, for machines).
    Json,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Image reference: oci:PATH[:TAG|@DIGEST], docker-archive:PATH, or HOST[:PORT]/REPO[:TAG][@sha256:DIGEST].
    #[arg(env = "PROOFLINE_IMAGE")]
    pub image: String,
    #[command(flatten)]
    pub access: ImageAccessArgs,
    /// Output format.
    #[arg(long, env = "PROOFLINE_FORMAT", value_enum, default_value = "json")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Image reference: oci:PATH[:TAG|@DIGEST], docker-archive:PATH, or HOST[:PORT]/REPO[:TAG][@sha256:DIGEST].
    #[arg(env = "PROOFLINE_IMAGE")]
    pub image: String,
    #[command(flatten)]
    pub access: ImageAccessArgs,
    /// Sort entries by path (holds every entry's metadata in memory until the end; the
    /// default streams entries in layer order, top layer first, with flat memory).
    #[arg(long, env = "PROOFLINE_SORT")]
    pub sort: bool,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Source image reference.
    #[arg(env = "PROOFLINE_SOURCE")]
    pub source: String,
    /// Destination reference (its tag, if any, is applied; the manifest digest is preserved).
    #[arg(env = "PROOFLINE_DESTINATION")]
    pub destination: String,
    #[command(flatten)]
    pub access: ImageAccessArgs,
}

#[derive(Debug, Args)]
pub struct EvidenceVerifyArgs {
    /// The evidence directory.
    #[arg(long, env = "PROOFLINE_EVIDENCE_DIR", default_value = "evidence")]
    pub evidence_dir: PathBuf,
    /// Output format.
    #[arg(long, env = "PROOFLINE_FORMAT", value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Image to run the pipeline over (default: the fixture image shipped in fixtures/, when
    /// run from a Proofline checkout).
    #[arg(long, env = "PROOFLINE_IMAGE")]
    pub image: Option<String>,
    #[command(flatten)]
    pub access: ImageAccessArgs,
    /// The source stage's settings (it runs when --repo is a git repository; the default `.`
    /// is skipped with a note when it is not one). The evidence directory every stage writes
    /// to is its --evidence-dir.
    #[command(flatten)]
    pub source: proofline_source::SourceArgs,
    /// The SBOM stage's settings.
    #[command(flatten)]
    pub sbom: proofline_sbom::SbomSettings,
    /// The scan stage's settings (it scans the SBOM the sbom stage just recorded).
    #[command(flatten)]
    pub scan: proofline_scan::ScanSettings,
    /// The sign stage's settings (with none of --key, --keyless, --ephemeral-key, the pipeline
    /// signs with an ephemeral key). The pipeline then verifies its own signatures, keyless ones
    /// against the sign stage's --trusted-root.
    #[command(flatten)]
    pub sign: proofline_sign::SignSettings,
}
