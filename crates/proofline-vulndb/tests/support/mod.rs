//! Helpers shared by the integration tests: the fixture database, zips built from it, parsing
//! files directly (the reference the index is compared with).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use proofline_vulndb::Advisory;
use proofline_vulndb::osv::{Format, Parsed, parse_advisory};

/// `fixtures/vulndb/` (real OSV data, see its SOURCE.md).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/vulndb")
}

/// Every `.json`/`.yaml`/`.yml` file under `dir`, sorted.
pub fn advisory_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else if Format::from_name(&p.to_string_lossy()).is_some() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Parses one file directly.
pub fn parse(path: &Path) -> Option<Advisory> {
    let bytes = std::fs::read(path).unwrap();
    let format = Format::from_name(&path.to_string_lossy()).unwrap();
    match parse_advisory(&bytes, format, &path.display().to_string()).unwrap() {
        Parsed::Advisory(a) => Some(*a),
        Parsed::NotOsv(_) => None,
    }
}

/// A zip of `(entry name, bytes)`, deflated.
pub fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// OSV's all.zip layout (`<id>.json` at the root) for the files under `dir`.
pub fn all_zip_of(dir: &Path) -> Vec<u8> {
    let entries: Vec<(String, Vec<u8>)> = advisory_files(dir)
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    zip_of(&entries)
}

/// A minimal OSV record.
pub fn record(id: &str, modified: &str, ecosystem: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "modified": modified,
        "affected": [{
            "package": {"ecosystem": ecosystem, "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]
        }]
    })
}
