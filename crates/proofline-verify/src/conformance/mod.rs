//! The Sigstore conformance client (`proofline-conformance`): the suite's CLI protocol
//! (`verify-bundle`, `sign-bundle`, docs/conformance.md) over Proofline's own verification core
//! ([`crate::trust::verify_artifact`], the path `proofline-verify` uses) and `sigstore-sign`.
//! Every failure is one line on stderr that starts with a stable category keyword.

mod sign;
mod verify;

use std::path::PathBuf;

pub use sign::sign_bundle;
pub use verify::{FileOrDigest, verify_bundle};

use crate::reason::Reason;

/// The conformance suite's client protocol.
#[derive(Debug, clap::Parser)]
#[command(
    name = "proofline-conformance",
    version,
    about = "Sigstore conformance client: the suite's verify-bundle and sign-bundle commands over Proofline's verifier. Exit 0 only on success; otherwise one line on stderr, `<category>: <reason>`."
)]
pub struct ConformanceArgs {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The protocol's commands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Verify a bundle for an artifact (a file, or `sha256:<hex>`).
    VerifyBundle(VerifyBundleArgs),
    /// Sign a file (or, with --in-toto, an in-toto statement) keylessly and write a bundle.
    SignBundle(SignBundleArgs),
}

/// `verify-bundle [--staging] --bundle FILE (--certificate-identity SAN --certificate-oidc-issuer
/// URL | --key PUB.pem) [--trusted-root FILE] FILE_OR_DIGEST`.
#[derive(Debug, clap::Args)]
pub struct VerifyBundleArgs {
    /// Use the Sigstore staging instance's trusted root (unless --trusted-root is given).
    #[arg(long)]
    pub staging: bool,
    /// The bundle to verify (`*.sigstore.json`).
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// The certificate identity (SAN) required, exactly.
    #[arg(
        long,
        value_name = "IDENTITY",
        requires = "certificate_oidc_issuer",
        required_unless_present = "key",
        conflicts_with = "key"
    )]
    pub certificate_identity: Option<String>,
    /// The certificate's OIDC issuer required, exactly.
    #[arg(
        long,
        value_name = "URL",
        requires = "certificate_identity",
        conflicts_with = "key"
    )]
    pub certificate_oidc_issuer: Option<String>,
    /// Verify with this PEM public key instead of a certificate identity.
    #[arg(long, value_name = "PUB.pem")]
    pub key: Option<PathBuf>,
    /// The trusted root (default: the embedded production root, or staging with --staging).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// The artifact: a file, or `sha256:<64 hex>` when that is not an existing file. For a DSSE
    /// bundle, it must be a subject of the in-toto statement.
    #[arg(value_name = "FILE_OR_DIGEST")]
    pub file_or_digest: String,
}

/// `sign-bundle [--staging] [--in-toto] --identity-token TOKEN --bundle OUT [--trusted-root FILE]
/// [--signing-config FILE] FILE`.
#[derive(Debug, clap::Args)]
pub struct SignBundleArgs {
    /// Use the Sigstore staging instance (its signing config and trusted root).
    #[arg(long)]
    pub staging: bool,
    /// FILE is an in-toto statement: sign it as a DSSE envelope.
    #[arg(long)]
    pub in_toto: bool,
    /// The OIDC identity token (a JWT with audience `sigstore`).
    #[arg(long, value_name = "TOKEN")]
    pub identity_token: Token,
    /// Where to write the bundle.
    #[arg(long, value_name = "OUT")]
    pub bundle: PathBuf,
    /// The trusted root the new bundle is checked against before it is written (default: the
    /// embedded production root, or staging with --staging).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// The signing config naming Fulcio, Rekor and the TSA (default: the production or staging
    /// instance's, embedded).
    #[arg(long, value_name = "FILE")]
    pub signing_config: Option<PathBuf>,
    /// The file to sign (with --in-toto, the statement).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// An identity token: never shown in `Debug` output.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// The raw JWT.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl std::str::FromStr for Token {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Token(s.to_string()))
    }
}

/// Why a command failed: a stable category and a sentence. Displayed as `<category>: <reason>`,
/// one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", .category.keyword(), one_line(.message))]
pub struct Failure {
    /// The category.
    pub category: Category,
    /// What went wrong and, where it helps, the fix.
    pub message: String,
}

impl Failure {
    /// A failure of `category`.
    pub fn new(category: Category, message: impl Into<String>) -> Self {
        Self {
            category,
            message: message.into(),
        }
    }

    /// The process exit code: 1 when a bundle was rejected, 2 when the work could not be done.
    pub fn exit_code(&self) -> u8 {
        match self.category {
            Category::Verify(_) => 1,
            _ => 2,
        }
    }
}

/// The category of a failure: a verification [`Reason`], or one of the signing side's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The bundle (or its inputs) did not verify.
    Verify(Reason),
    /// The identity token is not a usable JWT.
    Token,
    /// The signing config cannot be read or names no usable services.
    SigningConfig,
    /// Fulcio, Rekor or the TSA refused or could not be reached.
    Service,
    /// A file could not be read or written.
    Io,
}

impl Category {
    /// The stable keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Category::Verify(r) => r.keyword(),
            Category::Token => "token",
            Category::SigningConfig => "signing-config",
            Category::Service => "service",
            Category::Io => "io",
        }
    }
}

impl From<crate::trust::Rejected> for Failure {
    fn from(r: crate::trust::Rejected) -> Self {
        Failure::new(Category::Verify(r.reason()), r.0)
    }
}

/// Runs one protocol command.
pub fn run(args: &ConformanceArgs) -> Result<(), Failure> {
    match &args.command {
        Command::VerifyBundle(a) => verify_bundle(a).map(|_| ()),
        Command::SignBundle(a) => sign_bundle(a),
    }
}

/// Newlines folded, so the reason stays one line.
fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use clap::Parser;

    #[test]
    fn a_failure_is_one_line_starting_with_its_keyword() {
        let f = Failure::new(
            Category::Verify(Reason::Checkpoint),
            "first\nsecond\r\n third",
        );
        assert_eq!(f.to_string(), "checkpoint: first second third");
        assert_eq!(f.exit_code(), 1);
        assert_eq!(Failure::new(Category::Io, "x").exit_code(), 2);
    }

    #[test]
    fn the_token_is_not_in_debug_output() {
        let args = ConformanceArgs::try_parse_from([
            "proofline-conformance",
            "sign-bundle",
            "--identity-token",
            "eyJsecret",
            "--bundle",
            "out.json",
            "a.txt",
        ])
        .unwrap();
        assert!(!format!("{args:?}").contains("eyJsecret"));
    }

    #[test]
    fn verify_bundle_needs_exactly_one_of_key_and_identity() {
        let parse = |extra: &[&str]| {
            let mut argv = vec![
                "proofline-conformance",
                "verify-bundle",
                "--bundle",
                "b.json",
            ];
            argv.extend_from_slice(extra);
            argv.push("a.txt");
            ConformanceArgs::try_parse_from(argv)
        };
        assert!(parse(&[]).is_err());
        assert!(parse(&["--certificate-identity", "x"]).is_err());
        assert!(parse(&["--certificate-oidc-issuer", "x"]).is_err());
        assert!(
            parse(&[
                "--certificate-identity",
                "x",
                "--certificate-oidc-issuer",
                "y",
                "--key",
                "k.pub"
            ])
            .is_err()
        );
        assert!(parse(&["--key", "k.pub"]).is_ok());
        assert!(
            parse(&[
                "--staging",
                "--certificate-identity",
                "x",
                "--certificate-oidc-issuer",
                "y",
                "--trusted-root",
                "t.json"
            ])
            .is_ok()
        );
    }
}
