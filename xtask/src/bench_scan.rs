//! The scan benchmark (issue 5, "Performance"): index load and match time against a synthetic
//! database of 200,000 advisories for a 1,000-package image, the real advisories of
//! fixtures/vulndb against the corpus images' packages, peak RSS of whole runs, and cargo-audit
//! on its own input (a Cargo.lock and a cargo-auditable binary) against Proofline on the same
//! RustSec data, in the same run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use proofline_sbom::{Ecosystem, Inventory, Package};
use proofline_scan::args::{DistroOwned, FailOn};
use proofline_scan::database::OpenDatabase;
use proofline_scan::ignore::IgnoreList;
use proofline_scan::scan::{Judgement, scan};
use proofline_scan::vex::VexSet;
use proofline_vulndb::osv::Advisory;
use time::OffsetDateTime;

use crate::bench::{which, workspace_root};
use proofline_testkit::{TestImage, layer_tar_gz_modes};

#[derive(Debug, Args)]
pub struct BenchScanArgs {
    /// Advisories in the synthetic database.
    #[arg(long, default_value_t = 200_000)]
    advisories: usize,
    /// Packages in the synthetic image.
    #[arg(long, default_value_t = 1_000)]
    packages: usize,
    /// Where the corpus script wrote its images (its OUTDIR); their packages are scanned
    /// against fixtures/vulndb when present. Default: target/bench/corpus.
    #[arg(long, env = "PROOFLINE_CORPUS_DIR")]
    corpus_dir: Option<PathBuf>,
    /// Runs of each measurement; the fastest counts.
    #[arg(long, default_value_t = 5)]
    runs: u32,
}

/// Ecosystems of the synthetic data, with the share of packages each gets.
const ECOSYSTEMS: &[(Ecosystem, &str, usize)] = &[
    (Ecosystem::Npm, "npm", 40),
    (Ecosystem::Pypi, "PyPI", 20),
    (Ecosystem::Deb, "Debian", 15),
    (Ecosystem::Cargo, "crates.io", 10),
    (Ecosystem::Golang, "Go", 10),
    (Ecosystem::Maven, "Maven", 5),
];

/// A deterministic xorshift generator (no `rand` dependency for one benchmark).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn ecosystem_for(i: usize) -> &'static (Ecosystem, &'static str, usize) {
    let total: usize = ECOSYSTEMS.iter().map(|e| e.2).sum();
    let mut slot = i % total;
    for e in ECOSYSTEMS {
        if slot < e.2 {
            return e;
        }
        slot -= e.2;
    }
    &ECOSYSTEMS[0]
}

fn package_name(osv: &str, n: u64) -> String {
    match osv {
        "Go" => format!("github.com/bench/module{n}"),
        "Maven" => format!("org.bench:artifact{n}"),
        _ => format!("bench-package-{n}"),
    }
}

fn version(osv: &str, major: u64, minor: u64, patch: u64) -> String {
    match osv {
        "Debian" => format!("{major}.{minor}.{patch}-1"),
        "Go" => format!("v{major}.{minor}.{patch}"),
        _ => format!("{major}.{minor}.{patch}"),
    }
}

/// `n` advisories over ~n/4 package names per ecosystem (so popular packages carry several),
/// each with a CVSS 3.1 vector, aliases, references and one or two ranges; shaped like real
/// GitHub/PyPA records (trimmed size ~700 bytes).
fn synthetic_advisories(n: usize) -> Result<Vec<Advisory>> {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let names_per_ecosystem = (n as u64 / 4).max(1);
    let vectors = [
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
    ];
    (0..n)
        .map(|i| {
            let (_, osv, _) = ecosystem_for(i);
            let name = package_name(osv, rng.below(names_per_ecosystem));
            let fixed_major = 1 + rng.below(5);
            let fixed = version(osv, fixed_major, rng.below(20), rng.below(10));
            let introduced = if rng.below(3) == 0 {
                version(osv, fixed_major.saturating_sub(1), 0, 0)
            } else {
                "0".to_string()
            };
            let value = serde_json::json!({
                "schema_version": "1.6.0",
                "id": format!("BENCH-{i:07}"),
                "modified": "2026-11-01T00:00:00Z",
                "published": "2026-10-01T00:00:00Z",
                "aliases": [format!("CVE-2026-{:05}", i % 100_000), format!("GHSA-bench-{i:07}")],
                "summary": format!("Synthetic advisory {i}: improper input validation in {name} allows a remote attacker to cause denial of service"),
                "severity": [{"type": "CVSS_V3", "score": vectors[i % vectors.len()]}],
                "affected": [{
                    "package": {"ecosystem": osv, "name": name},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": introduced}, {"fixed": fixed}]}],
                    "database_specific": {"source": "synthetic"}
                }],
                "references": [
                    {"type": "ADVISORY", "url": format!("https://example.com/advisories/{i}")},
                    {"type": "WEB", "url": format!("https://example.com/{name}/issues/{i}")}
                ],
                "database_specific": {"severity": "HIGH"}
            });
            serde_json::from_value(value).context("a synthetic advisory")
        })
        .collect()
}

/// A `packages`-package image inventory over the same names (about a third of them named by
/// some advisory), versions spread so some are affected and some are not.
fn synthetic_inventory(packages: usize, advisories: usize) -> Inventory {
    let mut rng = Rng(0x0dd_ba11_cafe_f00d);
    let names_per_ecosystem = (advisories as u64 / 4).max(1);
    let mut inventory = Inventory::default();
    for i in 0..packages {
        let (eco, osv, _) = ecosystem_for(i);
        // Three in four packages carry a name the database may know.
        let n = if rng.below(4) == 0 {
            names_per_ecosystem + rng.below(1_000_000)
        } else {
            rng.below(names_per_ecosystem)
        };
        let name = package_name(osv, n);
        let v = version(osv, rng.below(6), rng.below(20), rng.below(10));
        let (purl_name, ns) = match *osv {
            "Maven" => {
                let (g, a) = name.split_once(':').unwrap_or(("org.bench", &name));
                (a.to_string(), Some(g.to_string()))
            }
            _ => (name.clone(), None),
        };
        let purl = match (&ns, eco) {
            (Some(g), _) => format!("pkg:maven/{g}/{purl_name}@{v}"),
            (None, Ecosystem::Deb) => format!("pkg:deb/debian/{name}@{v}?distro=debian-12"),
            (None, _) => format!("pkg:{}/{name}@{v}", eco.purl_type()),
        };
        inventory.packages.push(Package::new(
            *eco,
            purl_name,
            v,
            purl,
            format!("/bench/{i}"),
            "bench",
        ));
    }
    inventory
}

fn best_of<T>(runs: u32, mut f: impl FnMut() -> Result<T>) -> Result<(Duration, T)> {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let value = f()?;
        let took = start.elapsed();
        if best.as_ref().is_none_or(|(b, _)| took < *b) {
            best = Some((took, value));
        }
    }
    best.context("no run")
}

/// Opens `db` and scans `inventory`: (open time, match time, findings).
fn load_and_match(
    db: &Path,
    inventory: &Inventory,
    runs: u32,
) -> Result<(Duration, Duration, usize)> {
    let vex = VexSet::load(&[])?;
    let today = OffsetDateTime::now_utc().date();
    let ignore = IgnoreList::new(&[], today, "none")?;
    let judgement = Judgement {
        fail_on: FailOn::Critical,
        distro_owned: DistroOwned::Distro,
        vex: &vex,
        ignore: &ignore,
        image_digest: None,
    };
    let (open, _) = best_of(runs, || OpenDatabase::open(db))?;
    let opened = OpenDatabase::open(db)?;
    let (matched, findings) = best_of(runs, || {
        scan(inventory, &opened, &judgement).map_err(|e| anyhow::anyhow!(e))
    })?;
    Ok((open, matched, findings.0.len()))
}

/// Wall time and peak RSS (KiB) of a command, best of `runs` by wall time.
fn timed_process(cmd: &[&str], runs: u32, ok_codes: &[i32]) -> Result<(Duration, u64)> {
    let mut best: Option<(Duration, u64)> = None;
    for _ in 0..runs.max(1) {
        let rss_file = tempfile::NamedTempFile::new()?;
        let start = Instant::now();
        let status = Command::new("/usr/bin/time")
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(rss_file.path())
            .args(cmd)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("running {}", cmd.join(" ")))?;
        let took = start.elapsed();
        let code = status.code().unwrap_or(-1);
        if !ok_codes.contains(&code) {
            bail!("{} exited {code}", cmd.join(" "));
        }
        let rss: u64 = std::fs::read_to_string(rss_file.path())?
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0);
        if best.is_none_or(|(b, _)| took < b) {
            best = Some((took, rss));
        }
    }
    best.context("no run")
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub fn run(args: &BenchScanArgs) -> Result<()> {
    if !Path::new("/usr/bin/time").exists() {
        bail!("GNU time is needed to measure peak memory: apt-get install time");
    }
    let root = workspace_root()?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    eprintln!("building proofline-scan (release)…");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--locked", "-p", "proofline-scan"])
        .current_dir(&root)
        .status()?;
    if !status.success() {
        bail!("cargo build --release -p proofline-scan failed");
    }
    let scan_bin = target.join("release/proofline-scan");
    let work = root.join("target/bench/scan");
    std::fs::create_dir_all(&work)?;
    let now = OffsetDateTime::now_utc();
    let mut out = String::new();

    // 1. Synthetic: 200,000 advisories, a 1,000-package image.
    eprintln!(
        "building a synthetic database of {} advisories…",
        args.advisories
    );
    let advisories = synthetic_advisories(args.advisories)?;
    let synthetic_db = work.join(format!("synthetic-{}.idx", args.advisories));
    let start = Instant::now();
    let summary = proofline_vulndb::build_from_advisories(advisories, vec![], &synthetic_db, now)?;
    let build_time = start.elapsed();
    let inventory = synthetic_inventory(args.packages, args.advisories);
    let (open, matched, findings) = load_and_match(&synthetic_db, &inventory, args.runs)?;
    let sbom_path = work.join("synthetic.cdx.json");
    let subject = proofline_sbom::cyclonedx::Subject {
        name: "bench/synthetic:1".into(),
        digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000".into(),
    };
    let bom = proofline_sbom::cyclonedx::write(
        &inventory,
        &subject,
        proofline_sbom::cyclonedx::CycloneDxVersion::V1_6,
        "2026-11-01T00:00:00Z",
    );
    std::fs::write(&sbom_path, serde_json::to_vec(&bom)?)?;
    let evidence = work.join("evidence");
    let _ = std::fs::remove_dir_all(&evidence);
    let (whole, rss) = timed_process(
        &[
            scan_bin.to_str().context("path")?,
            "--sbom",
            sbom_path.to_str().context("path")?,
            "--db",
            synthetic_db.to_str().context("path")?,
            "--fail-on",
            "none",
            "--evidence-dir",
            evidence.to_str().context("path")?,
        ],
        args.runs,
        &[0],
    )?;
    let _ = writeln!(
        out,
        "\n## Synthetic: {} advisories, {} packages",
        summary.identity.advisories, args.packages
    );
    let _ = writeln!(out, "| measurement | value |\n|---|---:|");
    let _ = writeln!(
        out,
        "| index build (once, `db build`) | {} |",
        ms(build_time)
    );
    let _ = writeln!(
        out,
        "| index size | {:.1} MiB |",
        summary.bytes as f64 / 1048576.0
    );
    let _ = writeln!(out, "| index load (open) | {} |", ms(open));
    let _ = writeln!(
        out,
        "| match {} packages | {} ({findings} findings) |",
        args.packages,
        ms(matched)
    );
    let _ = writeln!(
        out,
        "| **load + match** (target < 100 ms) | **{}** |",
        ms(open + matched)
    );
    let _ = writeln!(
        out,
        "| whole `proofline-scan --sbom` run (parse SBOM, scan, write 6 outputs) | {} |",
        ms(whole)
    );
    let _ = writeln!(
        out,
        "| peak RSS of that run | {:.1} MiB |",
        rss as f64 / 1024.0
    );

    flush(&mut out)?;

    // 2. The real advisories of fixtures/vulndb against the corpus images' packages.
    let fixture_db = work.join("fixtures-vulndb.idx");
    let real = proofline_vulndb::build(&[root.join("fixtures/vulndb")], &fixture_db, now)?;
    let corpus = args
        .corpus_dir
        .clone()
        .unwrap_or_else(|| root.join("target/bench/corpus"));
    let _ = writeln!(
        out,
        "\n## fixtures/vulndb ({} advisories) against the corpus images",
        real.identity.advisories
    );
    let _ = writeln!(
        out,
        "| image | packages | catalogue | load + match | findings | whole run | peak RSS |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for name in ["debian-slim-like", "python-app", "node-app", "rust-app"] {
        let layout = corpus.join("oci").join(name);
        if !layout.join("index.json").exists() {
            let _ = writeln!(out, "| {name} | not built (corpus script) | | | | | |");
            continue;
        }
        let reference = format!("oci:{}", layout.display());
        let image = proofline_oci::Image::open(
            &reference.parse()?,
            &proofline_oci::OpenOptions::default(),
        )?;
        let start = Instant::now();
        let inventory = proofline_sbom::catalog_image(&image, proofline_sbom::catalog::CATALOGERS)?;
        let catalogue = start.elapsed();
        let (open, matched, findings) = load_and_match(&fixture_db, &inventory, args.runs)?;
        let evidence = work.join(format!("evidence-{name}"));
        let _ = std::fs::remove_dir_all(&evidence);
        let (whole, rss) = timed_process(
            &[
                scan_bin.to_str().context("path")?,
                "--image",
                &reference,
                "--db",
                fixture_db.to_str().context("path")?,
                "--fail-on",
                "none",
                "--evidence-dir",
                evidence.to_str().context("path")?,
            ],
            args.runs,
            &[0],
        )?;
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {findings} | {} | {:.1} MiB |",
            inventory.packages.len(),
            ms(catalogue),
            ms(open + matched),
            ms(whole),
            rss as f64 / 1024.0
        );
    }

    flush(&mut out)?;

    // 3. cargo-audit on its own input, Proofline on the same RustSec data.
    let _ = writeln!(
        out,
        "\n## cargo-audit on its own input (same RustSec advisories)"
    );
    match cargo_audit(&root) {
        None => {
            let _ = writeln!(
                out,
                "cargo-audit not found (scripts/crosscheck-scan.sh installs it into ~/.cache/proofline-peers): skipped"
            );
        }
        Some(audit) => {
            bench_cargo_audit(&root, &work, &scan_bin, &audit, args.runs, now, &mut out)?;
        }
    }
    flush(&mut out)
}

/// Prints what has been measured so far (a later failure keeps the earlier figures).
fn flush(text: &mut String) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    text.clear();
    Ok(())
}

/// cargo-audit 0.22.2 as crates.io builds it (full release profile: the cross-check's lighter
/// build would flatter us), installed once into target/bench/peers.
fn cargo_audit(root: &Path) -> Option<PathBuf> {
    let dir = root.join("target/bench/peers/cargo-audit");
    let bin = dir.join("bin/cargo-audit");
    if bin.exists() {
        return Some(bin);
    }
    eprintln!(
        "installing cargo-audit 0.22.2 (release) into {} once…",
        dir.display()
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["install", "--locked", "--version", "=0.22.2", "--root"])
        .arg(&dir)
        .arg("cargo-audit")
        .status()
        .ok()?;
    if status.success() {
        Some(bin)
    } else {
        which("cargo-audit").ok()
    }
}

fn bench_cargo_audit(
    root: &Path,
    work: &Path,
    scan_bin: &Path,
    audit: &Path,
    runs: u32,
    now: OffsetDateTime,
    out: &mut String,
) -> Result<()> {
    // cargo-audit reads RustSec's main-branch Markdown: all 1,206 advisories of the OSV branch
    // rendered back into it (fixtures/vulndb-rustsec holds only the 9 of our crates), so both
    // tools load the same database.
    let db = work.join("rustsec-main-full");
    let _ = std::fs::remove_dir_all(&db);
    let rendered = render_rustsec_main(&root.join("fixtures/vulndb/rustsec-osv/crates"), &db)?;
    let _ = writeln!(
        out,
        "RustSec database: {rendered} advisories, as Markdown for cargo-audit and as an index for Proofline; whole runs, best of {runs}.\n"
    );
    let _ = writeln!(
        out,
        "| input | cargo-audit | proofline-scan (writes 8 evidence files, fsynced) | ratio |\n|---|---:|---:|---:|"
    );
    let osv_db = work.join("rustsec-osv.idx");
    proofline_vulndb::build(&[root.join("fixtures/vulndb/rustsec-osv")], &osv_db, now)?;
    let lock = root.join("fixtures/sbom/peer/rust-app.Cargo.lock");
    let binary = root.join("fixtures/scan/rust-app/rust-app-audited");
    // One-layer images holding the same file, for Proofline.
    let lock_image = work.join("image-lock");
    let bin_image = work.join("image-bin");
    write_image(
        &lock_image,
        "/app/Cargo.lock",
        &std::fs::read(&lock)?,
        0o644,
    )?;
    write_image(
        &bin_image,
        "/usr/local/bin/rust-app",
        &std::fs::read(&binary)?,
        0o755,
    )?;
    let lock_dir = work.join("lock-project");
    std::fs::create_dir_all(&lock_dir)?;
    std::fs::copy(&lock, lock_dir.join("Cargo.lock"))?;
    let db_s = db.to_str().context("path")?;
    let audit_s = audit.to_str().context("path")?;
    let cases: [(&str, Vec<String>, PathBuf); 2] = [
        (
            "Cargo.lock (16 crates)",
            vec![
                audit_s.into(),
                "audit".into(),
                "--db".into(),
                db_s.into(),
                "--no-fetch".into(),
                "--stale".into(),
                "--no-yanked".into(),
                "--json".into(),
                "--file".into(),
                lock_dir.join("Cargo.lock").display().to_string(),
            ],
            lock_image,
        ),
        (
            "cargo-auditable binary",
            vec![
                audit_s.into(),
                "audit".into(),
                "--db".into(),
                db_s.into(),
                "--no-fetch".into(),
                "--stale".into(),
                "--no-yanked".into(),
                "--json".into(),
                "bin".into(),
                binary.display().to_string(),
            ],
            bin_image,
        ),
    ];
    for (label, audit_cmd, layout) in cases {
        let audit_args: Vec<&str> = audit_cmd.iter().map(String::as_str).collect();
        let (theirs, _) = timed_process(&audit_args, runs, &[0, 1])?;
        let evidence = work.join("evidence-audit");
        let _ = std::fs::remove_dir_all(&evidence);
        let reference = format!("oci:{}:latest", layout.display());
        let (ours, _) = timed_process(
            &[
                scan_bin.to_str().context("path")?,
                "--image",
                &reference,
                "--db",
                osv_db.to_str().context("path")?,
                "--fail-on",
                "none",
                "--max-db-age",
                "100000",
                "--evidence-dir",
                evidence.to_str().context("path")?,
            ],
            runs,
            &[0],
        )?;
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {:.1}× faster |",
            ms(theirs),
            ms(ours),
            theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9)
        );
    }
    Ok(())
}

/// RustSec's OSV records rendered into its main-branch format (`crates/<crate>/<id>.md`, TOML
/// front matter): the ranges become `patched`/`unaffected` requirements, as RustSec's own
/// OSV export derives them the other way.
fn render_rustsec_main(osv_dir: &Path, out: &Path) -> Result<usize> {
    let mut count = 0;
    for entry in
        std::fs::read_dir(osv_dir).with_context(|| format!("reading {}", osv_dir.display()))?
    {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        let Some(affected) = v["affected"].get(0) else {
            continue;
        };
        let name = affected["package"]["name"].as_str().unwrap_or_default();
        let id = v["id"].as_str().unwrap_or_default();
        if name.is_empty() || id.is_empty() {
            continue;
        }
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let list = |items: &[String]| {
            format!(
                "[{}]",
                items
                    .iter()
                    .map(|i| quote(i))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let mut toml = format!(
            "[advisory]\nid = {}\npackage = {}\n",
            quote(id),
            quote(name)
        );
        let date = v["published"]
            .as_str()
            .unwrap_or("2020-01-01")
            .get(..10)
            .unwrap_or("2020-01-01")
            .to_string();
        toml.push_str(&format!("date = {}\n", quote(&date)));
        if let Some(url) = v["references"]
            .as_array()
            .and_then(|r| r.iter().find_map(|r| r["url"].as_str()))
        {
            toml.push_str(&format!("url = {}\n", quote(url)));
        }
        let aliases: Vec<String> = v["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        if !aliases.is_empty() {
            toml.push_str(&format!("aliases = {}\n", list(&aliases)));
        }
        if let Some(info) = affected["database_specific"]["informational"].as_str() {
            toml.push_str(&format!("informational = {}\n", quote(info)));
        }
        if let Some(cvss) = v["severity"].as_array().and_then(|s| {
            s.iter()
                .find_map(|s| s["score"].as_str().filter(|x| x.starts_with("CVSS:3.")))
        }) {
            toml.push_str(&format!("cvss = {}\n", quote(cvss)));
        }
        // Ranges: [introduced, fixed) intervals in order.
        let mut patched = Vec::new();
        let mut unaffected = Vec::new();
        for range in affected["ranges"].as_array().into_iter().flatten() {
            let events: Vec<(String, String)> = range["events"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    e.as_object()?
                        .iter()
                        .next()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                })
                .collect();
            let introduced: Vec<&String> = events
                .iter()
                .filter(|(k, _)| k == "introduced")
                .map(|(_, v)| v)
                .collect();
            if let Some(first) = introduced.first()
                && first.as_str() != "0"
                && first.as_str() != "0.0.0-0"
            {
                unaffected.push(format!("< {first}"));
            }
            for (i, (kind, version)) in events.iter().enumerate() {
                let next_introduced = events
                    .iter()
                    .skip(i + 1)
                    .find(|(k, _)| k == "introduced")
                    .map(|(_, v)| v);
                let bound = match kind.as_str() {
                    "fixed" => format!(">= {version}"),
                    "last_affected" => format!("> {version}"),
                    _ => continue,
                };
                patched.push(match next_introduced {
                    Some(next) => format!("{bound}, < {next}"),
                    None => bound,
                });
            }
        }
        toml.push_str(&format!("\n[versions]\npatched = {}\n", list(&patched)));
        if !unaffected.is_empty() {
            toml.push_str(&format!("unaffected = {}\n", list(&unaffected)));
        }
        let title = v["summary"].as_str().unwrap_or(id);
        let details = v["details"].as_str().unwrap_or("");
        let dir = out.join("crates").join(name);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join(format!("{id}.md")),
            format!("```toml\n{toml}```\n\n# {title}\n\n{details}\n"),
        )?;
        count += 1;
    }
    Ok(count)
}

/// A one-layer OCI layout (tag `latest`) holding `bytes` at `path`, as the tests build them.
fn write_image(layout: &Path, path: &str, bytes: &[u8], mode: u32) -> Result<()> {
    let _ = std::fs::remove_dir_all(layout);
    let layer = layer_tar_gz_modes(&[(path.trim_start_matches('/'), bytes, mode)]);
    TestImage::build(&[layer], "amd64").write_layout(layout, "latest");
    Ok(())
}
