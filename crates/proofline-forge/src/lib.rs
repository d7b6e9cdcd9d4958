//! What the forges say: commit signatures as GitHub/GitLab verified them, branch protection
//! (classic protection and rulesets merged; protected branches and push rules) and reviews,
//! every fact with its source and an explicit "indeterminate" where the token could not see.

pub mod error;
pub mod github;
pub mod gitlab;
pub mod model;
pub mod retry;

pub use error::ForgeError;
pub use model::*;
pub use retry::RetryPolicy;
