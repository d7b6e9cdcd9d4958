//! The review state of one merge request: its author and head, who approved it (GitLab does
//! not tie approvals to a commit), who requested changes, and whether the code-owner rules are
//! satisfied (Premium).

use crate::{Approval, ForgeError, Observed, Review};

use super::access;
use super::http::Http;
use super::wire::{ApprovalState, MergeRequest, MergeRequestApprovals, Reviewer};

pub(crate) async fn read(
    http: &Http,
    project: &str,
    iid: u64,
) -> Result<Observed<Review>, ForgeError> {
    let job_token = http.is_job_token();
    let mr_path = format!("{project}/merge_requests/{iid}");
    let merge_request: MergeRequest = match http.get_json(&mr_path).await? {
        Ok(mr) => mr,
        Err(failure) => {
            return Ok(Observed::Indeterminate(access::unread(
                &failure,
                &format!("GET {mr_path}"),
                job_token,
                access::MERGE_REQUEST,
            )));
        }
    };
    let approvals_path = format!("{mr_path}/approvals");
    let approvals: MergeRequestApprovals = match http.get_json(&approvals_path).await? {
        Ok(approvals) => approvals,
        Err(failure) => {
            return Ok(Observed::Indeterminate(access::unread(
                &failure,
                &format!("GET {approvals_path}"),
                job_token,
                access::MERGE_REQUEST,
            )));
        }
    };
    let mut sources = vec![format!("GET {mr_path}"), format!("GET {approvals_path}")];
    let mut unreadable = Vec::new();

    let state_path = format!("{mr_path}/approval_state");
    let code_owner_approved = match http.get_json::<ApprovalState>(&state_path).await? {
        Ok(state) => {
            sources.push(format!("GET {state_path}"));
            let owners: Vec<_> = state
                .rules
                .iter()
                .filter(|rule| rule.rule_type.as_deref() == Some("code_owner"))
                .collect();
            // No code-owner rule on this merge request: GitLab computes nothing to report.
            (!owners.is_empty()).then(|| owners.iter().all(|rule| rule.approved == Some(true)))
        }
        Err(failure) => {
            let why = access::unread(
                &failure,
                &format!("GET {state_path}"),
                job_token,
                access::APPROVAL_STATE,
            );
            tracing::warn!(
                source = %why.source,
                status = ?why.http_status,
                reason = %why.reason,
                grant = %why.grant,
                "GitLab's code-owner approval state is unreadable; reported as unknown"
            );
            // Not pushed to `unreadable`: it only decides code-owner approval, which then falls
            // back to whether the protected branch requires it (GitLab Free has no such state).
            None
        }
    };

    // GitLab's "Request changes" is a reviewer state; older GitLab (before 15.3) has no
    // reviewers endpoint, and then nobody is reported as requesting changes.
    let reviewers_path = format!("{mr_path}/reviewers");
    let changes_requested = match http.get_list::<Reviewer>(&reviewers_path).await? {
        Ok(reviewers) => {
            sources.push(format!("GET {reviewers_path}"));
            let mut users: Vec<String> = Vec::new();
            for reviewer in reviewers.items {
                if reviewer.state.as_deref() == Some("requested_changes")
                    && !users.contains(&reviewer.user.username)
                {
                    users.push(reviewer.user.username);
                }
            }
            users
        }
        Err(failure) => {
            let why = access::unread(
                &failure,
                &format!("GET {reviewers_path}"),
                job_token,
                access::MERGE_REQUEST,
            );
            tracing::warn!(
                source = %why.source,
                status = ?why.http_status,
                reason = %why.reason,
                "GitLab's merge request reviewers are unreadable; no change requests reported"
            );
            unreadable.push(why);
            Vec::new()
        }
    };

    let mut users: Vec<String> = Vec::new();
    for entry in approvals.approved_by {
        if !users.contains(&entry.user.username) {
            users.push(entry.user.username);
        }
    }
    Ok(Observed::known(
        Review {
            number: iid,
            author: merge_request.author.map(|a| a.username),
            head_sha: merge_request.sha,
            // GitLab approvals are not tied to a commit: with "reset approvals on push" they are
            // removed on a new push, so every listed approval stands for the current head.
            approvals: users
                .into_iter()
                .map(|user| Approval {
                    user,
                    commit: None,
                    on_head: true,
                })
                .collect(),
            changes_requested,
            code_owner_approved,
            unreadable,
        },
        sources.join(", "),
    ))
}
