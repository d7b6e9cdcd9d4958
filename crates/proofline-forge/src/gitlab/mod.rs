//! GitLab through reqwest: commit signatures, protected branches, push rules and approvals.

mod access;
mod http;
mod protection;
mod review;
mod signature;
mod wire;

use proofline_ci::Secret;

use crate::{ForgeError, ForgeKind, ForgeQuery, ForgeView, RetryPolicy};

use self::http::{FORGE, Http};

/// How requests authenticate. `Debug` shows `Secret(***)`, never the token.
#[derive(Debug, Clone)]
pub enum GitLabAuth {
    /// Anonymous: public projects only.
    None,
    /// `PRIVATE-TOKEN:` a personal, project or group access token (`GITLAB_TOKEN`).
    PrivateToken(Secret),
    /// `JOB-TOKEN:` the job's `CI_JOB_TOKEN`. GitLab accepts it on few endpoints; the facts it
    /// cannot read come back indeterminate with that explanation.
    JobToken(Secret),
}

/// A GitLab REST v4 client that reads what the source stage needs.
#[derive(Debug)]
pub struct GitLabClient {
    http: Http,
}

impl GitLabClient {
    /// `api_url` is the REST base, e.g. `https://gitlab.example.com/api/v4` (`CI_API_V4_URL`).
    pub fn new(api_url: &str, auth: GitLabAuth, retry: RetryPolicy) -> Result<Self, ForgeError> {
        Ok(Self {
            http: Http::new(api_url, auth, retry)?,
        })
    }

    /// Everything GitLab says about `query`: each commit's signature, the branch's protection,
    /// the merge request's approvals. Facts the token cannot see are `Indeterminate`; `Err` only
    /// when the work cannot be done (bad URL, rejected token, unreachable host, unreadable body).
    pub async fn view(&self, query: &ForgeQuery) -> Result<ForgeView, ForgeError> {
        let project = project_path(&query.repository)?;
        let mut commits = Vec::with_capacity(query.commits.len());
        for sha in &query.commits {
            commits.push(signature::commit(&self.http, &project, sha).await?);
        }
        let protection = match &query.branch {
            Some(branch) => Some(protection::read(&self.http, &project, branch).await?),
            None => None,
        };
        let review = match query.change_request {
            Some(iid) => Some(review::read(&self.http, &project, iid).await?),
            None => None,
        };
        Ok(ForgeView {
            forge: ForgeKind::GitLab,
            api_url: self.http.base().to_owned(),
            repository: query.repository.clone(),
            commits,
            protection,
            review,
            // GitLab has no API that reports CODEOWNERS syntax errors (GitHub's
            // `codeowners/errors` has no GitLab counterpart).
            codeowners: None,
        })
    }
}

/// `/projects/<id>`: a numeric id as is, a path URL-encoded (`group%2Fsub%2Fproject`).
fn project_path(repository: &str) -> Result<String, ForgeError> {
    let repository = repository.trim();
    let numeric = !repository.is_empty() && repository.bytes().all(|b| b.is_ascii_digit());
    let path_like = repository.contains('/')
        && repository.split('/').all(|segment| {
            !segment.is_empty() && segment != "." && segment != ".." && !segment.contains(' ')
        });
    if !numeric && !path_like {
        return Err(ForgeError::InvalidRepository {
            forge: FORGE,
            repository: repository.to_owned(),
            what: "project path or id",
            fix: "pass the full path group/subgroup/project (CI_PROJECT_PATH) or the numeric project id (CI_PROJECT_ID)",
        });
    }
    Ok(format!("/projects/{}", encode(repository)))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so `/` becomes `%2F` as
/// GitLab requires for project paths and branch names in a path segment.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn project_paths_are_encoded_and_ids_kept() {
        assert_eq!(
            project_path("group/sub/project").unwrap(),
            "/projects/group%2Fsub%2Fproject"
        );
        assert_eq!(project_path("42").unwrap(), "/projects/42");
        for bad in ["", "project", "group//p", "../x", "a/ b"] {
            assert!(project_path(bad).is_err(), "{bad:?}");
        }
        assert_eq!(encode("release/1.0 ü"), "release%2F1.0%20%C3%BC");
    }
}
