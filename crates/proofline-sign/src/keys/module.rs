//! Which AWS-LC build makes our signatures, as `sign/crypto-module.json` reports it: read from the
//! library that is linked in, never from a hand-written string.

use std::ffi::CStr;

use crate::signer::ModuleInfo;

/// The aws-lc-rs release this crate is built against.
///
/// aws-lc-rs exposes no version at run time, and a build script is not ours to add here, so this
/// is a build-time constant; the unit test `interface_version_matches_cargo_lock` compares it with
/// the workspace's `Cargo.lock`, so a dependency bump that forgets it fails the tests.
pub const AWS_LC_RS_VERSION: &str = "1.19.0";

/// AWS-LC's own version string (`AWSLC_VERSION_NUMBER_STRING`) from the sys crate that aws-lc-rs
/// links: the constant comes from the headers of the very sources the static library is built
/// from, so it is the version of the code that runs. (Calling `awslc_version_string()` at run
/// time would need `unsafe`, which the workspace forbids.)
#[cfg(not(feature = "fips"))]
const AWSLC_VERSION_NUMBER: &[u8] = aws_lc_sys::AWSLC_VERSION_NUMBER_STRING;
#[cfg(feature = "fips")]
const AWSLC_VERSION_NUMBER: &[u8] = aws_lc_fips_sys::AWSLC_VERSION_NUMBER_STRING;

/// The module that signs for [`super::SoftwareSigner`]: `AWS-LC`, or `AWS-LC FIPS` when the
/// running library says it is in FIPS mode.
pub fn aws_lc_module() -> ModuleInfo {
    let fips_mode = aws_lc_rs::try_fips_mode().is_ok();
    let version = CStr::from_bytes_with_nul(AWSLC_VERSION_NUMBER)
        .ok()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_owned();
    ModuleInfo {
        name: if fips_mode { "AWS-LC FIPS" } else { "AWS-LC" }.to_owned(),
        version,
        interface: format!("aws-lc-rs {AWS_LC_RS_VERSION}"),
        fips_mode,
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
            "update AWS_LC_RS_VERSION in keys/module.rs"
        );
    }

    #[test]
    fn module_reports_a_real_version_and_the_mode() {
        let module = aws_lc_module();
        assert_ne!(module.version, "unknown");
        assert!(
            module.version.split('.').count() == 3
                && module.version.split('.').all(|p| p.parse::<u32>().is_ok()),
            "{module:?}"
        );
        assert_eq!(module.fips_mode, aws_lc_rs::try_fips_mode().is_ok());
        assert_eq!(module.name == "AWS-LC FIPS", module.fips_mode);
        #[cfg(not(feature = "fips"))]
        assert_eq!(module.name, "AWS-LC");
        assert_eq!(module.interface, format!("aws-lc-rs {AWS_LC_RS_VERSION}"));
    }
}
