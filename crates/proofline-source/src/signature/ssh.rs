//! SSH commit signatures (SSHSIG, namespace `git`) verified in pure Rust against git's
//! allowed_signers file, so the stage needs no ssh-keygen on the runner.

use ssh_key::{HashAlg, PublicKey, SshSig};

use super::allowed_signers::AllowedSigners;
use super::{SignatureKind, SignatureStatus, Verdict};

/// The SSHSIG namespace git signs commits and tags in.
pub const GIT_NAMESPACE: &str = "git";

/// Verifies an armored SSHSIG over `payload` (the commit object without its `gpgsig` header).
///
/// `committer_email` is the principal the key must be allowed to sign as, and `signed_at`
/// (unix seconds, the committer timestamp as git uses) is checked against
/// `valid-after`/`valid-before`.
pub fn verify_ssh(
    signature_armored: &[u8],
    payload: &[u8],
    committer_email: &str,
    signed_at: i64,
    signers: &AllowedSigners,
) -> Verdict {
    let verdict = |status| Verdict::new(status, Some(SignatureKind::Ssh));
    let sig = match SshSig::from_pem(signature_armored) {
        Ok(sig) => sig,
        Err(e) => {
            let ca = signers.entries().iter().any(|s| s.cert_authority);
            let hint = if ca {
                " (signatures by SSH certificates, for cert-authority entries, are not supported)"
            } else {
                ""
            };
            return verdict(SignatureStatus::BadSignature)
                .with_detail(format!("malformed SSH signature: {e}{hint}"));
        }
    };
    let fingerprint = sig.public_key().fingerprint(HashAlg::Sha256).to_string();
    let verdict = |status| verdict(status).with_fingerprint(fingerprint.clone());

    if sig.namespace() != GIT_NAMESPACE {
        return verdict(SignatureStatus::UntrustedSigner).with_detail(format!(
            "the signature was made for namespace `{}`, not `{GIT_NAMESPACE}`: it was not made for a git commit or tag",
            sig.namespace()
        ));
    }
    let key = PublicKey::from(sig.public_key().clone());
    if let Err(e) = key.verify(GIT_NAMESPACE, payload, &sig) {
        return verdict(SignatureStatus::BadSignature).with_detail(format!(
            "the signature does not match the content (changed after signing?): {e}"
        ));
    }

    let with_key: Vec<_> = signers
        .entries()
        .iter()
        .filter(|s| !s.cert_authority && s.key.key_data() == sig.public_key())
        .collect();
    if with_key.is_empty() {
        let ca = signers.entries().iter().any(|s| s.cert_authority);
        let hint = if ca {
            "; cert-authority entries are not checked (SSH certificates are not supported)"
        } else {
            ""
        };
        return verdict(SignatureStatus::UnknownKey).with_detail(format!(
            "key {fingerprint} is not in the allowed signers file{hint}"
        ));
    }
    let for_principal: Vec<_> = with_key
        .iter()
        .filter(|s| s.matches_principal(committer_email))
        .collect();
    if for_principal.is_empty() {
        let allowed: Vec<_> = with_key.iter().map(|s| s.principals.join(",")).collect();
        return verdict(SignatureStatus::UntrustedSigner).with_detail(format!(
            "key {fingerprint} may sign as `{}` but the committer is `{committer_email}`",
            allowed.join("`, `")
        ));
    }
    let for_namespace: Vec<_> = for_principal
        .iter()
        .filter(|s| s.allows_namespace(GIT_NAMESPACE))
        .collect();
    if for_namespace.is_empty() {
        let lines: Vec<_> = for_principal.iter().map(|s| s.line.to_string()).collect();
        return verdict(SignatureStatus::UntrustedSigner).with_detail(format!(
            "key {fingerprint} is not allowed to sign in namespace `{GIT_NAMESPACE}` (namespaces= on allowed signers line {})",
            lines.join(", ")
        ));
    }
    if !for_namespace.iter().any(|s| s.valid_at(signed_at)) {
        let when = time::OffsetDateTime::from_unix_timestamp(signed_at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| signed_at.to_string());
        let lines: Vec<_> = for_namespace.iter().map(|s| s.line.to_string()).collect();
        return verdict(SignatureStatus::ExpiredKey).with_detail(format!(
            "key {fingerprint} was not valid at the commit time {when} (valid-after/valid-before on allowed signers line {})",
            lines.join(", ")
        ));
    }
    verdict(SignatureStatus::Verified).with_signer(committer_email)
}
