//! The image model: index resolution by platform (OCI and Docker media types), identity,
//! and the inspect summary with secrets redacted.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proofline_oci::{Image, OciError, OpenOptions};
use serde_json::{Value, json};

const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// A layout whose tag points at an index of amd64 + arm64/v8 (+ an attestation entry).
fn multi_arch(
    dir: &std::path::Path,
    docker_types: bool,
) -> (
    proofline_oci::Digest,
    proofline_oci::Digest,
    proofline_oci::Digest,
) {
    let amd = vec![layer(&[file("arch", "amd64")], Comp::Gzip)];
    let arm = vec![layer(&[file("arch", "arm64")], Comp::Gzip)];
    let (ma, da) = store_image(dir, &amd, &config_for(&amd, "amd64", json!({})));
    let (mr, dr) = store_image(dir, &arm, &config_for(&arm, "arm64", json!({})));
    let mt = if docker_types {
        DOCKER_MANIFEST
    } else {
        "application/vnd.oci.image.manifest.v1+json"
    };
    let index = json!({
        "schemaVersion": 2,
        "mediaType": if docker_types { DOCKER_LIST } else { "application/vnd.oci.image.index.v1+json" },
        "manifests": [
            {"mediaType": mt, "digest": dr.to_string(), "size": mr.len(), "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"mediaType": mt, "digest": da.to_string(), "size": ma.len(), "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": mt, "digest": da.to_string(), "size": ma.len(), "platform": {"os": "unknown", "architecture": "unknown"},
             "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
        ],
    });
    let ib = serde_json::to_vec(&index).unwrap();
    let di = write_blob(dir, &ib);
    let top = if docker_types {
        DOCKER_LIST
    } else {
        "application/vnd.oci.image.index.v1+json"
    };
    write_index(dir, vec![index_entry(top, &ib, &di, Some("latest"))]);
    (di, da, dr)
}

#[test]
fn an_index_resolves_to_the_requested_platform() {
    for docker_types in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (di, da, dr) = multi_arch(dir.path(), docker_types);
        let r = oci_ref(dir.path());
        let img = Image::open(&r, &OpenOptions::default()).unwrap();
        assert_eq!(img.digest(), &da);
        let id = img.identity();
        assert_eq!(id.index_digest.as_ref(), Some(&di));
        assert_eq!(id.platform.to_string(), "linux/amd64");
        for p in ["linux/arm64", "linux/arm64/v8"] {
            let opts = OpenOptions {
                platform: p.parse().unwrap(),
                ..Default::default()
            };
            let img = Image::open(&r, &opts).unwrap();
            assert_eq!(img.digest(), &dr, "{p}");
            assert_eq!(img.platform().to_string(), "linux/arm64/v8");
        }
        let (entries, _) = walk_ref(
            &r,
            &OpenOptions {
                platform: "linux/arm64".parse().unwrap(),
                ..Default::default()
            },
            &Default::default(),
        )
        .unwrap();
        assert_eq!(
            entries[0].sha256.as_deref(),
            Some(sha256_hex(b"arm64").as_str())
        );
    }
}

#[test]
fn a_missing_platform_lists_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    multi_arch(dir.path(), false);
    let opts = OpenOptions {
        platform: "linux/s390x".parse().unwrap(),
        ..Default::default()
    };
    let err = Image::open(&oci_ref(dir.path()), &opts).unwrap_err();
    assert!(matches!(err, OciError::PlatformNotFound { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("linux/s390x") && msg.contains("linux/arm64/v8, linux/amd64"),
        "{msg}"
    );
    assert!(
        !msg.contains("unknown"),
        "attestation entries are not platforms: {msg}"
    );
}

#[test]
fn inspect_summarises_the_config_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let layers = vec![layer(&[file("a", "1")], Comp::Gzip)];
    let config = config_for(
        &layers,
        "amd64",
        json!({
            "User": "app",
            "Entrypoint": ["/app"],
            "Cmd": ["--serve"],
            "WorkingDir": "/srv",
            "Env": ["PATH=/usr/bin", "DB_PASSWORD=hunter2", "Api_Token=abc", "MIRROR=https://bob:pw@mirror.example/x", "LANG=C.UTF-8"],
            "Labels": {"org.opencontainers.image.source": "https://example.org/repo", "b": "2"},
            "ExposedPorts": {"8080/tcp": {}, "443/tcp": {}},
        }),
    );
    write_layout_with_config(dir.path(), &layers, Some("1.0"), &config);
    let r = oci_ref(dir.path());
    let img = Image::open(&r, &OpenOptions::default()).unwrap();
    let inspect = serde_json::to_value(img.inspect()).unwrap();
    assert_eq!(
        inspect["config"]["env"],
        json!([
            "PATH=/usr/bin",
            "DB_PASSWORD=***",
            "Api_Token=***",
            "MIRROR=***",
            "LANG=C.UTF-8"
        ])
    );
    assert_eq!(
        inspect["config"]["exposedPorts"],
        json!(["443/tcp", "8080/tcp"])
    );
    assert_eq!(
        inspect["config"]["labels"],
        json!({"b": "2", "org.opencontainers.image.source": "https://example.org/repo"})
    );
    assert_eq!(inspect["config"]["user"], "app");
    assert_eq!(inspect["config"]["workingDir"], "/srv");
    assert_eq!(inspect["config"]["historyCount"], 1);
    assert_eq!(inspect["config"]["created"], "2024-01-01T00:00:00Z");
    let text = serde_json::to_string(&inspect).unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("bob:pw"),
        "{text}"
    );
    // The identity keys, in order, flattened at the top.
    let keys: Vec<&String> = inspect.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "reference",
            "digest",
            "indexDigest",
            "mediaType",
            "configDigest",
            "platform",
            "layers",
            "config"
        ]
    );
    let layer0 = &inspect["layers"][0];
    assert_eq!(layer0["mediaType"], TAR_GZIP);
    assert_eq!(
        layer0["diffId"],
        Value::String(layers[0].diff_id.to_string())
    );
    assert_eq!(inspect["indexDigest"], Value::Null);
    assert_eq!(
        inspect["reference"],
        format!("oci:{}", dir.path().display())
    );
}

#[test]
fn artifacts_are_not_images() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = br#"{}"#;
    let cd = write_blob(dir.path(), cfg);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": cd.to_string(), "size": cfg.len()},
        "layers": [],
    });
    let b = serde_json::to_vec(&manifest).unwrap();
    let d = write_blob(dir.path(), &b);
    write_index(
        dir.path(),
        vec![index_entry(
            "application/vnd.oci.image.manifest.v1+json",
            &b,
            &d,
            None,
        )],
    );
    let err = Image::open(&oci_ref(dir.path()), &OpenOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not a container image"), "{err}");
}

#[test]
fn unsupported_layer_media_types_are_refused_when_walked() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = layer(&[file("a", "1")], Comp::Gzip);
    l.media_type = "application/vnd.in-toto+json".into();
    write_layout(dir.path(), &[l], None);
    let err = walk_ref(
        &oci_ref(dir.path()),
        &OpenOptions::default(),
        &Default::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, OciError::UnsupportedMediaType { .. }),
        "{err:?}"
    );
}
