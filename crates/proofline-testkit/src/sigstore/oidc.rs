//! The stand-in's OIDC issuer: ES256 identity tokens as CI providers mint them for Sigstore
//! (`aud: sigstore`), and their validation as Fulcio does it before issuing a certificate.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use base64::Engine as _;
use serde_json::{Value, json};

use super::Rejection;
use super::keys::{ServiceKey, b64url};

/// Most bytes of a token the stand-in will parse.
const MAX_TOKEN: usize = 16 * 1024;

/// What Fulcio takes from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    /// The `iss` claim.
    pub issuer: String,
    /// What the proof of possession signs: the `email` claim if present, else `sub`.
    pub identity: String,
    /// The certificate's SAN: the identity, except for CI tokens, where Fulcio certifies the
    /// pipeline definition rather than the token's subject: GitHub Actions (`job_workflow_ref`)
    /// `https://github.com/<job_workflow_ref>`, GitLab CI (`ci_config_ref_uri`) `https://<it>`.
    pub san: String,
    /// Whether the identity came from `email` (SAN rfc822Name) or `sub` (SAN URI).
    pub is_email: bool,
}

/// Signs `claims` as an ES256 JWT with `key`.
pub(crate) fn mint(key: &ServiceKey, claims: &Value) -> Result<String, Rejection> {
    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": hex::encode(key.log_id()) });
    let header = serde_json::to_vec(&header).map_err(|e| Rejection::internal(e.to_string()))?;
    let claims = serde_json::to_vec(claims).map_err(|e| Rejection::internal(e.to_string()))?;
    let signing_input = format!("{}.{}", b64url(&header), b64url(&claims));
    let signature = key.sign(signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", b64url(&signature)))
}

/// Verifies `token` as Fulcio does: ES256 signature by the issuer's key, `iss` is the issuer,
/// `aud` contains `sigstore`, not expired, and an email identity is verified.
pub(crate) fn verify(
    key: &ServiceKey,
    issuer: &str,
    token: &str,
    now: u64,
) -> Result<Principal, Rejection> {
    let unauth = |why: String| {
        Rejection::unauthenticated(format!(
            "There was an error processing the identity token: {why}"
        ))
    };
    if token.len() > MAX_TOKEN {
        return Err(unauth(format!(
            "{} bytes, more than {MAX_TOKEN}",
            token.len()
        )));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauth("not three dot-separated JWS parts".into()));
    };
    let decode = |part: &str, what: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|e| unauth(format!("{what} is not base64url: {e}")))
    };
    let header_json: Value = serde_json::from_slice(&decode(header, "header")?)
        .map_err(|e| unauth(format!("header is not JSON: {e}")))?;
    if header_json.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(unauth(format!(
            "alg {} is not ES256",
            header_json.get("alg").unwrap_or(&Value::Null)
        )));
    }
    let signature = decode(signature, "signature")?;
    let signing_input = token
        .get(..header.len() + 1 + claims.len())
        .ok_or_else(|| unauth("truncated".into()))?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.spki())
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| unauth("signature does not verify with the issuer's key".into()))?;
    let claims: Value = serde_json::from_slice(&decode(claims, "claims")?)
        .map_err(|e| unauth(format!("claims are not JSON: {e}")))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(issuer) {
        return Err(unauth(format!(
            "issuer {:?} is not the configured issuer {issuer:?}",
            text("iss")
        )));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == "sigstore",
        Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some("sigstore")),
        _ => false,
    };
    if !audience_ok {
        return Err(unauth(format!(
            "audience {} does not include \"sigstore\"",
            claims.get("aud").unwrap_or(&Value::Null)
        )));
    }
    let exp = claims.get("exp").and_then(Value::as_u64);
    match exp {
        Some(exp) if exp > now => {}
        _ => {
            return Err(unauth(format!(
                "expired or no exp (exp {exp:?}, now {now})"
            )));
        }
    }
    if let Some(email) = text("email") {
        if claims.get("email_verified").and_then(Value::as_bool) != Some(true) {
            return Err(unauth(format!(
                "email {email:?} is not verified (email_verified is not true)"
            )));
        }
        return Ok(Principal {
            issuer: issuer.to_string(),
            identity: email.to_string(),
            san: email.to_string(),
            is_email: true,
        });
    }
    let sub = text("sub").filter(|s| !s.is_empty());
    let sub = sub.ok_or_else(|| unauth("no email and no sub claim".into()))?;
    // Fulcio's CI-provider templates: GitHub `https://github.com/{job_workflow_ref}`, GitLab
    // `https://{ci_config_ref_uri}`; other issuers certify `sub`.
    let san = match (text("job_workflow_ref"), text("ci_config_ref_uri")) {
        (Some(workflow), _) => format!("https://github.com/{workflow}"),
        (None, Some(config)) => format!("https://{config}"),
        (None, None) => sub.to_string(),
    };
    Ok(Principal {
        issuer: issuer.to_string(),
        identity: sub.to_string(),
        san,
        is_email: false,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const ISS: &str = "http://127.0.0.1:1/oidc";

    fn claims(aud: Value, exp: u64) -> Value {
        json!({ "iss": ISS, "sub": "a@example.com", "email": "a@example.com",
                "email_verified": true, "aud": aud, "exp": exp })
    }

    #[test]
    fn accepts_own_tokens_and_rejects_the_rest() {
        let key = ServiceKey::jose_signing().unwrap();
        let other = ServiceKey::jose_signing().unwrap();
        let good = mint(&key, &claims(json!("sigstore"), 2000)).unwrap();
        let p = verify(&key, ISS, &good, 1000).unwrap();
        assert_eq!((p.identity.as_str(), p.is_email), ("a@example.com", true));
        assert_eq!(p.san, "a@example.com");
        // A GitHub Actions token: the proof signs `sub`, the certificate names the workflow.
        let github = json!({ "iss": ISS, "sub": "repo:acme/app:ref:refs/heads/main",
            "job_workflow_ref": "acme/app/.github/workflows/release.yml@refs/heads/main",
            "aud": "sigstore", "exp": 2000 });
        let p = verify(&key, ISS, &mint(&key, &github).unwrap(), 1000).unwrap();
        assert_eq!(p.identity, "repo:acme/app:ref:refs/heads/main");
        assert_eq!(
            p.san,
            "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
        );
        let gitlab = json!({ "iss": ISS, "aud": "sigstore", "exp": 2000,
            "sub": "project_path:acme/app:ref_type:branch:ref:main",
            "ci_config_ref_uri": "gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main" });
        let p = verify(&key, ISS, &mint(&key, &gitlab).unwrap(), 1000).unwrap();
        assert_eq!(
            p.san,
            "https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main"
        );
        let list = mint(&key, &claims(json!(["x", "sigstore"]), 2000)).unwrap();
        assert!(verify(&key, ISS, &list, 1000).is_ok());

        let cases = [
            mint(&key, &claims(json!("other"), 2000)).unwrap(),
            mint(&key, &claims(json!("sigstore"), 999)).unwrap(),
            mint(&other, &claims(json!("sigstore"), 2000)).unwrap(),
            good.replace('.', ""),
            format!("{good}.x"),
            String::from(".."),
            "a".repeat(MAX_TOKEN + 1),
        ];
        for token in cases {
            let err = verify(&key, ISS, &token, 1000).unwrap_err();
            assert_eq!(err.status, 401, "{err}");
        }
        assert!(verify(&key, "http://elsewhere", &good, 1000).is_err());
    }
}
