//! The stages the umbrella runs in-process for `proofline pipeline`.

pub(crate) mod image;
