//! The in-toto Statement carrying the vulnerabilities predicate (in-toto attestation
//! `vulns` v0.2): who scanned, against which database, what was found.

use serde_json::{Map, Value, json};

use super::{OutputError, digest_of, sha256_hex};
use crate::report::{Finding, Report};

/// The predicate type as the in-toto predicate specification (vulns, version 0.2) names it.
pub const VULNS_PREDICATE_TYPE: &str = "https://in-toto.io/attestation/vulns/v0.2";

/// The in-toto Statement v1 whose subject is the scanned image (`report.subject.name` with
/// `subject_digest`, `sha256:…` or bare hex) and whose predicate lists every finding.
///
/// `scanStartedOn` and `scanFinishedOn` are the report's `scanned_at` and `finished_at`.
pub fn vulns_statement(report: &Report, subject_digest: &str) -> Result<Value, OutputError> {
    let hex = sha256_hex(subject_digest)
        .ok_or_else(|| OutputError::BadDigest(subject_digest.to_string()))?;
    let result: Vec<Value> = report.findings.iter().map(result_entry).collect();
    let mut db = Map::new();
    db.insert("version".into(), Value::String(database_version(report)));
    db.insert(
        "lastUpdate".into(),
        Value::String(report.database.built.clone()),
    );
    Ok(json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": report.subject.name, "digest": { "sha256": hex } }],
        "predicateType": VULNS_PREDICATE_TYPE,
        "predicate": {
            "scanner": {
                "uri": report.scanner.uri,
                "version": report.scanner.version,
                "db": db,
                "result": result,
            },
            "metadata": {
                "scanStartedOn": report.scanned_at,
                "scanFinishedOn": report.finished_at,
            }
        }
    }))
}

/// The database's identity: its single source's digest, or a digest over every source's
/// name and digest (so two scans against the same data name the same version).
fn database_version(report: &Report) -> String {
    match report.database.sources.as_slice() {
        [only] => format!("sha256:{}", only.sha256),
        sources => {
            let parts: Vec<&str> = sources
                .iter()
                .flat_map(|s| [s.name.as_str(), s.sha256.as_str()])
                .collect();
            format!("sha256:{}", digest_of(&parts))
        }
    }
}

fn result_entry(finding: &Finding) -> Value {
    let mut severity = vec![json!({
        "method": "proofline",
        "score": finding.severity.as_str(),
    })];
    if let Some(cvss) = &finding.cvss {
        severity.push(json!({
            "method": format!("cvss_v{}", cvss.version),
            "score": format!("{:.1}", cvss.score),
        }));
    }
    let mut annotation = Map::new();
    annotation.insert("package".into(), json!(finding.package));
    annotation.insert("aliases".into(), json!(finding.aliases));
    if let Some(cvss) = &finding.cvss {
        annotation.insert("cvssVector".into(), json!(cvss.vector));
    }
    annotation.insert("fixedVersions".into(), json!(finding.fixed_versions));
    annotation.insert("locations".into(), json!(finding.locations));
    annotation.insert("blocking".into(), json!(finding.blocking));
    if let Some(waiver) = &finding.waived_by {
        annotation.insert("waivedBy".into(), json!(waiver));
    }
    json!({
        "id": finding.id,
        "severity": severity,
        "annotations": [Value::Object(annotation)],
    })
}
