//! `db update`: downloads OSV's per-ecosystem `all.zip` archives into a cache with conditional
//! requests (an unchanged archive is not downloaded again, an unchanged database is not rebuilt),
//! bounded retries with backoff, `Retry-After` on rate limits, and checks every download before it
//! replaces the cached copy.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{
    ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;
use url::Url;

use crate::index::{
    BuildSummary, Collected, DbError, Limits, SourceIdentity, build_from_advisories, read_archive,
    write_atomically,
};

/// OSV's public bucket.
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The ecosystems `db update` fetches unless told otherwise.
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "PyPI",
    "npm",
    "crates.io",
    "Go",
    "Maven",
    "Debian",
    "Alpine",
    "Ubuntu",
];

/// The sidecar next to the cached archives.
const STATE_FILE: &str = "state.json";

/// What to download and where to keep it.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// `{base_url}/{ecosystem}/all.zip` is fetched for each ecosystem (a mirror works too).
    pub base_url: Url,
    /// OSV ecosystem names (percent-encoded into the URL).
    pub ecosystems: Vec<String>,
    /// Cached archives and `state.json` (ETag / Last-Modified per ecosystem).
    pub cache_dir: PathBuf,
    /// The index to (re)build.
    pub out: PathBuf,
    /// Per request, connection to last byte.
    pub timeout: Duration,
    /// Retries after the first attempt (5xx, connection errors, rate limits).
    pub retries: u32,
    /// First backoff; doubled after each retry.
    pub backoff: Duration,
    /// The longest `Retry-After` honoured; a longer one fails at once with the rate-limit error.
    pub max_retry_after: Duration,
    /// Largest archive accepted.
    pub max_download_bytes: u64,
    /// Limits on reading each archive.
    pub limits: Limits,
}

impl UpdateOptions {
    /// OSV's bucket, the default ecosystems, 5 minutes per request, 4 retries from 1 s.
    pub fn new(cache_dir: PathBuf, out: PathBuf) -> Result<Self, DbError> {
        Ok(Self {
            base_url: Url::parse(DEFAULT_BASE_URL).map_err(|e| DbError::Options {
                reason: format!("{DEFAULT_BASE_URL}: {e}"),
            })?,
            ecosystems: DEFAULT_ECOSYSTEMS.iter().map(|e| e.to_string()).collect(),
            cache_dir,
            out,
            timeout: Duration::from_secs(300),
            retries: 4,
            backoff: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(120),
            max_download_bytes: 4 * 1024 * 1024 * 1024,
            limits: Limits::default(),
        })
    }
}

/// What happened to one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcosystemUpdate {
    pub ecosystem: String,
    pub url: String,
    /// `false`: the server answered 304 and the cached archive was used.
    pub downloaded: bool,
    /// Archive size.
    pub bytes: u64,
}

/// What an update did.
#[derive(Debug, Clone)]
pub struct UpdateSummary {
    pub ecosystems: Vec<EcosystemUpdate>,
    /// The rebuild, `None` when nothing changed and the index was kept.
    pub build: Option<BuildSummary>,
}

/// Cache bookkeeping per ecosystem.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CacheEntry {
    file: String,
    url: String,
    sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
}

/// Downloads what changed and rebuilds the index when anything did (or when it is missing).
pub async fn update(opts: &UpdateOptions) -> Result<UpdateSummary, DbError> {
    std::fs::create_dir_all(&opts.cache_dir).map_err(|source| DbError::Write {
        path: opts.cache_dir.clone(),
        source,
    })?;
    let client = reqwest::Client::builder()
        .timeout(opts.timeout)
        .user_agent(concat!("proofline/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DbError::Options {
            reason: format!("cannot create the HTTP client: {e}"),
        })?;
    let state_path = opts.cache_dir.join(STATE_FILE);
    let mut state = load_state(&state_path);
    let mut reports = Vec::new();
    let mut fresh: BTreeMap<String, Collected> = BTreeMap::new();
    for ecosystem in &opts.ecosystems {
        let url = archive_url(&opts.base_url, ecosystem)?;
        let file = cache_file_name(ecosystem);
        let cached_path = opts.cache_dir.join(&file);
        let cached = state
            .get(ecosystem)
            .filter(|c| c.url == url.as_str() && cached_path.is_file());
        match fetch(&client, opts, &url, cached).await? {
            Fetched::NotModified => {
                let bytes = std::fs::metadata(&cached_path)
                    .map(|m| m.len())
                    .unwrap_or(0);
                tracing::info!(%url, "not modified, cached archive kept");
                reports.push(EcosystemUpdate {
                    ecosystem: ecosystem.clone(),
                    url: url.to_string(),
                    downloaded: false,
                    bytes,
                });
            }
            Fetched::Body {
                bytes,
                etag,
                last_modified,
            } => {
                let mut collected = Collected::default();
                let mut total = 0;
                read_archive(
                    Path::new(url.as_str()),
                    Cursor::new(&bytes),
                    &opts.limits,
                    &mut total,
                    &mut collected,
                )
                .map_err(|e| DbError::BadDownload {
                    url: url.to_string(),
                    reason: e.to_string(),
                })?;
                write_atomically(&cached_path, &bytes)?;
                let sha256 = hex::encode(Sha256::digest(&bytes));
                state.insert(
                    ecosystem.clone(),
                    CacheEntry {
                        file,
                        url: url.to_string(),
                        sha256,
                        etag,
                        last_modified,
                    },
                );
                save_state(&state_path, &state)?;
                tracing::info!(%url, bytes = bytes.len(), advisories = collected.advisories.len(), "downloaded");
                reports.push(EcosystemUpdate {
                    ecosystem: ecosystem.clone(),
                    url: url.to_string(),
                    downloaded: true,
                    bytes: bytes.len() as u64,
                });
                fresh.insert(ecosystem.clone(), collected);
            }
        }
    }
    if fresh.is_empty() && index_is_current(&opts.out, &opts.ecosystems, &state) {
        return Ok(UpdateSummary {
            ecosystems: reports,
            build: None,
        });
    }
    let mut advisories = Vec::new();
    let mut sources = Vec::new();
    for ecosystem in &opts.ecosystems {
        let Some(entry) = state.get(ecosystem) else {
            continue;
        };
        let collected = match fresh.remove(ecosystem) {
            Some(c) => c,
            None => read_cached(&opts.cache_dir.join(&entry.file), &opts.limits)?,
        };
        sources.push(SourceIdentity {
            name: entry.url.clone(),
            sha256: entry.sha256.clone(),
            advisories: collected.advisories.len() as u64,
        });
        advisories.extend(collected.advisories);
    }
    let build = build_from_advisories(advisories, sources, &opts.out, OffsetDateTime::now_utc())?;
    Ok(UpdateSummary {
        ecosystems: reports,
        build: Some(build),
    })
}

/// Whether the index at `out` was built from exactly the cached archives of `ecosystems` (an
/// earlier run may have refreshed the cache and then failed before rebuilding).
fn index_is_current(
    out: &Path,
    ecosystems: &[String],
    state: &BTreeMap<String, CacheEntry>,
) -> bool {
    let Ok(db) = crate::index::Database::open(out) else {
        return false;
    };
    let built: Vec<(&str, &str)> = db
        .identity()
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s.sha256.as_str()))
        .collect();
    let cached: Vec<(&str, &str)> = ecosystems
        .iter()
        .filter_map(|e| state.get(e))
        .map(|c| (c.url.as_str(), c.sha256.as_str()))
        .collect();
    built == cached
}

fn read_cached(path: &Path, limits: &Limits) -> Result<Collected, DbError> {
    let file = std::fs::File::open(path).map_err(|source| DbError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut collected = Collected::default();
    let mut total = 0;
    read_archive(path, file, limits, &mut total, &mut collected)?;
    Ok(collected)
}

/// `{base}/{ecosystem}/all.zip`, the ecosystem one percent-encoded path segment.
pub fn archive_url(base: &Url, ecosystem: &str) -> Result<Url, DbError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| DbError::Options {
            reason: format!("{base} cannot be a base URL"),
        })?
        .pop_if_empty()
        .push(ecosystem)
        .push("all.zip");
    Ok(url)
}

/// A file name for an ecosystem's archive that is safe on every file system.
fn cache_file_name(ecosystem: &str) -> String {
    let safe: String = ecosystem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let digest = hex::encode(Sha256::digest(ecosystem.as_bytes()));
    format!("{safe}-{}.zip", digest.get(..8).unwrap_or_default())
}

fn load_state(path: &Path) -> BTreeMap<String, CacheEntry> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(path = %path.display(), error = %e, "unreadable cache state, downloading everything again");
            BTreeMap::new()
        }),
        Err(_) => BTreeMap::new(),
    }
}

fn save_state(path: &Path, state: &BTreeMap<String, CacheEntry>) -> Result<(), DbError> {
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| DbError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    write_atomically(path, &bytes)
}

enum Fetched {
    NotModified,
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// One archive, with conditional headers, retries and rate-limit handling.
async fn fetch(
    client: &reqwest::Client,
    opts: &UpdateOptions,
    url: &Url,
    cached: Option<&CacheEntry>,
) -> Result<Fetched, DbError> {
    let host = url.host_str().unwrap_or_default().to_string();
    let http = |reason: String| DbError::Http {
        url: url.to_string(),
        reason,
    };
    let mut attempt = 0u32;
    loop {
        let mut request = client.get(url.clone());
        if let Some(c) = cached {
            if let Some(etag) = &c.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &c.last_modified {
                request = request.header(IF_MODIFIED_SINCE, lm);
            }
        }
        let wait = backoff(opts, attempt);
        let retry = attempt < opts.retries;
        attempt += 1;
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if retry => {
                tracing::warn!(%url, error = %e, ?wait, "request failed, retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            Err(e) => return Err(http(format!("{e} (after {attempt} attempts)"))),
        };
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return if cached.is_some() {
                Ok(Fetched::NotModified)
            } else {
                Err(http(
                    "304 Not Modified for a request that was not conditional".into(),
                ))
            };
        }
        if status.is_success() {
            let etag = header_text(response.headers(), ETAG);
            let last_modified = header_text(response.headers(), LAST_MODIFIED);
            match read_body(response, opts.max_download_bytes).await {
                Ok(bytes) => {
                    return Ok(Fetched::Body {
                        bytes,
                        etag,
                        last_modified,
                    });
                }
                Err(BodyError::TooLarge) => {
                    return Err(http(format!(
                        "the archive is larger than the {} bytes accepted",
                        opts.max_download_bytes
                    )));
                }
                Err(BodyError::Http(e)) if retry => {
                    tracing::warn!(%url, error = %e, ?wait, "download interrupted, retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(BodyError::Http(e)) => return Err(http(format!("download interrupted: {e}"))),
            }
        }
        if status == StatusCode::NOT_FOUND {
            return Err(DbError::NotFound {
                url: url.to_string(),
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::FORBIDDEN && rate_limited(response.headers()))
        {
            let asked = retry_after(response.headers());
            let detail = match asked {
                Some(d) => format!(", Retry-After {} s", d.as_secs()),
                None => String::new(),
            };
            let too_long = asked.is_some_and(|d| d > opts.max_retry_after);
            if retry && !too_long {
                let wait = asked.unwrap_or(wait);
                tracing::warn!(%url, status = status.as_u16(), ?wait, "rate limited, waiting");
                tokio::time::sleep(wait).await;
                continue;
            }
            return Err(DbError::RateLimited {
                host,
                status: status.as_u16(),
                detail,
            });
        }
        if status.is_server_error() && retry {
            tracing::warn!(%url, status = status.as_u16(), ?wait, "server error, retrying");
            tokio::time::sleep(wait).await;
            continue;
        }
        return Err(http(format!("HTTP {status} (after {attempt} attempts)")));
    }
}

fn backoff(opts: &UpdateOptions, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
    opts.backoff
        .checked_mul(factor)
        .unwrap_or(Duration::MAX)
        .min(Duration::from_secs(60))
}

fn header_text(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_string)
}

/// A 403 that is a rate limit (GitHub-style `x-ratelimit-remaining: 0`, or a `Retry-After`).
fn rate_limited(headers: &HeaderMap) -> bool {
    headers.contains_key(RETRY_AFTER)
        || headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0")
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = OffsetDateTime::parse(text, &Rfc2822).ok()?;
    let secs = (when - OffsetDateTime::now_utc()).whole_seconds().max(0);
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

enum BodyError {
    TooLarge,
    Http(reqwest::Error),
}

async fn read_body(mut response: reqwest::Response, limit: u64) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Http)? {
        if (body.len() as u64).saturating_add(chunk.len() as u64) > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn ecosystem_names_are_one_encoded_segment() {
        let base = Url::parse("https://mirror.example/osv/").unwrap();
        assert_eq!(
            archive_url(&base, "crates.io").unwrap().as_str(),
            "https://mirror.example/osv/crates.io/all.zip"
        );
        assert_eq!(
            archive_url(&base, "Debian:12").unwrap().as_str(),
            "https://mirror.example/osv/Debian:12/all.zip"
        );
        assert_eq!(
            archive_url(&base, "Red Hat/../x").unwrap().as_str(),
            "https://mirror.example/osv/Red%20Hat%2F..%2Fx/all.zip"
        );
    }

    #[test]
    fn cache_names_are_safe_and_distinct() {
        assert_ne!(cache_file_name("a/b"), cache_file_name("a_b"));
        assert!(!cache_file_name("../../x").contains('/'));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
