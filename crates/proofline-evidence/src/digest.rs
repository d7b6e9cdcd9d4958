//! SHA-256 of files and streams, computed while reading or writing so large artifacts never sit in memory.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{EvidenceError, Result};

/// The SHA-256 (lowercase hex, no `sha256:` prefix) and size in bytes of some content.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileDigest {
    /// Lowercase hex SHA-256, 64 characters.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// Whether `s` is a lowercase hex SHA-256 (64 characters).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The SHA-256 (hex) of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes).as_slice())
}

/// Hashes everything `reader` yields, in 64 KiB chunks.
pub fn sha256_reader(mut reader: impl Read) -> io::Result<FileDigest> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(FileDigest {
        sha256: hex::encode(hasher.finalize().as_slice()),
        size,
    })
}

/// Hashes the file at `path`, streaming. This follows symbolic links like `File::open`;
/// the evidence directory's own reads refuse links before calling it.
pub fn sha256_file(path: &Path) -> Result<FileDigest> {
    let file = File::open(path).map_err(|e| EvidenceError::io("open", path, e))?;
    sha256_reader(file).map_err(|e| EvidenceError::io("read", path, e))
}

/// A writer that hashes and counts what passes through it.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The digest of what was written so far, and the inner writer (not flushed).
    pub fn finish(self) -> (FileDigest, W) {
        let digest = FileDigest {
            sha256: hex::encode(self.hasher.finalize().as_slice()),
            size: self.size,
        };
        (digest, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn known_vectors() {
        assert_eq!(sha256_hex(b""), EMPTY);
        assert_eq!(sha256_hex(b"abc"), ABC);
        let d = sha256_reader(&b"abc"[..]).unwrap();
        assert_eq!((d.sha256.as_str(), d.size), (ABC, 3));
    }

    #[test]
    fn hashing_writer_matches_reader() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = HashingWriter::new(Vec::new());
        for chunk in data.chunks(7_000) {
            w.write_all(chunk).unwrap();
        }
        let (digest, inner) = w.finish();
        assert_eq!(inner, data);
        assert_eq!(digest, sha256_reader(&data[..]).unwrap());
        assert_eq!(digest.sha256, sha256_hex(&data));
    }

    #[test]
    fn sha256_hex_check() {
        assert!(is_sha256_hex(ABC));
        assert!(!is_sha256_hex(&ABC.to_uppercase()));
        assert!(!is_sha256_hex(&ABC[1..]));
        assert!(!is_sha256_hex(&format!("sha256:{ABC}")));
    }

    #[test]
    fn file_hash_streams() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(sha256_file(&path).unwrap().sha256, ABC);
        let err = sha256_file(&dir.path().join("absent")).unwrap_err();
        assert!(err.to_string().contains("absent"), "{err}");
    }
}
