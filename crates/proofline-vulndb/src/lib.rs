//! Proofline's offline vulnerability database: OSV advisories read from directories, files or
//! OSV's per-ecosystem `all.zip` archives, kept in one compact local index that loads in
//! milliseconds, and matched exactly as the OSV schema says (per-ecosystem version ordering,
//! `ECOSYSTEM`/`SEMVER` ranges, `versions` lists, withdrawn records skipped).

pub mod ecosystem;
pub mod index;
pub mod matching;
pub mod osv;
pub mod update;
pub mod version;

pub use ecosystem::OsvEcosystem;
pub use index::{
    BuildSummary, Database, DbError, DbIdentity, FORMAT, Limits, Skipped, SourceIdentity, build,
    build_from_advisories, build_with_limits,
};
pub use osv::{Advisory, OsvError};
pub use update::{UpdateOptions, UpdateSummary, update};
