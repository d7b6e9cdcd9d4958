//! Registry authentication against the real registry: Basic via htpasswd (explicit credentials,
//! `~/.docker/config.json` `auths`, credential helpers), and the bearer-token flow through the
//! testkit's token server and auth front. Secrets never show in errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod registry_support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use proofline_oci::registry::{Credentials, RegistryOptions, Secret};
use proofline_oci::{ImageSink, ImageSource, OciError};
use proofline_testkit::{Registry, TestImage, sha256_digest, skopeo_inspect_raw};
use registry_support::*;
use serde_json::json;

const USER: &str = "ci-bot";
const PASS: &str = "s3cret-Pa55word";

fn image() -> TestImage {
    TestImage::new(&[("hello.txt", b"hello\n")])
}

/// Pushes and pulls back with `opts`, or returns the first error.
fn round_trip(reg: &Registry, opts: &RegistryOptions) -> Result<(), OciError> {
    let image = image();
    let repo = open(&reg.reference("private/app:1"), opts);
    for b in image.blobs() {
        repo.put_blob(&descriptor(b), &mut &b.bytes[..], None)?;
    }
    repo.put_manifest(&raw(&image.manifest), Some("1"))?;
    let m = repo.resolve()?;
    assert_eq!(m.digest.to_string(), image.manifest.digest);
    assert_eq!(
        read_all(repo.open_blob(&descriptor(&image.layers[0]))?).unwrap(),
        image.layers[0].bytes
    );
    Ok(())
}

fn no_secret(err: &OciError) -> String {
    let text = format!("{err} {err:?}");
    assert!(!text.contains(PASS), "the password leaked: {text}");
    text
}

fn write_config(dir: &Path, config: serde_json::Value) -> PathBuf {
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    path
}

/// A `docker-credential-<name>` script answering `answer` for `server` (and "not found" otherwise).
fn write_helper(dir: &Path, name: &str, server: &str, answer: &str) {
    let path = dir.join(format!("docker-credential-{name}"));
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread -r server\nif [ \"$server\" = '{server}' ]; then printf '%s' '{answer}'; else echo 'credentials not found in native keychain'; exit 1; fi\n"
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn basic_auth_with_explicit_credentials_and_clear_errors() {
    let reg = Registry::start_with_htpasswd(USER, PASS);
    // No credentials at all.
    let err = round_trip(&reg, &isolated_options()).unwrap_err();
    let text = no_secret(&err);
    assert!(matches!(err, OciError::Auth { .. }), "{text}");
    assert!(
        text.contains(reg.host()) && text.contains("PROOFLINE_REGISTRY_USERNAME"),
        "{text}"
    );

    // A wrong password: a 401 that names the status, the source and the fix.
    let wrong = RegistryOptions {
        credentials: Some(Credentials::basic(USER, "wrong-password")),
        ..isolated_options()
    };
    let err = round_trip(&reg, &wrong).unwrap_err();
    let text = no_secret(&err);
    assert!(matches!(err, OciError::Auth { .. }), "{text}");
    assert!(
        text.contains("401")
            && text.contains("PROOFLINE_REGISTRY_USERNAME/PROOFLINE_REGISTRY_PASSWORD")
            && text.contains("we sent credentials from the explicit options"),
        "{text}"
    );
    assert!(!text.contains("wrong-password"), "{text}");

    // The right ones (as the CLI passes PROOFLINE_REGISTRY_USERNAME/PASSWORD).
    let right = RegistryOptions {
        credentials: Some(Credentials::basic(USER, PASS)),
        ..isolated_options()
    };
    round_trip(&reg, &right).unwrap();
    assert!(
        !format!("{right:?}").contains(PASS),
        "options print no secret"
    );

    // Credentials meant for another registry are not sent here.
    let elsewhere = RegistryOptions {
        credentials_registry: Some("registry.example".into()),
        ..right.clone()
    };
    assert!(matches!(
        round_trip(&reg, &elsewhere),
        Err(OciError::Auth { .. })
    ));
    let here = RegistryOptions {
        credentials_registry: Some(reg.host().to_string()),
        ..right
    };
    round_trip(&reg, &here).unwrap();

    // skopeo reads what we pushed with the same credentials.
    let raw = skopeo_inspect_raw(
        &reg.docker("private/app:1"),
        Some(&format!("{USER}:{PASS}")),
    );
    assert_eq!(sha256_digest(&raw), image().manifest.digest);
}

#[test]
fn docker_config_auths_entries_work() {
    let reg = Registry::start_with_htpasswd(USER, PASS);
    let dir = tempfile::tempdir().unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
    for key in [reg.host().to_string(), format!("http://{}/v2/", reg.host())] {
        let config = write_config(dir.path(), json!({ "auths": { key: { "auth": encoded } } }));
        round_trip(
            &reg,
            &RegistryOptions {
                docker_config: Some(config),
                ..RegistryOptions::default()
            },
        )
        .unwrap();
    }
    let config = write_config(
        dir.path(),
        json!({ "auths": { reg.host(): { "username": USER, "password": PASS } } }),
    );
    round_trip(
        &reg,
        &RegistryOptions {
            docker_config: Some(config),
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    // A wrong entry fails and names the config file as the source.
    let bad = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:nope"));
    let config = write_config(
        dir.path(),
        json!({ "auths": { reg.host(): { "auth": bad } } }),
    );
    let err = round_trip(
        &reg,
        &RegistryOptions {
            docker_config: Some(config.clone()),
            ..RegistryOptions::default()
        },
    )
    .unwrap_err();
    let text = no_secret(&err);
    assert!(text.contains(&config.display().to_string()), "{text}");
}

#[test]
fn credential_helpers_from_cred_helpers_and_creds_store() {
    let reg = Registry::start_with_htpasswd(USER, PASS);
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let answer = serde_json::to_string(
        &json!({ "ServerURL": reg.host(), "Username": USER, "Secret": PASS }),
    )
    .unwrap();
    write_helper(&bin, "fake", reg.host(), &answer);
    let opts = |config: PathBuf| RegistryOptions {
        docker_config: Some(config),
        credential_helper_dirs: vec![bin.clone()],
        ..RegistryOptions::default()
    };

    let config = write_config(dir.path(), json!({ "credHelpers": { reg.host(): "fake" } }));
    round_trip(&reg, &opts(config)).unwrap();
    let config = write_config(
        dir.path(),
        json!({ "auths": { reg.host(): {} }, "credsStore": "fake" }),
    );
    round_trip(&reg, &opts(config)).unwrap();

    // A helper that is not installed is named.
    let config = write_config(
        dir.path(),
        json!({ "credHelpers": { reg.host(): "not-installed" } }),
    );
    let err = round_trip(&reg, &opts(config)).unwrap_err();
    assert!(
        err.to_string().contains("docker-credential-not-installed")
            && err.to_string().contains("not installed"),
        "{err}"
    );

    // A helper that hangs is stopped by the timeout.
    let slow = bin.join("docker-credential-slow");
    std::fs::write(&slow, "#!/bin/sh\nsleep 30\n").unwrap();
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = write_config(dir.path(), json!({ "credHelpers": { reg.host(): "slow" } }));
    let started = std::time::Instant::now();
    let err = round_trip(
        &reg,
        &RegistryOptions {
            credential_helper_timeout: Duration::from_secs(1),
            ..opts(config)
        },
    )
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        err.to_string().contains("did not answer within 1s"),
        "{err}"
    );

    // A helper without credentials for this registry means anonymous, hence the registry's 401.
    let config = write_config(
        dir.path(),
        json!({ "credsStore": "fake", "credHelpers": { "other.example": "fake" } }),
    );
    write_helper(&bin, "fake", "some-other-server", &answer);
    let err = round_trip(&reg, &opts(config)).unwrap_err();
    assert!(matches!(err, OciError::Auth { .. }), "{err}");
}

#[test]
fn bearer_token_flow_through_the_token_server() {
    let reg = Registry::start_with_token_auth(USER, PASS);
    let right = RegistryOptions {
        credentials: Some(Credentials::basic(USER, PASS)),
        ..isolated_options()
    };
    round_trip(&reg, &right).unwrap();
    let requests = reg.token_requests();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r.service.as_deref() == Some("proofline-testkit")
                && r.user.as_deref() == Some(USER)
                && r.authenticated),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|r| r
            .scopes
            .contains(&"repository:private/app:pull,push".to_string())),
        "{requests:?}"
    );
    // Tokens are cached per scope: far fewer token requests than registry requests.
    assert!(
        requests.len() <= 3,
        "one token per scope, not per request: {requests:?}"
    );

    // A mount asks for pull access to the source repository too.
    let other = open(&reg.reference("private/other:1"), &right);
    let layer = descriptor(&image().layers[0]);
    other
        .put_blob(
            &layer,
            &mut &image().layers[0].bytes[..],
            Some("private/app"),
        )
        .unwrap();
    assert!(other.has_blob(&layer).unwrap());
    assert!(
        reg.token_requests().iter().any(|r| r
            .scopes
            .contains(&"repository:private/app:pull".to_string())
            && r.scopes
                .contains(&"repository:private/other:pull,push".to_string())),
        "{:?}",
        reg.token_requests()
    );

    // Anonymous: a token without access, so the registry still refuses.
    let err = round_trip(&reg, &isolated_options()).unwrap_err();
    let text = no_secret(&err);
    assert!(
        matches!(err, OciError::Auth { .. }) && text.contains("401") && text.contains("anonymous"),
        "{text}"
    );

    // A wrong password is refused by the token service, and the error says so.
    let wrong = RegistryOptions {
        credentials: Some(Credentials::basic(USER, "bad")),
        ..isolated_options()
    };
    let err = round_trip(&reg, &wrong).unwrap_err();
    let text = no_secret(&err);
    assert!(
        text.contains("token service")
            && text.contains("401 Unauthorized")
            && text.contains("docker login"),
        "{text}"
    );

    // An identity token (docker login's refresh token) goes through the OAuth2 POST.
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        json!({ "auths": { reg.host(): { "identitytoken": PASS } } }),
    );
    round_trip(
        &reg,
        &RegistryOptions {
            docker_config: Some(config),
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    let token = RegistryOptions {
        credentials: Some(Credentials::IdentityToken(Secret::new(PASS))),
        ..isolated_options()
    };
    round_trip(&reg, &token).unwrap();
}
