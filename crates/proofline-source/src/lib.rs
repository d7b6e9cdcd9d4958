//! The source stage: which commits a change brings, whether each is signed by someone our
//! own trust store accepts, and (later) what the forge says about protection and reviews.

pub mod commits;
pub mod signature;
