//! The sign and verify packaging (actions/sign, actions/verify, the root action's pipeline step,
//! gitlab-templates/sign.yml, verify.yml and pipeline.yml) run with a stand-in `proofline`: each
//! signing mode reaches the binary as the flags' variables (`PROOFLINE_KEYLESS`,
//! `PROOFLINE_EPHEMERAL_KEY`, `PROOFLINE_SIGN_KEY`), empty inputs and an empty password are
//! unset, the GitLab ID token survives only in keyless mode, contradictory inputs stop before the
//! binary runs (exit 2), the binary's exit code is the step's, and every variable set is one the
//! real CLI reads.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::packaging_harness::{
    action_env_names, assert_no_empty_proofline_vars, assert_refused, cli_env_vars, github_step,
    gitlab_env_names, gitlab_job, read,
};
use crate::rules::parse_yaml;

const SIGN: &str = "actions/sign/action.yml";
const VERIFY: &str = "actions/verify/action.yml";
const ROOT: &str = "action.yml";
const GL_SIGN: &str = "gitlab-templates/sign.yml";
const GL_VERIFY: &str = "gitlab-templates/verify.yml";
const GL_PIPELINE: &str = "gitlab-templates/pipeline.yml";

fn var<'a>(vars: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    vars.get(name).map(String::as_str)
}

#[test]
fn sign_action_defaults_to_keyless_and_passes_only_set_inputs() {
    let ran = github_step(SIGN, "sign", &[], &[], 0);
    assert_eq!(ran.status, 0, "{ran:#?}");
    let vars = ran.only_call("sign");
    assert_eq!(var(vars, "PROOFLINE_KEYLESS"), Some("true"));
    assert_eq!(var(vars, "PROOFLINE_EPHEMERAL_KEY"), None);
    assert_eq!(var(vars, "PROOFLINE_SIGN_KEY"), None);
    assert_eq!(
        var(vars, "PROOFLINE_SIGN_MODE"),
        None,
        "the mode is ours, not a flag"
    );
    assert_eq!(var(vars, "PROOFLINE_EVIDENCE_DIR"), Some("evidence"));
    assert_eq!(var(vars, "PROOFLINE_FULCIO_URL"), None);
    assert_no_empty_proofline_vars(vars);

    let ran = github_step(
        SIGN,
        "sign",
        &[
            ("fulcio-url", "https://fulcio.internal"),
            ("rekor-url", "https://rekor.internal"),
            ("docker-reference", "ghcr.io/acme/app"),
        ],
        &[],
        0,
    );
    let vars = ran.only_call("sign");
    assert_eq!(
        var(vars, "PROOFLINE_FULCIO_URL"),
        Some("https://fulcio.internal")
    );
    assert_eq!(
        var(vars, "PROOFLINE_REKOR_URL"),
        Some("https://rekor.internal")
    );
    assert_eq!(
        var(vars, "PROOFLINE_DOCKER_REFERENCE"),
        Some("ghcr.io/acme/app")
    );
}

#[test]
fn sign_action_key_mode_takes_the_password_from_env_and_unsets_an_empty_one() {
    let inputs = [("mode", "key"), ("key", "keys/cosign.key")];
    let ran = github_step(
        SIGN,
        "sign",
        &inputs,
        &[("PROOFLINE_SIGN_PASSWORD", "s3cret")],
        0,
    );
    assert_eq!(ran.status, 0, "{ran:#?}");
    let vars = ran.only_call("sign");
    assert_eq!(var(vars, "PROOFLINE_SIGN_KEY"), Some("keys/cosign.key"));
    assert_eq!(var(vars, "PROOFLINE_SIGN_PASSWORD"), Some("s3cret"));
    assert_eq!(var(vars, "PROOFLINE_KEYLESS"), None);
    assert_eq!(var(vars, "PROOFLINE_EPHEMERAL_KEY"), None);

    // A secret that is not there (a fork's pull request) must not become "no password".
    let ran = github_step(SIGN, "sign", &inputs, &[("PROOFLINE_SIGN_PASSWORD", "")], 0);
    let vars = ran.only_call("sign");
    assert_eq!(var(vars, "PROOFLINE_SIGN_PASSWORD"), None);
    assert_no_empty_proofline_vars(vars);
}

#[test]
fn sign_action_ephemeral_mode_passes_the_algorithm() {
    let ran = github_step(
        SIGN,
        "sign",
        &[("mode", "ephemeral-key"), ("algorithm", "ed25519")],
        &[],
        0,
    );
    let vars = ran.only_call("sign");
    assert_eq!(var(vars, "PROOFLINE_EPHEMERAL_KEY"), Some("true"));
    assert_eq!(var(vars, "PROOFLINE_KEYLESS"), None);
    assert_eq!(var(vars, "PROOFLINE_KEY_ALGORITHM"), Some("ed25519"));
}

#[test]
fn sign_action_refuses_contradictory_inputs_before_running() {
    assert_refused(
        &github_step(SIGN, "sign", &[("mode", "key")], &[], 0),
        "needs the key input",
    );
    assert_refused(
        &github_step(SIGN, "sign", &[("key", "cosign.key")], &[], 0),
        "only used with mode 'key'",
    );
    assert_refused(
        &github_step(SIGN, "sign", &[("algorithm", "rsa-4096")], &[], 0),
        "only used with mode 'ephemeral-key'",
    );
    for bad in ["Keyless", "kms", "keyless; rm -rf /", ""] {
        assert_refused(
            &github_step(SIGN, "sign", &[("mode", bad)], &[], 0),
            "must be keyless, key or ephemeral-key",
        );
    }
}

#[test]
fn sign_and_verify_steps_exit_with_the_binary_exit_code() {
    for code in [1, 2] {
        let ran = github_step(SIGN, "sign", &[("mode", "ephemeral-key")], &[], code);
        assert_eq!(ran.status, code, "{ran:#?}");
    }
    let trust = [
        ("image", "ghcr.io/acme/app@sha256:0123"),
        ("key", "cosign.pub"),
    ];
    let ran = github_step(VERIFY, "verify", &trust, &[], 0);
    assert_eq!(ran.status, 0, "{ran:#?}");
    assert!(ran.outputs.contains("result=passed\n"), "{}", ran.outputs);
    for code in [1, 2] {
        let ran = github_step(VERIFY, "verify", &trust, &[], code);
        assert_eq!(ran.status, code, "{ran:#?}");
        assert!(ran.outputs.contains("result=failed\n"), "{}", ran.outputs);
        assert!(!ran.outputs.contains("result=passed"), "{}", ran.outputs);
    }
}

#[test]
fn verify_action_maps_every_trust_input() {
    let ran = github_step(
        VERIFY,
        "verify",
        &[
            ("image", "ghcr.io/acme/app@sha256:0123"),
            (
                "certificate-identity-regexp",
                "^https://github.com/acme/.*$",
            ),
            (
                "certificate-oidc-issuer",
                "https://token.actions.githubusercontent.com",
            ),
            ("trusted-root", "trusted_root.json"),
            (
                "require",
                "https://cyclonedx.org/bom,https://openvex.dev/ns/v0.2.0",
            ),
            ("output", "report.json"),
        ],
        &[],
        0,
    );
    let vars = ran.only_call("verify");
    assert_eq!(
        var(vars, "PROOFLINE_IMAGE"),
        Some("ghcr.io/acme/app@sha256:0123")
    );
    assert_eq!(
        var(vars, "PROOFLINE_CERTIFICATE_IDENTITY_REGEXP"),
        Some("^https://github.com/acme/.*$")
    );
    assert_eq!(
        var(vars, "PROOFLINE_CERTIFICATE_OIDC_ISSUER"),
        Some("https://token.actions.githubusercontent.com")
    );
    assert_eq!(
        var(vars, "PROOFLINE_TRUSTED_ROOT"),
        Some("trusted_root.json")
    );
    assert_eq!(
        var(vars, "PROOFLINE_VERIFY_REQUIRE"),
        Some("https://cyclonedx.org/bom,https://openvex.dev/ns/v0.2.0")
    );
    assert_eq!(var(vars, "PROOFLINE_VERIFY_OUTPUT"), Some("report.json"));
    assert_eq!(var(vars, "PROOFLINE_VERIFY_KEY"), None);
    assert_eq!(var(vars, "PROOFLINE_CERTIFICATE_IDENTITY"), None);
    assert_no_empty_proofline_vars(vars);
    assert!(
        ran.outputs.contains("report=report.json\n"),
        "{}",
        ran.outputs
    );
}

#[test]
fn root_action_signs_with_an_ephemeral_key_unless_told_otherwise() {
    let image = [("image", "oci:fixtures/images/app:1.0")];
    let ran = github_step(ROOT, "pipeline", &image, &[], 0);
    assert_eq!(ran.status, 0, "{ran:#?}");
    let vars = ran.only_call("pipeline");
    assert_eq!(var(vars, "PROOFLINE_EPHEMERAL_KEY"), Some("true"));
    assert_eq!(var(vars, "PROOFLINE_KEYLESS"), None);
    assert_no_empty_proofline_vars(vars);

    let ran = github_step(
        ROOT,
        "pipeline",
        &[
            ("image", "x"),
            ("sign-mode", "keyless"),
            ("trusted-root", "root.json"),
            ("docker-reference", "ghcr.io/acme/app"),
        ],
        &[],
        0,
    );
    let vars = ran.only_call("pipeline");
    assert_eq!(var(vars, "PROOFLINE_KEYLESS"), Some("true"));
    assert_eq!(var(vars, "PROOFLINE_EPHEMERAL_KEY"), None);
    assert_eq!(var(vars, "PROOFLINE_TRUSTED_ROOT"), Some("root.json"));
    assert_eq!(
        var(vars, "PROOFLINE_DOCKER_REFERENCE"),
        Some("ghcr.io/acme/app")
    );

    let ran = github_step(
        ROOT,
        "pipeline",
        &[
            ("image", "x"),
            ("sign-mode", "key"),
            ("sign-key", "cosign.key"),
        ],
        &[("PROOFLINE_SIGN_PASSWORD", "pw")],
        0,
    );
    let vars = ran.only_call("pipeline");
    assert_eq!(var(vars, "PROOFLINE_SIGN_KEY"), Some("cosign.key"));
    assert_eq!(var(vars, "PROOFLINE_SIGN_PASSWORD"), Some("pw"));
    assert_eq!(var(vars, "PROOFLINE_EPHEMERAL_KEY"), None);

    assert_refused(
        &github_step(
            ROOT,
            "pipeline",
            &[("image", "x"), ("sign-mode", "key")],
            &[],
            0,
        ),
        "needs the sign-key input",
    );
    assert_refused(
        &github_step(
            ROOT,
            "pipeline",
            &[("image", "x"), ("sign-key", "k")],
            &[],
            0,
        ),
        "only used with sign-mode 'key'",
    );
}

#[test]
fn gitlab_sign_keeps_the_id_token_only_for_keyless() {
    let job = gitlab_job(GL_SIGN, &[]);
    assert_eq!(job.job["id_tokens"]["SIGSTORE_ID_TOKEN"]["aud"], "sigstore");
    let ran = job.run(&[], 0);
    assert_eq!(ran.status, 0, "{ran:#?}");
    let vars = ran.only_call("sign");
    assert_eq!(var(vars, "PROOFLINE_KEYLESS"), Some("true"));
    assert_eq!(var(vars, "SIGSTORE_ID_TOKEN"), Some("eyJ.test-token.sig"));
    assert_eq!(var(vars, "PROOFLINE_SIGN_MODE"), None);
    assert_no_empty_proofline_vars(vars);

    let ran = gitlab_job(GL_SIGN, &[("mode", "ephemeral-key")]).run(&[], 0);
    let vars = ran.only_call("sign");
    assert_eq!(var(vars, "PROOFLINE_EPHEMERAL_KEY"), Some("true"));
    assert_eq!(var(vars, "SIGSTORE_ID_TOKEN"), None);

    let job = gitlab_job(
        GL_SIGN,
        &[("mode", "key"), ("key", "/builds/tmp/COSIGN_KEY")],
    );
    let ran = job.run(&[("PROOFLINE_SIGN_PASSWORD", "pw")], 0);
    let vars = ran.only_call("sign");
    assert_eq!(
        var(vars, "PROOFLINE_SIGN_KEY"),
        Some("/builds/tmp/COSIGN_KEY")
    );
    assert_eq!(var(vars, "PROOFLINE_SIGN_PASSWORD"), Some("pw"));
    assert_eq!(var(vars, "SIGSTORE_ID_TOKEN"), None);
    assert_eq!(var(vars, "PROOFLINE_KEYLESS"), None);

    let ran = job.run(&[("PROOFLINE_SIGN_PASSWORD", "")], 0);
    assert_eq!(var(ran.only_call("sign"), "PROOFLINE_SIGN_PASSWORD"), None);
    assert_eq!(job.run(&[], 2).status, 2);

    assert_refused(
        &gitlab_job(GL_SIGN, &[("mode", "key")]).run(&[], 0),
        "needs the key input",
    );
    assert_refused(
        &gitlab_job(GL_SIGN, &[("algorithm", "ed25519")]).run(&[], 0),
        "only used with mode 'ephemeral-key'",
    );
}

#[test]
fn gitlab_pipeline_signs_ephemerally_by_default_and_keyless_on_request() {
    let image = ("image", "oci:fixtures/images/app:1.0");
    let job = gitlab_job(GL_PIPELINE, &[image]);
    assert_eq!(job.job["id_tokens"]["SIGSTORE_ID_TOKEN"]["aud"], "sigstore");
    let ran = job.run(&[], 0);
    assert_eq!(ran.status, 0, "{ran:#?}");
    let vars = ran.only_call("pipeline");
    assert_eq!(var(vars, "PROOFLINE_EPHEMERAL_KEY"), Some("true"));
    assert_eq!(
        var(vars, "SIGSTORE_ID_TOKEN"),
        None,
        "the token is for keyless only"
    );
    assert_no_empty_proofline_vars(vars);

    let ran = gitlab_job(GL_PIPELINE, &[image, ("sign-mode", "keyless")]).run(&[], 0);
    let vars = ran.only_call("pipeline");
    assert_eq!(var(vars, "PROOFLINE_KEYLESS"), Some("true"));
    assert_eq!(var(vars, "SIGSTORE_ID_TOKEN"), Some("eyJ.test-token.sig"));
    assert_eq!(var(vars, "PROOFLINE_EPHEMERAL_KEY"), None);

    assert_refused(
        &gitlab_job(GL_PIPELINE, &[image, ("sign-mode", "key")]).run(&[], 0),
        "needs the sign-key input",
    );
}

#[test]
fn gitlab_verify_maps_its_inputs_and_keeps_the_report() {
    let job = gitlab_job(
        GL_VERIFY,
        &[
            ("image", "registry.example/app@sha256:0123"),
            (
                "certificate-identity",
                "https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main",
            ),
            ("certificate-oidc-issuer", "https://gitlab.com"),
        ],
    );
    assert!(
        job.job.get("id_tokens").is_none(),
        "verifying needs no identity"
    );
    let ran = job.run(&[], 0);
    assert_eq!(ran.status, 0, "{ran:#?}");
    let vars = ran.only_call("verify");
    assert_eq!(
        var(vars, "PROOFLINE_IMAGE"),
        Some("registry.example/app@sha256:0123")
    );
    assert_eq!(
        var(vars, "PROOFLINE_CERTIFICATE_OIDC_ISSUER"),
        Some("https://gitlab.com")
    );
    assert_eq!(
        var(vars, "PROOFLINE_VERIFY_OUTPUT"),
        Some("proofline-verify.json")
    );
    assert_no_empty_proofline_vars(vars);
    let kept: Vec<&str> = job.job["artifacts"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(kept.contains(&"$[[ inputs.output ]]"), "{kept:?}");
    assert_eq!(job.run(&[], 1).status, 1);
}

/// Every `PROOFLINE_*` variable the packaging sets is one the command it runs reads: a typo
/// (`PROOFLINE_KEY` for `PROOFLINE_VERIFY_KEY`) would silently drop an input.
#[test]
fn packaging_sets_only_variables_the_cli_reads() {
    // Ours: translated to the flags' variables by the script, then unset.
    let glue = ["PROOFLINE_SIGN_MODE"];
    let check = |what: &str, names: Vec<String>, cli: &[String]| {
        assert!(!cli.is_empty(), "no [env: ...] in the help of {what}");
        for name in names {
            if !name.starts_with("PROOFLINE_")
                || name.starts_with("PROOFLINE_SETUP_")
                || glue.contains(&name.as_str())
            {
                continue;
            }
            assert!(
                cli.contains(&name),
                "{what} sets {name}, which the CLI does not read: {cli:?}"
            );
        }
    };
    let sign = cli_env_vars(&["sign"]);
    let verify = cli_env_vars(&["verify"]);
    let pipeline = cli_env_vars(&["pipeline"]);
    for required in [
        "PROOFLINE_KEYLESS",
        "PROOFLINE_EPHEMERAL_KEY",
        "PROOFLINE_SIGN_KEY",
    ] {
        assert!(
            sign.iter().any(|v| v == required),
            "sign --help lacks {required}"
        );
        assert!(
            pipeline.iter().any(|v| v == required),
            "pipeline --help lacks {required}"
        );
    }
    check(SIGN, action_env_names(SIGN, "sign"), &sign);
    check(GL_SIGN, gitlab_env_names(GL_SIGN), &sign);
    check(VERIFY, action_env_names(VERIFY, "verify"), &verify);
    check(GL_VERIFY, gitlab_env_names(GL_VERIFY), &verify);
    check(ROOT, action_env_names(ROOT, "pipeline"), &pipeline);
    // The GitLab pipeline job also runs `scan db update` (PROOFLINE_DB is read by both).
    let mut pipeline_and_update = pipeline;
    pipeline_and_update.extend(cli_env_vars(&["scan", "db", "update"]));
    let gl: Vec<String> = gitlab_env_names(GL_PIPELINE)
        .into_iter()
        .filter(|n| n != "PROOFLINE_SCAN_DB_UPDATE")
        .collect();
    check(GL_PIPELINE, gl, &pipeline_and_update);
}

/// The keyless permission is where a user will look for it.
#[test]
fn keyless_permission_is_documented_where_it_is_needed() {
    let sign_readme = read("actions/sign/README.md");
    assert!(sign_readme.contains("id-token: write"));
    assert!(sign_readme.contains("contents: read"));
    let root = parse_yaml(&read(ROOT)).unwrap();
    let mode = root["inputs"]["sign-mode"]["description"].as_str().unwrap();
    assert!(mode.contains("id-token write"), "{mode}");
    assert!(read("actions/verify/README.md").contains("contents: read"));
}
