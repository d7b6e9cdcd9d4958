//! The scan stage end to end, shared by `proofline-scan`, `proofline scan` and `proofline
//! pipeline`: resolve the policy, open the database, get the packages (an image catalogued
//! in-process, an SBOM file, or the evidence directory's SBOM re-verified by digest), scan,
//! gate, and record `scan/` as evidence. This is the binaries' edge, so it speaks `anyhow`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use proofline_ci::Annotation;
use proofline_evidence::{
    EvidenceDir, Findings, Outcome as RecordOutcome, StageInfo, Subject as RecordSubject,
    Timestamp, media_type,
};
use proofline_oci::{Image, ImageRef, OpenOptions};
use proofline_sbom::Inventory;
use proofline_sbom::catalog::CATALOGERS;
use proofline_stagekit::{Outcome, PolicyFile, StageCi};
use serde::Serialize;

use crate::args::{ScanArgs, ScanPolicy, ScanSection};
use crate::database::OpenDatabase;
use crate::ignore::IgnoreList;
use crate::output;
use crate::report::{Report, Scanner, Subject};
use crate::scan::{Judgement, Notes, counts, scan};
use crate::vex::VexSet;

/// The stage's name in the evidence directory.
pub const STAGE: &str = "scan";

/// The artifacts, relative to `scan/`.
pub const REPORT_FILE: &str = "report.json";
pub const VULNS_FILE: &str = "vulns.json";
pub const SARIF_FILE: &str = "results.sarif";
pub const GITLAB_FILE: &str = "gl-container-scanning-report.json";
pub const OPENVEX_FILE: &str = "vex.openvex.json";

/// Where the packages come from.
#[derive(Debug, Clone)]
pub enum Input {
    /// An image, catalogued in-process.
    Image(String),
    /// An SBOM file (ours or foreign).
    Sbom(PathBuf),
    /// The evidence directory's `sbom` stage (its CycloneDX BOM, re-hashed against the
    /// record), or else the image its `image` stage pinned.
    Evidence,
}

/// The settings recorded in `record.json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Settings<'a> {
    input: String,
    policy_file: Option<String>,
    #[serde(flatten)]
    policy: &'a ScanPolicy,
}

/// Runs the stage from its own command line.
pub fn run(args: &ScanArgs, ci: &StageCi) -> anyhow::Result<Outcome> {
    let opts = args.access.open_options()?;
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let policy_file = PolicyFile::discover(args.policy.as_deref(), &cwd)?;
    let section: Option<ScanSection> = policy_file.section(STAGE)?;
    let base = policy_file.path().and_then(Path::parent);
    let policy = ScanPolicy::resolve(&args.settings, section.as_ref(), base);
    let dir = EvidenceDir::open(&args.evidence_dir).with_context(|| {
        format!(
            "opening the evidence directory {}",
            args.evidence_dir.display()
        )
    })?;
    let input = match (&args.image, &args.sbom) {
        (Some(image), _) => Input::Image(image.clone()),
        (None, Some(sbom)) => Input::Sbom(sbom.clone()),
        (None, None) => Input::Evidence,
    };
    run_in(&dir, ci, &input, &opts, &policy, policy_file.path())
}

/// Runs the stage into `dir`.
pub fn run_in(
    dir: &EvidenceDir,
    ci: &StageCi,
    input: &Input,
    opts: &OpenOptions,
    policy: &ScanPolicy,
    policy_file: Option<&Path>,
) -> anyhow::Result<Outcome> {
    let started = Timestamp::now();
    let today = started.as_datetime().date();
    let policy_name = policy_file
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "proofline.yaml".into());
    let ignore = IgnoreList::new(&policy.ignore, today, &policy_name)
        .with_context(|| format!("reading the ignore list of {policy_name}"))?;
    let vex = VexSet::load(&policy.vex)?;
    for warning in vex.warnings() {
        tracing::warn!("{warning}");
    }
    let db = OpenDatabase::open(&policy.db)?;
    let database = db.reference(started.as_datetime());
    if database.age_days > f64::from(policy.max_db_age_days) {
        let message = format!(
            "the vulnerability database {} was built {:.1} days ago ({}), more than --max-db-age {}: refresh it with `proofline-scan db update --out {}` (or raise --max-db-age)",
            database.path,
            database.age_days,
            database.built,
            policy.max_db_age_days,
            policy.db.display()
        );
        if policy.require_fresh_db {
            bail!("{message}; --require-fresh-db refuses to scan with it");
        }
        tracing::warn!("{message}");
    }

    // The packages, and what they are of.
    let (inventory, subject, consumed_sbom, mut document_digest) = packages(dir, input, opts)?;
    let info = StageInfo::new(STAGE, env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .with_subject({
            let s = RecordSubject::new(&subject.name);
            match &subject.digest {
                Some(d) => s.with_digest(d),
                None => s,
            }
        })
        .with_settings(&Settings {
            input: match input {
                Input::Image(r) => format!("image {r}"),
                Input::Sbom(p) => format!("sbom {}", p.display()),
                Input::Evidence => "evidence".into(),
            },
            policy_file: policy_file.map(|p| p.display().to_string()),
            policy,
        })?;
    let mut writer = dir.begin_stage(info)?;
    let inventory = match consumed_sbom {
        Some(rel) => {
            // Re-hashed against the sbom stage's record: a changed SBOM is refused.
            let bytes = writer.consume("sbom", rel)?;
            document_digest = Some(format!("sha256:{}", proofline_evidence::sha256_hex(&bytes)));
            read_sbom(&bytes, &format!("evidence sbom/{rel}"))?.0
        }
        None => inventory.unwrap_or_default(),
    };

    let judgement = Judgement {
        fail_on: policy.fail_on,
        distro_owned: policy.match_distro_owned,
        vex: &vex,
        ignore: &ignore,
        image_digest: subject.digest.as_deref(),
    };
    let (findings, notes) = scan(&inventory, &db, &judgement).map_err(|e| {
        anyhow::anyhow!("reading the vulnerability database {}: {e}", database.path)
    })?;
    let finished = Timestamp::now();
    let report = Report {
        subject: subject.clone(),
        scanner: Scanner {
            name: "proofline-scan".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            uri: env!("CARGO_PKG_REPOSITORY").into(),
        },
        database,
        fail_on: policy.fail_on.as_str().into(),
        scanned_at: started.to_string(),
        finished_at: finished.to_string(),
        packages_scanned: notes.packages_scanned,
        findings,
        notes: notes.clone(),
    };

    writer.write_json_artifact(REPORT_FILE, media_type::JSON, &report)?;
    // The statement is about the image; about the SBOM document itself when no image digest
    // is known (a foreign SBOM that names none).
    let statement_digest = subject
        .digest
        .clone()
        .or(document_digest)
        .context("no digest for the statement's subject")?;
    let statement = output::vulns_statement(&report, &statement_digest)?;
    writer.write_json_artifact(VULNS_FILE, media_type::IN_TOTO, &statement)?;
    writer.write_json_artifact(SARIF_FILE, media_type::SARIF, &output::sarif(&report))?;
    writer.write_json_artifact(GITLAB_FILE, media_type::JSON, &output::gitlab(&report)?)?;
    writer.write_json_artifact(
        OPENVEX_FILE,
        media_type::JSON,
        &output::openvex(&report, "Proofline scan", &finished.to_string()),
    )?;

    let blocking: Vec<_> = report.findings.iter().filter(|f| f.blocking).collect();
    let violation = !blocking.is_empty();
    let mut record_findings = Findings::new(if violation {
        RecordOutcome::Failed
    } else {
        RecordOutcome::Passed
    })
    .with_count("packages-scanned", notes.packages_scanned)
    .with_count("findings", report.findings.len() as u64)
    .with_count("blocking", blocking.len() as u64)
    .with_count(
        "waived",
        report
            .findings
            .iter()
            .filter(|f| f.waived_by.is_some())
            .count() as u64,
    )
    .with_count("indeterminate", notes.indeterminate.len() as u64)
    .with_count("expired-waivers", notes.expired_waivers.len() as u64);
    for (severity, (all, _, _)) in counts(&report.findings) {
        record_findings = record_findings.with_count(severity.as_str().to_ascii_lowercase(), all);
    }
    writer.set_findings(record_findings)?;
    log_notes(&notes);
    annotate(ci, &report);

    let stage_dir = dir.path().join(STAGE);
    let by = counts(&report.findings);
    let count = |s| by.get(&s).map_or(0, |c| c.0);
    use crate::report::Severity;
    ci.publish(
        &mut writer,
        &[
            (
                "scan-result",
                if violation { "failed" } else { "passed" }.to_string(),
            ),
            ("scan-findings", report.findings.len().to_string()),
            ("scan-blocking", blocking.len().to_string()),
            ("scan-critical", count(Severity::Critical).to_string()),
            ("scan-high", count(Severity::High).to_string()),
            (
                "scan-report",
                stage_dir.join(REPORT_FILE).display().to_string(),
            ),
            (
                "scan-sarif",
                stage_dir.join(SARIF_FILE).display().to_string(),
            ),
            (
                "scan-gitlab-report",
                stage_dir.join(GITLAB_FILE).display().to_string(),
            ),
            (
                "scan-openvex",
                stage_dir.join(OPENVEX_FILE).display().to_string(),
            ),
        ],
        &output::summary_markdown(&report),
    )?;
    writer.finish().context("recording the scan stage")?;
    tracing::info!(
        "{} packages scanned against {} advisories: {} findings, {} blocking (fail-on {})",
        notes.packages_scanned,
        report.database.advisories,
        report.findings.len(),
        blocking.len(),
        policy.fail_on.as_str()
    );
    Ok(if violation {
        Outcome::Violation
    } else {
        Outcome::Passed
    })
}

/// The inventory (none yet when it is the evidence directory's SBOM), the subject, the SBOM
/// artifact to consume (read once the stage has begun, so it is re-hashed against its record),
/// and the digest of an SBOM file given with --sbom.
type Packages = (
    Option<Inventory>,
    Subject,
    Option<&'static str>,
    Option<String>,
);

/// The packages to scan and their subject.
fn packages(dir: &EvidenceDir, input: &Input, opts: &OpenOptions) -> anyhow::Result<Packages> {
    match input {
        Input::Image(reference) => {
            let (inventory, subject) = catalog(reference, opts)?;
            if let Some((name, Some(pinned))) = pinned(dir, "image")?
                && subject.digest.as_deref() != Some(pinned.as_str())
            {
                bail!(
                    "{reference} is {}, but the evidence directory's image stage pinned {name} at {pinned}: scan the pinned image (omit --image), or start a new evidence directory for this one",
                    subject.digest.as_deref().unwrap_or("?")
                );
            }
            Ok((Some(inventory), subject, None, None))
        }
        Input::Sbom(path) => {
            let bytes = read_bounded(path)?;
            let digest = format!("sha256:{}", proofline_evidence::sha256_hex(&bytes));
            let (inventory, subject) = read_sbom(&bytes, &path.display().to_string())?;
            Ok((Some(inventory), subject, None, Some(digest)))
        }
        Input::Evidence => {
            if let Some((name, digest)) = pinned(dir, "sbom")? {
                return Ok((
                    None,
                    Subject { name, digest },
                    Some(proofline_sbom::stage::CYCLONEDX_FILE),
                    None,
                ));
            }
            if let Some((name, _)) = pinned(dir, "image")? {
                let (inventory, subject) = catalog(&name, opts)?;
                return Ok((Some(inventory), subject, None, None));
            }
            bail!(
                "nothing to scan: pass --image REF or --sbom FILE, or run the sbom stage first so {} holds an SBOM",
                dir.path().join("sbom").display()
            )
        }
    }
}

/// The subject (name, digest) a stage of the evidence directory recorded, if it ran.
fn pinned(dir: &EvidenceDir, stage: &str) -> anyhow::Result<Option<(String, Option<String>)>> {
    if !dir.stages()?.iter().any(|s| s == stage) {
        return Ok(None);
    }
    let record = dir.read_record(stage)?;
    Ok(record.subject.map(|s| (s.name, s.digest)))
}

fn catalog(reference: &str, opts: &OpenOptions) -> anyhow::Result<(Inventory, Subject)> {
    let image_ref: ImageRef = reference.parse()?;
    let image = Image::open(&image_ref, opts)?;
    let inventory = proofline_sbom::catalog_image(&image, CATALOGERS)
        .with_context(|| format!("cataloguing the packages of {reference}"))?;
    Ok((
        inventory,
        Subject {
            name: reference.to_string(),
            digest: Some(image.digest().to_string()),
        },
    ))
}

fn read_bounded(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| {
        format!(
            "opening the SBOM {}: check the path given to --sbom",
            path.display()
        )
    })?;
    let mut bytes = Vec::new();
    let limit = proofline_sbom::convert::MAX_BYTES as u64;
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading the SBOM {}", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!(
            "the SBOM {} is larger than {} MiB: split it, or scan the image itself with --image",
            path.display(),
            limit / (1024 * 1024)
        );
    }
    Ok(bytes)
}

fn read_sbom(bytes: &[u8], name: &str) -> anyhow::Result<(Inventory, Subject)> {
    let foreign = proofline_sbom::convert::read_named(name, bytes)?;
    let subject = match &foreign.subject {
        Some(s) => Subject {
            name: s.name.clone(),
            digest: Some(s.digest.clone()).filter(|d| !d.is_empty()),
        },
        None => Subject {
            name: name.to_string(),
            digest: None,
        },
    };
    Ok((foreign.inventory, subject))
}

fn log_notes(notes: &Notes) {
    for n in notes.indeterminate.iter().take(10) {
        tracing::warn!("indeterminate: {n}");
    }
    if notes.indeterminate.len() > 10 {
        tracing::warn!(
            "{} more indeterminate matches: see report.json",
            notes.indeterminate.len() - 10
        );
    }
    for n in &notes.expired_waivers {
        tracing::warn!("{n}");
    }
    for n in &notes.unused_ignores {
        tracing::warn!("the ignore entry {n} named no finding: delete it if it is stale");
    }
    for n in notes.unreadable_vectors.iter().take(10) {
        tracing::warn!("unreadable CVSS vector {n}");
    }
}

/// One annotation per blocking finding (at most 20), where the runner shows them.
fn annotate(ci: &StageCi, report: &Report) {
    for f in report.findings.iter().filter(|f| f.blocking).take(20) {
        let fix = match f.fixed_versions.first() {
            Some(v) => format!("upgrade to {v}"),
            None => "no fixed version yet".to_string(),
        };
        let message = format!(
            "{} ({}) in {}@{}: {}; {fix}",
            f.id,
            f.severity.as_str(),
            f.package.name,
            f.package.version,
            f.summary.as_deref().unwrap_or("see the advisory")
        );
        if let Err(e) = ci.ci().annotate(&Annotation::error(message)) {
            tracing::warn!("could not write the annotation: {e}");
        }
    }
}
