//! A branch's protection as GitHub enforces it: classic branch protection and the active rulesets
//! merged into one picture (most restrictive wins, each setting naming its sources), with what the
//! token could not read kept as `unreadable`, never taken for "not protected".

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::transport::{FORGE, Failure, Transport};
use super::{Repo, encode_path, grants, indeterminate};
use crate::ForgeError;
use crate::model::{BranchProtection, Indeterminate, Observed, Setting};

/// The source name of classic branch protection in `Setting::sources`.
const CLASSIC: &str = "classic protection";

/// `GET …/branches/{branch}/protection`, only the fields we read.
#[derive(Deserialize)]
struct Classic {
    required_status_checks: Option<ClassicStatusChecks>,
    enforce_admins: Option<Enabled>,
    required_pull_request_reviews: Option<ClassicReviews>,
    required_signatures: Option<Enabled>,
    required_linear_history: Option<Enabled>,
    allow_force_pushes: Option<Enabled>,
    allow_deletions: Option<Enabled>,
}

#[derive(Deserialize)]
struct Enabled {
    enabled: bool,
}

#[derive(Deserialize)]
struct ClassicStatusChecks {
    #[serde(default)]
    contexts: Vec<String>,
    #[serde(default)]
    checks: Vec<StatusCheck>,
}

#[derive(Deserialize)]
struct StatusCheck {
    context: String,
}

#[derive(Deserialize)]
struct ClassicReviews {
    #[serde(default)]
    required_approving_review_count: u32,
    #[serde(default)]
    require_code_owner_reviews: bool,
    #[serde(default)]
    dismiss_stale_reviews: bool,
    #[serde(default)]
    require_last_push_approval: bool,
}

/// One item of `GET …/rules/branches/{branch}`: an active rule and the ruleset it comes from.
#[derive(Deserialize)]
struct Rule {
    #[serde(rename = "type")]
    kind: String,
    ruleset_source: Option<String>,
    ruleset_id: Option<u64>,
    parameters: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct PullRequestParameters {
    #[serde(default)]
    required_approving_review_count: u32,
    #[serde(default)]
    require_code_owner_review: bool,
    #[serde(default)]
    dismiss_stale_reviews_on_push: bool,
    #[serde(default)]
    require_last_push_approval: bool,
}

#[derive(Deserialize)]
struct StatusCheckParameters {
    #[serde(default)]
    required_status_checks: Vec<StatusCheck>,
}

/// `GET …/rulesets/{id}`: `bypass_actors` is absent unless the token may write the ruleset.
#[derive(Deserialize)]
struct RulesetDetail {
    bypass_actors: Option<Vec<serde_json::Value>>,
}

/// What one source (classic protection or one ruleset) says; `None` = says nothing about it.
#[derive(Default)]
struct Contribution {
    source: String,
    force_push_blocked: Option<bool>,
    deletion_blocked: Option<bool>,
    status_checks: Option<Vec<String>>,
    linear_history: Option<bool>,
    /// `Some(None)`: this source protects, but whether admins can bypass it is unknown.
    admins_included: Option<Option<bool>>,
    signed_commits: Option<bool>,
    approvals: Option<u32>,
    code_owner_review: Option<bool>,
    dismiss_stale: Option<bool>,
    last_push: Option<bool>,
}

/// Classic protection: present, known absent (404 `Branch not protected`), or unreadable.
enum ClassicState {
    Present(Classic),
    Absent,
    Unreadable(Indeterminate),
}

/// The merged protection of `branch`.
pub(super) async fn protection(
    transport: &Transport,
    repo: &Repo,
    branch: &str,
) -> Result<Observed<BranchProtection>, ForgeError> {
    let branch_path = encode_path(branch, true);
    let classic_path = repo.path(&format!("/branches/{branch_path}/protection"));
    let rules_path = repo.path(&format!("/rules/branches/{branch_path}"));

    let classic = match transport.get_json::<Classic>(&classic_path).await? {
        Ok(classic) => ClassicState::Present(classic),
        Err(failure) if is_branch_not_protected(&failure) => ClassicState::Absent,
        Err(failure) => ClassicState::Unreadable(classic_indeterminate(&failure)),
    };
    let rules = transport
        .get_all::<Rule>(&rules_path)
        .await?
        .map_err(|failure| indeterminate(&failure, grants::RULES));

    let mut read = Vec::new();
    let mut unreadable = Vec::new();
    let mut contributions = Vec::new();
    match classic {
        ClassicState::Present(classic) => {
            read.push(format!("GET {classic_path}"));
            contributions.push(classic_contribution(&classic));
        }
        ClassicState::Absent => read.push(format!("GET {classic_path}")),
        ClassicState::Unreadable(why) => unreadable.push(why),
    }
    match rules {
        Ok(rules) => {
            read.push(format!("GET {rules_path}"));
            for (id, mut contribution) in ruleset_contributions(&rules, &rules_path)? {
                let detail_path = repo.path(&format!("/rulesets/{id}"));
                let (answered, binds_admins) =
                    binds_admins(transport, &detail_path, &contribution.source).await?;
                if answered {
                    read.push(format!("GET {detail_path}"));
                }
                match binds_admins {
                    Ok(binds) => contribution.admins_included = Some(Some(binds)),
                    Err(why) => unreadable.push(why),
                }
                contributions.push(contribution);
            }
        }
        Err(why) => unreadable.push(why),
    }

    if read.is_empty() {
        return Ok(Observed::Indeterminate(combine(unreadable)));
    }
    Ok(Observed::known(
        merge(branch, &contributions, unreadable),
        read.join(", "),
    ))
}

/// Whether a ruleset binds administrators too (it has no bypass actors), from
/// `GET …/rulesets/{id}`; the bool says whether GitHub answered 200. GitHub omits `bypass_actors`
/// for a token without write access to the ruleset: then it is unknown, never guessed.
async fn binds_admins(
    transport: &Transport,
    detail_path: &str,
    ruleset: &str,
) -> Result<(bool, Result<bool, Indeterminate>), ForgeError> {
    let unknown = format!(
        "the bypass actors of {ruleset} are unknown, so whether administrators are subject to it is too"
    );
    Ok(
        match transport.get_json::<RulesetDetail>(detail_path).await? {
            Ok(RulesetDetail {
                bypass_actors: Some(actors),
            }) => (true, Ok(actors.is_empty())),
            Ok(RulesetDetail {
                bypass_actors: None,
            }) => (
                true,
                Err(Indeterminate {
                    source: format!("GET {detail_path}"),
                    http_status: Some(200),
                    reason: format!("GitHub did not return bypass_actors: {unknown}"),
                    grant: grants::RULESET_BYPASS.to_owned(),
                }),
            ),
            Err(failure) => {
                let why = indeterminate(&failure, grants::RULES);
                (
                    false,
                    Err(Indeterminate {
                        reason: format!("{}: {unknown}", why.reason),
                        ..why
                    }),
                )
            }
        },
    )
}

/// GitHub's answer for a branch without classic protection (old and current error formats share
/// the message; only `documentation_url` and the `status` field differ).
fn is_branch_not_protected(failure: &Failure) -> bool {
    failure.answered(404)
        && failure
            .message
            .trim()
            .eq_ignore_ascii_case("Branch not protected")
}

/// 403 (`Resource not accessible by integration`, `Must have admin rights to Repository.`) and
/// the ambiguous 404 `Not Found`: classic protection is unknown, with the permission that reads it.
fn classic_indeterminate(failure: &Failure) -> Indeterminate {
    let grant = if failure.status == Some(404) {
        grants::CLASSIC_PROTECTION_NOT_FOUND
    } else {
        grants::CLASSIC_PROTECTION
    };
    indeterminate(failure, grant)
}

/// Both parts unreadable: one indeterminate naming every request, reason and fix.
fn combine(parts: Vec<Indeterminate>) -> Indeterminate {
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else {
        return Indeterminate {
            source: "no request".to_owned(),
            http_status: None,
            reason: "nothing was read".to_owned(),
            grant: grants::CLASSIC_PROTECTION.to_owned(),
        };
    };
    parts.fold(first, |mut all, part| {
        all.source = format!("{}; {}", all.source, part.source);
        all.reason = format!("{}; {}", all.reason, part.reason);
        if all.grant != part.grant {
            all.grant = format!("{}; and {}", all.grant, part.grant);
        }
        all
    })
}

fn classic_contribution(classic: &Classic) -> Contribution {
    let mut checks = Vec::new();
    if let Some(status) = &classic.required_status_checks {
        for context in status
            .contexts
            .iter()
            .chain(status.checks.iter().map(|c| &c.context))
        {
            push_unique(&mut checks, context);
        }
    }
    let reviews = classic.required_pull_request_reviews.as_ref();
    Contribution {
        source: CLASSIC.to_owned(),
        force_push_blocked: classic.allow_force_pushes.as_ref().map(|e| !e.enabled),
        deletion_blocked: classic.allow_deletions.as_ref().map(|e| !e.enabled),
        status_checks: Some(checks),
        linear_history: classic.required_linear_history.as_ref().map(|e| e.enabled),
        admins_included: Some(classic.enforce_admins.as_ref().map(|e| e.enabled)),
        signed_commits: classic.required_signatures.as_ref().map(|e| e.enabled),
        approvals: Some(reviews.map_or(0, |r| r.required_approving_review_count)),
        code_owner_review: Some(reviews.is_some_and(|r| r.require_code_owner_reviews)),
        dismiss_stale: Some(reviews.is_some_and(|r| r.dismiss_stale_reviews)),
        last_push: Some(reviews.is_some_and(|r| r.require_last_push_approval)),
    }
}

/// One contribution per ruleset, in the order rules name them, with the ruleset id. Admins are
/// unknown until the ruleset's bypass actors are read.
fn ruleset_contributions(
    rules: &[Rule],
    request: &str,
) -> Result<Vec<(u64, Contribution)>, ForgeError> {
    let mut rulesets: Vec<(u64, Contribution)> = Vec::new();
    for rule in rules {
        let id = rule.ruleset_id.unwrap_or(0);
        let index = match rulesets.iter().position(|(known, _)| *known == id) {
            Some(index) => index,
            None => {
                let source = rule.ruleset_source.as_deref().unwrap_or("unknown source");
                rulesets.push((
                    id,
                    Contribution {
                        source: format!("ruleset {id} ({source})"),
                        admins_included: Some(None),
                        ..Contribution::default()
                    },
                ));
                rulesets.len() - 1
            }
        };
        let contribution = &mut rulesets[index].1;
        match rule.kind.as_str() {
            "deletion" => contribution.deletion_blocked = Some(true),
            "non_fast_forward" => contribution.force_push_blocked = Some(true),
            "required_linear_history" => contribution.linear_history = Some(true),
            "required_signatures" => contribution.signed_commits = Some(true),
            "pull_request" => {
                let p: PullRequestParameters = parameters(rule, request)?;
                contribution.approvals = Some(
                    contribution
                        .approvals
                        .unwrap_or(0)
                        .max(p.required_approving_review_count),
                );
                contribution.code_owner_review = Some(
                    contribution.code_owner_review == Some(true) || p.require_code_owner_review,
                );
                contribution.dismiss_stale = Some(
                    contribution.dismiss_stale == Some(true) || p.dismiss_stale_reviews_on_push,
                );
                contribution.last_push =
                    Some(contribution.last_push == Some(true) || p.require_last_push_approval);
            }
            "required_status_checks" => {
                let p: StatusCheckParameters = parameters(rule, request)?;
                let checks = contribution.status_checks.get_or_insert_with(Vec::new);
                for check in &p.required_status_checks {
                    push_unique(checks, &check.context);
                }
            }
            // Other rule types (commit message patterns, file paths, …) protect the branch but
            // set nothing this model records.
            _ => {}
        }
    }
    Ok(rulesets)
}

fn parameters<T: DeserializeOwned>(rule: &Rule, request: &str) -> Result<T, ForgeError> {
    let value = rule
        .parameters
        .clone()
        .unwrap_or(serde_json::Value::Object(serde_json::Map::new()));
    serde_json::from_value(value).map_err(|e| ForgeError::UnreadableResponse {
        forge: FORGE,
        request: request.to_owned(),
        reason: format!("the parameters of a {} rule: {e}", rule.kind),
    })
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|known| known == item) {
        list.push(item.to_owned());
    }
}

/// Merges the contributions: for each setting the most restrictive value wins and `sources` names
/// the sources that set that value. Administrators are included only when every source that
/// protects the branch includes them (an admin can bypass whichever one does not); when any
/// source's bypass actors are unknown the value is `false` (not claimed) and the reason is in
/// `unreadable`.
fn merge(
    branch: &str,
    contributions: &[Contribution],
    unreadable: Vec<Indeterminate>,
) -> BranchProtection {
    let protected = Setting {
        value: !contributions.is_empty(),
        sources: contributions.iter().map(|c| c.source.clone()).collect(),
    };
    BranchProtection {
        branch: branch.to_owned(),
        protected,
        force_push_blocked: any(contributions, |c| c.force_push_blocked),
        deletion_blocked: any(contributions, |c| c.deletion_blocked),
        required_status_checks: union(contributions),
        linear_history: any(contributions, |c| c.linear_history),
        admins_included: admins(contributions),
        signed_commits_required: any(contributions, |c| c.signed_commits),
        required_approvals: max(contributions),
        code_owner_review_required: any(contributions, |c| c.code_owner_review),
        dismiss_stale_approvals: any(contributions, |c| c.dismiss_stale),
        last_push_approval_required: any(contributions, |c| c.last_push),
        unreadable,
    }
}

fn sources_with<T: PartialEq>(
    contributions: &[Contribution],
    get: impl Fn(&Contribution) -> Option<T>,
    value: &T,
) -> Vec<String> {
    contributions
        .iter()
        .filter(|c| get(c).as_ref() == Some(value))
        .map(|c| c.source.clone())
        .collect()
}

fn any(
    contributions: &[Contribution],
    get: impl Fn(&Contribution) -> Option<bool>,
) -> Setting<bool> {
    let value = contributions.iter().any(|c| get(c) == Some(true));
    Setting {
        sources: sources_with(contributions, &get, &value),
        value,
    }
}

fn max(contributions: &[Contribution]) -> Setting<u32> {
    let value = contributions
        .iter()
        .filter_map(|c| c.approvals)
        .max()
        .unwrap_or(0);
    Setting {
        sources: sources_with(contributions, |c| c.approvals, &value),
        value,
    }
}

fn union(contributions: &[Contribution]) -> Setting<Vec<String>> {
    let mut value = Vec::new();
    let mut sources = Vec::new();
    for c in contributions {
        if let Some(checks) = c.status_checks.as_ref().filter(|l| !l.is_empty()) {
            sources.push(c.source.clone());
            for check in checks {
                push_unique(&mut value, check);
            }
        }
    }
    if value.is_empty() {
        sources = contributions
            .iter()
            .filter(|c| c.status_checks.is_some())
            .map(|c| c.source.clone())
            .collect();
    }
    Setting { value, sources }
}

fn admins(contributions: &[Contribution]) -> Setting<bool> {
    let states: Vec<(&str, Option<bool>)> = contributions
        .iter()
        .filter_map(|c| c.admins_included.map(|state| (c.source.as_str(), state)))
        .collect();
    let all_known = states.iter().all(|(_, state)| state.is_some());
    let value = !states.is_empty() && all_known && states.iter().all(|(_, s)| *s == Some(true));
    let sources = states
        .iter()
        .filter(|(_, state)| *state == Some(value))
        .map(|(source, _)| (*source).to_owned())
        .collect();
    Setting { value, sources }
}
