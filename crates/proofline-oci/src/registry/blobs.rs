//! Blobs on a registry: streamed, verified reads (following redirects to blob storage), `HEAD`
//! checks, and pushes: cross-repository mount, one `PUT` for small blobs, `PATCH` chunks for
//! large ones. An upload that fails is cancelled, so nothing partial stays behind.

use std::io::Read;
use std::time::Duration;

use bytes::Bytes;
use oci_spec::image::Descriptor;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use url::Url;

use super::auth::Scope;
use super::stream::BodyReader;
use super::transport::Request;
use super::{Repository, descriptor_digest};
use crate::digest::{Digest, VerifyError, VerifyingReader};
use crate::error::OciError;

/// Upload bandwidth we still consider alive when sizing a request's timeout.
const MIN_UPLOAD_BYTES_PER_SEC: u64 = 256 * 1024;

enum Started {
    Mounted,
    Session(Url),
}

impl Repository {
    /// `GET` a blob; the reader verifies digest and size at EOF.
    pub(super) async fn get_blob(
        &self,
        desc: &Descriptor,
    ) -> Result<Box<dyn Read + Send + '_>, OciError> {
        let digest = descriptor_digest(desc)?;
        let mut req = Request::new(Method::GET, self.api(&format!("blobs/{digest}"))?);
        req.follow_redirects = true;
        req.streaming = true;
        let resp = self
            .send(req.clone(), &Scope::pull(&self.reference.repository))
            .await?;
        let what = format!("blob {digest} from {}", self.name());
        if resp.status() == StatusCode::NOT_FOUND {
            return Err(self
                .transport
                .status_error(&req, resp, Some((&format!("blob {digest}"), &self.name())))
                .await);
        }
        if !resp.status().is_success() {
            return Err(self.transport.status_error(&req, resp, None).await);
        }
        if let Some(len) = content_length(&resp)
            && len != desc.size()
        {
            return Err(OciError::Verify(VerifyError::SizeMismatch {
                what,
                expected: desc.size(),
                actual: len,
            }));
        }
        let body = BodyReader::spawn(self.runtime.handle(), resp, what.clone());
        Ok(Box::new(VerifyingReader::new(
            body,
            what,
            digest,
            Some(desc.size()),
        )))
    }

    /// `HEAD` a blob: `true` on 200, `false` on 404.
    pub(super) async fn head_blob(&self, digest: &Digest, scope: &Scope) -> Result<bool, OciError> {
        let mut req = Request::new(Method::HEAD, self.api(&format!("blobs/{digest}"))?);
        req.follow_redirects = true;
        let resp = self.send(req.clone(), scope).await?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.transport.status_error(&req, resp, None).await),
        }
    }

    /// Pushes a blob read from `reader`, verifying its digest and size as it streams.
    pub(super) fn upload_blob(
        &self,
        desc: &Descriptor,
        reader: &mut dyn Read,
        from: Option<&str>,
    ) -> Result<(), OciError> {
        let digest = descriptor_digest(desc)?;
        let repo = self.reference.repository.clone();
        let from = from.filter(|f| !f.is_empty() && *f != repo);
        let scope = match from {
            Some(f) => Scope::push(&repo).with_pull(f),
            None => Scope::push(&repo),
        };
        let mut session = match self
            .runtime
            .block_on(self.start_upload(&digest, from, &scope))?
        {
            Started::Mounted => {
                tracing::debug!(%digest, from, to = %self.name(), "blob mounted");
                return Ok(());
            }
            Started::Session(url) => url,
        };
        let result = self.upload_into(&mut session, desc, &digest, reader, &scope);
        if result.is_err() {
            self.runtime.block_on(self.cancel_upload(&session, &scope));
        }
        result
    }

    fn upload_into(
        &self,
        session: &mut Url,
        desc: &Descriptor,
        digest: &Digest,
        reader: &mut dyn Read,
        scope: &Scope,
    ) -> Result<(), OciError> {
        let what = format!("blob {digest} pushed to {}", self.name());
        let size = desc.size();
        let mut verified = VerifyingReader::new(reader, what.clone(), digest.clone(), Some(size));
        let settings = self.transport.settings();
        if size <= settings.monolithic_limit {
            let mut body = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            verified
                .read_to_end(&mut body)
                .map_err(|e| OciError::io(format!("reading {what}"), e))?;
            return self.runtime.block_on(self.finish_upload(
                session,
                digest,
                Bytes::from(body),
                scope,
            ));
        }
        let chunk_size = usize::try_from(settings.chunk_size)
            .unwrap_or(usize::MAX)
            .max(1);
        let mut offset = 0u64;
        loop {
            let (chunk, eof) = read_chunk(&mut verified, chunk_size)
                .map_err(|e| OciError::io(format!("reading {what}"), e))?;
            if !chunk.is_empty() {
                let len = chunk.len() as u64;
                *session = self.runtime.block_on(self.patch_chunk(
                    session,
                    offset,
                    Bytes::from(chunk),
                    scope,
                ))?;
                offset += len;
            }
            if eof {
                break;
            }
        }
        self.runtime
            .block_on(self.finish_upload(session, digest, Bytes::new(), scope))
    }

    /// `POST …/blobs/uploads/`, with `?mount=&from=` when a source repository is given.
    async fn start_upload(
        &self,
        digest: &Digest,
        from: Option<&str>,
        scope: &Scope,
    ) -> Result<Started, OciError> {
        let mut url = self.api("blobs/uploads/")?;
        if let Some(from) = from {
            url.query_pairs_mut()
                .append_pair("mount", &digest.to_string())
                .append_pair("from", from);
        }
        let req = Request::new(Method::POST, url)
            .header(CONTENT_LENGTH, HeaderValue::from_static("0"))
            .body(Bytes::new());
        let resp = self.send(req.clone(), scope).await?;
        match resp.status() {
            StatusCode::CREATED if from.is_some() => Ok(Started::Mounted),
            StatusCode::ACCEPTED => Ok(Started::Session(
                self.transport.resolve_location(&req.url, &resp)?,
            )),
            _ => Err(self.transport.status_error(&req, resp, None).await),
        }
    }

    /// `PATCH` one chunk at `offset`; returns the session URL for the next request.
    async fn patch_chunk(
        &self,
        session: &Url,
        offset: u64,
        chunk: Bytes,
        scope: &Scope,
    ) -> Result<Url, OciError> {
        let end = offset + chunk.len() as u64 - 1;
        let range = HeaderValue::from_str(&format!("{offset}-{end}")).map_err(|e| {
            self.transport
                .malformed("a Content-Range".into(), e.to_string())
        })?;
        let mut req = Request::new(Method::PATCH, session.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )
            .header(CONTENT_RANGE, range)
            .header(CONTENT_LENGTH, HeaderValue::from(chunk.len() as u64));
        req.timeout = Some(self.upload_timeout(chunk.len() as u64));
        // A chunk may have landed before a connection broke: re-sending could append it twice.
        req.idempotent = false;
        let req = req.body(chunk);
        let resp = self.send(req.clone(), scope).await?;
        if resp.status() != StatusCode::ACCEPTED && !resp.status().is_success() {
            return Err(self.transport.status_error(&req, resp, None).await);
        }
        self.transport.resolve_location(session, &resp)
    }

    /// The closing `PUT …?digest=` (with the whole blob for a monolithic upload).
    async fn finish_upload(
        &self,
        session: &Url,
        digest: &Digest,
        body: Bytes,
        scope: &Scope,
    ) -> Result<(), OciError> {
        let mut url = session.clone();
        url.query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let len = body.len() as u64;
        let mut req = Request::new(Method::PUT, url)
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )
            .header(CONTENT_LENGTH, HeaderValue::from(len));
        req.timeout = Some(self.upload_timeout(len));
        let req = req.body(body);
        let resp = self.send(req.clone(), scope).await?;
        if !resp.status().is_success() {
            return Err(self.transport.status_error(&req, resp, None).await);
        }
        check_digest_header(&resp, digest, &self.transport.registry)
    }

    /// Best-effort `DELETE` of an upload session we abandon.
    async fn cancel_upload(&self, session: &Url, scope: &Scope) {
        let mut req = Request::new(Method::DELETE, session.clone());
        req.timeout = Some(Duration::from_secs(10));
        if let Err(e) = self.send(req, scope).await {
            tracing::debug!(registry = %self.transport.registry, error = %e, "cancelling the upload failed");
        }
    }

    fn upload_timeout(&self, bytes: u64) -> Duration {
        self.transport.settings().timeout + Duration::from_secs(bytes / MIN_UPLOAD_BYTES_PER_SEC)
    }
}

/// Reads until `size` bytes or EOF; `true` when EOF was reached (and so verified).
fn read_chunk(r: &mut impl Read, size: usize) -> std::io::Result<(Vec<u8>, bool)> {
    let mut buf = vec![0u8; size];
    let mut filled = 0;
    while filled < size {
        match r.read(&mut buf[filled..]) {
            Ok(0) => {
                buf.truncate(filled);
                return Ok((buf, true));
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((buf, false))
}

fn content_length(resp: &Response) -> Option<u64> {
    resp.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// A `Docker-Content-Digest` answer must name what we sent.
pub(super) fn check_digest_header(
    resp: &Response,
    expected: &Digest,
    registry: &str,
) -> Result<(), OciError> {
    let Some(value) = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    match value.trim().parse::<Digest>() {
        Ok(d) if &d == expected => Ok(()),
        Ok(d) => Err(OciError::Registry {
            registry: registry.to_string(),
            message: format!(
                "the registry stored {d} where we pushed {expected}: it altered the content; do not trust this registry's copy"
            ),
        }),
        // Another algorithm than sha256: nothing we can compare.
        Err(_) => Ok(()),
    }
}
