//! Our own verdict on every commit of a plan: the signature checked against the trust stores the
//! user gave (OpenPGP keys, SSH allowed_signers, x509 roots), whatever the forge thinks.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::commits::CommitInfo;
use crate::signature::allowed_signers::{AllowedSigners, AllowedSignersError};
use crate::signature::pgp::{PgpKeysError, PgpTrustStore, verify_pgp};
use crate::signature::ssh::verify_ssh;
use crate::signature::x509::{X509Error, X509TrustStore, verify_x509};
use crate::signature::{SignatureKind, SignatureStatus, Verdict};

/// A trust store could not be loaded (exit 2: the user's input is wrong).
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(transparent)]
    Pgp(#[from] PgpKeysError),
    #[error(transparent)]
    Ssh(#[from] AllowedSignersError),
    #[error("cannot load the x509 roots {path}: {source}")]
    X509 { path: PathBuf, source: X509Error },
}

/// Every trust store of a run; an absent one trusts nothing of its kind.
#[derive(Debug, Default)]
pub struct TrustStores {
    pub pgp: PgpTrustStore,
    pub ssh: AllowedSigners,
    pub x509: Option<X509TrustStore>,
    /// What was loaded, for the record.
    pub sources: TrustSources,
}

/// Where the trust came from, recorded in `source.json`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustSources {
    pub gpg_keys: Option<PathBuf>,
    /// Fingerprints of the OpenPGP certificates loaded.
    pub gpg_fingerprints: Vec<String>,
    pub allowed_signers: Option<PathBuf>,
    pub allowed_signers_entries: usize,
    pub x509_roots: Option<PathBuf>,
    pub x509_root_subjects: Vec<String>,
}

impl TrustStores {
    /// Loads the stores that were given.
    pub fn load(
        gpg_keys: Option<&Path>,
        allowed_signers: Option<&Path>,
        x509_roots: Option<&Path>,
    ) -> Result<Self, TrustError> {
        let mut stores = Self::default();
        if let Some(path) = gpg_keys {
            stores.pgp = PgpTrustStore::load(path)?;
            stores.sources.gpg_keys = Some(path.to_path_buf());
            stores.sources.gpg_fingerprints = stores.pgp.fingerprints();
        }
        if let Some(path) = allowed_signers {
            stores.ssh = AllowedSigners::load(path)?;
            stores.sources.allowed_signers = Some(path.to_path_buf());
            stores.sources.allowed_signers_entries = stores.ssh.entries().len();
        }
        if let Some(path) = x509_roots {
            let roots = X509TrustStore::load(path).map_err(|source| TrustError::X509 {
                path: path.to_path_buf(),
                source,
            })?;
            stores.sources.x509_roots = Some(path.to_path_buf());
            stores.sources.x509_root_subjects = roots.subjects();
            stores.x509 = Some(roots);
        }
        Ok(stores)
    }

    /// No store at all was given: nothing can be verified.
    pub fn is_empty(&self) -> bool {
        self.pgp.is_empty() && self.ssh.is_empty() && self.x509.is_none()
    }
}

/// Our verdict on one commit's signature.
pub fn verify_commit(commit: &CommitInfo, trust: &TrustStores) -> Verdict {
    let Some(signed) = &commit.signature else {
        return Verdict::new(SignatureStatus::Unsigned, None);
    };
    let email = commit.committer.email.as_str();
    let at = commit.committer.time;
    let verdict = match signed.kind {
        Some(SignatureKind::Gpg) => verify_pgp(&signed.signature, &signed.payload, &trust.pgp),
        Some(SignatureKind::Ssh) => {
            verify_ssh(&signed.signature, &signed.payload, email, at, &trust.ssh)
        }
        Some(SignatureKind::X509) => verify_x509(
            &signed.signature,
            &signed.payload,
            email,
            at,
            trust.x509.as_ref(),
        ),
        None => {
            return Verdict::new(SignatureStatus::BadSignature, None)
                .with_detail("the commit carries a signature block of an unknown kind");
        }
    };
    hint_missing_store(verdict, trust)
}

/// An `unknown-key` verdict when no store of that kind was given says which flag to pass.
fn hint_missing_store(verdict: Verdict, trust: &TrustStores) -> Verdict {
    if verdict.status != SignatureStatus::UnknownKey || verdict.detail.is_some() {
        return verdict;
    }
    let hint = match verdict.kind {
        Some(SignatureKind::Gpg) if trust.pgp.is_empty() => {
            "no OpenPGP keys were given: pass --gpg-keys FILE|DIR with the signers' public keys"
        }
        Some(SignatureKind::Ssh) if trust.ssh.is_empty() => {
            "no allowed signers were given: pass --allowed-signers FILE (git's gpg.ssh.allowedSignersFile format)"
        }
        _ => return verdict,
    };
    verdict.with_detail(hint)
}
