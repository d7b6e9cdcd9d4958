//! Helpers shared by the integration tests: a fixed clock, stage fixtures, tree listings.
#![allow(dead_code, clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use proofline_evidence::{
    Clock, EvidenceDir, Findings, Outcome, Record, StageInfo, Subject, Timestamp, media_type,
};

pub const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// An evidence directory in a fresh temp dir, with a fixed clock.
pub fn fixed_dir() -> (tempfile::TempDir, EvidenceDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = EvidenceDir::open(tmp.path().join("evidence"))
        .unwrap()
        .with_clock(Clock::Fixed(
            Timestamp::from_unix_seconds(1_764_187_500).unwrap(),
        ));
    (tmp, dir)
}

pub fn info(stage: &str) -> StageInfo {
    StageInfo::new(stage, "proofline", "0.1.0")
        .with_subject(Subject::new("oci:fixtures/images/app:latest").with_digest(DIGEST))
}

/// Runs an `image` stage with two artifacts.
pub fn run_image(dir: &EvidenceDir) -> Record {
    let mut w = dir
        .begin_stage(
            info("image")
                .with_settings(&serde_json::json!({"platform": "linux/amd64"}))
                .unwrap(),
        )
        .unwrap();
    w.write_artifact("image.json", b"{\"layers\":3}\n", media_type::JSON)
        .unwrap();
    w.write_artifact("layers/list.txt", b"a\nb\nc\n", media_type::TEXT)
        .unwrap();
    w.finish().unwrap()
}

/// Runs an `sbom` stage that consumes `image/image.json`.
pub fn run_sbom(dir: &EvidenceDir) -> Record {
    let mut w = dir.begin_stage(info("sbom")).unwrap();
    let image = w.consume("image", "image.json").unwrap();
    assert_eq!(image, b"{\"layers\":3}\n");
    w.write_artifact(
        "sbom.spdx.json",
        b"{\"spdxVersion\":\"SPDX-2.3\"}\n",
        media_type::SPDX,
    )
    .unwrap();
    w.set_findings(Findings::new(Outcome::Passed).with_count("packages", 12))
        .unwrap();
    w.finish().unwrap()
}

/// Every path under `root` (relative, `/`-separated, directories with a trailing `/`), sorted.
pub fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let rel = entry
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if entry.file_type().unwrap().is_dir() {
                out.push(format!("{rel}/"));
                stack.push(entry.path());
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}
