//! GitLab's own verdict on one commit's signature (`…/commits/:sha/signature`), with its
//! documented 404 for unsigned commits told apart from a 404 for a project or commit we cannot see.

use crate::{ForgeCommit, ForgeError, ForgeSignature, Observed};

use super::access;
use super::encode;
use super::http::{Failure, Http, decode};
use super::wire::Signature;

/// The 404 messages that mean "this commit carries no signature": `not_found!('GPG Signature')`
/// in older GitLab (`doc/api/commits.md` example), `not_found!('Signature')` since SSH and X.509
/// signatures share the endpoint.
const UNSIGNED_MESSAGES: [&str; 2] = ["404 GPG Signature Not Found", "404 Signature Not Found"];

pub(crate) async fn commit(
    http: &Http,
    project: &str,
    sha: &str,
) -> Result<ForgeCommit, ForgeError> {
    let path = format!("{project}/repository/commits/{}/signature", encode(sha));
    let source = format!("GET {path}");
    let fetch = http.get_bytes(&path).await?;
    let signature = match &fetch {
        Ok(body) => {
            let parsed: Signature = decode(body, &path)?;
            Observed::known(describe(parsed, body), source)
        }
        Err(Failure::Refused {
            status: 404,
            message,
        }) if UNSIGNED_MESSAGES
            .iter()
            .any(|m| m.eq_ignore_ascii_case(message.trim())) =>
        {
            Observed::known(
                ForgeSignature {
                    verified: false,
                    reason: "unsigned".to_owned(),
                    kind: None,
                    signer: None,
                    key: None,
                },
                source,
            )
        }
        Err(failure) => Observed::Indeterminate(access::unread(
            failure,
            &source,
            http.is_job_token(),
            access::SIGNATURE,
        )),
    };
    Ok(ForgeCommit {
        sha: sha.to_owned(),
        signature,
    })
}

fn describe(signature: Signature, raw: &[u8]) -> ForgeSignature {
    let status = signature
        .verification_status
        .clone()
        .unwrap_or_else(|| "unknown".to_owned());
    let kind = signature
        .signature_type
        .as_deref()
        .map(|t| match t.to_ascii_uppercase().as_str() {
            "PGP" | "GPG" => "gpg".to_owned(),
            "SSH" => "ssh".to_owned(),
            "X509" | "X.509" => "x509".to_owned(),
            _ => t.to_ascii_lowercase(),
        });
    let (signer, key) = match kind.as_deref() {
        Some("gpg") => (
            person(
                signature.gpg_key_user_name.as_deref(),
                signature.gpg_key_user_email.as_deref(),
            ),
            signature.gpg_key_primary_keyid.clone(),
        ),
        Some("ssh") => {
            let key = signature.key.as_ref();
            (
                key.and_then(|k| {
                    k.user
                        .as_ref()
                        .and_then(|u| u.username.clone())
                        .or_else(|| k.title.clone())
                }),
                key.and_then(|k| k.fingerprint_sha256.clone()),
            )
        }
        Some("x509") => {
            let certificate = signature.x509_certificate.as_ref();
            (
                certificate.and_then(|c| person(c.subject.as_deref(), c.email.as_deref())),
                serial_number(raw),
            )
        }
        _ => (None, None),
    };
    ForgeSignature {
        verified: status == "verified",
        reason: status,
        kind,
        signer,
        key,
    }
}

/// `Name <email>`, or whichever of the two is given.
fn person(name: Option<&str>, email: Option<&str>) -> Option<String> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    match (name, email) {
        (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
        (Some(n), None) => Some(n.to_owned()),
        (None, Some(e)) => Some(format!("<{e}>")),
        (None, None) => None,
    }
}

/// The X.509 `serial_number` exactly as written: GitLab sends it as a JSON integer wider than
/// 64 bits (e.g. 278969561018901340486471282831158785578), which serde_json would round to an
/// `f64`. A small scan of the raw text that skips string contents finds the key.
fn serial_number(raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?;
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut string_start = None;
    let mut last_string: Option<(usize, usize)> = None;
    while i < bytes.len() {
        let byte = bytes[i];
        if let Some(start) = string_start {
            match byte {
                b'\\' => i += 1,
                b'"' => {
                    string_start = None;
                    last_string = Some((start, i));
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match byte {
            b'"' => string_start = Some(i + 1),
            b':' => {
                if let Some((start, end)) = last_string.take()
                    && text.get(start..end) == Some("serial_number")
                {
                    let rest = text.get(i + 1..)?.trim_start();
                    let value: String = match rest.strip_prefix('"') {
                        Some(quoted) => quoted.chars().take_while(|c| *c != '"').collect(),
                        None => rest.chars().take_while(char::is_ascii_digit).collect(),
                    };
                    return (!value.is_empty()).then_some(value);
                }
            }
            b if b.is_ascii_whitespace() => {}
            _ => last_string = None,
        }
        i += 1;
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn wide_serial_numbers_are_read_exactly() {
        let raw = br#"{"subject":"CN=\"serial_number\": 1","x509_certificate":{"serial_number": 278969561018901340486471282831158785578,"x":1}}"#;
        assert_eq!(
            serial_number(raw).as_deref(),
            Some("278969561018901340486471282831158785578")
        );
        assert_eq!(
            serial_number(br#"{"serial_number":"0a1b"}"#).as_deref(),
            Some("0a1b")
        );
        assert_eq!(serial_number(br#"{"a":"serial_number","b":2}"#), None);
    }
}
