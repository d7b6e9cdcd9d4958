//! One branch's protection on GitLab, merged from everywhere GitLab keeps it: the exact and the
//! wildcard protected branches that match, the push rule, the project's approval settings and
//! approval rules, and the project's merge settings; each part it could not read is named.

use crate::{BranchProtection, ForgeError, Indeterminate, Observed, Setting};

use super::access;
use super::encode;
use super::http::{Failure, Http, MAX_PAGES, PER_PAGE};
use super::wire::{ApprovalRule, ApprovalSettings, Project, ProtectedBranch, PushRule};

/// A protected-branch entry that applies to the branch, and whether it did so by wildcard.
struct Matched {
    rule: ProtectedBranch,
    wildcard: bool,
}

impl Matched {
    fn label(&self) -> String {
        if self.wildcard {
            format!("protected branch {:?} (wildcard)", self.rule.name)
        } else {
            format!("protected branch {:?}", self.rule.name)
        }
    }
}

/// What was read, part by part (`None` = unreadable, listed in `unreadable`).
struct Parts {
    project: Project,
    /// The matching protected-branch entries; `None` when neither the single nor the list
    /// endpoint could be read.
    matched: Option<Vec<Matched>>,
    /// `Some(None)`: the push rule was never configured (body `null`).
    push_rule: Option<Option<PushRule>>,
    settings: Option<ApprovalSettings>,
    approval_rules: Option<Vec<ApprovalRule>>,
    unreadable: Vec<Indeterminate>,
}

pub(crate) async fn read(
    http: &Http,
    project: &str,
    branch: &str,
) -> Result<Observed<BranchProtection>, ForgeError> {
    let job_token = http.is_job_token();
    // The project first: once it is known to be readable, a 404 on a protected branch means
    // "no such protected branch" and a 404 on a Premium endpoint means "not available here",
    // never "project not found".
    let settings_of_project: Project = match http.get_json(project).await? {
        Ok(p) => p,
        Err(failure) => {
            return Ok(Observed::Indeterminate(access::unread(
                &failure,
                &format!("GET {project}"),
                job_token,
                access::PROJECT,
            )));
        }
    };
    let mut unreadable = Vec::new();
    let note = |unreadable: &mut Vec<Indeterminate>, failure: &Failure, path: &str, what: &str| {
        unreadable.push(access::unread(
            failure,
            &format!("GET {path}"),
            job_token,
            what,
        ));
    };

    let exact_path = format!("{project}/protected_branches/{}", encode(branch));
    let exact = match http.get_json::<ProtectedBranch>(&exact_path).await? {
        Ok(rule) => Some(Some(rule)),
        Err(failure) if failure.is(404) => Some(None),
        Err(failure) => {
            note(
                &mut unreadable,
                &failure,
                &exact_path,
                access::PROTECTED_BRANCHES,
            );
            None
        }
    };
    // Wildcards (`release/*`) are only visible in the list.
    let list_path = format!("{project}/protected_branches");
    let listed = match http.get_list::<ProtectedBranch>(&list_path).await? {
        Ok(listing) => {
            if listing.truncated {
                let limit = MAX_PAGES * PER_PAGE;
                unreadable.push(Indeterminate {
                    source: format!("GET {list_path}"),
                    http_status: None,
                    reason: format!(
                        "the list was not read to the end (more than {limit} entries, or a next page at another origin); a wildcard among the rest could also match"
                    ),
                    grant: "nothing to grant: fewer protected-branch entries, or an API URL whose pagination links point back to it (GitLab's external_url)".to_owned(),
                });
            }
            Some(listing.items)
        }
        Err(failure) => {
            note(
                &mut unreadable,
                &failure,
                &list_path,
                access::PROTECTED_BRANCHES,
            );
            None
        }
    };
    let matched = merge_matches(branch, exact, listed);

    let push_path = format!("{project}/push_rule");
    let push_rule = match http.get_json::<Option<PushRule>>(&push_path).await? {
        Ok(rule) => Some(rule),
        Err(failure) => {
            note(&mut unreadable, &failure, &push_path, access::PUSH_RULE);
            None
        }
    };
    let settings_path = format!("{project}/approvals");
    let settings = match http.get_json::<ApprovalSettings>(&settings_path).await? {
        Ok(settings) => Some(settings),
        Err(failure) => {
            note(
                &mut unreadable,
                &failure,
                &settings_path,
                access::APPROVAL_SETTINGS,
            );
            None
        }
    };
    let rules_path = format!("{project}/approval_rules");
    let approval_rules = match http.get_list::<ApprovalRule>(&rules_path).await? {
        Ok(listing) => {
            if listing.truncated {
                let limit = MAX_PAGES * PER_PAGE;
                unreadable.push(Indeterminate {
                    source: format!("GET {rules_path}"),
                    http_status: None,
                    reason: format!(
                        "the list was not read to the end (more than {limit} entries, or a next page at another origin)"
                    ),
                    grant: "nothing to grant: fewer approval rules, or an API URL whose pagination links point back to it (GitLab's external_url)".to_owned(),
                });
            }
            Some(listing.items)
        }
        Err(failure) => {
            note(
                &mut unreadable,
                &failure,
                &rules_path,
                access::APPROVAL_RULES,
            );
            None
        }
    };

    let parts = Parts {
        project: settings_of_project,
        matched,
        push_rule,
        settings,
        approval_rules,
        unreadable,
    };
    if parts.matched.is_none()
        && parts.push_rule.is_none()
        && parts.settings.is_none()
        && parts.approval_rules.is_none()
    {
        return Ok(Observed::Indeterminate(nothing_readable(parts.unreadable)));
    }
    Ok(Observed::known(
        merge(branch, parts),
        [
            project,
            &exact_path,
            &list_path,
            &push_path,
            &settings_path,
            &rules_path,
        ]
        .map(|p| format!("GET {p}"))
        .join(", "),
    ))
}

/// The exact entry (from the single endpoint or the list) and every wildcard that matches.
fn merge_matches(
    branch: &str,
    exact: Option<Option<ProtectedBranch>>,
    listed: Option<Vec<ProtectedBranch>>,
) -> Option<Vec<Matched>> {
    if exact.is_none() && listed.is_none() {
        return None;
    }
    let mut matched = Vec::new();
    if let Some(Some(rule)) = exact {
        matched.push(Matched {
            rule,
            wildcard: false,
        });
    }
    for rule in listed.into_iter().flatten() {
        if rule.name == branch {
            if !matched.iter().any(|m| !m.wildcard) {
                matched.push(Matched {
                    rule,
                    wildcard: false,
                });
            }
        } else if rule.name.contains('*') && wildcard_matches(&rule.name, branch) {
            matched.push(Matched {
                rule,
                wildcard: true,
            });
        }
    }
    Some(matched)
}

/// GitLab's `RefMatcher`: `*` stands for any run of characters, `/` included; the whole name
/// must match; case-sensitive.
pub(crate) fn wildcard_matches(pattern: &str, name: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (pieces.first(), pieces.last()) else {
        return false;
    };
    if pieces.len() == 1 {
        return pattern == name;
    }
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let Some(mut rest) = name.get(first.len()..name.len() - last.len()) else {
        return false;
    };
    for middle in &pieces[1..pieces.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

fn setting<T>(value: T, sources: Vec<String>) -> Setting<T> {
    Setting { value, sources }
}

/// The picture from what was read. When several protected-branch entries match, GitLab lets
/// the most permissive one decide push and force-push, and the most restrictive one decide
/// code-owner approval (GitLab docs, "Protection rules and permissions").
fn merge(branch: &str, parts: Parts) -> BranchProtection {
    let matched = parts.matched.unwrap_or_default();
    let protected = !matched.is_empty();
    let labels: Vec<String> = matched.iter().map(Matched::label).collect();

    let force_push_blocked = setting(
        protected
            && matched
                .iter()
                .all(|m| m.rule.allow_force_push != Some(true)),
        matched
            .iter()
            .map(|m| {
                format!(
                    "{} (allow_force_push: {})",
                    m.label(),
                    m.rule.allow_force_push.unwrap_or(false)
                )
            })
            .collect(),
    );

    // Push "No one" (level 0) stops everyone, administrators included: GitLab's
    // ProtectedRefAccess refuses level 0 before it looks at the user. Any other level lets
    // someone push past the merge-request rules, and GitLab has no "include administrators"
    // switch, so the rules are then not binding on everyone.
    let admins_included = setting(
        protected
            && matched.iter().all(|m| {
                !m.rule.push_access_levels.is_empty()
                    && m.rule.push_access_levels.iter().all(|l| l.is_no_one())
            }),
        matched
            .iter()
            .map(|m| {
                let who: Vec<String> = m
                    .rule
                    .push_access_levels
                    .iter()
                    .map(|l| l.describe())
                    .collect();
                format!("{} (push: {})", m.label(), who.join(", "))
            })
            .collect(),
    );

    let code_owner_sources: Vec<String> = matched
        .iter()
        .filter(|m| m.rule.code_owner_approval_required == Some(true))
        .map(Matched::label)
        .collect();

    let pipeline = parts.project.only_allow_merge_if_pipeline_succeeds == Some(true);
    let required_status_checks = if pipeline {
        setting(
            vec!["pipeline".to_owned()],
            vec!["project settings (only_allow_merge_if_pipeline_succeeds: true)".to_owned()],
        )
    } else {
        setting(Vec::new(), Vec::new())
    };
    let linear_history = match parts.project.merge_method.as_deref() {
        Some(method) => setting(
            matches!(method, "ff" | "rebase_merge"),
            vec![format!("project settings (merge_method: {method})")],
        ),
        None => setting(false, Vec::new()),
    };

    let signed_commits_required = match &parts.push_rule {
        Some(None) => setting(false, vec!["push rule (never configured)".to_owned()]),
        Some(Some(rule)) => setting(
            rule.reject_unsigned_commits == Some(true),
            vec![format!(
                "push rule (reject_unsigned_commits: {})",
                rule.reject_unsigned_commits
                    .map_or("null".to_owned(), |b| b.to_string())
            )],
        ),
        None => setting(false, Vec::new()),
    };

    let mut required = 0;
    let mut required_sources = Vec::new();
    let mut dismiss_stale = setting(false, Vec::new());
    let mut last_push = setting(false, Vec::new());
    if let Some(s) = &parts.settings {
        if let Some(n) = s.approvals_before_merge.filter(|n| *n > 0) {
            required = n;
            required_sources.push(format!(
                "project approvals settings (approvals_before_merge: {n})"
            ));
        }
        dismiss_stale = setting(
            s.reset_approvals_on_push == Some(true),
            vec![format!(
                "project approvals settings (reset_approvals_on_push: {})",
                s.reset_approvals_on_push.unwrap_or(false)
            )],
        );
        last_push = setting(
            s.merge_requests_disable_committers_approval == Some(true),
            vec![format!(
                "project approvals settings (merge_requests_disable_committers_approval: {}, merge_requests_author_approval: {})",
                s.merge_requests_disable_committers_approval
                    .unwrap_or(false),
                s.merge_requests_author_approval
                    .map_or("null".to_owned(), |b| b.to_string())
            )],
        );
    }
    for rule in parts.approval_rules.iter().flatten() {
        if rule.approvals_required == 0 || !rule_applies(rule, branch, protected) {
            continue;
        }
        required = required.max(rule.approvals_required);
        required_sources.push(format!(
            "approval rule {} {:?} (approvals_required: {})",
            rule.id, rule.name, rule.approvals_required
        ));
    }

    BranchProtection {
        branch: branch.to_owned(),
        protected: setting(protected, labels.clone()),
        force_push_blocked,
        // Nobody can delete a protected branch with `git push`; only Maintainers through the
        // UI or API, which unprotects it first.
        deletion_blocked: setting(protected, labels),
        required_status_checks,
        linear_history,
        admins_included,
        signed_commits_required,
        required_approvals: setting(required, required_sources),
        code_owner_review_required: setting(!code_owner_sources.is_empty(), code_owner_sources),
        dismiss_stale_approvals: dismiss_stale,
        last_push_approval_required: last_push,
        unreadable: parts.unreadable,
    }
}

/// Whether an approval rule always requires its approvals for merge requests into `branch`.
/// Code-owner rules bind only when CODEOWNERS matches the changed files, and report-approver
/// rules only when a scan or coverage report triggers them, so neither counts as a standing
/// requirement.
fn rule_applies(rule: &ApprovalRule, branch: &str, protected: bool) -> bool {
    if !matches!(
        rule.rule_type.as_deref(),
        None | Some("regular") | Some("any_approver")
    ) {
        return false;
    }
    if rule.applies_to_all_protected_branches == Some(true) {
        return protected;
    }
    // A rule scoped to no branch applies to every branch.
    rule.protected_branches.is_empty()
        || rule
            .protected_branches
            .iter()
            .any(|b| b.name == branch || wildcard_matches(&b.name, branch))
}

/// Not a single part was readable: one indeterminate naming every request and the fix for the
/// most basic of them (protected branches).
fn nothing_readable(unreadable: Vec<Indeterminate>) -> Indeterminate {
    let first = unreadable.first().cloned();
    let reason = unreadable
        .iter()
        .map(|i| match i.http_status {
            Some(status) => format!("{}: HTTP {status} {}", i.source, i.reason),
            None => format!("{}: {}", i.source, i.reason),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let grants: Vec<String> =
        unreadable
            .iter()
            .map(|i| i.grant.clone())
            .fold(Vec::new(), |mut acc, grant| {
                if !acc.contains(&grant) {
                    acc.push(grant);
                }
                acc
            });
    Indeterminate {
        source: first
            .as_ref()
            .map_or_else(String::new, |i| i.source.clone()),
        http_status: first.and_then(|i| i.http_status),
        reason: format!("no protection setting could be read ({reason})"),
        grant: grants.join("; and for the rest: "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_gitlab() {
        assert!(wildcard_matches("release/*", "release/1.0"));
        assert!(wildcard_matches("release/*", "release/1.0/hotfix"));
        assert!(wildcard_matches("*-stable", "12-stable"));
        assert!(wildcard_matches("*", "anything/at/all"));
        assert!(wildcard_matches("v*.x*", "v1.x"));
        assert!(!wildcard_matches("release/*", "releases/1.0"));
        assert!(!wildcard_matches("release/*", "Release/1.0"));
        assert!(!wildcard_matches("a*a", "a"));
        assert!(!wildcard_matches("main", "main2"));
    }
}
