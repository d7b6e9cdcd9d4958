//! Artifact 11, `sign/crypto-module.json`: which cryptographic module made each signature and
//! its FIPS 140-3 status, stated from what the running binary reports, never from a build flag
//! or a hard-coded certificate number.

use serde::Serialize;

use crate::signer::ModuleInfo;

/// The AWS-LC module as the running binary reports it: `awslc_version()` asks the linked
/// library (`OpenSSL_version`), `try_fips_mode()` whether it runs in FIPS mode.
pub fn aws_lc() -> ModuleInfo {
    let fips = aws_lc_rs::try_fips_mode().is_ok();
    ModuleInfo {
        name: if fips { "AWS-LC FIPS" } else { "AWS-LC" }.into(),
        version: aws_lc_rs::awslc_version().to_string(),
        interface: format!("aws-lc-rs {AWS_LC_RS_VERSION}"),
        fips_mode: fips,
    }
}

/// The aws-lc-rs release this crate is built against. aws-lc-rs exposes no version of its own
/// at run time, so this is a constant; `interface_version_matches_cargo_lock` compares it with
/// `Cargo.lock`, so a dependency bump that forgets it fails the tests.
pub const AWS_LC_RS_VERSION: &str = "1.19.0";

/// One signature the stage made.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureEntry {
    /// What was signed (an evidence path, or the image signature).
    pub artifact: String,
    /// The bundle, relative to the evidence directory.
    pub bundle: String,
    /// The key algorithm and signing scheme.
    pub algorithm: String,
    /// The module that made the signature (an index into `modules`).
    pub module: usize,
}

/// The FIPS 140-3 statement.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FipsStatus {
    /// `validated module in approved mode` or `not FIPS-validated`.
    pub status: String,
    /// The sentence an auditor reads.
    pub statement: String,
}

/// The whole document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CryptoModuleStatement {
    /// `proofline/crypto-module/v1`.
    pub schema: &'static str,
    /// The modules that made signatures.
    pub modules: Vec<ModuleInfo>,
    /// Every signature and the module that made it.
    pub signatures: Vec<SignatureEntry>,
    /// The FIPS 140-3 status of the signing.
    #[serde(rename = "fips140-3")]
    pub fips140_3: FipsStatus,
    /// Cryptography that ran outside the signing module, named so nothing is over-claimed.
    pub outside_module: Vec<String>,
}

/// Builds the statement: `modules` made `signatures`; `keyless` says whether Fulcio and Rekor
/// were used; `encrypted_key` whether a cosign key file was decrypted.
pub fn statement(
    modules: Vec<ModuleInfo>,
    signatures: Vec<SignatureEntry>,
    keyless: bool,
    encrypted_key: bool,
) -> CryptoModuleStatement {
    let all_fips = !modules.is_empty() && modules.iter().all(|m| m.fips_mode);
    let fips140_3 = if all_fips {
        let names: Vec<String> = modules
            .iter()
            .map(|m| format!("{} {}", m.name, m.version))
            .collect();
        FipsStatus {
            status: "validated module in approved mode".into(),
            statement: format!(
                "Every signature was made by {} running in its FIPS-approved mode (checked at run time). The module's CMVP certificate is the one NIST lists for that exact version; Proofline does not record a certificate number it cannot check.",
                names.join(", ")
            ),
        }
    } else {
        FipsStatus {
            status: "not FIPS-validated".into(),
            statement: "The signing module did not run in a FIPS-approved mode, so these signatures make no FIPS 140-3 claim. Build Proofline with the `fips` feature to sign inside AWS-LC's FIPS module.".into(),
        }
    };
    let mut outside_module = vec![
        "SHA-256 digests of evidence files for records and statements (RustCrypto sha2)"
            .to_string(),
    ];
    if encrypted_key {
        outside_module.push(
            "decryption of the cosign key file: scrypt and NaCl secretbox (RustCrypto, via the sigstore crate)"
                .into(),
        );
    }
    if keyless {
        outside_module.push(
            "TLS to Fulcio and Rekor (rustls on the same AWS-LC provider); certificate issuance and log signatures are the services' own modules"
                .into(),
        );
    }
    CryptoModuleStatement {
        schema: "proofline/crypto-module/v1",
        modules,
        signatures,
        fips140_3,
        outside_module,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn interface_version_matches_cargo_lock() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"))
                .expect("the workspace Cargo.lock");
        let locked = lock
            .split("[[package]]")
            .find(|p| p.contains("\nname = \"aws-lc-rs\"\n"))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
            .map(|v| v.trim_end_matches('"'))
            .expect("aws-lc-rs in Cargo.lock");
        assert_eq!(
            AWS_LC_RS_VERSION, locked,
            "update AWS_LC_RS_VERSION in crypto_module.rs"
        );
    }

    #[test]
    fn the_module_reports_a_real_version_and_its_mode() {
        let module = aws_lc();
        assert!(
            module.version.split('.').count() == 3
                && module.version.split('.').all(|p| p.parse::<u32>().is_ok()),
            "{module:?}"
        );
        assert_eq!(module.fips_mode, aws_lc_rs::try_fips_mode().is_ok());
        assert_eq!(module.name == "AWS-LC FIPS", module.fips_mode);
    }

    #[test]
    fn the_default_build_claims_no_fips_validation() {
        let module = aws_lc();
        assert!(!module.version.is_empty());
        if cfg!(not(feature = "fips")) {
            assert!(!module.fips_mode);
            assert_eq!(module.name, "AWS-LC");
        }
        let s = statement(vec![module], vec![], false, true);
        if cfg!(not(feature = "fips")) {
            assert_eq!(s.fips140_3.status, "not FIPS-validated");
        }
        assert!(s.outside_module.iter().any(|o| o.contains("scrypt")));
    }

    #[test]
    fn fips_is_claimed_only_when_every_module_runs_in_fips_mode() {
        let fips = ModuleInfo {
            name: "AWS-LC FIPS".into(),
            version: "x".into(),
            interface: "aws-lc-rs".into(),
            fips_mode: true,
        };
        let plain = ModuleInfo {
            fips_mode: false,
            ..fips.clone()
        };
        assert_eq!(
            statement(vec![fips.clone()], vec![], true, false)
                .fips140_3
                .status,
            "validated module in approved mode"
        );
        assert_eq!(
            statement(vec![fips, plain], vec![], true, false)
                .fips140_3
                .status,
            "not FIPS-validated"
        );
        assert_eq!(
            statement(vec![], vec![], true, false).fips140_3.status,
            "not FIPS-validated"
        );
    }
}
