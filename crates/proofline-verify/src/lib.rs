//! Proofline's verifier: checks that an image's signature and every signed evidence artifact
//! verify, offline, against a key or a Sigstore trusted root, and fails closed.

pub mod cli;
pub mod conformance;
pub mod evidence;
pub mod layout;
mod parse;
pub mod reason;
pub mod roots;
pub mod statement;
pub mod trust;

pub use cli::{VerifyArgs, run};
pub use evidence::{Check, Report, Status, verify_evidence};
pub use reason::Reason;
pub use statement::ImageSubject;
pub use trust::{
    ArtifactInput, Matcher, Trust, TrustError, TrustPolicy, load_trusted_root, verify_artifact,
};
