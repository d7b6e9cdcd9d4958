//! The registry client against fake registries (wiremock) for what the real server cannot show:
//! the referrers API, corrupted and truncated answers, 429/5xx with `Retry-After`, chunked-upload
//! wire format, redirects to blob storage, and the plain-HTTP policy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod registry_support;

use std::time::{Duration, Instant};

use proofline_oci::registry::{RegistryOptions, fallback_tag};
use proofline_oci::{Digest, ImageSink, ImageSource, OciError};
use proofline_testkit::{Blob, TestImage};
use registry_support::*;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A fake registry on 127.0.0.1 with its own runtime (our client is synchronous).
struct Fake {
    rt: tokio::runtime::Runtime,
    server: MockServer,
}

impl Fake {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(MockServer::start());
        Self { rt, server }
    }
    fn host(&self) -> String {
        self.server.address().to_string()
    }
    fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.server));
    }
    fn requests(&self) -> Vec<Request> {
        self.rt.block_on(self.server.received_requests()).unwrap()
    }
    fn repo(&self, opts: &RegistryOptions) -> proofline_oci::registry::Repository {
        open(&format!("{}/app:1", self.host()), opts)
    }
    fn verify(&self) {
        self.rt.block_on(self.server.verify());
    }
}

fn fast() -> RegistryOptions {
    RegistryOptions {
        max_retries: 2,
        timeout: Duration::from_secs(10),
        ..isolated_options()
    }
}

fn manifest_response(b: &Blob) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(b.bytes.clone(), &b.media_type)
        .insert_header("Docker-Content-Digest", b.digest.as_str())
}

fn index_of(entries: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({ "schemaVersion": 2, "mediaType": INDEX, "manifests": entries }))
        .unwrap()
}

fn entry(digest: &str, artifact_type: &str) -> serde_json::Value {
    json!({ "mediaType": MANIFEST, "digest": digest, "size": 100, "artifactType": artifact_type })
}

#[test]
fn referrers_api_with_pages_and_client_side_filtering() {
    let fake = Fake::start();
    let subject = Digest::of(b"subject");
    let (a, b, c) = (
        Digest::of(b"a").to_string(),
        Digest::of(b"b").to_string(),
        Digest::of(b"c").to_string(),
    );
    let api = format!("/v2/app/referrers/{subject}");
    let page2 = format!("{api}?last=b");
    fake.mount(
        Mock::given(method("GET"))
            .and(path(api.clone()))
            .and(query_param("last", "b"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(index_of(json!([entry(&c, "application/sig")])), INDEX),
            ),
    );
    fake.mount(
        Mock::given(method("GET"))
            .and(path(api.clone()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(
                        index_of(json!([
                            entry(&a, "application/sig"),
                            entry(&b, "application/sbom")
                        ])),
                        INDEX,
                    )
                    .insert_header("Link", format!("<{page2}>; rel=\"next\"").as_str()),
            ),
    );
    // The fallback tag must not be consulted when the API answers.
    fake.mount(
        Mock::given(path(format!(
            "/v2/app/manifests/{}",
            fallback_tag(&subject)
        )))
        .respond_with(ResponseTemplate::new(404))
        .expect(0),
    );

    let repo = fake.repo(&fast());
    let all: Vec<String> = repo
        .referrers(&subject, None)
        .unwrap()
        .iter()
        .map(|d| d.digest().to_string())
        .collect();
    assert_eq!(all, vec![a.clone(), b, c.clone()]);
    // The server ignores artifactType (no OCI-Filters-Applied): we filter ourselves.
    let sigs: Vec<String> = repo
        .referrers(&subject, Some("application/sig"))
        .unwrap()
        .iter()
        .map(|d| d.digest().to_string())
        .collect();
    assert_eq!(sigs, vec![a, c]);
    assert!(fake.requests().iter().any(|r| {
        r.url
            .query()
            .is_some_and(|q| q.contains("artifactType=application%2Fsig"))
    }));
    fake.verify();
}

#[test]
fn attach_with_a_referrers_aware_registry_does_not_touch_the_fallback_tag() {
    let fake = Fake::start();
    let image = TestImage::new(&[("a", b"b")]);
    let subject = descriptor(&image.manifest);
    let art = json!({
        "schemaVersion": 2, "mediaType": MANIFEST, "artifactType": "application/sig",
        "config": { "mediaType": "application/vnd.oci.empty.v1+json", "digest": Digest::of(b"{}").to_string(), "size": 2 },
        "layers": [], "subject": image.manifest.descriptor(),
    });
    let art = Blob::new(MANIFEST, serde_json::to_vec(&art).unwrap());
    fake.mount(
        Mock::given(method("PUT"))
            .and(path(format!("/v2/app/manifests/{}", art.digest)))
            .and(header("content-type", MANIFEST))
            .respond_with(
                ResponseTemplate::new(201)
                    .insert_header("OCI-Subject", image.manifest.digest.as_str())
                    .insert_header("Docker-Content-Digest", art.digest.as_str()),
            )
            .expect(1),
    );
    let tag_path = format!("/v2/app/manifests/sha256-{}", image.manifest.hex());
    fake.mount(
        Mock::given(path(tag_path.clone()))
            .respond_with(ResponseTemplate::new(404))
            .expect(0),
    );
    let d = fake.repo(&fast()).attach(&subject, &raw(&art)).unwrap();
    assert_eq!(d.digest().to_string(), art.digest);
    assert_eq!(
        d.artifact_type().as_ref().unwrap().to_string(),
        "application/sig"
    );
    fake.verify();

    // Without OCI-Subject, the fallback index is created with the artifact's entry.
    let fake = Fake::start();
    fake.mount(
        Mock::given(method("PUT"))
            .and(path(format!("/v2/app/manifests/{}", art.digest)))
            .respond_with(ResponseTemplate::new(201)),
    );
    fake.mount(
        Mock::given(method("GET"))
            .and(path(tag_path.clone()))
            .respond_with(ResponseTemplate::new(404)),
    );
    fake.mount(
        Mock::given(method("PUT"))
            .and(path(tag_path.clone()))
            .and(header("content-type", INDEX))
            .respond_with(ResponseTemplate::new(201))
            .expect(1),
    );
    fake.repo(&fast()).attach(&subject, &raw(&art)).unwrap();
    let put = fake
        .requests()
        .into_iter()
        .find(|r| r.method.as_str() == "PUT" && r.url.path() == tag_path)
        .unwrap();
    let index: serde_json::Value = serde_json::from_slice(&put.body).unwrap();
    assert_eq!(
        index["manifests"],
        json!([{ "mediaType": MANIFEST, "digest": art.digest, "size": art.size(), "artifactType": "application/sig" }])
    );
    fake.verify();
}

#[test]
fn corrupted_and_truncated_blobs_fail_verification() {
    let fake = Fake::start();
    let good = Blob::new("application/octet-stream", noise(20_000, 1));
    let mut corrupted = good.bytes.clone();
    corrupted[19_999] ^= 1;
    fake.mount(
        Mock::given(method("GET"))
            .and(path(format!("/v2/app/blobs/{}", good.digest)))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(corrupted)),
    );
    let repo = fake.repo(&fast());
    let err = read_all(repo.open_blob(&descriptor(&good)).unwrap()).unwrap_err();
    let err = OciError::io("reading", err);
    assert!(
        matches!(
            err,
            OciError::Verify(proofline_oci::digest::VerifyError::DigestMismatch { .. })
        ),
        "{err}"
    );

    let fake = Fake::start();
    fake.mount(
        Mock::given(method("GET"))
            .and(path(format!("/v2/app/blobs/{}", good.digest)))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(good.bytes[..5000].to_vec())),
    );
    let err = fake
        .repo(&fast())
        .open_blob(&descriptor(&good))
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            OciError::Verify(proofline_oci::digest::VerifyError::SizeMismatch {
                expected: 20_000,
                actual: 5000,
                ..
            })
        ),
        "{err}"
    );
}

#[test]
fn manifests_are_verified_and_size_capped() {
    let image = TestImage::new(&[("a", b"b")]);
    let digest: Digest = image.manifest.digest.parse().unwrap();
    // Bytes that do not hash to the digest asked for.
    let fake = Fake::start();
    let other = TestImage::new(&[("x", b"y")]);
    fake.mount(
        Mock::given(path(format!("/v2/app/manifests/{digest}")))
            .respond_with(manifest_response(&other.manifest)),
    );
    let err = fake.repo(&fast()).fetch_manifest(&digest).unwrap_err();
    assert!(
        matches!(err, OciError::Verify(_)) && err.to_string().contains(&image.manifest.digest),
        "{err}"
    );
    // A tag whose Docker-Content-Digest header disagrees with the bytes.
    fake.mount(
        Mock::given(path("/v2/app/manifests/1")).respond_with(
            manifest_response(&image.manifest)
                .insert_header("Docker-Content-Digest", other.manifest.digest.as_str()),
        ),
    );
    let err = fake.repo(&fast()).resolve().unwrap_err();
    assert!(err.to_string().contains("Docker-Content-Digest"), "{err}");
    // Larger than the 4 MiB limit.
    let fake = Fake::start();
    fake.mount(Mock::given(path("/v2/app/manifests/1")).respond_with(
        ResponseTemplate::new(200).set_body_raw(vec![b' '; 4 * 1024 * 1024 + 1], MANIFEST),
    ));
    let err = fake.repo(&fast()).resolve().unwrap_err();
    assert!(matches!(err, OciError::TooLarge { .. }), "{err}");
}

#[test]
fn too_many_requests_is_retried_after_retry_after() {
    let fake = Fake::start();
    let image = TestImage::new(&[("a", b"b")]);
    fake.mount(
        Mock::given(path("/v2/app/manifests/1"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1").set_body_json(json!({ "errors": [{ "code": "TOOMANYREQUESTS", "message": "slow down" }] })))
            .up_to_n_times(1)
            .with_priority(1),
    );
    fake.mount(
        Mock::given(path("/v2/app/manifests/1"))
            .respond_with(manifest_response(&image.manifest))
            .with_priority(2),
    );
    let started = Instant::now();
    let m = fake.repo(&fast()).resolve().unwrap();
    assert_eq!(m.digest.to_string(), image.manifest.digest);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(fake.requests().len(), 2);

    // A Retry-After beyond what we accept fails at once, naming status, code and fix.
    let fake = Fake::start();
    fake.mount(
        Mock::given(path("/v2/app/manifests/1")).respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "3600")
                .set_body_json(
                    json!({ "errors": [{ "code": "TOOMANYREQUESTS", "message": "slow down" }] }),
                ),
        ),
    );
    let started = Instant::now();
    let err = fake.repo(&fast()).resolve().unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        err.contains(&fake.host())
            && err.contains("429")
            && err.contains("TOOMANYREQUESTS: slow down")
            && err.contains("rate-limiting"),
        "{err}"
    );
}

#[test]
fn server_errors_are_retried_a_bounded_number_of_times() {
    let fake = Fake::start();
    fake.mount(
        Mock::given(path("/v2/app/manifests/1"))
            .respond_with(ResponseTemplate::new(503))
            .expect(3),
    );
    let err = fake.repo(&fast()).resolve().unwrap_err().to_string();
    assert!(
        err.contains("503") && err.contains("after 2 retries") && err.contains("retry later"),
        "{err}"
    );
    fake.verify();
}

#[test]
fn registry_error_json_is_reported_with_the_fix() {
    let fake = Fake::start();
    let image = TestImage::new(&[("a", b"b")]);
    fake.mount(
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "errors": [{ "code": "MANIFEST_BLOB_UNKNOWN", "message": "blob unknown to registry", "detail": "sha256:x" }] }))),
    );
    let err = fake
        .repo(&fast())
        .put_manifest(&raw(&image.manifest), Some("1"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&fake.host())
            && err.contains("400 Bad Request")
            && err.contains("MANIFEST_BLOB_UNKNOWN: blob unknown to registry"),
        "{err}"
    );
    assert!(
        err.contains("push every blob the manifest references"),
        "{err}"
    );
}

#[test]
fn chunked_upload_wire_format() {
    let fake = Fake::start();
    let blob = Blob::new("application/octet-stream", noise(250_000, 9));
    fake.mount(
        Mock::given(method("POST"))
            .and(path("/v2/app/blobs/uploads/"))
            .respond_with(
                ResponseTemplate::new(202)
                    .insert_header("Location", "/v2/app/blobs/uploads/u1?_state=s0"),
            ),
    );
    for (i, state) in ["s0", "s1", "s2"].iter().enumerate() {
        fake.mount(
            Mock::given(method("PATCH"))
                .and(path("/v2/app/blobs/uploads/u1"))
                .and(query_param("_state", *state))
                .respond_with(ResponseTemplate::new(202).insert_header(
                    "Location",
                    format!("/v2/app/blobs/uploads/u1?_state=s{}", i + 1).as_str(),
                )),
        );
    }
    fake.mount(
        Mock::given(method("PUT"))
            .and(path("/v2/app/blobs/uploads/u1"))
            .and(query_param("_state", "s3"))
            .and(query_param("digest", blob.digest.as_str()))
            .respond_with(
                ResponseTemplate::new(201)
                    .insert_header("Docker-Content-Digest", blob.digest.as_str()),
            )
            .expect(1),
    );
    let opts = RegistryOptions {
        monolithic_limit: 1000,
        chunk_size: 100_000,
        ..fast()
    };
    fake.repo(&opts)
        .put_blob(&descriptor(&blob), &mut &blob.bytes[..], None)
        .unwrap();
    let patches: Vec<(String, usize)> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .map(|r| {
            (
                r.headers
                    .get("content-range")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string(),
                r.body.len(),
            )
        })
        .collect();
    assert_eq!(
        patches,
        vec![
            ("0-99999".to_string(), 100_000),
            ("100000-199999".to_string(), 100_000),
            ("200000-249999".to_string(), 50_000)
        ]
    );
    let put = fake
        .requests()
        .into_iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    assert!(put.body.is_empty());
    fake.verify();
}

#[test]
fn a_mount_answered_with_202_falls_back_to_uploading() {
    let fake = Fake::start();
    let blob = Blob::new("application/octet-stream", b"layer".to_vec());
    fake.mount(
        Mock::given(method("POST"))
            .and(query_param("mount", blob.digest.as_str()))
            .and(query_param("from", "base"))
            .respond_with(ResponseTemplate::new(202).insert_header(
                "Location",
                format!("http://{}/v2/app/blobs/uploads/u2", fake.host()).as_str(),
            )),
    );
    fake.mount(
        Mock::given(method("PUT"))
            .and(path("/v2/app/blobs/uploads/u2"))
            .and(query_param("digest", blob.digest.as_str()))
            .respond_with(ResponseTemplate::new(201))
            .expect(1),
    );
    fake.repo(&fast())
        .put_blob(&descriptor(&blob), &mut &blob.bytes[..], Some("base"))
        .unwrap();
    let put = fake
        .requests()
        .into_iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    assert_eq!(put.body, b"layer");
    fake.verify();
}

/// Matches requests that carry no `Authorization` header.
struct NoAuthorization;
impl wiremock::Match for NoAuthorization {
    fn matches(&self, request: &Request) -> bool {
        !request.headers.contains_key("authorization")
    }
}

#[test]
fn bearer_tokens_are_not_forwarded_to_blob_storage_on_another_host() {
    let registry = Fake::start();
    let storage = Fake::start();
    let blob = Blob::new("application/octet-stream", b"stored elsewhere".to_vec());
    let realm = format!("http://{}/token", registry.host());
    registry.mount(
        Mock::given(path("/token")).respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": "tok-123", "expires_in": 60 })),
        ),
    );
    registry.mount(
        Mock::given(path(format!("/v2/app/blobs/{}", blob.digest)))
            .and(header("authorization", "Bearer tok-123"))
            .respond_with(ResponseTemplate::new(307).insert_header(
                "Location",
                format!("http://{}/storage/object?sig=abc", storage.host()).as_str(),
            ))
            .with_priority(1),
    );
    registry.mount(
        Mock::given(path(format!("/v2/app/blobs/{}", blob.digest)))
            .respond_with(
                ResponseTemplate::new(401).insert_header(
                    "WWW-Authenticate",
                    format!(
                        "Bearer realm=\"{realm}\",service=\"fake\",scope=\"repository:app:pull\""
                    )
                    .as_str(),
                ),
            )
            .with_priority(2),
    );
    storage.mount(
        Mock::given(path("/storage/object"))
            .and(NoAuthorization)
            .respond_with(ResponseTemplate::new(200).set_body_bytes(blob.bytes.clone()))
            .expect(1),
    );
    let repo = registry.repo(&fast());
    assert_eq!(
        read_all(repo.open_blob(&descriptor(&blob)).unwrap()).unwrap(),
        blob.bytes
    );
    let token_request = registry
        .requests()
        .into_iter()
        .find(|r| r.url.path() == "/token")
        .unwrap();
    let query = token_request.url.query().unwrap();
    assert!(
        query.contains("service=fake") && query.contains("scope=repository%3Aapp%3Apull"),
        "{query}"
    );
    storage.verify();
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused() {
    // A token realm over plain HTTP on a remote host: refused before any connection is made.
    let fake = Fake::start();
    fake.mount(Mock::given(path("/v2/app/manifests/1")).respond_with(
        ResponseTemplate::new(401).insert_header(
            "WWW-Authenticate",
            "Bearer realm=\"http://auth.registry.example/token\",service=\"x\"",
        ),
    ));
    let err = fake.repo(&fast()).resolve().unwrap_err();
    assert!(
        matches!(&err, OciError::InsecureRefused { host } if host == "auth.registry.example"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("--insecure-registry auth.registry.example"),
        "{err}"
    );

    // A redirect of a blob to plain HTTP elsewhere: refused the same way.
    let blob = Blob::new("application/octet-stream", b"x".to_vec());
    fake.mount(
        Mock::given(path(format!("/v2/app/blobs/{}", blob.digest))).respond_with(
            ResponseTemplate::new(302).insert_header("Location", "http://10.1.2.3:9000/blob"),
        ),
    );
    let err = fake
        .repo(&fast())
        .open_blob(&descriptor(&blob))
        .err()
        .unwrap();
    assert!(
        matches!(&err, OciError::InsecureRefused { host } if host == "10.1.2.3:9000"),
        "{err}"
    );
    assert_eq!(
        fake.requests().len(),
        2,
        "nothing was sent to the refused hosts"
    );

    // A remote registry name gets HTTPS; only loopback and listed hosts may use HTTP.
    assert!(!proofline_oci::registry::plain_http_allowed(
        "registry.example:5000",
        &[]
    ));
    assert!(proofline_oci::registry::plain_http_allowed(
        "registry.example:5000",
        &["registry.example:5000".to_string()]
    ));
    assert!(proofline_oci::registry::plain_http_allowed(
        &fake.host(),
        &[]
    ));
}
