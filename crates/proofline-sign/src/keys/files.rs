//! Key files on disk and the password from the environment: `keygen` writes `cosign.key` and
//! `cosign.pub` as cosign does (0600, atomically, never over an existing file), and key files are
//! read with a size bound and errors that name the path.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::cosign::{MAX_KEY_FILE_BYTES, encrypt_cosign_key, import_cosign_key_at};
use super::{KeyError, SoftwareSigner, key_id};
use crate::signer::{Algorithm, Signer};

/// The private key file `keygen` writes (cosign's name).
pub const COSIGN_KEY_FILE: &str = "cosign.key";
/// The public key file `keygen` writes (cosign's name).
pub const COSIGN_PUB_FILE: &str = "cosign.pub";

/// The password variables, in the order they are read.
const PASSWORD_VARS: [&str; 2] = ["PROOFLINE_SIGN_PASSWORD", "COSIGN_PASSWORD"];

/// What [`keygen`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// `<out>/cosign.key`.
    pub private_key_path: PathBuf,
    /// `<out>/cosign.pub`.
    pub public_key_path: PathBuf,
    /// The key's algorithm.
    pub algorithm: Algorithm,
    /// [`key_id`] of the public key.
    pub key_id: String,
}

/// The key password: `PROOFLINE_SIGN_PASSWORD`, else `COSIGN_PASSWORD`. A variable set to the
/// empty string means the empty password (as cosign reads it); `None` when neither is set.
pub fn password_from_env() -> Result<Option<Zeroizing<String>>, KeyError> {
    password_from(|name| std::env::var_os(name))
}

/// [`password_from_env`] over any variable lookup (tests cannot set variables: `set_var` is
/// `unsafe` in edition 2024, and the workspace forbids `unsafe`).
fn password_from(
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<Option<Zeroizing<String>>, KeyError> {
    for var in PASSWORD_VARS {
        if let Some(value) = lookup(var) {
            return value
                .into_string()
                .map(|s| Some(Zeroizing::new(s)))
                .map_err(|_| KeyError::PasswordNotUtf8 { var });
        }
    }
    Ok(None)
}

/// Reads and opens a cosign private key file; errors name `path`.
pub fn import_cosign_key_file(path: &Path, password: &[u8]) -> Result<SoftwareSigner, KeyError> {
    let io = |source| KeyError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut pem = Zeroizing::new(Vec::new());
    // One byte more than the limit, so an oversized file is reported as such, never read whole.
    let limit = u64::try_from(MAX_KEY_FILE_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    file.take(limit).read_to_end(&mut pem).map_err(io)?;
    import_cosign_key_at(&pem, password, &path.display().to_string())
}

/// Generates a key pair and writes `<out_dir>/cosign.key` (cosign's encrypted format, mode 0600)
/// and `<out_dir>/cosign.pub` (PEM SubjectPublicKeyInfo). `out_dir` is created if missing.
/// Existing files are never overwritten, and if anything fails neither file is left behind.
pub fn keygen(
    out_dir: &Path,
    algorithm: Algorithm,
    password: &[u8],
) -> Result<GeneratedKey, KeyError> {
    let private_key_path = out_dir.join(COSIGN_KEY_FILE);
    let public_key_path = out_dir.join(COSIGN_PUB_FILE);
    for path in [&private_key_path, &public_key_path] {
        if path.symlink_metadata().is_ok() {
            return Err(KeyError::Exists { path: path.clone() });
        }
    }

    let signer = SoftwareSigner::generate(algorithm)?;
    let encrypted = encrypt_cosign_key(&signer, password)?;
    let public_pem = signer.public_key_pem();

    std::fs::create_dir_all(out_dir).map_err(|source| KeyError::Io {
        action: "create the directory",
        path: out_dir.to_owned(),
        source,
    })?;
    let key_tmp = write_temp(out_dir, encrypted.as_bytes(), 0o600)?;
    let pub_tmp = write_temp(out_dir, public_pem.as_bytes(), 0o644)?;
    persist_new(key_tmp, &private_key_path)?;
    if let Err(e) = persist_new(pub_tmp, &public_key_path) {
        // Leave nothing half-written: the key without its public half is removed again.
        let _ = std::fs::remove_file(&private_key_path);
        return Err(e);
    }
    Ok(GeneratedKey {
        private_key_path,
        public_key_path,
        algorithm,
        key_id: key_id(signer.public_key_der()),
    })
}

/// Writes `contents` to a new temporary file in `dir` (removed on drop unless persisted).
fn write_temp(dir: &Path, contents: &[u8], mode: u32) -> Result<tempfile::NamedTempFile, KeyError> {
    let io = |source| KeyError::Io {
        action: "write a temporary file in",
        path: dir.to_owned(),
        source,
    };
    // tempfile creates the file 0600 on Unix: the key is never readable by others, even briefly.
    let mut file = tempfile::Builder::new()
        .prefix(".proofline-keygen-")
        .tempfile_in(dir)
        .map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.as_file().sync_all().map_err(io)?;
    set_mode(file.path(), mode).map_err(io)?;
    Ok(file)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Moves the temporary file to `target`, failing (not replacing) if `target` appeared meanwhile.
fn persist_new(file: tempfile::NamedTempFile, target: &Path) -> Result<(), KeyError> {
    match file.persist_noclobber(target) {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Err(KeyError::Exists {
            path: target.to_owned(),
        }),
        Err(e) => Err(KeyError::Io {
            action: "write",
            path: target.to_owned(),
            source: e.error,
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn vars(set: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let set: Vec<(String, OsString)> = set
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |name| set.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn proofline_password_wins_over_cosign_password() {
        let got = password_from(vars(&[
            ("COSIGN_PASSWORD", "cosign"),
            ("PROOFLINE_SIGN_PASSWORD", "proofline"),
        ]))
        .unwrap();
        assert_eq!(got.as_deref().map(String::as_str), Some("proofline"));
    }

    #[test]
    fn cosign_password_is_the_fallback() {
        let got = password_from(vars(&[("COSIGN_PASSWORD", "cosign")])).unwrap();
        assert_eq!(got.as_deref().map(String::as_str), Some("cosign"));
    }

    #[test]
    fn empty_value_is_the_empty_password_and_unset_is_none() {
        let got = password_from(vars(&[("PROOFLINE_SIGN_PASSWORD", "")])).unwrap();
        assert_eq!(got.as_deref().map(String::as_str), Some(""));
        assert!(password_from(vars(&[])).unwrap().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_password_is_an_error_naming_the_variable() {
        use std::os::unix::ffi::OsStringExt;
        let lookup = |name: &str| {
            (name == "COSIGN_PASSWORD").then(|| OsString::from_vec(vec![0x66, 0xff, 0x6f]))
        };
        let err = password_from(lookup).unwrap_err();
        assert!(err.to_string().contains("COSIGN_PASSWORD"), "{err}");
    }
}
