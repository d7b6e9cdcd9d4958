//! SSH commit signatures made by real `ssh-keygen` through real `git`, verified by our pure-Rust
//! verifier against allowed_signers files, and cross-checked with `git verify-commit`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use proofline_source::signature::SignatureStatus;
use proofline_source::signature::allowed_signers::{AllowedSigners, AllowedSignersError};
use proofline_source::signature::ssh::verify_ssh;
use tempfile::TempDir;

const EMAIL: &str = "alice@example.com";
const DATE: i64 = 1_700_000_000; // 2023-11-14T22:13:20Z

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

struct Repo {
    dir: TempDir,
}

impl Repo {
    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        run(Command::new("git").args(["init", "-q"]).arg(dir.path()));
        Self { dir }
    }

    fn git(&self) -> Command {
        let mut c = Command::new("git");
        c.current_dir(self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.dir.path())
            .env("GIT_COMMITTER_DATE", format!("@{DATE} +0000"))
            .env("GIT_AUTHOR_DATE", format!("@{DATE} +0000"))
            .args([
                "-c",
                "user.name=Alice",
                "-c",
                &format!("user.email={EMAIL}"),
            ]);
        c
    }

    fn key(&self, name: &str, kind: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", "", "-C", name, "-f"])
            .arg(&path));
        path
    }

    fn signed_commit(&self, key: &Path, message: &str) -> String {
        let pubkey = key.with_extension("pub");
        let signingkey = format!("user.signingkey={}", pubkey.display());
        run(self
            .git()
            .args([
                "-c",
                "gpg.format=ssh",
                "-c",
                "commit.gpgsign=true",
                "-c",
                &signingkey,
            ])
            .args(["commit", "-q", "--allow-empty", "-m", message]));
        String::from_utf8(run(self.git().args(["rev-parse", "HEAD"])))
            .unwrap()
            .trim()
            .to_string()
    }

    fn raw(&self, sha: &str) -> String {
        String::from_utf8(run(self.git().args(["cat-file", "commit", sha]))).unwrap()
    }

    fn allowed(&self, text: &str) -> AllowedSigners {
        AllowedSigners::parse(text, Path::new("allowed_signers")).unwrap()
    }

    fn pubkey(&self, key: &Path) -> String {
        std::fs::read_to_string(key.with_extension("pub"))
            .unwrap()
            .trim()
            .to_string()
    }
}

/// Splits a raw commit object into (armored signature, signed payload).
fn split_signature(raw: &str) -> (String, String) {
    let mut sig = String::new();
    let mut payload = String::new();
    let mut in_sig = false;
    let mut in_headers = true;
    for line in raw.split_inclusive('\n') {
        if in_headers && line == "\n" {
            in_headers = false;
        }
        if in_headers && let Some(rest) = line.strip_prefix("gpgsig ") {
            in_sig = true;
            sig.push_str(rest);
            continue;
        }
        if in_sig
            && in_headers
            && let Some(rest) = line.strip_prefix(' ')
        {
            sig.push_str(rest);
            continue;
        }
        in_sig = false;
        payload.push_str(line);
    }
    (sig, payload)
}

fn verify(
    repo: &Repo,
    sha: &str,
    email: &str,
    signers: &AllowedSigners,
) -> proofline_source::signature::Verdict {
    let (sig, payload) = split_signature(&repo.raw(sha));
    verify_ssh(sig.as_bytes(), payload.as_bytes(), email, DATE, signers)
}

#[test]
fn good_ed25519_signature_is_verified_and_git_agrees() {
    let repo = Repo::new();
    let key = repo.key("alice", "ed25519");
    let sha = repo.signed_commit(&key, "good");
    let allowed_text = format!("{EMAIL} {}\n", repo.pubkey(&key));
    let v = verify(&repo, &sha, EMAIL, &repo.allowed(&allowed_text));
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
    assert_eq!(v.signer.as_deref(), Some(EMAIL));
    let fpr = String::from_utf8(run(Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(key.with_extension("pub"))))
    .unwrap();
    assert!(
        fpr.contains(v.fingerprint.as_deref().unwrap()),
        "{fpr} vs {v:?}"
    );

    // git itself agrees, with the same allowed_signers file.
    let file = repo.dir.path().join("allowed_signers");
    std::fs::write(&file, &allowed_text).unwrap();
    let allowed_cfg = format!("gpg.ssh.allowedSignersFile={}", file.display());
    run(repo.git().args(["-c", &allowed_cfg, "verify-commit", &sha]));
    // And ssh-keygen -Y verify directly.
    let (sig, payload) = split_signature(&repo.raw(&sha));
    let sig_file = repo.dir.path().join("commit.sig");
    std::fs::write(&sig_file, sig).unwrap();
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "git", "-I", EMAIL, "-f"])
        .arg(&file)
        .arg("-s")
        .arg(&sig_file)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.as_bytes())
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
}

#[test]
fn good_ecdsa_signature_is_verified() {
    let repo = Repo::new();
    let key = repo.key("ec", "ecdsa");
    let sha = repo.signed_commit(&key, "ecdsa");
    let v = verify(
        &repo,
        &sha,
        EMAIL,
        &repo.allowed(&format!("{EMAIL} {}\n", repo.pubkey(&key))),
    );
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
}

#[test]
fn message_changed_after_signing_is_bad_signature_and_git_rejects_it() {
    let repo = Repo::new();
    let key = repo.key("alice", "ed25519");
    let sha = repo.signed_commit(&key, "pay 10 EUR");
    let tampered = repo.raw(&sha).replace("pay 10 EUR", "pay 9999 EUR");
    let path = repo.dir.path().join("tampered");
    std::fs::write(&path, tampered).unwrap();
    let new = String::from_utf8(run(repo
        .git()
        .args(["hash-object", "-t", "commit", "-w"])
        .arg(&path)))
    .unwrap();
    let new = new.trim();
    assert_ne!(new, sha);
    let allowed_text = format!("{EMAIL} {}\n", repo.pubkey(&key));
    let v = verify(&repo, new, EMAIL, &repo.allowed(&allowed_text));
    assert_eq!(v.status, SignatureStatus::BadSignature, "{v:?}");

    let file = repo.dir.path().join("allowed_signers");
    std::fs::write(&file, &allowed_text).unwrap();
    let allowed_cfg = format!("gpg.ssh.allowedSignersFile={}", file.display());
    assert!(
        !repo
            .git()
            .args(["-c", &allowed_cfg, "verify-commit", new])
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn key_missing_from_allowed_signers_is_unknown_key() {
    let repo = Repo::new();
    let key = repo.key("alice", "ed25519");
    let other = repo.key("other", "ed25519");
    let sha = repo.signed_commit(&key, "x");
    let v = verify(
        &repo,
        &sha,
        EMAIL,
        &repo.allowed(&format!("{EMAIL} {}\n", repo.pubkey(&other))),
    );
    assert_eq!(v.status, SignatureStatus::UnknownKey, "{v:?}");
    assert!(v.fingerprint.unwrap().starts_with("SHA256:"));
}

#[test]
fn key_allowed_for_another_principal_is_untrusted_signer() {
    let repo = Repo::new();
    let key = repo.key("alice", "ed25519");
    let sha = repo.signed_commit(&key, "x");
    let v = verify(
        &repo,
        &sha,
        EMAIL,
        &repo.allowed(&format!("bob@example.com {}\n", repo.pubkey(&key))),
    );
    assert_eq!(v.status, SignatureStatus::UntrustedSigner, "{v:?}");
    assert!(v.detail.unwrap().contains("bob@example.com"));
}

#[test]
fn namespaces_file_only_is_untrusted_signer() {
    let repo = Repo::new();
    let key = repo.key("alice", "ed25519");
    let sha = repo.signed_commit(&key, "x");
    let v = verify(
        &repo,
        &sha,
        EMAIL,
        &repo.allowed(&format!(
            "{EMAIL} namespaces=\"file\" {}\n",
            repo.pubkey(&key)
        )),
    );
    assert_eq!(v.status, SignatureStatus::UntrustedSigner, "{v:?}");
    let v = verify(
        &repo,
        &sha,
        EMAIL,
        &repo.allowed(&format!(
            "{EMAIL} namespaces=\"file,git\" {}\n",
            repo.pubkey(&key)
        )),
    );
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
}

#[test]
fn signature_made_in_the_file_namespace_is_untrusted_signer() {
    let repo = Repo::new();
    let key = repo.key("alice", "ed25519");
    let sha = repo.signed_commit(&key, "x");
    let (_, payload) = split_signature(&repo.raw(&sha));
    let data = repo.dir.path().join("payload");
    std::fs::write(&data, &payload).unwrap();
    run(Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "file", "-f"])
        .arg(&key)
        .arg(&data));
    let sig = std::fs::read(data.with_extension("sig")).unwrap();
    let signers = repo.allowed(&format!("{EMAIL} {}\n", repo.pubkey(&key)));
    let v = verify_ssh(&sig, payload.as_bytes(), EMAIL, DATE, &signers);
    assert_eq!(v.status, SignatureStatus::UntrustedSigner, "{v:?}");
    assert!(v.detail.unwrap().contains("`file`"));
}

#[test]
fn valid_before_earlier_than_the_commit_time_is_expired_key() {
    let repo = Repo::new();
    let key = repo.key("alice", "ed25519");
    let sha = repo.signed_commit(&key, "x");
    let pk = repo.pubkey(&key);
    let v = verify(
        &repo,
        &sha,
        EMAIL,
        &repo.allowed(&format!("{EMAIL} valid-before=\"20230101Z\" {pk}\n")),
    );
    assert_eq!(v.status, SignatureStatus::ExpiredKey, "{v:?}");
    let v = verify(
        &repo,
        &sha,
        EMAIL,
        &repo.allowed(&format!("{EMAIL} valid-after=\"20240101\" {pk}\n")),
    );
    assert_eq!(v.status, SignatureStatus::ExpiredKey, "{v:?}");
    let v = verify(
        &repo,
        &sha,
        EMAIL,
        &repo.allowed(&format!(
            "{EMAIL} valid-after=\"20230101\",valid-before=\"202401010000Z\" {pk}\n"
        )),
    );
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
}

#[test]
fn glob_principal_matches_and_negation_excludes() {
    let repo = Repo::new();
    let key = repo.key("alice", "ed25519");
    let sha = repo.signed_commit(&key, "x");
    let pk = repo.pubkey(&key);
    let signers = repo.allowed(&format!(
        "# team\n\n*@example.com,!mallory@example.com {pk}\n"
    ));
    assert_eq!(
        verify(&repo, &sha, EMAIL, &signers).status,
        SignatureStatus::Verified
    );
    assert_eq!(
        verify(&repo, &sha, "mallory@example.com", &signers).status,
        SignatureStatus::UntrustedSigner
    );
    assert_eq!(
        verify(&repo, &sha, "alice@example.org", &signers).status,
        SignatureStatus::UntrustedSigner
    );
}

#[test]
fn cert_authority_entries_are_parsed_but_not_used_for_plain_keys() {
    let repo = Repo::new();
    let key = repo.key("alice", "ed25519");
    let sha = repo.signed_commit(&key, "x");
    let signers = repo.allowed(&format!(
        "*@example.com cert-authority {}\n",
        repo.pubkey(&key)
    ));
    assert!(signers.entries()[0].cert_authority);
    let v = verify(&repo, &sha, EMAIL, &signers);
    assert_eq!(v.status, SignatureStatus::UnknownKey, "{v:?}");
    assert!(v.detail.unwrap().contains("not supported"));
}

#[test]
fn malformed_lines_are_reported_with_file_and_line() {
    let key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2jhK+yc6YSiKkHXCnZ0N7BaZ5J8CjDvJbyZUvNUh9t test";
    let cases = [
        (
            format!("# ok\n{EMAIL} {key}\nbob@example.com\n"),
            3,
            "missing key",
        ),
        (
            format!("{EMAIL} bogus-option {key}\n"),
            1,
            "unknown option `bogus-option`",
        ),
        (
            format!("\n\n{EMAIL} ssh-ed25519 !!notbase64!!\n"),
            3,
            "invalid ssh-ed25519 public key",
        ),
        (
            format!("{EMAIL} valid-after=\"2024\" {key}\n"),
            1,
            "valid-after",
        ),
        (
            format!("{EMAIL} namespaces=git {key}\n"),
            1,
            "double-quoted",
        ),
        (
            format!("{EMAIL} namespaces=\"git {key}\n"),
            1,
            "unterminated quote",
        ),
        (
            format!("{EMAIL} cert-authority notakey AAAA\n"),
            1,
            "not an SSH key type",
        ),
    ];
    for (text, line, what) in cases {
        let err = AllowedSigners::parse(&text, Path::new("/etc/allowed_signers")).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, AllowedSignersError::Parse { line: l, .. } if l == line),
            "{text:?}: {msg}"
        );
        assert!(
            msg.starts_with(&format!("/etc/allowed_signers:{line}: ")),
            "{msg}"
        );
        assert!(msg.contains(what), "{text:?}: {msg}");
    }
    let err = AllowedSigners::load(Path::new("/nonexistent/allowed_signers")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/allowed_signers"));
}
