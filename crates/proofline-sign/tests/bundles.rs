//! Every bundle the sign stage makes is verified before it is used: a keyed signer (a KMS or an
//! HSM behind the `Signer` trait) whose signature does not verify with its own public key is
//! refused, for in-toto statements and simple-signing messages alike, for every algorithm.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proofline_sign::bundles::{BundleError, BundleSigner};
use proofline_sign::keys::SoftwareSigner;
use proofline_sign::signer::{Algorithm, ModuleInfo, SignError, Signer};

const SUBJECT: &str = "41e2e10ace0263c87c422fdec942557d4ad10ec4474f294eb35cbed33c3bc0f0";
const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::EcdsaP256,
    Algorithm::EcdsaP384,
    Algorithm::Rsa4096,
    Algorithm::Ed25519,
];

fn statement(sha256: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": "registry.example/app", "digest": { "sha256": sha256 } }],
        "predicateType": "https://proofline.dev/attestation/evidence-file/v1",
        "predicate": { "path": "sbom/record.json" },
    }))
    .unwrap()
}

/// A signer whose signatures come out damaged (a faulty HSM, a KMS answering for another key).
struct Faulty {
    inner: SoftwareSigner,
    /// Signs with this key instead, while claiming `inner`'s public key.
    other: Option<SoftwareSigner>,
}

impl Signer for Faulty {
    fn algorithm(&self) -> Algorithm {
        self.inner.algorithm()
    }
    fn public_key_der(&self) -> &[u8] {
        self.inner.public_key_der()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.other {
            Some(other) => other.sign(message),
            None => {
                let mut sig = self.inner.sign(message)?;
                let last = sig.len() - 1;
                sig[last] ^= 1;
                Ok(sig)
            }
        }
    }
    fn module(&self) -> ModuleInfo {
        self.inner.module()
    }
}

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn a_good_key_signs_and_a_faulty_one_is_refused_for_every_algorithm() {
    let message = br#"{"critical":{"type":"cosign container image signature"},"optional":null}"#;
    for algorithm in ALGORITHMS {
        let good =
            BundleSigner::keyed(Box::new(SoftwareSigner::generate(algorithm).unwrap())).unwrap();
        block_on(good.sign_statement(&statement(SUBJECT), SUBJECT))
            .unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        block_on(good.sign_message(message)).unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        // A statement about another digest than the one asked for is not what was wanted.
        let other_subject = "0".repeat(64);
        assert!(
            block_on(good.sign_statement(&statement(&other_subject), SUBJECT)).is_err(),
            "{algorithm}: a statement about another subject was accepted"
        );

        for other in [None, Some(SoftwareSigner::generate(algorithm).unwrap())] {
            let faulty = BundleSigner::keyed(Box::new(Faulty {
                inner: SoftwareSigner::generate(algorithm).unwrap(),
                other,
            }))
            .unwrap();
            for result in [
                block_on(faulty.sign_statement(&statement(SUBJECT), SUBJECT)),
                block_on(faulty.sign_message(message)),
            ] {
                match result {
                    Err(e @ BundleError::Unverified { .. }) => {
                        let text = e.to_string();
                        assert!(
                            text.contains(algorithm.as_str()) && text.contains("KMS/HSM"),
                            "{text}"
                        );
                    }
                    other => panic!("{algorithm}: a faulty signature was accepted: {other:?}"),
                }
            }
        }
    }
}
