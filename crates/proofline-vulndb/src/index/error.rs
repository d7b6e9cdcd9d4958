//! Why a database could not be built, opened, read or updated: one error per cause, each naming
//! the file, entry or URL and what to do about it.

use std::path::PathBuf;

use crate::osv::OsvError;

/// Errors of the database: building, opening, looking up, updating.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Osv(#[from] OsvError),
    #[error(
        "{path} is not an OSV advisory ({reason}); pass OSV JSON/YAML files, directories of them or OSV all.zip archives"
    )]
    NotOsv { path: PathBuf, reason: String },
    #[error("{path}: not a readable zip archive: {reason}")]
    Zip { path: PathBuf, reason: String },
    #[error("{path}: {reason} (zip bomb?); nothing was built")]
    ZipLimit { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Limit { path: PathBuf, reason: String },
    #[error(
        "{path} is not a usable proofline vulnerability index ({reason}); rebuild it with `proofline-scan db build`"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "{path} is a format {found} vulnerability index; this proofline ({ours}) reads format {supported}: it needs {needs} or newer, or rebuild the index with this version (`proofline-scan db build`)"
    )]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
        ours: &'static str,
        needs: String,
    },
    #[error("the index would be too large: {what}")]
    TooLarge { what: String },
    #[error("invalid update option: {reason}")]
    Options { reason: String },
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    #[error(
        "{url}: 404 Not Found: OSV publishes no archive for this ecosystem at this address; check the ecosystem name (OSV's spelling, e.g. `PyPI`, `crates.io`) and the base URL"
    )]
    NotFound { url: String },
    #[error(
        "{host} keeps refusing with {status} (rate limited{detail}); wait and retry, point the base URL at a mirror, or download the archives yourself and run `proofline-scan db build --from <all.zip>…`"
    )]
    RateLimited {
        host: String,
        status: u16,
        detail: String,
    },
    #[error("{url}: the download is not a usable OSV archive ({reason}); the cached copy was kept")]
    BadDownload { url: String, reason: String },
}
