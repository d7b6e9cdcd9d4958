//! The policy verdicts of a run: our signature verdicts, the forge's view and the policy in, one
//! list of checks out, each pass / fail / indeterminate / warn / skipped with its reasons and
//! where the facts came from. Findings are data: nothing here returns an error.

use proofline_forge::{BranchProtection, ForgeSignature, ForgeView, Indeterminate, Observed};
use serde::Serialize;

use crate::codeowners::OwnerApproval;
use crate::commits::CommitInfo;
use crate::policy::{OnIndeterminate, ProtectionItem, SourcePolicy};
use crate::signature::{SignatureStatus, Verdict};

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    Pass,
    Fail,
    /// The facts could not be read; counts as a failure unless `--on-indeterminate warn`.
    Indeterminate,
    /// Reported, does not fail the run.
    Warn,
    /// Not applicable to this run (the reason says why).
    Skipped,
}

/// One policy verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable id, e.g. `signatures`, `branch-protection/no-force-push`, `approvals`.
    pub id: String,
    pub status: CheckStatus,
    /// One line saying what was found.
    pub summary: String,
    /// Specifics: offending commits, approvers, the permission to grant.
    pub details: Vec<String>,
    /// Where the facts came from (requests, files).
    pub sources: Vec<String>,
}

impl Check {
    fn new(id: impl Into<String>, status: CheckStatus, summary: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            status,
            summary: summary.into(),
            details: Vec::new(),
            sources: Vec::new(),
        }
    }

    fn indeterminate(id: impl Into<String>, what: &str, i: &Indeterminate) -> Self {
        let mut check = Self::new(
            id,
            CheckStatus::Indeterminate,
            format!("could not read {what}: {}", i.reason),
        );
        check.details.push(format!("to fix: grant {}", i.grant));
        check.sources.push(match i.http_status {
            Some(status) => format!("{} (HTTP {status})", i.source),
            None => i.source.clone(),
        });
        check
    }

    /// Whether this check fails the run under `policy`.
    pub fn fails(&self, policy: &SourcePolicy) -> bool {
        match self.status {
            CheckStatus::Fail => true,
            CheckStatus::Indeterminate => policy.on_indeterminate == OnIndeterminate::Fail,
            CheckStatus::Pass | CheckStatus::Warn | CheckStatus::Skipped => false,
        }
    }
}

/// How our verdict and the forge's compare for one commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Agreement {
    Agree,
    /// We verified it, the forge did not (e.g. the key is not uploaded to the forge).
    OnlyUs,
    /// The forge says verified, we do not (our trust store does not accept the signer).
    OnlyForge,
    /// The forge's verdict could not be read.
    Unknown,
}

/// One commit with every verdict about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitResult {
    #[serde(flatten)]
    pub commit: CommitInfo,
    /// Our verdict.
    pub verification: Verdict,
    /// Unsigned or unverified, but the committer is exempt by policy.
    pub exempt: bool,
    /// The forge's verdict, when a forge was asked.
    pub forge: Option<Observed<ForgeSignature>>,
    pub agreement: Option<Agreement>,
}

/// Pairs each commit with our verdict and the forge's.
pub fn commit_results(
    commits: &[CommitInfo],
    verdicts: Vec<Verdict>,
    forge: Option<&ForgeView>,
    policy: &SourcePolicy,
) -> Vec<CommitResult> {
    commits
        .iter()
        .zip(verdicts)
        .map(|(commit, verification)| {
            let forge_sig = forge.and_then(|view| {
                view.commits
                    .iter()
                    .find(|c| c.sha == commit.sha)
                    .map(|c| c.signature.clone())
            });
            let ours = verification.status == SignatureStatus::Verified;
            let agreement = forge_sig.as_ref().map(|f| match f.value() {
                None => Agreement::Unknown,
                Some(f) if f.verified == ours => Agreement::Agree,
                Some(f) if f.verified => Agreement::OnlyForge,
                Some(_) => Agreement::OnlyUs,
            });
            CommitResult {
                exempt: !ours && policy.is_exempt(&commit.committer.email),
                commit: commit.clone(),
                verification,
                forge: forge_sig,
                agreement,
            }
        })
        .collect()
}

/// What the checks need besides the commits.
#[derive(Debug, Clone, Copy)]
pub struct CheckInput<'a> {
    pub policy: &'a SourcePolicy,
    pub commits: &'a [CommitResult],
    /// Commits whose parents a shallow clone hid.
    pub grafted: usize,
    pub forge: Option<&'a ForgeView>,
    /// Why there is no forge view (local run, `--forge none`), when there is none.
    pub no_forge_reason: Option<&'a str>,
    pub branch: Option<&'a str>,
    pub change_request: Option<u64>,
    /// Who pushed last (CI actor), excluded from approvals.
    pub last_pusher: Option<&'a str>,
    /// CODEOWNERS as read from the change's head, when code owners are required.
    pub local_codeowners: Option<&'a LocalCodeowners>,
}

/// CODEOWNERS read from the repository at the change's head, and our verdict on owner approval
/// where the forge does not compute one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalCodeowners {
    /// Where it was found; `None` when no CODEOWNERS exists in any standard location.
    pub path: Option<String>,
    /// Lines we could not use.
    pub problems: Vec<String>,
    /// Owner approval over the changed files, judged by us.
    pub approval: Option<OwnerApproval>,
}

/// Every check of a run, in a stable order.
pub fn evaluate(input: &CheckInput<'_>) -> Vec<Check> {
    let mut checks = vec![signatures(input)];
    checks.push(forge_signatures(input));
    checks.extend(protection(input));
    checks.push(approvals(input));
    if input.policy.require_codeowners {
        checks.extend(codeowners(input));
    }
    checks
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn signatures(input: &CheckInput<'_>) -> Check {
    let bad: Vec<&CommitResult> = input
        .commits
        .iter()
        .filter(|c| c.verification.status != SignatureStatus::Verified && !c.exempt)
        .collect();
    let exempt = input.commits.iter().filter(|c| c.exempt).count();
    let total = input.commits.len();
    let mut check = if input.commits.is_empty() {
        Check::new(
            "signatures",
            CheckStatus::Pass,
            "no commits in the range (nothing new to verify)",
        )
    } else if bad.is_empty() {
        Check::new(
            "signatures",
            CheckStatus::Pass,
            format!(
                "{} of {total} commit(s) verified{}",
                total - exempt,
                if exempt > 0 {
                    format!(", {exempt} exempt by policy")
                } else {
                    String::new()
                }
            ),
        )
    } else {
        Check::new(
            "signatures",
            if input.policy.require_signed {
                CheckStatus::Fail
            } else {
                CheckStatus::Warn
            },
            format!("{} of {total} commit(s) not verified", bad.len()),
        )
    };
    for c in &bad {
        let v = &c.verification;
        let mut line = format!(
            "{} {}: {}",
            short(&c.commit.sha),
            c.commit.summary,
            v.status.as_str()
        );
        if let Some(signer) = &v.signer {
            line.push_str(&format!(" (signer {signer})"));
        }
        if let Some(detail) = &v.detail {
            line.push_str(&format!(": {detail}"));
        }
        check.details.push(line);
    }
    if input.grafted > 0 && check.status == CheckStatus::Pass {
        check.status = CheckStatus::Indeterminate;
        check.summary = format!(
            "{}; {} commit(s) have parents a shallow clone hid",
            check.summary, input.grafted
        );
        check.details.push(
            "fetch the whole history: actions/checkout `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`"
                .into(),
        );
    }
    check
        .sources
        .push("git objects in the repository (our own verification)".into());
    check
}

fn forge_signatures(input: &CheckInput<'_>) -> Check {
    let Some(view) = input.forge else {
        return Check::new(
            "forge-signatures",
            CheckStatus::Skipped,
            input.no_forge_reason.unwrap_or("no forge was asked"),
        );
    };
    let mut check = Check::new("forge-signatures", CheckStatus::Pass, "");
    let mut disagree = 0;
    let mut unknown = Vec::new();
    for c in input.commits {
        match (&c.agreement, &c.forge) {
            (Some(Agreement::OnlyUs | Agreement::OnlyForge), Some(f)) => {
                disagree += 1;
                let reason = f.value().map(|f| f.reason.as_str()).unwrap_or("?");
                check.details.push(format!(
                    "{}: {} says `{reason}`, we say {}",
                    short(&c.commit.sha),
                    view.forge,
                    c.verification.status.as_str()
                ));
            }
            (Some(Agreement::Unknown), Some(Observed::Indeterminate(i))) => unknown.push(i.clone()),
            _ => {}
        }
    }
    if let Some(first) = unknown.first() {
        let mut ind = Check::indeterminate(
            "forge-signatures",
            &format!(
                "{}'s verification of {} commit(s)",
                view.forge,
                unknown.len()
            ),
            first,
        );
        ind.details.extend(check.details);
        return ind;
    }
    check.status = if disagree == 0 {
        CheckStatus::Pass
    } else if input.policy.fail_on_forge_disagreement {
        CheckStatus::Fail
    } else {
        CheckStatus::Warn
    };
    check.summary = if disagree == 0 {
        format!("{} agrees with our verdict on every commit", view.forge)
    } else {
        format!(
            "{} disagrees with us on {disagree} commit(s); our verification decides",
            view.forge
        )
    };
    check
        .sources
        .push(format!("{} commit signature API", view.forge));
    check
}

fn protection(input: &CheckInput<'_>) -> Vec<Check> {
    let items = &input.policy.require_branch_protection;
    if items.is_empty() {
        return Vec::new();
    }
    let id = |item: ProtectionItem| format!("branch-protection/{}", item.name());
    let skip = |reason: String| {
        items
            .iter()
            .map(|&item| Check::new(id(item), CheckStatus::Skipped, reason.clone()))
            .collect::<Vec<_>>()
    };
    let Some(view) = input.forge else {
        return skip(
            input
                .no_forge_reason
                .unwrap_or("no forge was asked")
                .to_string(),
        );
    };
    let Some(branch) = input.branch else {
        return skip("the run is not for a branch (tag or detached commit)".into());
    };
    let bp = match &view.protection {
        None => return skip(format!("{} was not asked for protection", view.forge)),
        Some(Observed::Indeterminate(i)) => {
            return items
                .iter()
                .map(|&item| {
                    Check::indeterminate(id(item), &format!("the protection of {branch}"), i)
                })
                .collect();
        }
        Some(Observed::Known { value, source }) => (value, source),
    };
    items
        .iter()
        .map(|&item| protection_item(id(item), item, bp.0, bp.1, input.policy))
        .collect()
}

fn protection_item(
    id: String,
    item: ProtectionItem,
    bp: &BranchProtection,
    source: &str,
    policy: &SourcePolicy,
) -> Check {
    let (ok, what, sources): (bool, String, &Vec<String>) = match item {
        ProtectionItem::NoForcePush => (
            bp.force_push_blocked.value,
            "force pushes blocked".into(),
            &bp.force_push_blocked.sources,
        ),
        ProtectionItem::NoDeletion => (
            bp.deletion_blocked.value,
            "deletion blocked".into(),
            &bp.deletion_blocked.sources,
        ),
        ProtectionItem::StatusChecks => (
            !bp.required_status_checks.value.is_empty(),
            if bp.required_status_checks.value.is_empty() {
                "required status checks".into()
            } else {
                format!(
                    "required status checks ({})",
                    bp.required_status_checks.value.join(", ")
                )
            },
            &bp.required_status_checks.sources,
        ),
        ProtectionItem::LinearHistory => (
            bp.linear_history.value,
            "linear history required".into(),
            &bp.linear_history.sources,
        ),
        ProtectionItem::AdminsIncluded => (
            bp.admins_included.value,
            "administrators and bypass actors included".into(),
            &bp.admins_included.sources,
        ),
        ProtectionItem::SignedCommits => (
            bp.signed_commits_required.value,
            "signed commits required by the forge".into(),
            &bp.signed_commits_required.sources,
        ),
        ProtectionItem::Reviews => {
            let need = policy.required_approvals.max(1);
            (
                bp.required_approvals.value >= need,
                format!(
                    "at least {need} approval(s) required before merging (the forge requires {})",
                    bp.required_approvals.value
                ),
                &bp.required_approvals.sources,
            )
        }
    };
    let mut check = if ok {
        Check::new(id, CheckStatus::Pass, format!("{}: {what}", bp.branch))
    } else if let Some(i) = bp.unreadable.first() {
        // Something we could not read might set it: never "not protected" by default.
        let mut c = Check::indeterminate(id, &format!("all protection of {}", bp.branch), i);
        c.summary = format!(
            "{}: {what} not found in what we could read; {}",
            bp.branch, c.summary
        );
        c
    } else {
        Check::new(id, CheckStatus::Fail, format!("{}: not {what}", bp.branch))
    };
    check.sources.extend(sources.iter().cloned());
    if check.sources.is_empty() {
        check.sources.push(source.to_string());
    }
    check
}

fn approvals(input: &CheckInput<'_>) -> Check {
    let need = input.policy.required_approvals;
    let Some(number) = input.change_request else {
        return Check::new(
            "approvals",
            CheckStatus::Skipped,
            "not a pull/merge request run; required reviews on the branch are checked by branch-protection/reviews",
        );
    };
    if need == 0 {
        return Check::new(
            "approvals",
            CheckStatus::Skipped,
            "no approvals required by policy",
        );
    }
    let Some(view) = input.forge else {
        return Check::new(
            "approvals",
            CheckStatus::Skipped,
            input.no_forge_reason.unwrap_or("no forge was asked"),
        );
    };
    let (review, source) = match &view.review {
        None => {
            return Check::new(
                "approvals",
                CheckStatus::Indeterminate,
                format!("{} was not asked for the reviews of #{number}", view.forge),
            );
        }
        Some(Observed::Indeterminate(i)) => {
            return Check::indeterminate("approvals", &format!("the reviews of #{number}"), i);
        }
        Some(Observed::Known { value, source }) => (value, source),
    };
    let author = review.author.as_deref();
    let mut counted = Vec::new();
    let mut details = Vec::new();
    for a in &review.approvals {
        let who = a.user.as_str();
        if Some(who) == author {
            details.push(format!("{who}: the author's own approval does not count"));
        } else if Some(who) == input.last_pusher {
            details.push(format!(
                "{who}: pushed last, so their approval does not count"
            ));
        } else if !a.on_head {
            details.push(format!(
                "{who}: approved an older commit ({}), not the head",
                a.commit.as_deref().map(short).unwrap_or("?")
            ));
        } else {
            counted.push(who.to_string());
        }
    }
    for who in &review.changes_requested {
        details.push(format!("{who}: requested changes"));
    }
    let ok = counted.len() >= need as usize && review.changes_requested.is_empty();
    let mut check = Check::new(
        "approvals",
        if ok {
            CheckStatus::Pass
        } else {
            CheckStatus::Fail
        },
        format!(
            "#{number}: {} of {need} required approval(s) on the head commit{}{}",
            counted.len(),
            if counted.is_empty() {
                String::new()
            } else {
                format!(" ({})", counted.join(", "))
            },
            if review.changes_requested.is_empty() {
                ""
            } else {
                "; changes requested"
            }
        ),
    );
    check.details = details;
    check.sources.push(source.clone());
    // A part we could not read (e.g. GitLab's reviewers) might hold a change request.
    if check.status == CheckStatus::Pass
        && let Some(i) = review.unreadable.first()
    {
        let mut ind =
            Check::indeterminate("approvals", &format!("all review state of #{number}"), i);
        ind.summary = format!("{}; {}", check.summary, ind.summary);
        ind.details.extend(check.details);
        ind.sources.extend(check.sources);
        return ind;
    }
    check
}

fn codeowners(input: &CheckInput<'_>) -> Vec<Check> {
    let Some(view) = input.forge else {
        return vec![Check::new(
            "codeowners",
            CheckStatus::Skipped,
            input.no_forge_reason.unwrap_or("no forge was asked"),
        )];
    };
    let mut checks = Vec::new();
    match (&view.codeowners, input.local_codeowners) {
        (Some(Observed::Indeterminate(i)), _) => {
            checks.push(Check::indeterminate(
                "codeowners",
                "the CODEOWNERS errors",
                i,
            ));
        }
        (Some(Observed::Known { value, source }), _) => {
            let mut c = if value.errors.is_empty() {
                Check::new(
                    "codeowners",
                    CheckStatus::Pass,
                    "CODEOWNERS present and valid",
                )
            } else {
                Check::new(
                    "codeowners",
                    CheckStatus::Fail,
                    format!("CODEOWNERS has {} problem(s)", value.errors.len()),
                )
            };
            c.details = value.errors.clone();
            c.sources.push(source.clone());
            checks.push(c);
        }
        // The forge has no validity check (GitLab): ours, on the file at the change's head.
        (None, Some(local)) => {
            let mut c = match (&local.path, local.problems.is_empty()) {
                (None, _) => Check::new(
                    "codeowners",
                    CheckStatus::Fail,
                    "no CODEOWNERS file (.github/, root, docs/ or .gitlab/)",
                ),
                (Some(path), true) => Check::new(
                    "codeowners",
                    CheckStatus::Pass,
                    format!("{path} present and parsed"),
                ),
                (Some(path), false) => Check::new(
                    "codeowners",
                    CheckStatus::Fail,
                    format!("{path} has {} unusable line(s)", local.problems.len()),
                ),
            };
            c.details = local.problems.clone();
            c.sources.push("the repository at the change's head".into());
            checks.push(c);
        }
        (None, None) => {}
    }
    let local_approval = input.local_codeowners.and_then(|l| {
        l.approval
            .as_ref()
            .map(|a| (a, l.path.clone().unwrap_or_default()))
    });
    // Code-owner approval: what the forge computed (GitLab), else whether the forge enforces it
    // at merge (GitHub computes it only when merging).
    let id = "codeowners/approval";
    let from_review = match &view.review {
        Some(Observed::Known { value, source }) => value.code_owner_approved.map(|a| (a, source)),
        _ => None,
    };
    if let (None, Some((approval, path))) = (&from_review, local_approval) {
        let mut c = match approval {
            OwnerApproval::Approved { files } => Check::new(
                id,
                CheckStatus::Pass,
                format!("every owned changed file ({files}) approved by one of its owners"),
            ),
            OwnerApproval::Missing { files } => {
                let mut c = Check::new(
                    id,
                    CheckStatus::Fail,
                    format!("{} changed file(s) lack an owner's approval", files.len()),
                );
                c.details = files.clone();
                c
            }
            OwnerApproval::Unresolved { files } => {
                let mut c = Check::new(
                    id,
                    CheckStatus::Indeterminate,
                    format!(
                        "{} changed file(s) are owned by teams or emails whose members we do not resolve",
                        files.len()
                    ),
                );
                c.details = files.clone();
                c.details.push(
                        "to fix: name the owning users in CODEOWNERS, or get an approval from a listed user"
                            .into(),
                    );
                c
            }
        };
        c.sources.push(format!(
            "{path} at the change's head, the approvals on its head commit"
        ));
        checks.push(c);
        return checks;
    }
    let check = match (from_review, &view.protection) {
        (Some((true, source)), _) => {
            let mut c = Check::new(id, CheckStatus::Pass, "code owners approved");
            c.sources.push(source.clone());
            c
        }
        (Some((false, source)), _) => {
            let mut c = Check::new(id, CheckStatus::Fail, "code-owner approval missing");
            c.sources.push(source.clone());
            c
        }
        (None, Some(Observed::Known { value, .. })) => {
            let s = &value.code_owner_review_required;
            let mut c = if s.value {
                Check::new(
                    id,
                    CheckStatus::Pass,
                    format!("{} requires code-owner review before merging", view.forge),
                )
            } else if let Some(i) = value.unreadable.first() {
                Check::indeterminate(id, "whether code-owner review is required", i)
            } else {
                Check::new(
                    id,
                    CheckStatus::Fail,
                    format!(
                        "the branch does not require code-owner review on {}",
                        view.forge
                    ),
                )
            };
            c.sources.extend(s.sources.iter().cloned());
            c
        }
        (None, Some(Observed::Indeterminate(i))) => {
            Check::indeterminate(id, "whether code-owner review is required", i)
        }
        (None, None) => Check::new(
            id,
            CheckStatus::Skipped,
            "the run is not for a branch, so no protection to read",
        ),
    };
    checks.push(check);
    checks
}
