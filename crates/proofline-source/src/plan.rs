//! Which commits a run must verify and which branch's protection matters, worked out once from
//! the flags or the CI context: a push is `before..after`, a pull/merge request is its head (never
//! the synthetic merge commit) against the target, a new branch is what the default branch lacks.

use proofline_ci::{BaseCommit, CiContext, Platform, RefKind};
use serde::Serialize;

use crate::commits::{CommitSource, CommitsError, Selection};

/// Why no plan could be made (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("--range and --commit were both given; pass one of them")]
    RangeAndCommit,
    #[error(transparent)]
    Commits(#[from] CommitsError),
    #[error(
        "the {what} {sha} is not in the repository at {repo}; the clone is too shallow or lacks that ref. Fetch the whole history: actions/checkout `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`, or `git fetch --unshallow origin`"
    )]
    MissingCommit {
        what: &'static str,
        sha: String,
        repo: String,
    },
    #[error(
        "this push created the branch {branch}, so its new commits are those the default branch {default} lacks, but neither `{default}` nor `origin/{default}` is in the repository at {repo}; fetch it (actions/checkout `fetch-depth: 0`, or `git fetch origin {default}`) or pass --range"
    )]
    MissingDefaultBranch {
        branch: String,
        default: String,
        repo: String,
    },
}

/// What one run verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The commits, as a git revision range (or one commit).
    #[serde(serialize_with = "serialize_selection")]
    pub selection: Selection,
    /// The commit the run is about: the push's `after`, the PR/MR head, or `--commit`.
    pub head: String,
    /// Why these commits, in words, e.g. "GitHub pull_request #12: merge-base(base)..head".
    pub origin: String,
    /// The branch whose protection is checked (the pushed branch or the change's target).
    pub branch: Option<String>,
    /// The pull/merge request number (GitLab iid).
    pub change_request: Option<u64>,
    /// Notes the user should see (e.g. only the head commit could be checked).
    pub notes: Vec<String>,
}

fn serialize_selection<S: serde::Serializer>(sel: &Selection, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&describe(sel))
}

/// `A..B`, `SHA`, or `SHA (all ancestors)`.
pub fn describe(sel: &Selection) -> String {
    match sel {
        Selection::Range { from, to } => format!("{from}..{to}"),
        Selection::Single(rev) => rev.clone(),
        Selection::Ancestry(rev) => format!("{rev} and all its ancestors"),
    }
}

/// The user's explicit choices, which win over the CI context.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest<'a> {
    pub range: Option<&'a str>,
    pub commit: Option<&'a str>,
    pub branch: Option<&'a str>,
    pub change_request: Option<u64>,
}

/// Works out the plan.
pub fn plan(
    request: &PlanRequest<'_>,
    context: &CiContext,
    source: &CommitSource,
) -> Result<Plan, PlanError> {
    let repo = source.path().display().to_string();
    let context_branch = || match (&context.change_request, &context.git_ref) {
        (Some(cr), _) => cr.target_branch.clone(),
        (None, Some(r)) if r.kind == RefKind::Branch => Some(r.name.clone()),
        _ => None,
    };
    let branch = request
        .branch
        .map(str::to_string)
        .or_else(context_branch)
        .or_else(|| {
            (context.platform == Platform::Local)
                .then(|| source.current_branch())
                .flatten()
        });
    let change_request = request
        .change_request
        .or(context.change_request.as_ref().map(|c| c.number));
    let mut plan = Plan {
        selection: Selection::Single("HEAD".into()),
        head: String::new(),
        origin: String::new(),
        branch,
        change_request,
        notes: Vec::new(),
    };

    match (request.range, request.commit) {
        (Some(_), Some(_)) => return Err(PlanError::RangeAndCommit),
        (Some(range), None) => {
            plan.selection = Selection::parse(range);
            plan.origin = format!("--range {range}");
        }
        (None, Some(commit)) => {
            plan.selection = Selection::Single(commit.to_string());
            plan.origin = format!("--commit {commit}");
        }
        (None, None) => from_context(&mut plan, context, source, &repo)?,
    }
    let head_rev = match &plan.selection {
        Selection::Range { to, .. } => to.clone(),
        Selection::Single(rev) | Selection::Ancestry(rev) => rev.clone(),
    };
    plan.head = source.sha_of(&head_rev)?;
    Ok(plan)
}

fn from_context(
    plan: &mut Plan,
    context: &CiContext,
    source: &CommitSource,
    repo: &str,
) -> Result<(), PlanError> {
    let platform = match context.platform {
        Platform::GithubActions => "GitHub",
        Platform::GitlabCi => "GitLab",
        Platform::Local => {
            plan.selection = Selection::Single("HEAD".into());
            plan.origin = "local run: HEAD (pass --range A..B to verify more)".into();
            return Ok(());
        }
    };
    let event = context.event.clone().unwrap_or_else(|| "run".into());
    let Some(head) = context.commit.as_ref().map(|c| c.as_str().to_string()) else {
        plan.selection = Selection::Single("HEAD".into());
        plan.origin = format!("{platform} {event}: HEAD (the platform named no commit)");
        return Ok(());
    };
    let require = |what: &'static str, sha: &str| {
        if source.has(sha) {
            Ok(())
        } else {
            Err(PlanError::MissingCommit {
                what,
                sha: sha.to_string(),
                repo: repo.to_string(),
            })
        }
    };
    require(
        if context.change_request.is_some() {
            "pull/merge request head"
        } else {
            "pushed commit"
        },
        &head,
    )?;
    if let Some(cr) = &context.change_request {
        // The change's own commits: from the merge base with the target to the change's head,
        // never the synthetic merge commit the runner checked out.
        let Some(base) = context.base.sha() else {
            plan.selection = Selection::Single(head.clone());
            plan.notes.push(format!(
                "{platform} gave no base commit for #{}: only its head commit was verified",
                cr.number
            ));
            plan.origin = format!("{platform} {event} #{}: head {head}", cr.number);
            return Ok(());
        };
        require("target branch commit", base.as_str())?;
        plan.selection = Selection::Range {
            from: base.as_str().to_string(),
            to: head.clone(),
        };
        plan.origin = format!(
            "{platform} {event} #{}: merge-base({})..{head} (the change's head, not the merge commit)",
            cr.number,
            base.as_str()
        );
        return Ok(());
    }
    match &context.base {
        BaseCommit::Commit { sha, .. } => {
            if source.has(sha.as_str()) {
                plan.selection = Selection::Range {
                    from: sha.as_str().to_string(),
                    to: head.clone(),
                };
                plan.origin = format!("{platform} {event}: {}..{head}", sha.as_str());
                return Ok(());
            }
            // A force push: the previous tip is gone from the branch and usually from the clone.
            plan.notes.push(format!(
                "the push's previous tip {} is not in the clone (a force push, or a shallow clone): verified the commits the default branch lacks instead",
                sha.as_str()
            ));
            new_branch(plan, context, source, repo, &head, platform, &event)
        }
        BaseCommit::NewBranch => new_branch(plan, context, source, repo, &head, platform, &event),
        BaseCommit::Unknown => {
            plan.selection = Selection::Single(head.clone());
            plan.origin = format!("{platform} {event}: {head}");
            plan.notes.push(format!(
                "{platform} names no base commit for a {event} run: only the head commit was verified (pass --range to verify more)"
            ));
            Ok(())
        }
    }
}

fn new_branch(
    plan: &mut Plan,
    context: &CiContext,
    source: &CommitSource,
    repo: &str,
    head: &str,
    platform: &str,
    event: &str,
) -> Result<(), PlanError> {
    let branch = plan.branch.clone().unwrap_or_else(|| "(unknown)".into());
    let Some(default) = context.default_branch.clone() else {
        plan.selection = Selection::Single(head.to_string());
        plan.origin = format!("{platform} {event} (new branch {branch}): {head}");
        plan.notes.push(
            "the platform does not name the default branch, so only the head commit of this new branch was verified (pass --range)".into(),
        );
        return Ok(());
    };
    if default == branch {
        // The first push of the default branch itself: every commit is new.
        plan.selection = Selection::Ancestry(head.to_string());
        plan.origin = format!("{platform} {event}: first push of {branch}, every commit");
        return Ok(());
    }
    let base = [format!("origin/{default}"), default.clone()]
        .into_iter()
        .find(|r| source.has(r))
        .ok_or_else(|| PlanError::MissingDefaultBranch {
            branch: branch.clone(),
            default: default.clone(),
            repo: repo.to_string(),
        })?;
    plan.selection = Selection::Range {
        from: base.clone(),
        to: head.to_string(),
    };
    plan.origin = format!(
        "{platform} {event}: new branch {branch}, the commits {base} lacks ({base}..{head})"
    );
    Ok(())
}
