//! Referrers: discovering and attaching artifacts (signatures, SBOMs, attestations) whose
//! `subject` is an image, through `GET /v2/<name>/referrers/<digest>` where the registry has it,
//! and through the fallback index tagged `sha256-<hex>` where it has not (Debian's registry 2.8).

use oci_spec::image::Descriptor;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue, LINK};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::Repository;
use super::auth::Scope;
use super::descriptor_digest;
use super::manifests::{OCI_INDEX, OCI_MANIFEST};
use super::transport::{Request, read_capped};
use crate::digest::Digest;
use crate::error::OciError;
use crate::store::{MAX_MANIFEST_BYTES, RawManifest};

/// Pages of a referrers answer we follow (each can hold thousands of descriptors).
const MAX_PAGES: usize = 64;

/// The fallback tag of the referrers of `subject`: `sha256-<hex>`.
pub fn fallback_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm(), subject.hex())
}

impl Repository {
    pub(super) async fn list_referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, OciError> {
        let all = match self.referrers_api(subject, artifact_type).await? {
            Some(list) => list,
            None => {
                tracing::debug!(registry = %self.transport.registry, %subject, "no referrers API; reading the fallback tag");
                self.fallback_entries(subject)
                    .await?
                    .map(|(_, entries)| entries)
                    .unwrap_or_default()
            }
        };
        let mut out = Vec::new();
        for v in all {
            let d: Descriptor = serde_json::from_value(v).map_err(|e| OciError::Malformed {
                what: format!("a referrer of {subject} in {}", self.name()),
                reason: e.to_string(),
            })?;
            if artifact_type.is_none_or(|t| {
                d.artifact_type()
                    .as_ref()
                    .is_some_and(|a| a.to_string() == t)
            }) {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// The referrers API's descriptors, or `None` when the registry has no such API.
    async fn referrers_api(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<Vec<Value>>, OciError> {
        let mut url = self.api(&format!("referrers/{subject}"))?;
        if let Some(t) = artifact_type {
            url.query_pairs_mut().append_pair("artifactType", t);
        }
        let mut out = Vec::new();
        for page in 0..MAX_PAGES {
            let req = Request::new(Method::GET, url.clone())
                .header(ACCEPT, HeaderValue::from_static(OCI_INDEX));
            let resp = self
                .send(req.clone(), &Scope::pull(&self.reference.repository))
                .await?;
            let status = resp.status();
            if page == 0
                && matches!(
                    status,
                    StatusCode::NOT_FOUND
                        | StatusCode::METHOD_NOT_ALLOWED
                        | StatusCode::BAD_REQUEST
                        | StatusCode::NOT_ACCEPTABLE
                )
            {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(self.transport.status_error(&req, resp, None).await);
            }
            let is_index = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|c| {
                    c.split(';')
                        .next()
                        .unwrap_or(c)
                        .trim()
                        .eq_ignore_ascii_case(OCI_INDEX)
                });
            let next = resp
                .headers()
                .get_all(LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(next_link)
                .map(str::to_string);
            let cap = usize::try_from(MAX_MANIFEST_BYTES + 1).unwrap_or(usize::MAX);
            let body = read_capped(resp, cap)
                .await
                .map_err(|e| OciError::Registry {
                    registry: self.transport.registry.clone(),
                    message: format!(
                        "reading the referrers of {subject}: {}",
                        super::transport::error_chain(&e)
                    ),
                })?;
            if body.len() as u64 > MAX_MANIFEST_BYTES {
                return Err(OciError::TooLarge {
                    what: format!("a page of the referrers of {subject} in {}", self.name()),
                    limit: MAX_MANIFEST_BYTES,
                });
            }
            let Some(entries) = index_entries(&body).filter(|_| is_index || page > 0) else {
                if page == 0 {
                    // Something answered, but not the referrers API (a catch-all page, a proxy).
                    return Ok(None);
                }
                return Err(self.transport.malformed(
                    format!("page {} of the referrers of {subject}", page + 1),
                    "it is not an OCI image index".into(),
                ));
            };
            out.extend(entries);
            match next {
                Some(n) => {
                    url = url.join(&n).map_err(|e| {
                        self.transport
                            .malformed("a referrers Link header".into(), e.to_string())
                    })?;
                    self.transport.check_url(&url)?;
                }
                None => return Ok(Some(out)),
            }
        }
        Err(OciError::Registry {
            registry: self.transport.registry.clone(),
            message: format!(
                "the referrers of {subject} span more than {MAX_PAGES} pages; refusing to read further"
            ),
        })
    }

    /// The fallback index at `sha256-<hex>` and its entries, or `None` when the tag does not exist.
    async fn fallback_entries(
        &self,
        subject: &Digest,
    ) -> Result<Option<(Value, Vec<Value>)>, OciError> {
        let tag = fallback_tag(subject);
        let index = match self.get_manifest(&tag, None).await {
            Ok(m) => m,
            Err(OciError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let what = format!("the referrers tag `{tag}` of {}", self.name());
        if index.media_type != OCI_INDEX {
            return Err(OciError::Malformed {
                what,
                reason: format!(
                    "it holds a {}, not an OCI image index; delete or move that tag",
                    index.media_type
                ),
            });
        }
        let value: Value =
            serde_json::from_slice(&index.bytes).map_err(|e| OciError::Malformed {
                what: what.clone(),
                reason: e.to_string(),
            })?;
        let entries = index_entries(&index.bytes).ok_or_else(|| OciError::Malformed {
            what,
            reason: "it has no `manifests` array".into(),
        })?;
        Ok(Some((value, entries)))
    }

    pub(super) async fn attach_artifact(
        &self,
        subject: &Descriptor,
        artifact: &RawManifest,
    ) -> Result<Descriptor, OciError> {
        let subject_digest = descriptor_digest(subject)?;
        let what = format!("artifact manifest {}", artifact.digest);
        if artifact.media_type != OCI_MANIFEST && artifact.media_type != OCI_INDEX {
            return Err(OciError::UnsupportedMediaType {
                what: format!("{what} (a referrer must be an OCI image manifest or index)"),
                media_type: artifact.media_type.clone(),
            });
        }
        let doc: Value =
            serde_json::from_slice(&artifact.bytes).map_err(|e| OciError::Malformed {
                what: what.clone(),
                reason: e.to_string(),
            })?;
        let declared = doc
            .get("subject")
            .and_then(|s| s.get("digest"))
            .and_then(Value::as_str);
        if declared != Some(subject_digest.to_string().as_str()) {
            return Err(OciError::Malformed {
                what,
                reason: format!(
                    "its `subject` is {}, not {subject_digest}: build the artifact with the image as its subject",
                    declared.unwrap_or("missing")
                ),
            });
        }
        let entry = referrer_entry(artifact, &doc);
        let headers = self
            .put_manifest_at(artifact, &artifact.digest.to_string())
            .await?;
        if headers.contains_key("oci-subject") {
            tracing::debug!(registry = %self.transport.registry, subject = %subject_digest, "registry indexes referrers itself");
        } else {
            self.add_to_fallback(&subject_digest, &artifact.digest, entry.clone())
                .await?;
        }
        serde_json::from_value(entry).map_err(|e| OciError::Malformed {
            what: format!("descriptor of {}", artifact.digest),
            reason: e.to_string(),
        })
    }

    /// Read-modify-write of the fallback index: appends `entry` unless its digest is listed.
    async fn add_to_fallback(
        &self,
        subject: &Digest,
        artifact: &Digest,
        entry: Value,
    ) -> Result<(), OciError> {
        let (mut index, entries) = match self.fallback_entries(subject).await? {
            Some(found) => found,
            None => (
                serde_json::json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [] }),
                Vec::new(),
            ),
        };
        let listed = artifact.to_string();
        if entries
            .iter()
            .any(|e| e.get("digest").and_then(Value::as_str) == Some(listed.as_str()))
        {
            return Ok(());
        }
        match index.get_mut("manifests").and_then(Value::as_array_mut) {
            Some(list) => list.push(entry),
            None => {
                return Err(self.transport.malformed(
                    format!("the referrers tag `{}`", fallback_tag(subject)),
                    "it has no `manifests` array".into(),
                ));
            }
        }
        let bytes = serde_json::to_vec(&index).map_err(|e| OciError::Malformed {
            what: "the referrers index".into(),
            reason: e.to_string(),
        })?;
        let raw = RawManifest {
            media_type: OCI_INDEX.to_string(),
            digest: Digest::of(&bytes),
            bytes,
        };
        self.put_manifest_at(&raw, &fallback_tag(subject)).await?;
        Ok(())
    }
}

/// The descriptor of a referrer as the referrers API lists it: `artifactType` (the manifest's,
/// else its config's media type) and the manifest's annotations.
fn referrer_entry(artifact: &RawManifest, doc: &Value) -> Value {
    let mut entry = serde_json::Map::new();
    entry.insert(
        "mediaType".into(),
        Value::String(artifact.media_type.clone()),
    );
    entry.insert("digest".into(), Value::String(artifact.digest.to_string()));
    entry.insert("size".into(), Value::from(artifact.bytes.len() as u64));
    let artifact_type = doc
        .get("artifactType")
        .or_else(|| doc.get("config").and_then(|c| c.get("mediaType")))
        .and_then(Value::as_str);
    if let Some(t) = artifact_type {
        entry.insert("artifactType".into(), Value::String(t.to_string()));
    }
    if let Some(a) = doc
        .get("annotations")
        .filter(|a| a.as_object().is_some_and(|o| !o.is_empty()))
    {
        entry.insert("annotations".into(), a.clone());
    }
    Value::Object(entry)
}

/// The `manifests` of an image index, or `None` if `body` is not one.
fn index_entries(body: &[u8]) -> Option<Vec<Value>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    if v.get("mediaType")
        .and_then(Value::as_str)
        .is_some_and(|m| m != OCI_INDEX)
    {
        return None;
    }
    v.get("manifests")?.as_array().cloned()
}

/// The target of `<…>; rel="next"` in a `Link` header.
fn next_link(value: &str) -> Option<&str> {
    value.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| target.trim().trim_start_matches('<').trim_end_matches('>'))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn fallback_tag_schema() {
        let d = Digest::of(b"x");
        assert_eq!(fallback_tag(&d), format!("sha256-{}", d.hex()));
    }

    #[test]
    fn link_next() {
        assert_eq!(
            next_link(r#"</v2/a/referrers/sha256:x?n=1&last=b>; rel="next""#),
            Some("/v2/a/referrers/sha256:x?n=1&last=b")
        );
        assert_eq!(
            next_link(r#"<https://x/p>; rel="prev", <https://x/n>; rel=next"#),
            Some("https://x/n")
        );
        assert_eq!(next_link("<x>"), None);
    }

    #[test]
    fn referrer_entries_carry_artifact_type_and_annotations() {
        let bytes = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.example.sig","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"annotations":{"b":"2","a":"1"}}"#.to_vec();
        let raw = RawManifest {
            media_type: OCI_MANIFEST.into(),
            digest: Digest::of(&bytes),
            bytes,
        };
        let doc: Value = serde_json::from_slice(&raw.bytes).unwrap();
        let e = referrer_entry(&raw, &doc);
        assert_eq!(e["artifactType"], "application/vnd.example.sig");
        assert_eq!(
            serde_json::to_string(&e["annotations"]).unwrap(),
            r#"{"b":"2","a":"1"}"#,
            "annotations keep the manifest's order"
        );
        assert!(index_entries(br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]}"#).is_none());
        assert_eq!(
            index_entries(br#"{"schemaVersion":2,"manifests":[{"a":1}]}"#).map(|v| v.len()),
            Some(1)
        );
    }
}
