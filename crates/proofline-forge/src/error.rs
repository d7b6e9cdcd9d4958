//! Operational failures of a forge client: the run cannot go on (bad URL, rejected token,
//! unreachable host). Facts the token merely cannot see are `Indeterminate`, not errors.

/// An error that stops the forge checks (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error(
        "the {forge} API URL {url:?} is not valid: {reason}; pass a URL like https://api.github.com or https://gitlab.example.com/api/v4"
    )]
    InvalidApiUrl {
        forge: &'static str,
        url: String,
        reason: String,
    },
    #[error(
        "{forge} rejected the token (HTTP 401 on {request}): {message}. Check that {variable} holds a valid, unexpired token"
    )]
    BadCredentials {
        forge: &'static str,
        request: String,
        message: String,
        variable: String,
    },
    #[error(
        "could not reach {forge} at {host} ({request}): {reason}. Check the API URL and the runner's network"
    )]
    Unreachable {
        forge: &'static str,
        host: String,
        request: String,
        reason: String,
    },
    #[error("{forge} answered {request} with a body we could not read: {reason}")]
    UnreadableResponse {
        forge: &'static str,
        request: String,
        reason: String,
    },
    #[error("the repository {repository:?} is not a valid {forge} {what}; {fix}")]
    InvalidRepository {
        forge: &'static str,
        repository: String,
        what: &'static str,
        fix: &'static str,
    },
}
