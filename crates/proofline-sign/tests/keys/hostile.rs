//! Damaged and hostile `cosign.key` files: each is refused with an error that names what is
//! wrong, never a panic, and never after spending scrypt's cost on parameters cosign does not write.

use std::time::{Duration, Instant};

use base64::Engine as _;

use super::*;

/// A fresh encrypted key's PEM, and its JSON envelope to tamper with.
fn envelope() -> (String, serde_json::Value) {
    let signer = SoftwareSigner::generate(Algorithm::EcdsaP256).unwrap();
    let pem = encrypt_cosign_key(&signer, b"pw").unwrap().to_string();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let json = serde_json::from_slice(&B64.decode(body).unwrap()).unwrap();
    (pem, json)
}

fn rewrap(json: &serde_json::Value) -> String {
    pem_block(
        "ENCRYPTED SIGSTORE PRIVATE KEY",
        &serde_json::to_vec(json).unwrap(),
    )
}

#[test]
fn truncated_pem_is_malformed() {
    let (pem, _) = envelope();
    let cut = &pem.as_bytes()[..pem.len() / 2];
    let err = import_err(cut);
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("PEM"), "{err}");
    // Truncated inside the base64 but with the END line intact: the JSON is cut.
    let lines: Vec<&str> = pem.lines().collect();
    let short = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[lines.len() - 1]);
    let err = import_err(short.as_bytes());
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
}

#[test]
fn bad_base64_is_malformed() {
    let (pem, json) = envelope();
    let broken = pem.replacen('e', "*", 1).replacen("eyJ", "e*J", 1);
    let err = import_err(broken.as_bytes());
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");

    // Valid PEM, but a JSON field that is not base64.
    let mut j = json.clone();
    j["cipher"]["nonce"] = "not base64!".into();
    let err = import_err(rewrap(&j).as_bytes());
    assert!(err.to_string().contains("cipher.nonce"), "{err}");
    let mut j = json;
    j["ciphertext"] = "%%%".into();
    let err = import_err(rewrap(&j).as_bytes());
    assert!(err.to_string().contains("ciphertext"), "{err}");
}

#[test]
fn flipped_ciphertext_is_refused_by_the_cipher() {
    let (_, mut json) = envelope();
    let mut ct = B64.decode(json["ciphertext"].as_str().unwrap()).unwrap();
    ct[20] ^= 0x80;
    json["ciphertext"] = B64.encode(&ct).into();
    let err = import_err(rewrap(&json).as_bytes());
    assert!(matches!(err, KeyError::WrongPassword { .. }), "{err:?}");
    assert!(err.to_string().contains("altered"), "{err}");
}

#[test]
fn untouched_envelope_rewrapped_still_opens() {
    // Guards the tamper tests above: rewrap() itself does not break a good key.
    let (_, json) = envelope();
    import_cosign_key(rewrap(&json).as_bytes(), b"pw").unwrap();
}

#[test]
fn huge_scrypt_cost_is_refused_before_any_work() {
    for (n, r, p) in [
        (1u64 << 30, 8u64, 1u64),
        (1 << 17, 8, 1),
        (32768, 1 << 20, 1),
        (32768, 8, 16),
        (32769, 8, 1),
        (0, 8, 1),
        (u64::MAX, 8, 1),
    ] {
        let (_, mut json) = envelope();
        json["kdf"]["params"] = serde_json::json!({"N": n, "r": r, "p": p});
        let started = Instant::now();
        let err = import_err(rewrap(&json).as_bytes());
        // Refused from the JSON alone: N=2^30 would take minutes and a gigabyte.
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "N={n} took too long"
        );
        match &err {
            KeyError::ScryptCost {
                n: en,
                r: er,
                p: ep,
                ..
            } => assert_eq!((*en, *er, *ep), (n, r, p)),
            other => panic!("N={n} r={r} p={p}: {other:?}"),
        }
        assert!(err.to_string().contains(&format!("N={n}")), "{err}");
    }
}

#[test]
fn negative_or_fractional_scrypt_params_are_malformed() {
    let (_, mut json) = envelope();
    json["kdf"]["params"]["N"] = serde_json::json!(-1);
    assert!(matches!(
        import_err(rewrap(&json).as_bytes()),
        KeyError::Malformed { .. }
    ));
    json["kdf"]["params"]["N"] = serde_json::json!(32768.5);
    assert!(matches!(
        import_err(rewrap(&json).as_bytes()),
        KeyError::Malformed { .. }
    ));
}

#[test]
fn unknown_kdf_and_cipher_are_named() {
    let (_, json) = envelope();
    let mut j = json.clone();
    j["kdf"]["name"] = "argon2id".into();
    let err = import_err(rewrap(&j).as_bytes());
    assert!(
        matches!(&err, KeyError::UnsupportedEncryption { field: "kdf", name, .. } if name == "argon2id"),
        "{err:?}"
    );
    let mut j = json;
    j["cipher"]["name"] = "aes-gcm".into();
    let err = import_err(rewrap(&j).as_bytes());
    assert!(
        matches!(&err, KeyError::UnsupportedEncryption { field: "cipher", name, .. } if name == "aes-gcm"),
        "{err:?}"
    );
    assert!(err.to_string().contains("nacl/secretbox"));
}

#[test]
fn wrong_sizes_in_the_envelope_are_malformed_not_panics() {
    let (_, json) = envelope();
    for (path, value) in [
        (("cipher", "nonce"), B64.encode([0u8; 23])),
        (("cipher", "nonce"), B64.encode([0u8; 25])),
        (("cipher", "nonce"), String::new()),
        (("kdf", "salt"), String::new()),
        (("kdf", "salt"), B64.encode(vec![0u8; 4096])),
    ] {
        let mut j = json.clone();
        j[path.0][path.1] = value.into();
        let err = import_err(rewrap(&j).as_bytes());
        assert!(
            matches!(err, KeyError::Malformed { .. }),
            "{path:?}: {err:?}"
        );
    }
    for ct in [String::new(), B64.encode([0u8; 16])] {
        let mut j = json.clone();
        j["ciphertext"] = ct.into();
        let err = import_err(rewrap(&j).as_bytes());
        assert!(err.to_string().contains("too short"), "{err}");
    }
}

#[test]
fn body_that_is_not_cosign_json_is_malformed() {
    for body in [
        &b"not json"[..],
        b"{}",
        b"[1,2,3]",
        b"{\"kdf\":{\"name\":\"scrypt\"}}",
    ] {
        let pem = pem_block("ENCRYPTED SIGSTORE PRIVATE KEY", body);
        let err = import_err(pem.as_bytes());
        assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
    }
}

/// A cosign envelope around any plaintext, sealed here with the RustCrypto primitives directly.
fn seal(plaintext: &[u8], password: &[u8], log_n: u8) -> String {
    use crypto_secretbox::aead::{Aead, KeyInit};
    let salt = [7u8; 32];
    let nonce = [9u8; 24];
    let mut key = [0u8; 32];
    scrypt::scrypt(
        password,
        &salt,
        &scrypt::Params::new(log_n, 8, 1).unwrap(),
        &mut key,
    )
    .unwrap();
    let ct = crypto_secretbox::XSalsa20Poly1305::new_from_slice(&key)
        .unwrap()
        .encrypt(&crypto_secretbox::Nonce::from(nonce), plaintext)
        .unwrap();
    rewrap(&serde_json::json!({
        "kdf": {"name": "scrypt", "params": {"N": 1u64 << log_n, "r": 8, "p": 1}, "salt": B64.encode(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": B64.encode(nonce)},
        "ciphertext": B64.encode(ct),
    }))
}

#[test]
fn independently_sealed_key_opens() {
    let signer = SoftwareSigner::generate(Algorithm::EcdsaP384).unwrap();
    let pem = seal(&signer.to_pkcs8_der().unwrap(), b"pw", 10);
    let back = import_cosign_key(pem.as_bytes(), b"pw").unwrap();
    assert_eq!(back.public_key_der(), signer.public_key_der());
}

#[test]
fn decrypted_plaintext_that_is_not_a_key_is_malformed() {
    for junk in [
        &b"\x30\x00"[..],
        b"\x30\x82\xff\xff",
        &[0xffu8; 64][..],
        b"hello",
    ] {
        let err = import_err(seal(junk, b"pw", 10).as_bytes());
        assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
        let err = SoftwareSigner::from_pkcs8_der(junk).unwrap_err();
        assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
    }
}

#[test]
fn sealed_sec1_key_is_refused_like_cosigns_own_test_key() {
    let sec1 = openssl_key(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-outform",
        "DER",
    ]);
    let err = import_err(seal(&sec1, b"pw", 10).as_bytes());
    assert!(matches!(err, KeyError::Sec1Key { .. }), "{err:?}");
}

#[test]
fn not_a_private_key_says_what_it_is() {
    let signer = SoftwareSigner::generate(Algorithm::EcdsaP256).unwrap();
    let err = import_err(signer.public_key_pem().as_bytes());
    assert!(matches!(err, KeyError::NotAPrivateKey { .. }), "{err:?}");
    assert!(err.to_string().contains("cosign.key"), "{err}");

    let err = import_err(b"hello, I am not a key");
    assert!(err.to_string().contains("not PEM"), "{err}");
    let err = import_err(b"");
    assert!(matches!(err, KeyError::NotAPrivateKey { .. }), "{err:?}");
    let err = import_err(pem_block("CERTIFICATE", b"\x30\x00").as_bytes());
    assert!(err.to_string().contains("CERTIFICATE"), "{err}");
    let err = import_err(pem_block("ENCRYPTED PRIVATE KEY", b"\x30\x00").as_bytes());
    assert!(err.to_string().contains("openssl pkcs8"), "{err}");
    let huge = vec![b'A'; 2 * 1024 * 1024];
    let err = import_err(&huge);
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
}

#[test]
fn oversized_key_file_is_not_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.key");
    std::fs::write(&path, vec![b'-'; 1024 * 1024]).unwrap();
    let err = import_cosign_key_file(&path, b"").unwrap_err();
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
    let err = import_cosign_key_file(&dir.path().join("missing.key"), b"").unwrap_err();
    assert!(matches!(err, KeyError::Io { .. }), "{err:?}");
}
