//! The sign stage's command line: one documented `Args` struct with an env var for every flag,
//! and the `keygen` subcommand. Passwords and tokens are never flags' values on display.

use std::path::PathBuf;

use crate::keyless::{PUBLIC_FULCIO, PUBLIC_REKOR};
use crate::signer::Algorithm;

/// `proofline-sign` / `proofline sign`: the stage, or `keygen`.
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SignCommandLine {
    /// A subcommand; without one, the evidence directory is signed.
    #[command(subcommand)]
    pub command: Option<SignCommand>,

    #[command(flatten)]
    pub args: SignArgs,
}

/// Subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SignCommand {
    /// Generate a cosign-compatible key pair: `cosign.key` (encrypted with the password in
    /// PROOFLINE_SIGN_PASSWORD or COSIGN_PASSWORD) and `cosign.pub`.
    Keygen(KeygenArgs),
}

/// `keygen`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeygenArgs {
    /// The directory to write `cosign.key` and `cosign.pub` into (created if missing; existing
    /// keys are never overwritten).
    #[arg(long, env = "PROOFLINE_KEYGEN_OUT", default_value = ".")]
    pub out: PathBuf,

    /// The key algorithm: ecdsa-p256 (cosign's default), ecdsa-p384, rsa-4096, ed25519.
    #[arg(long, env = "PROOFLINE_KEY_ALGORITHM", default_value = "ecdsa-p256")]
    pub algorithm: Algorithm,
}

/// Signing the evidence directory.
#[derive(Debug, Clone, clap::Args)]
pub struct SignArgs {
    /// The evidence directory whose image and artifacts are signed.
    #[arg(long, env = "PROOFLINE_EVIDENCE_DIR", default_value = "evidence")]
    pub evidence_dir: PathBuf,

    #[command(flatten)]
    pub settings: SignSettings,
}

/// How to sign (shared with `proofline pipeline`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SignSettings {
    /// Sign with this cosign private key (`cosign.key`, as `cosign generate-key-pair` or
    /// `proofline-sign keygen` writes it). Its password comes from PROOFLINE_SIGN_PASSWORD or
    /// COSIGN_PASSWORD, never from a flag.
    #[arg(long, env = "PROOFLINE_SIGN_KEY", conflicts_with_all = ["keyless", "ephemeral_key"])]
    pub key: Option<PathBuf>,

    /// Keyless: an ephemeral key certified by Fulcio for the CI's OIDC identity, every signature
    /// logged in Rekor. Needs `permissions: id-token: write` on GitHub, `id_tokens` on GitLab.
    #[arg(long, env = "PROOFLINE_KEYLESS", conflicts_with = "ephemeral_key")]
    pub keyless: bool,

    /// Sign with a key generated for this run only (its public key is written to
    /// `sign/cosign.pub`): for local runs and tests, where no key or identity exists.
    #[arg(long, env = "PROOFLINE_EPHEMERAL_KEY")]
    pub ephemeral_key: bool,

    /// The algorithm of the ephemeral key (default ecdsa-p256); a key file or Fulcio decides it
    /// otherwise, so it needs --ephemeral-key.
    #[arg(long, env = "PROOFLINE_KEY_ALGORITHM")]
    pub algorithm: Option<Algorithm>,

    /// Keyless: the OIDC identity token, when the CI's own cannot be used (default: GitLab's
    /// SIGSTORE_ID_TOKEN, or GitHub's OIDC endpoint).
    #[arg(long, env = "PROOFLINE_IDENTITY_TOKEN", hide_env_values = true)]
    pub identity_token: Option<String>,

    /// Keyless: Fulcio's URL (a private Sigstore's, or the public one).
    #[arg(long, env = "PROOFLINE_FULCIO_URL", default_value = PUBLIC_FULCIO)]
    pub fulcio_url: String,

    /// Keyless: Rekor's URL (API v1).
    #[arg(long, env = "PROOFLINE_REKOR_URL", default_value = PUBLIC_REKOR)]
    pub rekor_url: String,

    /// Keyless: the Sigstore `trusted_root.json` (Fulcio CAs, Rekor and CT log keys) each new
    /// bundle is verified against before it is recorded, and `verify` checks against; needed
    /// with a private Fulcio/Rekor (default: the public Sigstore root shipped in the binary).
    #[arg(long, env = "PROOFLINE_TRUSTED_ROOT")]
    pub trusted_root: Option<PathBuf>,

    /// The `docker-reference` of the cosign v2 simple-signing payload: the repository the image
    /// is published to (default: the evidence's image reference without tag or digest).
    #[arg(long, env = "PROOFLINE_DOCKER_REFERENCE")]
    pub docker_reference: Option<String>,
}

impl SignSettings {
    /// Whether any way of signing was chosen.
    pub fn has_mode(&self) -> bool {
        self.key.is_some() || self.keyless || self.ephemeral_key
    }
}
