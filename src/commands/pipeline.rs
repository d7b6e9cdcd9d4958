//! `proofline pipeline`: every stage that exists, in order, over one image and one evidence
//! directory. Today: `image`, then `source` when a git repository is at hand, then `sbom`, then
//! `scan` (over the SBOM just recorded), then `sign`, whose signatures the pipeline verifies
//! offline before it reports success.
//! Each later stage adds itself here.

use std::path::Path;

use anyhow::{Context, bail};
use proofline_evidence::EvidenceDir;

use super::open_options;
use crate::Outcome;
use crate::cli::PipelineArgs;
use crate::stages;
use proofline_sbom::args::SbomPolicy;
use proofline_scan::args::ScanPolicy;
use proofline_stagekit::{PolicyFile, StageCi};

/// The fixture image shipped in a Proofline checkout (`fixtures/images/app`).
pub(crate) const FIXTURE_LAYOUT: &str = "fixtures/images/app";
pub(crate) const FIXTURE_IMAGE: &str = "oci:fixtures/images/app:1.0";

pub(crate) fn run(args: &PipelineArgs) -> anyhow::Result<Outcome> {
    let reference = match &args.image {
        Some(r) => r.clone(),
        None if Path::new(FIXTURE_LAYOUT).join("index.json").is_file() => FIXTURE_IMAGE.to_string(),
        None => bail!(
            "no image given: pass --image REF (or set PROOFLINE_IMAGE); the default, {FIXTURE_IMAGE}, exists only when run from a Proofline checkout"
        ),
    };
    let opts = open_options(&args.access)?;
    let dir = EvidenceDir::open(&args.source.evidence_dir).with_context(|| {
        format!(
            "opening the evidence directory {}",
            args.source.evidence_dir.display()
        )
    })?;
    let ci = StageCi::detect(&args.source.evidence_dir)?;

    let mut outcome = Outcome::Passed;
    {
        let _group = ci.ci().group("proofline: image");
        let record = stages::image::run(&dir, &ci, &reference, &opts)?;
        if !record.findings.outcome.is_passed() {
            outcome = Outcome::Violation;
        }
    }
    let repo = &args.source.repo;
    if repo.as_os_str() == "." && !repo.join(".git").exists() {
        tracing::warn!(
            "source stage skipped: the working directory is not a git repository (pass --repo PATH to verify the image's source)"
        );
    } else {
        let _group = ci.ci().group("proofline: source");
        outcome = outcome.and(proofline_source::stage::run(&args.source, &ci)?);
    }
    {
        let _group = ci.ci().group("proofline: sbom");
        let cwd = std::env::current_dir().context("reading the working directory")?;
        let policy_file = PolicyFile::discover(args.source.policy.as_deref(), &cwd)?;
        let section = policy_file.section(proofline_sbom::stage::STAGE)?;
        let policy = SbomPolicy::resolve(&args.sbom, section.as_ref());
        outcome = outcome.and(proofline_sbom::stage::run_in(
            &dir,
            &ci,
            Some(&reference),
            &opts,
            &policy,
            policy_file.path(),
        )?);
    }
    {
        let _group = ci.ci().group("proofline: scan");
        let cwd = std::env::current_dir().context("reading the working directory")?;
        let policy_file = PolicyFile::discover(args.source.policy.as_deref(), &cwd)?;
        let section = policy_file.section(proofline_scan::stage::STAGE)?;
        let base = policy_file.path().and_then(Path::parent);
        let policy = ScanPolicy::resolve(&args.scan, section.as_ref(), base);
        outcome = outcome.and(proofline_scan::stage::run_in(
            &dir,
            &ci,
            &proofline_scan::stage::Input::Evidence,
            &opts,
            &policy,
            policy_file.path(),
        )?);
    }
    {
        let _group = ci.ci().group("proofline: sign");
        outcome = outcome.and(sign_and_verify(&dir, &ci, args, &reference)?);
    }
    let manifest = dir.read_manifest()?;
    tracing::info!(
        "pipeline finished: {} stage(s) recorded in {}",
        manifest.stages.len(),
        dir.path().join(proofline_evidence::MANIFEST_FILE).display()
    );
    Ok(outcome)
}

/// Signs the evidence (ephemeral key unless a way of signing was given) and verifies every
/// signature against the image's real digest, the way `proofline verify` would.
fn sign_and_verify(
    dir: &EvidenceDir,
    ci: &StageCi,
    args: &PipelineArgs,
    reference: &str,
) -> anyhow::Result<Outcome> {
    let mut settings = args.sign.clone();
    if !settings.has_mode() {
        tracing::info!(
            "signing with an ephemeral key (pass --key cosign.key or --keyless to sign with an identity others can trust)"
        );
        settings.ephemeral_key = true;
    }
    let signed = proofline_sign::sign_evidence(dir, ci, &settings)?;
    let trust = match &signed.keyless_identity {
        Some((identity, issuer)) => proofline_verify::Trust::identity(
            proofline_verify::Matcher::Exact(identity.clone()),
            proofline_verify::Matcher::Exact(issuer.clone()),
            proofline_verify::load_trusted_root(args.sign.trusted_root.as_deref())?,
        )?,
        None => {
            let key = dir
                .path()
                .join(proofline_verify::layout::SIGN_STAGE)
                .join(proofline_verify::layout::PUBLIC_KEY);
            proofline_verify::Trust::key(&key, None, false)?
        }
    };
    let image = proofline_verify::cli::resolve_image(reference, &args.access)?;
    if image.sha256 != signed.image.sha256 {
        bail!(
            "the evidence was signed for {}, but {reference} is {}: the image changed during the pipeline",
            signed.image.digest(),
            image.digest()
        );
    }
    let report = proofline_verify::verify_evidence(dir.path(), reference, &image, &trust, &[])?;
    for line in report.render_text().lines() {
        tracing::info!("verify: {line}");
    }
    Ok(if report.passed {
        Outcome::Passed
    } else {
        for failure in report.failures() {
            tracing::error!(
                "verify: {}: {}",
                failure.artifact,
                failure.reason.as_deref().unwrap_or("not verified")
            );
        }
        Outcome::Violation
    })
}
