//! Manifests and indexes on a registry: `GET`/`HEAD` by tag or digest with the OCI and Docker
//! media types accepted, bytes verified against the digest asked for and the registry's
//! `Docker-Content-Digest`, size-capped; `PUT` by digest or tag.

use oci_spec::image::Descriptor;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};

use super::Repository;
use super::auth::Scope;
use super::blobs::check_digest_header;
use super::transport::{Request, read_capped};
use crate::digest::{Digest, VerifyError};
use crate::error::OciError;
use crate::store::{MAX_MANIFEST_BYTES, RawManifest};

pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// The media type of manifest bytes: the document's own `mediaType`, else the `Content-Type`,
/// else inferred from its shape. Docker schema 1 and unknown types are refused.
pub(crate) fn manifest_media_type(
    bytes: &[u8],
    content_type: Option<&str>,
    what: &str,
) -> Result<String, OciError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        #[serde(default)]
        schema_version: Option<u64>,
        #[serde(default)]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        config: Option<serde::de::IgnoredAny>,
    }
    let shape: Shape = serde_json::from_slice(bytes).map_err(|e| OciError::Malformed {
        what: what.to_string(),
        reason: format!("not a JSON manifest: {e}"),
    })?;
    let known = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];
    if shape.schema_version == Some(1) {
        let media_type = content_type
            .unwrap_or("application/vnd.docker.distribution.manifest.v1+json")
            .to_string();
        return Err(OciError::UnsupportedMediaType {
            what: format!(
                "{what} (Docker schema 1 is obsolete: re-push the image with a current client)"
            ),
            media_type,
        });
    }
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim().to_ascii_lowercase())
        .filter(|c| known.contains(&c.as_str()));
    let media_type = match (shape.media_type, header) {
        (Some(m), _) => m,
        (None, Some(h)) => h,
        (None, None) if shape.manifests.is_some() => OCI_INDEX.to_string(),
        (None, None) if shape.config.is_some() => OCI_MANIFEST.to_string(),
        (None, None) => {
            let shown = content_type.unwrap_or("none");
            return Err(OciError::UnsupportedMediaType {
                what: what.to_string(),
                media_type: format!("(no mediaType; Content-Type {shown})"),
            });
        }
    };
    if !known.contains(&media_type.as_str()) {
        return Err(OciError::UnsupportedMediaType {
            what: format!("{what} (only OCI and Docker v2 manifests and indexes are read)"),
            media_type,
        });
    }
    Ok(media_type)
}

impl Repository {
    /// `GET` a manifest by tag or digest, verified against `expected` and `Docker-Content-Digest`.
    pub(super) async fn get_manifest(
        &self,
        reference: &str,
        expected: Option<&Digest>,
    ) -> Result<RawManifest, OciError> {
        let req = Request::new(Method::GET, self.api(&format!("manifests/{reference}"))?)
            .header(ACCEPT, HeaderValue::from_static(ACCEPT_MANIFESTS));
        let resp = self
            .send(req.clone(), &Scope::pull(&self.reference.repository))
            .await?;
        let what = format!("manifest `{reference}` of {}", self.name());
        if !resp.status().is_success() {
            return Err(self
                .transport
                .status_error(
                    &req,
                    resp,
                    Some((&format!("manifest `{reference}`"), &self.name())),
                )
                .await);
        }
        let too_large = || OciError::TooLarge {
            what: what.clone(),
            limit: MAX_MANIFEST_BYTES,
        };
        let length = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if length.is_some_and(|l| l > MAX_MANIFEST_BYTES) {
            return Err(too_large());
        }
        let header_digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<Digest>().ok());
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let cap = usize::try_from(MAX_MANIFEST_BYTES + 1).unwrap_or(usize::MAX);
        let bytes = read_capped(resp, cap)
            .await
            .map_err(|e| OciError::Registry {
                registry: self.transport.registry.clone(),
                message: format!("reading {what}: {}", super::transport::error_chain(&e)),
            })?;
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(too_large());
        }
        let digest = Digest::of(&bytes);
        if let Some(expected) = expected
            && &digest != expected
        {
            return Err(OciError::Verify(VerifyError::DigestMismatch {
                what,
                expected: expected.clone(),
                actual: digest,
            }));
        }
        if let Some(header) = header_digest
            && header != digest
        {
            return Err(OciError::Verify(VerifyError::DigestMismatch {
                what: format!("{what} (Docker-Content-Digest header)"),
                expected: header,
                actual: digest,
            }));
        }
        let media_type = manifest_media_type(&bytes, content_type.as_deref(), &what)?;
        Ok(RawManifest {
            media_type,
            digest,
            bytes,
        })
    }

    /// `HEAD` a manifest: its descriptor, or `None` on 404. Falls back to a `GET` when the
    /// registry does not say the digest.
    pub(super) async fn head_manifest(
        &self,
        reference: &str,
    ) -> Result<Option<Descriptor>, OciError> {
        let req = Request::new(Method::HEAD, self.api(&format!("manifests/{reference}"))?)
            .header(ACCEPT, HeaderValue::from_static(ACCEPT_MANIFESTS));
        let resp = self
            .send(req.clone(), &Scope::pull(&self.reference.repository))
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.transport.status_error(&req, resp, None).await);
        }
        let h = resp.headers();
        let header = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let digest = header("docker-content-digest").and_then(|d| d.parse::<Digest>().ok());
        let size = header("content-length").and_then(|l| l.parse::<u64>().ok());
        let media_type =
            header("content-type").map(|c| c.split(';').next().unwrap_or(c).trim().to_string());
        let (digest, size, media_type) = match (digest, size, media_type) {
            (Some(d), Some(s), Some(m)) if !m.is_empty() => (d, s, m),
            _ => {
                let expected = reference.parse::<Digest>().ok();
                let m = self.get_manifest(reference, expected.as_ref()).await?;
                (m.digest, m.bytes.len() as u64, m.media_type)
            }
        };
        descriptor(&media_type, &digest, size).map(Some)
    }

    /// `PUT` a manifest under `reference` (its digest or a tag); returns the answer's headers.
    pub(super) async fn put_manifest_at(
        &self,
        manifest: &RawManifest,
        reference: &str,
    ) -> Result<HeaderMap, OciError> {
        let what = format!("manifest {} pushed to {}", manifest.digest, self.name());
        if manifest.bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(OciError::TooLarge {
                what,
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let actual = Digest::of(&manifest.bytes);
        if actual != manifest.digest {
            return Err(OciError::Verify(VerifyError::DigestMismatch {
                what,
                expected: manifest.digest.clone(),
                actual,
            }));
        }
        let content_type = HeaderValue::from_str(&manifest.media_type).map_err(|_| {
            OciError::UnsupportedMediaType {
                what: what.clone(),
                media_type: manifest.media_type.clone(),
            }
        })?;
        let req = Request::new(Method::PUT, self.api(&format!("manifests/{reference}"))?)
            .header(CONTENT_TYPE, content_type)
            .body(manifest.bytes.clone().into());
        let resp = self
            .send(req.clone(), &Scope::push(&self.reference.repository))
            .await?;
        if !resp.status().is_success() {
            return Err(self.transport.status_error(&req, resp, None).await);
        }
        check_digest_header(&resp, &manifest.digest, &self.transport.registry)?;
        Ok(resp.headers().clone())
    }
}

/// An OCI descriptor from its three required fields.
pub(crate) fn descriptor(
    media_type: &str,
    digest: &Digest,
    size: u64,
) -> Result<Descriptor, OciError> {
    let value =
        serde_json::json!({ "mediaType": media_type, "digest": digest.to_string(), "size": size });
    serde_json::from_value(value).map_err(|e| OciError::Malformed {
        what: format!("descriptor of {digest}"),
        reason: e.to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn media_type_from_document_header_or_shape() {
        let w = "m";
        assert_eq!(manifest_media_type(br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#, None, w).unwrap(), OCI_INDEX);
        assert_eq!(
            manifest_media_type(
                br#"{"schemaVersion":2,"config":{},"layers":[]}"#,
                Some("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8"),
                w
            )
            .unwrap(),
            DOCKER_MANIFEST
        );
        assert_eq!(
            manifest_media_type(
                br#"{"schemaVersion":2,"config":{},"layers":[]}"#,
                Some("application/json"),
                w
            )
            .unwrap(),
            OCI_MANIFEST
        );
        assert_eq!(
            manifest_media_type(br#"{"schemaVersion":2,"manifests":[]}"#, None, w).unwrap(),
            OCI_INDEX
        );
        let err = manifest_media_type(
            br#"{"schemaVersion":1,"fsLayers":[]}"#,
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            w,
        )
        .unwrap_err();
        assert!(
            matches!(err, OciError::UnsupportedMediaType { .. }),
            "{err}"
        );
        assert!(manifest_media_type(br#"{"schemaVersion":2}"#, None, w).is_err());
        assert!(manifest_media_type(b"not json", None, w).is_err());
    }
}
