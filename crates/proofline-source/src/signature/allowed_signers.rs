//! git's `allowed_signers` file (`ssh-keygen(1)`, ALLOWED SIGNERS): which SSH keys may sign as
//! which principals, for which namespaces and when. ssh-keygen is not needed on the runner.

use std::path::{Path, PathBuf};

use ssh_key::PublicKey;

/// Why an allowed_signers file could not be used; always names the file (and line).
#[derive(Debug, thiserror::Error)]
pub enum AllowedSignersError {
    #[error("cannot read allowed signers file {path}: {source} (check the --allowed-signers path)")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// One line of an allowed_signers file.
#[derive(Debug, Clone)]
pub struct AllowedSigner {
    /// Principal patterns (`*`/`?` globs, `!` negation), as written.
    pub principals: Vec<String>,
    /// `namespaces="…"` patterns; `None` means every namespace.
    pub namespaces: Option<Vec<String>>,
    /// `valid-after`, unix seconds (times without `Z` are read as UTC).
    pub valid_after: Option<i64>,
    /// `valid-before`, unix seconds (times without `Z` are read as UTC).
    pub valid_before: Option<i64>,
    /// `cert-authority`: the key is a CA for SSH certificates.
    pub cert_authority: bool,
    pub key: PublicKey,
    /// 1-based line number in the file.
    pub line: usize,
}

impl AllowedSigner {
    /// Whether `principal` matches this entry's principal list as ssh-keygen matches it
    /// (`match_pattern_list`: case-sensitive, a matching `!pattern` denies).
    pub fn matches_principal(&self, principal: &str) -> bool {
        match_pattern_list(principal, &self.principals)
    }

    /// Whether signatures in `namespace` are allowed (no `namespaces=` option allows all).
    pub fn allows_namespace(&self, namespace: &str) -> bool {
        self.namespaces
            .as_ref()
            .is_none_or(|list| match_pattern_list(namespace, list))
    }

    /// Whether the key is valid at `unix_seconds` (bounds inclusive, as ssh-keygen checks them).
    pub fn valid_at(&self, unix_seconds: i64) -> bool {
        self.valid_after.is_none_or(|a| unix_seconds >= a)
            && self.valid_before.is_none_or(|b| unix_seconds <= b)
    }
}

/// A parsed allowed_signers file.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    entries: Vec<AllowedSigner>,
}

impl AllowedSigners {
    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Self, AllowedSignersError> {
        let text = std::fs::read_to_string(path).map_err(|source| AllowedSignersError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses allowed_signers text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, AllowedSignersError> {
        let mut entries = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let entry = parse_line(trimmed, line).map_err(|reason| AllowedSignersError::Parse {
                path: origin.to_path_buf(),
                line,
                reason,
            })?;
            entries.push(entry);
        }
        Ok(Self { entries })
    }

    pub fn entries(&self) -> &[AllowedSigner] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

const KEY_TYPES: &[&str] = &["ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-", "rsa-sha2-"];

fn is_key_type(token: &str) -> bool {
    KEY_TYPES.iter().any(|p| token.starts_with(p))
}

/// Splits off the next whitespace-delimited token, honouring double quotes.
fn next_token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let mut in_quotes = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            c if c.is_whitespace() && !in_quotes => return Some((&s[..i], &s[i..])),
            _ => {}
        }
    }
    Some((s, ""))
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::to_string).collect()
}

fn parse_line(text: &str, line: usize) -> Result<AllowedSigner, String> {
    let (principals_raw, rest) = next_token(text).ok_or("empty line")?;
    let principals_raw = principals_raw
        .strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .unwrap_or(principals_raw);
    if principals_raw.is_empty() || principals_raw.split(',').any(str::is_empty) {
        return Err(format!("empty principal in `{principals_raw}`"));
    }
    let (mut token, mut rest) = next_token(rest)
        .ok_or_else(|| format!("missing key after principals `{principals_raw}`"))?;
    let mut entry_opts = Options::default();
    if !is_key_type(token) {
        entry_opts = parse_options(token)?;
        (token, rest) = next_token(rest).ok_or("missing key type and key after the options")?;
        if !is_key_type(token) {
            return Err(format!(
                "`{token}` is not an SSH key type (expected e.g. ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa)"
            ));
        }
    }
    let key_type = token;
    let (key_b64, comment) = next_token(rest)
        .ok_or_else(|| format!("missing base64 key after key type `{key_type}`"))?;
    let openssh = format!("{key_type} {key_b64} {}", comment.trim());
    let key = PublicKey::from_openssh(openssh.trim())
        .map_err(|e| format!("invalid {key_type} public key: {e}"))?;
    if key.algorithm().as_str() != key_type {
        return Err(format!(
            "key type `{key_type}` does not match the key's own type `{}`",
            key.algorithm().as_str()
        ));
    }
    Ok(AllowedSigner {
        principals: split_list(principals_raw),
        namespaces: entry_opts.namespaces,
        valid_after: entry_opts.valid_after,
        valid_before: entry_opts.valid_before,
        cert_authority: entry_opts.cert_authority,
        key,
        line,
    })
}

#[derive(Default)]
struct Options {
    namespaces: Option<Vec<String>>,
    valid_after: Option<i64>,
    valid_before: Option<i64>,
    cert_authority: bool,
}

fn parse_options(field: &str) -> Result<Options, String> {
    let mut opts = Options::default();
    // Split on commas outside quotes.
    let mut parts = Vec::new();
    let (mut start, mut in_quotes) = (0, false);
    for (i, c) in field.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                parts.push(&field[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quotes {
        return Err(format!("unterminated quote in options `{field}`"));
    }
    parts.push(&field[start..]);
    for part in parts {
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => {
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or_else(|| {
                        format!("option `{n}` needs a double-quoted value, e.g. {n}=\"…\"")
                    })?;
                (n, Some(v))
            }
            None => (part, None),
        };
        match (name.to_ascii_lowercase().as_str(), value) {
            ("cert-authority", None) => opts.cert_authority = true,
            ("namespaces", Some(v)) => {
                if v.is_empty() {
                    return Err("namespaces=\"\" lists no namespace".into());
                }
                opts.namespaces = Some(split_list(v));
            }
            ("valid-after", Some(v)) => {
                opts.valid_after = Some(parse_time(v).map_err(|e| format!("valid-after: {e}"))?)
            }
            ("valid-before", Some(v)) => {
                opts.valid_before = Some(parse_time(v).map_err(|e| format!("valid-before: {e}"))?)
            }
            ("cert-authority", Some(_)) => return Err("cert-authority takes no value".into()),
            (n @ ("namespaces" | "valid-after" | "valid-before"), None) => {
                return Err(format!("option `{n}` needs a value, e.g. {n}=\"…\""));
            }
            _ => {
                return Err(format!(
                    "unknown option `{name}` (known: cert-authority, namespaces, valid-after, valid-before); or is the key type misspelled?"
                ));
            }
        }
    }
    Ok(opts)
}

/// `YYYYMMDD[HHMM[SS]][Z]` to unix seconds; without `Z` the time is read as UTC (ssh-keygen
/// uses the local time zone, which differs between runners).
fn parse_time(v: &str) -> Result<i64, String> {
    let digits = v.strip_suffix(['Z', 'z']).unwrap_or(v);
    if !digits.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 14].contains(&digits.len()) {
        return Err(format!("`{v}` is not YYYYMMDD[HHMM[SS]][Z]"));
    }
    let num = |r: std::ops::Range<usize>| {
        digits
            .get(r)
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let month =
        time::Month::try_from(num(4..6) as u8).map_err(|_| format!("`{v}`: invalid month"))?;
    let date = time::Date::from_calendar_date(num(0..4) as i32, month, num(6..8) as u8)
        .map_err(|e| format!("`{v}`: {e}"))?;
    let tod = time::Time::from_hms(num(8..10) as u8, num(10..12) as u8, num(12..14) as u8)
        .map_err(|e| format!("`{v}`: {e}"))?;
    Ok(time::PrimitiveDateTime::new(date, tod)
        .assume_utc()
        .unix_timestamp())
}

/// ssh's `match_pattern_list`: `value` matches if some pattern matches and no `!pattern` does.
pub fn match_pattern_list(value: &str, patterns: &[String]) -> bool {
    let mut matched = false;
    for p in patterns {
        match p.strip_prefix('!') {
            Some(neg) if glob(neg.as_bytes(), value.as_bytes()) => return false,
            Some(_) => {}
            None => matched |= glob(p.as_bytes(), value.as_bytes()),
        }
    }
    matched
}

/// `*` and `?` glob over bytes.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> Vec<String> {
        split_list(s)
    }

    #[test]
    fn globs_and_negation_follow_ssh_match_pattern_list() {
        assert!(match_pattern_list(
            "alice@example.com",
            &list("*@example.com")
        ));
        assert!(match_pattern_list(
            "bob@example.com",
            &list("?ob@example.com")
        ));
        assert!(!match_pattern_list(
            "alice@example.org",
            &list("*@example.com")
        ));
        assert!(!match_pattern_list(
            "mallory@example.com",
            &list("*@example.com,!mallory@example.com")
        ));
        assert!(!match_pattern_list(
            "mallory@example.com",
            &list("!mallory@example.com,*@example.com")
        ));
        assert!(!match_pattern_list("x", &list("!y")));
        assert!(!match_pattern_list(
            "Alice@example.com",
            &list("alice@example.com")
        ));
    }

    #[test]
    fn times_parse_in_all_three_lengths() {
        assert_eq!(parse_time("19700102"), Ok(86_400));
        assert_eq!(parse_time("197001020001Z"), Ok(86_460));
        assert_eq!(parse_time("19700102000102"), Ok(86_462));
        assert!(parse_time("2024013").is_err());
        assert!(parse_time("20241301").is_err());
    }
}
