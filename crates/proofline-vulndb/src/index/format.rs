//! The index file's bytes: a fixed prefix (magic, format, lengths, digest), the identity as JSON,
//! a directory read whole at open (sorted keys, postings, record table) and the advisory records
//! read one by one, each checked against its own digest. Lookups binary-search the directory in
//! place; nothing is parsed at open beyond the header.
//!
//! ```text
//! prefix   "PLVULNDB" | format u32 | header_len u32 | file_len u64 | sha256(header ‖ directory)
//! header   JSON: identity, proofline version, section sizes
//! keys     n × (string offset u32, length u32, first posting u32, postings u32), sorted by key
//! strings  "<ecosystem>\0<normalised name>" for every key
//! postings record numbers (u32)
//! records  n × (offset u64, length u32, reserved u32, sha256[..16] of the record)
//! data     the records: trimmed OSV JSON
//! ```

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::DbIdentity;

pub(crate) const MAGIC: &[u8; 8] = b"PLVULNDB";
/// The format this version writes and reads.
pub const FORMAT: u32 = 1;
pub(crate) const PREFIX_LEN: usize = 8 + 4 + 4 + 8 + 32;
pub(crate) const KEY_ENTRY: usize = 16;
pub(crate) const RECORD_ENTRY: usize = 32;
/// Header JSON larger than this is corruption, not a real identity.
pub(crate) const MAX_HEADER: u32 = 16 * 1024 * 1024;

/// The JSON header after the prefix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Header {
    pub identity: DbIdentity,
    /// The proofline version that wrote the file (what a reader of an older format needs).
    pub proofline: String,
    pub keys: u64,
    pub strings: u64,
    pub postings: u64,
    pub records: u64,
}

impl Header {
    /// Byte length of the directory (keys, strings, postings, record table), `None` on overflow.
    pub fn directory_len(&self) -> Option<u64> {
        let keys = self.keys.checked_mul(KEY_ENTRY as u64)?;
        let postings = self.postings.checked_mul(4)?;
        let records = self.records.checked_mul(RECORD_ENTRY as u64)?;
        keys.checked_add(self.strings)?
            .checked_add(postings)?
            .checked_add(records)
    }
}

/// The fixed prefix.
#[derive(Debug, Clone)]
pub(crate) struct Prefix {
    pub format: u32,
    pub header_len: u32,
    pub file_len: u64,
    pub digest: [u8; 32],
}

impl Prefix {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PREFIX_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.format.to_le_bytes());
        out.extend_from_slice(&self.header_len.to_le_bytes());
        out.extend_from_slice(&self.file_len.to_le_bytes());
        out.extend_from_slice(&self.digest);
        out
    }

    /// `None` when `bytes` does not start with the magic; lengths are checked by the caller.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.get(..8)? != MAGIC {
            return None;
        }
        Some(Self {
            format: u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?),
            header_len: u32::from_le_bytes(bytes.get(12..16)?.try_into().ok()?),
            file_len: u64::from_le_bytes(bytes.get(16..24)?.try_into().ok()?),
            digest: bytes.get(24..56)?.try_into().ok()?,
        })
    }
}

/// One key of the directory, decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyEntry {
    pub string_offset: u32,
    pub string_len: u32,
    pub first_posting: u32,
    pub postings: u32,
}

impl KeyEntry {
    pub fn encode(&self, out: &mut Vec<u8>) {
        for v in [
            self.string_offset,
            self.string_len,
            self.first_posting,
            self.postings,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let word = |i: usize| -> Option<u32> {
            Some(u32::from_le_bytes(
                bytes.get(i * 4..i * 4 + 4)?.try_into().ok()?,
            ))
        };
        Some(Self {
            string_offset: word(0)?,
            string_len: word(1)?,
            first_posting: word(2)?,
            postings: word(3)?,
        })
    }
}

/// One record of the record table, decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordEntry {
    pub offset: u64,
    pub len: u32,
    pub digest: [u8; 16],
}

impl RecordEntry {
    pub fn new(offset: u64, record: &[u8], len: u32) -> Self {
        Self {
            offset,
            len,
            digest: record_digest(record),
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.digest);
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        Some(Self {
            offset: u64::from_le_bytes(bytes.get(0..8)?.try_into().ok()?),
            len: u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?),
            digest: bytes.get(16..32)?.try_into().ok()?,
        })
    }
}

/// The first 16 bytes of a record's SHA-256.
pub(crate) fn record_digest(record: &[u8]) -> [u8; 16] {
    let full: [u8; 32] = Sha256::digest(record).into();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// The digest the prefix carries: SHA-256 over the header JSON and the directory.
pub(crate) fn directory_digest(header: &[u8], directory: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(header);
    hasher.update(directory);
    hasher.finalize().into()
}

/// The lookup key of a package: `<ecosystem>\0<normalised name>`.
pub(crate) fn key(ecosystem: &str, normalised_name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(ecosystem.len() + 1 + normalised_name.len());
    key.extend_from_slice(ecosystem.as_bytes());
    key.push(0);
    key.extend_from_slice(normalised_name.as_bytes());
    key
}
