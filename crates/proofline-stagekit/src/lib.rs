//! The edge every stage binary shares, so `proofline-<stage>` and `proofline <stage>` behave the
//! same: exit codes (0 passed, 1 violation, 2 error), logging to stderr, CI outputs and the
//! summary recorded as evidence, the `proofline.yaml` policy file, and the image-access flags.

mod exit;
mod image_access;
pub mod policy_file;
mod stage_ci;

pub use exit::{EXIT_ERROR, LogArgs, Outcome, exit_code, init_tracing, run_main};
pub use image_access::ImageAccessArgs;
pub use policy_file::{PolicyFile, PolicyFileError};
pub use stage_ci::StageCi;
