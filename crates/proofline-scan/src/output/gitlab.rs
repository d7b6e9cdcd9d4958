//! GitLab's container-scanning report (security-report-schemas 15.2.4, vendored under
//! `fixtures/schemas/gitlab-security-reports/`), for `artifacts:reports:container_scanning`:
//! one vulnerability per finding.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::{
    OutputError, advisory_url, by_priority, clip, digest_of, remedy, severity_title, url_safe_id,
    usable_url,
};
use crate::report::{Finding, Report};

/// The security-report-schemas release the report declares (the schema's `self.version`).
pub const GITLAB_SCHEMA_VERSION: &str = "15.2.4";

/// The schema's length limits (characters) on the fields we fill from advisory text.
const MAX_NAME: usize = 255;
const MAX_DESCRIPTION: usize = 1_048_576;
const MAX_SOLUTION: usize = 7_000;

/// The container-scanning report of `report`. The scan's start and end are the report's
/// `scanned_at` and `finished_at`, in UTC as the schema's `YYYY-MM-DDTHH:MM:SS`; either not
/// being RFC 3339 is [`OutputError::BadTime`].
pub fn gitlab(report: &Report) -> Result<Value, OutputError> {
    let start_time = gitlab_time(&report.scanned_at)?;
    let end_time = gitlab_time(&report.finished_at)?;
    let tool = json!({
        "id": "proofline-scan",
        "name": "Proofline scan",
        "version": report.scanner.version,
        "vendor": { "name": "Proofline" },
    });
    let mut tool_with_url = tool.clone();
    if usable_url(&report.scanner.uri)
        && let Some(obj) = tool_with_url.as_object_mut()
    {
        obj.insert("url".into(), json!(report.scanner.uri));
    }
    let vulnerabilities: Vec<Value> = by_priority(&report.findings)
        .into_iter()
        .map(|f| vulnerability(report, f))
        .collect();
    Ok(json!({
        "version": GITLAB_SCHEMA_VERSION,
        "schema": format!("https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/v{GITLAB_SCHEMA_VERSION}/dist/container-scanning-report-format.json"),
        "scan": {
            "analyzer": tool_with_url,
            "scanner": tool_with_url,
            "type": "container_scanning",
            "start_time": start_time,
            "end_time": end_time,
            "status": "success",
        },
        "vulnerabilities": vulnerabilities,
    }))
}

fn gitlab_time(rfc3339: &str) -> Result<String, OutputError> {
    let parsed = OffsetDateTime::parse(rfc3339, &Rfc3339)
        .map_err(|_| OutputError::BadTime(rfc3339.to_string()))?;
    parsed
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .map_err(|_| OutputError::BadTime(rfc3339.to_string()))
}

/// A stable UUID-shaped id from the finding's identity (vulnerability, package, version).
fn finding_uuid(finding: &Finding) -> String {
    let hex = digest_of(&[
        "gitlab",
        &finding.id,
        &finding.package.purl,
        &finding.package.version,
    ]);
    let part = |a: usize, b: usize| hex.get(a..b).unwrap_or_default().to_string();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// GitLab's identifier type: `cve`, `ghsa`, or the id's prefix lowercased (`rustsec`, `pysec`, …).
fn identifier(id: &str) -> Value {
    let kind = if id.starts_with("CVE-") {
        "cve".to_string()
    } else if id.starts_with("GHSA-") {
        "ghsa".to_string()
    } else {
        let prefix: String = id
            .split('-')
            .next()
            .unwrap_or(id)
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        if prefix.is_empty() {
            "osv".into()
        } else {
            prefix
        }
    };
    let mut entry = Map::new();
    entry.insert("type".into(), json!(kind));
    entry.insert("name".into(), json!(clip(id, MAX_NAME)));
    entry.insert("value".into(), json!(clip(id, MAX_NAME)));
    if url_safe_id(id) {
        entry.insert("url".into(), json!(advisory_url(id)));
    }
    Value::Object(entry)
}

fn vulnerability(report: &Report, finding: &Finding) -> Value {
    let name = clip(
        &format!(
            "{} in {}@{}",
            finding.id, finding.package.name, finding.package.version
        ),
        MAX_NAME,
    );
    let description = finding.summary.clone().unwrap_or_else(|| {
        format!(
            "{} affects {} {}.",
            finding.id, finding.package.name, finding.package.version
        )
    });
    // The schema wants at least one identifier and no empty name or value: advisory ids are
    // untrusted, so empty ones are dropped and the finding's own id stands in if none is left.
    let mut identifiers: Vec<Value> = std::iter::once(&finding.id)
        .chain(finding.aliases.iter().filter(|a| *a != &finding.id))
        .filter(|id| !id.trim().is_empty())
        .map(|id| identifier(id))
        .collect();
    let uuid = finding_uuid(finding);
    if identifiers.is_empty() {
        identifiers.push(json!({ "type": "proofline", "name": uuid, "value": uuid }));
    }
    let links: Vec<Value> = finding
        .references
        .iter()
        .filter(|u| usable_url(u))
        .map(|u| json!({ "url": u }))
        .collect();
    let image = match &report.subject.digest {
        Some(digest) if !report.subject.name.contains('@') => {
            format!("{}@{digest}", report.subject.name)
        }
        _ => report.subject.name.clone(),
    };
    // Both are required non-empty by the schema.
    let image = non_empty(image, "unknown image");
    let operating_system = non_empty(finding.package.ecosystem.clone(), "unknown");
    let mut vuln = Map::new();
    vuln.insert("id".into(), json!(uuid));
    vuln.insert("name".into(), json!(name));
    vuln.insert(
        "description".into(),
        json!(clip(&description, MAX_DESCRIPTION)),
    );
    vuln.insert("severity".into(), json!(severity_title(finding.severity)));
    vuln.insert(
        "solution".into(),
        json!(clip(&capitalise(&remedy(finding)), MAX_SOLUTION)),
    );
    vuln.insert(
        "location".into(),
        json!({
            "dependency": {
                "package": { "name": finding.package.name },
                "version": finding.package.version,
            },
            "operating_system": operating_system,
            "image": image,
        }),
    );
    vuln.insert("identifiers".into(), json!(identifiers));
    if !links.is_empty() {
        vuln.insert("links".into(), json!(links));
    }
    if let Some(waiver) = &finding.waived_by
        && waiver.kind == "vex"
    {
        let why = waiver
            .justification
            .as_deref()
            .or(waiver.reason.as_deref())
            .unwrap_or(waiver.status.as_str());
        vuln.insert(
            "flags".into(),
            json!([{
                "type": "flagged-as-likely-false-positive",
                "origin": "proofline-scan",
                "description": clip(&format!("VEX {} ({}): {why}", waiver.status, waiver.source), MAX_SOLUTION),
            }]),
        );
    }
    Value::Object(vuln)
}

fn non_empty(text: String, otherwise: &str) -> String {
    if text.trim().is_empty() {
        otherwise.to_string()
    } else {
        text
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
