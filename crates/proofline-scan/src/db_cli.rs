//! `proofline-scan db build|update|info`: the offline database's tools, at the binary's edge.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use proofline_stagekit::Outcome;
use proofline_vulndb::index;
use time::OffsetDateTime;

use crate::args::{DbBuildArgs, DbCommand, DbInfoArgs, DbUpdateArgs, default_db};
use crate::database::OpenDatabase;

/// Runs one `db` subcommand.
pub fn run(command: &DbCommand) -> anyhow::Result<Outcome> {
    match command {
        DbCommand::Build(args) => build(args),
        DbCommand::Update(args) => update(args),
        DbCommand::Info(args) => info(args),
    }
}

fn build(args: &DbBuildArgs) -> anyhow::Result<Outcome> {
    let out = args.out.clone().unwrap_or_else(default_db);
    ensure_parent(&out)?;
    let summary = index::build(&args.from, &out, OffsetDateTime::now_utc())
        .with_context(|| format!("building the vulnerability database {}", out.display()))?;
    for skipped in summary.skipped.iter().take(10) {
        tracing::warn!("skipped {}: {}", skipped.file, skipped.reason);
    }
    if summary.skipped.len() > 10 {
        tracing::warn!("{} more files skipped", summary.skipped.len() - 10);
    }
    tracing::info!(
        "{}: {} advisories for {} packages from {} source(s) ({} duplicates resolved, {} withdrawn kept), {} bytes",
        out.display(),
        summary.identity.advisories,
        summary.packages,
        summary.identity.sources.len(),
        summary.duplicates,
        summary.withdrawn,
        summary.bytes
    );
    Ok(Outcome::Passed)
}

fn update(args: &DbUpdateArgs) -> anyhow::Result<Outcome> {
    use proofline_vulndb::update::{UpdateOptions, update};
    let out = args.out.clone().unwrap_or_else(default_db);
    ensure_parent(&out)?;
    let cache_dir = args.cache_dir.clone().unwrap_or_else(|| {
        let mut name = out.file_name().unwrap_or_default().to_os_string();
        name.push(".d");
        out.with_file_name(name)
    });
    let mut options = UpdateOptions::new(cache_dir, out.clone())?;
    options.base_url = url::Url::parse(&args.base_url).with_context(|| {
        format!("--base-url `{}` is not a URL: give e.g. https://osv-vulnerabilities.storage.googleapis.com", args.base_url)
    })?;
    if !args.ecosystems.is_empty() {
        options.ecosystems = args.ecosystems.clone();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summary = runtime
        .block_on(update(&options))
        .with_context(|| format!("updating the vulnerability database {}", out.display()))?;
    for e in &summary.ecosystems {
        tracing::info!(
            "{}: {} ({} bytes)",
            e.ecosystem,
            if e.downloaded {
                "downloaded"
            } else {
                "unchanged (not downloaded again)"
            },
            e.bytes
        );
    }
    match &summary.build {
        Some(b) => tracing::info!(
            "{}: rebuilt, {} advisories for {} packages",
            out.display(),
            b.identity.advisories,
            b.packages
        ),
        None => tracing::info!("{}: nothing changed, index kept", out.display()),
    }
    Ok(Outcome::Passed)
}

fn info(args: &DbInfoArgs) -> anyhow::Result<Outcome> {
    let path = args.db.clone().unwrap_or_else(default_db);
    let db = OpenDatabase::open(&path)?;
    let reference = db.reference(OffsetDateTime::now_utc());
    let text = serde_json::to_string_pretty(&serde_json::json!({
        "path": reference.path,
        "kind": reference.kind,
        "built": reference.built,
        "age_days": reference.age_days,
        "advisories": reference.advisories,
        "packages": db.database().package_count(),
        "sources": reference.sources,
    }))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}").context("writing to standard output")?;
    Ok(Outcome::Passed)
}

fn ensure_parent(out: &std::path::Path) -> anyhow::Result<PathBuf> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("creating {} for the database", parent.display()))?;
    Ok(parent)
}
