//! The stand-in's Fulcio: a root and an intermediate CA (ECDSA P-384, like public-good Fulcio),
//! `POST /api/v2/signingCert` with the token and proof-of-possession checks Fulcio makes, and
//! leaf certificates with the Fulcio profile and an embedded SCT from the stand-in's CT log key.

use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, UnparsedPublicKey};
use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    PKCS_ECDSA_P384_SHA384, PublicKeyData as _, SanType, SerialNumber, SigningKey as _,
};
use serde_json::{Value, json};
use x509_cert::Certificate;
use x509_cert::der::asn1::{BitString, ObjectIdentifier, OctetString, Utf8StringRef};
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::Extension;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use super::Rejection;
use super::keys::{ServiceKey, pem, pem_decode, sha256};
use super::oidc::{self, Principal};

/// RFC 6962 embedded SCT list extension.
const SCT_LIST_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
const EC_PUBLIC_KEY_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// Fulcio's OIDC issuer extension (deprecated form: the raw string as the extension value).
const ISSUER_V1_OID: [u64; 9] = [1, 3, 6, 1, 4, 1, 57264, 1, 1];
/// Fulcio's OIDC issuer extension (DER UTF8String).
const ISSUER_V2_OID: [u64; 9] = [1, 3, 6, 1, 4, 1, 57264, 1, 8];
/// How long a leaf certificate is valid, as Fulcio issues them.
pub(crate) const LEAF_VALIDITY_SECS: u64 = 600;
/// How long the CA certificates are valid.
const CA_VALIDITY_SECS: u64 = 10 * 365 * 24 * 3600;
/// Most bytes of a request body any endpoint reads.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// The certificate authority: root and intermediate, both ECDSA P-384.
pub(crate) struct Ca {
    pub root_der: Vec<u8>,
    pub intermediate_der: Vec<u8>,
    intermediate_spki: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
    /// When the CA became valid (seconds since the epoch).
    pub not_before: u64,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("not_before", &self.not_before)
            .finish_non_exhaustive()
    }
}

/// Sets a certificate's validity window (seconds since the epoch).
fn validity(params: &mut CertificateParams, from: u64, secs: u64) {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + std::time::Duration::from_secs(from);
    params.not_after = epoch + std::time::Duration::from_secs(from.saturating_add(secs));
}

fn random_serial() -> Result<SerialNumber, Rejection> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Rejection::internal("no randomness for a serial number"))?;
    // Positive and 16 bytes long, whatever the random bits.
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

fn rcgen_err(what: &str) -> impl Fn(rcgen::Error) -> Rejection + '_ {
    move |e| Rejection::internal(format!("{what}: {e}"))
}

impl Ca {
    /// A fresh root and intermediate, valid from `now - 1 day`.
    pub(crate) fn generate(now: u64) -> Result<Self, Rejection> {
        let not_before = now.saturating_sub(24 * 3600);
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)
            .map_err(rcgen_err("generating the root key"))?;
        let mut root = CertificateParams::default();
        root.distinguished_name = name("proofline-standin-root");
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        root.serial_number = Some(random_serial()?);
        validity(&mut root, not_before, CA_VALIDITY_SECS);
        let root_cert = root
            .self_signed(&root_key)
            .map_err(rcgen_err("self-signing the root"))?;
        let root_issuer = Issuer::new(root, root_key);

        let intermediate_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)
            .map_err(rcgen_err("generating the intermediate key"))?;
        let mut inter = CertificateParams::default();
        inter.distinguished_name = name("proofline-standin-intermediate");
        inter.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        inter.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        inter.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        inter.use_authority_key_identifier_extension = true;
        inter.serial_number = Some(random_serial()?);
        validity(&mut inter, not_before, CA_VALIDITY_SECS);
        let inter_cert = inter
            .signed_by(&intermediate_key, &root_issuer)
            .map_err(rcgen_err("signing the intermediate"))?;
        let intermediate_spki = intermediate_key.subject_public_key_info();
        Ok(Self {
            root_der: root_cert.der().to_vec(),
            intermediate_der: inter_cert.der().to_vec(),
            intermediate_spki,
            issuer: Issuer::new(inter, intermediate_key),
            not_before,
        })
    }

    /// A Fulcio leaf for `spki`: SAN = the principal's identity, digitalSignature, codeSigning,
    /// both issuer extensions, and an SCT embedded as RFC 6962 section 3.3 describes.
    pub(crate) fn issue_leaf(
        &self,
        principal: &Principal,
        spki: &[u8],
        now: u64,
        ct_key: &ServiceKey,
    ) -> Result<Vec<u8>, Rejection> {
        let public_key = SubmittedKey::parse(spki)?;
        let mut leaf = CertificateParams::default();
        // Fulcio leaves have an empty subject; rcgen then marks the SAN critical, as Fulcio does.
        leaf.distinguished_name = DistinguishedName::new();
        let san = principal.san.clone().try_into().map_err(|_| {
            Rejection::bad_request(format!("identity {:?} is not an IA5 string", principal.san))
        })?;
        leaf.subject_alt_names = vec![if principal.is_email {
            SanType::Rfc822Name(san)
        } else {
            SanType::URI(san)
        }];
        leaf.is_ca = IsCa::NoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        leaf.use_authority_key_identifier_extension = true;
        leaf.serial_number = Some(random_serial()?);
        validity(&mut leaf, now, LEAF_VALIDITY_SECS);
        let issuer_v2 = Utf8StringRef::new(&principal.issuer)
            .and_then(|s| s.to_der())
            .map_err(|e| Rejection::internal(format!("encoding the issuer extension: {e}")))?;
        leaf.custom_extensions = vec![
            CustomExtension::from_oid_content(&ISSUER_V1_OID, principal.issuer.as_bytes().to_vec()),
            CustomExtension::from_oid_content(&ISSUER_V2_OID, issuer_v2),
        ];
        let precert = leaf
            .signed_by(&public_key, &self.issuer)
            .map_err(rcgen_err("signing the leaf"))?;
        self.embed_sct(precert.der(), now, ct_key)
    }

    /// Adds the SCT extension to the TBS of `precert` (which has none) and re-signs it with the
    /// intermediate. The SCT signs the precertificate entry: the issuer key hash and the TBS
    /// without the SCT extension, exactly what verifiers reconstruct.
    fn embed_sct(
        &self,
        precert: &[u8],
        now: u64,
        ct_key: &ServiceKey,
    ) -> Result<Vec<u8>, Rejection> {
        let der_err = |what: &'static str| {
            move |e: x509_cert::der::Error| Rejection::internal(format!("{what}: {e}"))
        };
        let cert = Certificate::from_der(precert).map_err(der_err("parsing the leaf"))?;
        let mut tbs = cert.tbs_certificate;
        let tbs_der = tbs.to_der().map_err(der_err("encoding the TBS"))?;
        let timestamp_ms = now.saturating_mul(1000);
        let signed = sct_signed_data(timestamp_ms, &sha256(&self.intermediate_spki), &tbs_der)?;
        let signature = ct_key.sign(&signed)?;
        let sct = sct_bytes(&ct_key.log_id(), timestamp_ms, &signature)?;
        let list = tls_vec16(&tls_vec16(&sct)?)?;
        let value = OctetString::new(list)
            .and_then(|o| o.to_der())
            .and_then(OctetString::new)
            .map_err(der_err("encoding the SCT list"))?;
        tbs.extensions.get_or_insert_with(Vec::new).push(Extension {
            extn_id: SCT_LIST_OID,
            critical: false,
            extn_value: value,
        });
        let tbs_der = tbs.to_der().map_err(der_err("encoding the final TBS"))?;
        let signature = self
            .issuer
            .key()
            .sign(&tbs_der)
            .map_err(rcgen_err("signing the final leaf"))?;
        let final_cert = Certificate {
            tbs_certificate: tbs,
            signature_algorithm: cert.signature_algorithm,
            signature: BitString::from_bytes(&signature).map_err(der_err("the signature bits"))?,
        };
        final_cert.to_der().map_err(der_err("encoding the leaf"))
    }
}

/// The key a client submitted, as rcgen needs it: the EC point and the matching algorithm.
#[derive(Debug)]
struct SubmittedKey {
    alg: &'static rcgen::SignatureAlgorithm,
    point: Vec<u8>,
}

impl SubmittedKey {
    /// Accepts ECDSA P-256 and P-384 SubjectPublicKeyInfo, the keys Sigstore clients generate.
    fn parse(spki: &[u8]) -> Result<Self, Rejection> {
        let bad = |why: String| Rejection::bad_request(format!("unsupported public key: {why}"));
        let info = SubjectPublicKeyInfoOwned::from_der(spki)
            .map_err(|e| bad(format!("not SPKI DER: {e}")))?;
        if info.algorithm.oid != EC_PUBLIC_KEY_OID {
            return Err(bad(format!(
                "algorithm {} is not id-ecPublicKey",
                info.algorithm.oid
            )));
        }
        let curve = info
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or_else(|| bad("no named curve".into()))?;
        let alg = if curve == P256_OID {
            &PKCS_ECDSA_P256_SHA256
        } else if curve == P384_OID {
            &PKCS_ECDSA_P384_SHA384
        } else {
            return Err(bad(format!("curve {curve} is neither P-256 nor P-384")));
        };
        let point = info
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| bad("the key bits are not whole bytes".into()))?
            .to_vec();
        Ok(Self { alg, point })
    }
}

impl rcgen::PublicKeyData for SubmittedKey {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.alg
    }
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "proofline.test");
    dn.push(DnType::CommonName, common_name);
    dn
}

/// A TLS `opaque<0..2^16-1>`: two length bytes, then the data.
fn tls_vec16(data: &[u8]) -> Result<Vec<u8>, Rejection> {
    let len = u16::try_from(data.len()).map_err(|_| {
        Rejection::internal(format!("{} bytes do not fit a TLS vector", data.len()))
    })?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(data);
    Ok(out)
}

/// RFC 6962 section 3.2 `digitally-signed` input for a precertificate entry (v1, no extensions).
fn sct_signed_data(
    timestamp_ms: u64,
    issuer_key_hash: &[u8; 32],
    tbs: &[u8],
) -> Result<Vec<u8>, Rejection> {
    let len = u32::try_from(tbs.len())
        .ok()
        .filter(|l| *l < (1 << 24))
        .ok_or_else(|| Rejection::internal("TBS longer than 2^24 bytes"))?;
    let mut out = vec![0u8, 0u8]; // version v1, signature_type certificate_timestamp
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // entry_type precert_entry
    out.extend_from_slice(issuer_key_hash);
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(tbs);
    out.extend_from_slice(&0u16.to_be_bytes()); // no CT extensions
    Ok(out)
}

/// A serialized `SignedCertificateTimestamp` signed with ECDSA-SHA256.
fn sct_bytes(log_id: &[u8; 32], timestamp_ms: u64, signature: &[u8]) -> Result<Vec<u8>, Rejection> {
    let mut out = vec![0u8]; // v1
    out.extend_from_slice(log_id);
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes()); // no extensions
    out.extend_from_slice(&[4, 3]); // SHA-256, ECDSA
    out.extend_from_slice(&tls_vec16(signature)?);
    Ok(out)
}

/// The parts of a `signingCert` request Fulcio reads.
struct SigningCertRequest {
    spki: Vec<u8>,
    proof_of_possession: Vec<u8>,
}

/// The request's fields as sent; the key and the proof are decoded only after the token is
/// authenticated, in Fulcio's order (a bad token is a 401 whatever else is wrong).
struct RawRequest {
    token: String,
    key_pem: String,
    proof_of_possession: String,
}

fn parse_request(body: &[u8]) -> Result<RawRequest, Rejection> {
    let bad = |why: String| Rejection::bad_request(format!("malformed signingCert request: {why}"));
    let json: Value = serde_json::from_slice(body).map_err(|e| bad(format!("not JSON: {e}")))?;
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(&json, |v, k| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(format!("missing string {}", path.join("."))))
    };
    Ok(RawRequest {
        token: field(&["credentials", "oidcIdentityToken"])?,
        key_pem: field(&["publicKeyRequest", "publicKey", "content"])?,
        proof_of_possession: field(&["publicKeyRequest", "proofOfPossession"])?,
    })
}

impl RawRequest {
    fn decode(self) -> Result<SigningCertRequest, Rejection> {
        let bad = |why: String| {
            Rejection::bad_request(format!(
                "The public key supplied in the request could not be parsed: {why}"
            ))
        };
        let (label, spki) = pem_decode(&self.key_pem).map_err(|e| bad(e.message))?;
        if label != "PUBLIC KEY" {
            return Err(bad(format!(
                "publicKey.content is a {label:?} PEM block, not PUBLIC KEY"
            )));
        }
        let proof_of_possession = base64::engine::general_purpose::STANDARD
            .decode(&self.proof_of_possession)
            .map_err(|e| Rejection::bad_request(format!("proofOfPossession is not base64: {e}")))?;
        Ok(SigningCertRequest {
            spki,
            proof_of_possession,
        })
    }
}

/// Verifies the proof of possession as Fulcio does: a signature by the submitted key over the
/// identity (the `email` claim or `sub`), SHA-256 for P-256 and SHA-384 for P-384 keys.
fn check_proof(request: &SigningCertRequest, principal: &Principal) -> Result<(), Rejection> {
    let sig = &request.proof_of_possession;
    let message = principal.identity.as_bytes();
    let p256 = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &request.spki).verify(message, sig);
    let p384 =
        || UnparsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, &request.spki).verify(message, sig);
    if p256.is_ok() || p384().is_ok() {
        return Ok(());
    }
    Err(Rejection::bad_request(format!(
        "The signature supplied in the request could not be verified: proof of possession over \
         {:?} does not verify with the submitted ECDSA P-256/P-384 key",
        principal.identity
    )))
}

/// Handles `POST /api/v2/signingCert`: the response body (201) or the rejection.
pub(crate) fn signing_cert(
    body: &[u8],
    ca: &Ca,
    oidc_key: &ServiceKey,
    oidc_issuer: &str,
    ct_key: &ServiceKey,
    now: u64,
) -> Result<Value, Rejection> {
    let raw = parse_request(body)?;
    let principal = oidc::verify(oidc_key, oidc_issuer, &raw.token, now)?;
    if !principal.is_email && !principal.san.contains("://") {
        return Err(Rejection::unauthenticated(format!(
            "There was an error processing the identity token: subject {:?} is neither an email \
             nor a URI",
            principal.san
        )));
    }
    let request = raw.decode()?;
    check_proof(&request, &principal)?;
    let leaf = ca.issue_leaf(&principal, &request.spki, now, ct_key)?;
    let chain = [
        pem("CERTIFICATE", &leaf),
        pem("CERTIFICATE", &ca.intermediate_der),
        pem("CERTIFICATE", &ca.root_der),
    ];
    Ok(json!({ "signedCertificateEmbeddedSct": { "chain": { "certificates": chain } } }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const ISS: &str = "http://127.0.0.1:1/oidc";

    fn request(token: &str, key_pem: &str, pop: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "credentials": { "oidcIdentityToken": token },
            "publicKeyRequest": { "publicKey": { "algorithm": "", "content": key_pem }, "proofOfPossession": pop }
        }))
        .unwrap()
    }

    #[test]
    fn hostile_requests_are_refused_with_fulcio_statuses() {
        let now = 1_700_000_000;
        let ca = Ca::generate(now).unwrap();
        let oidc_key = ServiceKey::jose_signing().unwrap();
        let ct_key = ServiceKey::der_signing().unwrap();
        let client = ServiceKey::der_signing().unwrap();
        let claims = |extra: Value| {
            let mut c = json!({ "iss": ISS, "aud": "sigstore", "exp": now + 600, "sub": "https://ci.test/wf" });
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            oidc::mint(&oidc_key, &c).unwrap()
        };
        let key_pem = pem("PUBLIC KEY", client.spki());
        let pop = |text: &str| super::super::keys::b64(&client.sign(text.as_bytes()).unwrap());
        let run = |body: &[u8]| signing_cert(body, &ca, &oidc_key, ISS, &ct_key, now);

        // The good case: a URI identity gets a three-certificate chain.
        let token = claims(json!({}));
        let ok = run(&request(&token, &key_pem, &pop("https://ci.test/wf"))).unwrap();
        let chain = &ok["signedCertificateEmbeddedSct"]["chain"]["certificates"];
        assert_eq!(chain.as_array().unwrap().len(), 3);

        let unverified = claims(json!({ "email": "a@b.test", "email_verified": false }));
        let not_uri = claims(json!({ "sub": "plain-subject" }));
        let rsa_pem =
            "-----BEGIN PUBLIC KEY-----\nMA0GCSqGSIb3DQEBAQUAAwEA\n-----END PUBLIC KEY-----\n";
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (b"{".to_vec(), 400),
            (b"[]".to_vec(), 400),
            (request(&token, "not pem", &pop("https://ci.test/wf")), 400),
            (
                request(
                    &token,
                    &pem("CERTIFICATE", &ca.root_der),
                    &pop("https://ci.test/wf"),
                ),
                400,
            ),
            (request(&token, rsa_pem, &pop("https://ci.test/wf")), 400),
            (request(&token, &key_pem, "%%%"), 400),
            (
                request(&token, &key_pem, &pop("https://ci.test/other")),
                400,
            ),
            (request(&unverified, &key_pem, &pop("a@b.test")), 401),
            (request(&not_uri, &key_pem, &pop("plain-subject")), 401),
            (request("a.b.c", &key_pem, &pop("https://ci.test/wf")), 401),
            (request("a.b.c", "not pem", "%%%"), 401),
        ];
        for (body, status) in cases {
            let err = run(&body).unwrap_err();
            assert_eq!(err.status, status, "{err}");
        }
    }

    #[test]
    fn submitted_keys_must_be_p256_or_p384() {
        let p256 = ServiceKey::der_signing().unwrap();
        assert!(SubmittedKey::parse(p256.spki()).is_ok());
        let p384 = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
        let parsed = SubmittedKey::parse(&p384.subject_public_key_info()).unwrap();
        assert!(std::ptr::eq(parsed.alg, &PKCS_ECDSA_P384_SHA384));
        for bad in [&b""[..], b"\x30\x00", &p256.spki()[..20]] {
            assert_eq!(SubmittedKey::parse(bad).unwrap_err().status, 400);
        }
    }

    #[test]
    fn sct_inputs_have_the_rfc_6962_layout() {
        let signed = sct_signed_data(0x0102, &[7; 32], b"tbs").unwrap();
        let mut expected = vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 1];
        expected.extend_from_slice(&[7; 32]);
        expected.extend_from_slice(&[0, 0, 3]);
        expected.extend_from_slice(b"tbs");
        expected.extend_from_slice(&[0, 0]);
        assert_eq!(signed, expected);
        let sct = sct_bytes(&[9; 32], 5, b"sig").unwrap();
        assert_eq!(sct.len(), 1 + 32 + 8 + 2 + 2 + 2 + 3);
        assert_eq!(&sct[sct.len() - 7..], &[4, 3, 0, 3, b's', b'i', b'g']);
        assert!(tls_vec16(&vec![0; 70_000]).is_err());
    }
}
