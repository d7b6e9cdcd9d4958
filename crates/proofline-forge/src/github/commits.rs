//! GitHub's own verdict on each commit's signature (`commit.verification` of
//! `GET /repos/{owner}/{repo}/commits/{ref}`), with the signature kind read from the armor GitHub
//! returns: it reports GPG, SSH and x509 signatures in the same object.

use serde::Deserialize;

use super::transport::Transport;
use super::{Repo, encode_path, grants, indeterminate};
use crate::ForgeError;
use crate::model::{ForgeCommit, ForgeSignature, Indeterminate, Observed};

/// Only the fields we read.
#[derive(Deserialize)]
struct CommitBody {
    commit: CommitInner,
}

#[derive(Deserialize)]
struct CommitInner {
    verification: Option<Verification>,
}

#[derive(Deserialize)]
struct Verification {
    verified: bool,
    reason: String,
    signature: Option<String>,
}

/// What GitHub says about one commit's signature.
pub(super) async fn commit(
    transport: &Transport,
    repo: &Repo,
    sha: &str,
) -> Result<ForgeCommit, ForgeError> {
    let path = repo.path(&format!("/commits/{}", encode_path(sha, false)));
    let signature = match transport.get_json::<CommitBody>(&path).await? {
        Ok(body) => match body.commit.verification {
            Some(verification) => Observed::known(signature(verification), format!("GET {path}")),
            None => Observed::Indeterminate(Indeterminate {
                source: format!("GET {path}"),
                http_status: Some(200),
                reason: "GitHub's answer has no commit.verification".to_owned(),
                grant: "a GitHub (Enterprise Server) version that reports commit signature verification".to_owned(),
            }),
        },
        Err(failure) => {
            let grant = match failure.status {
                Some(422) => format!(
                    "GitHub does not know this commit: push it to {} first",
                    repo.full_name()
                ),
                _ => grants::CONTENTS.to_owned(),
            };
            Observed::Indeterminate(indeterminate(&failure, &grant))
        }
    };
    Ok(ForgeCommit {
        sha: sha.to_owned(),
        signature,
    })
}

fn signature(verification: Verification) -> ForgeSignature {
    ForgeSignature {
        verified: verification.verified,
        kind: verification.signature.as_deref().and_then(armor_kind),
        reason: verification.reason,
        signer: None,
        key: None,
    }
}

/// `gpg`, `ssh` or `x509` from the armor's first line (`-----BEGIN PGP SIGNATURE-----`,
/// `-----BEGIN SSH SIGNATURE-----`, `-----BEGIN SIGNED MESSAGE-----` as gitsign and S/MIME
/// write it); `None` for no signature or an armor we do not know.
pub(super) fn armor_kind(signature: &str) -> Option<String> {
    let first = signature.lines().map(str::trim).find(|l| !l.is_empty())?;
    let label = first
        .strip_prefix("-----BEGIN ")?
        .strip_suffix("-----")?
        .trim();
    let kind = match label {
        "PGP SIGNATURE" | "PGP MESSAGE" => "gpg",
        "SSH SIGNATURE" => "ssh",
        "SIGNED MESSAGE" | "PKCS7" | "CMS" => "x509",
        _ => return None,
    };
    Some(kind.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn armor_names_the_kind() {
        assert_eq!(
            armor_kind("-----BEGIN PGP SIGNATURE-----\n\nwsFc\n-----END PGP SIGNATURE-----")
                .as_deref(),
            Some("gpg")
        );
        assert_eq!(
            armor_kind("-----BEGIN SSH SIGNATURE-----\nU1NI\n").as_deref(),
            Some("ssh")
        );
        assert_eq!(
            armor_kind("\n-----BEGIN SIGNED MESSAGE-----\nMIIE\n").as_deref(),
            Some("x509")
        );
        assert_eq!(armor_kind(""), None);
        assert_eq!(armor_kind("-----BEGIN SOMETHING ELSE-----"), None);
    }
}
