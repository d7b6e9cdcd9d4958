//! A pull request's review state (each reviewer's latest effective review, tied to the commit it
//! was given on) and GitHub's CODEOWNERS errors.

use serde::Deserialize;

use super::transport::Transport;
use super::{Repo, encode_query, grants, indeterminate};
use crate::ForgeError;
use crate::model::{Approval, Codeowners, Observed, Review};

#[derive(Deserialize)]
struct Login {
    login: String,
}

#[derive(Deserialize)]
struct Pull {
    user: Option<Login>,
    head: Head,
}

#[derive(Deserialize)]
struct Head {
    sha: String,
}

/// One item of `GET …/pulls/{n}/reviews` (chronological).
#[derive(Deserialize)]
pub(super) struct ReviewItem {
    /// `null` for a deleted account.
    user: Option<Login>,
    state: String,
    commit_id: Option<String>,
}

/// The review state of pull request `number`.
pub(super) async fn review(
    transport: &Transport,
    repo: &Repo,
    number: u64,
) -> Result<Observed<Review>, ForgeError> {
    let pull_path = repo.path(&format!("/pulls/{number}"));
    let pull = match transport.get_json::<Pull>(&pull_path).await? {
        Ok(pull) => pull,
        Err(failure) => {
            return Ok(Observed::Indeterminate(indeterminate(
                &failure,
                grants::PULL_REQUESTS,
            )));
        }
    };
    let reviews_path = repo.path(&format!("/pulls/{number}/reviews"));
    let reviews = match transport.get_all::<ReviewItem>(&reviews_path).await? {
        Ok(reviews) => reviews,
        Err(failure) => {
            return Ok(Observed::Indeterminate(indeterminate(
                &failure,
                grants::PULL_REQUESTS,
            )));
        }
    };
    let (approvals, changes_requested) = effective_reviews(&reviews, &pull.head.sha);
    Ok(Observed::known(
        Review {
            number,
            author: pull.user.map(|u| u.login),
            head_sha: Some(pull.head.sha),
            approvals,
            changes_requested,
            code_owner_approved: None,
            unreadable: Vec::new(),
        },
        format!("GET {pull_path}, GET {reviews_path}"),
    ))
}

/// A reviewer's standing after their reviews so far.
enum Standing {
    Approved(Option<String>),
    ChangesRequested,
    None,
}

/// Each reviewer's latest effective review, in the order reviewers first appear: `APPROVED`
/// approves (on its `commit_id`); a later `CHANGES_REQUESTED` replaces it; `DISMISSED` (GitHub
/// rewrites a dismissed review's state in place) cancels whatever stood; `COMMENTED` and
/// `PENDING` change nothing.
pub(super) fn effective_reviews(
    reviews: &[ReviewItem],
    head_sha: &str,
) -> (Vec<Approval>, Vec<String>) {
    let mut standings: Vec<(String, Standing)> = Vec::new();
    for item in reviews {
        let Some(user) = &item.user else { continue };
        let next = match item.state.as_str() {
            "APPROVED" => Standing::Approved(item.commit_id.clone()),
            "CHANGES_REQUESTED" => Standing::ChangesRequested,
            "DISMISSED" => Standing::None,
            _ => continue,
        };
        match standings.iter_mut().find(|(login, _)| *login == user.login) {
            Some((_, standing)) => *standing = next,
            None => standings.push((user.login.clone(), next)),
        }
    }
    let mut approvals = Vec::new();
    let mut changes_requested = Vec::new();
    for (user, standing) in standings {
        match standing {
            Standing::Approved(commit) => approvals.push(Approval {
                on_head: commit.as_deref() == Some(head_sha),
                user,
                commit,
            }),
            Standing::ChangesRequested => changes_requested.push(user),
            Standing::None => {}
        }
    }
    (approvals, changes_requested)
}

#[derive(Deserialize)]
struct CodeownersErrors {
    errors: Vec<CodeownersError>,
}

#[derive(Deserialize)]
struct CodeownersError {
    line: Option<u64>,
    kind: Option<String>,
    source: Option<String>,
    suggestion: Option<String>,
    message: Option<String>,
    path: Option<String>,
}

impl CodeownersError {
    /// `.github/CODEOWNERS line 3: Invalid pattern: `***/*.rb @monalisa` (Did you mean …?)`.
    fn describe(&self) -> String {
        let mut text = self.path.clone().unwrap_or_else(|| "CODEOWNERS".to_owned());
        if let Some(line) = self.line {
            text.push_str(&format!(" line {line}"));
        }
        text.push_str(": ");
        text.push_str(self.kind.as_deref().unwrap_or("error"));
        match (&self.source, &self.message) {
            (Some(source), _) => text.push_str(&format!(": `{}`", source.trim())),
            (None, Some(message)) => {
                text.push_str(": ");
                text.push_str(message.lines().next().unwrap_or_default().trim());
            }
            (None, None) => {}
        }
        if let Some(suggestion) = &self.suggestion {
            text.push_str(&format!(" ({})", suggestion.trim()));
        }
        text
    }
}

/// The text recorded when the repository has no CODEOWNERS file.
pub(super) const NO_CODEOWNERS: &str = "no CODEOWNERS file: GitHub answered 404 Not Found (it gives the same answer to a token that cannot see the repository)";

/// GitHub's CODEOWNERS errors for `branch` (the default branch when `None`). A 404 is recorded as
/// a known error "no CODEOWNERS file": code-owner review cannot be satisfied without one, so the
/// absence is a finding, never a pass, whichever of its two meanings the 404 has.
pub(super) async fn codeowners(
    transport: &Transport,
    repo: &Repo,
    branch: Option<&str>,
) -> Result<Observed<Codeowners>, ForgeError> {
    let path = repo.path("/codeowners/errors");
    let query = match branch {
        Some(branch) => format!("{path}?ref={}", encode_query(branch)),
        None => path.clone(),
    };
    Ok(
        match transport.get_json::<CodeownersErrors>(&query).await? {
            Ok(body) => Observed::known(
                Codeowners {
                    errors: body.errors.iter().map(CodeownersError::describe).collect(),
                },
                format!("GET {path}"),
            ),
            Err(failure) if failure.answered(404) => Observed::known(
                Codeowners {
                    errors: vec![NO_CODEOWNERS.to_owned()],
                },
                format!("GET {path}"),
            ),
            Err(failure) => Observed::Indeterminate(indeterminate(&failure, grants::CONTENTS)),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(user: &str, state: &str, commit: &str) -> ReviewItem {
        ReviewItem {
            user: Some(Login {
                login: user.to_owned(),
            }),
            state: state.to_owned(),
            commit_id: Some(commit.to_owned()),
        }
    }

    #[test]
    fn later_reviews_replace_earlier_ones_and_comments_do_not() {
        let reviews = [
            item("a", "APPROVED", "old"),
            item("b", "APPROVED", "head"),
            item("b", "CHANGES_REQUESTED", "head"),
            item("c", "CHANGES_REQUESTED", "old"),
            item("c", "APPROVED", "head"),
            item("c", "COMMENTED", "head"),
            item("d", "APPROVED", "head"),
            item("d", "DISMISSED", "head"),
        ];
        let (approvals, changes) = effective_reviews(&reviews, "head");
        assert_eq!(
            approvals,
            vec![
                Approval {
                    user: "a".into(),
                    commit: Some("old".into()),
                    on_head: false
                },
                Approval {
                    user: "c".into(),
                    commit: Some("head".into()),
                    on_head: true
                },
            ]
        );
        assert_eq!(changes, vec!["b".to_owned()]);
    }
}
