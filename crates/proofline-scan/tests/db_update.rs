//! `proofline-scan db update` end to end, as CI runs it: OSV's `{ecosystem}/all.zip` served by a
//! local HTTP server (std only, loopback), downloaded once, not again while its ETag holds, and
//! the index it builds used by a scan.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::repo;
use std::sync::{Arc, Mutex};

/// RustSec's OSV records as OSV publishes them: `<id>.json` at the root of one zip.
fn crates_io_zip() -> Vec<u8> {
    let dir = repo().join("fixtures/vulndb/rustsec-osv/crates");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for path in names {
        w.start_file(path.file_name().unwrap().to_string_lossy(), opts)
            .unwrap();
        w.write_all(&std::fs::read(&path).unwrap()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Serves `/crates.io/all.zip` with an ETag; answers 304 to a matching `If-None-Match`.
/// Returns the base URL and the log of (path, status) per request.
/// Each request's path and the status it got.
type RequestLog = Arc<Mutex<Vec<(String, u16)>>>;

fn serve(body: Vec<u8>) -> (String, RequestLog) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            let mut if_none_match = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("if-none-match")
                {
                    if_none_match = Some(v.trim().to_string());
                }
            }
            let etag = "\"fixture-1\"";
            let (status, payload): (u16, &[u8]) = if path != "/crates.io/all.zip" {
                (404, b"not found")
            } else if if_none_match.as_deref() == Some(etag) {
                (304, b"")
            } else {
                (200, &body)
            };
            seen.lock().unwrap().push((path, status));
            let reason = match status {
                200 => "OK",
                304 => "Not Modified",
                _ => "Not Found",
            };
            let head = format!(
                "HTTP/1.1 {status} {reason}\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                payload.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(payload);
            let _ = stream.flush();
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest);
        }
    });
    (base, log)
}

fn scan(args: &[&str], cwd: &Path) -> Output {
    common::scan(args, cwd, "info")
}

#[test]
fn update_downloads_once_then_reuses_the_cache_and_the_index_scans() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, log) = serve(crates_io_zip());
    let db = tmp.path().join("db/vulndb.idx");
    let args = [
        "db",
        "update",
        "--base-url",
        &base,
        "--ecosystems",
        "crates.io",
        "--out",
        db.to_str().unwrap(),
    ];
    let out = scan(&args, tmp.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.is_file());
    assert!(
        tmp.path().join("db/vulndb.idx.d").is_dir(),
        "the archives are cached next to the index"
    );
    let first = std::fs::read(&db).unwrap();

    // Unchanged upstream: a conditional request, a 304, the index kept byte for byte.
    let out = scan(&args, tmp.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("index kept"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&db).unwrap(), first);
    let statuses: Vec<u16> = log.lock().unwrap().iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [200, 304]);

    // The index it built scans: the rust-app binary's four RustSec findings.
    let layout = tmp.path().join("image");
    let bin = std::fs::read(repo().join("fixtures/scan/rust-app/rust-app-audited")).unwrap();
    proofline_testkit::TestImage::new(&[("usr/local/bin/rust-app", bin.as_slice())])
        .write_layout(&layout, "1");
    let ev = tmp.path().join("ev");
    let image = format!("oci:{}:1", layout.display());
    let out = scan(
        &[
            "--image",
            &image,
            "--db",
            db.to_str().unwrap(),
            "--fail-on",
            "none",
            "--evidence-dir",
            ev.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ev.join("scan/report.json")).unwrap()).unwrap();
    let mut ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "RUSTSEC-2020-0071",
            "RUSTSEC-2020-0159",
            "RUSTSEC-2021-0003",
            "RUSTSEC-2022-0013"
        ]
    );
    assert_eq!(report["database"]["kind"], "index");
    assert!(
        report["database"]["sources"][0]["name"]
            .as_str()
            .unwrap()
            .contains("crates.io"),
        "{}",
        report["database"]
    );

    // An ecosystem the mirror does not have: exit 2 naming the URL.
    let out = scan(
        &[
            "db",
            "update",
            "--base-url",
            &base,
            "--ecosystems",
            "NoSuch",
            "--out",
            db.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NoSuch"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        first,
        "a failed update keeps the index"
    );
}
