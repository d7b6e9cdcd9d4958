//! Every document the scan writes besides report.json, each a pure function of the
//! [`Report`](crate::report::Report): the in-toto vulns statement, SARIF for GitHub code
//! scanning, GitLab's container-scanning report, OpenVEX and the Markdown summary.

mod gitlab;
mod openvex;
mod sarif;
mod summary;
mod vulns;

pub use gitlab::{GITLAB_SCHEMA_VERSION, gitlab};
pub use openvex::openvex;
pub use sarif::{SARIF_MAX_LOCATIONS, SARIF_MAX_RESULTS, sarif};
pub use summary::summary_markdown;
pub use vulns::{VULNS_PREDICATE_TYPE, vulns_statement};

use sha2::{Digest, Sha256};

use crate::report::{Finding, Severity};

/// Why an output could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "the subject digest `{0}` is not a sha256 digest (expected `sha256:` followed by 64 hex digits, or the 64 hex digits alone)"
    )]
    BadDigest(String),
    #[error("the scan time `{0}` is not an RFC 3339 timestamp (e.g. `2026-01-31T12:00:00Z`)")]
    BadTime(String),
}

/// The 64 lowercase hex digits of a `sha256:…` (or bare) digest.
pub(crate) fn sha256_hex(digest: &str) -> Option<String> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// Hex SHA-256 of the parts joined with NUL (no part can contain NUL ambiguity-free otherwise).
pub(crate) fn digest_of(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(hasher.finalize())
}

/// What to do about a finding, in words: the fixed version to upgrade to, or that there is none.
pub(crate) fn remedy(finding: &Finding) -> String {
    match finding.fixed_versions.first() {
        Some(first) if finding.fixed_versions.len() == 1 => {
            format!("upgrade {} to {first}", finding.package.name)
        }
        Some(_) => format!(
            "upgrade {} to one of {}",
            finding.package.name,
            finding.fixed_versions.join(", ")
        ),
        None => format!("no fix available yet for {}", finding.package.name),
    }
}

/// Title-case severity (`Critical`, …, `Unknown`): GitLab's and the summary's spelling.
pub(crate) fn severity_title(severity: Severity) -> &'static str {
    match severity {
        Severity::Unknown => "Unknown",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

/// The findings sorted most severe first (blocking before not, then id, then package), so
/// every truncating output keeps the most important ones.
pub(crate) fn by_priority(findings: &[Finding]) -> Vec<&Finding> {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| {
        b.blocking
            .cmp(&a.blocking)
            .then(b.severity.cmp(&a.severity))
            .then_with(|| {
                let sa = a.cvss.as_ref().map_or(-1.0, |c| c.score);
                let sb = b.cvss.as_ref().map_or(-1.0, |c| c.score);
                sb.total_cmp(&sa)
            })
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.package.purl.cmp(&b.package.purl))
            .then_with(|| a.package.version.cmp(&b.package.version))
    });
    sorted
}

/// An advisory reference usable as a URI in a schema-checked document (http(s), no spaces or
/// control characters); advisory text is untrusted input.
pub(crate) fn usable_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            !rest.is_empty()
                && url.len() <= 2048
                && !rest.starts_with('/')
                && url.chars().all(|c| {
                    c.is_ascii_graphic()
                        && !matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}')
                })
        }
        None => false,
    }
}

/// Cut `text` to at most `max` bytes on a character boundary, marking the cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(3);
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", text.get(..end).unwrap_or_default())
}

/// An advisory's public page by id: GHSA on GitHub, CVE on cve.org, the rest on OSV.
pub(crate) fn advisory_url(id: &str) -> String {
    if id.starts_with("GHSA-") {
        format!("https://github.com/advisories/{id}")
    } else if id.starts_with("CVE-") {
        format!("https://www.cve.org/CVERecord?id={id}")
    } else {
        format!("https://osv.dev/vulnerability/{id}")
    }
}

/// An id safe to put in a URL path or query (advisory ids are untrusted).
pub(crate) fn url_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}
