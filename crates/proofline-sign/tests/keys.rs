//! Keys: every algorithm signs what AWS-LC and openssl verify; cosign's encrypted key format round
//! trips and refuses damaged or hostile files by name; real keys made by cosign import and sign.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

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

fn openssl_key(args: &[&str]) -> Vec<u8> {
    let out = openssl(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Imports `pem` with the password "pw", expecting an error.
fn import_err(pem: &[u8]) -> KeyError {
    import_cosign_key(pem, b"pw").unwrap_err()
}

#[path = "keys/foreign.rs"]
mod foreign;
#[path = "keys/hostile.rs"]
mod hostile;

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
