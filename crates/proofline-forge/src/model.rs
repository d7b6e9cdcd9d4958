//! The forge-neutral picture the source stage judges: what GitHub or GitLab says about the
//! commits, the branch's protection and the change request's reviews, each fact with where it
//! came from, and "indeterminate" (with the permission to grant) wherever the token could not see.

use serde::Serialize;

/// Which forge answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    GitHub,
    GitLab,
}

impl std::fmt::Display for ForgeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::GitHub => "GitHub",
            Self::GitLab => "GitLab",
        })
    }
}

/// One fact read from the forge, or why it could not be read. Never a default value in
/// disguise: a fact the token could not see is `Indeterminate`, not "off".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Observed<T> {
    /// The forge answered; `source` names the request(s), e.g. `GET /repos/o/r/rules/branches/main`.
    Known { value: T, source: String },
    /// The forge did not tell us.
    Indeterminate(Indeterminate),
}

impl<T> Observed<T> {
    pub fn known(value: T, source: impl Into<String>) -> Self {
        Self::Known {
            value,
            source: source.into(),
        }
    }

    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Known { value, .. } => Some(value),
            Self::Indeterminate(_) => None,
        }
    }

    pub fn indeterminate(&self) -> Option<&Indeterminate> {
        match self {
            Self::Known { .. } => None,
            Self::Indeterminate(i) => Some(i),
        }
    }
}

/// Why a fact could not be read, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Indeterminate {
    /// The request that failed, e.g. `GET /repos/o/r/branches/main/protection`.
    pub source: String,
    /// The HTTP status, when there was one (403, GitHub's ambiguous 404, 5xx after retries).
    pub http_status: Option<u16>,
    /// What the forge said (its `message`), never a token.
    pub reason: String,
    /// The exact permission (or other fix) that would let us read it, e.g.
    /// `a token with "Administration: read" (fine-grained PAT or GitHub App); GITHUB_TOKEN cannot have it`.
    pub grant: String,
}

/// What the forge says about one commit's signature (its own verification, which we compare
/// with ours but never rely on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForgeSignature {
    /// The forge considers the signature verified.
    pub verified: bool,
    /// The forge's own reason/status word, verbatim: GitHub `verification.reason`
    /// (`valid`, `unsigned`, `unknown_key`, …), GitLab `verification_status`
    /// (`verified`, `unverified`, `unverified_key`, `other_user`, …, or `unsigned` for its 404).
    pub reason: String,
    /// `gpg`, `ssh` or `x509` when the forge says (GitLab `signature_type`, or derived from the
    /// armored signature GitHub returns); `None` when unsigned.
    pub kind: Option<String>,
    /// Who the forge says signed (GitLab user / certificate subject, GitHub: not given).
    pub signer: Option<String>,
    /// Key id or fingerprint when the forge gives one.
    pub key: Option<String>,
}

/// One commit as the forge sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForgeCommit {
    pub sha: String,
    pub signature: Observed<ForgeSignature>,
}

/// A protection setting merged from every place that can set it (GitHub classic protection and
/// each active ruleset; GitLab protected branch, push rules, approval settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Setting<T> {
    pub value: T,
    /// Where each contribution came from, e.g. `classic protection`, `ruleset 42 "main" (active)`,
    /// `push rule`, in the order read. Empty when nothing sets it (the forge default applies).
    pub sources: Vec<String>,
}

impl<T> Setting<T> {
    pub fn new(value: T) -> Self {
        Self {
            value,
            sources: Vec::new(),
        }
    }
}

/// The merged protection picture of one branch. Most restrictive wins when several sources
/// set the same item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BranchProtection {
    pub branch: String,
    /// Anything at all protects the branch.
    pub protected: Setting<bool>,
    pub force_push_blocked: Setting<bool>,
    pub deletion_blocked: Setting<bool>,
    /// Required status check contexts (empty = none required).
    pub required_status_checks: Setting<Vec<String>>,
    pub linear_history: Setting<bool>,
    /// Administrators (and bypass actors) are subject to the rules too: GitHub `enforce_admins`
    /// and rulesets with no bypass actors; GitLab: no one may push/force-push around them.
    pub admins_included: Setting<bool>,
    /// The forge rejects unsigned commits (GitHub `required_signatures`, GitLab push rule
    /// `reject_unsigned_commits`).
    pub signed_commits_required: Setting<bool>,
    /// Approvals the forge requires before merging (0 = none).
    pub required_approvals: Setting<u32>,
    pub code_owner_review_required: Setting<bool>,
    pub dismiss_stale_approvals: Setting<bool>,
    /// The most recent pusher may not approve (GitHub `require_last_push_approval`, GitLab
    /// `merge_requests_author_approval: false` / `reset_approvals_on_push`).
    pub last_push_approval_required: Setting<bool>,
    /// Individual parts that could not be read, while others could (e.g. rulesets readable,
    /// classic protection 403). Judging code must treat an item as indeterminate when it
    /// depends on one of these.
    pub unreadable: Vec<Indeterminate>,
}

/// One approval on a change request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub user: String,
    /// The commit the approval was given on (GitHub review `commit_id`); `None` when the forge
    /// does not say (GitLab).
    pub commit: Option<String>,
    /// The approval is on the current head (or the forge does not tie approvals to commits).
    pub on_head: bool,
}

/// CODEOWNERS as the forge parsed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Codeowners {
    /// Errors the forge reports (GitHub `codeowners/errors`): line, kind, message.
    pub errors: Vec<String>,
}

/// The review state of one pull/merge request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub number: u64,
    pub author: Option<String>,
    pub head_sha: Option<String>,
    /// Each user's latest effective approval (a later CHANGES_REQUESTED/DISMISSED cancels it).
    pub approvals: Vec<Approval>,
    /// Users whose latest review requests changes.
    pub changes_requested: Vec<String>,
    /// Whether the forge says code-owner approval is satisfied (GitLab `code_owner` rule
    /// `approved`); `None` when the forge does not compute it (GitHub: judged by the stage from
    /// CODEOWNERS).
    pub code_owner_approved: Option<bool>,
    /// Parts that could not be read (GitLab's reviewers): what they would have said is unknown,
    /// so a verdict resting on them is indeterminate, never a pass.
    pub unreadable: Vec<Indeterminate>,
}

/// Everything the forge said, for one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForgeView {
    pub forge: ForgeKind,
    pub api_url: String,
    /// `owner/repo` or the GitLab project path.
    pub repository: String,
    pub commits: Vec<ForgeCommit>,
    /// The protection of the branch the change lands on; `None` when no branch was asked for.
    pub protection: Option<Observed<BranchProtection>>,
    /// The change request's review state; `None` when the run is not for a change request.
    pub review: Option<Observed<Review>>,
    /// CODEOWNERS validity; `None` when the forge has no such check (GitLab).
    pub codeowners: Option<Observed<Codeowners>>,
}

/// What the source stage asks the forge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForgeQuery {
    /// `owner/repo` (GitHub) or `group/sub/project` or a numeric project id (GitLab).
    pub repository: String,
    /// The branch whose protection matters (the push's branch, or the change's target branch).
    pub branch: Option<String>,
    /// The commits to ask the forge's signature verdict for.
    pub commits: Vec<String>,
    /// The pull/merge request number (GitLab: iid).
    pub change_request: Option<u64>,
}
