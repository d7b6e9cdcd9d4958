//! The scan's output documents rendered from hand-built reports: snapshots of each, the
//! official SARIF 2.1.0, OpenVEX 0.2.0 and GitLab container-scanning 15.2.4 schemas, the
//! waiver semantics of each format, escaping of hostile advisory text, and GitHub's limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use proofline_scan::output::{
    self, OutputError, SARIF_MAX_RESULTS, VULNS_PREDICATE_TYPE, gitlab, openvex, sarif,
    summary_markdown, vulns_statement,
};
use proofline_scan::report::{Finding, Severity};
use proofline_scan::vex::{VexSet, VexStatus};
use serde_json::{Value, json};

#[path = "outputs/fixture.rs"]
mod fixture;

use fixture::{DIGEST, findings, notes, report, report_with};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_json(path: PathBuf) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn errors(schema: &Value, doc: &Value) -> Vec<String> {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap();
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .take(20)
        .collect()
}

/// The vendored SARIF schema, with one repair made in memory: its `language` patterns (on
/// `run` and `toolComponent`: `…-[a-zA-Z]{2}]?$`) have a stray `]` that ECMA-262 accepts
/// outside Unicode mode but the meta-schema's strict `regex` format check refuses, so the
/// schema would not compile. We never emit `language`; the two patterns are dropped, after
/// checking they are the known-bad ones.
fn sarif_schema() -> Value {
    let mut schema = read_json(repo().join("fixtures/schemas/sarif/sarif-schema-2.1.0.json"));
    for definition in ["run", "toolComponent"] {
        let language = schema["definitions"][definition]["properties"]["language"]
            .as_object_mut()
            .unwrap();
        assert_eq!(
            language.remove("pattern"),
            Some(json!("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$")),
            "{definition}"
        );
    }
    schema
}

fn sarif_errors(doc: &Value) -> Vec<String> {
    errors(&sarif_schema(), doc)
}

fn openvex_errors(doc: &Value) -> Vec<String> {
    errors(
        &read_json(repo().join("fixtures/schemas/openvex/openvex_json_schema.json")),
        doc,
    )
}

/// GitLab's container-scanning report schema as vendored (self-contained: every `$ref` is
/// internal), checked to be the release the report declares.
fn gitlab_schema() -> Value {
    let schema = read_json(
        repo()
            .join("fixtures/schemas/gitlab-security-reports/container-scanning-report-format.json"),
    );
    assert_eq!(schema["self"]["version"], output::GITLAB_SCHEMA_VERSION);
    schema
}

fn gitlab_errors(doc: &Value) -> Vec<String> {
    errors(&gitlab_schema(), doc)
}

// ---------------------------------------------------------------- snapshots

#[test]
fn snapshot_vulns_statement() {
    insta::assert_json_snapshot!("vulns", vulns_statement(&report(), DIGEST).unwrap());
}

#[test]
fn snapshot_sarif() {
    insta::assert_json_snapshot!("sarif", sarif(&report()));
}

#[test]
fn snapshot_gitlab() {
    insta::assert_json_snapshot!("gitlab", gitlab(&report()).unwrap());
}

#[test]
fn snapshot_openvex() {
    insta::assert_json_snapshot!(
        "openvex",
        openvex(
            &report(),
            "Proofline CI <ci@proofline.example>",
            "2026-01-31T12:00:00Z"
        )
    );
}

#[test]
fn snapshot_summary() {
    insta::assert_snapshot!("summary", summary_markdown(&report()));
}

#[test]
fn snapshot_summary_empty() {
    insta::assert_snapshot!("summary_empty", summary_markdown(&report_with(vec![])));
}

// ---------------------------------------------------------------- in-toto vulns

#[test]
fn vulns_statement_follows_the_predicate_spec() {
    let st = vulns_statement(&report(), DIGEST).unwrap();
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(st["predicateType"], VULNS_PREDICATE_TYPE);
    assert_eq!(
        st["subject"][0]["name"],
        "registry.example.com/team/app:1.4.2"
    );
    assert_eq!(
        st["subject"][0]["digest"]["sha256"],
        DIGEST.trim_start_matches("sha256:")
    );
    let scanner = &st["predicate"]["scanner"];
    assert_eq!(scanner["uri"], "https://github.com/proofline/proofline");
    assert_eq!(scanner["db"]["lastUpdate"], "2026-01-30T06:00:00Z");
    let result = scanner["result"].as_array().unwrap();
    assert_eq!(result.len(), 8);
    assert_eq!(result[0]["id"], "PYSEC-2024-0001");
    assert_eq!(
        result[0]["severity"],
        json!([{"method": "proofline", "score": "CRITICAL"}, {"method": "cvss_v3.1", "score": "9.8"}])
    );
    assert_eq!(
        result[1]["severity"][1],
        json!({"method": "cvss_v4.0", "score": "8.7"})
    );
    // Unknown severity: no invented score.
    assert_eq!(result[2]["severity"].as_array().unwrap().len(), 1);
    assert_eq!(
        st["predicate"]["metadata"]["scanStartedOn"],
        "2026-01-31T13:00:00+01:00"
    );
    assert_eq!(
        st["predicate"]["metadata"]["scanFinishedOn"],
        "2026-01-31T13:02:30+01:00"
    );
    // A bare hex digest is accepted; anything else is an error naming it.
    let bare = vulns_statement(&report(), DIGEST.trim_start_matches("sha256:")).unwrap();
    assert_eq!(bare["subject"], st["subject"]);
    for bad in [
        "",
        "sha256:abc",
        "sha512:9f86",
        "md5:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g",
    ] {
        let err = vulns_statement(&report(), bad).unwrap_err();
        assert!(matches!(err, OutputError::BadDigest(ref d) if d == bad));
    }
    // An empty scan is an empty result list, not a missing one.
    let empty = vulns_statement(&report_with(vec![]), DIGEST).unwrap();
    assert_eq!(empty["predicate"]["scanner"]["result"], json!([]));
}

// ---------------------------------------------------------------- SARIF

#[test]
fn sarif_validates_against_the_official_schema() {
    let errs = sarif_errors(&sarif(&report()));
    assert!(errs.is_empty(), "{errs:#?}");
    let errs = sarif_errors(&sarif(&report_with(vec![])));
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn sarif_schema_rejects_a_broken_log() {
    let mut broken = sarif(&report());
    broken["version"] = json!("2.0.0");
    broken["runs"][0]["results"][0]["level"] = json!("fatal");
    broken["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        json!(0);
    let errs = sarif_errors(&broken);
    assert!(errs.len() >= 3, "{errs:#?}");
}

#[test]
fn sarif_has_what_github_needs() {
    let log = sarif(&report());
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 8, "one result per finding");
    assert_eq!(rules.len(), 8, "one rule per vulnerability id");
    for result in results {
        let id = result["ruleId"].as_str().unwrap();
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], id);
        for loc in result["locations"].as_array().unwrap() {
            let uri = loc["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(!uri.starts_with('/'), "{uri}");
            assert!(!uri.contains(' '), "{uri}");
        }
        assert_eq!(
            result["partialFingerprints"]["prooflineFinding/v1"]
                .as_str()
                .unwrap()
                .len(),
            64
        );
    }
    let rule = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap();
    let critical = rule("PYSEC-2024-0001");
    assert_eq!(critical["properties"]["security-severity"], "9.8");
    assert_eq!(
        critical["properties"]["tags"],
        json!(["security", "vulnerability", "critical"])
    );
    assert_eq!(
        critical["helpUri"],
        "https://osv.dev/vulnerability/PYSEC-2024-0001"
    );
    assert!(
        critical["help"]["text"]
            .as_str()
            .unwrap()
            .contains("upgrade examplelib to one of 1.2.1, 1.3.0")
    );
    assert!(
        critical["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("| examplelib | 1.2.0 | 1.2.1, 1.3.0 |")
    );
    assert_eq!(
        rule("GHSA-4v9q-cgpw-cf38")["properties"]["security-severity"],
        "8.7"
    );
    // Unknown severity and no CVSS: no invented security-severity.
    assert!(
        rule("DSA-5678-1")["properties"]
            .get("security-severity")
            .is_none()
    );
    // Levels by severity.
    let level = |id: &str| results.iter().find(|r| r["ruleId"] == id).unwrap()["level"].clone();
    assert_eq!(level("PYSEC-2024-0001"), "error");
    assert_eq!(level("GHSA-4v9q-cgpw-cf38"), "error");
    assert_eq!(level("RUSTSEC-2023-0071"), "warning");
    assert_eq!(level("DSA-5678-1"), "note");
    // Multiple locations, path without the leading slash.
    let first = results
        .iter()
        .find(|r| r["ruleId"] == "PYSEC-2024-0001")
        .unwrap();
    let locs = first["locations"].as_array().unwrap();
    assert_eq!(locs.len(), 2);
    assert_eq!(
        locs[0]["physicalLocation"]["artifactLocation"]["uri"],
        "usr/lib/python3/dist-packages/examplelib-1.2.0.dist-info/METADATA"
    );
    assert!(
        first["message"]["text"]
            .as_str()
            .unwrap()
            .contains("examplelib@1.2.0")
    );
    // Hostile path: percent-encoded.
    let hostile = results
        .iter()
        .find(|r| r["ruleId"] == "GHSA-xss0-0000-0000")
        .unwrap();
    assert_eq!(
        hostile["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "weird%20path/with%20spaces/%C3%BC%25.txt"
    );
    // Non-http references never become helpUri.
    assert!(
        rule("GHSA-xss0-0000-0000")["helpUri"]
            .as_str()
            .unwrap()
            .starts_with("https://osv.dev/")
    );
    // Waived findings are suppressed, with the waiver in words; open ones are not.
    let waived = results
        .iter()
        .find(|r| r["ruleId"] == "GHSA-35jh-r3h4-6jhm")
        .unwrap();
    let justification = waived["suppressions"][0]["justification"].as_str().unwrap();
    assert!(
        justification.contains("PROJ-42") && justification.contains("2026-03-31"),
        "{justification}"
    );
    assert!(first.get("suppressions").is_none());
    assert!(run["properties"].get("truncated").is_none());
}

#[test]
fn sarif_fingerprints_are_stable_and_distinct() {
    let a = sarif(&report());
    let mut shuffled = findings();
    shuffled.reverse();
    let b = sarif(&report_with(shuffled));
    assert_eq!(a, b, "the order findings arrive in does not change the log");
    let prints: std::collections::BTreeSet<String> = a["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["partialFingerprints"]["prooflineFinding/v1"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(prints.len(), 8);
}

#[test]
fn sarif_truncates_honestly_over_githubs_limit() {
    let template = findings().remove(6);
    let mut many: Vec<Finding> = (0..SARIF_MAX_RESULTS + 3)
        .map(|i| {
            let mut f = template.clone();
            f.id = format!("GHSA-many-{i:05}");
            f.severity = Severity::Low;
            f.cvss = None;
            f
        })
        .collect();
    // The one critical finding sorts last by id but must survive the cut.
    many.push(findings().remove(0));
    let log = sarif(&report_with(many));
    let run = &log["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), SARIF_MAX_RESULTS);
    assert_eq!(run["results"][0]["ruleId"], "PYSEC-2024-0001");
    assert_eq!(run["properties"]["truncated"], true);
    assert_eq!(run["properties"]["resultsOmitted"], 4);
    let note = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
        .as_str()
        .unwrap();
    assert!(note.contains("4 of 25004 findings"), "{note}");
    assert!(run["tool"]["driver"]["rules"].as_array().unwrap().len() <= SARIF_MAX_RESULTS);
}

#[test]
fn sarif_caps_locations_per_result() {
    let mut f = findings().remove(0);
    f.locations = (0..1_500).map(|i| format!("/layer/{i}/METADATA")).collect();
    let log = sarif(&report_with(vec![f]));
    let result = &log["runs"][0]["results"][0];
    assert_eq!(
        result["locations"].as_array().unwrap().len(),
        output::SARIF_MAX_LOCATIONS
    );
    assert_eq!(result["properties"]["locationsOmitted"], 500);
}

// ---------------------------------------------------------------- GitLab

#[test]
fn gitlab_validates_against_the_official_schema() {
    let errs = gitlab_errors(&gitlab(&report()).unwrap());
    assert!(errs.is_empty(), "{errs:#?}");
    let errs = gitlab_errors(&gitlab(&report_with(vec![])).unwrap());
    assert!(errs.is_empty(), "{errs:#?}");
    // Hostile or degenerate input still gives a valid report: empty ids and aliases, an
    // empty ecosystem and image name, overlong text, no usable reference, no digest.
    let mut f = findings().remove(7);
    f.id = String::new();
    f.aliases = vec![String::new(), " ".into()];
    f.package.ecosystem = String::new();
    f.package.name = "n".repeat(400);
    f.summary = Some("x".repeat(2_000_000));
    f.fixed_versions = vec!["9".repeat(8_000)];
    f.references = vec!["ftp:/nope".into()];
    let mut hostile = report_with(vec![f]);
    hostile.subject.name = String::new();
    hostile.subject.digest = None;
    let doc = gitlab(&hostile).unwrap();
    let errs = gitlab_errors(&doc);
    assert!(errs.is_empty(), "{errs:#?}");
    let vuln = &doc["vulnerabilities"][0];
    assert_eq!(vuln["identifiers"].as_array().unwrap().len(), 1);
    assert_eq!(vuln["identifiers"][0]["value"], vuln["id"]);
    assert_eq!(vuln["location"]["operating_system"], "unknown");
}

#[test]
fn gitlab_schema_rejects_a_broken_report() {
    let mut broken = gitlab(&report()).unwrap();
    broken["scan"].as_object_mut().unwrap().remove("end_time");
    broken["scan"]["start_time"] = json!("2026-01-31T12:00:00Z");
    broken["vulnerabilities"][0]["severity"] = json!("Severe");
    broken["vulnerabilities"][1]["identifiers"] = json!([]);
    broken["vulnerabilities"][2]["location"]
        .as_object_mut()
        .unwrap()
        .remove("image");
    let errs = gitlab_errors(&broken);
    for path in [
        "/scan:",
        "/scan/start_time:",
        "/vulnerabilities/0/severity:",
        "/vulnerabilities/1/identifiers:",
        "/vulnerabilities/2/location:",
    ] {
        assert!(
            errs.iter().any(|e| e.starts_with(path)),
            "{path}: {errs:#?}"
        );
    }
    // An unsupported version string is refused too.
    let mut bad_version = gitlab(&report()).unwrap();
    bad_version["version"] = json!("15.2");
    assert!(!gitlab_errors(&bad_version).is_empty());
}

#[test]
fn gitlab_report_has_the_container_scanning_shape() {
    let doc = gitlab(&report()).unwrap();
    assert_eq!(doc["version"], output::GITLAB_SCHEMA_VERSION);
    let scan = &doc["scan"];
    assert_eq!(scan["type"], "container_scanning");
    assert_eq!(scan["status"], "success");
    // The schema's time pattern: UTC, no zone suffix (the report's +01:00 converted).
    assert_eq!(scan["start_time"], "2026-01-31T12:00:00");
    assert_eq!(scan["end_time"], "2026-01-31T12:02:30");
    for tool in [&scan["analyzer"], &scan["scanner"]] {
        for field in ["id", "name", "version"] {
            assert!(tool[field].is_string(), "{field}");
        }
        assert!(tool["vendor"]["name"].is_string());
    }
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 8);
    let mut ids = std::collections::BTreeSet::new();
    for v in vulns {
        let id = v["id"].as_str().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert!(ids.insert(id.to_string()), "ids are unique");
        assert!(
            ["Critical", "High", "Medium", "Low", "Unknown", "Info"]
                .contains(&v["severity"].as_str().unwrap())
        );
        assert!(v["name"].as_str().unwrap().len() <= 255);
        let loc = &v["location"];
        assert!(loc["dependency"]["package"]["name"].is_string());
        assert!(loc["operating_system"].is_string());
        assert_eq!(
            loc["image"],
            format!("registry.example.com/team/app:1.4.2@{DIGEST}")
        );
        let identifiers = v["identifiers"].as_array().unwrap();
        assert!(!identifiers.is_empty());
        for i in identifiers {
            for field in ["type", "name", "value"] {
                assert!(i[field].is_string(), "{field}");
            }
        }
        for link in v["links"].as_array().into_iter().flatten() {
            assert!(link["url"].as_str().unwrap().starts_with("https://"));
        }
    }
    let first = &vulns[0];
    assert_eq!(first["severity"], "Critical");
    assert_eq!(
        first["solution"],
        "Upgrade examplelib to one of 1.2.1, 1.3.0"
    );
    assert_eq!(
        first["identifiers"][1],
        json!({"type": "cve", "name": "CVE-2024-0001", "value": "CVE-2024-0001", "url": "https://www.cve.org/CVERecord?id=CVE-2024-0001"})
    );
    assert_eq!(first["identifiers"][2]["type"], "ghsa");
    assert_eq!(first["identifiers"][0]["type"], "pysec");
    let unknown = vulns
        .iter()
        .find(|v| v["location"]["dependency"]["package"]["name"] == "libfoo1")
        .unwrap();
    assert_eq!(unknown["severity"], "Unknown");
    let no_fix = vulns
        .iter()
        .find(|v| v["location"]["dependency"]["package"]["name"] == "rsa")
        .unwrap();
    assert_eq!(no_fix["solution"], "No fix available yet for rsa");
    let vex = vulns
        .iter()
        .find(|v| v["location"]["dependency"]["package"]["name"] == "py")
        .unwrap();
    assert_eq!(vex["flags"][0]["type"], "flagged-as-likely-false-positive");
    // The same finding keeps its id across runs.
    assert_eq!(gitlab(&report()).unwrap(), doc);
    // A scan time that is not RFC 3339 is an error naming it.
    let mut bad = report();
    bad.scanned_at = "yesterday".into();
    assert!(matches!(gitlab(&bad), Err(OutputError::BadTime(t)) if t == "yesterday"));
    let mut bad = report();
    bad.finished_at = "2026-01-31 12:02".into();
    assert!(matches!(gitlab(&bad), Err(OutputError::BadTime(t)) if t == "2026-01-31 12:02"));
}

// ---------------------------------------------------------------- OpenVEX

fn vex_doc() -> Value {
    openvex(
        &report(),
        "Proofline CI <ci@proofline.example>",
        "2026-01-31T12:00:00Z",
    )
}

#[test]
fn openvex_validates_against_the_official_schema() {
    let errs = openvex_errors(&vex_doc());
    assert!(errs.is_empty(), "{errs:#?}");
    // Without an image digest the packages themselves are the products.
    let mut no_digest = report();
    no_digest.subject.digest = None;
    let doc = openvex(&no_digest, "ci", "2026-01-31T12:00:00Z");
    assert!(
        openvex_errors(&doc).is_empty(),
        "{:#?}",
        openvex_errors(&doc)
    );
    assert_eq!(
        doc["statements"][0]["products"][0]["@id"],
        "pkg:pypi/examplelib@1.2.0"
    );
}

#[test]
fn openvex_schema_rejects_a_broken_document() {
    let mut broken = vex_doc();
    // not_affected without justification or impact statement, and an unknown status.
    let st = broken["statements"].as_array_mut().unwrap();
    let i = st
        .iter()
        .position(|s| s["status"] == "not_affected")
        .unwrap();
    st[i].as_object_mut().unwrap().remove("justification");
    st[i].as_object_mut().unwrap().remove("impact_statement");
    st[0]["status"] = json!("wontfix");
    let errs = openvex_errors(&broken);
    assert!(errs.len() >= 2, "{errs:#?}");
}

#[test]
fn openvex_states_each_waiver_for_what_it_is() {
    let doc = vex_doc();
    assert_eq!(doc["@context"], "https://openvex.dev/ns/v0.2.0");
    assert_eq!(doc["version"], 1);
    let statements = doc["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 8);
    let by = |id: &str| {
        statements
            .iter()
            .find(|s| s["vulnerability"]["name"] == id)
            .unwrap()
    };
    let product = &by("PYSEC-2024-0001")["products"][0];
    assert_eq!(
        product["@id"],
        "pkg:oci/app@sha256%3A9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    );
    assert_eq!(
        product["subcomponents"][0]["@id"],
        "pkg:pypi/examplelib@1.2.0"
    );
    assert_eq!(by("PYSEC-2024-0001")["status"], "affected");
    assert_eq!(
        by("PYSEC-2024-0001")["action_statement"],
        "Upgrade examplelib to one of 1.2.1, 1.3.0."
    );
    assert!(
        by("RUSTSEC-2023-0071")["action_statement"]
            .as_str()
            .unwrap()
            .starts_with("No fix available for rsa@0.9.6")
    );
    let not_affected = by("PYSEC-2022-42969");
    assert_eq!(not_affected["status"], "not_affected");
    assert_eq!(
        not_affected["justification"],
        "vulnerable_code_not_in_execute_path"
    );
    assert_eq!(
        not_affected["vulnerability"]["aliases"],
        json!(["CVE-2022-42969", "GHSA-w596-4wvx-j9j6"])
    );
    assert_eq!(by("GHSA-9wx4-h78v-vm56")["status"], "fixed");
    // An ignore entry accepts a risk: still affected, with the reason and the expiry.
    let ignored = by("GHSA-35jh-r3h4-6jhm");
    assert_eq!(ignored["status"], "affected");
    let action = ignored["action_statement"].as_str().unwrap();
    assert!(
        action.contains("PROJ-42") && action.contains("until 2026-03-31"),
        "{action}"
    );
    // Deterministic, and the @id follows the content.
    assert_eq!(vex_doc(), doc);
    let other = openvex(
        &report(),
        "Proofline CI <ci@proofline.example>",
        "2026-02-01T12:00:00Z",
    );
    assert_ne!(other["@id"], doc["@id"]);
}

#[test]
fn openvex_output_reads_back_as_the_same_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vex.openvex.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&vex_doc()).unwrap()).unwrap();
    let set = VexSet::load(std::slice::from_ref(&path)).unwrap();
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let decide = |id: &str, purl: &str| set.decide(&[id], purl, Some(DIGEST)).map(|d| d.status);
    assert_eq!(
        decide("CVE-2022-42969", "pkg:pypi/py@1.11.0"),
        Some(VexStatus::NotAffected)
    );
    assert_eq!(
        decide("GHSA-9wx4-h78v-vm56", "pkg:pypi/requests@2.31.0"),
        Some(VexStatus::Fixed)
    );
    assert_eq!(
        decide("GHSA-35jh-r3h4-6jhm", "pkg:npm/lodash@4.17.20"),
        Some(VexStatus::Affected)
    );
    // The statements name the packages as subcomponents of this image only.
    assert_eq!(
        set.decide(&["CVE-2022-42969"], "pkg:pypi/py@1.11.0", None),
        None
    );
}

// ---------------------------------------------------------------- summary

#[test]
fn summary_lists_blocking_first_and_escapes_advisory_text() {
    let md = summary_markdown(&report());
    let blocking = md.find("### Blocking (1)").unwrap();
    let open = md.find("### Not blocking (4)").unwrap();
    let waived = md.find("### Waived (3)").unwrap();
    assert!(blocking < open && open < waived);
    let critical = md.find("**PYSEC-2024-0001**").unwrap();
    assert!(blocking < critical && critical < open);
    assert!(md.contains("upgrade to 1.2.1 or 1.3.0"));
    assert!(md.contains("9.8 (CVSS 3.1)"));
    assert!(md.contains("no fix yet"));
    assert!(md.contains("| Critical | 2 | 1 | 1 |"), "{md}");
    assert!(md.contains("(1.2 days old, 123456 advisories)"), "{md}");
    assert!(md.contains("123456 advisories"));
    // Hostile text: no raw HTML, no table-breaking pipe, no link, no heading.
    assert!(!md.contains("<script>"));
    assert!(md.contains("&lt;script&gt;"));
    assert!(md.contains("evil\\|pkg\\@1.0&lt;b&gt;"), "{md}");
    assert!(!md.contains("](javascript"));
    assert!(!md.contains("\n# heading"));
    assert!(!md.contains("https://evil"));
    // The waiver is shown with its reason and expiry.
    assert!(md.contains("replaced in PROJ-42"));
    assert!(md.contains("until 2026-03-31"));
}

#[test]
fn summary_empty_state_is_honest() {
    let md = summary_markdown(&report_with(vec![]));
    assert!(md.contains("No known vulnerabilities in the 412 packages scanned."));
    assert!(md.contains("123456 advisories"));
    assert!(!md.contains("###"));
    // Notes are said even when nothing was found.
    let mut with_notes = report_with(vec![]);
    with_notes.notes = notes();
    with_notes.notes.expired_waivers.clear();
    let md = summary_markdown(&with_notes);
    assert!(md.contains("No known vulnerabilities"));
    assert!(md.contains("### Notes"), "{md}");
    assert!(!md.contains("### Expired waivers"), "{md}");
    assert!(
        md.contains("- 1 advisory match could not be decided"),
        "{md}"
    );
}

#[test]
fn summary_reports_the_scans_notes() {
    let md = summary_markdown(&report());
    assert!(
        md.contains("from 2026-01-31T13:00:00+01:00 to 2026-01-31T13:02:30+01:00"),
        "{md}"
    );
    let expired = md.find("### Expired waivers (1)").unwrap();
    let notes_at = md.find("### Notes").unwrap();
    assert!(md.find("### Waived (3)").unwrap() < expired && expired < notes_at);
    assert!(
        md.contains(
            "- PYSEC-2024-0001 in examplelib\\@1.2.0: the ignore entry expired on 2026-01-15 and no longer waives it \\(waiting for the upstream fix\\)"
        ),
        "{md}"
    );
    assert!(
        md.contains("- 1 advisory match could not be decided"),
        "{md}"
    );
    assert!(
        md.contains("- 3 language packages installed by a distribution package were judged"),
        "{md}"
    );
    assert!(
        md.contains("- 1 ignore entry of proofline.yaml named no finding"),
        "{md}"
    );
    // The unused entry's text is escaped like any other.
    assert!(!md.contains("<b>") && !md.contains("](javascript"), "{md}");
    assert!(md.contains("&lt;b&gt;old&lt;/b&gt;"), "{md}");
    // No notes, no sections.
    let quiet = summary_markdown(&report_with(findings()));
    assert!(!quiet.contains("### Notes") && !quiet.contains("### Expired"));
    // Long lists are cut, saying how many more there are.
    let mut many = report();
    many.notes.unused_ignores = (0..45).map(|i| format!("CVE-2020-{i:04} (old)")).collect();
    many.notes.distro_owned_skipped = 1;
    let md = summary_markdown(&many);
    assert!(md.contains("  - CVE-2020-0019 \\(old\\)"), "{md}");
    assert!(!md.contains("CVE-2020-0020"), "{md}");
    assert!(md.contains("  - and 25 more (see report.json)"), "{md}");
    assert!(md.contains("- 1 language package installed by a distribution package was judged"));
}

#[test]
fn summary_escapes_block_starts_and_autolinks() {
    let mut f = findings().remove(7);
    f.summary = Some("1. not a list\n- nor this".into());
    f.id = "-x".into();
    let md = summary_markdown(&report_with(vec![f]));
    assert!(md.contains("  - 1. not a list - nor this"), "{md}");
    assert!(md.contains("**\\-x**"), "{md}");
    let mut f = findings().remove(7);
    f.summary = Some("see http://a.example and mail me@b.example".into());
    let md = summary_markdown(&report_with(vec![f]));
    assert!(md.contains("http\\://a.example"), "{md}");
    assert!(md.contains("me\\@b.example"), "{md}");
}
