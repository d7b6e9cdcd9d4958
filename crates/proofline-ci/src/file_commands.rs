//! The file formats outputs are written in: GitHub's `$GITHUB_OUTPUT` (`name=value` and the `name<<delimiter`
//! form of `@actions/core` `file-command.ts`) and GitLab's dotenv report (`artifacts:reports:dotenv`).

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::CiError;

/// Prefix of the delimiters `@actions/core` generates (`ghadelimiter_<uuid>`).
pub const DELIMITER_PREFIX: &str = "ghadelimiter_";

/// GitLab's default limits for a dotenv report (`dotenv_size`, `dotenv_variables`, instance-configurable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DotenvLimits {
    /// The file must be smaller than this many bytes (GitLab default: 5 KiB).
    pub max_bytes: u64,
    /// At most this many variables (GitLab default: 20).
    pub max_variables: u64,
}

impl Default for DotenvLimits {
    fn default() -> Self {
        Self {
            max_bytes: 5 * 1024,
            max_variables: 20,
        }
    }
}

/// Check an output name for `$GITHUB_OUTPUT`: a letter or `_` first, then letters, digits, `-`, `_` (the names
/// `steps.<id>.outputs.<name>` can address; it also keeps `=` and `<<` out, which would break the file).
pub fn check_github_output_name(name: &str) -> Result<(), CiError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if !name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        Some("it must start with a letter or `_`")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Some("only ASCII letters, digits, `-` and `_` are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(CiError::InvalidOutputName {
            name: name.to_owned(),
            target: "$GITHUB_OUTPUT",
            reason,
        }),
        None => Ok(()),
    }
}

/// One `$GITHUB_OUTPUT` record, ending with a line break: `name=value` for a single-line value, else
/// `name<<ghadelimiter_<uuid>` ⏎ value ⏎ delimiter. The delimiter is derived from the content (SHA-256 of name and
/// value, formatted as a UUIDv8) and re-derived until it occurs in neither, as `file-command.ts` requires.
pub fn github_output_record(name: &str, value: &str) -> Result<String, CiError> {
    check_github_output_name(name)?;
    if !value.contains(['\n', '\r']) {
        return Ok(format!("{name}={value}\n"));
    }
    let delimiter = content_delimiter(name, value);
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// `ghadelimiter_<uuid>` derived from `name` and `value`, guaranteed to occur in neither.
pub fn content_delimiter(name: &str, value: &str) -> String {
    pick_delimiter(name, value, |counter| {
        let mut hasher = Sha256::new();
        hasher.update(b"proofline-ci delimiter v1\0");
        hasher.update(counter.to_be_bytes());
        hasher.update((name.len() as u64).to_be_bytes());
        hasher.update(name.as_bytes());
        hasher.update(value.as_bytes());
        let digest = hasher.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        format!("{DELIMITER_PREFIX}{}", uuid_v8(bytes))
    })
}

/// The first of `candidate(0)`, `candidate(1)`, … that occurs in neither `name` nor `value`.
fn pick_delimiter(name: &str, value: &str, candidate: impl Fn(u64) -> String) -> String {
    let mut counter: u64 = 0;
    loop {
        let delimiter = candidate(counter);
        if !value.contains(&delimiter) && !name.contains(&delimiter) {
            return delimiter;
        }
        counter += 1;
    }
}

/// RFC 9562 UUIDv8 (custom data) text form of 16 bytes: version nibble 8, variant `10`.
fn uuid_v8(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The dotenv variable name for an output: `prefix` + the name upper-cased with `-` turned into `_`
/// (`image-digest` → `IMAGE_DIGEST`). The result must be ASCII letters, digits and `_`, not starting with a digit.
pub fn dotenv_name(prefix: &str, output: &str) -> Result<String, CiError> {
    let mapped: String = format!("{prefix}{output}")
        .chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    let reason = if output.is_empty() {
        Some("it is empty")
    } else if mapped.starts_with(|c: char| c.is_ascii_digit()) {
        Some("a variable name cannot start with a digit")
    } else if !mapped
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Some(
            "GitLab dotenv variable names allow only ASCII letters, digits and `_` (`-` becomes `_`)",
        )
    } else {
        None
    };
    match reason {
        Some(reason) => Err(CiError::InvalidOutputName {
            name: output.to_owned(),
            target: "the GitLab dotenv report",
            reason,
        }),
        None => Ok(mapped),
    }
}

/// One dotenv line `NAME=value\n`, refusing values GitLab would not read back unchanged.
pub fn dotenv_line(
    variable: &str,
    output: &str,
    value: &str,
    path: &Path,
) -> Result<String, CiError> {
    let reason = if value.contains(['\n', '\r']) {
        Some(
            "GitLab dotenv reports hold one line per variable and do not support multi-line values",
        )
    } else if value.trim() != value {
        Some("GitLab strips leading and trailing whitespace from dotenv values")
    } else if value.contains('$') {
        Some("GitLab expands `$` references in dotenv variables when later jobs use them")
    } else if value.contains('\0') {
        Some("the value contains a NUL byte")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(CiError::DotenvValue {
            name: output.to_owned(),
            path: path.to_owned(),
            reason,
        }),
        None => Ok(format!("{variable}={value}\n")),
    }
}

/// The distinct variable names of an existing dotenv file, as GitLab parses it (`^(.*?)=(.*)$`, stripped).
pub(crate) fn dotenv_names(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, _)| name.trim().to_owned())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_is_a_uuid_v8_and_deterministic() {
        let d = content_delimiter("report", "a\nb");
        assert_eq!(d, content_delimiter("report", "a\nb"));
        let uuid = d.strip_prefix(DELIMITER_PREFIX).unwrap();
        let parts: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('8'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert_ne!(d, content_delimiter("report", "a\nc"));
    }

    #[test]
    fn a_candidate_found_in_the_value_or_name_is_skipped() {
        let candidate = |n: u64| format!("{DELIMITER_PREFIX}{n}");
        assert_eq!(pick_delimiter("x", "a\nb", candidate), "ghadelimiter_0");
        // The value holds candidate 0 on a line of its own and candidate 1 inside a line.
        let value = "a\nghadelimiter_0\nxxghadelimiter_1yy\nb";
        assert_eq!(pick_delimiter("x", value, candidate), "ghadelimiter_2");
        assert_eq!(
            pick_delimiter("ghadelimiter_0", "v", candidate),
            "ghadelimiter_1"
        );
        // Containment is by substring, as in file-command.ts: `ghadelimiter_10` rules out `ghadelimiter_1` too.
        assert_eq!(
            pick_delimiter("x", "ghadelimiter_0 ghadelimiter_10", candidate),
            "ghadelimiter_2"
        );
    }

    #[test]
    fn the_real_delimiter_never_occurs_in_the_value() {
        let first = content_delimiter("x", "line1\nline2");
        for value in [
            format!("line1\n{first}\nline2"),
            format!("{first}{first}"),
            first.clone(),
        ] {
            let chosen = content_delimiter("x", &value);
            assert!(!value.contains(&chosen));
        }
    }

    #[test]
    fn dotenv_names_map_kebab_case() {
        assert_eq!(dotenv_name("", "image-digest").unwrap(), "IMAGE_DIGEST");
        assert_eq!(
            dotenv_name("PROOFLINE_", "verdict").unwrap(),
            "PROOFLINE_VERDICT"
        );
        assert!(dotenv_name("", "9lives").is_err());
        assert!(dotenv_name("", "a.b").is_err());
        assert!(dotenv_name("", "").is_err());
    }
}
