//! SARIF 2.1.0 for GitHub code scanning: one rule per vulnerability, one result per finding,
//! located at the vulnerable package's paths in the image, within GitHub's upload limits.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{by_priority, clip, digest_of, remedy, usable_url};
use crate::report::{Finding, Report, Severity};

/// GitHub rejects a run with more results than this (and shows the 5,000 most severe).
pub const SARIF_MAX_RESULTS: usize = 25_000;
/// GitHub rejects a result with more locations than this (and shows 100).
pub const SARIF_MAX_LOCATIONS: usize = 1_000;
/// GitHub rejects a run with more rules than this; one rule per result keeps us under it.
const SARIF_MAX_RULES: usize = 25_000;
/// Advisory summaries are untrusted and unbounded; a description longer than this is cut.
const MAX_TEXT: usize = 4_000;

const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The SARIF log of `report`. Findings beyond GitHub's limits are dropped least severe first,
/// and the run says so (a `truncated` property and a tool execution notification).
/// Waived findings carry a SARIF `suppressions` entry naming the waiver.
pub fn sarif(report: &Report) -> Value {
    let ordered = by_priority(&report.findings);
    let kept: Vec<&Finding> = ordered.iter().copied().take(SARIF_MAX_RESULTS).collect();
    let omitted = ordered.len().saturating_sub(kept.len());

    // One rule per vulnerability id, in id order; results point at them by index.
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in &kept {
        by_rule
            .entry(finding.id.as_str())
            .or_default()
            .push(finding);
    }
    let rule_index: BTreeMap<&str, usize> = by_rule
        .keys()
        .take(SARIF_MAX_RULES)
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let rules: Vec<Value> = by_rule
        .iter()
        .take(SARIF_MAX_RULES)
        .map(|(id, findings)| rule(id, findings))
        .collect();
    let results: Vec<Value> = kept
        .iter()
        .filter_map(|f| rule_index.get(f.id.as_str()).map(|i| result(f, *i)))
        .collect();

    let mut notifications = Vec::new();
    let mut properties = Map::new();
    properties.insert("subject".into(), json!(report.subject.name));
    if let Some(digest) = &report.subject.digest {
        properties.insert("subjectDigest".into(), json!(digest));
    }
    properties.insert("failOn".into(), json!(report.fail_on));
    properties.insert("packagesScanned".into(), json!(report.packages_scanned));
    properties.insert("databaseBuilt".into(), json!(report.database.built));
    if omitted > 0 {
        properties.insert("truncated".into(), json!(true));
        properties.insert("resultsOmitted".into(), json!(omitted));
        notifications.push(json!({
            "level": "warning",
            "message": { "text": format!(
                "{omitted} of {} findings were left out of this SARIF log (GitHub accepts at most {SARIF_MAX_RESULTS} results per run); the least severe were dropped. report.json lists every finding.",
                ordered.len()
            )},
        }));
    }
    let mut invocation = Map::new();
    invocation.insert("executionSuccessful".into(), json!(true));
    invocation.insert("endTimeUtc".into(), json!(report.scanned_at));
    if !notifications.is_empty() {
        invocation.insert("toolExecutionNotifications".into(), json!(notifications));
    }
    let mut driver = Map::new();
    driver.insert("name".into(), json!("proofline-scan"));
    driver.insert("version".into(), json!(report.scanner.version));
    if usable_url(&report.scanner.uri) {
        driver.insert("informationUri".into(), json!(report.scanner.uri));
    }
    driver.insert("rules".into(), json!(rules));
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver },
            "invocations": [invocation],
            "results": results,
            "properties": properties,
        }]
    })
}

/// The number GitHub ranks alerts by: the highest CVSS base score among the rule's findings,
/// else the lower bound of the severity's band; none for unknown severity.
fn security_severity(findings: &[&Finding]) -> Option<String> {
    let best = findings
        .iter()
        .filter_map(|f| f.cvss.as_ref().map(|c| c.score))
        .fold(None, |acc: Option<f64>, s| {
            Some(acc.map_or(s, |a| a.max(s)))
        });
    if let Some(score) = best {
        return Some(format!("{:.1}", score.clamp(0.0, 10.0)));
    }
    let severity = findings.iter().map(|f| f.severity).max()?;
    match severity {
        Severity::Critical => Some("9.0".into()),
        Severity::High => Some("7.0".into()),
        Severity::Medium => Some("4.0".into()),
        Severity::Low => Some("0.1".into()),
        Severity::Unknown => None,
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

fn rule(id: &str, findings: &[&Finding]) -> Value {
    let first = findings.first().copied();
    let summary = first.and_then(|f| f.summary.clone());
    let severity = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Unknown);
    let aliases: Vec<&str> = first
        .map(|f| f.aliases.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let short = clip(summary.as_deref().unwrap_or(id), 1_000);
    let full = match (&summary, aliases.is_empty()) {
        (Some(s), true) => clip(s, MAX_TEXT),
        (Some(s), false) => clip(
            &format!("{s} (also known as {})", aliases.join(", ")),
            MAX_TEXT,
        ),
        (None, true) => format!("Vulnerability {id}"),
        (None, false) => clip(
            &format!("Vulnerability {id} (also known as {})", aliases.join(", ")),
            MAX_TEXT,
        ),
    };
    let mut text_lines = Vec::new();
    let mut md_lines = vec![format!("**{}**", md(id)), String::new()];
    if let Some(s) = &summary {
        md_lines.push(md(&clip(s, MAX_TEXT)));
        md_lines.push(String::new());
    }
    md_lines.push("| Package | Installed | Fixed in |".into());
    md_lines.push("| --- | --- | --- |".into());
    for f in findings {
        let fixed = if f.fixed_versions.is_empty() {
            "no fix yet".to_string()
        } else {
            f.fixed_versions.join(", ")
        };
        text_lines.push(format!(
            "{}@{}: {}.",
            f.package.name,
            f.package.version,
            remedy(f)
        ));
        md_lines.push(format!(
            "| {} | {} | {} |",
            md(&f.package.name),
            md(&f.package.version),
            md(&fixed)
        ));
    }
    let references: Vec<&str> = first
        .map(|f| {
            f.references
                .iter()
                .map(String::as_str)
                .filter(|u| usable_url(u))
                .collect()
        })
        .unwrap_or_default();
    if !references.is_empty() {
        md_lines.push(String::new());
        for url in &references {
            md_lines.push(format!("- <{url}>"));
        }
    }
    let mut properties = Map::new();
    if let Some(score) = security_severity(findings) {
        properties.insert("security-severity".into(), json!(score));
    }
    properties.insert(
        "tags".into(),
        json!([
            "security",
            "vulnerability",
            severity.as_str().to_ascii_lowercase()
        ]),
    );
    let mut rule = Map::new();
    rule.insert("id".into(), json!(id));
    rule.insert("name".into(), json!(rule_name(id)));
    rule.insert("shortDescription".into(), json!({ "text": short }));
    rule.insert("fullDescription".into(), json!({ "text": full }));
    if let Some(url) = references.first() {
        rule.insert("helpUri".into(), json!(url));
    }
    rule.insert(
        "help".into(),
        json!({ "text": clip(&text_lines.join("\n"), MAX_TEXT * 4), "markdown": clip(&md_lines.join("\n"), MAX_TEXT * 4) }),
    );
    rule.insert(
        "defaultConfiguration".into(),
        json!({ "level": level(severity) }),
    );
    rule.insert("properties".into(), Value::Object(properties));
    Value::Object(rule)
}

/// SARIF's `name` is a PascalCase identifier-like string: the id without its punctuation.
fn rule_name(id: &str) -> String {
    let name: String = id.chars().filter(char::is_ascii_alphanumeric).collect();
    if name.is_empty() {
        "Vulnerability".into()
    } else {
        name
    }
}

fn result(finding: &Finding, rule_index: usize) -> Value {
    let aliases = if finding.aliases.is_empty() {
        String::new()
    } else {
        format!(" ({})", finding.aliases.join(", "))
    };
    let message = format!(
        "{}@{} is affected by {}{} [{}]: {}.",
        finding.package.name,
        finding.package.version,
        finding.id,
        aliases,
        finding.severity.as_str(),
        remedy(finding)
    );
    let paths: Vec<String> = if finding.locations.is_empty() {
        // GitHub needs a location; the package URL is the best name the image gives.
        vec![finding.package.purl.clone()]
    } else {
        finding.locations.clone()
    };
    let locations: Vec<Value> = paths
        .iter()
        .take(SARIF_MAX_LOCATIONS)
        .map(|p| {
            json!({
                "physicalLocation": {
                    "artifactLocation": { "uri": location_uri(p) },
                    "region": { "startLine": 1 },
                }
            })
        })
        .collect();
    let fingerprint = digest_of(&[
        &finding.id,
        &finding.package.purl,
        &finding.package.name,
        &finding.package.version,
    ]);
    let mut result = Map::new();
    result.insert("ruleId".into(), json!(finding.id));
    result.insert("ruleIndex".into(), json!(rule_index));
    result.insert("level".into(), json!(level(finding.severity)));
    result.insert(
        "message".into(),
        json!({ "text": clip(&message, MAX_TEXT) }),
    );
    result.insert("locations".into(), json!(locations));
    result.insert(
        "partialFingerprints".into(),
        json!({ "prooflineFinding/v1": fingerprint }),
    );
    if let Some(waiver) = &finding.waived_by {
        let justification = match (&waiver.justification, &waiver.reason) {
            (Some(j), Some(r)) => format!("{} {} ({j}): {r}", waiver.kind, waiver.status),
            (Some(j), None) => format!("{} {} ({j})", waiver.kind, waiver.status),
            (None, Some(r)) => format!("{} {}: {r}", waiver.kind, waiver.status),
            (None, None) => format!("{} {}", waiver.kind, waiver.status),
        };
        let justification = match &waiver.expires {
            Some(e) => format!("{justification} (until {e}; {})", waiver.source),
            None => format!("{justification} ({})", waiver.source),
        };
        result.insert(
            "suppressions".into(),
            json!([{ "kind": "external", "status": "accepted", "justification": clip(&justification, MAX_TEXT) }]),
        );
    }
    let mut properties = Map::new();
    properties.insert("purl".into(), json!(finding.package.purl));
    properties.insert("ecosystem".into(), json!(finding.package.ecosystem));
    properties.insert("severity".into(), json!(finding.severity.as_str()));
    properties.insert("fixedVersions".into(), json!(finding.fixed_versions));
    properties.insert("blocking".into(), json!(finding.blocking));
    if finding.locations.len() > SARIF_MAX_LOCATIONS {
        properties.insert(
            "locationsOmitted".into(),
            json!(finding.locations.len() - SARIF_MAX_LOCATIONS),
        );
    }
    result.insert("properties".into(), Value::Object(properties));
    Value::Object(result)
}

/// A path in the image as a relative URI reference: no leading `/`, reserved and non-ASCII
/// bytes percent-encoded so the URI is valid whatever the file name.
fn location_uri(path: &str) -> String {
    let trimmed = path.trim_start_matches('/');
    let mut out = String::with_capacity(trimmed.len());
    for byte in trimmed.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b'+'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b','
                    | b';'
                    | b'='
            )
        {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Markdown-escape untrusted advisory text (also neutralising raw HTML).
fn md(text: &str) -> String {
    super::summary::escape_markdown(text)
}
