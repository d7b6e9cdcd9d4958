//! Runs a GitHub action's step or a GitLab component's job script for real, with its inputs
//! interpolated as the CI would and a stand-in `proofline` that records its arguments and
//! environment; and lists the `PROOFLINE_*` variables the real binary's `--help` documents.
//! Used by sign_packaging.rs. Needs bash on PATH.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

use crate::rules::parse_yaml;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn read(rel: &str) -> String {
    fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// The stand-in binary: one line of arguments, then the variables that matter, per call.
const STUB: &str = r#"#!/bin/bash
{
  printf 'CALL %s\n' "$*"
  env | grep -E '^(PROOFLINE_|SIGSTORE_ID_TOKEN=|COSIGN_PASSWORD=)' | sort
} >> "$STUB_LOG"
exit "${STUB_EXIT:-0}"
"#;

/// What one run of a step's script did.
#[derive(Debug)]
pub struct Ran {
    pub status: i32,
    pub stderr: String,
    /// One entry per `proofline` call: its arguments and its environment.
    pub calls: Vec<(String, BTreeMap<String, String>)>,
    /// `$GITHUB_OUTPUT` as the step left it.
    pub outputs: String,
}

impl Ran {
    pub fn only_call(&self, args: &str) -> &BTreeMap<String, String> {
        let calls: Vec<_> = self.calls.iter().filter(|(a, _)| a == args).collect();
        assert_eq!(
            calls.len(),
            1,
            "one `proofline {args}` call expected: {self:#?}"
        );
        &calls[0].1
    }
}

/// Runs `script` under `bash -eo pipefail` (as both CIs do) with exactly `env` (plus PATH and
/// the stand-in's settings), in a fresh working directory.
fn run_script(script: &str, env: &BTreeMap<String, String>, stub_exit: i32) -> Ran {
    let tmp = TempDir::new().unwrap();
    let bin = tmp.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let stub = bin.join("proofline");
    fs::write(&stub, STUB).unwrap();
    let chmod = Command::new("chmod")
        .arg("755")
        .arg(&stub)
        .status()
        .unwrap();
    assert!(chmod.success());
    let log = tmp.path().join("calls.log");
    let outputs = tmp.path().join("github_output");
    fs::write(&outputs, "").unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .env_clear()
        .envs(env)
        .env("PATH", path)
        .env("HOME", tmp.path())
        .env("GITHUB_OUTPUT", &outputs)
        .env("STUB_LOG", &log)
        .env("STUB_EXIT", stub_exit.to_string())
        .current_dir(tmp.path())
        .output()
        .expect("bash must be installed");
    let mut calls: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for line in fs::read_to_string(&log).unwrap_or_default().lines() {
        if let Some(args) = line.strip_prefix("CALL ") {
            calls.push((args.to_owned(), BTreeMap::new()));
        } else if let (Some((name, value)), Some((_, vars))) =
            (line.split_once('='), calls.last_mut())
        {
            vars.insert(name.to_owned(), value.to_owned());
        }
    }
    Ran {
        status: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        calls,
        outputs: fs::read_to_string(&outputs).unwrap(),
    }
}

/// `${{ inputs.NAME }}` with the given input or the action's default; any other expression
/// (github.*, runner.*, format(...)) is empty, as an unset context would be.
fn github_value(value: &str, action: &Value, inputs: &[(&str, &str)]) -> String {
    let Some(inner) = value
        .trim()
        .strip_prefix("${{")
        .and_then(|v| v.strip_suffix("}}"))
    else {
        return value.to_owned();
    };
    let Some(name) = inner.trim().strip_prefix("inputs.") else {
        return String::new();
    };
    if let Some((_, given)) = inputs.iter().find(|(n, _)| *n == name) {
        return (*given).to_owned();
    }
    let default = action["inputs"][name]["default"].as_str().unwrap_or("");
    if default.contains("${{") {
        String::new()
    } else {
        default.to_owned()
    }
}

/// Runs the step `step_id` of a GitHub action with `inputs` (others at their defaults) and
/// `extra` variables from the caller's step `env:` (e.g. the password).
pub fn github_step(
    file: &str,
    step_id: &str,
    inputs: &[(&str, &str)],
    extra: &[(&str, &str)],
    stub_exit: i32,
) -> Ran {
    let action = parse_yaml(&read(file)).unwrap();
    for (name, _) in inputs {
        assert!(
            action["inputs"].get(*name).is_some(),
            "{file} has no input {name}"
        );
    }
    let step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == step_id)
        .unwrap_or_else(|| panic!("{file} has no step {step_id}"));
    let mut env: BTreeMap<String, String> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (name, value) in step["env"].as_object().unwrap() {
        env.insert(
            name.clone(),
            github_value(value.as_str().unwrap(), &action, inputs),
        );
    }
    run_script(step["run"].as_str().unwrap(), &env, stub_exit)
}

/// Replaces `$[[ inputs.NAME ]]` with the given input or its default, `$[[ component.* ]]` with ''.
fn gitlab_value(value: &str, spec: &Value, inputs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("$[[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after.find("]]").unwrap();
        let expr = after[..end].trim();
        if let Some(name) = expr.strip_prefix("inputs.") {
            let given = inputs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            let default = spec["inputs"][name]["default"].as_str();
            out.push_str(
                given
                    .or(default)
                    .unwrap_or_else(|| panic!("input {name} is required")),
            );
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A GitLab component's job: its interpolated variables, script and the whole job.
pub struct GitlabJob {
    pub job: Value,
    env: BTreeMap<String, String>,
    script: String,
}

pub fn gitlab_job(file: &str, inputs: &[(&str, &str)]) -> GitlabJob {
    let docs = serde_saphyr::from_multiple::<Value>(&read(file)).unwrap();
    let spec = &docs[0]["spec"];
    for (name, _) in inputs {
        assert!(
            spec["inputs"].get(*name).is_some(),
            "{file} has no input {name}"
        );
    }
    let job = docs[1]["$[[ inputs.job-name ]]"].clone();
    let env = job["variables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), gitlab_value(v.as_str().unwrap(), spec, inputs)))
        .collect();
    let script = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    GitlabJob { job, env, script }
}

impl GitlabJob {
    /// Runs the job's script with its variables, the ID token GitLab mints for `id_tokens`, and
    /// `extra` CI/CD variables.
    pub fn run(&self, extra: &[(&str, &str)], stub_exit: i32) -> Ran {
        let mut env = self.env.clone();
        if self.job["id_tokens"]["SIGSTORE_ID_TOKEN"]["aud"] == "sigstore" {
            env.insert(
                "SIGSTORE_ID_TOKEN".to_owned(),
                "eyJ.test-token.sig".to_owned(),
            );
        }
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        run_script(&self.script, &env, stub_exit)
    }
}

pub fn assert_no_empty_proofline_vars(vars: &BTreeMap<String, String>) {
    for (name, value) in vars {
        assert!(
            !value.is_empty(),
            "{name} reached proofline empty: empty inputs must be unset"
        );
    }
}

pub fn assert_refused(ran: &Ran, says: &str) {
    assert_eq!(ran.status, 2, "exit 2 expected: {ran:#?}");
    assert!(ran.calls.is_empty(), "proofline must not run: {ran:#?}");
    assert!(
        ran.stderr.contains(says),
        "stderr should say {says:?}: {}",
        ran.stderr
    );
}

/// The `[env: NAME=…]` variables `proofline <args> --help` documents.
pub fn cli_env_vars(args: &[&str]) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_proofline"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "proofline {args:?} --help failed");
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut vars = Vec::new();
    let mut rest = help.as_str();
    while let Some(start) = rest.find("[env: ") {
        let after = &rest[start + 6..];
        let end = after.find(['=', ']']).unwrap_or(after.len());
        vars.push(after[..end].to_owned());
        rest = &after[end..];
    }
    vars
}

pub fn action_env_names(file: &str, step_id: &str) -> Vec<String> {
    let action = parse_yaml(&read(file)).unwrap();
    let step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == step_id)
        .unwrap()
        .clone();
    step["env"].as_object().unwrap().keys().cloned().collect()
}

pub fn gitlab_env_names(file: &str) -> Vec<String> {
    let docs = serde_saphyr::from_multiple::<Value>(&read(file)).unwrap();
    docs[1]["$[[ inputs.job-name ]]"]["variables"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}
