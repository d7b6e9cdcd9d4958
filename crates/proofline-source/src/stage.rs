//! The source stage end to end, shared by `proofline-source` and `proofline source`: plan the
//! commits, verify each, ask the forge, judge the policy, and record `source/` as evidence.
//! This is the binaries' edge, so it speaks `anyhow`.

use anyhow::{Context, bail};
use proofline_ci::{Annotation, CiContext, Forge, ForgeTokenKind, Platform};
use proofline_evidence::{
    EvidenceDir, Findings, Outcome as RecordOutcome, Record, StageInfo, Subject, media_type,
};
use proofline_forge::github::GitHubClient;
use proofline_forge::gitlab::{GitLabAuth, GitLabClient};
use proofline_forge::{ForgeQuery, ForgeView, RetryPolicy};
use proofline_stagekit::{Outcome, PolicyFile, StageCi};
use serde::Serialize;

use crate::args::{ForgeChoice, SourceArgs};
use crate::checks::{CheckInput, CheckStatus, LocalCodeowners, commit_results, evaluate};
use crate::codeowners::{Codeowners, LOCATIONS};
use crate::commits::{CommitSource, Selection};
use crate::plan::{PlanRequest, describe, plan};
use crate::policy::{SourcePolicy, SourceSection};
use crate::report::{RepositoryFacts, SourceReport, summary_markdown, vsa_statement};
use crate::verify::{TrustStores, verify_commit};

/// The stage's name in the evidence directory.
pub const STAGE: &str = "source";

/// The settings recorded in `record.json` (never a token).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Settings<'a> {
    repo: String,
    selection: String,
    branch: Option<&'a str>,
    forge: Option<String>,
    forge_api_url: Option<&'a str>,
    policy_file: Option<String>,
    policy: &'a SourcePolicy,
}

/// Which forge to ask, where, and with what token.
struct ForgeTarget {
    forge: Forge,
    api_url: String,
    repository: String,
}

fn forge_target(
    args: &SourceArgs,
    context: &CiContext,
) -> anyhow::Result<Result<ForgeTarget, String>> {
    let forge = match args.forge {
        ForgeChoice::None => return Ok(Err("no forge asked (--forge none)".into())),
        ForgeChoice::Github => Forge::Github,
        ForgeChoice::Gitlab => Forge::Gitlab,
        ForgeChoice::Auto => match context.platform {
            Platform::GithubActions => Forge::Github,
            Platform::GitlabCi => Forge::Gitlab,
            Platform::Local => {
                return Ok(Err(
                    "local run: no forge asked (pass --forge github|gitlab with --forge-repository and a token to check protection and reviews)"
                        .into(),
                ));
            }
        },
    };
    let platform_matches = context.platform.forge() == Some(forge);
    let api_url = args
        .forge_api_url
        .clone()
        .or_else(|| platform_matches.then(|| context.api_url.clone()).flatten())
        .unwrap_or_else(|| match forge {
            Forge::Github => "https://api.github.com".into(),
            Forge::Gitlab => "https://gitlab.com/api/v4".into(),
        });
    let Some(repository) = args.forge_repository.clone().or_else(|| {
        platform_matches
            .then(|| context.repository.clone())
            .flatten()
    }) else {
        bail!(
            "--forge {} needs the repository on the forge: pass --forge-repository owner/repo (or group/project), or --forge none",
            match forge {
                Forge::Github => "github",
                Forge::Gitlab => "gitlab",
            }
        );
    };
    Ok(Ok(ForgeTarget {
        forge,
        api_url,
        repository,
    }))
}

async fn ask_forge(
    target: &ForgeTarget,
    ci: &StageCi,
    query: &ForgeQuery,
) -> anyhow::Result<ForgeView> {
    let token = ci.ci().tokens().forge_token(target.forge);
    let retry = RetryPolicy::default();
    let view = match target.forge {
        Forge::Github => {
            let client = GitHubClient::new(&target.api_url, token.map(|t| t.secret), retry)?;
            client.view(query).await?
        }
        Forge::Gitlab => {
            let auth = match token {
                Some(t) if t.kind == ForgeTokenKind::CiJobToken => GitLabAuth::JobToken(t.secret),
                Some(t) => GitLabAuth::PrivateToken(t.secret),
                None => GitLabAuth::None,
            };
            let client = GitLabClient::new(&target.api_url, auth, retry)?;
            client.view(query).await?
        }
    };
    Ok(view)
}

/// Runs the stage.
pub fn run(args: &SourceArgs, ci: &StageCi) -> anyhow::Result<Outcome> {
    let context = ci.ci().context().clone();
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let policy_file = PolicyFile::discover(args.policy.as_deref(), &cwd)?;
    let section: Option<SourceSection> = policy_file.section("source")?;
    let policy = SourcePolicy::resolve(&args.policy_flags(), section.as_ref());
    let file_path = |p: Option<std::path::PathBuf>| {
        p.map(|p| match policy_file.path().and_then(|f| f.parent()) {
            Some(base) if p.is_relative() => base.join(p),
            _ => p,
        })
    };
    let gpg_keys = args
        .gpg_keys
        .clone()
        .or_else(|| file_path(section.as_ref().and_then(|s| s.gpg_keys.clone())));
    let allowed = args
        .allowed_signers
        .clone()
        .or_else(|| file_path(section.as_ref().and_then(|s| s.allowed_signers.clone())));
    let roots = args
        .x509_roots
        .clone()
        .or_else(|| file_path(section.as_ref().and_then(|s| s.x509_roots.clone())));
    let trust = TrustStores::load(gpg_keys.as_deref(), allowed.as_deref(), roots.as_deref())?;
    if trust.is_empty() && policy.require_signed {
        tracing::warn!(
            "no trust store given (--gpg-keys, --allowed-signers, --x509-roots): no commit can be verified"
        );
    }

    let source = CommitSource::open(&args.repo)?;
    let plan = plan(
        &PlanRequest {
            range: args.range.as_deref(),
            commit: args.commit.as_deref(),
            branch: args.branch.as_deref(),
            change_request: args.change_request,
        },
        &context,
        &source,
    )?;
    let list = source.commits(&plan.selection)?;
    let head = source.commit(&plan.head)?;
    tracing::info!(
        "{}: {} commit(s) to verify",
        plan.origin,
        list.commits.len()
    );
    let verdicts: Vec<_> = list
        .commits
        .iter()
        .map(|c| verify_commit(c, &trust))
        .collect();

    let target = forge_target(args, &context)?;
    let (forge_view, no_forge_reason) = match &target {
        Ok(target) => {
            let query = ForgeQuery {
                repository: target.repository.clone(),
                branch: plan.branch.clone(),
                commits: list.commits.iter().map(|c| c.sha.clone()).collect(),
                change_request: plan.change_request,
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime for the forge client")?;
            let view = runtime.block_on(ask_forge(target, ci, &query))?;
            (Some(view), None)
        }
        Err(reason) => (None, Some(reason.clone())),
    };
    let last_pusher = args.last_pusher.clone().or_else(|| context.actor.clone());
    let local_codeowners = if policy.require_codeowners {
        Some(local_codeowners(&source, &plan, forge_view.as_ref())?)
    } else {
        None
    };
    let commits = commit_results(&list.commits, verdicts, forge_view.as_ref(), &policy);
    let checks = evaluate(&CheckInput {
        policy: &policy,
        commits: &commits,
        grafted: list.grafted,
        forge: forge_view.as_ref(),
        no_forge_reason: no_forge_reason.as_deref(),
        branch: plan.branch.as_deref(),
        change_request: plan.change_request,
        last_pusher: last_pusher.as_deref(),
        local_codeowners: local_codeowners.as_ref(),
    });
    let failed = checks.iter().any(|c| c.fails(&policy));

    // The image this source became, when the image stage ran first in this evidence directory.
    let dir = EvidenceDir::open(&args.evidence_dir).with_context(|| {
        format!(
            "opening the evidence directory {}",
            args.evidence_dir.display()
        )
    })?;
    let image_record = dir.read_record("image").ok();
    let image_subject = image_record.as_ref().and_then(|r| r.subject.clone());

    let report = SourceReport {
        schema: crate::report::SOURCE_SCHEMA,
        outcome: if failed { "failed" } else { "passed" },
        repository: RepositoryFacts {
            path: args.repo.display().to_string(),
            name: target
                .as_ref()
                .ok()
                .map(|t| t.repository.clone())
                .or(context.repository.clone()),
            url: context.repository_url(),
            branch: plan.branch.clone(),
            commit: head.sha.clone(),
            tree: head.tree.clone(),
            image_digest: image_subject.as_ref().and_then(|s| s.digest.clone()),
        },
        unreachable: list.unreachable_note(),
        trust: trust.sources.clone(),
        policy: policy.clone(),
        commits,
        forge: forge_view,
        checks,
        plan,
    };

    let settings = Settings {
        repo: args.repo.display().to_string(),
        selection: describe(&report.plan.selection),
        branch: report.plan.branch.as_deref(),
        forge: target
            .as_ref()
            .ok()
            .map(|t| format!("{:?}", t.forge).to_lowercase()),
        forge_api_url: target.as_ref().ok().map(|t| t.api_url.as_str()),
        policy_file: policy_file.path().map(|p| p.display().to_string()),
        policy: &policy,
    };
    let mut info = StageInfo::new(STAGE, env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .with_settings(&settings)?;
    if let Some(subject) = image_subject {
        info = info.with_subject(subject);
    } else {
        info = info.with_subject(Subject::new(
            report
                .repository
                .url
                .clone()
                .unwrap_or_else(|| report.repository.path.clone()),
        ));
    }
    let record = record(&dir, info, &report, ci, image_record.is_some())?;
    annotate(ci, &report);
    tracing::info!(
        "source {}: {} commit(s), {} check(s) failed",
        report.outcome,
        report.commits.len(),
        report.checks.iter().filter(|c| c.fails(&policy)).count()
    );
    Ok(if record.findings.outcome.is_passed() {
        Outcome::Passed
    } else {
        Outcome::Violation
    })
}

/// CODEOWNERS at the change's head and, where the forge does not judge owner approval (GitHub),
/// ours over the changed files and the approvals on the head commit.
fn local_codeowners(
    source: &CommitSource,
    plan: &crate::plan::Plan,
    view: Option<&ForgeView>,
) -> anyhow::Result<LocalCodeowners> {
    let mut found = None;
    for path in LOCATIONS {
        if let Some(bytes) = source.file_at(&plan.head, path)? {
            found = Some(Codeowners::parse(&String::from_utf8_lossy(&bytes), path));
            break;
        }
    }
    let Some(codeowners) = found else {
        return Ok(LocalCodeowners {
            path: None,
            problems: Vec::new(),
            approval: None,
        });
    };
    let review = view
        .and_then(|v| v.review.as_ref())
        .and_then(|r| r.value())
        .filter(|r| r.code_owner_approved.is_none());
    let approval = match (review, &plan.selection) {
        (Some(review), Selection::Range { from, to }) => {
            let approvers: Vec<String> = review
                .approvals
                .iter()
                .filter(|a| a.on_head && Some(a.user.as_str()) != review.author.as_deref())
                .map(|a| a.user.clone())
                .collect();
            let changed = source.changed_files(from, to)?;
            Some(codeowners.judge(&changed, &approvers))
        }
        _ => None,
    };
    Ok(LocalCodeowners {
        path: Some(codeowners.path.clone()),
        problems: codeowners.problems.clone(),
        approval,
    })
}

fn record(
    dir: &EvidenceDir,
    info: StageInfo,
    report: &SourceReport,
    ci: &StageCi,
    has_image: bool,
) -> anyhow::Result<Record> {
    let mut writer = dir.begin_stage(info)?;
    if has_image {
        writer.consume("image", "image.json")?;
    }
    writer.write_json_artifact("source.json", media_type::JSON, report)?;
    let policy_json = serde_json::to_vec(&report.policy).context("serializing the policy")?;
    let policy_sha256 = proofline_evidence::sha256_hex(&policy_json);
    let time = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let vsa = vsa_statement(report, &time, &policy_sha256);
    writer.write_json_artifact("source.vsa.intoto.json", media_type::IN_TOTO, &vsa)?;
    let mut findings = Findings::new(if report.outcome == "passed" {
        RecordOutcome::Passed
    } else {
        RecordOutcome::Failed
    });
    for (key, count) in report.counts() {
        findings = findings.with_count(key, count);
    }
    findings = findings.with_count("commits", report.commits.len() as u64);
    writer.set_findings(findings)?;
    let summary = summary_markdown(report);
    ci.publish(
        &mut writer,
        &[
            // Prefixed: GitLab's dotenv report turns them into pipeline-wide variables.
            ("source-result", report.outcome.to_string()),
            ("source-commit", report.repository.commit.clone()),
            ("source-tree", report.repository.tree.clone()),
            ("source-commits", report.commits.len().to_string()),
        ],
        &summary,
    )?;
    writer.finish().context("recording the source stage")
}

fn annotate(ci: &StageCi, report: &SourceReport) {
    for check in &report.checks {
        let mut message = check.summary.clone();
        for detail in check.details.iter().take(10) {
            message.push('\n');
            message.push_str(detail);
        }
        let annotation = match check.status {
            CheckStatus::Fail => Annotation::error(message),
            CheckStatus::Indeterminate | CheckStatus::Warn => Annotation::warning(message),
            _ => continue,
        }
        .title(format!("proofline source: {}", check.id));
        if let Err(e) = ci.ci().annotate(&annotation) {
            tracing::warn!("could not write an annotation: {e}");
        }
    }
}
