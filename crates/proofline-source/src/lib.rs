//! The source stage: which commits a change brings, whether each is signed by someone our own
//! trust store accepts, and what the forge says about the branch's protection and the change's
//! reviews, judged against the source policy and recorded as evidence.

pub mod args;
pub mod checks;
pub mod codeowners;
pub mod commits;
pub mod plan;
pub mod policy;
pub mod report;
pub mod signature;
pub mod stage;
pub mod verify;

pub use args::SourceArgs;
