//! The scan as a Markdown page for a CI job summary or a pull request: counts by severity,
//! what blocks first (with the version to upgrade to), then the rest, then what was waived,
//! then what the scan noticed besides (expired or unused waivers, matches it could not decide).

use std::fmt::Write as _;

use super::{by_priority, severity_title};
use crate::report::{Finding, Report, Severity};
use crate::scan::Notes;

const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Unknown,
];

/// Advisory summaries longer than this are cut in the page.
const MAX_SUMMARY: usize = 300;

/// At most this many entries of a note list (expired waivers, unused ignore entries) are shown;
/// report.json holds them all.
const MAX_NOTES: usize = 20;

/// The Markdown summary of `report`. Every string that comes from an advisory, a package or
/// a waiver is escaped: it can neither format the page nor inject HTML.
pub fn summary_markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Vulnerability scan: {}",
        escape_markdown(&report.subject.name)
    );
    out.push('\n');
    if let Some(digest) = &report.subject.digest {
        let _ = writeln!(out, "Image digest: {}  ", escape_markdown(digest));
    }
    let _ = writeln!(
        out,
        "Database: {} {} built {} ({:.1} days old, {} advisories). Scanned {} packages from {} to {}; the gate fails on {}.",
        escape_markdown(&report.database.kind),
        escape_markdown(&report.database.path),
        escape_markdown(&report.database.built),
        report.database.age_days,
        report.database.advisories,
        report.packages_scanned,
        escape_markdown(&report.scanned_at),
        escape_markdown(&report.finished_at),
        escape_markdown(&report.fail_on),
    );
    out.push('\n');
    if report.findings.is_empty() {
        let _ = writeln!(
            out,
            "No known vulnerabilities in the {} packages scanned.",
            report.packages_scanned
        );
        notes(&mut out, &report.notes);
        return out;
    }
    out.push_str("| Severity | Findings | Blocking | Waived |\n| --- | ---: | ---: | ---: |\n");
    for severity in SEVERITIES {
        let of: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            severity_title(severity),
            of.len(),
            of.iter().filter(|f| f.blocking).count(),
            of.iter().filter(|f| f.waived_by.is_some()).count()
        );
    }
    let _ = writeln!(
        out,
        "| **Total** | **{}** | **{}** | **{}** |",
        report.findings.len(),
        report.findings.iter().filter(|f| f.blocking).count(),
        report
            .findings
            .iter()
            .filter(|f| f.waived_by.is_some())
            .count()
    );
    let ordered = by_priority(&report.findings);
    let blocking: Vec<&Finding> = ordered.iter().copied().filter(|f| f.blocking).collect();
    let open: Vec<&Finding> = ordered
        .iter()
        .copied()
        .filter(|f| !f.blocking && f.waived_by.is_none())
        .collect();
    let waived: Vec<&Finding> = ordered
        .iter()
        .copied()
        .filter(|f| f.waived_by.is_some())
        .collect();
    section(
        &mut out,
        "Blocking",
        &blocking,
        "Nothing blocks the release.",
    );
    section(&mut out, "Not blocking", &open, "None.");
    section(&mut out, "Waived", &waived, "None.");
    notes(&mut out, &report.notes);
    out
}

/// What the scan learnt besides its findings, when it learnt anything: expired waivers get a
/// section of their own (the findings they named block again), the rest one line each.
fn notes(out: &mut String, notes: &Notes) {
    if !notes.expired_waivers.is_empty() {
        let _ = writeln!(
            out,
            "\n### Expired waivers ({})\n",
            notes.expired_waivers.len()
        );
        list(out, "", &notes.expired_waivers);
    }
    let indeterminate = notes.indeterminate.len();
    let skipped = usize::try_from(notes.distro_owned_skipped).unwrap_or(usize::MAX);
    let unused = notes.unused_ignores.len();
    let dev = usize::try_from(notes.dev_only_skipped).unwrap_or(usize::MAX);
    if indeterminate == 0 && skipped == 0 && unused == 0 && dev == 0 {
        return;
    }
    out.push_str("\n### Notes\n\n");
    if indeterminate > 0 {
        let _ = writeln!(
            out,
            "- {indeterminate} {} could not be decided (the package's version could not be ordered against the advisory's ranges); report.json lists {}.",
            plural(indeterminate, "advisory match", "advisory matches"),
            plural(indeterminate, "it", "them"),
        );
    }
    if skipped > 0 {
        let _ = writeln!(
            out,
            "- {skipped} {} installed by a distribution package {} judged through the distribution package, not on {} own.",
            plural(skipped, "language package", "language packages"),
            plural(skipped, "was", "were"),
            plural(skipped, "its", "their"),
        );
    }
    if dev > 0 {
        let _ = writeln!(
            out,
            "- {dev} development-only lock-file {} (not installed in the image) {} not judged.",
            plural(dev, "entry", "entries"),
            plural(dev, "was", "were"),
        );
    }
    if unused > 0 {
        let _ = writeln!(
            out,
            "- {unused} ignore {} of proofline.yaml named no finding (delete {} if stale):",
            plural(unused, "entry", "entries"),
            plural(unused, "it", "them"),
        );
        list(out, "  ", &notes.unused_ignores);
    }
}

/// A bullet list of note entries (escaped), `indent` before each bullet, cut at [`MAX_NOTES`].
fn list(out: &mut String, indent: &str, entries: &[String]) {
    for entry in entries.iter().take(MAX_NOTES) {
        let _ = writeln!(out, "{indent}- {}", escape_markdown(entry));
    }
    if entries.len() > MAX_NOTES {
        let _ = writeln!(
            out,
            "{indent}- and {} more (see report.json)",
            entries.len() - MAX_NOTES
        );
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn section(out: &mut String, title: &str, findings: &[&Finding], empty: &str) {
    let _ = writeln!(out, "\n### {title} ({})\n", findings.len());
    if findings.is_empty() {
        let _ = writeln!(out, "{empty}");
        return;
    }
    for finding in findings {
        line(out, finding);
    }
}

fn line(out: &mut String, f: &Finding) {
    let aliases = if f.aliases.is_empty() {
        String::new()
    } else {
        format!(
            " ({})",
            f.aliases
                .iter()
                .map(|a| escape_markdown(a))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let score = match &f.cvss {
        Some(c) => format!(" {:.1} (CVSS {})", c.score, escape_markdown(&c.version)),
        None => String::new(),
    };
    let fix = if f.fixed_versions.is_empty() {
        "no fix yet".to_string()
    } else {
        format!(
            "upgrade to {}",
            f.fixed_versions
                .iter()
                .map(|v| escape_markdown(v))
                .collect::<Vec<_>>()
                .join(" or ")
        )
    };
    let _ = writeln!(
        out,
        "- **{}**{aliases}: {}\\@{}, {}{score}, {fix}",
        escape_markdown(&f.id),
        escape_markdown(&f.package.name),
        escape_markdown(&f.package.version),
        f.severity.as_str(),
    );
    if let Some(summary) = &f.summary {
        let _ = writeln!(
            out,
            "  - {}",
            escape_markdown(&super::clip(summary, MAX_SUMMARY))
        );
    }
    if !f.locations.is_empty() {
        let shown: Vec<String> = f
            .locations
            .iter()
            .take(10)
            .map(|l| escape_markdown(l))
            .collect();
        let more = f.locations.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let _ = writeln!(out, "  - in {}{more}", shown.join(", "));
    }
    if let Some(w) = &f.waived_by {
        let mut text = format!(
            "waived by {} ({}): {}",
            escape_markdown(&w.kind),
            escape_markdown(&w.source),
            escape_markdown(&w.status)
        );
        if let Some(j) = &w.justification {
            let _ = write!(text, ", {}", escape_markdown(j));
        }
        if let Some(r) = &w.reason {
            let _ = write!(text, ", {}", escape_markdown(r));
        }
        if let Some(e) = &w.expires {
            let _ = write!(text, ", until {}", escape_markdown(e));
        }
        let _ = writeln!(out, "  - {text}");
    }
}

/// Escape text for Markdown (GitHub and GitLab flavours): punctuation that formats is
/// backslash-escaped, `<`, `>` and `&` become entities (no raw HTML), line breaks become spaces.
pub(crate) fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' | '\n' | '\t' => out.push(' '),
            c if c.is_control() => {}
            // Emphasis, code, links, tables, strikethrough, maths and e-mail autolinks.
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '|' | '~' | '$' | '@' => {
                out.push('\\');
                out.push(c);
            }
            // `scheme://` would autolink.
            ':' if chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/') => {
                out.push_str("\\:");
            }
            // These only start a block (list, heading, image) at the start of the text.
            '-' | '.' | '+' | '#' | '!' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}
