//! Code-owner approval judged by us where the forge does not report it (GitHub computes it only
//! when merging): CODEOWNERS read from the change's head commit, the owners of every changed
//! file (last matching rule wins, gitignore-style patterns), and whether one of them approved.

use regex::Regex;
use serde::Serialize;

/// Where GitHub and GitLab look for CODEOWNERS, first found wins.
pub const LOCATIONS: [&str; 4] = [
    ".github/CODEOWNERS",
    "CODEOWNERS",
    "docs/CODEOWNERS",
    ".gitlab/CODEOWNERS",
];

/// One `pattern owner…` line.
#[derive(Debug, Clone)]
struct Rule {
    line: usize,
    pattern: String,
    regex: Regex,
    owners: Vec<String>,
}

/// A parsed CODEOWNERS file.
#[derive(Debug, Clone)]
pub struct Codeowners {
    /// Where it was read (e.g. `.github/CODEOWNERS`).
    pub path: String,
    rules: Vec<Rule>,
    /// Lines we could not use (bad patterns), `line N: reason`.
    pub problems: Vec<String>,
}

/// The verdict on code-owner approval for one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum OwnerApproval {
    /// Every changed file with owners has an approval from one of them.
    Approved { files: usize },
    /// These files lack an owner's approval (`file: owners`).
    Missing { files: Vec<String> },
    /// Some files are owned only by teams or emails whose members we cannot resolve.
    Unresolved { files: Vec<String> },
}

impl Codeowners {
    /// Parses CODEOWNERS text (GitHub syntax; GitLab `[Section]` headers are skipped).
    pub fn parse(text: &str, path: &str) -> Self {
        let mut rules = Vec::new();
        let mut problems = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.split(" #").next().unwrap_or("").trim();
            if content.is_empty()
                || content.starts_with('#')
                || content.starts_with('[')
                || content.starts_with("^[")
            {
                continue;
            }
            let mut words = content.split_whitespace();
            let Some(pattern) = words.next() else {
                continue;
            };
            let owners: Vec<String> = words.map(str::to_string).collect();
            match pattern_regex(pattern) {
                Ok(regex) => rules.push(Rule {
                    line,
                    pattern: pattern.to_string(),
                    regex,
                    owners,
                }),
                Err(e) => problems.push(format!("line {line}: pattern `{pattern}`: {e}")),
            }
        }
        Self {
            path: path.to_string(),
            rules,
            problems,
        }
    }

    /// The owners of a path (`/`-separated, relative to the root): the last matching rule's,
    /// `None` when no rule matches or the last match has no owners (explicitly unowned).
    pub fn owners_of(&self, file: &str) -> Option<(&[String], usize, &str)> {
        let rule = self.rules.iter().rev().find(|r| r.regex.is_match(file))?;
        (!rule.owners.is_empty()).then_some((
            rule.owners.as_slice(),
            rule.line,
            rule.pattern.as_str(),
        ))
    }

    /// Whether `approvers` (forge user names) cover every changed file that has owners.
    pub fn judge(&self, changed: &[String], approvers: &[String]) -> OwnerApproval {
        let approved = |owner: &str| {
            owner
                .strip_prefix('@')
                .filter(|name| !name.contains('/'))
                .is_some_and(|name| approvers.iter().any(|a| a.eq_ignore_ascii_case(name)))
        };
        let mut missing = Vec::new();
        let mut unresolved = Vec::new();
        let mut owned = 0;
        for file in changed {
            let Some((owners, line, _)) = self.owners_of(file) else {
                continue;
            };
            owned += 1;
            if owners.iter().any(|o| approved(o)) {
                continue;
            }
            let entry = format!("{file}: {} ({} line {line})", owners.join(" "), self.path);
            // A team (`@org/team`) or an email might include an approver: we cannot tell.
            if owners
                .iter()
                .any(|o| o.contains('/') || !o.starts_with('@'))
            {
                unresolved.push(entry);
            } else {
                missing.push(entry);
            }
        }
        if !missing.is_empty() {
            OwnerApproval::Missing { files: missing }
        } else if !unresolved.is_empty() {
            OwnerApproval::Unresolved { files: unresolved }
        } else {
            OwnerApproval::Approved { files: owned }
        }
    }
}

/// A gitignore-style CODEOWNERS pattern as an anchored regex over `/`-separated paths; a match
/// on a directory covers everything below it.
fn pattern_regex(pattern: &str) -> Result<Regex, String> {
    if pattern.starts_with('!') {
        return Err("negation is not supported in CODEOWNERS".into());
    }
    let dir_only = pattern.ends_with('/');
    let trimmed = pattern.trim_end_matches('/');
    let anchored = trimmed.starts_with('/') || trimmed.contains('/');
    let body = trimmed.trim_start_matches('/');
    if body.is_empty() {
        return Err("empty pattern".into());
    }
    let mut re = String::from("^");
    if !anchored {
        re.push_str("(?:.*/)?");
    }
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                if chars.get(i + 2) == Some(&'/') {
                    re.push_str("(?:.*/)?");
                    i += 3;
                } else {
                    re.push_str(".*");
                    i += 2;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                i += 1;
            }
            '?' => {
                re.push_str("[^/]");
                i += 1;
            }
            c => {
                re.push_str(&regex::escape(&c.to_string()));
                i += 1;
            }
        }
    }
    re.push_str(if dir_only {
        "/.*$"
    } else if body.ends_with("/*") {
        // GitHub: `docs/*` owns docs/a.md but not docs/sub/b.md.
        "$"
    } else {
        // A match on a directory covers everything below it.
        "(?:/.*)?$"
    });
    Regex::new(&re).map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const FILE: &str = "\
# Comment
*       @global-owner
*.js    @js-owner  # inline comment
/build/logs/ @doctocat
docs/*  docs@example.com
apps/   @octocat
/scripts/ @doctocat @octo-org/devs
**/logs @logs-owner
/unowned/file
";

    fn owners(c: &Codeowners, file: &str) -> Vec<String> {
        c.owners_of(file)
            .map(|(o, _, _)| o.to_vec())
            .unwrap_or_default()
    }

    #[test]
    fn last_matching_rule_wins_with_githubs_pattern_semantics() {
        let c = Codeowners::parse(FILE, ".github/CODEOWNERS");
        assert!(c.problems.is_empty());
        assert_eq!(owners(&c, "README.md"), ["@global-owner"]);
        assert_eq!(owners(&c, "src/app.js"), ["@js-owner"]);
        assert_eq!(owners(&c, "build/logs/x.txt"), ["@logs-owner"]);
        assert_eq!(owners(&c, "docs/guide.md"), ["docs@example.com"]);
        // `docs/*` is anchored (it has a slash) and one level deep only, as GitHub documents.
        assert_eq!(owners(&c, "docs/sub/guide.md"), ["@global-owner"]);
        assert_eq!(owners(&c, "a/docs/guide.md"), ["@global-owner"]);
        assert_eq!(owners(&c, "x/apps/y/z.rs"), ["@octocat"]);
        assert_eq!(
            owners(&c, "scripts/deploy.sh"),
            ["@doctocat", "@octo-org/devs"]
        );
        assert_eq!(owners(&c, "deep/a/logs"), ["@logs-owner"]);
        assert!(c.owners_of("unowned/file").is_none());
    }

    #[test]
    fn judging_approvals_against_owners() {
        let c = Codeowners::parse(FILE, "CODEOWNERS");
        let files = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            c.judge(
                &files(&["src/a.js", "README.md"]),
                &files(&["JS-Owner", "global-owner"])
            ),
            OwnerApproval::Approved { files: 2 }
        );
        assert!(matches!(
            c.judge(&files(&["src/a.js"]), &files(&["someone"])),
            OwnerApproval::Missing { files } if files[0].contains("@js-owner")
        ));
        // Owned by a user and a team: the team might include an approver we cannot resolve.
        assert!(matches!(
            c.judge(&files(&["scripts/x.sh"]), &files(&["someone"])),
            OwnerApproval::Unresolved { .. }
        ));
        assert_eq!(
            c.judge(&files(&["scripts/x.sh"]), &files(&["doctocat"])),
            OwnerApproval::Approved { files: 1 }
        );
        assert_eq!(
            c.judge(&files(&["unowned/file"]), &[]),
            OwnerApproval::Approved { files: 0 }
        );
    }

    #[test]
    fn negation_is_reported_not_silently_ignored() {
        let c = Codeowners::parse("!secret @x\n", "CODEOWNERS");
        assert_eq!(c.problems.len(), 1);
        assert!(c.problems[0].starts_with("line 1"));
    }
}
