//! What the scan binary's tests share: the repository root, and the binary run outside CI with
//! none of the caller's `PROOFLINE_*` settings leaking in.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `proofline-scan ARGS` in `cwd`, logging at `level`.
pub fn scan(args: &[&str], cwd: &Path, level: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_proofline-scan"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITLAB_CI");
    for (k, _) in std::env::vars() {
        if k.starts_with("PROOFLINE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("PROOFLINE_LOG_LEVEL", level);
    cmd.output().unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
