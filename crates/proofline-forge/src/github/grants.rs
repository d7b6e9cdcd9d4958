//! The fix to name when GitHub would not tell us something: the exact permission each endpoint
//! needs, in one place so every `Indeterminate` says the same thing.
//!
//! Permission names are those of GitHub's "Permissions required for fine-grained personal access
//! tokens" (docs.github.com/en/rest/authentication/permissions-required-for-fine-grained-personal-access-tokens,
//! data file github/docs `src/github-apps/data/fpt-2022-11-28/fine-grained-pat-permissions.json`):
//! - Repository "Administration" (read): `GET /repos/{owner}/{repo}/branches/{branch}/protection`
//!   (slug `get-branch-protection`). `administration` is not a key of a workflow's `permissions:`,
//!   so the Actions `GITHUB_TOKEN` never has it and gets 403 `Resource not accessible by integration`.
//! - Repository "Metadata" (read): `GET /repos/{owner}/{repo}/rules/branches/{branch}`
//!   (`get-rules-for-a-branch`) and `GET /repos/{owner}/{repo}/rulesets…`.
//! - Repository "Contents" (read): `GET /repos/{owner}/{repo}/commits/{ref}` (`get-a-commit`),
//!   `GET /repos/{owner}/{repo}/codeowners/errors` (`list-codeowners-errors`).
//! - Repository "Pull requests" (read): `GET /repos/{owner}/{repo}/pulls/{pull_number}` and
//!   `…/reviews` (`list-reviews-for-a-pull-request`).
//!
//! "Get a repository ruleset" (docs.github.com/en/rest/repos/rules): "To prevent leaking
//! sensitive information, the bypass_actors property is only returned if the user making the API
//! request has write access to the ruleset."

/// Reading classic branch protection.
pub(super) const CLASSIC_PROTECTION: &str = "a fine-grained personal access token or GitHub App token with the repository permission \"Administration: read\", or a classic personal access token with the \"repo\" scope of a repository admin; the workflow's GITHUB_TOKEN can never have this permission";

/// Reading classic branch protection after an ambiguous 404 `Not Found`.
pub(super) const CLASSIC_PROTECTION_NOT_FOUND: &str = "a fine-grained personal access token or GitHub App token with the repository permission \"Administration: read\", or a classic personal access token with the \"repo\" scope of a repository admin (the workflow's GITHUB_TOKEN can never have this permission); GitHub also answers 404 Not Found when the token cannot see the repository or the branch does not exist";

/// Reading the rules that apply to a branch (rulesets).
pub(super) const RULES: &str = "a token with the repository permission \"Metadata: read\" (every GitHub App, fine-grained token and GITHUB_TOKEN has it); a 404 can also mean the token cannot see the repository, or a GitHub Enterprise Server without rulesets";

/// Reading a ruleset's bypass actors.
pub(super) const RULESET_BYPASS: &str = "a token with write access to the ruleset (a repository admin, or \"Administration: write\"); GitHub returns a ruleset's bypass_actors only to such a token";

/// Reading a commit (and GitHub's verification of its signature).
pub(super) const CONTENTS: &str = "a token with the repository permission \"Contents: read\" (GITHUB_TOKEN: `permissions: contents: read`); a 404 can also mean the token cannot see the repository";

/// Reading a pull request and its reviews.
pub(super) const PULL_REQUESTS: &str = "a token with the repository permission \"Pull requests: read\" (GITHUB_TOKEN: `permissions: pull-requests: read`); a 404 can also mean the pull request does not exist or the token cannot see the repository";

/// After we stopped retrying: nothing to grant.
pub(super) fn retry_later(why: &str) -> String {
    format!("nothing to grant: {why}; run again later")
}

/// A list longer than we read.
pub(super) fn too_long() -> String {
    format!(
        "nothing to grant: the list is longer than the {} items we read, so it was not judged",
        super::transport::MAX_PAGES * super::transport::PER_PAGE
    )
}
