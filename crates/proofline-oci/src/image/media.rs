//! Manifest and config media types, OCI and Docker v2 schema 2, and how to tell an index
//! from a manifest when a writer (umoci, some registries) leaves `mediaType` out.

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::error::OciError;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYOUT_HEADER: &str = "application/vnd.oci.layout.header.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_SCHEMA1: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// The two shapes of manifest document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// An image manifest (config + layers).
    Manifest,
    /// An image index / manifest list (children by platform).
    Index,
}

/// The kind a media type names, if it is one we read.
pub fn kind_of(media_type: &str) -> Option<ManifestKind> {
    match media_type {
        OCI_MANIFEST | DOCKER_MANIFEST => Some(ManifestKind::Manifest),
        OCI_INDEX | DOCKER_MANIFEST_LIST => Some(ManifestKind::Index),
        _ => None,
    }
}

/// Whether a config media type is a container image config.
pub fn is_image_config(media_type: &str) -> bool {
    matches!(media_type, OCI_CONFIG | DOCKER_CONFIG)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<u64>,
    media_type: Option<String>,
    manifests: Option<IgnoredAny>,
    layers: Option<IgnoredAny>,
    config: Option<IgnoredAny>,
}

/// Decides what a manifest document is. The document's own `mediaType` wins; without it,
/// the `hint` (the descriptor's media type, a registry's `Content-Type`); without either,
/// its shape (`manifests` → index, `config`/`layers` → manifest). A document that
/// contradicts its descriptor is refused. Returns the kind and the media type to record.
pub fn detect(
    hint: Option<&str>,
    bytes: &[u8],
    what: &str,
) -> Result<(ManifestKind, String), OciError> {
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| OciError::Malformed {
        what: what.to_string(),
        reason: format!("not a JSON manifest: {e}"),
    })?;
    let unsupported = |mt: &str| OciError::UnsupportedMediaType {
        what: what.to_string(),
        media_type: if DOCKER_SCHEMA1.contains(&mt) {
            format!(
                "{mt} (Docker schema 1 is deprecated: push the image again with a current tool)"
            )
        } else {
            mt.to_string()
        },
    };
    if probe.schema_version == Some(1) {
        return Err(unsupported(DOCKER_SCHEMA1[0]));
    }
    // A hint we do not know (`application/json` from a lax server) is no information.
    let hint_kind = hint.and_then(kind_of);
    if let Some(mt) = &probe.media_type {
        let kind = kind_of(mt).ok_or_else(|| unsupported(mt))?;
        if let Some(h) = hint_kind
            && h != kind
        {
            return Err(OciError::Malformed {
                what: what.to_string(),
                reason: format!(
                    "its descriptor says {} but the document says {mt}",
                    hint.unwrap_or_default()
                ),
            });
        }
        return Ok((kind, mt.clone()));
    }
    let shape = if probe.manifests.is_some() {
        Some(ManifestKind::Index)
    } else if probe.layers.is_some() || probe.config.is_some() {
        Some(ManifestKind::Manifest)
    } else {
        None
    };
    match (hint_kind, shape) {
        (Some(h), Some(s)) if h != s => Err(OciError::Malformed {
            what: what.to_string(),
            reason: format!(
                "its descriptor says {} but the document has the other shape",
                hint.unwrap_or_default()
            ),
        }),
        (Some(h), _) => Ok((h, hint.unwrap_or_default().to_string())),
        (None, Some(ManifestKind::Index)) => Ok((ManifestKind::Index, OCI_INDEX.to_string())),
        (None, Some(ManifestKind::Manifest)) => {
            Ok((ManifestKind::Manifest, OCI_MANIFEST.to_string()))
        }
        (None, None) => Err(OciError::Malformed {
            what: what.to_string(),
            reason: "neither an image manifest nor an index (no `manifests`, `config` or `layers`)"
                .into(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_field_hint_and_shape() {
        let m = br#"{"schemaVersion":2,"config":{},"layers":[]}"#;
        assert_eq!(
            detect(None, m, "t").unwrap(),
            (ManifestKind::Manifest, OCI_MANIFEST.into())
        );
        assert_eq!(
            detect(Some(DOCKER_MANIFEST), m, "t").unwrap(),
            (ManifestKind::Manifest, DOCKER_MANIFEST.into())
        );
        let i = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(detect(None, i, "t").unwrap().0, ManifestKind::Index);
        let l = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#;
        assert_eq!(
            detect(Some(OCI_INDEX), l, "t").unwrap(),
            (ManifestKind::Index, DOCKER_MANIFEST_LIST.into())
        );
    }

    #[test]
    fn refuses_contradictions_and_schema1() {
        let m = br#"{"schemaVersion":2,"config":{},"layers":[]}"#;
        assert!(detect(Some(OCI_INDEX), m, "t").is_err());
        let s1 = br#"{"schemaVersion":1,"fsLayers":[]}"#;
        assert!(
            detect(None, s1, "t")
                .unwrap_err()
                .to_string()
                .contains("schema 1")
        );
        assert!(detect(None, b"[]", "t").is_err());
        assert!(detect(None, br#"{"a":1}"#, "t").is_err());
    }
}
