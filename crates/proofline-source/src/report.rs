//! What the source stage leaves behind: `source.json` (commits, verdicts, the forge's view, every
//! check), an in-toto Statement with a SLSA Verification Summary for the commit, and the Markdown
//! summary table. Built from data only, so the same run always renders the same bytes.

use proofline_forge::ForgeView;
use serde::Serialize;
use serde_json::{Value, json};

use crate::checks::{Check, CheckStatus, CommitResult};
use crate::plan::Plan;
use crate::policy::SourcePolicy;
use crate::verify::TrustSources;

/// `source.json` schema id.
pub const SOURCE_SCHEMA: &str = "proofline/source/v1";
/// The VSA predicate type (SLSA 1.x).
pub const VSA_PREDICATE: &str = "https://slsa.dev/verification_summary/v1";
/// The verifier id in our VSAs.
pub const VERIFIER_ID: &str = "https://github.com/proofline/proofline/source";
/// The policy URI in our VSAs: the resolved policy itself is hashed into `policy.digest`.
pub const POLICY_URI: &str = "https://github.com/proofline/proofline/docs/source.md#policy";

/// The repository half of the source-to-image mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryFacts {
    /// The local path read.
    pub path: String,
    /// `owner/repo` or the GitLab project path, when known.
    pub name: Option<String>,
    /// Web URL (`https://github.com/o/r`), when known.
    pub url: Option<String>,
    pub branch: Option<String>,
    /// The head commit of the run and its tree.
    pub commit: String,
    pub tree: String,
    /// The image this source was built into, when the image stage ran first in this evidence
    /// directory (`image/image.json`).
    pub image_digest: Option<String>,
}

/// The whole `source.json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceReport {
    pub schema: &'static str,
    pub outcome: &'static str,
    pub repository: RepositoryFacts,
    pub plan: Plan,
    /// History a shallow clone hid, in words; `None` when the whole range was read.
    pub unreachable: Option<String>,
    pub trust: TrustSources,
    pub policy: SourcePolicy,
    pub commits: Vec<CommitResult>,
    /// Everything the forge said, each fact with its request; `None` with no forge.
    pub forge: Option<ForgeView>,
    pub checks: Vec<Check>,
}

impl SourceReport {
    /// Counts of check statuses, for the record's findings.
    pub fn counts(&self) -> [(&'static str, u64); 5] {
        let n = |s: CheckStatus| self.checks.iter().filter(|c| c.status == s).count() as u64;
        [
            ("pass", n(CheckStatus::Pass)),
            ("fail", n(CheckStatus::Fail)),
            ("indeterminate", n(CheckStatus::Indeterminate)),
            ("warn", n(CheckStatus::Warn)),
            ("skipped", n(CheckStatus::Skipped)),
        ]
    }
}

/// The in-toto Statement (v1) with a SLSA VSA predicate for the head commit.
///
/// `verifiedLevels` claims only what was checked: `SLSA_SOURCE_LEVEL_1` (the source is in version
/// control) when the run passed, plus `PROOFLINE_SOURCE_*` properties for each passed check
/// family; `FAILED` when it did not. Nothing here claims a higher Source-track level, which
/// needs continuity guarantees this stage does not attest.
pub fn vsa_statement(report: &SourceReport, time_verified: &str, policy_sha256: &str) -> Value {
    let repo = &report.repository;
    let resource = match (&repo.url, &repo.branch) {
        (Some(url), Some(branch)) => format!("git+{url}@refs/heads/{branch}"),
        (Some(url), None) => format!("git+{url}"),
        (None, _) => format!("git+file://{}", repo.path),
    };
    let passed = report.outcome == "passed";
    let mut levels: Vec<String> = Vec::new();
    if passed {
        levels.push("SLSA_SOURCE_LEVEL_1".into());
        let family_passed = |prefix: &str| {
            let family: Vec<&Check> = report
                .checks
                .iter()
                .filter(|c| c.id == prefix || c.id.starts_with(&format!("{prefix}/")))
                .collect();
            !family.is_empty() && family.iter().all(|c| c.status == CheckStatus::Pass)
        };
        for (prefix, property) in [
            ("signatures", "PROOFLINE_SOURCE_SIGNED_COMMITS"),
            ("branch-protection", "PROOFLINE_SOURCE_BRANCH_PROTECTED"),
            ("approvals", "PROOFLINE_SOURCE_REVIEWED"),
            ("codeowners", "PROOFLINE_SOURCE_CODEOWNERS"),
        ] {
            if family_passed(prefix) {
                levels.push(property.into());
            }
        }
    } else {
        levels.push("FAILED".into());
    }
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{
            "name": resource,
            "uri": resource,
            "digest": { "gitCommit": repo.commit },
        }],
        "predicateType": VSA_PREDICATE,
        "predicate": {
            "verifier": {
                "id": VERIFIER_ID,
                "version": { "proofline-source": env!("CARGO_PKG_VERSION") },
            },
            "timeVerified": time_verified,
            "resourceUri": resource,
            "policy": {
                "uri": POLICY_URI,
                "digest": { "sha256": policy_sha256 },
            },
            "verificationResult": if passed { "PASSED" } else { "FAILED" },
            "verifiedLevels": levels,
            "slsaVersion": "1.1",
        }
    })
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('\n', " ")
        .replace('`', "'")
}

fn status_word(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "✅ pass",
        CheckStatus::Fail => "❌ fail",
        CheckStatus::Indeterminate => "⚠️ indeterminate",
        CheckStatus::Warn => "⚠️ warn",
        CheckStatus::Skipped => "➖ skipped",
    }
}

/// The Markdown job summary: the checks, then one row per commit (capped, with a count).
pub fn summary_markdown(report: &SourceReport) -> String {
    const MAX_ROWS: usize = 50;
    let repo = &report.repository;
    let mut md = format!(
        "## Proofline: source — {}\n\n{} on `{}`{} — {}\n\n| check | result | details |\n|---|---|---|\n",
        report.outcome,
        cell(repo.name.as_deref().unwrap_or(&repo.path)),
        cell(repo.commit.get(..12).unwrap_or(&repo.commit)),
        repo.branch
            .as_deref()
            .map(|b| format!(" (branch `{}`)", cell(b)))
            .unwrap_or_default(),
        cell(&report.plan.origin),
    );
    for c in &report.checks {
        let mut details = cell(&c.summary);
        for d in c.details.iter().take(5) {
            details.push_str("<br>");
            details.push_str(&cell(d));
        }
        if c.details.len() > 5 {
            details.push_str(&format!(
                "<br>… {} more in source.json",
                c.details.len() - 5
            ));
        }
        md.push_str(&format!(
            "| `{}` | {} | {details} |\n",
            c.id,
            status_word(c.status)
        ));
    }
    if let Some(note) = &report.unreachable {
        md.push_str(&format!("\n> ⚠️ {}\n", cell(note)));
    }
    for note in &report.plan.notes {
        md.push_str(&format!("\n> {}\n", cell(note)));
    }
    md.push_str("\n| commit | summary | signature | signer | forge |\n|---|---|---|---|---|\n");
    for c in report.commits.iter().take(MAX_ROWS) {
        let v = &c.verification;
        let forge = match c.forge.as_ref().map(|f| f.value()) {
            Some(Some(f)) => f.reason.clone(),
            Some(None) => "indeterminate".into(),
            None => "—".into(),
        };
        md.push_str(&format!(
            "| `{}` | {} | {}{} | {} | {} |\n",
            cell(c.commit.sha.get(..12).unwrap_or(&c.commit.sha)),
            cell(&c.commit.summary),
            v.status.as_str(),
            if c.exempt { " (exempt)" } else { "" },
            cell(v.signer.as_deref().unwrap_or("—")),
            cell(&forge),
        ));
    }
    if report.commits.len() > MAX_ROWS {
        md.push_str(&format!(
            "\n{} more commit(s) in `source/source.json`.\n",
            report.commits.len() - MAX_ROWS
        ));
    }
    md
}
