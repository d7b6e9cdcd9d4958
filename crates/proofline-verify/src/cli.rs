//! `proofline-verify` / `proofline verify` from the command line: the one documented `Args`
//! struct, the trust it builds, and the exit code (0 all verified, 1 anything not, 2 unusable
//! input). This is the binaries' edge, so it speaks `anyhow`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use proofline_oci::{Image, ImageRef};
use proofline_stagekit::{ImageAccessArgs, Outcome};

use crate::evidence::verify_evidence;
use crate::statement::ImageSubject;
use crate::trust::{Matcher, Trust, load_trusted_root};

/// Verify an image's signature and its signed evidence, offline.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The image whose evidence is verified: its manifest digest is what every signature must
    /// name. `REPO@sha256:…` is used as is (no registry access); other references are resolved.
    #[arg(long, env = "PROOFLINE_IMAGE")]
    pub image: String,

    /// The evidence directory (or an exported evidence pack) holding `sign/` and the stages.
    #[arg(long, env = "PROOFLINE_EVIDENCE_DIR", default_value = "evidence")]
    pub evidence_dir: PathBuf,

    /// Trust signatures made by this cosign public key (PEM, e.g. `cosign.pub`).
    #[arg(long, env = "PROOFLINE_VERIFY_KEY", conflicts_with_all = ["certificate_identity", "certificate_identity_regexp"])]
    pub key: Option<PathBuf>,

    /// Keyless: the signing certificate's identity (email or URI SAN) must equal this.
    #[arg(
        long,
        env = "PROOFLINE_CERTIFICATE_IDENTITY",
        conflicts_with = "certificate_identity_regexp"
    )]
    pub certificate_identity: Option<String>,

    /// Keyless: the identity must match this regular expression (whole-string match).
    #[arg(long, env = "PROOFLINE_CERTIFICATE_IDENTITY_REGEXP")]
    pub certificate_identity_regexp: Option<String>,

    /// Keyless: the certificate's OIDC issuer must equal this (e.g.
    /// https://token.actions.githubusercontent.com).
    #[arg(
        long,
        env = "PROOFLINE_CERTIFICATE_OIDC_ISSUER",
        conflicts_with = "certificate_oidc_issuer_regexp"
    )]
    pub certificate_oidc_issuer: Option<String>,

    /// Keyless: the OIDC issuer must match this regular expression (whole-string match).
    #[arg(long, env = "PROOFLINE_CERTIFICATE_OIDC_ISSUER_REGEXP")]
    pub certificate_oidc_issuer_regexp: Option<String>,

    /// A Sigstore `trusted_root.json` (Fulcio CAs, Rekor and CT log keys) for fully offline
    /// verification; default: the public Sigstore production root shipped in the binary.
    #[arg(long, env = "PROOFLINE_TRUSTED_ROOT")]
    pub trusted_root: Option<PathBuf>,

    /// Predicate types that must be among the verified attestations (e.g.
    /// https://cyclonedx.org/bom). Repeatable or comma-separated.
    #[arg(long, env = "PROOFLINE_VERIFY_REQUIRE", value_delimiter = ',')]
    pub require: Vec<String>,

    /// With --key: refuse signatures that carry no transparency-log entry (keyless signatures
    /// always need one).
    #[arg(long, env = "PROOFLINE_REQUIRE_TLOG")]
    pub require_tlog: bool,

    /// Also write the report as JSON to this file.
    #[arg(long, env = "PROOFLINE_VERIFY_OUTPUT")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub access: ImageAccessArgs,
}

impl VerifyArgs {
    /// The trust the flags describe.
    pub fn trust(&self) -> anyhow::Result<Trust> {
        let identity = matcher(
            self.certificate_identity.as_deref(),
            self.certificate_identity_regexp.as_deref(),
            "certificate-identity-regexp",
        )?;
        let issuer = matcher(
            self.certificate_oidc_issuer.as_deref(),
            self.certificate_oidc_issuer_regexp.as_deref(),
            "certificate-oidc-issuer-regexp",
        )?;
        match (&self.key, identity, issuer) {
            (Some(key), None, None) => {
                let root = self
                    .trusted_root
                    .as_deref()
                    .map(|p| load_trusted_root(Some(p)))
                    .transpose()?;
                Ok(Trust::key(key, root, self.require_tlog)?)
            }
            (Some(_), _, _) => bail!(
                "--key and --certificate-* flags exclude each other: a keyed signature has no certificate"
            ),
            (None, Some(identity), Some(issuer)) => Ok(Trust::identity(
                identity,
                issuer,
                load_trusted_root(self.trusted_root.as_deref())?,
            )?),
            (None, Some(_), None) | (None, None, Some(_)) => bail!(
                "keyless verification needs both --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]: an identity without its issuer can be claimed by anyone's token"
            ),
            (None, None, None) => bail!(
                "say whom to trust: --key cosign.pub for keyed signatures, or --certificate-identity and --certificate-oidc-issuer for keyless ones"
            ),
        }
    }
}

/// The exact value if given, else the anchored regular expression, else nothing.
fn matcher(
    exact: Option<&str>,
    regexp: Option<&str>,
    flag: &'static str,
) -> anyhow::Result<Option<Matcher>> {
    Ok(match (exact, regexp) {
        (Some(s), _) => Some(Matcher::Exact(s.to_string())),
        (None, Some(r)) => Some(Matcher::regex(flag, r)?),
        (None, None) => None,
    })
}

/// The image's name and manifest digest: a registry reference's `@sha256:…` as given (no
/// registry access), else by opening the image.
pub fn resolve_image(reference: &str, access: &ImageAccessArgs) -> anyhow::Result<ImageSubject> {
    let image_ref: ImageRef = reference.parse()?;
    if let ImageRef::Registry(r) = &image_ref
        && let Some(digest) = &r.digest
        && let Some(subject) = ImageSubject::new(
            format!("{}/{}", r.registry, r.repository),
            &digest.to_string(),
        )
    {
        return Ok(subject);
    }
    let opts = access.open_options()?;
    let image = Image::open(&image_ref, &opts)
        .with_context(|| format!("opening {reference} to read its manifest digest"))?;
    let digest = image.digest().to_string();
    ImageSubject::new(reference, &digest)
        .with_context(|| format!("{reference} has the digest {digest}, which is not SHA-256"))
}

/// Runs the verifier from its arguments.
pub fn run(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let trust = args.trust()?;
    let image = resolve_image(&args.image, &args.access)?;
    if !args.evidence_dir.is_dir() {
        bail!(
            "the evidence directory {} does not exist: pass --evidence-dir with the directory the pipeline wrote (or the unpacked evidence pack)",
            args.evidence_dir.display()
        );
    }
    let report = verify_evidence(
        &args.evidence_dir,
        &args.image,
        &image,
        &trust,
        &args.require,
    )?;
    {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        write!(stdout, "{}", report.render_text()).context("writing to standard output")?;
    }
    if let Some(path) = &args.output {
        let json = serde_json::to_vec_pretty(&report).context("serializing the report")?;
        std::fs::write(path, json)
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    for failure in report.failures() {
        tracing::error!(
            "{}: {}",
            failure.artifact,
            failure.reason.as_deref().unwrap_or("not verified")
        );
    }
    Ok(if report.passed {
        Outcome::Passed
    } else {
        Outcome::Violation
    })
}
