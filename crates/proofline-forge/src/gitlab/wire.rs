//! The GitLab REST bodies we read, as GitLab sends them: only the fields we use, lenient where
//! GitLab's docs and API disagree (booleans as strings, `null` for "off", absent Premium fields).

use serde::{Deserialize, Deserializer};

/// `GET /projects/:id` (the settings that bear on protection).
#[derive(Debug, Deserialize)]
pub(crate) struct Project {
    #[serde(default)]
    pub only_allow_merge_if_pipeline_succeeds: Option<bool>,
    /// `merge`, `rebase_merge` or `ff`.
    #[serde(default)]
    pub merge_method: Option<String>,
}

/// One entry of `push_access_levels` / `merge_access_levels`.
#[derive(Debug, Deserialize)]
pub(crate) struct AccessLevel {
    /// 0 no one, 30 developers, 40 maintainers, 60 admins; `null` for a user/group entry.
    #[serde(default)]
    pub access_level: Option<u32>,
    #[serde(default)]
    pub access_level_description: Option<String>,
    #[serde(default)]
    pub user_id: Option<u64>,
    #[serde(default)]
    pub group_id: Option<u64>,
    #[serde(default)]
    pub deploy_key_id: Option<u64>,
}

impl AccessLevel {
    /// The entry is the "No one" level and names no user, group or deploy key.
    pub fn is_no_one(&self) -> bool {
        self.access_level == Some(0)
            && self.user_id.is_none()
            && self.group_id.is_none()
            && self.deploy_key_id.is_none()
    }

    pub fn describe(&self) -> String {
        match (&self.access_level_description, self.access_level) {
            (Some(d), _) => d.clone(),
            (None, Some(level)) => format!("access level {level}"),
            (None, None) => "a user or group".to_owned(),
        }
    }
}

/// `GET /projects/:id/protected_branches[/:name]`.
#[derive(Debug, Deserialize)]
pub(crate) struct ProtectedBranch {
    pub name: String,
    #[serde(default)]
    pub push_access_levels: Vec<AccessLevel>,
    #[serde(default)]
    pub allow_force_push: Option<bool>,
    /// Premium; the approval-rules docs show it as the string `"false"`.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub code_owner_approval_required: Option<bool>,
}

/// `GET /projects/:id/push_rule` when configured (the body is `null` when never configured).
#[derive(Debug, Deserialize)]
pub(crate) struct PushRule {
    /// `null` when the check is off (not `false`).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub reject_unsigned_commits: Option<bool>,
}

/// `GET /projects/:id/approvals`.
#[derive(Debug, Deserialize)]
pub(crate) struct ApprovalSettings {
    #[serde(default)]
    pub approvals_before_merge: Option<u32>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub reset_approvals_on_push: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub merge_requests_author_approval: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub merge_requests_disable_committers_approval: Option<bool>,
}

/// A protected branch as embedded in an approval rule.
#[derive(Debug, Deserialize)]
pub(crate) struct RuleBranch {
    pub name: String,
}

/// One entry of `GET /projects/:id/approval_rules`.
#[derive(Debug, Deserialize)]
pub(crate) struct ApprovalRule {
    pub id: u64,
    pub name: String,
    /// `regular`, `any_approver`, `code_owner`, `report_approver`.
    #[serde(default)]
    pub rule_type: Option<String>,
    #[serde(default)]
    pub approvals_required: u32,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub applies_to_all_protected_branches: Option<bool>,
    #[serde(default)]
    pub protected_branches: Vec<RuleBranch>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct User {
    pub username: String,
}

/// `GET /projects/:id/merge_requests/:iid`.
#[derive(Debug, Deserialize)]
pub(crate) struct MergeRequest {
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub sha: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ApprovedBy {
    pub user: User,
}

/// `GET /projects/:id/merge_requests/:iid/approvals`.
#[derive(Debug, Deserialize)]
pub(crate) struct MergeRequestApprovals {
    #[serde(default)]
    pub approved_by: Vec<ApprovedBy>,
}

/// One entry of `GET /projects/:id/merge_requests/:iid/reviewers` (GitLab 15.3+).
#[derive(Debug, Deserialize)]
pub(crate) struct Reviewer {
    pub user: User,
    /// `unreviewed`, `review_started`, `reviewed`, `requested_changes`, `approved`, `unapproved`.
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StateRule {
    #[serde(default)]
    pub rule_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub approved: Option<bool>,
}

/// `GET /projects/:id/merge_requests/:iid/approval_state` (Premium).
#[derive(Debug, Deserialize)]
pub(crate) struct ApprovalState {
    #[serde(default)]
    pub rules: Vec<StateRule>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct KeyOwner {
    #[serde(default)]
    pub username: Option<String>,
}

/// `key` of an SSH signature.
#[derive(Debug, Deserialize)]
pub(crate) struct SshKey {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub fingerprint_sha256: Option<String>,
    #[serde(default)]
    pub user: Option<KeyOwner>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct X509Certificate {
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// `GET /projects/:id/repository/commits/:sha/signature`. `x509_certificate.serial_number` is a
/// JSON integer wider than 64 bits: it is read from the raw text, see `signature::serial_number`.
#[derive(Debug, Deserialize)]
pub(crate) struct Signature {
    #[serde(default)]
    pub signature_type: Option<String>,
    #[serde(default)]
    pub verification_status: Option<String>,
    #[serde(default)]
    pub gpg_key_primary_keyid: Option<String>,
    #[serde(default)]
    pub gpg_key_user_name: Option<String>,
    #[serde(default)]
    pub gpg_key_user_email: Option<String>,
    #[serde(default)]
    pub key: Option<SshKey>,
    #[serde(default)]
    pub x509_certificate: Option<X509Certificate>,
}

/// A boolean that GitLab may send as `true`, `"true"`, `null` or not at all.
fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Lenient {
        Bool(bool),
        Text(String),
        Number(u64),
    }
    Ok(match Option::<Lenient>::deserialize(deserializer)? {
        None => None,
        Some(Lenient::Bool(b)) => Some(b),
        Some(Lenient::Number(n)) => Some(n != 0),
        Some(Lenient::Text(t)) => match t.trim() {
            "true" | "1" => Some(true),
            "false" | "0" | "" => Some(false),
            _ => None,
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn booleans_as_strings_and_nulls_are_read() {
        let b: ProtectedBranch =
            serde_json::from_str(r#"{"name":"main","code_owner_approval_required":"false"}"#)
                .unwrap();
        assert_eq!(b.code_owner_approval_required, Some(false));
        let r: PushRule = serde_json::from_str(r#"{"reject_unsigned_commits":null}"#).unwrap();
        assert_eq!(r.reject_unsigned_commits, None);
    }
}
