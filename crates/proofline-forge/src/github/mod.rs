//! GitHub through octocrab: commit verification, classic protection and rulesets merged,
//! reviews and CODEOWNERS errors.
