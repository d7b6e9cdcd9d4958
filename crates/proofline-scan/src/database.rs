//! The database as the scan uses it: opened once with an error that says how to get one, asked
//! per package through [`AdvisorySource`], and described in the report (path, kind, sources with
//! their digests, build time and age).

use std::path::Path;

use anyhow::Context;
use proofline_vulndb::osv::Advisory;
use proofline_vulndb::{Database, OsvEcosystem};
use time::OffsetDateTime;

use crate::report::{DatabaseRef, DatabaseSource};
use crate::scan::AdvisorySource;

/// An opened database.
#[derive(Debug)]
pub struct OpenDatabase {
    db: Database,
    kind: &'static str,
}

impl OpenDatabase {
    /// Opens an index, or an OSV directory / `all.zip` in memory.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            anyhow::bail!(
                "no vulnerability database at {}: download one with `proofline scan db update --out {}`, build one from OSV files with `proofline scan db build --from DIR --out {}`, or pass --db PATH (an index or a folder of OSV advisories)",
                path.display(),
                path.display(),
                path.display()
            );
        }
        let db = Database::open(path)
            .with_context(|| format!("opening the vulnerability database {}", path.display()))?;
        let kind = if db.is_index() { "index" } else { "osv" };
        Ok(Self { db, kind })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The report's description of the database, its age measured at `now`.
    pub fn reference(&self, now: OffsetDateTime) -> DatabaseRef {
        let identity = self.db.identity();
        let age_days = identity.built_at().map_or(f64::INFINITY, |built| {
            ((now - built).as_seconds_f64() / 86_400.0).max(0.0)
        });
        DatabaseRef {
            path: self.db.path().display().to_string(),
            kind: self.kind.to_string(),
            built: identity.built.clone(),
            age_days: (age_days * 100.0).round() / 100.0,
            advisories: identity.advisories,
            sources: identity
                .sources
                .iter()
                .map(|s| DatabaseSource {
                    name: s.name.clone(),
                    sha256: s.sha256.clone(),
                    advisories: s.advisories,
                })
                .collect(),
        }
    }
}

impl AdvisorySource for OpenDatabase {
    fn advisories_for(
        &self,
        ecosystem: &OsvEcosystem,
        name: &str,
    ) -> Result<Vec<Advisory>, String> {
        self.db
            .advisories_for(ecosystem, name)
            .map_err(|e| e.to_string())
    }
}
