//! The local vulnerability database: `build` turns OSV sources into one compact index file
//! (written atomically), and [`Database`] opens it in milliseconds and answers "which advisories
//! name this package" by reading only that package's records. A plain OSV directory or `all.zip`
//! opens too, indexed in memory behind the same API.

mod error;
mod format;
mod sources;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use error::DbError;
pub use format::FORMAT;
use format::{
    Header, KEY_ENTRY, KeyEntry, MAX_HEADER, PREFIX_LEN, Prefix, RECORD_ENTRY, RecordEntry,
};
pub(crate) use sources::{Collected, read_archive};

use crate::ecosystem::OsvEcosystem;
use crate::osv::Advisory;

/// What a database was built from, recorded in its header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbIdentity {
    /// The index format ([`FORMAT`]).
    pub format: u32,
    /// Build time, RFC 3339 (the database's age is measured from it).
    pub built: String,
    pub sources: Vec<SourceIdentity>,
    /// Advisories in the index, after duplicates were resolved.
    pub advisories: u64,
}

impl DbIdentity {
    /// [`DbIdentity::built`] as a time.
    pub fn built_at(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.built, &Rfc3339).ok()
    }
}

/// One source of a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceIdentity {
    /// The path (or URL) as given.
    pub name: String,
    /// SHA-256 of a zip or single file; of the sorted `(relative path, sha256)` list of a
    /// directory's advisory files.
    pub sha256: String,
    /// Advisories read from it (before duplicates across sources were resolved).
    pub advisories: u64,
}

/// A file passed over during a build because it is not an OSV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub file: String,
    pub reason: String,
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct BuildSummary {
    pub identity: DbIdentity,
    /// Distinct (ecosystem, package) keys.
    pub packages: u64,
    /// Records dropped because a newer record with the same id was read.
    pub duplicates: u64,
    /// Withdrawn records (kept; matching skips them).
    pub withdrawn: u64,
    /// JSON/YAML files that were not OSV records.
    pub skipped: Vec<Skipped>,
    /// Other files (READMEs, licences), not read.
    pub ignored: u64,
    /// Size of the index.
    pub bytes: u64,
}

/// Bounds on what a build reads.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Zip entries per archive; files and directories per directory tree.
    pub max_entries: u64,
    /// One advisory (also one zip entry, after decompression).
    pub max_file_bytes: u64,
    /// All advisories of one build, after decompression.
    pub max_total_bytes: u64,
    /// Directory nesting.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 4_000_000,
            max_file_bytes: crate::osv::MAX_ADVISORY_BYTES,
            max_total_bytes: 16 * 1024 * 1024 * 1024,
            max_depth: 64,
        }
    }
}

/// Builds an index at `out` from directories, `all.zip` archives and single advisory files.
pub fn build(
    sources: &[PathBuf],
    out: &Path,
    now: OffsetDateTime,
) -> Result<BuildSummary, DbError> {
    build_with_limits(sources, out, now, &Limits::default())
}

/// [`build`] with explicit [`Limits`].
pub fn build_with_limits(
    sources: &[PathBuf],
    out: &Path,
    now: OffsetDateTime,
    limits: &Limits,
) -> Result<BuildSummary, DbError> {
    let collected = sources::collect(sources, limits)?;
    let Collected {
        advisories,
        sources,
        skipped,
        ignored,
    } = collected;
    let mut summary = build_from_advisories(advisories, sources, out, now)?;
    summary.skipped = skipped;
    summary.ignored = ignored;
    Ok(summary)
}

/// Builds an index at `out` from advisories already in memory (benchmarks, tests, `db update`);
/// `sources` is recorded as given. Duplicated ids keep the newest `modified`.
pub fn build_from_advisories<I: IntoIterator<Item = Advisory>>(
    advisories: I,
    sources: Vec<SourceIdentity>,
    out: &Path,
    now: OffsetDateTime,
) -> Result<BuildSummary, DbError> {
    let (bytes, mut summary) = encode(advisories, sources, now)?;
    write_atomically(out, &bytes)?;
    summary.bytes = bytes.len() as u64;
    Ok(summary)
}

/// The index bytes and the summary of building them.
fn encode<I: IntoIterator<Item = Advisory>>(
    advisories: I,
    sources: Vec<SourceIdentity>,
    now: OffsetDateTime,
) -> Result<(Vec<u8>, BuildSummary), DbError> {
    let mut by_id: HashMap<String, Advisory> = HashMap::new();
    let mut duplicates = 0u64;
    for advisory in advisories {
        let advisory = advisory.trimmed();
        match by_id.get(&advisory.id) {
            Some(kept) => {
                duplicates += 1;
                if advisory.newer_than(kept) {
                    by_id.insert(advisory.id.clone(), advisory);
                }
            }
            None => {
                by_id.insert(advisory.id.clone(), advisory);
            }
        }
    }
    let mut records: Vec<Advisory> = by_id.into_values().collect();
    records.sort_by(|a, b| a.id.cmp(&b.id));
    let built = now.format(&Rfc3339).map_err(|e| DbError::TooLarge {
        what: format!("the build time {now} has no RFC 3339 form: {e}"),
    })?;
    let identity = DbIdentity {
        format: FORMAT,
        built,
        sources,
        advisories: records.len() as u64,
    };
    let too_large = |what: &str| DbError::TooLarge {
        what: what.to_string(),
    };
    let u32_of = |n: usize, what: &str| u32::try_from(n).map_err(|_| too_large(what));

    let mut data = Vec::new();
    let mut table = Vec::with_capacity(records.len().saturating_mul(RECORD_ENTRY));
    let mut keys: BTreeMap<Vec<u8>, Vec<u32>> = BTreeMap::new();
    let mut withdrawn = 0u64;
    for (number, advisory) in records.iter().enumerate() {
        let number = u32_of(number, "more than 2^32 advisories")?;
        if advisory.is_withdrawn() {
            withdrawn += 1;
        }
        let record = serde_json::to_vec(advisory).map_err(|e| DbError::TooLarge {
            what: format!("advisory {} cannot be serialised: {e}", advisory.id),
        })?;
        let len = u32_of(record.len(), "an advisory record over 4 GiB")?;
        RecordEntry::new(data.len() as u64, &record, len).encode(&mut table);
        data.extend_from_slice(&record);
        let mut own = BTreeSet::new();
        for package in advisory.affected.iter().filter_map(|a| a.package.as_ref()) {
            let (ecosystem, _release) = OsvEcosystem::parse(&package.ecosystem);
            own.insert(format::key(
                ecosystem.as_str(),
                &ecosystem.normalise_name(&package.name),
            ));
        }
        for key in own {
            keys.entry(key).or_default().push(number);
        }
    }
    let mut entries = Vec::with_capacity(keys.len().saturating_mul(KEY_ENTRY));
    let mut strings = Vec::new();
    let mut postings = Vec::new();
    let mut posting_count = 0usize;
    for (key, numbers) in &keys {
        KeyEntry {
            string_offset: u32_of(strings.len(), "package names over 4 GiB")?,
            string_len: u32_of(key.len(), "a package name over 4 GiB")?,
            first_posting: u32_of(posting_count, "more than 2^32 package entries")?,
            postings: u32_of(numbers.len(), "more than 2^32 package entries")?,
        }
        .encode(&mut entries);
        strings.extend_from_slice(key);
        for n in numbers {
            postings.extend_from_slice(&n.to_le_bytes());
        }
        posting_count = posting_count.saturating_add(numbers.len());
    }
    let header = Header {
        identity: identity.clone(),
        proofline: env!("CARGO_PKG_VERSION").to_string(),
        keys: keys.len() as u64,
        strings: strings.len() as u64,
        postings: posting_count as u64,
        records: records.len() as u64,
    };
    let header_json = serde_json::to_vec(&header).map_err(|e| DbError::TooLarge {
        what: format!("the header cannot be serialised: {e}"),
    })?;
    let mut directory = entries;
    directory.extend_from_slice(&strings);
    directory.extend_from_slice(&postings);
    directory.extend_from_slice(&table);
    let file_len = PREFIX_LEN + header_json.len() + directory.len() + data.len();
    let prefix = Prefix {
        format: FORMAT,
        header_len: u32_of(header_json.len(), "a header over 4 GiB")?,
        file_len: file_len as u64,
        digest: format::directory_digest(&header_json, &directory),
    };
    let mut bytes = prefix.encode();
    bytes.reserve(file_len);
    bytes.extend_from_slice(&header_json);
    bytes.extend_from_slice(&directory);
    bytes.extend_from_slice(&data);
    let summary = BuildSummary {
        identity,
        packages: keys.len() as u64,
        duplicates,
        withdrawn,
        skipped: Vec::new(),
        ignored: 0,
        bytes: bytes.len() as u64,
    };
    Ok((bytes, summary))
}

/// Writes `bytes` to a temporary file next to `out` and renames it into place.
pub(crate) fn write_atomically(out: &Path, bytes: &[u8]) -> Result<(), DbError> {
    let write_error = |source: std::io::Error| DbError::Write {
        path: out.to_path_buf(),
        source,
    };
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(&parent).map_err(write_error)?;
    temp.write_all(bytes).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    temp.persist(out).map_err(|e| write_error(e.error))?;
    Ok(())
}

/// Where the index bytes live.
#[derive(Debug)]
enum Backing {
    File(File),
    /// A plain OSV directory or archive, indexed in memory at open.
    Memory(Vec<u8>),
}

/// An opened database. Lookups read and parse only the records of the package asked for.
#[derive(Debug)]
pub struct Database {
    path: PathBuf,
    backing: Backing,
    header: Header,
    directory: Vec<u8>,
    /// Offsets of the directory's sections.
    strings_at: usize,
    postings_at: usize,
    table_at: usize,
    data_at: u64,
    data_len: u64,
}

impl Database {
    /// Opens an index built by [`build`], or indexes a plain OSV directory, `all.zip` or advisory
    /// file in memory (its identity's `built` is then the time of opening: the files carry no
    /// build time of their own).
    ///
    /// Opening reads the header and the directory (keys, postings, record table) and checks
    /// them against the digest in the prefix; each record is checked against its own digest
    /// when a lookup reads it, and [`Database::verify`] checks them all.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let meta = std::fs::metadata(path).map_err(|source| DbError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.is_dir() {
            return Self::in_memory(path);
        }
        let file = File::open(path).map_err(|source| DbError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut magic = [0u8; PREFIX_LEN];
        let available = meta.len().min(PREFIX_LEN as u64) as usize;
        let head = magic.get_mut(..available).unwrap_or_default();
        file.read_exact_at(head, 0)
            .map_err(|source| DbError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        if head.starts_with(format::MAGIC) {
            Self::from_backing(path, Backing::File(file), meta.len())
        } else if head.starts_with(b"PK")
            || crate::osv::Format::from_name(&path.to_string_lossy()).is_some()
        {
            Self::in_memory(path)
        } else {
            Err(corrupt(
                path,
                "it does not start with the index's magic bytes",
            ))
        }
    }

    /// Indexes OSV sources in memory; `built` is the newest advisory's `modified`.
    fn in_memory(path: &Path) -> Result<Self, DbError> {
        let collected = sources::collect(&[path.to_path_buf()], &Limits::default())?;
        // Nobody built these files: their age is their newest advisory's `modified` (a frozen
        // snapshot must look as old as it is), or now when none has a readable one.
        let newest = collected
            .advisories
            .iter()
            .filter_map(Advisory::modified_at)
            .max()
            .unwrap_or_else(OffsetDateTime::now_utc);
        let (bytes, _) = encode(collected.advisories, collected.sources, newest)?;
        let len = bytes.len() as u64;
        Self::from_backing(path, Backing::Memory(bytes), len)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), DbError> {
        read_at(&self.path, &self.backing, buf, offset)
    }

    fn from_backing(path: &Path, backing: Backing, len: u64) -> Result<Self, DbError> {
        let mut head = [0u8; PREFIX_LEN];
        if len < PREFIX_LEN as u64 {
            return Err(corrupt(
                path,
                &format!("truncated: {len} bytes, shorter than the prefix"),
            ));
        }
        read_at(path, &backing, &mut head, 0)?;
        let prefix = Prefix::decode(&head)
            .ok_or_else(|| corrupt(path, "it does not start with the index's magic bytes"))?;
        if prefix.header_len > MAX_HEADER || u64::from(prefix.header_len) > len {
            return Err(corrupt(path, "the header length is impossible"));
        }
        let mut header_bytes = vec![0u8; prefix.header_len as usize];
        read_at(path, &backing, &mut header_bytes, PREFIX_LEN as u64)?;
        if prefix.format > FORMAT {
            let needs = serde_json::from_slice::<serde_json::Value>(&header_bytes)
                .ok()
                .and_then(|v| {
                    v.get("proofline")?
                        .as_str()
                        .map(|s| format!("proofline {s}"))
                })
                .unwrap_or_else(|| "a newer proofline".to_string());
            return Err(DbError::NewerFormat {
                path: path.to_path_buf(),
                found: prefix.format,
                supported: FORMAT,
                ours: env!("CARGO_PKG_VERSION"),
                needs,
            });
        }
        if prefix.format != FORMAT {
            return Err(corrupt(
                path,
                &format!("format {} is not one this version reads", prefix.format),
            ));
        }
        if prefix.file_len != len {
            return Err(corrupt(
                path,
                &format!(
                    "truncated or extended: {len} bytes, the header says {}",
                    prefix.file_len
                ),
            ));
        }
        let header: Header = serde_json::from_slice(&header_bytes)
            .map_err(|e| corrupt(path, &format!("unreadable header: {e}")))?;
        let directory_at = PREFIX_LEN as u64 + u64::from(prefix.header_len);
        let directory_len = header
            .directory_len()
            .filter(|d| directory_at.checked_add(*d).is_some_and(|end| end <= len))
            .ok_or_else(|| corrupt(path, "the header's section sizes exceed the file"))?;
        let mut directory = vec![0u8; directory_len as usize];
        read_at(path, &backing, &mut directory, directory_at)?;
        if format::directory_digest(&header_bytes, &directory) != prefix.digest {
            return Err(corrupt(
                path,
                "its checksum does not match (flipped bytes?)",
            ));
        }
        // Sizes below are bounded by `directory_len`, checked above.
        let strings_at = (header.keys as usize).saturating_mul(KEY_ENTRY);
        let postings_at = strings_at.saturating_add(header.strings as usize);
        let table_at = postings_at.saturating_add((header.postings as usize).saturating_mul(4));
        let data_at = directory_at + directory_len;
        Ok(Self {
            path: path.to_path_buf(),
            backing,
            header,
            directory,
            strings_at,
            postings_at,
            table_at,
            data_at,
            data_len: len - data_at,
        })
    }

    /// What the database was built from, when, and how many advisories it holds.
    pub fn identity(&self) -> &DbIdentity {
        &self.header.identity
    }

    /// The file or directory opened.
    /// Whether this is an index built by [`build`] (read from disk), as opposed to OSV files
    /// indexed in memory at open.
    pub fn is_index(&self) -> bool {
        matches!(self.backing, Backing::File(_))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of distinct (ecosystem, package) keys.
    pub fn package_count(&self) -> u64 {
        self.header.keys
    }

    /// Every advisory naming `name` in `ecosystem` (any release of it: `Debian:11` and
    /// `Debian:12` records both come back; each keeps its full ecosystem string). Records are
    /// whole: an advisory affecting several packages lists them all. Withdrawn records are
    /// included (see [`Advisory::is_withdrawn`]).
    pub fn advisories_for(
        &self,
        ecosystem: &OsvEcosystem,
        name: &str,
    ) -> Result<Vec<Advisory>, DbError> {
        let key = format::key(ecosystem.as_str(), &ecosystem.normalise_name(name));
        let Some(entry) = self.find(&key)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(entry.postings as usize);
        for i in 0..entry.postings {
            let at = (entry.first_posting as usize)
                .checked_add(i as usize)
                .and_then(|p| p.checked_mul(4))
                .and_then(|p| p.checked_add(self.postings_at))
                .ok_or_else(|| self.corrupt("a posting is out of range"))?;
            let number = self
                .directory
                .get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
                .ok_or_else(|| self.corrupt("a posting is out of range"))?;
            out.push(self.record(number)?);
        }
        Ok(out)
    }

    /// Checks every record against its digest (opening checks the header and directory; a
    /// lookup checks the records it reads). Returns the number of records checked. For
    /// `db verify` or after copying an index around: it reads the whole file.
    pub fn verify(&self) -> Result<u64, DbError> {
        let len = usize::try_from(self.data_len)
            .map_err(|_| self.corrupt("the records do not fit in memory"))?;
        let mut data = vec![0u8; len];
        self.read_at(&mut data, self.data_at)?;
        for number in 0..self.header.records {
            let number = u32::try_from(number).map_err(|_| self.corrupt("too many records"))?;
            let entry = self.record_entry(number)?;
            let record = usize::try_from(entry.offset)
                .ok()
                .and_then(|start| data.get(start..start.checked_add(entry.len as usize)?))
                .ok_or_else(|| self.corrupt(&format!("record {number} lies outside the file")))?;
            if format::record_digest(record) != entry.digest {
                return Err(self.corrupt(&format!(
                    "record {number} does not match its checksum (flipped bytes?)"
                )));
            }
        }
        Ok(self.header.records)
    }

    /// Every (ecosystem, normalised name) key, in index order.
    pub fn packages(&self) -> impl Iterator<Item = (String, String)> + '_ {
        (0..self.header.keys as usize).filter_map(|i| {
            let key = self.key_at(i)?.1;
            let text = std::str::from_utf8(key).ok()?;
            let (ecosystem, name) = text.split_once('\0')?;
            Some((ecosystem.to_string(), name.to_string()))
        })
    }

    fn key_at(&self, i: usize) -> Option<(KeyEntry, &[u8])> {
        let at = i.checked_mul(KEY_ENTRY)?;
        let entry = KeyEntry::decode(self.directory.get(at..at.checked_add(KEY_ENTRY)?)?)?;
        let start = self.strings_at.checked_add(entry.string_offset as usize)?;
        let end = start.checked_add(entry.string_len as usize)?;
        Some((entry, self.directory.get(start..end)?))
    }

    /// Binary search of the sorted key table.
    fn find(&self, key: &[u8]) -> Result<Option<KeyEntry>, DbError> {
        let (mut low, mut high) = (0usize, self.header.keys as usize);
        while low < high {
            let mid = low + (high - low) / 2;
            let (entry, candidate) = self
                .key_at(mid)
                .ok_or_else(|| self.corrupt("a key is out of range"))?;
            match candidate.cmp(key) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Ok(Some(entry)),
            }
        }
        Ok(None)
    }

    fn record_entry(&self, number: u32) -> Result<RecordEntry, DbError> {
        let at = (number as usize)
            .checked_mul(RECORD_ENTRY)
            .and_then(|a| a.checked_add(self.table_at))
            .ok_or_else(|| self.corrupt("a record number is out of range"))?;
        let entry = self
            .directory
            .get(at..at.saturating_add(RECORD_ENTRY))
            .and_then(RecordEntry::decode)
            .ok_or_else(|| self.corrupt(&format!("record {number} is out of range")))?;
        if entry
            .offset
            .checked_add(u64::from(entry.len))
            .is_none_or(|end| end > self.data_len)
        {
            return Err(self.corrupt(&format!("record {number} lies outside the file")));
        }
        Ok(entry)
    }

    /// Reads, checks and parses record `number`.
    fn record(&self, number: u32) -> Result<Advisory, DbError> {
        let entry = self.record_entry(number)?;
        let mut bytes = vec![0u8; entry.len as usize];
        self.read_at(&mut bytes, self.data_at + entry.offset)?;
        if format::record_digest(&bytes) != entry.digest {
            return Err(self.corrupt(&format!(
                "record {number} does not match its checksum (flipped bytes?)"
            )));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| self.corrupt(&format!("record {number} is unreadable: {e}")))
    }

    fn corrupt(&self, reason: &str) -> DbError {
        corrupt(&self.path, reason)
    }
}

fn corrupt(path: &Path, reason: &str) -> DbError {
    DbError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn read_at(path: &Path, backing: &Backing, buf: &mut [u8], offset: u64) -> Result<(), DbError> {
    match backing {
        Backing::File(file) => file.read_exact_at(buf, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                corrupt(path, "truncated")
            } else {
                DbError::Read {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        }),
        Backing::Memory(bytes) => {
            let start =
                usize::try_from(offset).map_err(|_| corrupt(path, "offset out of range"))?;
            let src = start
                .checked_add(buf.len())
                .and_then(|end| bytes.get(start..end))
                .ok_or_else(|| corrupt(path, "truncated"))?;
            buf.copy_from_slice(src);
            Ok(())
        }
    }
}
