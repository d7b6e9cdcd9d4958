//! The `proofline-scan` binary end to end over a test image holding real package metadata (a
//! Cargo.lock, PyPI dist-infos, npm node_modules, a Debian-owned Python package) against the
//! real OSV advisories in fixtures/vulndb: exactly the findings the advisories say, the gate,
//! VEX and expiring ignores, the database tools, and the errors (exit 2, nothing written).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{repo, scan, stderr};
use proofline_testkit::TestImage;
use serde_json::Value;

fn vulndb() -> String {
    repo().join("fixtures/vulndb").display().to_string()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn dist_info(name: &str, version: &str) -> (String, Vec<u8>) {
    (
        format!("/usr/local/lib/python3.11/dist-packages/{name}-{version}.dist-info/METADATA"),
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n").into_bytes(),
    )
}

fn npm(path: &str, name: &str, version: &str) -> (String, Vec<u8>) {
    (
        format!("{path}/package.json"),
        format!("{{\"name\": \"{name}\", \"version\": \"{version}\"}}").into_bytes(),
    )
}

/// The corpus's python-app, node-app and rust-app package sets in one image (the versions of
/// shared/corpus), plus Debian's python3-urllib3 owning an urllib3 1.26.12 dist-info.
fn app_image(dir: &Path) -> String {
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "/etc/os-release".into(),
            b"ID=debian\nVERSION_ID=\"12\"\n".to_vec(),
        ),
        (
            "/app/Cargo.lock".into(),
            std::fs::read(repo().join("fixtures/sbom/peer/rust-app.Cargo.lock")).unwrap(),
        ),
        (
            "/var/lib/dpkg/status".into(),
            b"Package: python3-urllib3\nStatus: install ok installed\nVersion: 1.26.12-1+deb12u1\nSource: python-urllib3\nArchitecture: all\n"
                .to_vec(),
        ),
        (
            "/var/lib/dpkg/info/python3-urllib3.list".into(),
            b"/usr/lib/python3/dist-packages/urllib3-1.26.12.dist-info\n/usr/lib/python3/dist-packages/urllib3-1.26.12.dist-info/METADATA\n".to_vec(),
        ),
        (
            "/usr/lib/python3/dist-packages/urllib3-1.26.12.dist-info/METADATA".into(),
            b"Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.12\n".to_vec(),
        ),
    ];
    for (name, version) in [
        ("requests", "2.19.1"),
        ("urllib3", "1.23"),
        ("idna", "2.7"),
        ("chardet", "3.0.4"),
        ("certifi", "2018.8.24"),
        ("Flask", "0.12.2"),
        ("Werkzeug", "0.14.1"),
        ("Jinja2", "2.10"),
        ("MarkupSafe", "1.1.1"),
        ("itsdangerous", "0.24"),
        ("click", "7.0"),
        ("PyYAML", "5.3"),
    ] {
        files.push(dist_info(name, version));
    }
    // A development-only lock-file entry (node-app's minimatch 3.0.4, GHSA-f8q6-p94x-37v3): not
    // installed, not judged.
    files.push((
        "/app/package-lock.json".into(),
        br#"{"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": {"": {"name": "app", "version": "1.0.0"}, "node_modules/minimatch": {"version": "3.0.4", "dev": true}}}"#.to_vec(),
    ));
    for (path, name, version) in [
        ("/app/node_modules/lodash", "lodash", "4.17.15"),
        ("/app/node_modules/minimist", "minimist", "1.2.0"),
        ("/app/node_modules/mkdirp", "mkdirp", "0.5.1"),
        (
            "/app/node_modules/mkdirp/node_modules/minimist",
            "minimist",
            "0.0.8",
        ),
        ("/app/node_modules/node-fetch", "node-fetch", "2.6.0"),
        ("/app/node_modules/ms", "ms", "2.1.3"),
    ] {
        files.push(npm(path, name, version));
    }
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.trim_start_matches('/'), b.as_slice()))
        .collect();
    let layout = dir.join("app");
    TestImage::new(&refs).write_layout(&layout, "1.0");
    format!("oci:{}:1.0", layout.display())
}

/// (ecosystem, name, version, id) of every finding.
fn finding_keys(report: &Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}",
                f["package"]["ecosystem"].as_str().unwrap(),
                f["package"]["name"].as_str().unwrap().to_ascii_lowercase(),
                f["package"]["version"].as_str().unwrap(),
                f["id"].as_str().unwrap()
            )
        })
        .collect()
}

/// The findings an independent evaluator (PEP 440 by `packaging`, SemVer by `python-semver`,
/// the OSV schema's algorithm) computed from the same advisories; see the file's header.
fn expected() -> BTreeSet<String> {
    include_str!("expected-app-findings.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            format!(
                "{} {} {} {}",
                parts[0],
                parts[1].to_ascii_lowercase(),
                parts[2],
                parts[3]
            )
        })
        .collect()
}

#[test]
fn findings_are_exactly_what_the_advisories_say() {
    let tmp = tempfile::tempdir().unwrap();
    let image = app_image(tmp.path());
    let ev = tmp.path().join("ev");
    let out = scan(
        &[
            "--image",
            &image,
            "--db",
            &vulndb(),
            "--fail-on",
            "none",
            "--evidence-dir",
            ev.to_str().unwrap(),
            "--max-db-age",
            "100000",
        ],
        tmp.path(),
        "warn",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&ev.join("scan/report.json"));
    let got = finding_keys(&report);
    let want = expected();
    assert_eq!(
        got.difference(&want).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "findings no advisory supports"
    );
    assert_eq!(
        want.difference(&got).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "missed findings"
    );
    // The Debian-owned urllib3 1.26.12 is judged by Debian's advisories (none here), not PyPI's.
    assert!(!got.iter().any(|k| k.contains("1.26.12")));
    assert_eq!(report["notes"]["distro-owned-skipped"], 1);
    assert_eq!(report["notes"]["dev-only-skipped"], 1);

    let find = |id: &str, version: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id && f["package"]["version"] == version)
            .unwrap_or_else(|| panic!("{id} {version}"))
            .clone()
    };
    // GHSA-xvch-5gv4-984h: minimist < 1.2.6 (and < 0.2.4), CVSS 3.1 9.8 computed from its vector.
    let m = find("GHSA-xvch-5gv4-984h", "1.2.0");
    assert_eq!(m["severity"], "CRITICAL");
    assert_eq!(m["cvss"]["score"], 9.8);
    assert_eq!(m["aliases"], serde_json::json!(["CVE-2021-44906"]));
    assert_eq!(m["fixed_versions"], serde_json::json!(["1.2.6"]));
    assert_eq!(
        m["locations"],
        serde_json::json!(["/app/node_modules/minimist/package.json"])
    );
    assert_eq!(m["blocking"], false, "fail-on none");
    let nested = find("GHSA-xvch-5gv4-984h", "0.0.8");
    assert_eq!(nested["fixed_versions"], serde_json::json!(["0.2.4"]));
    // RUSTSEC-2022-0013: regex < 1.5.5.
    let r = find("RUSTSEC-2022-0013", "1.5.4");
    assert_eq!(r["fixed_versions"], serde_json::json!(["1.5.5"]));
    assert!(
        r["aliases"]
            .as_array()
            .unwrap()
            .contains(&Value::from("CVE-2022-24713"))
    );
    assert_eq!(r["package"]["purl"], "pkg:cargo/regex@1.5.4");

    // Every output is there and the record counts them.
    for f in [
        "report.json",
        "vulns.json",
        "results.sarif",
        "gl-container-scanning-report.json",
        "vex.openvex.json",
        "summary.md",
        "record.json",
    ] {
        assert!(ev.join("scan").join(f).is_file(), "{f}");
    }
    let record = json(&ev.join("scan/record.json"));
    assert_eq!(record["findings"]["counts"]["findings"], want.len());
    assert_eq!(record["findings"]["counts"]["blocking"], 0);
    assert_eq!(record["findings"]["outcome"], "passed");

    // Upstream matching for distribution-owned packages adds PyPI's urllib3 advisories.
    let ev2 = tmp.path().join("ev2");
    let out = scan(
        &[
            "--image",
            &image,
            "--db",
            &vulndb(),
            "--fail-on",
            "none",
            "--evidence-dir",
            ev2.to_str().unwrap(),
            "--max-db-age",
            "100000",
            "--match-distro-owned",
            "upstream",
        ],
        tmp.path(),
        "warn",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got2 = finding_keys(&json(&ev2.join("scan/report.json")));
    let added: Vec<_> = got2.difference(&got).cloned().collect();
    assert_eq!(
        added,
        [
            "PyPI urllib3 1.26.12 PYSEC-2023-192",
            "PyPI urllib3 1.26.12 PYSEC-2023-212"
        ]
    );
}

/// The gate: a critical finding exits 1; waived by VEX it exits 0; a reasoned ignore waives
/// until it expires, then the finding blocks again.
#[test]
fn the_gate_vex_and_expiring_ignores() {
    let tmp = tempfile::tempdir().unwrap();
    let image = app_image(tmp.path());
    let base = [
        "--image",
        image.as_str(),
        "--db",
        &vulndb(),
        "--max-db-age",
        "100000",
    ];
    let run = |extra: &[&str], name: &str| {
        let ev = tmp.path().join(name);
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--evidence-dir", ev.to_str().unwrap()]);
        let out = scan(&args, tmp.path(), "warn");
        let report = ev.join("scan/report.json");
        (
            out,
            if report.exists() {
                json(&report)
            } else {
                Value::Null
            },
        )
    };
    let (out, report) = run(&[], "ev-default");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let blocking: BTreeSet<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["blocking"] == true)
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(blocking.contains("GHSA-xvch-5gv4-984h"), "{blocking:?}");
    for f in report["findings"].as_array().unwrap() {
        assert_eq!(f["blocking"] == true, f["severity"] == "CRITICAL", "{f}");
    }
    let criticals: BTreeSet<String> = blocking.iter().map(|s| s.to_string()).collect();
    let blocking_findings = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["blocking"] == true)
        .count();

    // A VEX document stating not_affected for every critical finding, by the image's digest.
    let digest = report["subject"]["digest"].as_str().unwrap().to_string();
    let statements: Vec<Value> = criticals
        .iter()
        .map(|id| {
            serde_json::json!({
                "vulnerability": {"name": id},
                "products": [{"@id": digest}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path"
            })
        })
        .collect();
    let vex = serde_json::json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/test-1",
        "author": "Security Team",
        "timestamp": "2026-01-01T00:00:00Z",
        "version": 1,
        "statements": statements
    });
    let vex_path = tmp.path().join("app.openvex.json");
    std::fs::write(&vex_path, serde_json::to_vec_pretty(&vex).unwrap()).unwrap();
    let (out, report) = run(&["--vex", vex_path.to_str().unwrap()], "ev-vex");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let waived: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["waived_by"].is_null())
        .collect();
    assert_eq!(
        waived.len(),
        blocking_findings,
        "every critical finding waived (minimist twice)"
    );
    assert!(waived.iter().all(|f| f["waived_by"]["kind"] == "vex"
        && f["waived_by"]["justification"] == "vulnerable_code_not_in_execute_path"));

    // Ignore entries in proofline.yaml: active until their expiry day, then not.
    let policy = |expires: &str| {
        let mut text = String::from("version: 1\nscan:\n  ignore:\n");
        for id in &criticals {
            text.push_str(&format!(
                "    - id: {id}\n      reason: \"fixture image: never executed\"\n      expires: {expires}\n"
            ));
        }
        let p = tmp.path().join(format!("policy-{expires}.yaml"));
        std::fs::write(&p, text).unwrap();
        p
    };
    let future = policy("2999-12-31");
    let (out, report) = run(&["--policy", future.to_str().unwrap()], "ev-ignore");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        report["findings"].as_array().unwrap().iter().any(
            |f| f["waived_by"]["kind"] == "ignore" && f["waived_by"]["expires"] == "2999-12-31"
        )
    );
    let past = policy("2020-01-31");
    let (out, report) = run(&["--policy", past.to_str().unwrap()], "ev-expired");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("expired on 2020-01-31"),
        "{}",
        stderr(&out)
    );
    assert!(
        !report["notes"]["expired-waivers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let summary = std::fs::read_to_string(tmp.path().join("ev-expired/scan/summary.md")).unwrap();
    assert!(summary.contains("GHSA-xvch-5gv4-984h"), "{summary}");
}

#[test]
fn the_database_tools_and_freshness() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("vulndb.idx");
    let out = scan(
        &[
            "db",
            "build",
            "--from",
            &vulndb(),
            "--out",
            db.to_str().unwrap(),
        ],
        tmp.path(),
        "warn",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = scan(
        &["db", "info", "--db", db.to_str().unwrap()],
        tmp.path(),
        "warn",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let info = String::from_utf8_lossy(&out.stdout);
    assert!(info.contains("advisories"), "{info}");

    // The index gives the same findings as the directory.
    let image = app_image(tmp.path());
    let ev = tmp.path().join("ev");
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
        "warn",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&ev.join("scan/report.json"));
    assert_eq!(finding_keys(&report), expected());
    assert_eq!(report["database"]["kind"], "index");
    assert!(report["database"]["age_days"].as_f64().unwrap() < 1.0);

    // A stale database: a warning, or exit 2 (and nothing written) with --require-fresh-db.
    let ev = tmp.path().join("ev-stale");
    let out = scan(
        &[
            "--image",
            &image,
            "--db",
            &vulndb(),
            "--evidence-dir",
            ev.to_str().unwrap(),
            "--fail-on",
            "none",
            "--max-db-age",
            "1",
        ],
        tmp.path(),
        "warn",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("db update"), "{}", stderr(&out));
    let ev = tmp.path().join("ev-fresh");
    let out = scan(
        &[
            "--image",
            &image,
            "--db",
            &vulndb(),
            "--evidence-dir",
            ev.to_str().unwrap(),
            "--max-db-age",
            "1",
            "--require-fresh-db",
        ],
        tmp.path(),
        "warn",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!ev.join("scan").exists());
}

#[test]
fn bad_input_is_exit_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let image = app_image(tmp.path());
    let ev = tmp.path().join("ev");
    let evs = ev.to_str().unwrap();
    let bad_vex = tmp.path().join("bad.json");
    std::fs::write(
        &bad_vex,
        b"{\"@context\": \"https://openvex.dev/ns/v0.2.0\", \"statements\": [",
    )
    .unwrap();
    let no_reason = tmp.path().join("p.yaml");
    std::fs::write(&no_reason, "version: 1\nscan:\n  ignore:\n    - id: CVE-1\n      reason: \"\"\n      expires: 2030-01-01\n").unwrap();
    let typo = tmp.path().join("typo.yaml");
    std::fs::write(&typo, "version: 1\nscan:\n  fail_on: high\n").unwrap();
    let missing_db = tmp.path().join("nope.idx");
    let garbage_db = tmp.path().join("garbage.idx");
    std::fs::write(&garbage_db, b"definitely not an index").unwrap();
    let db = vulndb();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--image", &image, "--db", missing_db.to_str().unwrap()],
            "db update",
        ),
        (
            vec!["--image", &image, "--db", garbage_db.to_str().unwrap()],
            "garbage.idx",
        ),
        (
            vec![
                "--image",
                &image,
                "--db",
                &db,
                "--vex",
                bad_vex.to_str().unwrap(),
            ],
            "bad.json",
        ),
        (
            vec![
                "--image",
                &image,
                "--db",
                &db,
                "--policy",
                no_reason.to_str().unwrap(),
            ],
            "reason",
        ),
        (
            vec![
                "--image",
                &image,
                "--db",
                &db,
                "--policy",
                typo.to_str().unwrap(),
            ],
            "fail_on",
        ),
        (
            vec!["--image", "oci:/nonexistent:1", "--db", &db],
            "nonexistent",
        ),
        (
            vec!["--sbom", "/nonexistent.cdx.json", "--db", &db],
            "nonexistent.cdx.json",
        ),
        (vec!["--db", &db], "nothing to scan"),
        (vec!["--image", &image, "--fail-on", "severe"], "severe"),
    ];
    for (args, needle) in cases {
        let mut args = args.clone();
        args.extend_from_slice(&["--evidence-dir", evs]);
        let out = scan(&args, tmp.path(), "warn");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        assert!(!ev.join("scan").exists(), "{args:?} wrote evidence");
    }
}

#[test]
fn a_foreign_sbom_is_scanned_by_its_purls() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let sbom = repo().join("fixtures/sbom/foreign/node-app-lock.cdx.json");
    let out = scan(
        &[
            "--sbom",
            sbom.to_str().unwrap(),
            "--db",
            &vulndb(),
            "--fail-on",
            "none",
            "--max-db-age",
            "100000",
            "--evidence-dir",
            ev.to_str().unwrap(),
        ],
        tmp.path(),
        "warn",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&ev.join("scan/report.json"));
    let got = finding_keys(&report);
    assert!(
        got.contains("npm minimist 1.2.0 GHSA-xvch-5gv4-984h"),
        "{got:#?}"
    );
    assert!(
        got.contains("npm lodash 4.17.15 GHSA-35jh-r3h4-6jhm"),
        "{got:#?}"
    );
    assert!(
        !got.iter().any(|k| k.starts_with("npm ms ")),
        "ms 2.1.3 has no advisory"
    );
}
