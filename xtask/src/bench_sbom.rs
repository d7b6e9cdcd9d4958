//! The SBOM benchmark (issue 4, "Performance"): `proofline-sbom` on each corpus image against
//! the floor (every layer decompressed and SHA-256-hashed by the fastest tools here) and against
//! the peer tools on their own ecosystem (cyclonedx-py, cyclonedx-npm; syft and trivy when on
//! PATH), everything pinned to one core, best of N, with the package counts each side found so
//! a speed win that misses packages shows.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::bench::{floor, layers_of, which, workspace_root};

/// The corpus images built by the corpus script (`build-images.sh OUTDIR` writes
/// `OUTDIR/oci/<name>`), used when no `--image` is given.
const DEFAULT_IMAGES: &[&str] = &["debian-slim-like", "python-app", "node-app"];
/// Peer versions installed into target/bench/peers (the ones behind shared/corpus/peer-outputs).
const CYCLONEDX_BOM: &str = "cyclonedx-bom==7.5.0";
const CYCLONEDX_NPM: &str = "@cyclonedx/cyclonedx-npm@6.0.1";

#[derive(Debug, Args)]
pub struct BenchSbomArgs {
    /// OCI layout to read, as `oci:PATH[:TAG]` (repeatable). Default: the corpus images under
    /// `<corpus-dir>/oci` that exist (debian-slim-like, python-app, node-app).
    #[arg(long)]
    image: Vec<String>,
    /// Where the corpus script wrote its images (its OUTDIR). Default: target/bench/corpus.
    #[arg(long, env = "PROOFLINE_CORPUS_DIR")]
    corpus_dir: Option<PathBuf>,
    /// Runs of each side; the fastest run counts.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// CPU to pin every side to.
    #[arg(long, default_value_t = 0)]
    cpu: u32,
}

/// (name, version) pairs, the unit the package counts compare.
type PackageSet = BTreeSet<(String, String)>;

struct PeerResult {
    image: String,
    peer: &'static str,
    /// `Err(why)` when the peer could not run (not installed, failed).
    outcome: std::result::Result<(Duration, PackageSet), String>,
    ours: PackageSet,
    proofline: Duration,
}

struct ImageResult {
    name: String,
    layers: usize,
    compressed: u64,
    floor: Duration,
    proofline: Duration,
    peak_kib: u64,
    packages: usize,
}

pub fn run(args: &BenchSbomArgs) -> Result<()> {
    for tool in ["taskset", "sh", "umoci"] {
        which(tool).with_context(|| format!("`{tool}` is needed (util-linux, umoci)"))?;
    }
    if !Path::new("/usr/bin/time").exists() {
        bail!("GNU time is needed to measure peak memory: apt-get install time");
    }
    let root = workspace_root()?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    eprintln!("building proofline-sbom (release)…");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--locked", "-p", "proofline-sbom"])
        .current_dir(&root)
        .status()?;
    if !status.success() {
        bail!("cargo build --release -p proofline-sbom failed");
    }
    let sbom_bin = target.join("release/proofline-sbom");
    let bench_dir = root.join("target/bench");
    let peers_dir = bench_dir.join("peers");
    fs::create_dir_all(&peers_dir)?;

    let corpus = args
        .corpus_dir
        .clone()
        .unwrap_or_else(|| bench_dir.join("corpus"));
    let images: Vec<String> = if args.image.is_empty() {
        DEFAULT_IMAGES
            .iter()
            .map(|name| corpus.join("oci").join(name))
            .filter(|p| p.join("index.json").exists())
            .map(|p| format!("oci:{}", p.display()))
            .collect()
    } else {
        args.image.clone()
    };
    if images.is_empty() {
        bail!(
            "no corpus image under {}: build them with the corpus script (build-images.sh {}), pass --corpus-dir, or pass --image",
            corpus.join("oci").display(),
            corpus.display()
        );
    }
    let cpu = args.cpu.to_string();
    let mut results = Vec::new();
    let mut peers = Vec::new();
    for reference in &images {
        let (layout, tag) = parse_reference(reference)?;
        let reference = format!("oci:{}:{tag}", layout.display());
        let name = layout
            .file_name()
            .map_or_else(|| reference.clone(), |n| n.to_string_lossy().into_owned());
        let layers = layers_of(&layout)?;
        let compressed: u64 = layers.iter().map(|l| l.size).sum();
        eprintln!(
            "== {reference}: {} layers, {} MiB compressed",
            layers.len(),
            compressed >> 20
        );
        // Warm the page cache so every side reads from memory.
        for l in &layers {
            fs::read(&l.path)?;
        }
        let (floor_time, floor_tools) = floor(&layers, &cpu, args.runs)?;
        eprintln!("   floor {:.3} s [{floor_tools}]", floor_time.as_secs_f64());

        let evidence = bench_dir.join(format!("sbom-{name}"));
        let mut sbom_args: Vec<OsString> = vec!["--image".into(), reference.clone().into()];
        sbom_args.push("--evidence-dir".into());
        sbom_args.push(evidence.clone().into_os_string());
        let (took, peak_kib) = measure(
            &sbom_bin,
            &sbom_args,
            &cpu,
            args.runs,
            &|| {
                let _ = fs::remove_dir_all(&evidence);
            },
            &[0, 1],
        )?;
        let cdx_path = evidence.join("sbom/sbom.cdx.json");
        let bom: serde_json::Value = serde_json::from_slice(
            &fs::read(&cdx_path).with_context(|| format!("{}", cdx_path.display()))?,
        )?;
        let components = bom["components"].as_array().cloned().unwrap_or_default();
        eprintln!(
            "   proofline-sbom {:.3} s, {:.1} MiB peak, {} components",
            took.as_secs_f64(),
            peak_kib as f64 / 1024.0,
            components.len()
        );
        results.push(ImageResult {
            name: name.clone(),
            layers: layers.len(),
            compressed,
            floor: floor_time,
            proofline: took,
            peak_kib,
            packages: components.len(),
        });

        let needs_rootfs = name.contains("python") || name.contains("node");
        let rootfs = bench_dir.join(format!("rootfs-{name}"));
        if needs_rootfs && !rootfs.join("etc").exists() {
            eprintln!("   extracting the rootfs for the peers (not timed)…");
            let _ = fs::remove_dir_all(&rootfs);
            let st = Command::new("umoci")
                .args(["raw", "unpack", "--image"])
                .arg(format!("{}:{tag}", layout.display()))
                .arg(&rootfs)
                .stdout(Stdio::null())
                .status()?;
            if !st.success() {
                bail!("umoci raw unpack {} failed", layout.display());
            }
        }
        if name.contains("python") {
            let dirs = python_dirs(&rootfs);
            let in_image: Vec<String> = dirs
                .iter()
                .filter_map(|d| d.strip_prefix(&rootfs).ok())
                .map(|d| format!("/{}/", d.display()))
                .collect();
            let ours = ours_of(
                &components,
                "pkg:pypi/",
                &|found_at| in_image.iter().any(|d| found_at.starts_with(d.as_str())),
                true,
            );
            let outcome = cyclonedx_py(&peers_dir, &bench_dir, &dirs, &cpu, args.runs);
            peers.push(PeerResult {
                image: name.clone(),
                peer: "cyclonedx-py environment",
                outcome,
                ours,
                proofline: took,
            });
        }
        if name.contains("node") {
            let ours = ours_of(
                &components,
                "pkg:npm/",
                &|found_at| found_at.starts_with("/app/"),
                false,
            );
            let outcome =
                cyclonedx_npm(&peers_dir, &bench_dir, &rootfs.join("app"), &cpu, args.runs);
            peers.push(PeerResult {
                image: name.clone(),
                peer: "cyclonedx-npm",
                outcome,
                ours,
                proofline: took,
            });
        }
        for tool in ["syft", "trivy"] {
            let outcome = if which(tool).is_ok() {
                whole_image_peer(tool, &layout, &tag, &cpu, args.runs)
            } else {
                Err("not installed".to_string())
            };
            let ours = components
                .iter()
                .filter_map(|c| {
                    Some((
                        c["name"].as_str()?.to_string(),
                        c["version"].as_str()?.to_string(),
                    ))
                })
                .collect();
            peers.push(PeerResult {
                image: name.clone(),
                peer: tool,
                outcome,
                ours,
                proofline: took,
            });
        }
    }
    report(&results, &peers);
    Ok(())
}

fn parse_reference(reference: &str) -> Result<(PathBuf, String)> {
    let rest = reference
        .strip_prefix("oci:")
        .context("--image must be an OCI layout: oci:PATH[:TAG]")?;
    if let Some((path, tag)) = rest.rsplit_once(':')
        && Path::new(path).join("index.json").exists()
    {
        return Ok((PathBuf::from(path), tag.to_string()));
    }
    let layout = PathBuf::from(rest);
    let index: serde_json::Value = serde_json::from_slice(
        &fs::read(layout.join("index.json")).with_context(|| format!("{rest}: no index.json"))?,
    )?;
    let tag = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
        .as_str()
        .unwrap_or("latest")
        .to_string();
    Ok((layout, tag))
}

/// Runs `program args` pinned to `cpu` under GNU time `runs` times (`before` runs first each
/// time, untimed) and returns the fastest run and the highest peak RSS in KiB.
fn measure(
    program: &Path,
    args: &[OsString],
    cpu: &str,
    runs: u32,
    before: &dyn Fn(),
    ok_codes: &[i32],
) -> Result<(Duration, u64)> {
    let mut best = Duration::MAX;
    let mut peak = 0u64;
    for _ in 0..runs.max(1) {
        before();
        let start = Instant::now();
        let o = Command::new("taskset")
            .args(["-c", cpu, "/usr/bin/time", "-f", "PEAK_RSS_KIB=%M"])
            .arg(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()?;
        let took = start.elapsed();
        let stderr = String::from_utf8_lossy(&o.stderr);
        if !o.status.code().is_some_and(|c| ok_codes.contains(&c)) {
            let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
            bail!(
                "{} failed ({}): {}",
                program.display(),
                o.status,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        let rss = stderr
            .lines()
            .find_map(|l| l.strip_prefix("PEAK_RSS_KIB="))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .context("could not read the peak RSS from GNU time")?;
        peak = peak.max(rss);
        best = best.min(took);
    }
    Ok((best, peak))
}

/// Our (name, version) pairs of one ecosystem found where the peer looks; `pep503` normalises
/// names as PyPI does (case, `_`, `.`), the same on both sides.
fn ours_of(
    components: &[serde_json::Value],
    purl_prefix: &str,
    found_here: &dyn Fn(&str) -> bool,
    pep503: bool,
) -> PackageSet {
    components
        .iter()
        .filter(|c| {
            c["purl"]
                .as_str()
                .is_some_and(|p| p.starts_with(purl_prefix))
        })
        .filter(|c| c["scope"].as_str() != Some("excluded"))
        .filter(|c| {
            c["properties"].as_array().is_some_and(|props| {
                props.iter().any(|p| {
                    p["name"] == "proofline:found-at" && p["value"].as_str().is_some_and(found_here)
                })
            })
        })
        .filter_map(|c| Some(pair(&full_name(c)?, c["version"].as_str()?, pep503)))
        .collect()
}

/// `group/name` for scoped npm packages, `name` otherwise.
fn full_name(c: &serde_json::Value) -> Option<String> {
    let name = c["name"].as_str()?;
    Some(match c["group"].as_str() {
        Some(g) if !g.is_empty() => format!("{g}/{name}"),
        _ => name.to_string(),
    })
}

fn pair(name: &str, version: &str, pep503: bool) -> (String, String) {
    let name = if pep503 {
        name.to_lowercase().replace(['_', '.'], "-")
    } else {
        name.to_string()
    };
    (name, version.to_string())
}

/// Every component of a peer's CycloneDX BOM, nested ones included.
fn peer_set(bom: &serde_json::Value, pep503: bool) -> PackageSet {
    fn walk(list: &serde_json::Value, pep503: bool, out: &mut PackageSet) {
        for c in list.as_array().into_iter().flatten() {
            if let (Some(name), Some(version)) = (full_name(c), c["version"].as_str()) {
                out.insert(pair(&name, version, pep503));
            }
            walk(&c["components"], pep503, out);
        }
    }
    let mut out = PackageSet::new();
    walk(&bom["components"], pep503, &mut out);
    out
}

/// The image's Python package directories (`*-packages` holding dist-info or egg-info), under
/// the extracted rootfs.
fn python_dirs(rootfs: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for base in ["usr/lib", "usr/local/lib"] {
        let Ok(rd) = fs::read_dir(rootfs.join(base)) else {
            continue;
        };
        for e in rd.flatten() {
            if !e.file_name().to_string_lossy().starts_with("python") {
                continue;
            }
            for sub in ["dist-packages", "site-packages"] {
                let d = e.path().join(sub);
                let has_meta = fs::read_dir(&d).is_ok_and(|rd| {
                    rd.flatten().any(|f| {
                        let n = f.file_name();
                        let n = n.to_string_lossy();
                        n.ends_with(".dist-info") || n.ends_with(".egg-info")
                    })
                });
                if has_meta {
                    out.push(d);
                }
            }
        }
    }
    out.sort();
    out
}

/// Installs cyclonedx-bom into a venv under `peers` once; the path of `cyclonedx-py`.
fn install_cyclonedx_py(peers: &Path) -> std::result::Result<PathBuf, String> {
    let venv = peers.join("cyclonedx-py");
    let bin = venv.join("bin/cyclonedx-py");
    if bin.exists() {
        return Ok(bin);
    }
    eprintln!(
        "   installing {CYCLONEDX_BOM} from PyPI into {}…",
        venv.display()
    );
    let ok = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "-q",
                "--disable-pip-version-check",
                CYCLONEDX_BOM,
            ])
            .status()
            .is_ok_and(|s| s.success());
    if ok && bin.exists() {
        Ok(bin)
    } else {
        Err(format!("not installable ({CYCLONEDX_BOM})"))
    }
}

/// `cyclonedx-py environment` on the image's package directories. It asks the interpreter it
/// is given for `sys.path`; a two-line stand-in answers with the extracted directories (the
/// image's own python3 is never run).
fn cyclonedx_py(
    peers: &Path,
    bench: &Path,
    dirs: &[PathBuf],
    cpu: &str,
    runs: u32,
) -> std::result::Result<(Duration, PackageSet), String> {
    let bin = install_cyclonedx_py(peers)?;
    if dirs.is_empty() {
        return Err("no dist-packages/site-packages in the image".into());
    }
    let paths: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let fake = bench.join("image-python");
    let json = serde_json::to_string(&paths).map_err(|e| e.to_string())?;
    fs::write(
        &fake,
        format!(
            "#!/bin/sh\n# sys.path of the extracted image, for cyclonedx-py\nprintf '%s' '{json}'\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    let out = bench.join("peer-cyclonedx-py.cdx.json");
    let args: Vec<OsString> = vec![
        "environment".into(),
        "--output-format".into(),
        "JSON".into(),
        "--output-file".into(),
        out.clone().into_os_string(),
        fake.into_os_string(),
    ];
    let (took, _) = measure(&bin, &args, cpu, runs, &|| {}, &[0]).map_err(|e| e.to_string())?;
    let bom: serde_json::Value =
        serde_json::from_slice(&fs::read(&out).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    Ok((took, peer_set(&bom, true)))
}

/// Installs cyclonedx-npm under `peers/npm` once; the path of its bin.
fn install_cyclonedx_npm(peers: &Path) -> std::result::Result<PathBuf, String> {
    let prefix = peers.join("npm");
    let bin = prefix.join("node_modules/.bin/cyclonedx-npm");
    if bin.exists() {
        return Ok(bin);
    }
    if which("npm").is_err() {
        return Err("not installed (no npm)".into());
    }
    eprintln!(
        "   installing {CYCLONEDX_NPM} from npm into {}…",
        prefix.display()
    );
    let _ = fs::create_dir_all(&prefix);
    let ok = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(CYCLONEDX_NPM)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok && bin.exists() {
        Ok(bin)
    } else {
        Err(format!("not installable ({CYCLONEDX_NPM})"))
    }
}

/// `cyclonedx-npm --omit dev` on the image's /app project (it runs `npm ls` there); dev-only
/// lockfile entries are not installed in the image, and we mark them `scope: excluded`.
fn cyclonedx_npm(
    peers: &Path,
    bench: &Path,
    project: &Path,
    cpu: &str,
    runs: u32,
) -> std::result::Result<(Duration, PackageSet), String> {
    let bin = install_cyclonedx_npm(peers)?;
    if !project.join("package.json").exists() {
        return Err(format!("{}: no package.json", project.display()));
    }
    let out = bench.join("peer-cyclonedx-npm.cdx.json");
    let args: Vec<OsString> = vec![
        "--omit".into(),
        "dev".into(),
        "--output-format".into(),
        "JSON".into(),
        "--output-file".into(),
        out.clone().into_os_string(),
        project.join("package.json").into_os_string(),
    ];
    let (took, _) = measure(&bin, &args, cpu, runs, &|| {}, &[0]).map_err(|e| e.to_string())?;
    let bom: serde_json::Value =
        serde_json::from_slice(&fs::read(&out).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let mut set = peer_set(&bom, false);
    // cyclonedx-npm describes the project itself as metadata.component; we list the lockfile's
    // root package as a component, so the project counts on both sides.
    let root = &bom["metadata"]["component"];
    if let (Some(name), Some(version)) = (full_name(root), root["version"].as_str()) {
        set.insert(pair(&name, version, false));
    }
    Ok((took, set))
}

/// syft or trivy on the whole OCI layout, when on PATH.
fn whole_image_peer(
    tool: &str,
    layout: &Path,
    tag: &str,
    cpu: &str,
    runs: u32,
) -> std::result::Result<(Duration, PackageSet), String> {
    let bin = which(tool).map_err(|e| e.to_string())?;
    let source = format!("oci-dir:{}", layout.display());
    let out = std::env::temp_dir().join(format!("proofline-bench-{tool}.cdx.json"));
    let args: Vec<OsString> = if tool == "syft" {
        vec![
            source.into(),
            "-o".into(),
            format!("cyclonedx-json={}", out.display()).into(),
        ]
    } else {
        vec![
            "image".into(),
            "--input".into(),
            layout.join(tag).into_os_string(),
            "--format".into(),
            "cyclonedx".into(),
            "--output".into(),
            out.clone().into_os_string(),
        ]
    };
    let (took, _) = measure(&bin, &args, cpu, runs, &|| {}, &[0]).map_err(|e| e.to_string())?;
    let bom: serde_json::Value =
        serde_json::from_slice(&fs::read(&out).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    Ok((took, peer_set(&bom, false)))
}

fn report(results: &[ImageResult], peers: &[PeerResult]) {
    println!(
        "proofline-sbom benchmark (one core, best of N; floor = decompress + SHA-256 of every layer)"
    );
    println!();
    println!(
        "| image | layers | compressed MiB | floor s | proofline-sbom s | ratio to floor | peak RSS MiB | components |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in results {
        println!(
            "| {} | {} | {:.1} | {:.3} | {:.3} | {:.2}x | {:.1} | {} |",
            r.name,
            r.layers,
            r.compressed as f64 / 1048576.0,
            r.floor.as_secs_f64(),
            r.proofline.as_secs_f64(),
            r.proofline.as_secs_f64() / r.floor.as_secs_f64(),
            r.peak_kib as f64 / 1024.0,
            r.packages,
        );
    }
    println!();
    println!(
        "| image | peer (its ecosystem) | peer s | proofline / peer | packages ours | packages peer | same set |"
    );
    println!("|---|---|---|---|---|---|---|");
    for p in peers {
        match &p.outcome {
            Ok((took, theirs)) => println!(
                "| {} | {} | {:.3} | {:.2}x | {} | {} | {} |",
                p.image,
                p.peer,
                took.as_secs_f64(),
                p.proofline.as_secs_f64() / took.as_secs_f64(),
                p.ours.len(),
                theirs.len(),
                if &p.ours == theirs {
                    "yes".to_string()
                } else {
                    difference(&p.ours, theirs)
                },
            ),
            Err(why) => println!("| {} | {} | {why} | | | | |", p.image, p.peer),
        }
    }
    println!();
    let floor_ok = results
        .iter()
        .all(|r| r.proofline.as_secs_f64() <= 1.5 * r.floor.as_secs_f64());
    let rss_ok = results.iter().all(|r| r.peak_kib < 128 * 1024);
    let ran: Vec<&PeerResult> = peers.iter().filter(|p| p.outcome.is_ok()).collect();
    let peers_ok = ran
        .iter()
        .all(|p| p.outcome.as_ref().is_ok_and(|(t, _)| p.proofline < *t));
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("target <= 1.5x the floor on every image: {}", met(floor_ok));
    println!(
        "target faster than each peer on its own ecosystem ({} peer runs): {}",
        ran.len(),
        if ran.is_empty() {
            "not measured"
        } else {
            met(peers_ok)
        }
    );
    println!("target peak RSS < 128 MiB on every image: {}", met(rss_ok));
}

fn difference(ours: &PackageSet, theirs: &PackageSet) -> String {
    let only_ours: Vec<String> = ours
        .difference(theirs)
        .map(|(n, v)| format!("{n}@{v}"))
        .collect();
    let only_theirs: Vec<String> = theirs
        .difference(ours)
        .map(|(n, v)| format!("{n}@{v}"))
        .collect();
    format!("no: only ours {only_ours:?}, only peer {only_theirs:?}")
}
