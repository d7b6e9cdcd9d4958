//! Proofline's offline vulnerability database: OSV advisories read from directories, files or
//! OSV's per-ecosystem `all.zip` archives, kept in one compact local index that loads in
//! milliseconds, and matched exactly as the OSV schema says (per-ecosystem version ordering,
//! `ECOSYSTEM`/`SEMVER` ranges, `versions` lists, withdrawn records skipped).

pub mod ecosystem;
pub mod version;

pub use ecosystem::OsvEcosystem;
