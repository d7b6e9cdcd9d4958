//! Secrets that cannot be printed by accident, and the redaction of registered secrets from text before it is logged.

use std::borrow::Cow;
use std::fmt;

/// What a redacted secret is replaced with, in logs and in `Debug`/`Display`.
pub const REDACTED: &str = "***";

/// A secret value (a token, a password). `Debug` and `Display` print `***`; the value is reachable only through
/// [`Secret::expose`], so every use is visible in review. It does not implement `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Never log or format it; pass it straight to where it is needed (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pieces a log masker must know: each non-blank line of the value (a multi-line secret such as a PEM key
    /// is printed line by line, so masking only the whole value would not hide it).
    pub(crate) fn mask_pieces(&self) -> impl Iterator<Item = &str> {
        self.0
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .filter(|line| !line.trim().is_empty())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// The set of registered secrets, and the replacement of each of them by `***` in text about to be logged.
///
/// A multi-line secret is registered as a whole and line by line. Overlapping occurrences of different secrets
/// are merged, so no fragment of either survives.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Distinct non-blank pieces, longest first.
    needles: Vec<String>,
}

impl Redactor {
    /// An empty redactor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a secret: from now on [`Redactor::redact`] hides it.
    pub fn register(&mut self, secret: &Secret) {
        let whole = secret.expose();
        let pieces = std::iter::once(whole)
            .filter(|w| !w.trim().is_empty())
            .chain(secret.mask_pieces());
        for piece in pieces {
            if !self.needles.iter().any(|n| n == piece) {
                self.needles.push(piece.to_owned());
            }
        }
        self.needles
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Number of distinct pieces registered.
    pub fn len(&self) -> usize {
        self.needles.len()
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// Whether `text` contains any registered secret (or a line of one).
    pub fn contains_secret(&self, text: &str) -> bool {
        self.needles.iter().any(|n| text.contains(n.as_str()))
    }

    /// `text` with every occurrence of every registered secret replaced by `***`.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for needle in &self.needles {
            let mut from = 0;
            while let Some(found) = text.get(from..).and_then(|rest| rest.find(needle.as_str())) {
                let start = from + found;
                spans.push((start, start + needle.len()));
                // Continue one character later, so overlapping occurrences are all found.
                let step = text[start..].chars().next().map_or(1, char::len_utf8);
                from = start + step;
            }
        }
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut cursor = 0;
        let mut current: Option<(usize, usize)> = None;
        for (start, end) in spans {
            match current {
                Some((s, e)) if start <= e => current = Some((s, e.max(end))),
                Some((s, e)) => {
                    out.push_str(&text[cursor..s]);
                    out.push_str(REDACTED);
                    cursor = e;
                    current = Some((start, end));
                }
                None => current = Some((start, end)),
            }
        }
        if let Some((s, e)) = current {
            out.push_str(&text[cursor..s]);
            out.push_str(REDACTED);
            cursor = e;
        }
        out.push_str(&text[cursor..]);
        Cow::Owned(out)
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.needles.len())
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_secrets_leave_no_fragment() {
        let mut r = Redactor::new();
        r.register(&Secret::new("abcdef"));
        r.register(&Secret::new("defghi"));
        assert_eq!(r.redact("xxabcdefghiyy"), "xx***yy");
    }

    #[test]
    fn repeated_overlapping_occurrences_of_one_secret_are_all_hidden() {
        let mut r = Redactor::new();
        r.register(&Secret::new("aba"));
        assert_eq!(r.redact("ababa-aba"), "***-***");
    }

    #[test]
    fn multi_line_secret_is_hidden_line_by_line() {
        let mut r = Redactor::new();
        r.register(&Secret::new(
            "-----BEGIN KEY-----\r\nMIIBsecret\n-----END KEY-----\n",
        ));
        assert_eq!(r.redact("line: MIIBsecret"), "line: ***");
        assert!(r.contains_secret("-----END KEY-----"));
    }

    #[test]
    fn blank_secrets_are_not_registered() {
        let mut r = Redactor::new();
        r.register(&Secret::new(""));
        r.register(&Secret::new(" \n\t\n"));
        assert!(r.is_empty());
        assert_eq!(r.redact("a b"), "a b");
    }

    #[test]
    fn non_ascii_text_around_secrets_is_kept_intact() {
        let mut r = Redactor::new();
        r.register(&Secret::new("tök"));
        assert_eq!(r.redact("ötökö—tök"), "ö***ö—***");
    }
}
