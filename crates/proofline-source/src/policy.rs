//! The source policy: what a change must satisfy (signed commits, approvals, code owners, branch
//! protection) and what an unreadable fact counts as. Resolved once, flag > env > `source:` in
//! `proofline.yaml` > default, and recorded with where each value came from.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One branch-protection item a policy can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProtectionItem {
    /// Force pushes are blocked.
    NoForcePush,
    /// The branch cannot be deleted.
    NoDeletion,
    /// At least one status check must pass before merging.
    StatusChecks,
    /// Merge commits are not allowed (linear history).
    LinearHistory,
    /// Administrators and bypass actors are subject to the rules too.
    AdminsIncluded,
    /// The forge itself rejects unsigned commits.
    SignedCommits,
    /// The forge requires at least `required-approvals` approvals before merging.
    Reviews,
}

impl ProtectionItem {
    pub const ALL: [ProtectionItem; 7] = [
        Self::NoForcePush,
        Self::NoDeletion,
        Self::StatusChecks,
        Self::LinearHistory,
        Self::AdminsIncluded,
        Self::SignedCommits,
        Self::Reviews,
    ];

    /// A security team's default: history cannot be rewritten or deleted, changes are checked
    /// and reviewed, and nobody is above the rules. Linear history is a workflow choice, and
    /// signed commits are enforced by this stage itself, so both are opt-in.
    pub const DEFAULT: [ProtectionItem; 5] = [
        Self::NoForcePush,
        Self::NoDeletion,
        Self::StatusChecks,
        Self::AdminsIncluded,
        Self::Reviews,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::NoForcePush => "no-force-push",
            Self::NoDeletion => "no-deletion",
            Self::StatusChecks => "status-checks",
            Self::LinearHistory => "linear-history",
            Self::AdminsIncluded => "admins-included",
            Self::SignedCommits => "signed-commits",
            Self::Reviews => "reviews",
        }
    }

    /// Parses one item name, or `all` / `none`.
    pub fn parse_list(value: &str) -> Result<Vec<ProtectionItem>, String> {
        let mut items = Vec::new();
        for word in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "all" => items.extend(Self::ALL),
                "none" => {}
                "default" => items.extend(Self::DEFAULT),
                _ => items.push(
                    Self::ALL
                        .into_iter()
                        .find(|i| i.name() == word)
                        .ok_or_else(|| {
                            format!(
                                "unknown branch-protection item `{word}`; the items are {}, or all / none / default",
                                Self::ALL.map(Self::name).join(", ")
                            )
                        })?,
                ),
            }
        }
        items.sort();
        items.dedup();
        Ok(items)
    }
}

/// What an unreadable fact counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OnIndeterminate {
    /// A check the forge would not let us read fails the run (default: fail closed).
    Fail,
    /// It is reported as a warning and does not fail the run.
    Warn,
}

/// The `source:` section of `proofline.yaml`; every key optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SourceSection {
    pub require_signed: Option<bool>,
    pub exempt_signers: Option<Vec<String>>,
    pub required_approvals: Option<u32>,
    pub require_codeowners: Option<bool>,
    pub require_branch_protection: Option<Vec<ProtectionItem>>,
    pub on_indeterminate: Option<OnIndeterminate>,
    pub gpg_keys: Option<PathBuf>,
    pub allowed_signers: Option<PathBuf>,
    pub x509_roots: Option<PathBuf>,
    pub compare_forge_signatures: Option<bool>,
}

/// The resolved policy, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourcePolicy {
    /// Every commit must carry a signature we verify.
    pub require_signed: bool,
    /// Committer emails (git-style `*`/`?` patterns) whose commits may be unsigned.
    pub exempt_signers: Vec<String>,
    /// Approvals required on a pull/merge request, from people other than its author and its
    /// last pusher, on its head commit.
    pub required_approvals: u32,
    /// CODEOWNERS must exist and be valid, and every changed file needs an owner's approval.
    pub require_codeowners: bool,
    /// Branch-protection items the target branch must have.
    pub require_branch_protection: Vec<ProtectionItem>,
    pub on_indeterminate: OnIndeterminate,
    /// A disagreement between the forge's signature verdict and ours fails the run (default: a
    /// warning; our own verification decides).
    pub fail_on_forge_disagreement: bool,
    /// Where each value came from (`flag or env`, `proofline.yaml`, `default`).
    pub origins: std::collections::BTreeMap<String, String>,
}

/// Values given on the command line or in the environment (clap merges the two).
#[derive(Debug, Clone, Default)]
pub struct PolicyFlags {
    pub require_signed: Option<bool>,
    pub exempt_signers: Option<Vec<String>>,
    pub required_approvals: Option<u32>,
    pub require_codeowners: Option<bool>,
    pub require_branch_protection: Option<Vec<ProtectionItem>>,
    pub on_indeterminate: Option<OnIndeterminate>,
    pub fail_on_forge_disagreement: Option<bool>,
}

impl SourcePolicy {
    /// Resolves flag > env > file > default.
    pub fn resolve(flags: &PolicyFlags, file: Option<&SourceSection>) -> Self {
        let mut origins = std::collections::BTreeMap::new();
        let empty = SourceSection::default();
        let file = file.unwrap_or(&empty);
        macro_rules! pick {
            ($name:literal, $flag:expr, $file:expr, $default:expr) => {{
                let (value, origin) = match ($flag, $file) {
                    (Some(v), _) => (v, "flag or environment"),
                    (None, Some(v)) => (v, "proofline.yaml"),
                    (None, None) => ($default, "default"),
                };
                origins.insert($name.to_string(), origin.to_string());
                value
            }};
        }
        let require_signed = pick!(
            "requireSigned",
            flags.require_signed,
            file.require_signed,
            true
        );
        let exempt_signers = pick!(
            "exemptSigners",
            flags.exempt_signers.clone(),
            file.exempt_signers.clone(),
            Vec::new()
        );
        let required_approvals = pick!(
            "requiredApprovals",
            flags.required_approvals,
            file.required_approvals,
            1
        );
        let require_codeowners = pick!(
            "requireCodeowners",
            flags.require_codeowners,
            file.require_codeowners,
            false
        );
        let mut require_branch_protection = pick!(
            "requireBranchProtection",
            flags.require_branch_protection.clone(),
            file.require_branch_protection.clone(),
            ProtectionItem::DEFAULT.to_vec()
        );
        require_branch_protection.sort();
        require_branch_protection.dedup();
        let on_indeterminate = pick!(
            "onIndeterminate",
            flags.on_indeterminate,
            file.on_indeterminate,
            OnIndeterminate::Fail
        );
        let fail_on_forge_disagreement = pick!(
            "failOnForgeDisagreement",
            flags.fail_on_forge_disagreement,
            file.compare_forge_signatures,
            false
        );
        Self {
            require_signed,
            exempt_signers,
            required_approvals,
            require_codeowners,
            require_branch_protection,
            on_indeterminate,
            fail_on_forge_disagreement,
            origins,
        }
    }

    /// Whether a committer email is exempt from signing.
    pub fn is_exempt(&self, email: &str) -> bool {
        !self.exempt_signers.is_empty()
            && crate::signature::allowed_signers::match_pattern_list(email, &self.exempt_signers)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_file_beats_default() {
        let file = SourceSection {
            required_approvals: Some(2),
            require_codeowners: Some(true),
            ..SourceSection::default()
        };
        let flags = PolicyFlags {
            required_approvals: Some(3),
            ..PolicyFlags::default()
        };
        let p = SourcePolicy::resolve(&flags, Some(&file));
        assert_eq!(p.required_approvals, 3);
        assert!(p.require_codeowners);
        assert!(p.require_signed);
        assert_eq!(p.on_indeterminate, OnIndeterminate::Fail);
        assert_eq!(p.origins["requiredApprovals"], "flag or environment");
        assert_eq!(p.origins["requireCodeowners"], "proofline.yaml");
        assert_eq!(p.origins["requireSigned"], "default");
        assert_eq!(
            p.require_branch_protection,
            ProtectionItem::DEFAULT.to_vec()
        );
    }

    #[test]
    fn protection_lists_parse_with_clear_errors() {
        assert_eq!(
            ProtectionItem::parse_list("no-deletion, no-force-push").unwrap(),
            vec![ProtectionItem::NoForcePush, ProtectionItem::NoDeletion]
        );
        assert_eq!(ProtectionItem::parse_list("all").unwrap().len(), 7);
        assert!(ProtectionItem::parse_list("none").unwrap().is_empty());
        let err = ProtectionItem::parse_list("no-force-pushes").unwrap_err();
        assert!(
            err.contains("`no-force-pushes`") && err.contains("linear-history"),
            "{err}"
        );
    }

    #[test]
    fn exemptions_match_committer_email_patterns() {
        let p = SourcePolicy::resolve(
            &PolicyFlags {
                exempt_signers: Some(vec!["*[bot]@users.noreply.github.com".into()]),
                ..PolicyFlags::default()
            },
            None,
        );
        assert!(p.is_exempt("41898282+github-actions[bot]@users.noreply.github.com"));
        assert!(!p.is_exempt("dev@example.com"));
    }
}
