//! x509 commit signatures (gitsign / gpgsm style CMS) made by the real `git` (`gpg.format=x509`)
//! through a `gpg.x509.program` that signs with `openssl cms -sign`, with certificate
//! hierarchies made by `openssl ca`, read back with `CommitSource` and judged by `verify_x509`.
//!
//! OpenSSL 3.0 has no `-not_before` on `x509 -req`: validity windows (the expired leaf, the
//! signing time judged at the committer time) are set with `openssl ca -startdate/-enddate`.
//! OpenSSL 3.0 cannot make Ed25519 CMS signatures, so Ed25519 is not covered here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use proofline_source::commits::{CommitInfo, CommitSource};
use proofline_source::signature::x509::{X509Error, X509TrustStore, identify_x509, verify_x509};
use proofline_source::signature::{SignatureKind, SignatureStatus, Verdict};
use tempfile::TempDir;

/// CA and long-lived leaf validity: from before the 2020 committer dates used below to far ahead.
const LONG: (&str, &str) = ("20190101000000Z", "20990101000000Z");
/// A leaf valid one day of 2020 only.
const JAN_1_2020: (&str, &str) = ("20200101000000Z", "20200102000000Z");

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

fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

#[derive(Debug, Clone, Copy)]
enum Alg {
    P256,
    P384,
    Rsa,
}

/// A key and its certificate (PEM files).
#[derive(Debug, Clone)]
struct Cert {
    key: PathBuf,
    pem: PathBuf,
}

impl Cert {
    fn der(&self) -> Vec<u8> {
        Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&self.pem)
            .output()
            .unwrap()
            .stdout
    }

    fn fingerprint(&self) -> String {
        use sha2::Digest;
        hex::encode_upper(sha2::Sha256::digest(self.der()))
    }
}

const CA_EXT: &str = "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n";

fn leaf_ext(san: &str) -> String {
    format!(
        "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = codeSigning, emailProtection\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\nsubjectAltName = {san}\n"
    )
}

/// A throw-away PKI directory: every certificate is issued by `openssl ca` with its own database.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new() -> Self {
        Self {
            dir: TempDir::new().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn key(&self, name: &str, alg: Alg) -> PathBuf {
        let key = self.path(&format!("{name}.key"));
        let opts: &[&str] = match alg {
            Alg::P256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            Alg::P384 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            Alg::Rsa => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        };
        run(Command::new("openssl")
            .arg("genpkey")
            .args(opts)
            .arg("-out")
            .arg(&key));
        key
    }

    /// Issues `name` (subject `subj`, extensions `ext`) signed by `issuer`, or self-signed.
    fn issue(
        &self,
        name: &str,
        subj: &str,
        alg: Alg,
        issuer: Option<&Cert>,
        ext: &str,
        validity: (&str, &str),
    ) -> Cert {
        let key = self.key(name, alg);
        let csr = self.path(&format!("{name}.csr"));
        run(Command::new("openssl")
            .args(["req", "-new", "-subj", subj, "-key"])
            .arg(&key)
            .arg("-out")
            .arg(&csr));
        let db = self.path(&format!("{name}-db"));
        std::fs::create_dir(&db).unwrap();
        std::fs::write(db.join("index.txt"), "").unwrap();
        let config = db.join("ca.cnf");
        std::fs::write(
            &config,
            format!(
                "[ca]\ndefault_ca = ca_default\n[ca_default]\ndatabase = {db}/index.txt\nnew_certs_dir = {db}\nserial = {db}/serial\ndefault_md = sha256\npolicy = policy_any\nunique_subject = no\n[policy_any]\ncommonName = optional\nemailAddress = optional\n",
                db = db.display()
            ),
        )
        .unwrap();
        let ext_file = db.join("ext.cnf");
        std::fs::write(&ext_file, format!("[ext]\n{ext}")).unwrap();
        let pem = self.path(&format!("{name}.pem"));
        let mut cmd = Command::new("openssl");
        cmd.args(["ca", "-batch", "-notext", "-create_serial", "-preserveDN"])
            .arg("-config")
            .arg(&config)
            .arg("-extfile")
            .arg(&ext_file)
            .args(["-extensions", "ext", "-startdate", validity.0])
            .args(["-enddate", validity.1])
            .arg("-in")
            .arg(&csr)
            .arg("-out")
            .arg(&pem);
        match issuer {
            Some(issuer) => cmd
                .arg("-cert")
                .arg(&issuer.pem)
                .arg("-keyfile")
                .arg(&issuer.key),
            None => cmd.arg("-selfsign").arg("-keyfile").arg(&key),
        };
        run(&mut cmd);
        Cert { key, pem }
    }

    fn root(&self, name: &str, alg: Alg) -> Cert {
        self.issue(name, &format!("/CN={name}"), alg, None, CA_EXT, LONG)
    }

    fn intermediate(&self, name: &str, alg: Alg, root: &Cert) -> Cert {
        self.issue(
            name,
            &format!("/CN={name}"),
            alg,
            Some(root),
            &format!("{CA_EXT}authorityKeyIdentifier = keyid\n"),
            LONG,
        )
    }

    fn leaf(&self, name: &str, alg: Alg, issuer: &Cert, san: &str) -> Cert {
        self.issue(
            name,
            &format!("/CN={name}"),
            alg,
            Some(issuer),
            &leaf_ext(san),
            LONG,
        )
    }

    /// A PEM bundle of `certs`, with a comment line before each, as trust stores have.
    fn bundle(&self, name: &str, certs: &[&Cert]) -> PathBuf {
        let mut text = String::new();
        for cert in certs {
            text.push_str(&format!("# {}\n", cert.pem.display()));
            text.push_str(&std::fs::read_to_string(&cert.pem).unwrap());
        }
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn store(&self, name: &str, certs: &[&Cert]) -> X509TrustStore {
        X509TrustStore::load(&self.bundle(name, certs)).unwrap()
    }

    /// A gpgsm stand-in for `gpg.x509.program`: a detached CMS signature over stdin, armored as
    /// gpgsm and gitsign do, with the status line git waits for.
    fn program(&self, name: &str, signer: &Cert, chain: &[&Cert], extra: &str) -> PathBuf {
        let certfile = if chain.is_empty() {
            String::new()
        } else {
            let bundle = self.bundle(&format!("{name}-chain.pem"), chain);
            format!("-certfile {}", bundle.display())
        };
        let path = self.path(name);
        executable(
            &path,
            &format!(
                "#!/bin/sh\nopenssl cms -sign -binary -signer {} -inkey {} {certfile} {extra} -outform PEM | sed 's/BEGIN CMS/BEGIN SIGNED MESSAGE/; s/END CMS/END SIGNED MESSAGE/'\nprintf '\\n[GNUPG:] SIG_CREATED D 19 8 00 0 X\\n' >&2\n",
                signer.pem.display(),
                signer.key.display()
            ),
        );
        path
    }
}

/// A throw-away repository with its own config (no user or system git config); commits by
/// `Alice <alice@example.com>`.
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

    /// A commit signed through `program`, at `date` (committer and author) when given.
    fn signed_commit(&self, msg: &str, program: &Path, date: Option<&str>) -> String {
        let mut cmd = self.git();
        if let Some(date) = date {
            cmd.env("GIT_COMMITTER_DATE", date)
                .env("GIT_AUTHOR_DATE", date);
        }
        run(cmd
            .args([
                "-c",
                "gpg.format=x509",
                "-c",
                &format!("gpg.x509.program={}", program.display()),
                "-c",
                "user.signingkey=alice@example.com",
            ])
            .args(["commit", "-q", "--allow-empty", "-S", "-m", msg]));
        run(self.git().args(["rev-parse", "HEAD"]))
            .trim()
            .to_string()
    }

    /// Writes a copy of commit `sha` with `from` replaced by `to` (the gpgsig header kept).
    fn tampered(&self, sha: &str, from: &str, to: &str) -> String {
        let raw = run(self.git().args(["cat-file", "commit", sha]));
        assert!(raw.contains(from) && raw.contains("gpgsig"));
        let path = self.path().join("forged");
        std::fs::write(&path, raw.replace(from, to)).unwrap();
        run(self
            .git()
            .args(["hash-object", "-t", "commit", "-w"])
            .arg(&path))
        .trim()
        .to_string()
    }

    fn commit(&self, rev: &str) -> CommitInfo {
        CommitSource::open(self.path())
            .unwrap()
            .commit(rev)
            .unwrap()
    }
}

/// What the stage does with one commit's x509 signature.
fn verdict(commit: &CommitInfo, roots: Option<&X509TrustStore>) -> Verdict {
    let sig = commit.signature.as_ref().expect("signed commit");
    assert_eq!(sig.kind, Some(SignatureKind::X509));
    verify_x509(
        &sig.signature,
        &sig.payload,
        &commit.committer.email,
        commit.committer.time,
        roots,
    )
}

/// Root, intermediate and an Alice leaf, all `alg`; the leaf signs with the intermediate embedded.
struct Hierarchy {
    pki: Pki,
    root: Cert,
    inter: Cert,
    leaf: Cert,
    program: PathBuf,
}

fn hierarchy(alg: Alg) -> Hierarchy {
    let pki = Pki::new();
    let root = pki.root("Root CA", alg);
    let inter = pki.intermediate("Issuing CA", alg, &root);
    let leaf = pki.leaf("Alice", alg, &inter, "email:alice@example.com");
    let program = pki.program("sign", &leaf, &[&inter], "");
    Hierarchy {
        pki,
        root,
        inter,
        leaf,
        program,
    }
}

#[test]
fn p256_signature_chaining_through_an_embedded_intermediate_to_the_root_is_verified() {
    let h = hierarchy(Alg::P256);
    let repo = Repo::new();
    let sha = repo.signed_commit("signed", &h.program, None);
    let roots = h.pki.store("roots.pem", &[&h.root]);

    let v = verdict(&repo.commit(&sha), Some(&roots));
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
    assert_eq!(v.kind, Some(SignatureKind::X509));
    assert_eq!(v.signer.as_deref(), Some("alice@example.com"));
    assert_eq!(
        v.fingerprint.as_deref(),
        Some(h.leaf.fingerprint().as_str())
    );
    let detail = v.detail.unwrap_or_default();
    assert!(
        detail.contains("CN=Root CA") && detail.contains("signingTime"),
        "{detail}"
    );

    // identify_x509 still reads the same signer.
    let c = repo.commit(&sha);
    let signer = identify_x509(&c.signature.unwrap().signature).unwrap();
    assert_eq!(signer.subject, "CN=Alice");
    assert_eq!(signer.issuer, "CN=Issuing CA");
    assert_eq!(signer.fingerprint, h.leaf.fingerprint());
}

#[test]
fn rsa_signature_is_verified() {
    let h = hierarchy(Alg::Rsa);
    let repo = Repo::new();
    let sha = repo.signed_commit("signed with RSA", &h.program, None);
    let v = verdict(
        &repo.commit(&sha),
        Some(&h.pki.store("roots.pem", &[&h.root])),
    );
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
    assert_eq!(
        v.fingerprint.as_deref(),
        Some(h.leaf.fingerprint().as_str())
    );
}

#[test]
fn p384_leaf_signing_with_sha384_under_a_p256_root_is_verified() {
    let pki = Pki::new();
    let root = pki.root("Root CA", Alg::P256);
    let leaf = pki.leaf("Alice", Alg::P384, &root, "email:alice@example.com");
    let program = pki.program("sign", &leaf, &[], "-md sha384");
    let repo = Repo::new();
    let sha = repo.signed_commit("signed with P-384", &program, None);
    let v = verdict(&repo.commit(&sha), Some(&pki.store("roots.pem", &[&root])));
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
}

#[test]
fn without_roots_it_is_unknown_key_naming_the_identity_and_the_flag() {
    let h = hierarchy(Alg::P256);
    let repo = Repo::new();
    let sha = repo.signed_commit("signed", &h.program, None);

    let v = verdict(&repo.commit(&sha), None);
    assert_eq!(v.status, SignatureStatus::UnknownKey, "{v:?}");
    assert_eq!(v.signer.as_deref(), Some("alice@example.com"));
    assert_eq!(
        v.fingerprint.as_deref(),
        Some(h.leaf.fingerprint().as_str())
    );
    assert_eq!(
        v.detail.as_deref(),
        Some(
            "x509 signature by alice@example.com, not verified: pass --x509-roots FILE with the issuing CA"
        )
    );
}

#[test]
fn a_root_that_did_not_issue_the_chain_is_unknown_key() {
    let h = hierarchy(Alg::P256);
    let other = h.pki.root("Other CA", Alg::P256);
    // Same subject as the real root, another key: the chain signature does not verify.
    let impostor = h
        .pki
        .issue("impostor", "/CN=Root CA", Alg::P256, None, CA_EXT, LONG);
    let repo = Repo::new();
    let sha = repo.signed_commit("signed", &h.program, None);

    for (name, root) in [("other.pem", &other), ("impostor.pem", &impostor)] {
        let v = verdict(&repo.commit(&sha), Some(&h.pki.store(name, &[root])));
        assert_eq!(v.status, SignatureStatus::UnknownKey, "{name}: {v:?}");
        assert_eq!(v.signer.as_deref(), Some("alice@example.com"));
        assert!(
            v.detail.unwrap_or_default().contains("--x509-roots"),
            "{name}"
        );
    }
}

#[test]
fn a_missing_intermediate_is_unknown_key_unless_the_store_trusts_it() {
    let pki = Pki::new();
    let root = pki.root("Root CA", Alg::P256);
    let inter = pki.intermediate("Issuing CA", Alg::P256, &root);
    let leaf = pki.leaf("Alice", Alg::P256, &inter, "email:alice@example.com");
    let program = pki.program("sign", &leaf, &[], "");
    let repo = Repo::new();
    let sha = repo.signed_commit("signed without the chain", &program, None);

    let v = verdict(&repo.commit(&sha), Some(&pki.store("root.pem", &[&root])));
    assert_eq!(v.status, SignatureStatus::UnknownKey, "{v:?}");
    assert!(
        v.detail.unwrap_or_default().contains("CN=Issuing CA"),
        "the detail names the missing issuer"
    );

    let v = verdict(&repo.commit(&sha), Some(&pki.store("inter.pem", &[&inter])));
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
}

#[test]
fn an_issuer_that_is_not_a_ca_is_unknown_key() {
    let pki = Pki::new();
    let root = pki.root("Root CA", Alg::P256);
    let not_ca = pki.leaf("Bob", Alg::P256, &root, "email:bob@example.com");
    let leaf = pki.leaf("Alice", Alg::P256, &not_ca, "email:alice@example.com");
    let program = pki.program("sign", &leaf, &[&not_ca], "");
    let repo = Repo::new();
    let sha = repo.signed_commit("issued by an end entity", &program, None);

    let v = verdict(&repo.commit(&sha), Some(&pki.store("root.pem", &[&root])));
    assert_eq!(v.status, SignatureStatus::UnknownKey, "{v:?}");
    assert!(
        v.detail.unwrap_or_default().contains("not a CA"),
        "basicConstraints"
    );
}

#[test]
fn message_changed_after_signing_is_bad_signature_with_and_without_signed_attributes() {
    let h = hierarchy(Alg::P256);
    let roots = h.pki.store("roots.pem", &[&h.root]);
    let no_attributes = h
        .pki
        .program("sign-noattr", &h.leaf, &[&h.inter], "-noattr");
    let repo = Repo::new();

    // Signed attributes: the message-digest no longer matches.
    let sha = repo.signed_commit("pay 10 EUR", &h.program, None);
    let forged = repo.tampered(&sha, "pay 10 EUR", "pay 1000 EUR");
    let c = repo.commit(&forged);
    assert_eq!(c.summary, "pay 1000 EUR");
    let v = verdict(&c, Some(&roots));
    assert_eq!(v.status, SignatureStatus::BadSignature, "{v:?}");
    assert_eq!(v.signer.as_deref(), Some("alice@example.com"));
    assert_eq!(
        v.fingerprint.as_deref(),
        Some(h.leaf.fingerprint().as_str())
    );
    assert!(
        v.detail.unwrap_or_default().contains("message-digest"),
        "digest mismatch named"
    );
    // Also without roots: the content check needs no trust.
    assert_eq!(verdict(&c, None).status, SignatureStatus::BadSignature);

    // No signed attributes: the signature itself no longer matches.
    let sha = repo.signed_commit("pay 20 EUR", &no_attributes, None);
    let good = verdict(&repo.commit(&sha), Some(&roots));
    assert_eq!(good.status, SignatureStatus::Verified, "{good:?}");
    assert!(
        good.detail.unwrap_or_default().contains("committer time"),
        "no signingTime: the committer time is used"
    );
    let forged = repo.tampered(&sha, "pay 20 EUR", "pay 2000 EUR");
    let v = verdict(&repo.commit(&forged), Some(&roots));
    assert_eq!(v.status, SignatureStatus::BadSignature, "{v:?}");
    assert!(
        v.detail
            .unwrap_or_default()
            .contains("not valid for the signer"),
        "signature mismatch named"
    );
}

#[test]
fn leaf_expired_at_its_signing_time_is_expired_key() {
    let pki = Pki::new();
    let root = pki.root("Root CA", Alg::P256);
    let leaf = pki.issue(
        "Alice",
        "/CN=Alice",
        Alg::P256,
        Some(&root),
        &leaf_ext("email:alice@example.com"),
        JAN_1_2020,
    );
    let program = pki.program("sign", &leaf, &[], "");
    let repo = Repo::new();
    // openssl puts today's signingTime in; the leaf expired on 2020-01-02.
    let sha = repo.signed_commit("signed today", &program, None);

    let v = verdict(&repo.commit(&sha), Some(&pki.store("root.pem", &[&root])));
    assert_eq!(v.status, SignatureStatus::ExpiredKey, "{v:?}");
    assert_eq!(v.signer.as_deref(), Some("alice@example.com"));
    let detail = v.detail.unwrap_or_default();
    assert!(
        detail.contains("CN=Alice")
            && detail.contains("2020-01-02T00:00:00Z")
            && detail.contains("signingTime"),
        "{detail}"
    );

    // Expired and from an unknown CA: the trust failure comes first.
    let other = pki.root("Other CA", Alg::P256);
    let v = verdict(&repo.commit(&sha), Some(&pki.store("other.pem", &[&other])));
    assert_eq!(v.status, SignatureStatus::UnknownKey, "{v:?}");
}

#[test]
fn without_signing_time_validity_is_judged_at_the_committer_time() {
    // Like a ten-minute Fulcio certificate: valid when the commit was made, long expired now.
    let pki = Pki::new();
    let root = pki.root("Root CA", Alg::P256);
    let leaf = pki.issue(
        "Alice",
        "/CN=Alice",
        Alg::P256,
        Some(&root),
        &leaf_ext("email:alice@example.com"),
        JAN_1_2020,
    );
    let program = pki.program("sign", &leaf, &[], "-noattr");
    let roots = pki.store("root.pem", &[&root]);
    let repo = Repo::new();

    let during = repo.signed_commit("in time", &program, Some("2020-01-01T12:00:00Z"));
    let v = verdict(&repo.commit(&during), Some(&roots));
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");

    let after = repo.signed_commit("too late", &program, Some("2020-01-03T00:00:00Z"));
    let v = verdict(&repo.commit(&after), Some(&roots));
    assert_eq!(v.status, SignatureStatus::ExpiredKey, "{v:?}");
    let detail = v.detail.unwrap_or_default();
    assert!(
        detail.contains("2020-01-03T00:00:00Z") && detail.contains("committer time"),
        "{detail}"
    );

    let before = repo.signed_commit("too early", &program, Some("2019-12-31T00:00:00Z"));
    let v = verdict(&repo.commit(&before), Some(&roots));
    assert_eq!(v.status, SignatureStatus::ExpiredKey, "{v:?}");
}

#[test]
fn committer_email_not_named_by_the_certificate_is_untrusted_signer() {
    let pki = Pki::new();
    let root = pki.root("Root CA", Alg::P256);
    let bob = pki.leaf("Bob", Alg::P256, &root, "email:bob@example.com");
    let program = pki.program("sign", &bob, &[], "");
    let repo = Repo::new();
    let sha = repo.signed_commit("alice commits, bob's certificate signs", &program, None);

    let v = verdict(&repo.commit(&sha), Some(&pki.store("root.pem", &[&root])));
    assert_eq!(v.status, SignatureStatus::UntrustedSigner, "{v:?}");
    assert_eq!(v.signer.as_deref(), Some("bob@example.com"));
    let detail = v.detail.unwrap_or_default();
    assert!(
        detail.contains("alice@example.com") && detail.contains("bob@example.com"),
        "{detail}"
    );
}

#[test]
fn subject_email_address_counts_and_case_does_not() {
    let pki = Pki::new();
    let root = pki.root("Root CA", Alg::P256);
    let leaf = pki.issue(
        "Alice",
        "/CN=Alice/emailAddress=Alice@Example.com",
        Alg::P256,
        Some(&root),
        "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, nonRepudiation\n",
        LONG,
    );
    let program = pki.program("sign", &leaf, &[], "");
    let repo = Repo::new();
    let sha = repo.signed_commit("signed", &program, None);

    let v = verdict(&repo.commit(&sha), Some(&pki.store("root.pem", &[&root])));
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
    assert_eq!(v.signer.as_deref(), Some("Alice@Example.com"));
}

#[test]
fn workflow_uri_identity_without_email_is_untrusted_signer() {
    let workflow = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
    let pki = Pki::new();
    let root = pki.root("Root CA", Alg::P256);
    let leaf = pki.issue(
        "workflow",
        "/O=sigstore.dev",
        Alg::P256,
        Some(&root),
        &leaf_ext(&format!("URI:{workflow}")),
        LONG,
    );
    let program = pki.program("sign", &leaf, &[], "");
    let repo = Repo::new();
    let sha = repo.signed_commit("signed by CI", &program, None);

    let v = verdict(&repo.commit(&sha), Some(&pki.store("root.pem", &[&root])));
    assert_eq!(v.status, SignatureStatus::UntrustedSigner, "{v:?}");
    assert_eq!(v.signer.as_deref(), Some(workflow));
    assert!(
        v.detail
            .unwrap_or_default()
            .contains("names no email, only `https://github.com/acme/app"),
    );
}

#[test]
fn certificate_not_for_signing_is_untrusted_signer() {
    let pki = Pki::new();
    let root = pki.root("Root CA", Alg::P256);
    let encrypt_only = pki.issue(
        "enc",
        "/CN=Alice",
        Alg::P256,
        Some(&root),
        "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, keyAgreement\nsubjectAltName = email:alice@example.com\n",
        LONG,
    );
    let tls_only = pki.issue(
        "tls",
        "/CN=Alice",
        Alg::P256,
        Some(&root),
        "basicConstraints = critical, CA:FALSE\nextendedKeyUsage = serverAuth\nsubjectAltName = email:alice@example.com\n",
        LONG,
    );
    let roots = pki.store("root.pem", &[&root]);
    let repo = Repo::new();
    for (name, cert, why) in [
        ("enc", &encrypt_only, "key usage"),
        ("tls", &tls_only, "extended key usage"),
    ] {
        let program = pki.program(&format!("sign-{name}"), cert, &[], "");
        let sha = repo.signed_commit(name, &program, None);
        let v = verdict(&repo.commit(&sha), Some(&roots));
        assert_eq!(v.status, SignatureStatus::UntrustedSigner, "{name}: {v:?}");
        assert!(v.detail.unwrap_or_default().contains(why), "{name}");
    }
}

/// A throw-away gpgsm home holding one signing key (imported from PKCS#12) and a trusted root;
/// CRL checks off (there is no CRL). Its agent is stopped on drop.
struct Gpgsm {
    home: TempDir,
}

impl Gpgsm {
    fn new(pki: &Pki, leaf: &Cert, others: &[&Cert], root: &Cert) -> Self {
        let home = tempfile::Builder::new()
            .prefix("gpgsm")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        std::fs::write(home.path().join("gpgsm.conf"), "disable-crl-checks\n").unwrap();
        std::fs::write(
            home.path().join("gpg-agent.conf"),
            "allow-loopback-pinentry\n",
        )
        .unwrap();
        let gpgsm = Self { home };
        // gpgsm 2.2 reads only the legacy PKCS#12 encryption.
        let p12 = pki.path("leaf.p12");
        run(Command::new("openssl")
            .args([
                "pkcs12",
                "-export",
                "-passout",
                "pass:",
                "-keypbe",
                "PBE-SHA1-3DES",
            ])
            .args(["-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1", "-inkey"])
            .arg(&leaf.key)
            .arg("-in")
            .arg(&leaf.pem)
            .arg("-out")
            .arg(&p12));
        run(gpgsm.command().arg("--import").arg(&p12));
        for cert in others.iter().copied().chain([root]) {
            run(gpgsm.command().arg("--import").arg(&cert.pem));
        }
        let fpr = run(Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
            .arg(&root.pem));
        let fpr = fpr.trim().split_once('=').unwrap().1;
        std::fs::write(
            gpgsm.home.path().join("trustlist.txt"),
            format!("{fpr} S relax\n"),
        )
        .unwrap();
        gpgsm
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("gpgsm");
        cmd.env("GNUPGHOME", self.home.path()).args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        cmd
    }

    /// The `gpg.x509.program`: gpgsm with this home (no `--passphrase` here: gpgsm would take
    /// the empty string for the file to sign, and sign that instead of stdin).
    fn program(&self) -> PathBuf {
        let path = self.home.path().join("gpgsm-here");
        executable(
            &path,
            &format!(
                "#!/bin/sh\nGNUPGHOME={} exec gpgsm --batch --pinentry-mode loopback \"$@\"\n",
                self.home.path().display()
            ),
        );
        path
    }
}

impl Drop for Gpgsm {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

#[test]
fn real_gpgsm_signature_in_ber_is_verified_and_tampering_detected() {
    let pki = Pki::new();
    let root = pki.root("Root CA", Alg::P256);
    let inter = pki.intermediate("Issuing CA", Alg::P256, &root);
    let leaf = pki.leaf("Alice", Alg::Rsa, &inter, "email:alice@example.com");
    let gpgsm = Gpgsm::new(&pki, &leaf, &[&inter], &root);
    let repo = Repo::new();
    let sha = repo.signed_commit("signed by gpgsm", &gpgsm.program(), None);

    let c = repo.commit(&sha);
    let sig = c.signature.as_ref().unwrap();
    let (_, der) = x509_cert::der::pem::decode_vec(&sig.signature).unwrap();
    assert_eq!(
        &der[..2],
        &[0x30, 0x80],
        "gpgsm writes indefinite-length BER"
    );

    let roots = pki.store("roots.pem", &[&root]);
    let v = verdict(&c, Some(&roots));
    assert_eq!(v.status, SignatureStatus::Verified, "{v:?}");
    assert_eq!(v.signer.as_deref(), Some("alice@example.com"));
    assert_eq!(v.fingerprint.as_deref(), Some(leaf.fingerprint().as_str()));
    assert_eq!(identify_x509(&sig.signature).unwrap().subject, "CN=Alice");

    let forged = repo.tampered(&sha, "signed by gpgsm", "signed by someone else");
    let v = verdict(&repo.commit(&forged), Some(&roots));
    assert_eq!(v.status, SignatureStatus::BadSignature, "{v:?}");
}

/// Decodes the armored signature, lets `change` edit the DER, and armors it again.
fn rearmored(armored: &[u8], change: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    use x509_cert::der::pem::{LineEnding, decode_vec, encode_string};
    let (label, mut der) = decode_vec(armored).unwrap();
    change(&mut der);
    encode_string(label, LineEnding::LF, &der)
        .unwrap()
        .into_bytes()
}

#[test]
fn forged_signature_bytes_are_bad_signature() {
    for alg in [Alg::P256, Alg::Rsa] {
        let h = hierarchy(alg);
        let repo = Repo::new();
        let sha = repo.signed_commit("signed", &h.program, None);
        let c = repo.commit(&sha);
        let sig = c.signature.as_ref().unwrap();
        // openssl writes no unsigned attributes: the DER ends with the signature value.
        let forged = rearmored(&sig.signature, |der| {
            let last = der.len() - 1;
            der[last] ^= 0x01;
        });
        let roots = h.pki.store("roots.pem", &[&h.root]);
        let v = verify_x509(
            &forged,
            &sig.payload,
            "alice@example.com",
            c.committer.time,
            Some(&roots),
        );
        assert_eq!(v.status, SignatureStatus::BadSignature, "{alg:?}: {v:?}");
        assert_eq!(v.signer.as_deref(), Some("alice@example.com"));
        assert_eq!(
            v.fingerprint.as_deref(),
            Some(h.leaf.fingerprint().as_str())
        );
        // The untouched one verifies.
        let v = verify_x509(
            &sig.signature,
            &sig.payload,
            "alice@example.com",
            c.committer.time,
            Some(&roots),
        );
        assert_eq!(v.status, SignatureStatus::Verified, "{alg:?}: {v:?}");
    }
}

#[test]
fn garbage_and_truncated_signatures_are_bad_signature_never_a_panic() {
    let h = hierarchy(Alg::P256);
    let repo = Repo::new();
    let sha = repo.signed_commit("signed", &h.program, None);
    let c = repo.commit(&sha);
    let sig = c.signature.as_ref().unwrap();
    let roots = h.pki.store("roots.pem", &[&h.root]);

    let text = String::from_utf8(sig.signature.clone()).unwrap();
    let half = format!("{}\n", &text[..text.len() / 2]);
    let mut cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"garbage".to_vec(),
        b"-----BEGIN SIGNED MESSAGE-----\nAAAA\n-----END SIGNED MESSAGE-----\n".to_vec(),
        b"-----BEGIN SIGNED MESSAGE-----\n!!!!\n-----END SIGNED MESSAGE-----\n".to_vec(),
        half.into_bytes(),
        text.replace("END SIGNED MESSAGE", "END CERTIFICATE")
            .into_bytes(),
    ];
    // DER cut short at every length, re-armored: a valid PEM around a truncated CMS.
    let (_, der) = x509_cert::der::pem::decode_vec(&sig.signature).unwrap();
    for len in (0..der.len()).step_by(7) {
        cases.push(rearmored(&sig.signature, |d| d.truncate(len)));
    }
    let verify = |case: &[u8]| {
        verify_x509(
            case,
            &sig.payload,
            "alice@example.com",
            c.committer.time,
            Some(&roots),
        )
    };
    for (i, case) in cases.iter().enumerate() {
        let v = verify(case);
        assert_eq!(v.status, SignatureStatus::BadSignature, "case {i}: {v:?}");
        assert_eq!(v.kind, Some(SignatureKind::X509));
        assert!(identify_x509(case).is_err(), "case {i}");
    }
    // Bit flips anywhere: a verdict, never a panic (a flip in a part no signature covers,
    // such as the SignedData's digestAlgorithms list, may still verify).
    for pos in 0..der.len() {
        let v = verify(&rearmored(&sig.signature, |d| d[pos] ^= 0x80));
        assert_eq!(v.kind, Some(SignatureKind::X509));
    }
}

#[test]
fn trust_store_reads_every_certificate_of_a_commented_bundle() {
    let pki = Pki::new();
    let a = pki.root("Root A", Alg::P256);
    let b = pki.root("Root B", Alg::Rsa);
    let path = pki.bundle("bundle.pem", &[&a, &b]);
    let store = X509TrustStore::load(&path).unwrap();
    assert_eq!(store.len(), 2);
    assert!(!store.is_empty());
    assert_eq!(store.subjects(), vec!["CN=Root A", "CN=Root B"]);
    assert_eq!(store.fingerprints(), vec![a.fingerprint(), b.fingerprint()]);
    assert_eq!(store.source(), path.as_path());
}

#[test]
fn trust_store_errors_name_the_file_and_the_fix() {
    let pki = Pki::new();
    let root = pki.root("Root CA", Alg::P256);
    let pem = std::fs::read_to_string(&root.pem).unwrap();

    let missing = pki.path("missing.pem");
    let err = X509TrustStore::load(&missing).unwrap_err();
    assert!(matches!(err, X509Error::Read { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("missing.pem") && msg.contains("--x509-roots"),
        "{msg}"
    );

    let empty = pki.path("empty.pem");
    std::fs::write(&empty, "# no certificates here\n").unwrap();
    let err = X509TrustStore::load(&empty).unwrap_err();
    assert!(matches!(err, X509Error::NoCertificate { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("no CERTIFICATE block in") && msg.contains("empty.pem"),
        "{msg}"
    );

    let truncated = pki.path("truncated.pem");
    std::fs::write(&truncated, format!("{pem}{}", &pem[..pem.len() / 2])).unwrap();
    let err = X509TrustStore::load(&truncated).unwrap_err();
    match &err {
        X509Error::BadCertificate { index, detail, .. } => {
            assert_eq!(*index, 2);
            assert!(detail.contains("END CERTIFICATE"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("truncated.pem"));

    let garbage = pki.path("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = X509TrustStore::load(&garbage).unwrap_err();
    assert!(
        matches!(err, X509Error::BadCertificate { index: 1, .. }),
        "{err:?}"
    );

    let not_a_cert = pki.path("not-a-cert.pem");
    std::fs::write(
        &not_a_cert,
        "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = X509TrustStore::load(&not_a_cert).unwrap_err();
    assert!(
        matches!(err, X509Error::BadCertificate { index: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("not-a-cert.pem"));

    // A private key is not a certificate.
    let key = pki.path("key.pem");
    std::fs::copy(&root.key, &key).unwrap();
    let err = X509TrustStore::load(&key).unwrap_err();
    assert!(matches!(err, X509Error::NoCertificate { .. }), "{err:?}");
}

#[test]
fn x509_signed_commit_is_identified_with_the_signer_certificate_san() {
    let repo = Repo::new();
    let dir = TempDir::new().unwrap();
    let (key, cert) = (dir.path().join("k.pem"), dir.path().join("c.pem"));
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj", "/CN=Dana"])
        .args(["-addext", "subjectAltName=email:dana@example.com,URI:https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    let signer = Cert {
        key: key.clone(),
        pem: cert.clone(),
    };
    let pki = Pki {
        dir: TempDir::new().unwrap(),
    };
    let program = pki.program("fake-gpgsm", &signer, &[], "");
    let sha = repo.signed_commit("gitsign-like", &program, None);

    let c = repo.commit(&sha);
    let sig = c.signature.expect("signed");
    assert_eq!(sig.kind, Some(SignatureKind::X509));
    let signer = identify_x509(&sig.signature).unwrap();
    assert_eq!(signer.subject, "CN=Dana");
    assert_eq!(
        signer.san,
        vec![
            "dana@example.com".to_string(),
            "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main".to_string()
        ]
    );
    assert_eq!(signer.oidc_issuer, None);
    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&cert)
        .output()
        .unwrap()
        .stdout;
    use sha2::Digest;
    assert_eq!(
        signer.fingerprint,
        hex::encode_upper(sha2::Sha256::digest(&der))
    );

    assert!(
        identify_x509(b"-----BEGIN SIGNED MESSAGE-----\nAAAA\n-----END SIGNED MESSAGE-----\n")
            .is_err()
    );
}
