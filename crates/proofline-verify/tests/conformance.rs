//! The Sigstore conformance suite's 70 offline bundle-verification cases, each run twice through
//! the real `proofline-conformance` binary (artifact as a file, and as `sha256:<hex>`): every
//! passing case must exit 0, every failing case must exit non-zero with the reason category
//! `fixtures/sigstore-conformance/expected-reasons.tsv` gives it. Also: identity and issuer
//! mismatches (the suite has none), the digest-or-file rule, and `sign-bundle` against the
//! local Fulcio/Rekor stand-in, verified back with `verify-bundle`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use proofline_testkit::sigstore::SigstoreStandIn;
use proofline_verify::Reason;

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sigstore-conformance")
}

/// The suite copies `test/assets/` into a temporary working directory and runs there; so do we,
/// so nothing outside the fixtures can be read by accident.
fn working_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("test/assets"), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    proofline_evidence::sha256_hex(bytes)
}

/// `case → expected` (None: must verify), from the reviewed table.
fn expected_reasons() -> BTreeMap<String, Option<Reason>> {
    let text = std::fs::read_to_string(fixtures().join("expected-reasons.tsv")).unwrap();
    let mut table = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut cols = line.split('\t');
        let case = cols.next().unwrap().to_string();
        let reason = cols
            .next()
            .unwrap_or_else(|| panic!("{case}: no reason column"));
        let rationale = cols.next().unwrap_or_default();
        assert!(!rationale.trim().is_empty(), "{case}: no rationale");
        let reason = match reason {
            "-" => None,
            r => Some(Reason::from_keyword(r).unwrap_or_else(|| panic!("{case}: unknown {r}"))),
        };
        assert!(table.insert(case.clone(), reason).is_none(), "{case} twice");
    }
    table
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_proofline-conformance"))
        .current_dir(cwd)
        .args(args)
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .output()
        .unwrap()
}

/// The reason category of a failed run: the keyword before the first `:` of its only line.
fn stated_reason(out: &Output) -> Result<Reason, String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let [line] = lines.as_slice() else {
        return Err(format!("not one stderr line: {stderr:?}"));
    };
    let keyword = line.split(':').next().unwrap_or_default();
    Reason::from_keyword(keyword).ok_or_else(|| format!("no category keyword: {line:?}"))
}

/// The `verify-bundle` arguments the suite builds for one case (protocol order).
fn case_args(cwd: &Path, case: &str, digest_form: bool) -> Vec<String> {
    let dir = cwd.join("bundle-verify").join(case);
    let mut args = vec![
        "verify-bundle".to_string(),
        "--bundle".to_string(),
        dir.join("bundle.sigstore.json").display().to_string(),
    ];
    if dir.join("key.pub").exists() {
        args.push("--key".into());
        args.push(dir.join("key.pub").display().to_string());
    } else {
        let read = |name: &str, default: &str| {
            std::fs::read_to_string(dir.join(name))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| default.to_string())
        };
        args.push("--certificate-identity".into());
        args.push(read("identity", DEFAULT_IDENTITY));
        args.push("--certificate-oidc-issuer".into());
        args.push(read("issuer", DEFAULT_ISSUER));
    }
    if dir.join("trusted_root.json").exists() {
        args.push("--trusted-root".into());
        args.push(dir.join("trusted_root.json").display().to_string());
    }
    let (artifact_arg, artifact_path) = if dir.join("artifact").exists() {
        let p = dir.join("artifact");
        (p.display().to_string(), p)
    } else {
        (
            "bundle-verify/a.txt".to_string(),
            cwd.join("bundle-verify/a.txt"),
        )
    };
    if digest_form {
        args.push(format!(
            "sha256:{}",
            sha256_hex(&std::fs::read(artifact_path).unwrap())
        ));
    } else {
        args.push(artifact_arg);
    }
    args
}

#[test]
fn the_expected_reason_table_covers_every_case_and_agrees_with_the_names() {
    let table = expected_reasons();
    let mut dirs: Vec<String> = std::fs::read_dir(fixtures().join("test/assets/bundle-verify"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 70);
    assert_eq!(table.keys().cloned().collect::<Vec<_>>(), dirs);
    for (case, reason) in &table {
        assert_eq!(
            reason.is_some(),
            case.ends_with("_fail"),
            "{case}: a reason exactly for the _fail cases"
        );
    }
    // And with cases.json, the fixture's per-case record.
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("cases.json")).unwrap())
            .unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 70);
    for c in cases {
        let name = c["case"].as_str().unwrap();
        let fail = c["expect"].as_str().unwrap() == "fail";
        assert_eq!(table[name].is_some(), fail, "{name}");
    }
    assert_eq!(table.values().filter(|r| r.is_none()).count(), 21);
}

#[test]
fn all_140_runs_give_the_expected_result_for_the_expected_reason() {
    let table = expected_reasons();
    let cwd = working_copy();
    let mut wrong = Vec::new();
    let mut runs = 0;
    for (case, expected) in &table {
        for digest_form in [false, true] {
            runs += 1;
            let args = case_args(cwd.path(), case, digest_form);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run(cwd.path(), &args);
            let form = if digest_form { "DIGEST" } else { "PATH" };
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            match (expected, out.status.code()) {
                (None, Some(0)) => {}
                (None, code) => wrong.push(format!(
                    "{form}-{case}: must verify, exit {code:?}: {stderr}"
                )),
                (Some(_), Some(0)) => wrong.push(format!("{form}-{case}: must fail, exit 0")),
                (Some(reason), code) => match stated_reason(&out) {
                    Ok(stated) if stated == *reason && code == Some(1) => {}
                    Ok(stated) => wrong.push(format!(
                        "{form}-{case}: expected `{reason}`, got `{stated}` (exit {code:?}): {stderr}"
                    )),
                    Err(e) => wrong.push(format!("{form}-{case}: {e}")),
                },
            }
        }
    }
    assert_eq!(runs, 140);
    assert!(
        wrong.is_empty(),
        "{} of 140 runs wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_wrong_identity_or_issuer_is_rejected_for_that_reason() {
    // The suite has no negative identity case: take happy-path and change one of the two.
    let cwd = working_copy();
    let args = case_args(cwd.path(), "happy-path-v0.3", false);
    let pos = |flag: &str| args.iter().position(|a| a == flag).unwrap() + 1;
    for (flag, value, reason) in [
        (
            "--certificate-identity",
            "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/other.yml@refs/heads/main",
            Reason::Identity,
        ),
        (
            "--certificate-oidc-issuer",
            "https://accounts.google.com",
            Reason::Issuer,
        ),
    ] {
        let mut changed = args.clone();
        let i = pos(flag);
        changed[i] = value.to_string();
        let changed: Vec<&str> = changed.iter().map(String::as_str).collect();
        let out = run(cwd.path(), &changed);
        assert_eq!(out.status.code(), Some(1), "{flag}");
        assert_eq!(stated_reason(&out), Ok(reason), "{flag}");
    }
    // Unchanged, it verifies (so the two failures above are the change's doing).
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(run(cwd.path(), &args).status.code(), Some(0));
}

#[test]
fn a_file_named_like_a_digest_is_read_as_a_file() {
    let cwd = working_copy();
    let a_txt = std::fs::read(cwd.path().join("bundle-verify/a.txt")).unwrap();
    let mut args = case_args(cwd.path(), "happy-path-v0.3", true);
    let operand = args.last().unwrap().clone();
    assert!(operand.starts_with("sha256:"));
    // As a digest, it verifies.
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(run(cwd.path(), &argv).status.code(), Some(0));
    // A file of that name with other bytes: now the operand is that file, which is not a.txt.
    std::fs::write(cwd.path().join(&operand), b"not a.txt").unwrap();
    let out = run(cwd.path(), &argv);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stated_reason(&out), Ok(Reason::Artifact));
    // With a.txt's bytes, it verifies again.
    std::fs::write(cwd.path().join(&operand), &a_txt).unwrap();
    assert_eq!(run(cwd.path(), &argv).status.code(), Some(0));
    // A missing artifact file is an artifact failure, not a crash.
    *args.last_mut().unwrap() = "no-such-file".into();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(cwd.path(), &argv);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stated_reason(&out), Ok(Reason::Artifact));
}

#[test]
fn hostile_inputs_fail_with_one_reason_line() {
    let cwd = working_copy();
    let dir = cwd.path();
    std::fs::write(dir.join("empty.json"), b"").unwrap();
    std::fs::write(dir.join("binary.json"), [0xff, 0xfe, 0x00, 0x01]).unwrap();
    std::fs::write(dir.join("deep.json"), "[".repeat(100_000)).unwrap();
    for bundle in ["empty.json", "binary.json", "deep.json", "missing.json"] {
        let out = run(
            dir,
            &[
                "verify-bundle",
                "--bundle",
                bundle,
                "--certificate-identity",
                DEFAULT_IDENTITY,
                "--certificate-oidc-issuer",
                DEFAULT_ISSUER,
                "bundle-verify/a.txt",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{bundle}");
        assert_eq!(stated_reason(&out), Ok(Reason::Bundle), "{bundle}");
    }
    let bundle = dir.join("bundle-verify/happy-path-v0.3/bundle.sigstore.json");
    let bundle = bundle.to_str().unwrap();
    for trusted_root in ["empty.json", "binary.json", "missing.json"] {
        let out = run(
            dir,
            &[
                "verify-bundle",
                "--bundle",
                bundle,
                "--certificate-identity",
                DEFAULT_IDENTITY,
                "--certificate-oidc-issuer",
                DEFAULT_ISSUER,
                "--trusted-root",
                trusted_root,
                "bundle-verify/a.txt",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{trusted_root}");
        assert_eq!(
            stated_reason(&out),
            Ok(Reason::TrustedRoot),
            "{trusted_root}"
        );
    }
    let out = run(
        dir,
        &[
            "verify-bundle",
            "--bundle",
            bundle,
            "--key",
            "binary.json",
            "bundle-verify/a.txt",
        ],
    );
    assert_eq!(stated_reason(&out), Ok(Reason::Key));
    // A production bundle checked against the staging root: not trusted there.
    let out = run(
        dir,
        &[
            "verify-bundle",
            "--staging",
            "--bundle",
            bundle,
            "--certificate-identity",
            DEFAULT_IDENTITY,
            "--certificate-oidc-issuer",
            DEFAULT_ISSUER,
            "bundle-verify/a.txt",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    // Usage errors (clap) exit 2.
    assert_eq!(run(dir, &["verify-bundle"]).status.code(), Some(2));
}

/// A v0.2 signing config that names the stand-in's Fulcio and Rekor v1 (and no TSA).
fn standin_signing_config(standin: &SigstoreStandIn) -> String {
    serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": [{
            "url": standin.fulcio_url(), "majorApiVersion": 1,
            "validFor": { "start": "2020-01-01T00:00:00Z" }, "operator": "standin"
        }],
        "oidcUrls": [],
        "rekorTlogUrls": [{
            "url": standin.rekor_url(), "majorApiVersion": 1,
            "validFor": { "start": "2020-01-01T00:00:00Z" }, "operator": "standin"
        }],
        "tsaUrls": [],
        "rekorTlogConfig": { "selector": "ANY" },
        "tsaConfig": { "selector": "ANY" }
    })
    .to_string()
}

#[test]
fn sign_bundle_against_the_standin_then_verify_bundle_accepts_it() {
    const EMAIL: &str = "conformance@proofline.test";
    let standin = SigstoreStandIn::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("signing_config.json"),
        standin_signing_config(&standin),
    )
    .unwrap();
    std::fs::write(d.join("trusted_root.json"), standin.trusted_root_json()).unwrap();
    let artifact = b"signed by proofline-conformance\n";
    std::fs::write(d.join("a.txt"), artifact).unwrap();
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": "a.txt", "digest": { "sha256": sha256_hex(artifact) } }],
        "predicateType": "https://proofline.dev/test/v1",
        "predicate": {}
    });
    std::fs::write(d.join("statement.json"), statement.to_string()).unwrap();
    let token = standin.identity_token(EMAIL);
    let issuer = standin.oidc_issuer();

    for (in_toto, input, out) in [
        (false, "a.txt", "message.sigstore.json"),
        (true, "statement.json", "dsse.sigstore.json"),
    ] {
        let mut args = vec!["sign-bundle"];
        if in_toto {
            args.push("--in-toto");
        }
        args.extend([
            "--identity-token",
            &token,
            "--bundle",
            out,
            "--trusted-root",
            "trusted_root.json",
            "--signing-config",
            "signing_config.json",
            input,
        ]);
        let signed = run(d, &args);
        assert_eq!(
            signed.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&signed.stderr)
        );
        let bundle: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join(out)).unwrap()).unwrap();
        assert_eq!(
            bundle.get("dsseEnvelope").is_some(),
            in_toto,
            "{out}: the bundle kind"
        );

        // Verified back, as a file and as a digest; the artifact is a.txt either way (for the
        // statement, a.txt is its subject). `root: None` is the built-in production root.
        let verify = |identity: &str, root: Option<&str>, operand: &str| {
            let mut args = vec![
                "verify-bundle",
                "--bundle",
                out,
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                &issuer,
            ];
            if let Some(root) = root {
                args.extend(["--trusted-root", root]);
            }
            args.push(operand);
            run(d, &args)
        };
        let digest = format!("sha256:{}", sha256_hex(artifact));
        for operand in ["a.txt", digest.as_str()] {
            let ok = verify(EMAIL, Some("trusted_root.json"), operand);
            assert_eq!(
                ok.status.code(),
                Some(0),
                "{out} {operand}: {}",
                String::from_utf8_lossy(&ok.stderr)
            );
            let other = verify("someone@proofline.test", Some("trusted_root.json"), operand);
            assert_eq!(stated_reason(&other), Ok(Reason::Identity), "{out}");
        }
        let wrong = verify(EMAIL, Some("trusted_root.json"), "signing_config.json");
        assert_eq!(stated_reason(&wrong), Ok(Reason::Artifact), "{out}");
        // Against the production root (the default), the stand-in's bundle is not trusted.
        let untrusted = verify(EMAIL, None, "a.txt");
        assert_eq!(untrusted.status.code(), Some(1), "{out}");
    }
    assert_eq!(standin.entries(), 2);
}

#[test]
fn sign_bundle_writes_nothing_when_it_cannot_sign() {
    let standin = SigstoreStandIn::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("signing_config.json"),
        standin_signing_config(&standin),
    )
    .unwrap();
    std::fs::write(d.join("trusted_root.json"), standin.trusted_root_json()).unwrap();
    std::fs::write(d.join("a.txt"), b"x").unwrap();
    std::fs::write(d.join("not-a-statement.json"), b"{\"hello\": 1}").unwrap();
    let token = standin.identity_token("conformance@proofline.test");
    let sign = |extra: &[&str], token: &str, config: &str, input: &str| {
        let mut args = vec!["sign-bundle"];
        args.extend_from_slice(extra);
        args.extend([
            "--identity-token",
            token,
            "--bundle",
            "out.json",
            "--trusted-root",
            "trusted_root.json",
            "--signing-config",
            config,
            input,
        ]);
        run(d, &args)
    };
    let keyword = |out: &Output| {
        String::from_utf8_lossy(&out.stderr)
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    // Not a JWT.
    let out = sign(&[], "not-a-jwt", "signing_config.json", "a.txt");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(keyword(&out), "token");
    // No signing config.
    let out = sign(&[], &token, "missing.json", "a.txt");
    assert_eq!(keyword(&out), "signing-config");
    // Fulcio refuses.
    standin.fail_next_fulcio(400);
    let out = sign(&[], &token, "signing_config.json", "a.txt");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(keyword(&out), "service");
    // --in-toto with something that is not a statement.
    let out = sign(
        &["--in-toto"],
        &token,
        "signing_config.json",
        "not-a-statement.json",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(keyword(&out), "artifact");
    assert!(!d.join("out.json").exists());
    assert_eq!(standin.entries(), 0);

    // Signed and logged, but the bundle does not verify against the trusted root in use (here
    // the embedded production root): refused, not written.
    let out = run(
        d,
        &[
            "sign-bundle",
            "--identity-token",
            &token,
            "--bundle",
            "out.json",
            "--signing-config",
            "signing_config.json",
            "a.txt",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("it was not written"), "{stderr}");
    assert!(!d.join("out.json").exists());
    assert_eq!(standin.entries(), 1);
}

/// Issue item 4: the library entry point `proofline verify` uses (`verify_bundle`, with the
/// pipeline's bindings: a DSSE statement about a digest, or a message signature over bytes) gives
/// the same verdict and the same reason on every identity-mode case as the conformance binary.
#[test]
fn proofline_verifys_entry_point_gives_the_same_verdicts() {
    use proofline_verify::trust::{Signed, verify_bundle};
    use proofline_verify::{Matcher, Trust, load_trusted_root};
    let table = expected_reasons();
    let cases = fixtures().join("test/assets/bundle-verify");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (case, expected) in &table {
        let dir = cases.join(case);
        if dir.join("key.pub").exists() {
            continue;
        }
        let bundle = std::fs::read(dir.join("bundle.sigstore.json")).unwrap();
        let read = |name: &str, default: &str| {
            std::fs::read_to_string(dir.join(name))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| default.to_string())
        };
        let root = dir.join("trusted_root.json");
        let root = match load_trusted_root(root.exists().then_some(root.as_path())) {
            Ok(root) => root,
            Err(e) => {
                checked += 1;
                if *expected != Some(Reason::TrustedRoot) {
                    wrong.push(format!("{case}: expected {expected:?}, got {e}"));
                }
                continue;
            }
        };
        let trust = Trust::identity(
            Matcher::Exact(read("identity", DEFAULT_IDENTITY)),
            Matcher::Exact(read("issuer", DEFAULT_ISSUER)),
            root,
        )
        .unwrap();
        let artifact = std::fs::read(if dir.join("artifact").exists() {
            dir.join("artifact")
        } else {
            cases.join("a.txt")
        })
        .unwrap();
        let hex = sha256_hex(&artifact);
        let dsse = serde_json::from_slice::<serde_json::Value>(&bundle)
            .ok()
            .is_some_and(|v| v.get("dsseEnvelope").is_some());
        let signed = if dsse {
            Signed::Subject(&hex)
        } else {
            Signed::Message(&artifact)
        };
        checked += 1;
        match (expected, verify_bundle(&trust, &bundle, signed)) {
            (None, Ok(_)) => {}
            (Some(reason), Err(e)) if e.reason() == *reason => {}
            (expected, got) => wrong.push(format!("{case}: expected {expected:?}, got {got:?}")),
        }
    }
    assert_eq!(checked, 67);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `--staging` selects the embedded staging root: the staging bundle that production rejects
/// (`bundle-from-wrong-instance_fail`) verifies there, for both artifact forms.
#[test]
fn staging_selects_the_staging_root() {
    let cwd = working_copy();
    for digest_form in [false, true] {
        let mut args = case_args(cwd.path(), "bundle-from-wrong-instance_fail", digest_form);
        assert!(!args.iter().any(|a| a == "--trusted-root"));
        let production: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(run(cwd.path(), &production).status.code(), Some(1));
        args.insert(1, "--staging".into());
        let staging: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(cwd.path(), &staging);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
