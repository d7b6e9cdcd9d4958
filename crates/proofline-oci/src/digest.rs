//! Content digests (`sha256:<hex>`): parsing, computing, and readers that verify a blob while it streams.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A content digest as the OCI image spec defines it. Only `sha256` is accepted:
/// it is the only algorithm the registries and layouts we read produce, and refusing
/// the others is safer than pretending to verify them.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

/// Why a string is not a digest we accept.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestParseError {
    #[error("`{0}` is not a digest: expected `sha256:` followed by 64 lowercase hex characters")]
    Malformed(String),
    #[error("digest `{0}` uses an unsupported algorithm: only sha256 is supported")]
    UnsupportedAlgorithm(String),
}

/// A blob's bytes did not match what its descriptor promised.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    #[error(
        "digest mismatch for {what}: expected {expected}, got {actual} (the blob is corrupt or was tampered with; fetch it again from a trusted source)"
    )]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error(
        "size mismatch for {what}: descriptor says {expected} bytes, read {actual} (the blob is truncated or padded)"
    )]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
}

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_sha256(Sha256::digest(bytes).as_slice())
    }

    /// Wraps a raw 32-byte SHA-256 output.
    pub fn from_sha256(raw: &[u8]) -> Self {
        Self {
            hex: hex::encode(raw),
        }
    }

    /// The lowercase hex part (without `sha256:`).
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The algorithm name (always `sha256`).
    pub fn algorithm(&self) -> &'static str {
        "sha256"
    }
}

impl FromStr for Digest {
    type Err = DigestParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((alg, hex)) = s.split_once(':') else {
            return Err(DigestParseError::Malformed(s.to_string()));
        };
        if alg != "sha256" {
            if !alg.is_empty()
                && alg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+._-".contains(&b))
            {
                return Err(DigestParseError::UnsupportedAlgorithm(s.to_string()));
            }
            return Err(DigestParseError::Malformed(s.to_string()));
        }
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestParseError::Malformed(s.to_string()));
        }
        Ok(Self {
            hex: hex.to_string(),
        })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Hashes everything read through it. No verification: see [`VerifyingReader`].
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }
    /// The digest and size of what was read.
    pub fn finish(self) -> (Digest, u64) {
        (
            Digest::from_sha256(self.hasher.finalize().as_slice()),
            self.count,
        )
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Streams a blob and checks its digest and size: reading past the promised size, or
/// reaching EOF with the wrong digest or size, returns an `io::Error` of kind
/// `InvalidData` wrapping a [`VerifyError`]. Consumers therefore never act on the last
/// bytes of a tampered blob without seeing the error.
#[derive(Debug)]
pub struct VerifyingReader<R> {
    inner: HashingReader<R>,
    what: String,
    expected: Digest,
    expected_size: Option<u64>,
    verified: bool,
}

impl<R: Read> VerifyingReader<R> {
    /// `what` names the blob in errors (e.g. `layer 2 of oci:./img`).
    pub fn new(
        inner: R,
        what: impl Into<String>,
        expected: Digest,
        expected_size: Option<u64>,
    ) -> Self {
        Self {
            inner: HashingReader::new(inner),
            what: what.into(),
            expected,
            expected_size,
            verified: false,
        }
    }

    fn check_end(&mut self) -> io::Result<()> {
        if self.verified {
            return Ok(());
        }
        let actual_size = self.inner.count;
        if let Some(expected) = self.expected_size
            && actual_size != expected
        {
            return Err(invalid(VerifyError::SizeMismatch {
                what: self.what.clone(),
                expected,
                actual: actual_size,
            }));
        }
        let actual = Digest::from_sha256(self.inner.hasher.clone().finalize().as_slice());
        if actual != self.expected {
            return Err(invalid(VerifyError::DigestMismatch {
                what: self.what.clone(),
                expected: self.expected.clone(),
                actual,
            }));
        }
        self.verified = true;
        Ok(())
    }
}

fn invalid(e: VerifyError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if let Some(expected) = self.expected_size
            && self.inner.count > expected
        {
            return Err(invalid(VerifyError::SizeMismatch {
                what: self.what.clone(),
                expected,
                actual: self.inner.count,
            }));
        }
        if n == 0 {
            self.check_end()?;
        }
        Ok(n)
    }
}

/// Reads `reader` to its end and returns its digest and size (used for whole-blob hashing).
pub fn digest_reader(reader: impl Read) -> io::Result<(Digest, u64)> {
    let mut h = HashingReader::new(reader);
    io::copy(&mut h, &mut io::sink())?;
    Ok(h.finish())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_displays_sha256() {
        let d: Digest = EMPTY.parse().unwrap();
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(Digest::of(b""), d);
    }

    #[test]
    fn rejects_malformed_and_other_algorithms() {
        assert!(matches!(
            "sha256:ABC".parse::<Digest>(),
            Err(DigestParseError::Malformed(_))
        ));
        assert!(matches!(
            "sha512:abcd".parse::<Digest>(),
            Err(DigestParseError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            "nocolon".parse::<Digest>(),
            Err(DigestParseError::Malformed(_))
        ));
        let upper = EMPTY.to_uppercase().replace("SHA256", "sha256");
        assert!(upper.parse::<Digest>().is_err());
    }

    #[test]
    fn verifying_reader_accepts_the_right_blob() {
        let mut r = VerifyingReader::new(&b"hello"[..], "t", Digest::of(b"hello"), Some(5));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello");
    }

    #[test]
    fn verifying_reader_rejects_tampered_truncated_and_padded_blobs() {
        let mut out = Vec::new();
        let err = VerifyingReader::new(&b"hellO"[..], "t", Digest::of(b"hello"), Some(5))
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(err.to_string().contains("digest mismatch for t"), "{err}");
        let err = VerifyingReader::new(&b"hell"[..], "t", Digest::of(b"hello"), Some(5))
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(err.to_string().contains("size mismatch"), "{err}");
        let err = VerifyingReader::new(&b"hello!"[..], "t", Digest::of(b"hello"), Some(5))
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(err.to_string().contains("size mismatch"), "{err}");
    }
}
