//! Reading advisories out of what `db build --from` is given: directories (walked, sorted), OSV
//! `all.zip` archives (entries read in memory, never extracted, with entry-count and size limits)
//! and single files; each source's digest and advisory count for the index's identity.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{DbError, Limits, Skipped, SourceIdentity};
use crate::osv::{Advisory, Format, OsvError, Parsed, parse_advisory};

/// Everything read from the sources, before duplicates are resolved.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub advisories: Vec<Advisory>,
    pub sources: Vec<SourceIdentity>,
    pub skipped: Vec<Skipped>,
    /// Files that are not `.json`/`.yaml`/`.yml` (READMEs, licences), not read.
    pub ignored: u64,
}

/// Reads every source in order.
pub(crate) fn collect(sources: &[PathBuf], limits: &Limits) -> Result<Collected, DbError> {
    let mut out = Collected::default();
    let mut total = 0u64;
    for source in sources {
        let before = out.advisories.len();
        let meta = std::fs::metadata(source).map_err(|e| read_error(source, e))?;
        let sha256 = if meta.is_dir() {
            read_dir(source, limits, &mut total, &mut out)?
        } else if is_zip(source)? {
            read_zip(source, limits, &mut total, &mut out)?
        } else {
            read_file(source, &mut out)?
        };
        out.sources.push(SourceIdentity {
            name: source.display().to_string(),
            sha256,
            advisories: (out.advisories.len() - before) as u64,
        });
    }
    Ok(out)
}

fn read_error(path: &Path, source: std::io::Error) -> DbError {
    DbError::Read {
        path: path.to_path_buf(),
        source,
    }
}

/// A zip by its magic (`PK\x03\x04`, or `PK\x05\x06` for an empty archive).
pub(crate) fn is_zip(path: &Path) -> Result<bool, DbError> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path).map_err(|e| read_error(path, e))?;
    let mut got = 0;
    while got < magic.len() {
        let Some(rest) = magic.get_mut(got..) else {
            break;
        };
        match file.read(rest) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(path, e)),
        }
    }
    Ok(got == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06"))
}

/// Reads at most `limit` bytes of `reader`; `None` when there is more.
fn read_bounded(reader: impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    Ok(if buf.len() as u64 > limit {
        None
    } else {
        Some(buf)
    })
}

/// Parses one document and files it as an advisory or a skipped file.
fn take(bytes: &[u8], format: Format, label: String, out: &mut Collected) -> Result<(), DbError> {
    match parse_advisory(bytes, format, &label)? {
        Parsed::Advisory(advisory) => out.advisories.push(*advisory),
        Parsed::NotOsv(reason) => {
            tracing::warn!(file = %label, %reason, "not an OSV advisory, skipped");
            out.skipped.push(Skipped {
                file: label,
                reason,
            });
        }
    }
    Ok(())
}

fn read_file(path: &Path, out: &mut Collected) -> Result<String, DbError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let format = Format::from_name(&name).ok_or_else(|| DbError::NotOsv {
        path: path.to_path_buf(),
        reason: "neither .json, .yaml, .yml nor a zip archive".into(),
    })?;
    let file = File::open(path).map_err(|e| read_error(path, e))?;
    let bytes = read_bounded(file, crate::osv::MAX_ADVISORY_BYTES)
        .map_err(|e| read_error(path, e))?
        .ok_or_else(|| OsvError::TooLarge {
            file: path.display().to_string(),
            size: crate::osv::MAX_ADVISORY_BYTES.saturating_add(1),
        })?;
    match parse_advisory(&bytes, format, &path.display().to_string())? {
        Parsed::Advisory(advisory) => out.advisories.push(*advisory),
        Parsed::NotOsv(reason) => {
            return Err(DbError::NotOsv {
                path: path.to_path_buf(),
                reason,
            });
        }
    }
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Walks `root` (symbolic links are not followed), reads every `.json`/`.yaml`/`.yml` file in
/// path order; the digest is SHA-256 over `"<relative path>\0<file sha256>\n"` of those files.
fn read_dir(
    root: &Path,
    limits: &Limits,
    total: &mut u64,
    out: &mut Collected,
) -> Result<String, DbError> {
    let mut files: Vec<(String, PathBuf, Format)> = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new(), 0usize)];
    let mut seen = 0u64;
    while let Some((dir, rel, depth)) = stack.pop() {
        if depth > limits.max_depth {
            return Err(DbError::Limit {
                path: dir,
                reason: format!(
                    "directories nested deeper than {} levels; is this an advisory database?",
                    limits.max_depth
                ),
            });
        }
        for entry in std::fs::read_dir(&dir).map_err(|e| read_error(&dir, e))? {
            let entry = entry.map_err(|e| read_error(&dir, e))?;
            seen += 1;
            if seen > limits.max_entries {
                return Err(DbError::Limit {
                    path: root.to_path_buf(),
                    reason: format!("more than {} files and directories", limits.max_entries),
                });
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel_name = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry
                .file_type()
                .map_err(|e| read_error(&entry.path(), e))?;
            if kind.is_dir() {
                stack.push((entry.path(), rel_name, depth + 1));
            } else if kind.is_file()
                && let Some(format) = Format::from_name(&name)
            {
                files.push((rel_name, entry.path(), format));
            } else {
                out.ignored += 1;
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut listing = Sha256::new();
    for (rel, path, format) in files {
        let file = File::open(&path).map_err(|e| read_error(&path, e))?;
        let bytes = read_bounded(file, limits.max_file_bytes)
            .map_err(|e| read_error(&path, e))?
            .ok_or_else(|| OsvError::TooLarge {
                file: path.display().to_string(),
                size: limits.max_file_bytes.saturating_add(1),
            })?;
        charge(total, bytes.len() as u64, limits, &path)?;
        listing.update(rel.as_bytes());
        listing.update(b"\0");
        listing.update(hex::encode(Sha256::digest(&bytes)).as_bytes());
        listing.update(b"\n");
        take(&bytes, format, path.display().to_string(), out)?;
    }
    Ok(hex::encode(listing.finalize()))
}

fn charge(total: &mut u64, bytes: u64, limits: &Limits, path: &Path) -> Result<(), DbError> {
    *total = total.saturating_add(bytes);
    if *total > limits.max_total_bytes {
        return Err(DbError::Limit {
            path: path.to_path_buf(),
            reason: format!(
                "the sources add up to more than {} bytes of advisories",
                limits.max_total_bytes
            ),
        });
    }
    Ok(())
}

/// Reads an OSV `all.zip`: entries by name, in memory, never written to disk (so `../` in a name
/// is only a name). The digest is the archive's SHA-256.
fn read_zip(
    path: &Path,
    limits: &Limits,
    total: &mut u64,
    out: &mut Collected,
) -> Result<String, DbError> {
    let mut file = File::open(path).map_err(|e| read_error(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(path, e)),
        };
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    file.rewind().map_err(|e| read_error(path, e))?;
    read_archive(path, file, limits, total, out)?;
    Ok(hex::encode(hasher.finalize()))
}

/// The entries of one archive (also used by `db update` to check a download).
pub(crate) fn read_archive<R: Read + Seek>(
    path: &Path,
    reader: R,
    limits: &Limits,
    total: &mut u64,
    out: &mut Collected,
) -> Result<(), DbError> {
    let zip_error = |reason: String| DbError::Zip {
        path: path.to_path_buf(),
        reason,
    };
    let bomb = |reason: String| DbError::ZipLimit {
        path: path.to_path_buf(),
        reason,
    };
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| zip_error(e.to_string()))?;
    if zip.len() as u64 > limits.max_entries {
        return Err(bomb(format!(
            "{} entries, more than the {} accepted",
            zip.len(),
            limits.max_entries
        )));
    }
    for index in 0..zip.len() {
        let entry = zip
            .by_index(index)
            .map_err(|e| zip_error(format!("entry {index}: {e}")))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.is_dir() {
            continue;
        }
        let Some(format) = Format::from_name(&name) else {
            out.ignored += 1;
            continue;
        };
        let declared = entry.size();
        if declared > limits.max_file_bytes {
            return Err(bomb(format!(
                "entry {name:?} declares {declared} bytes, more than the {} accepted for one advisory",
                limits.max_file_bytes
            )));
        }
        let bytes = read_bounded(entry, limits.max_file_bytes)
            .map_err(|e| zip_error(format!("entry {name:?}: {e}")))?
            .ok_or_else(|| {
                bomb(format!(
                    "entry {name:?} decompresses past the {} bytes accepted for one advisory",
                    limits.max_file_bytes
                ))
            })?;
        *total = total.saturating_add(bytes.len() as u64);
        if *total > limits.max_total_bytes {
            return Err(bomb(format!(
                "entries decompress past the {} bytes accepted in all",
                limits.max_total_bytes
            )));
        }
        take(&bytes, format, format!("{}:{name}", path.display()), out)?;
    }
    Ok(())
}
