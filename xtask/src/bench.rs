//! The image-reading benchmark: Proofline's `image ls` against the floor of decompressing and
//! SHA-256-hashing every layer with the fastest tools installed here, both on one core.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// OCI layout to read, as `oci:PATH[:TAG]` (e.g. python-app from shared/corpus/build-images.sh).
    /// Default: a large image built once from this machine's own /usr (target/bench/host-image).
    #[arg(long)]
    image: Option<String>,
    /// Uncompressed size of the default image, in MiB.
    #[arg(long, default_value_t = 600)]
    host_image_mib: u64,
    /// Runs of each side; the fastest run counts.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// CPU to pin both sides to.
    #[arg(long, default_value_t = 0)]
    cpu: u32,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    for tool in ["taskset", "sh"] {
        which(tool).with_context(|| format!("`{tool}` is needed: apt-get install util-linux"))?;
    }
    if !Path::new("/usr/bin/time").exists() {
        bail!("GNU time is needed to measure peak memory: apt-get install time");
    }
    let root = workspace_root()?;
    eprintln!("building proofline (release)…");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--locked", "-p", "proofline"])
        .current_dir(&root)
        .status()?;
    if !status.success() {
        bail!("cargo build --release -p proofline failed");
    }
    let proofline = root.join("target/release/proofline");

    let (reference, layout) = match &args.image {
        Some(r) => {
            let path = r
                .strip_prefix("oci:")
                .context("--image must be an OCI layout: oci:PATH[:TAG]")?;
            let path = path.rsplit_once(':').map_or(path, |(p, _)| p);
            (r.clone(), PathBuf::from(path))
        }
        None => {
            let dir = root.join("target/bench/host-image");
            if !dir.join("index.json").exists() {
                eprintln!(
                    "building the benchmark image from /usr ({} MiB, once)…",
                    args.host_image_mib
                );
                build_host_image(&dir, args.host_image_mib * 1024 * 1024)?;
            }
            (format!("oci:{}", dir.display()), dir)
        }
    };
    let layers = layers_of(&layout)?;
    let compressed: u64 = layers.iter().map(|l| l.size).sum();
    eprintln!(
        "image {reference}: {} layers, {} MiB compressed",
        layers.len(),
        compressed >> 20
    );

    // Warm the page cache so both sides read from memory.
    for l in &layers {
        fs::read(&l.path)?;
    }

    let cpu = args.cpu.to_string();
    let (floor, floor_tools) = floor(&layers, &cpu, args.runs)?;

    let mut best = Duration::MAX;
    let mut peak_kib = 0u64;
    let mut entries = 0usize;
    for _ in 0..args.runs {
        let out_path = root.join("target/bench/ls.jsonl");
        fs::create_dir_all(root.join("target/bench"))?;
        let out = File::create(&out_path)?;
        let start = Instant::now();
        let o = Command::new("taskset")
            .args(["-c", &cpu, "/usr/bin/time", "-f", "PEAK_RSS_KIB=%M"])
            .arg(&proofline)
            .args(["image", "ls", "--log-level", "error", &reference])
            .stdout(out)
            .stderr(Stdio::piped())
            .output()?;
        let took = start.elapsed();
        let stderr = String::from_utf8_lossy(&o.stderr);
        if !o.status.success() {
            bail!("proofline image ls failed: {stderr}");
        }
        let rss = stderr
            .lines()
            .find_map(|l| l.strip_prefix("PEAK_RSS_KIB="))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .context("could not read the peak RSS from GNU time")?;
        peak_kib = peak_kib.max(rss);
        best = best.min(took);
        entries = fs::read_to_string(&out_path)?.lines().count();
    }

    let ratio = best.as_secs_f64() / floor.as_secs_f64();
    println!("benchmark: proofline image ls {reference}");
    println!("  entries listed         {entries}");
    println!(
        "  layers                 {} ({} MiB compressed)",
        layers.len(),
        compressed >> 20
    );
    println!(
        "  floor (one core)       {:.3} s  [{floor_tools}]",
        floor.as_secs_f64()
    );
    println!("  proofline (one core)   {:.3} s", best.as_secs_f64());
    println!("  ratio                  {ratio:.2}x   (target <= 1.30x)");
    println!(
        "  peak RSS               {:.1} MiB (target < 64 MiB)",
        peak_kib as f64 / 1024.0
    );
    Ok(())
}

pub(crate) struct Layer {
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    pub(crate) media_type: String,
}

pub(crate) fn layers_of(layout: &Path) -> Result<Vec<Layer>> {
    let index: serde_json::Value = serde_json::from_slice(&fs::read(layout.join("index.json"))?)?;
    let manifest_digest = index["manifests"][0]["digest"]
        .as_str()
        .context("index.json has no manifest")?;
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(blob_path(layout, manifest_digest)?)?)?;
    if manifest.get("layers").is_none() {
        bail!(
            "{}: the first index entry is not an image manifest (pick a single-platform layout)",
            layout.display()
        );
    }
    manifest["layers"]
        .as_array()
        .context("manifest has no layers")?
        .iter()
        .map(|l| {
            Ok(Layer {
                path: blob_path(
                    layout,
                    l["digest"].as_str().context("layer without digest")?,
                )?,
                size: l["size"].as_u64().unwrap_or(0),
                media_type: l["mediaType"].as_str().unwrap_or("").to_string(),
            })
        })
        .collect()
}

fn blob_path(layout: &Path, digest: &str) -> Result<PathBuf> {
    let hex = digest
        .strip_prefix("sha256:")
        .context("only sha256 digests")?;
    Ok(layout.join("blobs/sha256").join(hex))
}

/// Times every combination of the installed decompressors and hashers over all layers
/// (each pipeline pinned to one core) and returns the fastest total.
pub(crate) fn floor(layers: &[Layer], cpu: &str, runs: u32) -> Result<(Duration, String)> {
    let gzip: Vec<&str> = ["gzip -dc", "pigz -dc", "zstd -dcq --format=gzip"]
        .into_iter()
        .filter(|c| works(c, "gzip"))
        .collect();
    let zstd: Vec<&str> = ["zstd -dcq"]
        .into_iter()
        .filter(|c| works(c, "zstd"))
        .collect();
    let hashers: Vec<&str> = ["sha256sum", "openssl dgst -sha256"]
        .into_iter()
        .filter(|c| which(c.split(' ').next().unwrap_or(c)).is_ok())
        .collect();
    let mut best: Option<(Duration, String)> = None;
    for hasher in &hashers {
        for gz in &gzip {
            let zs = zstd.first().copied().unwrap_or("zstd -dcq");
            let mut total = Duration::ZERO;
            for layer in layers {
                let decompress = if layer.media_type.ends_with("zstd") {
                    zs
                } else if layer.media_type.ends_with("gzip") {
                    gz
                } else {
                    "cat"
                };
                let script = format!(
                    "{decompress} < '{}' | {hasher} > /dev/null",
                    layer.path.display()
                );
                let mut fastest = Duration::MAX;
                for _ in 0..runs {
                    let start = Instant::now();
                    let st = Command::new("taskset")
                        .args(["-c", cpu, "sh", "-c", &script])
                        .status()?;
                    if !st.success() {
                        bail!("floor command failed: {script}");
                    }
                    fastest = fastest.min(start.elapsed());
                }
                total += fastest;
            }
            let label = format!("{gz} | {hasher}");
            if best.as_ref().is_none_or(|(d, _)| total < *d) {
                best = Some((total, label));
            }
        }
    }
    best.context("no decompressor/hasher pair works here (need gzip and sha256sum)")
}

/// Whether a decompressor command can decompress a tiny sample of `kind`.
fn works(cmd: &str, kind: &str) -> bool {
    let compress = if kind == "gzip" {
        "printf x | gzip -c"
    } else {
        "printf x | zstd -qc"
    };
    Command::new("sh")
        .args(["-c", &format!("{compress} | {cmd} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

pub(crate) fn which(tool: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .with_context(|| format!("`{tool}` not found on PATH"))
}

pub(crate) fn workspace_root() -> Result<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

/// Builds an OCI layout of three gzip layers from this machine's /usr (regular files,
/// directories and symlinks only), about `budget` uncompressed bytes.
fn build_host_image(dir: &Path, budget: u64) -> Result<()> {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs)?;
    let sources = ["/usr/lib", "/usr/share", "/usr/bin"];
    let mut files = Vec::new();
    for s in sources {
        collect(Path::new(s), &mut files)?;
    }
    files.sort();
    let per_layer = budget / 3 + 1;
    let mut layers = Vec::new();
    let mut used = 0u64;
    let mut chunks: Vec<Vec<PathBuf>> = vec![Vec::new()];
    let mut in_chunk = 0u64;
    for f in files {
        let len = fs::symlink_metadata(&f)
            .map(|m| if m.is_file() { m.len() } else { 0 })
            .unwrap_or(0);
        if used + len > budget {
            break;
        }
        if in_chunk > per_layer {
            chunks.push(Vec::new());
            in_chunk = 0;
        }
        used += len;
        in_chunk += len;
        if let Some(c) = chunks.last_mut() {
            c.push(f);
        }
    }
    for chunk in chunks {
        let tmp = dir.join("layer.tmp");
        {
            let gz = flate2::write::GzEncoder::new(
                BufWriter::new(File::create(&tmp)?),
                flate2::Compression::default(),
            );
            let mut tar = tar::Builder::new(gz);
            tar.follow_symlinks(false);
            for f in &chunk {
                let name = f.strip_prefix("/").unwrap_or(f);
                // Unreadable files (permissions) are skipped: the image only needs to be large and real.
                let _ = tar.append_path_with_name(f, name);
            }
            tar.into_inner()?.finish()?.flush()?;
        }
        let (digest, size) = sha256_file(&tmp)?;
        fs::rename(&tmp, blobs.join(&digest))?;
        layers.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": format!("sha256:{digest}"),
            "size": size,
        }));
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"User": "65532"},
        "rootfs": {"type": "layers", "diff_ids": []},
    }))?;
    let config_digest = write_blob(&blobs, &config)?;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layers,
    }))?;
    let manifest_digest = write_blob(&blobs, &manifest)?;
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest.len()}],
        }))?,
    )?;
    Ok(())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(());
    };
    out.push(dir.to_path_buf());
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            collect(&p, out)?;
        } else if ft.is_file() || ft.is_symlink() {
            out.push(p);
        }
    }
    Ok(())
}

fn write_blob(blobs: &Path, bytes: &[u8]) -> Result<String> {
    let hex = proofline_evidence::sha256_hex(bytes);
    fs::write(blobs.join(&hex), bytes)?;
    Ok(format!("sha256:{hex}"))
}

fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let d = proofline_evidence::sha256_file(path)?;
    Ok((d.sha256, d.size))
}
