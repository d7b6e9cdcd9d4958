//! `proofline-sbom convert IN OUT --to spdx|cyclonedx`: a foreign SBOM read into the inventory
//! and written by our own writers, so every later stage reads one model whatever made the SBOM.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context;
use proofline_stagekit::Outcome;

use crate::args::{ConvertArgs, ConvertTarget, SpdxVersion};
use crate::cyclonedx::{self, Subject};
use crate::{convert, spdx3, spdx23};

/// The largest SBOM `convert` reads.
const MAX_INPUT_BYTES: u64 = 512 * 1024 * 1024;

pub(crate) fn run(args: &ConvertArgs) -> anyhow::Result<Outcome> {
    let bytes = read_input(&args.input)?;
    let foreign = convert::read(&bytes)
        .with_context(|| format!("reading {}", args.input.display()))?;
    for w in &foreign.inventory.warnings {
        tracing::warn!("{w}");
    }
    let subject = match &foreign.subject {
        Some((name, digest)) => Subject {
            name: name.clone(),
            digest: digest.clone(),
        },
        None => Subject {
            name: args.input.display().to_string(),
            digest: format!(
                "sha256:{}",
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
            ),
        },
    };
    let timestamp = foreign
        .created
        .clone()
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string());
    let document = match args.to {
        ConvertTarget::Cyclonedx => cyclonedx::write(
            &foreign.inventory,
            &subject,
            args.cyclonedx_version.into(),
            &timestamp,
        ),
        ConvertTarget::Spdx => match args.spdx_version {
            SpdxVersion::V3_0_1 => spdx3::write(&foreign.inventory, &subject, &timestamp),
            SpdxVersion::V2_3 => spdx23::write(&foreign.inventory, &subject, &timestamp),
        },
    };
    let mut out = serde_json::to_vec_pretty(&document).context("serialising the SBOM")?;
    out.push(b'\n');
    write_output(&args.output, &out)?;
    tracing::info!(
        "{}: {} packages from {} written as {}",
        args.input.display(),
        foreign.inventory.packages.len(),
        foreign.format,
        match args.to {
            ConvertTarget::Cyclonedx => format!(
                "CycloneDX {}",
                cyclonedx::CycloneDxVersion::from(args.cyclonedx_version).as_str()
            ),
            ConvertTarget::Spdx => format!("SPDX {}", args.spdx_version.as_str()),
        }
    );
    Ok(Outcome::Passed)
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let what = path.display();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .context("reading the SBOM from standard input")?;
    } else {
        std::fs::File::open(path)
            .with_context(|| format!("opening {what}: check the path"))?
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {what}"))?;
    }
    anyhow::ensure!(
        bytes.len() as u64 <= MAX_INPUT_BYTES,
        "{what} is larger than {} MiB: that is not an SBOM we read",
        MAX_INPUT_BYTES / 1024 / 1024
    );
    Ok(bytes)
}

/// Writes atomically (a temporary file renamed into place), so a failure never leaves half a
/// document behind.
fn write_output(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .context("writing the SBOM to standard output")?;
        return Ok(());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
