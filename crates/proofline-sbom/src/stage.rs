//! The SBOM stage end to end, shared by `proofline-sbom`, `proofline sbom` and `proofline
//! pipeline`: catalog the image, verify package files, write SPDX, CycloneDX, the verification
//! report and the dependency tree, and record `sbom/` as evidence. This is the binaries' edge,
//! so it speaks `anyhow`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use proofline_ci::Annotation;
use proofline_evidence::{
    EvidenceDir, Findings, Outcome as RecordOutcome, StageInfo, Subject as RecordSubject,
    media_type,
};
use proofline_oci::{Image, ImageRef, OpenOptions};
use proofline_stagekit::{Outcome, PolicyFile, StageCi};
use serde::Serialize;

use crate::args::{SbomArgs, SbomPolicy, SbomSection, SpdxVersion};
use crate::catalog::{CATALOGERS, catalog_image};
use crate::cyclonedx::{self, Subject};
use crate::model::Inventory;
use crate::verify::{FileState, VerificationReport, verify};
use crate::{spdx3, spdx23, tree};

/// The stage's name in the evidence directory.
pub const STAGE: &str = "sbom";

/// The artifacts, relative to `sbom/`.
pub const SPDX_FILE: &str = "sbom.spdx.json";
pub const CYCLONEDX_FILE: &str = "sbom.cdx.json";
pub const VERIFICATION_FILE: &str = "package-verification.json";
pub const TREE_FILE: &str = "dependency-tree.json";

/// The settings recorded in `record.json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Settings<'a> {
    image: &'a str,
    platform: String,
    policy_file: Option<String>,
    #[serde(flatten)]
    policy: &'a SbomPolicy,
    /// Where the documents' creation time came from.
    timestamp_source: &'static str,
}

/// Runs the stage from its own command line.
pub fn run(args: &SbomArgs, ci: &StageCi) -> anyhow::Result<Outcome> {
    let opts = args.access.open_options()?;
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let policy_file = PolicyFile::discover(args.policy.as_deref(), &cwd)?;
    let section: Option<SbomSection> = policy_file.section(STAGE)?;
    let policy = SbomPolicy::resolve(&args.settings, section.as_ref());
    let dir = EvidenceDir::open(&args.evidence_dir).with_context(|| {
        format!(
            "opening the evidence directory {}",
            args.evidence_dir.display()
        )
    })?;
    run_in(
        &dir,
        ci,
        args.image.as_deref(),
        &opts,
        &policy,
        policy_file.path(),
    )
}

/// Runs the stage over `image` (default: the one the `image` stage pinned) into `dir`.
pub fn run_in(
    dir: &EvidenceDir,
    ci: &StageCi,
    image: Option<&str>,
    opts: &OpenOptions,
    policy: &SbomPolicy,
    policy_file: Option<&Path>,
) -> anyhow::Result<Outcome> {
    let pinned = pinned_image(dir)?;
    let reference = match (image, &pinned) {
        (Some(r), _) => r.to_string(),
        (None, Some((name, _))) => name.clone(),
        (None, None) => bail!(
            "no image to describe: pass --image REF (or set PROOFLINE_IMAGE), or run the image stage first so {} names one",
            dir.path().join("image").join("record.json").display()
        ),
    };
    let image_ref: ImageRef = reference.parse()?;
    let image = Image::open(&image_ref, opts)?;
    let digest = image.digest().to_string();
    if let Some((name, Some(pinned_digest))) = &pinned
        && pinned_digest != &digest
    {
        bail!(
            "{reference} is {digest}, but the evidence directory's image stage pinned {name} at {pinned_digest}: describe the pinned image (omit --image), or start a new evidence directory for this one"
        );
    }

    let inventory = catalog_image(&image, CATALOGERS)
        .with_context(|| format!("cataloguing the packages of {reference}"))?;
    let verification = verify(&image, &inventory)
        .with_context(|| format!("verifying the package files of {reference}"))?;
    let (timestamp, timestamp_source) = creation_time(image.inspect().config.created.as_deref())?;
    let subject = Subject {
        name: reference.clone(),
        digest: digest.clone(),
    };

    let info = StageInfo::new(STAGE, env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .with_subject(RecordSubject::new(&reference).with_digest(&digest))
        .with_settings(&Settings {
            image: &reference,
            platform: opts.platform.to_string(),
            policy_file: policy_file.map(|p| p.display().to_string()),
            policy,
            timestamp_source,
        })?;
    let mut writer = dir.begin_stage(info)?;
    if pinned.is_some() {
        // The image stage's facts are an input: re-hashed against its record.
        writer.consume("image", "image.json")?;
    }
    match policy.spdx_version {
        SpdxVersion::V3_0_1 => writer.write_json_artifact(
            SPDX_FILE,
            media_type::SPDX,
            &spdx3::write(&inventory, &subject, &timestamp),
        )?,
        SpdxVersion::V2_3 => writer.write_json_artifact(
            SPDX_FILE,
            media_type::SPDX,
            &spdx23::write(&inventory, &subject, &timestamp),
        )?,
    };
    let cdx = cyclonedx::write(
        &inventory,
        &subject,
        policy.cyclonedx_version.into(),
        &timestamp,
    );
    writer.write_json_artifact(CYCLONEDX_FILE, media_type::CYCLONEDX, &cdx)?;
    writer.write_json_artifact(VERIFICATION_FILE, media_type::JSON, &verification)?;
    let tree = tree::build(&inventory, &reference, &digest);
    writer.write_json_artifact(TREE_FILE, media_type::JSON, &tree)?;

    let violation = policy.fail_on_modified && verification.modified > 0;
    let facts = Facts::new(&inventory, &verification, &tree);
    let mut findings = Findings::new(if violation {
        RecordOutcome::Failed
    } else {
        RecordOutcome::Passed
    });
    for (key, count) in facts.counts() {
        findings = findings.with_count(key, count);
    }
    writer.set_findings(findings)?;
    annotate(ci, &verification, policy.fail_on_modified);
    for w in inventory.warnings.iter().take(20) {
        tracing::warn!("{w}");
    }
    if inventory.warnings.len() > 20 {
        tracing::warn!(
            "{} more warnings: see the SBOM's metadata",
            inventory.warnings.len() - 20
        );
    }
    let outcome = if violation {
        Outcome::Violation
    } else {
        Outcome::Passed
    };
    let stage_dir = dir.path().join(STAGE);
    ci.publish(
        &mut writer,
        &[
            // Prefixed: GitLab's dotenv report turns them into pipeline-wide variables.
            (
                "sbom-result",
                if violation { "failed" } else { "passed" }.to_string(),
            ),
            ("sbom-packages", inventory.packages.len().to_string()),
            ("sbom-spdx", stage_dir.join(SPDX_FILE).display().to_string()),
            (
                "sbom-cyclonedx",
                stage_dir.join(CYCLONEDX_FILE).display().to_string(),
            ),
            ("sbom-modified-files", verification.modified.to_string()),
        ],
        &summary_markdown(&reference, &digest, policy, &facts),
    )?;
    writer.finish().context("recording the sbom stage")?;
    tracing::info!(
        "{} packages in {reference} ({} files checked, {} modified, {} missing)",
        inventory.packages.len(),
        verification.files_checked,
        verification.modified,
        verification.missing
    );
    Ok(outcome)
}

/// The image the evidence directory's `image` stage pinned: its reference and digest.
fn pinned_image(dir: &EvidenceDir) -> anyhow::Result<Option<(String, Option<String>)>> {
    if !dir.stages()?.iter().any(|s| s == "image") {
        return Ok(None);
    }
    let record = dir.read_record("image")?;
    Ok(record.subject.map(|s| (s.name, s.digest)))
}

/// The documents' creation time: `SOURCE_DATE_EPOCH` when set, else the image's own creation
/// time, else now; so the same image gives byte-identical SBOMs.
pub(crate) fn creation_time(image_created: Option<&str>) -> anyhow::Result<(String, &'static str)> {
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        let seconds: i64 = epoch.trim().parse().with_context(|| {
            format!("SOURCE_DATE_EPOCH=`{epoch}` is not a number of seconds since 1970: set it to e.g. $(git log -1 --format=%ct), or unset it")
        })?;
        let ts = proofline_evidence::Timestamp::from_unix_seconds(seconds)
            .with_context(|| format!("SOURCE_DATE_EPOCH={seconds} is out of range"))?;
        return Ok((ts.to_string(), "SOURCE_DATE_EPOCH"));
    }
    if let Some(created) = image_created.and_then(whole_seconds_utc) {
        return Ok((created, "image config `created`"));
    }
    tracing::warn!(
        "no creation time (none in the image or input document, SOURCE_DATE_EPOCH unset): the SBOMs carry the current time, so reruns differ; set SOURCE_DATE_EPOCH for reproducible output"
    );
    Ok((
        proofline_evidence::Timestamp::now().to_string(),
        "current time",
    ))
}

/// An RFC 3339 time as the SBOMs write it: UTC, whole seconds (`2025-01-01T00:00:00Z`).
pub(crate) fn whole_seconds_utc(rfc3339: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let t = time::OffsetDateTime::parse(rfc3339, &Rfc3339).ok()?;
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .ok()?;
    Some(proofline_evidence::Timestamp::from_datetime(t).to_string())
}

/// Package verification's file counts.
#[derive(Debug, Clone, Copy)]
struct FileCounts {
    checked: usize,
    ok: usize,
    modified: usize,
    missing: usize,
    unchecked: usize,
}

/// The numbers the summary, record and outputs share.
struct Facts {
    per_ecosystem: BTreeMap<String, (usize, usize)>,
    packages: usize,
    unowned_binaries: usize,
    distro_owned: usize,
    verification: FileCounts,
    tree: tree::TreeCounts,
    warnings: usize,
}

impl Facts {
    fn new(inv: &Inventory, v: &VerificationReport, tree: &tree::DependencyTree) -> Self {
        let mut per_ecosystem: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for p in &inv.packages {
            let e = per_ecosystem
                .entry(p.ecosystem.purl_type().to_string())
                .or_default();
            e.0 += 1;
            if p.dev {
                e.1 += 1;
            }
        }
        Self {
            per_ecosystem,
            packages: inv.packages.len(),
            unowned_binaries: inv.unowned_binaries().len(),
            distro_owned: inv.packages.iter().filter(|p| p.owned_by.is_some()).count(),
            verification: FileCounts {
                checked: v.files_checked,
                ok: v.files_checked - v.modified - v.missing - v.unchecked,
                modified: v.modified,
                missing: v.missing,
                unchecked: v.unchecked,
            },
            tree: tree.counts,
            warnings: inv.warnings.len(),
        }
    }

    fn counts(&self) -> Vec<(String, u64)> {
        let n = |v: usize| v as u64;
        let mut out = vec![
            ("packages".to_string(), n(self.packages)),
            ("unowned-binaries".to_string(), n(self.unowned_binaries)),
            ("files-checked".to_string(), n(self.verification.checked)),
            ("files-modified".to_string(), n(self.verification.modified)),
            ("files-missing".to_string(), n(self.verification.missing)),
            (
                "files-unchecked".to_string(),
                n(self.verification.unchecked),
            ),
            (
                "unresolved-dependencies".to_string(),
                n(self.tree.unresolved),
            ),
            ("warnings".to_string(), n(self.warnings)),
        ];
        for (eco, (count, _)) in &self.per_ecosystem {
            out.push((format!("packages-{eco}"), n(*count)));
        }
        out
    }
}

fn annotate(ci: &StageCi, v: &VerificationReport, fail: bool) {
    let modified: Vec<String> = v
        .packages
        .iter()
        .flat_map(|p| {
            p.problems
                .iter()
                .filter(|f| f.state == FileState::Modified)
                .map(move |f| format!("{} ({})", f.path, p.purl))
        })
        .collect();
    if modified.is_empty() {
        return;
    }
    let mut message = format!(
        "{} file(s) differ from the digest their package manager recorded:",
        modified.len()
    );
    for m in modified.iter().take(10) {
        message.push('\n');
        message.push_str(m);
    }
    let annotation = if fail {
        Annotation::error(message)
    } else {
        Annotation::warning(message)
    };
    if let Err(e) = ci.ci().annotate(&annotation) {
        tracing::warn!("could not write the annotation: {e}");
    }
}

fn summary_markdown(reference: &str, digest: &str, policy: &SbomPolicy, f: &Facts) -> String {
    use std::fmt::Write as _;
    let cell = |s: &str| s.replace('|', "\\|").replace('`', "'");
    let mut s = String::from("## Proofline: SBOM\n\n");
    let _ = writeln!(
        s,
        "`{}` (`{}`): **{} packages**, {} binaries or libraries no package owns.\n",
        cell(reference),
        cell(digest),
        f.packages,
        f.unowned_binaries
    );
    s.push_str("| ecosystem | packages | of which dev-only |\n|---|---:|---:|\n");
    for (eco, (count, dev)) in &f.per_ecosystem {
        let _ = writeln!(s, "| {eco} | {count} | {dev} |");
    }
    if f.distro_owned > 0 {
        let _ = writeln!(
            s,
            "\n{} language package(s) are installed by a distribution package (their advisories are the distribution's).",
            f.distro_owned
        );
    }
    let FileCounts {
        checked,
        ok,
        modified,
        missing,
        unchecked,
    } = f.verification;
    let _ = writeln!(
        s,
        "\n**Package verification**: {checked} recorded file digests checked: {ok} ok, {modified} modified, {missing} missing, {unchecked} unchecked{}.",
        if policy.fail_on_modified && modified > 0 {
            " — **violation** (fail-on-modified)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "\n**Dependency tree**: {} dependency edges; {} declared dependencies not in the image ({} optional or conditional).",
        f.tree.dependency_edges, f.tree.unresolved, f.tree.unresolved_optional
    );
    if f.warnings > 0 {
        let _ = writeln!(
            s,
            "\n{} warning(s) while reading package data: see the stage log.",
            f.warnings
        );
    }
    let _ = writeln!(
        s,
        "\nArtifacts: `sbom/{SPDX_FILE}` (SPDX {}), `sbom/{CYCLONEDX_FILE}` (CycloneDX {}), `sbom/{VERIFICATION_FILE}`, `sbom/{TREE_FILE}`.",
        policy.spdx_version.as_str(),
        cyclonedx::CycloneDxVersion::from(policy.cyclonedx_version).as_str()
    );
    s
}
