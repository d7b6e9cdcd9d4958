//! Keys: every algorithm signs what AWS-LC and openssl verify; cosign's encrypted key format round
//! trips and refuses damaged or hostile files by name; real keys made by cosign import and sign.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, ED25519, RSA_PKCS1_2048_8192_SHA256,
    UnparsedPublicKey, VerificationAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use proofline_sign::keys::{
    COSIGN_KEY_FILE, COSIGN_PUB_FILE, KeyError, SoftwareSigner, encrypt_cosign_key,
    import_cosign_key, import_cosign_key_file, key_id, keygen, read_public_key_pem,
};
use proofline_sign::signer::{Algorithm, Signer};

const MESSAGE: &[u8] = br#"{"critical":{"identity":{"docker-reference":"registry.example/app"},"image":{"docker-manifest-digest":"sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b"},"type":"cosign container image signature"},"optional":null}"#;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sign/keys")
        .join(rel)
}

fn read_fixture(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

fn verification_alg(algorithm: Algorithm) -> &'static dyn VerificationAlgorithm {
    match algorithm {
        Algorithm::EcdsaP256 => &ECDSA_P256_SHA256_ASN1,
        Algorithm::EcdsaP384 => &ECDSA_P384_SHA384_ASN1,
        Algorithm::Rsa4096 => &RSA_PKCS1_2048_8192_SHA256,
        Algorithm::Ed25519 => &ED25519,
    }
}

fn aws_lc_verifies(algorithm: Algorithm, spki: &[u8], message: &[u8], sig: &[u8]) -> bool {
    UnparsedPublicKey::new(verification_alg(algorithm), spki)
        .verify(message, sig)
        .is_ok()
}

fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl must be installed for the interop tests (apt-get install openssl)")
}

/// Verifies with the openssl CLI, the way a user checks a cosign signature by hand.
fn openssl_verifies(algorithm: Algorithm, pub_pem: &str, message: &[u8], sig: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let (pubf, msgf, sigf) = (
        dir.path().join("cosign.pub"),
        dir.path().join("msg"),
        dir.path().join("sig"),
    );
    std::fs::write(&pubf, pub_pem).unwrap();
    std::fs::write(&msgf, message).unwrap();
    std::fs::write(&sigf, sig).unwrap();
    let (p, m, s) = (
        pubf.to_str().unwrap(),
        msgf.to_str().unwrap(),
        sigf.to_str().unwrap(),
    );
    let out = match algorithm {
        Algorithm::EcdsaP256 | Algorithm::Rsa4096 => {
            openssl(&["dgst", "-sha256", "-verify", p, "-signature", s, m])
        }
        Algorithm::EcdsaP384 => openssl(&["dgst", "-sha384", "-verify", p, "-signature", s, m]),
        Algorithm::Ed25519 => openssl(&[
            "pkeyutl", "-verify", "-pubin", "-inkey", p, "-rawin", "-in", m, "-sigfile", s,
        ]),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    // openssl prints "Verified OK" / "Signature Verified Successfully" and exits 0 only then.
    let ok = out.status.success() && stdout.contains("Verified");
    if !ok {
        assert!(
            stdout.contains("Failure") || stdout.contains("fail") || !out.status.success(),
            "unexpected openssl output: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    ok
}

/// Signature checks a valid signature passes and a flipped byte in message or signature fails,
/// with both AWS-LC and openssl.
fn assert_signature_checks(signer: &SoftwareSigner, pub_pem: &str) {
    let algorithm = signer.algorithm();
    let spki = read_public_key_pem(pub_pem.as_bytes()).unwrap();
    assert_eq!(spki.algorithm, algorithm);
    let sig = signer.sign(MESSAGE).unwrap();
    assert!(
        aws_lc_verifies(algorithm, &spki.der, MESSAGE, &sig),
        "{algorithm}"
    );
    assert!(
        openssl_verifies(algorithm, pub_pem, MESSAGE, &sig),
        "{algorithm}"
    );

    let mut bad_msg = MESSAGE.to_vec();
    bad_msg[40] ^= 0x01;
    assert!(!aws_lc_verifies(algorithm, &spki.der, &bad_msg, &sig));
    assert!(!openssl_verifies(algorithm, pub_pem, &bad_msg, &sig));
    let mut bad_sig = sig.clone();
    let mid = bad_sig.len() / 2;
    bad_sig[mid] ^= 0x01;
    assert!(!aws_lc_verifies(algorithm, &spki.der, MESSAGE, &bad_sig));
    assert!(!openssl_verifies(algorithm, pub_pem, MESSAGE, &bad_sig));
}

#[test]
fn every_algorithm_signs_what_aws_lc_and_openssl_verify() {
    for algorithm in Algorithm::ALL {
        let signer = SoftwareSigner::generate(algorithm).unwrap();
        assert_eq!(signer.algorithm(), algorithm);
        assert_signature_checks(&signer, &signer.public_key_pem());
        if algorithm == Algorithm::Rsa4096 {
            assert_eq!(signer.sign(b"x").unwrap().len(), 512);
        }
    }
}

#[test]
fn pkcs8_export_reimports_as_the_same_key() {
    for algorithm in Algorithm::ALL {
        let signer = SoftwareSigner::generate(algorithm).unwrap();
        let again = SoftwareSigner::from_pkcs8_der(&signer.to_pkcs8_der().unwrap()).unwrap();
        assert_eq!(again.algorithm(), algorithm);
        assert_eq!(again.public_key_der(), signer.public_key_der());
        // openssl reads our PKCS#8 and derives the same public key.
        let dir = tempfile::tempdir().unwrap();
        let der_path = dir.path().join("key.der");
        std::fs::write(&der_path, signer.to_pkcs8_der().unwrap().as_slice()).unwrap();
        let out = openssl(&[
            "pkey",
            "-inform",
            "DER",
            "-in",
            der_path.to_str().unwrap(),
            "-pubout",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            signer.public_key_pem()
        );
    }
}

#[test]
fn keygen_then_import_round_trips_for_every_algorithm() {
    for algorithm in Algorithm::ALL {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("keys/new"); // created by keygen
        let generated = keygen(&out, algorithm, b"correct horse").unwrap();
        assert_eq!(generated.private_key_path, out.join(COSIGN_KEY_FILE));
        assert_eq!(generated.public_key_path, out.join(COSIGN_PUB_FILE));
        assert_eq!(generated.algorithm, algorithm);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&generated.private_key_path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "cosign.key must be private");
        }
        let key_pem = std::fs::read_to_string(&generated.private_key_path).unwrap();
        assert!(key_pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        // Only the two files, no temporary left behind.
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);

        let signer = import_cosign_key_file(&generated.private_key_path, b"correct horse").unwrap();
        assert_eq!(signer.algorithm(), algorithm);
        let pub_pem = std::fs::read_to_string(&generated.public_key_path).unwrap();
        assert_eq!(pub_pem, signer.public_key_pem());
        assert_eq!(generated.key_id, key_id(signer.public_key_der()));
        assert_signature_checks(&signer, &pub_pem);
    }
}

#[test]
fn encrypted_key_has_cosigns_envelope() {
    let signer = SoftwareSigner::generate(Algorithm::EcdsaP256).unwrap();
    let pem = encrypt_cosign_key(&signer, b"pw").unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let json: serde_json::Value = serde_json::from_slice(&B64.decode(body).unwrap()).unwrap();
    assert_eq!(json["kdf"]["name"], "scrypt");
    assert_eq!(json["kdf"]["params"]["N"], 32768);
    assert_eq!(json["kdf"]["params"]["r"], 8);
    assert_eq!(json["kdf"]["params"]["p"], 1);
    assert_eq!(
        B64.decode(json["kdf"]["salt"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    assert_eq!(json["cipher"]["name"], "nacl/secretbox");
    assert_eq!(
        B64.decode(json["cipher"]["nonce"].as_str().unwrap())
            .unwrap()
            .len(),
        24
    );
    // secretbox = 16-byte tag + the PKCS#8 DER.
    let ct = B64.decode(json["ciphertext"].as_str().unwrap()).unwrap();
    assert_eq!(ct.len(), 16 + signer.to_pkcs8_der().unwrap().len());
    // Fresh salt and nonce every time.
    let again = encrypt_cosign_key(&signer, b"pw").unwrap();
    assert_ne!(*pem, *again);
}

#[test]
fn empty_password_works_like_cosigns() {
    let signer = SoftwareSigner::generate(Algorithm::Ed25519).unwrap();
    let pem = encrypt_cosign_key(&signer, b"").unwrap();
    let back = import_cosign_key(pem.as_bytes(), b"").unwrap();
    assert_eq!(back.public_key_der(), signer.public_key_der());
    assert!(matches!(
        import_cosign_key(pem.as_bytes(), b"x"),
        Err(KeyError::WrongPassword { .. })
    ));
}

#[test]
fn wrong_password_names_the_file_and_the_variables() {
    let dir = tempfile::tempdir().unwrap();
    let generated = keygen(dir.path(), Algorithm::EcdsaP256, b"right").unwrap();
    let err = import_cosign_key_file(&generated.private_key_path, b"wrong").unwrap_err();
    assert!(matches!(err, KeyError::WrongPassword { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&generated.private_key_path.display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("PROOFLINE_SIGN_PASSWORD") && msg.contains("COSIGN_PASSWORD"));
}

// ---- damaged and hostile key files ----

/// A fresh encrypted key's PEM, and its JSON envelope to tamper with.
fn envelope() -> (String, serde_json::Value) {
    let signer = SoftwareSigner::generate(Algorithm::EcdsaP256).unwrap();
    let pem = encrypt_cosign_key(&signer, b"pw").unwrap().to_string();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let json = serde_json::from_slice(&B64.decode(body).unwrap()).unwrap();
    (pem, json)
}

fn rewrap(json: &serde_json::Value) -> String {
    let body = B64.encode(serde_json::to_vec(json).unwrap());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn import_err(pem: &[u8]) -> KeyError {
    import_cosign_key(pem, b"pw").unwrap_err()
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

fn pem_block(label: &str, der: &[u8]) -> String {
    let body = B64.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
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

// ---- keys from other tools (made here by openssl) ----

fn openssl_key(args: &[&str]) -> Vec<u8> {
    let out = openssl(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

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

// ---- keygen on disk ----

#[test]
fn keygen_never_overwrites_and_leaves_nothing_when_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(COSIGN_PUB_FILE), "old").unwrap();
    let err = keygen(dir.path(), Algorithm::EcdsaP256, b"pw").unwrap_err();
    assert!(matches!(err, KeyError::Exists { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("cosign.pub exists: remove it or choose another --out"),
        "{msg}"
    );
    assert!(!dir.path().join(COSIGN_KEY_FILE).exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(COSIGN_PUB_FILE)).unwrap(),
        "old"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(COSIGN_KEY_FILE), "old key").unwrap();
    let err = keygen(dir.path(), Algorithm::Ed25519, b"pw").unwrap_err();
    assert!(err.to_string().contains("cosign.key exists"), "{err}");
    assert!(!dir.path().join(COSIGN_PUB_FILE).exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // A second keygen into the same directory is refused, the first pair is intact.
    let dir = tempfile::tempdir().unwrap();
    let first = keygen(dir.path(), Algorithm::EcdsaP256, b"pw").unwrap();
    let before = std::fs::read(&first.private_key_path).unwrap();
    assert!(keygen(dir.path(), Algorithm::EcdsaP256, b"pw").is_err());
    assert_eq!(std::fs::read(&first.private_key_path).unwrap(), before);
}

#[cfg(unix)]
#[test]
fn keygen_into_an_unwritable_place_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    // out_dir under a regular file cannot be created.
    let err = keygen(&file.join("sub"), Algorithm::EcdsaP256, b"pw").unwrap_err();
    assert!(matches!(err, KeyError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("a-file"), "{err}");
}

#[test]
fn debug_never_shows_the_secret() {
    for algorithm in Algorithm::ALL {
        let signer = SoftwareSigner::generate(algorithm).unwrap();
        let debug = format!("{signer:?}");
        assert_eq!(
            debug,
            format!("SoftwareSigner {{ algorithm: {algorithm:?}, .. }}")
        );
        let pkcs8 = signer.to_pkcs8_der().unwrap();
        assert!(!debug.contains(&hex::encode(&pkcs8[pkcs8.len() - 8..])));
        // Errors never carry key bytes either: they are built from names and sizes.
        let err = import_cosign_key(
            pem_block("PRIVATE KEY", &pkcs8[..pkcs8.len() - 1]).as_bytes(),
            b"",
        )
        .unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(&hex::encode(&pkcs8[pkcs8.len() - 9..pkcs8.len() - 1])));
        assert!(!shown.contains(&B64.encode(&pkcs8[pkcs8.len() - 13..pkcs8.len() - 1])));
    }
}

#[test]
fn module_is_aws_lc_as_it_reports_itself() {
    let signer = SoftwareSigner::generate(Algorithm::EcdsaP256).unwrap();
    let module = signer.module();
    assert!(module.name.starts_with("AWS-LC"), "{module:?}");
    assert!(module.interface.starts_with("aws-lc-rs 1."), "{module:?}");
    assert_eq!(module.fips_mode, aws_lc_rs::try_fips_mode().is_ok());
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

/// DSSE pre-authentication encoding (the bytes a DSSE signature covers).
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
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
    let signed = pae(payload_type, &payload);
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
        &pae(payload_type, &tampered),
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
