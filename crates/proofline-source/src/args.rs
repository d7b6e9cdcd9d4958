//! The source stage's command line: one documented `Args` struct shared by `proofline-source`
//! and `proofline source`, every flag also read from `PROOFLINE_<FLAG>`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::policy::{OnIndeterminate, PolicyFlags, ProtectionItem};

/// Which forge to ask about signatures, protection and reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForgeChoice {
    /// The forge we run on (GitHub Actions → GitHub, GitLab CI → GitLab); none locally.
    Auto,
    Github,
    Gitlab,
    /// Do not ask a forge: only our own signature verification (protection and review checks
    /// are reported as skipped).
    None,
}

/// Verify every commit a change brings: signed by someone our own trust store accepts, and
/// (through the forge's API) the target branch protected and the change reviewed.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The git repository to read (its work tree or .git directory).
    #[arg(long, env = "PROOFLINE_REPO", default_value = ".")]
    pub repo: PathBuf,

    /// Verify this revision range (A..B: the commits reachable from B and not from A) instead of
    /// the one the CI context gives.
    #[arg(long, env = "PROOFLINE_RANGE", conflicts_with = "commit")]
    pub range: Option<String>,

    /// Verify this one commit instead of the CI context's range.
    #[arg(long, env = "PROOFLINE_COMMIT")]
    pub commit: Option<String>,

    /// The branch whose protection is checked (default: the pushed branch, or the pull/merge
    /// request's target branch; locally the checked-out branch).
    #[arg(long, env = "PROOFLINE_BRANCH")]
    pub branch: Option<String>,

    /// OpenPGP public keys (an armored file, or a directory of .asc/.gpg/.pgp files) whose
    /// signatures are trusted.
    #[arg(long, env = "PROOFLINE_GPG_KEYS")]
    pub gpg_keys: Option<PathBuf>,

    /// SSH allowed signers, in git's `gpg.ssh.allowedSignersFile` format (principals,
    /// namespaces=, valid-after/valid-before).
    #[arg(long, env = "PROOFLINE_ALLOWED_SIGNERS")]
    pub allowed_signers: Option<PathBuf>,

    /// PEM bundle of root certificates trusted for x509 (gitsign, S/MIME) commit signatures.
    #[arg(long, env = "PROOFLINE_X509_ROOTS")]
    pub x509_roots: Option<PathBuf>,

    /// Every commit must carry a signature we verify [default: true].
    #[arg(long, env = "PROOFLINE_REQUIRE_SIGNED", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub require_signed: Option<bool>,

    /// Committer emails whose commits may be unsigned (e.g. a release bot); git-style `*`/`?`
    /// patterns, comma-separated or repeated.
    #[arg(long, env = "PROOFLINE_EXEMPT_SIGNERS", value_delimiter = ',')]
    pub exempt_signers: Option<Vec<String>>,

    /// Approvals a pull/merge request needs on its head commit, from people other than its
    /// author and its last pusher [default: 1].
    #[arg(long, env = "PROOFLINE_REQUIRED_APPROVALS", value_name = "N")]
    pub required_approvals: Option<u32>,

    /// Require a valid CODEOWNERS and code-owner approval [default: false].
    #[arg(long, env = "PROOFLINE_REQUIRE_CODEOWNERS", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub require_codeowners: Option<bool>,

    /// Branch-protection items the target branch must have, comma-separated: no-force-push,
    /// no-deletion, status-checks, linear-history, admins-included, signed-commits, reviews; or
    /// all / none / default [default: no-force-push,no-deletion,status-checks,admins-included,reviews].
    #[arg(long, env = "PROOFLINE_REQUIRE_BRANCH_PROTECTION", value_parser = parse_protection, value_name = "ITEMS")]
    pub require_branch_protection: Option<ProtectionList>,

    /// What a fact the forge would not let us read counts as [default: fail].
    #[arg(long, env = "PROOFLINE_ON_INDETERMINATE", value_enum)]
    pub on_indeterminate: Option<OnIndeterminate>,

    /// Fail when the forge's signature verdict disagrees with ours [default: false: reported,
    /// our own verification decides].
    #[arg(long, env = "PROOFLINE_FAIL_ON_FORGE_DISAGREEMENT", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub fail_on_forge_disagreement: Option<bool>,

    /// The forge to ask. Tokens come from GITHUB_TOKEN, GITLAB_TOKEN or CI_JOB_TOKEN.
    #[arg(long, env = "PROOFLINE_FORGE", value_enum, default_value = "auto")]
    pub forge: ForgeChoice,

    /// The forge API base (default: from the CI context; https://api.github.com or
    /// https://gitlab.com/api/v4).
    #[arg(long, env = "PROOFLINE_FORGE_API_URL")]
    pub forge_api_url: Option<String>,

    /// The repository on the forge, owner/repo or group/project (default: from the CI context).
    #[arg(long, env = "PROOFLINE_FORGE_REPOSITORY")]
    pub forge_repository: Option<String>,

    /// The pull/merge request number (GitLab: IID) whose reviews are checked (default: from the
    /// CI context).
    #[arg(long, env = "PROOFLINE_CHANGE_REQUEST", value_name = "N")]
    pub change_request: Option<u64>,

    /// Who pushed last to the pull/merge request; their approval does not count (default: the CI
    /// actor).
    #[arg(long, env = "PROOFLINE_LAST_PUSHER")]
    pub last_pusher: Option<String>,

    /// The policy file; its `source:` section sets defaults the flags override (default:
    /// proofline.yaml in the working directory, when present).
    #[arg(long, env = "PROOFLINE_POLICY")]
    pub policy: Option<PathBuf>,

    /// The evidence directory to write `source/` into.
    #[arg(long, env = "PROOFLINE_EVIDENCE_DIR", default_value = "evidence")]
    pub evidence_dir: PathBuf,
}

/// A parsed `--require-branch-protection` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectionList(pub Vec<ProtectionItem>);

fn parse_protection(value: &str) -> Result<ProtectionList, String> {
    ProtectionItem::parse_list(value).map(ProtectionList)
}

impl SourceArgs {
    /// The policy values given as flags or environment variables.
    pub fn policy_flags(&self) -> PolicyFlags {
        PolicyFlags {
            require_signed: self.require_signed,
            exempt_signers: self.exempt_signers.clone(),
            required_approvals: self.required_approvals,
            require_codeowners: self.require_codeowners,
            require_branch_protection: self.require_branch_protection.clone().map(|l| l.0),
            on_indeterminate: self.on_indeterminate,
            fail_on_forge_disagreement: self.fail_on_forge_disagreement,
        }
    }
}
