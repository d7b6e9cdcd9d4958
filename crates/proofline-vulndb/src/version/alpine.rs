//! Alpine's apk version ordering, ported from apk-tools' `src/version.c` (apk-tools 3,
//! `apk_version_validate` and `apk_version_compare`): no crate implements it (CRATES.md), and
//! OSV's Alpine ranges are defined over exactly this order.
//!
//! Grammar (apk-tools' comment): `digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}`. Tokens are
//! compared pairwise while both sides have the same token kind; the first kind that differs
//! decides (a pre-release suffix `_alpha _beta _pre _rc` sorts before the end of the version,
//! everything else after it). A dotted number with a leading zero compares as a string, as in
//! Gentoo's rules (`1.02 < 1.1`); the first number always compares numerically (`006 > 1.0`).

use std::cmp::Ordering;

/// Token kinds in apk-tools' order; the order matters (`ta > tb` means `a` is older).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffix values in apk-tools' order: pre-release suffixes sort below [`SUFFIX_NONE`].
const SUFFIX_NONE: u8 = 5;

fn suffix_value(suffix: &[u8]) -> Option<u8> {
    Some(match suffix {
        b"alpha" => 1,
        b"beta" => 2,
        b"pre" => 3,
        b"rc" => 4,
        b"cvs" => 6,
        b"svn" => 7,
        b"git" => 8,
        b"hg" => 9,
        b"p" => 10,
        _ => return None,
    })
}

/// One token: its kind, its text (digits, the letter, the suffix name or the hash) and, for a
/// suffix, its rank.
struct Tokenizer<'a> {
    rest: &'a [u8],
    token: Token,
    value: &'a [u8],
    suffix: u8,
}

fn split_while(bytes: &[u8], keep: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    let end = bytes.iter().position(|&b| !keep(b)).unwrap_or(bytes.len());
    bytes.split_at(end)
}

impl<'a> Tokenizer<'a> {
    /// apk-tools' `token_first`: a version starts with digits.
    fn new(text: &'a str) -> Self {
        let mut t = Tokenizer {
            rest: text.as_bytes(),
            token: Token::InitialDigit,
            value: b"",
            suffix: 0,
        };
        t.digits();
        t
    }

    fn digits(&mut self) {
        let (digits, rest) = split_while(self.rest, |b| b.is_ascii_digit());
        self.value = digits;
        self.rest = rest;
        if digits.is_empty() {
            self.token = Token::Invalid;
        }
    }

    /// apk-tools' `token_next`: reads the next token and checks that it may follow this one.
    fn advance(&mut self) {
        let Some(&first) = self.rest.first() else {
            self.token = Token::End;
            return;
        };
        match first {
            b'a'..=b'z' if self.token <= Token::Digit => {
                let (letter, rest) = self.rest.split_at(1);
                self.value = letter;
                self.rest = rest;
                self.token = Token::Letter;
            }
            b'.' | b'0'..=b'9' if self.token <= Token::Digit || first != b'.' => {
                if first == b'.' {
                    self.rest = self.rest.get(1..).unwrap_or_default();
                }
                self.token = match self.token {
                    Token::InitialDigit | Token::Digit => Token::Digit,
                    Token::Suffix => Token::SuffixNo,
                    _ => {
                        self.token = Token::Invalid;
                        return;
                    }
                };
                self.digits();
            }
            b'_' if self.token <= Token::SuffixNo => {
                let (name, rest) = split_while(self.rest.get(1..).unwrap_or_default(), |b| {
                    b.is_ascii_lowercase()
                });
                self.rest = rest;
                self.value = name;
                match suffix_value(name) {
                    Some(value) => {
                        self.suffix = value;
                        self.token = Token::Suffix;
                    }
                    None => self.token = Token::Invalid,
                }
            }
            b'~' if self.token < Token::CommitHash => {
                let (hash, rest) = split_while(self.rest.get(1..).unwrap_or_default(), |b| {
                    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
                });
                self.rest = rest;
                self.value = hash;
                self.token = if hash.is_empty() {
                    Token::Invalid
                } else {
                    Token::CommitHash
                };
            }
            b'-' if self.token < Token::RevisionNo => match self.rest.strip_prefix(b"-r") {
                Some(rest) => {
                    self.rest = rest;
                    self.token = Token::RevisionNo;
                    self.digits();
                }
                None => self.token = Token::Invalid,
            },
            _ => self.token = Token::Invalid,
        }
    }
}

/// Numeric comparison of two ASCII digit strings of any length (apk-tools reads them into a
/// `uint64_t` that silently wraps past 20 digits; comparing the digits is exact instead).
fn cmp_number(a: &[u8], b: &[u8]) -> Ordering {
    let strip = |s: &'_ [u8]| -> usize { s.iter().position(|&c| c != b'0').unwrap_or(s.len()) };
    let (a, b) = (
        a.get(strip(a)..).unwrap_or_default(),
        b.get(strip(b)..).unwrap_or_default(),
    );
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// apk-tools' `token_cmp` for two tokens of the same kind.
fn cmp_token(kind: Token, a: &Tokenizer<'_>, b: &Tokenizer<'_>) -> Ordering {
    match kind {
        Token::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => {
            a.value.cmp(b.value)
        }
        Token::InitialDigit | Token::Digit | Token::SuffixNo | Token::RevisionNo => {
            cmp_number(a.value, b.value)
        }
        Token::Suffix => a.suffix.cmp(&b.suffix),
        // Letters, commit hashes: byte order (`apk_blob_sort`).
        _ => a.value.cmp(b.value),
    }
}

/// Whether `text` is a valid apk version (`apk_version_validate`).
pub(crate) fn validate(text: &str) -> Result<(), String> {
    let mut t = Tokenizer::new(text);
    loop {
        match t.token {
            Token::End => return Ok(()),
            Token::Invalid if text.is_empty() => return Err("it is empty".to_string()),
            Token::Invalid => {
                let rest = text.get(text.len().saturating_sub(t.rest.len())..);
                let at = match rest {
                    Some("") | None => "at its end".to_string(),
                    Some(rest) => format!("at {rest:?}"),
                };
                return Err(format!(
                    "it breaks apk's grammar {at} (apk versions are \
                     `digits{{.digits}}[letter]{{_suffix[N]}}[~hash][-rN]`, suffixes alpha, \
                     beta, pre, rc, cvs, svn, git, hg, p)"
                ));
            }
            _ => t.advance(),
        }
    }
}

/// `apk_version_compare`: total on valid versions; also defined (as apk-tools defines it) on
/// invalid ones, which [`validate`] keeps out of [`super::Version`].
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    let (mut ta, mut tb) = (Tokenizer::new(a), Tokenizer::new(b));
    while ta.token == tb.token && ta.token < Token::End {
        let order = cmp_token(ta.token, &ta, &tb);
        if order != Ordering::Equal {
            return order;
        }
        ta.advance();
        tb.advance();
    }
    if ta.token == tb.token {
        return Ordering::Equal;
    }
    // Equal so far: the longer version is newer unless what follows is a pre-release suffix.
    if ta.token == Token::Suffix && ta.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if tb.token == Token::Suffix && tb.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    tb.token.cmp(&ta.token)
}
