//! OpenPGP commit and tag signatures, verified in pure Rust (rpgpie) against the armored public
//! keys given by `--gpg-keys`, so the stage works on runners without gpg.
//!
//! Validity is judged at the signature's creation time, like `git verify-commit`: a key that
//! expired *after* signing still verifies; a key that had expired *before* gives `expired-key`;
//! a hard revocation (no reason, or "compromised") invalidates every signature of the key, a soft
//! one ("retired", "superseded") only those made after it.

use std::fs;
use std::path::{Path, PathBuf};

use ::pgp::composed::SignedPublicKey;
use ::pgp::packet::{Signature, SignatureType};
use ::pgp::types::{KeyDetails, Timestamp};
use rpgpie::certificate::{Certificate, Checked};

use super::{SignatureKind, SignatureStatus, Verdict};

/// File name extensions read from a `--gpg-keys` directory.
pub const KEY_FILE_EXTENSIONS: [&str; 3] = ["asc", "gpg", "pub"];

/// Why a trust store could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PgpKeysError {
    #[error("cannot read OpenPGP keys from {path}: {source}; check the --gpg-keys path")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} holds no OpenPGP public key ({detail}); export keys with `gpg --armor --export KEYID > FILE`"
    )]
    Parse { path: PathBuf, detail: String },
    #[error(
        "{path} holds a secret key; give only public keys (`gpg --armor --export`, not --export-secret-keys)"
    )]
    SecretKey { path: PathBuf },
    #[error(
        "the directory {path} has no *.asc, *.gpg or *.pub file; put one exported public key per file there"
    )]
    EmptyDir { path: PathBuf },
}

/// One certificate of the trust store, with the file it came from.
#[derive(Debug, Clone)]
struct TrustedCert {
    cert: Certificate,
    checked: Checked,
    source: PathBuf,
}

/// The OpenPGP certificates (public keys) we trust to sign commits.
#[derive(Debug, Clone, Default)]
pub struct PgpTrustStore {
    certs: Vec<TrustedCert>,
}

impl PgpTrustStore {
    /// An empty store: every signature is `unknown-key`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads `--gpg-keys FILE|DIR`: a file of armored (or binary) public keys, or a directory
    /// whose `*.asc`, `*.gpg` and `*.pub` files are read (not recursively, in name order).
    pub fn load(path: &Path) -> Result<Self, PgpKeysError> {
        let mut store = Self::new();
        let meta = fs::metadata(path).map_err(|source| PgpKeysError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.is_dir() {
            let entries = fs::read_dir(path).map_err(|source| PgpKeysError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|source| PgpKeysError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let file = entry.path();
                let wanted = file.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    KEY_FILE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())
                });
                if wanted && file.is_file() {
                    files.push(file);
                }
            }
            if files.is_empty() {
                return Err(PgpKeysError::EmptyDir {
                    path: path.to_path_buf(),
                });
            }
            files.sort();
            for file in files {
                store.add_file(&file)?;
            }
        } else {
            store.add_file(path)?;
        }
        Ok(store)
    }

    /// Adds every public key of one file.
    pub fn add_file(&mut self, path: &Path) -> Result<(), PgpKeysError> {
        let bytes = fs::read(path).map_err(|source| PgpKeysError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.add_bytes(&bytes, path)
    }

    /// Adds every public key of `bytes` (armored or binary); `source` names them in errors.
    pub fn add_bytes(&mut self, bytes: &[u8], source: &Path) -> Result<(), PgpKeysError> {
        let certs = Certificate::load(&mut &bytes[..]).map_err(|e| {
            let detail = e.to_string();
            if detail.contains("TSK") {
                PgpKeysError::SecretKey {
                    path: source.to_path_buf(),
                }
            } else {
                PgpKeysError::Parse {
                    path: source.to_path_buf(),
                    detail,
                }
            }
        })?;
        for cert in certs {
            let checked = Checked::new(cert.clone());
            self.certs.push(TrustedCert {
                cert,
                checked,
                source: source.to_path_buf(),
            });
        }
        Ok(())
    }

    /// Number of certificates.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// Primary key fingerprints (uppercase hex), in load order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.certs
            .iter()
            .map(|c| fingerprint_hex(&c.cert))
            .collect()
    }

    /// The file a certificate was loaded from, by primary fingerprint.
    pub fn source_of(&self, fingerprint: &str) -> Option<&Path> {
        self.certs
            .iter()
            .find(|c| fingerprint_hex(&c.cert).eq_ignore_ascii_case(fingerprint))
            .map(|c| c.source.as_path())
    }
}

fn fingerprint_hex(cert: &Certificate) -> String {
    format!("{:X}", cert.fingerprint())
}

/// Which component key of a certificate an issuer names.
#[derive(Debug, Clone, Copy)]
enum Component {
    Primary,
    Subkey(usize),
}

/// Verifies an armored detached OpenPGP signature over `payload` (the commit or tag without its
/// signature, as `extract_signature` gives it) against `trust`.
///
/// Status, in this order: malformed → `bad-signature`; no certificate holding the issuer key
/// (primary or subkey) → `unknown-key`; valid at its creation time → `verified` (signer = the
/// certificate's primary user id, fingerprint = its primary key fingerprint, uppercase hex);
/// otherwise the signature bytes do not match the payload → `bad-signature`; the key was revoked
/// (hard, or soft before signing) → `revoked-key`; the key had expired when it signed →
/// `expired-key`; anything else rpgpie refuses (weak algorithm, signature older than the key,
/// not a signing key) → `bad-signature` with the reason.
pub fn verify_pgp(signature_armored: &[u8], payload: &[u8], trust: &PgpTrustStore) -> Verdict {
    let kind = Some(SignatureKind::Gpg);
    let sigs = match rpgpie::signature::load(&mut &signature_armored[..]) {
        Ok(sigs) if !sigs.is_empty() => sigs,
        Ok(_) => {
            return Verdict::new(SignatureStatus::BadSignature, kind)
                .with_detail("the signature block holds no OpenPGP signature");
        }
        Err(e) => {
            return Verdict::new(SignatureStatus::BadSignature, kind)
                .with_detail(format!("malformed OpenPGP signature: {e}"));
        }
    };
    let mut verdicts: Vec<Verdict> = sigs
        .iter()
        .map(|sig| verify_one(sig, payload, trust))
        .collect();
    // Several signatures (rare): one good one is enough; otherwise report the first failure.
    if let Some(pos) = verdicts
        .iter()
        .position(|v| v.status == SignatureStatus::Verified)
    {
        return verdicts.swap_remove(pos);
    }
    verdicts.swap_remove(0)
}

fn issuer_text(sig: &Signature) -> String {
    if let Some(fp) = sig.issuer_fingerprint().first() {
        format!("{fp:X}")
    } else if let Some(id) = sig.issuer_key_id().first() {
        id.to_string().to_uppercase()
    } else {
        "an unnamed key".to_string()
    }
}

fn matches_key(sig: &Signature, key: &impl KeyDetails) -> bool {
    let fp = key.fingerprint();
    let id = key.legacy_key_id();
    sig.issuer_fingerprint().iter().any(|f| **f == fp)
        || sig.issuer_key_id().iter().any(|k| **k == id)
}

fn component_of(sig: &Signature, spk: &SignedPublicKey) -> Option<Component> {
    if matches_key(sig, &spk.primary_key) {
        return Some(Component::Primary);
    }
    spk.public_subkeys
        .iter()
        .position(|sk| matches_key(sig, &sk.key))
        .map(Component::Subkey)
}

fn rfc3339(ts: Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::from(ts.as_secs()))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ts.as_secs().to_string())
}

fn verify_one(sig: &Signature, payload: &[u8], trust: &PgpTrustStore) -> Verdict {
    let kind = Some(SignatureKind::Gpg);
    let issuer = issuer_text(sig);
    let Some(created) = sig.created() else {
        return Verdict::new(SignatureStatus::BadSignature, kind)
            .with_detail("the signature has no creation time");
    };

    let candidates: Vec<(&TrustedCert, Component)> = trust
        .certs
        .iter()
        .filter_map(|c| component_of(sig, c.checked.as_signed_public_key()).map(|comp| (c, comp)))
        .collect();
    let Some(&(first, component)) = candidates.first() else {
        let fp = sig.issuer_fingerprint().first().map(|fp| format!("{fp:X}"));
        let mut v = Verdict::new(SignatureStatus::UnknownKey, kind).with_detail(format!(
            "no certificate in the --gpg-keys trust store holds the signing key {issuer}"
        ));
        if let Some(fp) = fp {
            v = v.with_fingerprint(fp);
        }
        return v;
    };

    for (tc, _) in &candidates {
        match rpgpie::detached::verify(
            payload,
            std::slice::from_ref(sig),
            std::slice::from_ref(&tc.cert),
        ) {
            Ok(verified) if !verified.is_empty() => {
                let mut v = Verdict::new(SignatureStatus::Verified, kind)
                    .with_fingerprint(fingerprint_hex(&tc.cert));
                if let Some(uid) = primary_user_id(&tc.checked) {
                    v = v.with_signer(uid);
                }
                let component = format!("{:X}", verified[0].component);
                if component != fingerprint_hex(&tc.cert) {
                    v = v.with_detail(format!("signed by subkey {component}"));
                }
                return v;
            }
            _ => {}
        }
    }

    // Not valid: say why, for the first certificate holding the key.
    let spk = first.checked.as_signed_public_key();
    let fingerprint = fingerprint_hex(&first.cert);
    let signer = primary_user_id(&first.checked);
    let verdict = |status: SignatureStatus, detail: String| {
        let mut v = Verdict::new(status, kind)
            .with_fingerprint(fingerprint.clone())
            .with_detail(detail);
        if let Some(s) = &signer {
            v = v.with_signer(s.clone());
        }
        v
    };

    // 1. The bytes: content changed after signing (or a forged signature).
    let crypto = match component {
        Component::Primary => sig.verify(&spk.primary_key, payload),
        Component::Subkey(i) => sig.verify(&spk.public_subkeys[i].key, payload),
    };
    if let Err(e) = crypto {
        return verdict(
            SignatureStatus::BadSignature,
            format!(
                "the signature by {issuer} does not match the signed content (changed after signing?): {e}"
            ),
        );
    }

    // 2. Revocation at the signature time (a hard revocation is active at every time).
    if first.checked.revoked_at(created) || hard_revoked(&spk.details.revocation_signatures) {
        return verdict(
            SignatureStatus::RevokedKey,
            format!(
                "the certificate {fingerprint} is revoked{}",
                reason(&spk.details.revocation_signatures)
            ),
        );
    }
    if let Component::Subkey(i) = component {
        let revs: Vec<Signature> = spk.public_subkeys[i]
            .signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
            .filter(|s| rpgpie_is_hard(s) || s.created().is_some_and(|c| c <= created))
            .cloned()
            .collect();
        if !revs.is_empty() {
            return verdict(
                SignatureStatus::RevokedKey,
                format!("the signing subkey {issuer} is revoked{}", reason(&revs)),
            );
        }
    }

    // 3. Expiry at the signature time.
    let primary_created = spk.primary_key.created_at();
    if let Some(d) = first
        .checked
        .active_certificate_self_signature_at(created)
        .and_then(Signature::key_expiration_time)
        && d.as_secs() != 0
    {
        let expired = u64::from(primary_created.as_secs()) + u64::from(d.as_secs());
        if expired < u64::from(created.as_secs()) {
            return verdict(
                SignatureStatus::ExpiredKey,
                format!(
                    "the key {fingerprint} expired at {} but the signature was made at {}",
                    rfc3339(Timestamp::from_secs(
                        u32::try_from(expired).unwrap_or(u32::MAX)
                    )),
                    rfc3339(created)
                ),
            );
        }
    }
    if let Component::Subkey(i) = component {
        let sk = &spk.public_subkeys[i];
        let binding = sk
            .signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
            .filter(|s| s.created().is_some_and(|c| c <= created))
            .max_by_key(|s| s.created().map(Timestamp::as_secs));
        if let Some(d) = binding.and_then(Signature::key_expiration_time)
            && d.as_secs() != 0
        {
            let expired = u64::from(sk.key.created_at().as_secs()) + u64::from(d.as_secs());
            if expired < u64::from(created.as_secs()) {
                return verdict(
                    SignatureStatus::ExpiredKey,
                    format!(
                        "the signing subkey {issuer} expired at {} but the signature was made at {}",
                        rfc3339(Timestamp::from_secs(
                            u32::try_from(expired).unwrap_or(u32::MAX)
                        )),
                        rfc3339(created)
                    ),
                );
            }
        }
    }

    // 4. Anything else rpgpie refused.
    let why = if created < primary_created {
        "the signature claims a creation time before the key existed".to_string()
    } else if created > Timestamp::now() {
        "the signature claims a creation time in the future".to_string()
    } else {
        "the key is not valid for data signatures at the signature time (no signing capability or binding, or an algorithm our policy rejects)"
            .to_string()
    };
    verdict(
        SignatureStatus::BadSignature,
        format!("signature by {issuer} rejected: {why}"),
    )
}

/// rpgpie's rule: a revocation is hard unless its reason is "retired", "superseded" or
/// "user id no longer valid".
fn rpgpie_is_hard(sig: &Signature) -> bool {
    use ::pgp::packet::RevocationCode;
    !matches!(
        sig.revocation_reason_code(),
        Some(RevocationCode::KeyRetired)
            | Some(RevocationCode::CertUserIdInvalid)
            | Some(RevocationCode::KeySuperseded)
    )
}

fn hard_revoked(revocations: &[Signature]) -> bool {
    revocations
        .iter()
        .any(|s| s.typ() == Some(SignatureType::KeyRevocation) && rpgpie_is_hard(s))
}

fn reason(revocations: &[Signature]) -> String {
    let Some(sig) = revocations.first() else {
        return String::new();
    };
    let code = sig.revocation_reason_code().map(|c| format!("{c:?}"));
    let text = sig
        .revocation_reason_string()
        .map(|b| String::from_utf8_lossy(b).trim().to_string())
        .filter(|t| !t.is_empty());
    let when = sig.created().map(rfc3339);
    let mut out = String::new();
    if let Some(when) = when {
        out.push_str(&format!(" since {when}"));
    }
    match (code, text) {
        (Some(c), Some(t)) => out.push_str(&format!(" (reason: {c}, \"{t}\")")),
        (Some(c), None) => out.push_str(&format!(" (reason: {c})")),
        (None, Some(t)) => out.push_str(&format!(" (\"{t}\")")),
        (None, None) => {}
    }
    out
}

fn primary_user_id(checked: &Checked) -> Option<String> {
    checked
        .primary_user_id()
        .or_else(|| checked.user_ids().first())
        .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
}
