//! Reading a bundle's JSON as the reference clients do, and saying which part is malformed when
//! it is not: a checkpoint that does not parse is a checkpoint failure, not just "bad JSON".
//! Base64 fields broken over lines are accepted, as Go's and Python's decoders accept them
//! (RFC 4648 §3.3); nothing else is relaxed.

use sigstore_verify::types::Bundle;
use sigstore_verify::types::checkpoint::Checkpoint;

use crate::reason::Reason;
use crate::trust::Rejected;

/// Parses a bundle, or says why not with the part at fault.
pub(crate) fn parse_bundle(text: &str) -> Result<Bundle, Rejected> {
    let error = match Bundle::from_json(text) {
        Ok(bundle) => return Ok(bundle),
        Err(e) => e,
    };
    let malformed = || Rejected(format!("malformed bundle: {error}"), Reason::Bundle);
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Err(malformed());
    };
    // A checkpoint that does not parse, by the checkpoint parser's own (typed) verdict.
    let entries = value
        .pointer("/verificationMaterial/tlogEntries")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, entry) in entries.iter().enumerate() {
        if let Some(envelope) = entry
            .pointer("/inclusionProof/checkpoint/envelope")
            .and_then(serde_json::Value::as_str)
            && !envelope.is_empty()
            && let Err(e) = Checkpoint::from_text(envelope)
        {
            return Err(Rejected(
                format!("the checkpoint of transparency-log entry {i} is malformed: {e}"),
                Reason::Checkpoint,
            ));
        }
    }
    // Line breaks inside base64 values: drop them (outside the checkpoint note, whose lines are
    // its format) and try once more.
    if strip_line_breaks(&mut value, 0) {
        let Ok(relaxed) = serde_json::to_string(&value) else {
            return Err(malformed());
        };
        if let Ok(bundle) = Bundle::from_json(&relaxed) {
            return Ok(bundle);
        }
    }
    Err(malformed())
}

/// The structure the bundle format requires of a v0.1/v0.2 certificate chain, checked before
/// anything else: at least one certificate, and no root (the trusted root supplies it; a bundle
/// that carries its own anchor invites trusting it).
pub(crate) fn check_chain(bundle: &Bundle) -> Result<(), Rejected> {
    use sigstore_verify::types::bundle::VerificationMaterialContent;
    use x509_cert::der::Decode as _;
    let VerificationMaterialContent::X509CertificateChain { certificates } =
        &bundle.verification_material.content
    else {
        return Ok(());
    };
    if certificates.is_empty() {
        return Err(Rejected(
            "the bundle's certificate chain is empty: it names no signing certificate".into(),
            Reason::Bundle,
        ));
    }
    for (i, c) in certificates.iter().enumerate() {
        let cert = x509_cert::Certificate::from_der(c.raw_bytes.as_bytes()).map_err(|e| {
            Rejected(
                format!("certificate {i} of the bundle's chain cannot be parsed: {e}"),
                Reason::Certificate,
            )
        })?;
        if cert.tbs_certificate.subject == cert.tbs_certificate.issuer {
            return Err(Rejected(
                format!(
                    "the bundle's certificate chain includes a self-signed root (certificate {i}): the bundle format excludes the root, which only the trusted root may supply"
                ),
                Reason::Bundle,
            ));
        }
    }
    Ok(())
}

/// Removes CR and LF from every string except checkpoint envelopes; true if any was removed.
/// Depth is bounded (serde_json already refused anything deeper than 128).
fn strip_line_breaks(value: &mut serde_json::Value, depth: usize) -> bool {
    use serde_json::Value;
    if depth > 128 {
        return false;
    }
    let mut changed = false;
    match value {
        Value::String(s) if s.contains(['\n', '\r']) => {
            s.retain(|c| c != '\n' && c != '\r');
            changed = true;
        }
        Value::Array(items) => {
            for item in items {
                changed |= strip_line_breaks(item, depth + 1);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if key == "checkpoint" {
                    continue;
                }
                changed |= strip_line_breaks(item, depth + 1);
            }
        }
        _ => {}
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_json_is_a_bundle_failure() {
        for text in ["", "{", "[", "null", "{\"mediaType\": 1}"] {
            assert_eq!(parse_bundle(text).err().map(|r| r.1), Some(Reason::Bundle));
        }
    }

    #[test]
    fn a_malformed_checkpoint_is_a_checkpoint_failure() {
        let text = r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial":{"tlogEntries":[{"inclusionProof":{"checkpoint":
            {"envelope":"origin only\n"}}}]}}"#;
        assert_eq!(
            parse_bundle(text).err().map(|r| r.1),
            Some(Reason::Checkpoint)
        );
    }

    #[test]
    fn line_breaks_are_stripped_outside_checkpoints_only() {
        let mut v = serde_json::json!({
            "a": "QUJD\nREVG\r\n",
            "b": [{"c": "x\ny"}],
            "checkpoint": {"envelope": "o\n1\n"}
        });
        assert!(strip_line_breaks(&mut v, 0));
        assert_eq!(v["a"], "QUJDREVG");
        assert_eq!(v["b"][0]["c"], "xy");
        assert_eq!(v["checkpoint"]["envelope"], "o\n1\n");
        assert!(!strip_line_breaks(&mut v, 0));
    }
}
