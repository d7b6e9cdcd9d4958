//! Log commands as text: GitHub workflow commands (`::error file=…::msg`) with `@actions/core`'s escaping, GitLab
//! collapsible-section markers, and the plain `error: file:line: message` lines used elsewhere.

use std::fmt::Write as _;

/// Severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnnotationLevel {
    /// `::error` — shown as an error, does not fail the step by itself.
    Error,
    /// `::warning`
    Warning,
    /// `::notice`
    Notice,
}

impl AnnotationLevel {
    /// The command / prefix word: `error`, `warning`, `notice`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Notice => "notice",
        }
    }
}

/// A finding to show on the run (and on the PR diff when it has a file and line).
///
/// Lines and columns are 1-based; `0` is treated as absent, as `@actions/core` drops falsy properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Severity.
    pub level: AnnotationLevel,
    /// The message (may span lines).
    pub message: String,
    /// A short title.
    pub title: Option<String>,
    /// Repository-relative path of the file.
    pub file: Option<String>,
    /// Start line.
    pub line: Option<u32>,
    /// End line.
    pub end_line: Option<u32>,
    /// Start column.
    pub col: Option<u32>,
    /// End column.
    pub end_column: Option<u32>,
}

impl Annotation {
    /// An annotation of `level` with `message` and no location.
    pub fn new(level: AnnotationLevel, message: impl Into<String>) -> Self {
        Self {
            level,
            message: message.into(),
            title: None,
            file: None,
            line: None,
            end_line: None,
            col: None,
            end_column: None,
        }
    }

    /// An error annotation.
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(AnnotationLevel::Error, message)
    }

    /// A warning annotation.
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(AnnotationLevel::Warning, message)
    }

    /// A notice annotation.
    pub fn notice(message: impl Into<String>) -> Self {
        Self::new(AnnotationLevel::Notice, message)
    }

    /// Set the title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Set the file.
    #[must_use]
    pub fn file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Set the start line.
    #[must_use]
    pub fn line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    /// Set the end line.
    #[must_use]
    pub fn end_line(mut self, line: u32) -> Self {
        self.end_line = Some(line);
        self
    }

    /// Set the start column.
    #[must_use]
    pub fn col(mut self, col: u32) -> Self {
        self.col = Some(col);
        self
    }

    /// Set the end column.
    #[must_use]
    pub fn end_column(mut self, col: u32) -> Self {
        self.end_column = Some(col);
        self
    }

    /// The GitHub workflow command, without the line break: `::error file=…,line=…,col=…,title=…::message`.
    /// Properties are written in the order GitHub documents them (file, line, endLine, col, endColumn, title);
    /// empty strings and zero numbers are left out.
    pub fn to_github_command(&self) -> String {
        let number = |n: Option<u32>| n.filter(|n| *n > 0).map(|n| n.to_string());
        let text = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        let properties = [
            ("file", text(&self.file)),
            ("line", number(self.line)),
            ("endLine", number(self.end_line)),
            ("col", number(self.col)),
            ("endColumn", number(self.end_column)),
            ("title", text(&self.title)),
        ];
        github_command(self.level.as_str(), &properties, &self.message)
    }

    /// The plain line for logs without annotation support (GitLab, local):
    /// `error: file:line:col: title: message`, control characters made visible, later message lines indented.
    pub fn to_plain_line(&self) -> String {
        let mut out = String::new();
        out.push_str(self.level.as_str());
        out.push_str(": ");
        if let Some(file) = self.file.as_deref().filter(|f| !f.is_empty()) {
            out.push_str(&plain_text(file));
            if let Some(line) = self.line.filter(|n| *n > 0) {
                let _ = write!(out, ":{line}");
                if let Some(col) = self.col.filter(|n| *n > 0) {
                    let _ = write!(out, ":{col}");
                }
            }
            out.push_str(": ");
        }
        if let Some(title) = self.title.as_deref().filter(|t| !t.is_empty()) {
            out.push_str(&plain_text(title));
            out.push_str(": ");
        }
        out.push_str(&plain_text(&self.message));
        out
    }
}

/// A GitHub workflow command line (without the line break): `::name k=v,k=v::message`, with property values
/// escaped by [`escape_property`] and the message by [`escape_data`]. Properties whose value is `None` are skipped.
pub fn github_command(name: &str, properties: &[(&str, Option<String>)], message: &str) -> String {
    let mut out = format!("::{name}");
    let mut first = true;
    for (key, value) in properties {
        if let Some(value) = value {
            out.push(if first { ' ' } else { ',' });
            first = false;
            out.push_str(key);
            out.push('=');
            out.push_str(&escape_property(value));
        }
    }
    out.push_str("::");
    out.push_str(&escape_data(message));
    out
}

/// Escape a workflow command message as `@actions/core` does: `%`→`%25`, `\r`→`%0D`, `\n`→`%0A`.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow command property value: as [`escape_data`], plus `:`→`%3A` and `,`→`%2C`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Text for a plain log line or a GitLab section header: control characters (which could forge ANSI sequences or
/// GitLab section markers) shown as `\xNN` / `\u{NN}`, tabs kept, later lines indented by two spaces.
pub fn plain_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => out.push_str("\n  "),
            '\t' => out.push('\t'),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// A GitLab section name from a title: ASCII letters, digits, `_`, `.`, `-` (what GitLab's log parser accepts),
/// lowercased, at most 48 characters, followed by `_<seq>` so names stay unique.
pub(crate) fn gitlab_section_name(title: &str, seq: u64) -> String {
    let mut slug: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(48)
        .collect();
    if slug.trim_matches('_').is_empty() {
        slug = "section".to_owned();
    }
    format!("{slug}_{seq}")
}

/// GitLab's section start marker followed by the header text (without the final line break).
pub(crate) fn gitlab_section_start(name: &str, unix: u64, title: &str, collapsed: bool) -> String {
    let options = if collapsed { "[collapsed=true]" } else { "" };
    format!(
        "\x1b[0Ksection_start:{unix}:{name}{options}\r\x1b[0K{}",
        plain_text(title).replace('\n', " ")
    )
}

/// GitLab's section end marker (without the final line break).
pub(crate) fn gitlab_section_end(name: &str, unix: u64) -> String {
    format!("\x1b[0Ksection_end:{unix}:{name}\r\x1b[0K")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn property_escaping_covers_separators_and_percent_first() {
        assert_eq!(escape_property("a:b,c%0A\n"), "a%3Ab%2Cc%250A%0A");
        assert_eq!(escape_data("50%:\r\n"), "50%25:%0D%0A");
    }

    #[test]
    fn plain_text_defuses_escape_sequences_and_section_markers() {
        let hostile = "ok\x1b[0Ksection_end:1:x\r\x1b[0K\u{9b}31m";
        assert_eq!(
            plain_text(hostile),
            "ok\\x1b[0Ksection_end:1:x\\x0d\\x1b[0K\\u{9b}31m"
        );
    }

    #[test]
    fn section_names_use_only_gitlab_characters() {
        assert_eq!(
            gitlab_section_name("Verify commit signatures", 3),
            "verify_commit_signatures_3"
        );
        assert_eq!(gitlab_section_name("::\x1b[", 1), "section_1");
        assert_eq!(gitlab_section_name("sbom.spdx-3", 2), "sbom.spdx-3_2");
    }
}
