//! What each GitLab endpoint needs (role, tier, token type) and where GitLab says so, so that
//! every fact we could not read names the exact fix.
//!
//! Sources (read through the `search` tool, GitLab's own code and docs):
//! - `lib/api/protected_branches.rb`: `before { authorize_admin_project }`, and
//!   `app/policies/protected_branch_policy.rb` enables `read_protected_branch` only with
//!   `admin_project` → Maintainer.
//! - `ee/lib/api/project_push_rule.rb`: `authorize_admin_project` and
//!   `check_project_feature_available!(:push_rules)` → Maintainer and Premium (404 on Free);
//!   GitLab issue 592146 ("Allow Developer role read-only access to push_rule API endpoint")
//!   confirms Developers get 403.
//! - `ee/lib/api/project_approvals.rb` (`GET /approvals`): `read_approvers` unless `admin_project`.
//! - `ee/lib/api/helpers/project_approval_rules_helpers.rb`
//!   (`authorize_read_project_approval_rule!`): `admin_project`, else `create_merge_request_in`
//!   (Developer).
//! - `doc/ci/jobs/ci_job_token.md`, "Job token access": `CI_JOB_TOKEN` reaches only the
//!   registries, deployments, environments, job artifacts, packages, releases, `GET /job`, one
//!   pipeline and one repository (changelog) endpoint: none of the endpoints used here.

use crate::Indeterminate;

use super::http::Failure;

/// `GET /projects/:id`.
pub(crate) const PROJECT: &str =
    "a token (read_api scope) of a user who can see the project (any role, or a public project)";
/// `GET /projects/:id/repository/commits/:sha/signature`.
pub(crate) const SIGNATURE: &str = "a token (read_api scope) of a user with read access to the repository (Reporter role or higher on a private project)";
/// `GET /projects/:id/protected_branches[/:name]`.
pub(crate) const PROTECTED_BRANCHES: &str = "a token (read_api scope) of a user with the Maintainer role on the project (GitLab lib/api/protected_branches.rb: authorize_admin_project)";
/// `GET /projects/:id/push_rule`.
pub(crate) const PUSH_RULE: &str = "GitLab Premium or Ultimate (push rules; Free answers 404) and a token (read_api scope) of a user with the Maintainer role (ee/lib/api/project_push_rule.rb: authorize_admin_project)";
/// `GET /projects/:id/approvals`.
pub(crate) const APPROVAL_SETTINGS: &str = "GitLab Premium or Ultimate (merge request approvals) and a token (read_api scope) of a user with the Maintainer role (ee/lib/api/project_approvals.rb: admin_project, or read_approvers)";
/// `GET /projects/:id/approval_rules`.
pub(crate) const APPROVAL_RULES: &str = "GitLab Premium or Ultimate (approval rules) and a token (read_api scope) of a user with the Developer role or higher (authorize_read_project_approval_rule!: admin_project or create_merge_request_in)";
/// `GET /projects/:id/merge_requests/:iid[/approvals]`.
pub(crate) const MERGE_REQUEST: &str = "a token (read_api scope) of a user who can read the merge request (Reporter role or higher on a private project)";
/// `GET /projects/:id/merge_requests/:iid/approval_state`.
pub(crate) const APPROVAL_STATE: &str = "GitLab Premium or Ultimate (approval rules) and a token (read_api scope) of a user who can read the merge request (Reporter role or higher on a private project)";

const JOB_TOKEN_NOTE: &str = "CI_JOB_TOKEN cannot call this endpoint (it is not listed under \"Job token access\" in GitLab's CI/CD job token docs); set GITLAB_TOKEN to ";

/// The grant text, saying first that the job token cannot do it when that is what was used.
pub(crate) fn grant(job_token: bool, what: &str) -> String {
    if job_token {
        format!("{JOB_TOKEN_NOTE}{what}")
    } else {
        what.to_owned()
    }
}

/// Why a request that did not succeed leaves its fact unread.
pub(crate) fn unread(
    failure: &Failure,
    source: &str,
    job_token: bool,
    what: &str,
) -> Indeterminate {
    match failure {
        Failure::Refused { status, message } => Indeterminate {
            source: source.to_owned(),
            http_status: Some(*status),
            reason: message.clone(),
            grant: grant(job_token, what),
        },
        Failure::GaveUp { status, reason } => Indeterminate {
            source: source.to_owned(),
            http_status: Some(*status),
            reason: format!("{reason}; retry later"),
            grant:
                "nothing to grant: GitLab was overloaded or rate limited; run the check again later"
                    .to_owned(),
        },
    }
}
