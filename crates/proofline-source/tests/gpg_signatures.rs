//! OpenPGP commit and tag signatures made by the real `gpg` and `git` in temporary keyrings and
//! repositories, verified by `verify_pgp` (pure Rust) and, where git has an opinion, cross-checked
//! with `git verify-commit` / `%G?`.
//!
//! Expiry is judged at the signature's creation time (rpgpie, like Sequoia): a commit signed while
//! the key was valid stays `verified` after the key expires (git: `Y`), a commit signed after the
//! key's expiry date is `expired-key` (git also says `Y`, judging against "now"; we are stricter).
//! gpg refuses to sign with an expired key, so that case is made by signing first and then
//! back-dating a new self-signature that sets an earlier expiry (`--faked-system-time`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use proofline_source::commits::{CommitInfo, CommitSource, Selection};
use proofline_source::signature::pgp::{PgpKeysError, PgpTrustStore, verify_pgp};
use proofline_source::signature::{SignatureKind, SignatureStatus, Verdict};
use tempfile::TempDir;

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A throw-away GNUPGHOME; its agent is stopped on drop.
struct Keyring {
    dir: TempDir,
}

impl Keyring {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        Self { dir }
    }

    fn home(&self) -> &Path {
        self.dir.path()
    }

    fn gpg(&self, faked: Option<&str>) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", self.home()).args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        if let Some(t) = faked {
            cmd.args(["--faked-system-time", t]);
        }
        cmd
    }

    /// Generates a key and returns its primary fingerprint.
    fn generate(&self, uid: &str, usage: &str, expire: &str, faked: Option<&str>) -> String {
        run(self
            .gpg(faked)
            .args(["--quick-gen-key", uid, "ed25519", usage, expire]));
        self.fingerprint(uid)
    }

    fn fingerprint(&self, uid: &str) -> String {
        let out = run(self.gpg(None).args(["--with-colons", "--list-keys", uid]));
        out.lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .unwrap()
            .to_string()
    }

    fn export(&self, fpr: &str) -> Vec<u8> {
        run(self.gpg(None).args(["--armor", "--export", fpr])).into_bytes()
    }

    fn store(&self, fprs: &[&String]) -> PgpTrustStore {
        let mut store = PgpTrustStore::new();
        for fpr in fprs {
            store
                .add_bytes(&self.export(fpr), Path::new(&format!("{fpr}.asc")))
                .unwrap();
        }
        store
    }

    /// A `gpg.program` that runs gpg at a faked time.
    fn faked_program(&self, time: &str) -> PathBuf {
        let path = self.home().join(format!("gpg-at-{time}"));
        std::fs::write(
            &path,
            format!("#!/bin/sh\nexec gpg --faked-system-time {time} \"$@\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        path
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

/// A throw-away repository with its own config (no user or system git config).
struct Repo {
    dir: TempDir,
}

impl Repo {
    fn new() -> Self {
        let repo = Self {
            dir: TempDir::new().unwrap(),
        };
        run(repo.git().args(["init", "-q", "-b", "main"]));
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args([
                "-c",
                "user.name=Alice",
                "-c",
                "user.email=alice@example.com",
                "-c",
                "commit.gpgsign=false",
            ]);
        cmd
    }

    /// `git` set up to sign with `fpr` from `keys`, through `program` (default: gpg).
    fn signing_git(&self, keys: &Keyring, fpr: &str, program: Option<&Path>) -> Command {
        let mut cmd = self.git();
        let program = program
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "gpg".to_string());
        cmd.env("GNUPGHOME", keys.home()).args([
            "-c",
            &format!("gpg.program={program}"),
            "-c",
            &format!("user.signingkey={fpr}"),
        ]);
        cmd
    }

    fn commit(&self, msg: &str) -> String {
        run(self
            .git()
            .args(["commit", "-q", "--allow-empty", "-m", msg]));
        self.head()
    }

    fn signed_commit(
        &self,
        msg: &str,
        keys: &Keyring,
        fpr: &str,
        program: Option<&Path>,
    ) -> String {
        run(self.signing_git(keys, fpr, program).args([
            "commit",
            "-q",
            "--allow-empty",
            "-S",
            "-m",
            msg,
        ]));
        self.head()
    }

    fn head(&self) -> String {
        run(self.git().args(["rev-parse", "HEAD"]))
            .trim()
            .to_string()
    }

    /// git's own opinion (`%G?`) of a commit, with the keyring given.
    fn git_status(&self, keys: &Keyring, sha: &str) -> String {
        let mut cmd = self.git();
        cmd.env("GNUPGHOME", keys.home())
            .args(["log", "-1", "--format=%G?", sha]);
        run(&mut cmd).trim().to_string()
    }
}

/// What the stage does with one commit's signature (the PGP part).
fn verdict(commit: &CommitInfo, store: &PgpTrustStore) -> Verdict {
    match &commit.signature {
        None => Verdict::new(SignatureStatus::Unsigned, None),
        Some(s) => {
            assert_eq!(s.kind, Some(SignatureKind::Gpg));
            verify_pgp(&s.signature, &s.payload, store)
        }
    }
}

fn commit(repo: &Repo, rev: &str) -> CommitInfo {
    CommitSource::open(repo.path())
        .unwrap()
        .commit(rev)
        .unwrap()
}

#[test]
fn good_signature_is_verified_with_primary_uid_and_fingerprint_and_git_agrees() {
    let keys = Keyring::new();
    let alice = keys.generate("Alice <alice@example.com>", "sign", "1y", None);
    let repo = Repo::new();
    let sha = repo.signed_commit("signed", &keys, &alice, None);

    let v = verdict(&commit(&repo, &sha), &keys.store(&[&alice]));
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
    assert_eq!(v.kind, Some(SignatureKind::Gpg));
    assert_eq!(v.signer.as_deref(), Some("Alice <alice@example.com>"));
    assert_eq!(v.fingerprint.as_deref(), Some(alice.as_str()));

    let mut cmd = repo.git();
    run(cmd
        .env("GNUPGHOME", keys.home())
        .args(["verify-commit", &sha]));
    assert_eq!(repo.git_status(&keys, &sha), "G");
}

#[test]
fn unsigned_commit_has_no_signature() {
    let keys = Keyring::new();
    let alice = keys.generate("Alice <alice@example.com>", "sign", "1y", None);
    let repo = Repo::new();
    let sha = repo.commit("not signed");
    let c = commit(&repo, &sha);
    assert!(c.signature.is_none());
    assert_eq!(
        verdict(&c, &keys.store(&[&alice])).status,
        SignatureStatus::Unsigned
    );
}

#[test]
fn key_missing_from_trust_store_is_unknown_key_naming_the_issuer() {
    let keys = Keyring::new();
    let alice = keys.generate("Alice <alice@example.com>", "sign", "1y", None);
    let bob = keys.generate("Bob <bob@example.com>", "sign", "1y", None);
    let repo = Repo::new();
    let sha = repo.signed_commit("signed by alice", &keys, &alice, None);

    let v = verdict(&commit(&repo, &sha), &keys.store(&[&bob]));
    assert_eq!(v.status, SignatureStatus::UnknownKey, "{v:?}");
    assert_eq!(v.fingerprint.as_deref(), Some(alice.as_str()));
    assert!(v.detail.unwrap_or_default().contains("--gpg-keys"));

    let empty = verdict(&commit(&repo, &sha), &PgpTrustStore::new());
    assert_eq!(empty.status, SignatureStatus::UnknownKey);
}

#[test]
fn message_changed_after_signing_is_bad_signature_and_git_agrees() {
    let keys = Keyring::new();
    let alice = keys.generate("Alice <alice@example.com>", "sign", "1y", None);
    let repo = Repo::new();
    let sha = repo.signed_commit("pay 10 EUR", &keys, &alice, None);

    let raw = run(repo.git().args(["cat-file", "commit", &sha]));
    assert!(raw.contains("pay 10 EUR"));
    let forged = raw.replace("pay 10 EUR", "pay 1000 EUR");
    let forged_path = repo.path().join("forged");
    std::fs::write(&forged_path, forged).unwrap();
    let forged_sha = run(repo
        .git()
        .args(["hash-object", "-t", "commit", "-w"])
        .arg(&forged_path))
    .trim()
    .to_string();
    assert_ne!(forged_sha, sha);

    let c = commit(&repo, &forged_sha);
    assert_eq!(c.summary, "pay 1000 EUR");
    let v = verdict(&c, &keys.store(&[&alice]));
    assert_eq!(v.status, SignatureStatus::BadSignature, "{v:?}");
    assert_eq!(v.fingerprint.as_deref(), Some(alice.as_str()));
    assert_eq!(repo.git_status(&keys, &forged_sha), "B");
}

#[test]
fn signed_while_valid_by_a_key_that_expired_since_is_verified() {
    let keys = Keyring::new();
    let old = keys.generate(
        "Olga <olga@example.com>",
        "sign",
        "1d",
        Some("20200101T000000"),
    );
    let repo = Repo::new();
    let program = keys.faked_program("20200101T120000");
    let sha = repo.signed_commit("signed in 2020", &keys, &old, Some(program.as_path()));

    let v = verdict(&commit(&repo, &sha), &keys.store(&[&old]));
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
    // git (gpg) also accepts it: "good signature from an expired key".
    assert_eq!(repo.git_status(&keys, &sha), "Y");
}

#[test]
fn signed_after_the_key_expired_is_expired_key() {
    let keys = Keyring::new();
    let eve = keys.generate(
        "Eve <eve@example.com>",
        "sign",
        "never",
        Some("20200101T000000"),
    );
    let repo = Repo::new();
    // Signed on 2020-01-03 ...
    let sha = repo.signed_commit(
        "late",
        &keys,
        &eve,
        Some(keys.faked_program("20200103T000000").as_path()),
    );
    // ... by a key whose self-signature of 2020-01-01 12:00 says it expires on 2020-01-02.
    run(keys
        .gpg(Some("20200101T120000"))
        .args(["--quick-set-expire", &eve, "2020-01-02"]));

    let v = verdict(&commit(&repo, &sha), &keys.store(&[&eve]));
    assert_eq!(v.status, SignatureStatus::ExpiredKey, "{v:?}");
    assert_eq!(v.fingerprint.as_deref(), Some(eve.as_str()));
    let detail = v.detail.unwrap_or_default();
    assert!(
        detail.contains("expired at 2020-01-02T") && detail.contains("made at 2020-01-03T00:00"),
        "{detail}"
    );
}

#[test]
fn hard_revoked_key_is_revoked_key_even_for_older_signatures_and_git_agrees() {
    let keys = Keyring::new();
    let mallory = keys.generate("Mallory <mallory@example.com>", "sign", "1y", None);
    let repo = Repo::new();
    let sha = repo.signed_commit("signed before the revocation", &keys, &mallory, None);

    // gpg wrote a revocation certificate (reason 0, "no reason": a hard revocation) at key
    // generation; its armor line is prefixed with ':' against accidental import.
    let rev = std::fs::read_to_string(
        keys.home()
            .join("openpgp-revocs.d")
            .join(format!("{mallory}.rev")),
    )
    .unwrap();
    let rev = rev.replace(
        ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----",
    );
    let rev_path = keys.home().join("revocation.asc");
    std::fs::write(&rev_path, rev).unwrap();
    run(keys.gpg(None).arg("--import").arg(&rev_path));

    let v = verdict(&commit(&repo, &sha), &keys.store(&[&mallory]));
    assert_eq!(v.status, SignatureStatus::RevokedKey, "{v:?}");
    assert_eq!(v.fingerprint.as_deref(), Some(mallory.as_str()));
    assert_eq!(repo.git_status(&keys, &sha), "R");
}

#[test]
fn subkey_signature_verifies_against_the_primary_certificate() {
    let keys = Keyring::new();
    let carol = keys.generate("Carol <carol@example.com>", "cert", "1y", None);
    run(keys
        .gpg(None)
        .args(["--quick-add-key", &carol, "ed25519", "sign", "1y"]));
    let repo = Repo::new();
    let sha = repo.signed_commit("signed by the subkey", &keys, &carol, None);

    let v = verdict(&commit(&repo, &sha), &keys.store(&[&carol]));
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
    assert_eq!(v.fingerprint.as_deref(), Some(carol.as_str()));
    assert_eq!(v.signer.as_deref(), Some("Carol <carol@example.com>"));
    assert!(
        v.detail
            .unwrap_or_default()
            .starts_with("signed by subkey ")
    );
    assert_eq!(repo.git_status(&keys, &sha), "G");
}

#[test]
fn signed_merge_commit_in_a_range_is_listed_and_verified() {
    let keys = Keyring::new();
    let alice = keys.generate("Alice <alice@example.com>", "sign", "1y", None);
    let repo = Repo::new();
    let base = repo.commit("base");
    run(repo.git().args(["checkout", "-q", "-b", "topic"]));
    let topic = repo.signed_commit("topic work", &keys, &alice, None);
    run(repo.git().args(["checkout", "-q", "main"]));
    let main_work = repo.commit("main work (unsigned)");
    run(repo.signing_git(&keys, &alice, None).args([
        "merge",
        "-q",
        "--no-ff",
        "-S",
        "-m",
        "merge topic",
        "topic",
    ]));
    let merge = repo.head();

    let list = CommitSource::open(repo.path())
        .unwrap()
        .commits(&Selection::parse(&format!("{base}..HEAD")))
        .unwrap();
    let shas: Vec<&str> = list.commits.iter().map(|c| c.sha.as_str()).collect();
    assert_eq!(shas.len(), 3);
    assert_eq!(shas[0], merge);
    assert!(shas.contains(&topic.as_str()) && shas.contains(&main_work.as_str()));

    let store = keys.store(&[&alice]);
    let merge_commit = &list.commits[0];
    assert!(merge_commit.is_merge());
    assert_eq!(
        verdict(merge_commit, &store).status,
        SignatureStatus::Verified
    );
    let by_sha = |s: &str| list.commits.iter().find(|c| c.sha == s).unwrap();
    assert_eq!(
        verdict(by_sha(&topic), &store).status,
        SignatureStatus::Verified
    );
    assert_eq!(
        verdict(by_sha(&main_work), &store).status,
        SignatureStatus::Unsigned
    );
}

#[test]
fn signed_tag_signature_and_payload_verify_and_git_agrees() {
    let keys = Keyring::new();
    let alice = keys.generate("Alice <alice@example.com>", "sign", "1y", None);
    let repo = Repo::new();
    let target = repo.commit("release");
    run(repo
        .signing_git(&keys, &alice, None)
        .args(["tag", "-s", "v1.0.0", "-m", "Release 1.0.0"]));
    run(repo
        .git()
        .env("GNUPGHOME", keys.home())
        .args(["verify-tag", "v1.0.0"]));

    let tag = CommitSource::open(repo.path())
        .unwrap()
        .tag("v1.0.0")
        .unwrap();
    assert_eq!(tag.name, "v1.0.0");
    assert_eq!(tag.target, target);
    assert_eq!(tag.message.trim(), "Release 1.0.0");
    let sig = tag.signature.expect("signed tag");
    assert_eq!(sig.kind, Some(SignatureKind::Gpg));
    let v = verify_pgp(&sig.signature, &sig.payload, &keys.store(&[&alice]));
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
    assert_eq!(v.signer.as_deref(), Some("Alice <alice@example.com>"));

    // The payload is exactly what was signed: changing it breaks the signature.
    let mut payload = sig.payload.clone();
    payload.extend_from_slice(b"extra\n");
    assert_eq!(
        verify_pgp(&sig.signature, &payload, &keys.store(&[&alice])).status,
        SignatureStatus::BadSignature
    );

    // A lightweight tag cannot be signed and is named as such.
    run(repo.git().args(["tag", "light"]));
    let err = CommitSource::open(repo.path())
        .unwrap()
        .tag("light")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an annotated tag"), "{err}");
}

#[test]
fn malformed_signature_block_is_bad_signature() {
    let v = verify_pgp(
        b"-----BEGIN PGP SIGNATURE-----\n\nnot base64 !!\n-----END PGP SIGNATURE-----\n",
        b"payload",
        &PgpTrustStore::new(),
    );
    assert_eq!(v.status, SignatureStatus::BadSignature);
    assert_eq!(v.kind, Some(SignatureKind::Gpg));
}

#[test]
fn trust_store_directory_reads_asc_gpg_pub_files_only() {
    let keys = Keyring::new();
    let alice = keys.generate("Alice <alice@example.com>", "sign", "1y", None);
    let bob = keys.generate("Bob <bob@example.com>", "sign", "1y", None);
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("alice.asc"), keys.export(&alice)).unwrap();
    let out = keys.gpg(None).args(["--export", &bob]).output().unwrap();
    std::fs::write(dir.path().join("bob.gpg"), out.stdout).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a key").unwrap();

    let store = PgpTrustStore::load(dir.path()).unwrap();
    assert_eq!(store.len(), 2);
    assert_eq!(store.fingerprints(), vec![alice.clone(), bob.clone()]);
    assert_eq!(
        store.source_of(&alice),
        Some(dir.path().join("alice.asc").as_path())
    );

    let single = PgpTrustStore::load(&dir.path().join("alice.asc")).unwrap();
    assert_eq!(single.fingerprints(), vec![alice]);
}

#[test]
fn trust_store_errors_name_the_file_and_the_fix() {
    let dir = TempDir::new().unwrap();
    let err = PgpTrustStore::load(dir.path()).unwrap_err();
    assert!(matches!(err, PgpKeysError::EmptyDir { .. }));
    assert!(err.to_string().contains(&dir.path().display().to_string()));

    let garbage = dir.path().join("broken.asc");
    std::fs::write(
        &garbage,
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\ngarbage\n-----END PGP PUBLIC KEY BLOCK-----\n",
    )
    .unwrap();
    let err = PgpTrustStore::load(dir.path()).unwrap_err();
    assert!(matches!(err, PgpKeysError::Parse { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("broken.asc") && msg.contains("gpg --armor --export"),
        "{msg}"
    );

    let missing = dir.path().join("missing.asc");
    let err = PgpTrustStore::load(&missing).unwrap_err();
    assert!(err.to_string().contains("missing.asc") && err.to_string().contains("--gpg-keys"));
}
