//! `update` against a local HTTP server serving OSV zips built from fixtures/vulndb: first
//! download, 304 reuse without a rebuild, ETag change, retries on 5xx, Retry-After on 429,
//! persistent rate limits, 404 and truncated downloads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use proofline_vulndb::{Database, DbError, OsvEcosystem, UpdateOptions, update};
use support::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn pypi_zip() -> Vec<u8> {
    all_zip_of(&fixtures().join("pypa/vulns/flask"))
}

fn crates_zip() -> Vec<u8> {
    all_zip_of(&fixtures().join("rustsec-osv/crates"))
}

fn options(server: &MockServer, dir: &Path) -> UpdateOptions {
    let mut o = UpdateOptions::new(dir.join("cache"), dir.join("osv.db")).unwrap();
    o.base_url = server.uri().parse().unwrap();
    o.ecosystems = vec!["PyPI".into(), "crates.io".into()];
    o.backoff = Duration::from_millis(10);
    o.retries = 2;
    o.timeout = Duration::from_secs(30);
    o
}

fn unconditional(request: &Request) -> bool {
    !request.headers.contains_key("if-none-match")
}

async fn serve(server: &MockServer, url_path: &str, body: Vec<u8>, etag: &str) {
    Mock::given(method("GET"))
        .and(path(url_path))
        .and(unconditional)
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(body)
                .insert_header("ETag", etag)
                .insert_header("Last-Modified", "Wed, 21 Oct 2026 07:28:00 GMT"),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn first_download_then_304_reuses_the_cache_and_keeps_the_index() {
    let server = MockServer::start().await;
    serve(&server, "/PyPI/all.zip", pypi_zip(), "\"py-1\"").await;
    serve(&server, "/crates.io/all.zip", crates_zip(), "\"cr-1\"").await;
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server, dir.path());

    let first = update(&opts).await.unwrap();
    assert!(first.ecosystems.iter().all(|e| e.downloaded));
    let build = first.build.unwrap();
    let flask = advisory_files(&fixtures().join("pypa/vulns/flask")).len() as u64;
    assert_eq!(build.identity.advisories, flask + 1206);
    assert_eq!(
        build.identity.sources[0].name,
        format!("{}/PyPI/all.zip", server.uri())
    );
    let db = Database::open(&opts.out).unwrap();
    assert!(
        !db.advisories_for(&OsvEcosystem::PyPI, "flask")
            .unwrap()
            .is_empty()
    );
    let before = std::fs::read(&opts.out).unwrap();
    let mtime = std::fs::metadata(&opts.out).unwrap().modified().unwrap();

    server.reset().await;
    for (p, etag) in [
        ("/PyPI/all.zip", "\"py-1\""),
        ("/crates.io/all.zip", "\"cr-1\""),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .and(header("If-None-Match", etag))
            // (wiremock's `header` matcher splits values at commas, so a closure.)
            .and(|r: &Request| {
                r.headers
                    .get("if-modified-since")
                    .and_then(|v| v.to_str().ok())
                    == Some("Wed, 21 Oct 2026 07:28:00 GMT")
            })
            .respond_with(ResponseTemplate::new(304))
            .expect(1)
            .mount(&server)
            .await;
    }
    let second = update(&opts).await.unwrap();
    assert!(second.ecosystems.iter().all(|e| !e.downloaded));
    assert!(second.build.is_none(), "nothing changed: no rebuild");
    assert_eq!(std::fs::read(&opts.out).unwrap(), before);
    assert_eq!(
        std::fs::metadata(&opts.out).unwrap().modified().unwrap(),
        mtime
    );
    server.verify().await;

    // The index gone, a 304 still rebuilds it from the cache.
    std::fs::remove_file(&opts.out).unwrap();
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    let third = update(&opts).await.unwrap();
    assert_eq!(third.build.unwrap().identity.advisories, flask + 1206);
}

#[tokio::test]
async fn a_changed_etag_downloads_and_rebuilds() {
    let server = MockServer::start().await;
    serve(&server, "/PyPI/all.zip", pypi_zip(), "\"py-1\"").await;
    serve(&server, "/crates.io/all.zip", crates_zip(), "\"cr-1\"").await;
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server, dir.path());
    update(&opts).await.unwrap();

    let extra = serde_json::to_vec(&record(
        "PYSEC-NEW-1",
        "2026-10-01T00:00:00Z",
        "PyPI",
        "brand-new",
    ))
    .unwrap();
    let mut entries: Vec<(String, Vec<u8>)> = advisory_files(&fixtures().join("pypa/vulns/flask"))
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    entries.push(("PYSEC-NEW-1.json".into(), extra));
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/PyPI/all.zip"))
        .and(header("If-None-Match", "\"py-1\""))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(zip_of(&entries))
                .insert_header("ETag", "\"py-2\""),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crates.io/all.zip"))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    let summary = update(&opts).await.unwrap();
    assert_eq!(
        summary
            .ecosystems
            .iter()
            .map(|e| e.downloaded)
            .collect::<Vec<_>>(),
        [true, false]
    );
    assert!(summary.build.is_some());
    let db = Database::open(&opts.out).unwrap();
    assert_eq!(
        db.advisories_for(&OsvEcosystem::PyPI, "Brand_New")
            .unwrap()
            .len(),
        1
    );
    assert!(
        !db.advisories_for(&OsvEcosystem::CratesIo, "wasmtime")
            .unwrap()
            .is_empty()
    );
    server.verify().await;
}

#[tokio::test]
async fn a_server_error_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    serve(&server, "/PyPI/all.zip", pypi_zip(), "\"py-1\"").await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&server, dir.path());
    opts.ecosystems = vec!["PyPI".into()];
    let summary = update(&opts).await.unwrap();
    assert!(summary.ecosystems[0].downloaded);
    server.verify().await;
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&server, dir.path());
    opts.ecosystems = vec!["PyPI".into()];
    let err = update(&opts).await.unwrap_err().to_string();
    assert!(err.contains("503") && err.contains("3 attempts"), "{err}");
    server.verify().await;
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    serve(&server, "/PyPI/all.zip", pypi_zip(), "\"py-1\"").await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&server, dir.path());
    opts.ecosystems = vec!["PyPI".into()];
    let started = Instant::now();
    let summary = update(&opts).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(summary.ecosystems[0].downloaded);
}

#[tokio::test]
async fn persistent_rate_limits_say_what_to_do() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .expect(3)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&server, dir.path());
    opts.ecosystems = vec!["PyPI".into()];
    let err = update(&opts).await.unwrap_err();
    assert!(
        matches!(err, DbError::RateLimited { status: 429, .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("127.0.0.1"), "{text}");
    assert!(
        text.contains("mirror") && text.contains("db build --from"),
        "{text}"
    );
    server.verify().await;

    // A Retry-After beyond the bound fails at once; a 403 with rate-limit headers is one too.
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = update(&opts).await.unwrap_err().to_string();
    assert!(err.contains("Retry-After 3600"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    server.verify().await;
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).insert_header("x-ratelimit-remaining", "0"))
        .mount(&server)
        .await;
    let err = update(&opts).await.unwrap_err();
    assert!(
        matches!(err, DbError::RateLimited { status: 403, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn an_unknown_ecosystem_is_a_404_naming_the_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&server, dir.path());
    opts.ecosystems = vec!["No Such".into()];
    let err = update(&opts).await.unwrap_err();
    assert!(matches!(err, DbError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("/No%20Such/all.zip"), "{err}");
}

#[tokio::test]
async fn a_truncated_download_keeps_the_cached_copy() {
    let server = MockServer::start().await;
    serve(&server, "/PyPI/all.zip", pypi_zip(), "\"py-1\"").await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&server, dir.path());
    opts.ecosystems = vec!["PyPI".into()];
    update(&opts).await.unwrap();
    let cache: Vec<_> = std::fs::read_dir(&opts.cache_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .collect();
    assert_eq!(cache.len(), 1);
    let cached = std::fs::read(&cache[0]).unwrap();
    let index = std::fs::read(&opts.out).unwrap();
    let state = std::fs::read(opts.cache_dir.join("state.json")).unwrap();

    server.reset().await;
    let good = pypi_zip();
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(good[..good.len() / 2].to_vec())
                .insert_header("ETag", "\"py-2\""),
        )
        .mount(&server)
        .await;
    let err = update(&opts).await.unwrap_err();
    assert!(matches!(err, DbError::BadDownload { .. }), "{err}");
    assert!(err.to_string().contains("cached copy was kept"), "{err}");
    assert_eq!(std::fs::read(&cache[0]).unwrap(), cached);
    assert_eq!(std::fs::read(&opts.out).unwrap(), index);
    assert_eq!(
        std::fs::read(opts.cache_dir.join("state.json")).unwrap(),
        state
    );
}

#[tokio::test]
async fn a_cache_refreshed_by_a_failed_run_is_rebuilt_next_time() {
    let server = MockServer::start().await;
    serve(&server, "/PyPI/all.zip", pypi_zip(), "\"py-1\"").await;
    serve(&server, "/crates.io/all.zip", crates_zip(), "\"cr-1\"").await;
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server, dir.path());
    update(&opts).await.unwrap();

    // PyPI changes, then crates.io fails: the cache holds the new PyPI, the index the old one.
    let extra = serde_json::to_vec(&record(
        "PYSEC-NEW-2",
        "2026-10-01T00:00:00Z",
        "PyPI",
        "late",
    ))
    .unwrap();
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/PyPI/all.zip"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(zip_of(&[("PYSEC-NEW-2.json".into(), extra)]))
                .insert_header("ETag", "\"py-2\""),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crates.io/all.zip"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    assert!(update(&opts).await.is_err());
    let db = Database::open(&opts.out).unwrap();
    assert!(
        db.advisories_for(&OsvEcosystem::PyPI, "late")
            .unwrap()
            .is_empty()
    );

    // Everything 304 now, but the index is behind the cache: rebuilt.
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    let summary = update(&opts).await.unwrap();
    assert!(summary.ecosystems.iter().all(|e| !e.downloaded));
    assert!(summary.build.is_some());
    let db = Database::open(&opts.out).unwrap();
    assert_eq!(
        db.advisories_for(&OsvEcosystem::PyPI, "late")
            .unwrap()
            .len(),
        1
    );

    // Fewer ecosystems asked for: the index changes too.
    let mut fewer = opts.clone();
    fewer.ecosystems = vec!["PyPI".into()];
    let summary = update(&fewer).await.unwrap();
    assert_eq!(summary.build.unwrap().identity.advisories, 1);
    // And asked again, it stays.
    assert!(update(&fewer).await.unwrap().build.is_none());
}
