//! Keys from elsewhere: real keys published by cosign and sigstore-rs, a signature made by cosign,
//! and keys made here by openssl (supported ones import, the others are refused by name).

use base64::Engine as _;

use super::*;

// ---- keys from other tools (made here by openssl) ----

#[test]
fn openssl_pkcs8_key_imports_and_matches_its_public_key() {
    let pem = openssl_key(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
    ]);
    let signer = import_cosign_key(&pem, b"ignored").unwrap();
    assert_eq!(signer.algorithm(), Algorithm::EcdsaP384);
    let dir = tempfile::tempdir().unwrap();
    let keyf = dir.path().join("k.pem");
    std::fs::write(&keyf, &pem).unwrap();
    let pub_pem = openssl_key(&["pkey", "-in", keyf.to_str().unwrap(), "-pubout"]);
    assert_eq!(String::from_utf8(pub_pem).unwrap(), signer.public_key_pem());
    assert_signature_checks(&signer, &signer.public_key_pem());
}

#[test]
fn unsupported_keys_are_refused_by_name() {
    let p521 = openssl_key(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-521",
    ]);
    let err = import_err(&p521);
    assert!(
        matches!(&err, KeyError::UnsupportedAlgorithm { algorithm, .. } if algorithm == "ECDSA P-521"),
        "{err:?}"
    );
    let ed448 = openssl_key(&["genpkey", "-algorithm", "ED448"]);
    let err = import_err(&ed448);
    assert!(
        matches!(&err, KeyError::UnsupportedAlgorithm { algorithm, .. } if algorithm == "Ed448"),
        "{err:?}"
    );
    let rsa2048 = openssl_key(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
    ]);
    let err = import_err(&rsa2048);
    assert!(
        matches!(err, KeyError::UnsupportedRsaSize { bits: 2048, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("RSA-2048"));

    // The same rules for public keys.
    let dir = tempfile::tempdir().unwrap();
    for (name, pem, check) in [
        ("p521", &p521, "ECDSA P-521"),
        ("rsa2048", &rsa2048, "RSA-2048"),
    ] {
        let keyf = dir.path().join(name);
        std::fs::write(&keyf, pem).unwrap();
        let pub_pem = openssl_key(&["pkey", "-in", keyf.to_str().unwrap(), "-pubout"]);
        let err = read_public_key_pem(&pub_pem).unwrap_err();
        assert!(err.to_string().contains(check), "{err}");
    }
}

#[test]
fn sec1_ec_key_gets_the_openssl_conversion() {
    let sec1 = openssl_key(&["ecparam", "-name", "prime256v1", "-genkey", "-noout"]);
    assert!(sec1.starts_with(b"-----BEGIN EC PRIVATE KEY-----"));
    let err = import_err(&sec1);
    assert!(matches!(err, KeyError::Sec1Key { .. }), "{err:?}");
    assert!(err.to_string().contains("openssl pkcs8 -topk8"), "{err}");
    // Converted as the message says, it imports.
    let dir = tempfile::tempdir().unwrap();
    let keyf = dir.path().join("ec.pem");
    std::fs::write(&keyf, &sec1).unwrap();
    let pkcs8 = openssl_key(&["pkcs8", "-topk8", "-nocrypt", "-in", keyf.to_str().unwrap()]);
    let signer = import_cosign_key(&pkcs8, b"").unwrap();
    assert_eq!(signer.algorithm(), Algorithm::EcdsaP256);
}

// ---- public keys and ids ----

#[test]
fn key_id_is_the_sha256_of_the_spki_der() {
    let signer = SoftwareSigner::generate(Algorithm::EcdsaP256).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let derf = dir.path().join("pub.der");
    std::fs::write(&derf, signer.public_key_der()).unwrap();
    let out = String::from_utf8(openssl_key(&[
        "dgst",
        "-sha256",
        "-r",
        derf.to_str().unwrap(),
    ]))
    .unwrap();
    let expected = out.split_whitespace().next().unwrap();
    let id = key_id(signer.public_key_der());
    assert_eq!(id, expected);
    assert_eq!(id.len(), 64);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
}

#[test]
fn read_public_key_refuses_what_is_not_one() {
    let signer = SoftwareSigner::generate(Algorithm::Ed25519).unwrap();
    let pem = String::from_utf8(
        signer
            .to_pkcs8_der()
            .map(|d| pem_block("PRIVATE KEY", &d))
            .unwrap()
            .into_bytes(),
    )
    .unwrap();
    let err = read_public_key_pem(pem.as_bytes()).unwrap_err();
    assert!(matches!(err, KeyError::NotAPublicKey { .. }), "{err:?}");
    let err = read_public_key_pem(b"garbage").unwrap_err();
    assert!(matches!(err, KeyError::NotAPublicKey { .. }), "{err:?}");
    let err = read_public_key_pem(pem_block("PUBLIC KEY", b"\x30\x03\x02\x01\x00").as_bytes())
        .unwrap_err();
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
    // A P-256 SPKI whose point is not on the curve.
    let mut der = SoftwareSigner::generate(Algorithm::EcdsaP256)
        .unwrap()
        .public_key_der()
        .to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let err = read_public_key_pem(pem_block("PUBLIC KEY", &der).as_bytes()).unwrap_err();
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
}

// ---- real keys made by cosign and sigstore-rs ----

#[test]
fn cosign_test_keys_import_sign_and_match_their_public_keys() {
    for name in ["pemsigstorekey", "pemcosignkey"] {
        let key = fixture(&format!("cosign/{name}.key"));
        let signer = import_cosign_key_file(&key, b"hello").unwrap();
        assert_eq!(signer.algorithm(), Algorithm::EcdsaP256, "{name}");
        let pub_pem = String::from_utf8(read_fixture(&format!("cosign/{name}.pub"))).unwrap();
        let public = read_public_key_pem(pub_pem.as_bytes()).unwrap();
        assert_eq!(public.der, signer.public_key_der(), "{name}");
        assert_signature_checks(&signer, &pub_pem);

        let err = import_cosign_key_file(&key, b"hellO").unwrap_err();
        assert!(matches!(err, KeyError::WrongPassword { .. }), "{err:?}");
    }
}

#[test]
fn cosign_sec1_test_key_is_refused_as_cosign_refuses_it() {
    let err = import_cosign_key_file(&fixture("cosign/pemcosigneckey.key"), b"hello").unwrap_err();
    assert!(matches!(err, KeyError::Sec1Key { .. }), "{err:?}");
    assert!(err.to_string().contains("pemcosigneckey.key"), "{err}");
}

#[test]
fn sigstore_rs_test_keys_import_and_sign() {
    for (file, password, algorithm) in [
        (
            "cosign_generated_encrypted_empty_private.key",
            &b""[..],
            Algorithm::EcdsaP256,
        ),
        ("ecdsa_encrypted_private.key", b"123", Algorithm::EcdsaP256),
        ("ed25519_encrypted_private.key", b"123", Algorithm::Ed25519),
        ("rsa_encrypted_private.key", b"123", Algorithm::Rsa4096),
        ("ecdsa_private.key", b"", Algorithm::EcdsaP256),
        ("ed25519_private.key", b"", Algorithm::Ed25519),
        ("rsa_private.key", b"", Algorithm::Rsa4096),
    ] {
        let path = fixture(&format!("sigstore-rs/{file}"));
        let signer =
            import_cosign_key_file(&path, password).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(signer.algorithm(), algorithm, "{file}");
        assert_signature_checks(&signer, &signer.public_key_pem());
    }
    // The encrypted and unencrypted sigstore-rs files hold different keys, but each encrypted
    // one also refuses a wrong password.
    let err = import_cosign_key_file(&fixture("sigstore-rs/rsa_encrypted_private.key"), b"124")
        .unwrap_err();
    assert!(matches!(err, KeyError::WrongPassword { .. }), "{err:?}");
}

#[test]
fn signature_made_by_cosign_verifies_with_its_public_key() {
    let public = read_public_key_pem(&read_fixture("cosign-dsse/cosign.pub")).unwrap();
    assert_eq!(public.algorithm, Algorithm::EcdsaP256);
    let envelope: serde_json::Value =
        serde_json::from_slice(&read_fixture("cosign-dsse/slsa-provenance.dsse.json")).unwrap();
    let payload_type = envelope["payloadType"].as_str().unwrap();
    let payload = B64.decode(envelope["payload"].as_str().unwrap()).unwrap();
    let sig = B64
        .decode(envelope["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    let signed = sigstore_sign::types::pae(payload_type, &payload);
    assert!(aws_lc_verifies(
        public.algorithm,
        &public.der,
        &signed,
        &sig
    ));
    let pub_pem = String::from_utf8(read_fixture("cosign-dsse/cosign.pub")).unwrap();
    assert!(openssl_verifies(public.algorithm, &pub_pem, &signed, &sig));

    let mut tampered = payload.clone();
    tampered[10] ^= 0x01;
    assert!(!aws_lc_verifies(
        public.algorithm,
        &public.der,
        &sigstore_sign::types::pae(payload_type, &tampered),
        &sig
    ));
    // Another key does not verify it.
    let other = SoftwareSigner::generate(Algorithm::EcdsaP256).unwrap();
    assert!(!aws_lc_verifies(
        Algorithm::EcdsaP256,
        other.public_key_der(),
        &signed,
        &sig
    ));
}
