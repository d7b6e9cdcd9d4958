//! `skopeo`, the reference client the registry tests cross-check against (plain HTTP to the
//! loopback test registry, no signature policy).

use std::process::{Command, Output};

use crate::require_tool;

/// Runs `skopeo --insecure-policy <args>` and returns what it did.
pub fn skopeo(args: &[&str]) -> Output {
    let bin = require_tool("skopeo");
    Command::new(bin)
        .arg("--insecure-policy")
        .args(args)
        .output()
        .unwrap()
}

/// Runs skopeo and returns its stdout; panics with its stderr when it fails.
pub fn skopeo_ok(args: &[&str]) -> Vec<u8> {
    let out = skopeo(args);
    assert!(
        out.status.success(),
        "skopeo {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `skopeo copy` with TLS verification off on both sides (the test registry speaks plain HTTP);
/// `extra` goes before the source (e.g. `--dest-creds user:pass`, `--preserve-digests`).
pub fn skopeo_copy(src: &str, dst: &str, extra: &[&str]) {
    let mut args = vec!["copy", "--src-tls-verify=false", "--dest-tls-verify=false"];
    args.extend_from_slice(extra);
    args.push(src);
    args.push(dst);
    skopeo_ok(&args);
}

/// The raw manifest bytes at `docker://…` (`skopeo inspect --raw`), with optional `user:pass`.
pub fn skopeo_inspect_raw(docker_ref: &str, creds: Option<&str>) -> Vec<u8> {
    let mut args = vec!["inspect", "--raw", "--tls-verify=false"];
    if let Some(c) = creds {
        args.push("--creds");
        args.push(c);
    }
    args.push(docker_ref);
    skopeo_ok(&args)
}
