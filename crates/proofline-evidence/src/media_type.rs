//! Media types of the artifacts stages write, so every record names them the same way.

use crate::error::{EvidenceError, Result};

/// Plain JSON.
pub const JSON: &str = "application/json";
/// An in-toto Statement v1 (JSON).
pub const IN_TOTO: &str = "application/vnd.in-toto+json";
/// A DSSE envelope (JSON), e.g. a signed in-toto Statement.
pub const DSSE: &str = "application/vnd.dsse.envelope.v1+json";
/// A Sigstore bundle v0.3 (JSON).
pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// An SPDX document in JSON (2.3 JSON or 3.0 JSON-LD).
pub const SPDX: &str = "application/spdx+json";
/// A CycloneDX BOM in JSON.
pub const CYCLONEDX: &str = "application/vnd.cyclonedx+json";
/// A SARIF 2.1.0 log.
pub const SARIF: &str = "application/sarif+json";
/// Plain text (logs).
pub const TEXT: &str = "text/plain";
/// Markdown (summaries, reports).
pub const MARKDOWN: &str = "text/markdown";
/// HTML (reports).
pub const HTML: &str = "text/html";
/// Opaque bytes.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Checks that `media_type` looks like `type/subtype[; parameters]` (RFC 6838 characters,
/// printable ASCII, at most 255 bytes).
pub fn validate(media_type: &str) -> Result<()> {
    let refuse = |reason: &str| {
        Err(EvidenceError::InvalidField {
            field: "media type",
            reason: format!("`{media_type}` {reason} (expected `type/subtype`, e.g. `{JSON}`)"),
        })
    };
    if media_type.len() > 255 {
        return refuse("is longer than 255 bytes");
    }
    if !media_type.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return refuse("contains non-printable or non-ASCII characters");
    }
    let essence = media_type.split(';').next().unwrap_or_default().trim_end();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return refuse("has no `/`");
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    if !token(kind) || !token(subtype) {
        return refuse("is not a valid media type");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_valid() {
        for m in [
            JSON,
            IN_TOTO,
            DSSE,
            SIGSTORE_BUNDLE,
            SPDX,
            CYCLONEDX,
            SARIF,
            TEXT,
            MARKDOWN,
            HTML,
            OCTET_STREAM,
        ] {
            validate(m).unwrap();
        }
        validate("text/plain; charset=utf-8").unwrap();
    }

    #[test]
    fn bad_media_types() {
        for bad in [
            "",
            "json",
            "/json",
            "application/",
            "a/b c",
            "a/b\n",
            "a/é",
            "a//b",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }
}
