//! The hand-built report the output tests render: eight findings covering every case the
//! outputs distinguish (critical blocking with CVSS 3.1, high with CVSS 4.0, unknown severity,
//! waived by VEX `not_affected`, by an ignore entry, fixed by VEX, no fix available, several
//! locations, hostile advisory text), and the scan's notes (an expired waiver, an undecidable
//! match, skipped distribution-owned packages, an unused ignore entry with hostile text).

use proofline_scan::report::{
    Cvss, DatabaseRef, DatabaseSource, Finding, PackageRef, Report, Scanner, Severity, Subject,
    Waiver,
};
use proofline_scan::scan::Notes;

pub const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn package(name: &str, version: &str, ecosystem: &str, purl: &str) -> PackageRef {
    PackageRef {
        name: name.into(),
        version: version.into(),
        ecosystem: ecosystem.into(),
        purl: purl.into(),
    }
}

fn cvss(version: &str, vector: &str, score: f64) -> Option<Cvss> {
    Some(Cvss {
        version: version.into(),
        vector: vector.into(),
        score,
    })
}

#[allow(clippy::too_many_arguments)]
fn finding(
    id: &str,
    aliases: &[&str],
    summary: Option<&str>,
    package: PackageRef,
    severity: Severity,
    cvss: Option<Cvss>,
    fixed: &[&str],
    locations: &[&str],
    waived_by: Option<Waiver>,
    blocking: bool,
) -> Finding {
    Finding {
        id: id.into(),
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        summary: summary.map(str::to_string),
        package,
        severity,
        cvss,
        fixed_versions: fixed.iter().map(|s| s.to_string()).collect(),
        locations: locations.iter().map(|s| s.to_string()).collect(),
        references: vec![
            format!("https://osv.dev/vulnerability/{id}"),
            "javascript:alert(1)".into(),
            "https://example.com/advisory with space".into(),
        ],
        waived_by,
        blocking,
    }
}

pub fn findings() -> Vec<Finding> {
    vec![
        finding(
            "PYSEC-2024-0001",
            &["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"],
            Some("Remote code execution in the examplelib template loader"),
            package("examplelib", "1.2.0", "PyPI", "pkg:pypi/examplelib@1.2.0"),
            Severity::Critical,
            cvss("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            &["1.2.1", "1.3.0"],
            &[
                "/usr/lib/python3/dist-packages/examplelib-1.2.0.dist-info/METADATA",
                "/opt/venv/lib/python3.12/site-packages/examplelib-1.2.0.dist-info/METADATA",
            ],
            None,
            true,
        ),
        finding(
            "GHSA-4v9q-cgpw-cf38",
            &["CVE-2025-1234"],
            Some("Prototype pollution in @scope/parser"),
            package(
                "@scope/parser",
                "4.0.1",
                "npm",
                "pkg:npm/%40scope/parser@4.0.1",
            ),
            Severity::High,
            cvss(
                "4.0",
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N",
                8.7,
            ),
            &["4.0.2"],
            &["/app/node_modules/@scope/parser/package.json"],
            None,
            false,
        ),
        finding(
            "DSA-5678-1",
            &["CVE-2025-5678"],
            None,
            package(
                "libfoo1",
                "2.0-1",
                "Debian:12",
                "pkg:deb/debian/libfoo1@2.0-1?arch=amd64&distro=debian-12",
            ),
            Severity::Unknown,
            None,
            &["2.0-1+deb12u1"],
            &["/var/lib/dpkg/status"],
            None,
            false,
        ),
        finding(
            "PYSEC-2022-42969",
            &["CVE-2022-42969", "GHSA-w596-4wvx-j9j6"],
            Some("ReDoS in py.path.svnwc"),
            package("py", "1.11.0", "PyPI", "pkg:pypi/py@1.11.0"),
            Severity::High,
            cvss("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            &[],
            &["/opt/venv/lib/python3.12/site-packages/py-1.11.0.dist-info/METADATA"],
            Some(Waiver {
                kind: "vex".into(),
                source: "vex/app.openvex.json".into(),
                status: "not_affected".into(),
                justification: Some("vulnerable_code_not_in_execute_path".into()),
                reason: Some("py.path.svnwc is never called with user input".into()),
                expires: None,
            }),
            false,
        ),
        finding(
            "GHSA-35jh-r3h4-6jhm",
            &["CVE-2021-23337"],
            Some("Command injection in lodash template"),
            package("lodash", "4.17.20", "npm", "pkg:npm/lodash@4.17.20"),
            Severity::Critical,
            cvss("3.1", "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 9.1),
            &["4.17.21"],
            &["/app/node_modules/lodash/package.json"],
            Some(Waiver {
                kind: "ignore".into(),
                source: "proofline.yaml".into(),
                status: "ignored".into(),
                justification: None,
                reason: Some("build-time only; replaced in PROJ-42".into()),
                expires: Some("2026-03-31".into()),
            }),
            false,
        ),
        finding(
            "GHSA-9wx4-h78v-vm56",
            &["CVE-2024-35195"],
            Some(
                "Requests Session object does not verify requests after making first request with verify=False",
            ),
            package("requests", "2.31.0", "PyPI", "pkg:pypi/requests@2.31.0"),
            Severity::Medium,
            cvss("3.1", "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N", 5.6),
            &["2.32.0"],
            &["/opt/venv/lib/python3.12/site-packages/requests-2.31.0.dist-info/METADATA"],
            Some(Waiver {
                kind: "vex".into(),
                source: "vex/app.openvex.json".into(),
                status: "fixed".into(),
                justification: None,
                reason: None,
                expires: None,
            }),
            false,
        ),
        finding(
            "RUSTSEC-2023-0071",
            &["CVE-2023-49092", "GHSA-c38w-74pg-36hr"],
            Some("Marvin Attack: potential key recovery through timing sidechannels"),
            package("rsa", "0.9.6", "crates.io", "pkg:cargo/rsa@0.9.6"),
            Severity::Medium,
            cvss("3.1", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
            &[],
            &["/usr/local/bin/server"],
            None,
            false,
        ),
        finding(
            "GHSA-xss0-0000-0000",
            &[],
            Some(
                "<script>alert(1)</script> | pipes | **bold** [link](javascript:alert(1)) `code`\n# heading $x$ @user https://evil.example",
            ),
            package("evil|pkg", "1.0<b>", "npm", "pkg:npm/evil%7Cpkg@1.0%3Cb%3E"),
            Severity::Low,
            None,
            &[],
            &["/weird path/with spaces/ü%.txt"],
            None,
            false,
        ),
    ]
}

pub fn report_with(findings: Vec<Finding>) -> Report {
    Report {
        subject: Subject {
            name: "registry.example.com/team/app:1.4.2".into(),
            digest: Some(DIGEST.into()),
        },
        scanner: Scanner {
            name: "proofline-scan".into(),
            version: "0.1.0".into(),
            uri: "https://github.com/proofline/proofline".into(),
        },
        database: DatabaseRef {
            path: "osv.idx".into(),
            kind: "index".into(),
            built: "2026-01-30T06:00:00Z".into(),
            age_days: 1.25,
            advisories: 123_456,
            sources: vec![
                DatabaseSource {
                    name: "PyPI/all.zip".into(),
                    sha256: "1111111111111111111111111111111111111111111111111111111111111111"
                        .into(),
                    advisories: 100_000,
                },
                DatabaseSource {
                    name: "Debian/all.zip".into(),
                    sha256: "2222222222222222222222222222222222222222222222222222222222222222"
                        .into(),
                    advisories: 23_456,
                },
            ],
        },
        fail_on: "critical".into(),
        scanned_at: "2026-01-31T13:00:00+01:00".into(),
        finished_at: "2026-01-31T13:02:30+01:00".into(),
        packages_scanned: 412,
        findings,
        notes: Notes::default(),
    }
}

/// Notes as the scan words them (src/scan.rs), one of each kind.
pub fn notes() -> Notes {
    Notes {
        packages_scanned: 412,
        distro_owned_skipped: 3,
        dev_only_skipped: 2,
        no_ecosystem: [("generic".to_string(), 2)].into_iter().collect(),
        indeterminate: vec![
            "Debian:12 libbar@1:2.3~rc1-1: the version `1:2.3~rc1-1` could not be ordered".into(),
        ],
        expired_waivers: vec![
            "PYSEC-2024-0001 in examplelib@1.2.0: the ignore entry expired on 2026-01-15 and no longer waives it (waiting for the upstream fix)".into(),
        ],
        unused_ignores: vec!["CVE-2019-0001 (<b>old</b> [ticket](javascript:alert(1)))".into()],
        unreadable_vectors: vec![],
    }
}

/// The eight findings with one note of each kind.
pub fn report() -> Report {
    let mut report = report_with(findings());
    report.notes = notes();
    report
}
