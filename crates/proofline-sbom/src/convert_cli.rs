//! `proofline-sbom convert IN OUT --to spdx|cyclonedx`: a foreign SBOM read into the inventory
//! and written by our own writers, so every later stage reads one model whatever made the SBOM.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context;
use proofline_stagekit::Outcome;

use crate::args::{ConvertArgs, ConvertTarget, SpdxVersion};
use crate::cyclonedx::{self, Subject};
use crate::{convert, spdx3, spdx23};

/// Read one byte past the reader's limit, so an oversized input gets its error.
const MAX_INPUT_BYTES: u64 = convert::MAX_BYTES as u64 + 1;

pub(crate) fn run(args: &ConvertArgs) -> anyhow::Result<Outcome> {
    let bytes = read_input(&args.input)?;
    let document = args.input.display().to_string();
    let foreign = convert::read_named(&document, &bytes)?;
    for w in &foreign.inventory.warnings {
        tracing::warn!("{w}");
    }
    // The document's own digest stands in when it names no image digest.
    let document_digest = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    );
    let subject = match &foreign.subject {
        Some(s) if !s.digest.is_empty() => s.clone(),
        Some(s) => Subject {
            name: s.name.clone(),
            digest: document_digest,
        },
        None => Subject {
            name: document.clone(),
            digest: document_digest,
        },
    };
    // The input's creation time, so converting the same document twice gives the same bytes.
    let timestamp = match document_time(&bytes) {
        Some(t) => t,
        None => crate::stage::creation_time(None)?.0,
    };
    let inventory = &foreign.inventory;
    let serialised = match args.to {
        ConvertTarget::Cyclonedx => serde_json::to_vec_pretty(&cyclonedx::write(
            inventory,
            &subject,
            args.cyclonedx_version.into(),
            &timestamp,
        )),
        ConvertTarget::Spdx => match args.spdx_version {
            SpdxVersion::V3_0_1 => {
                serde_json::to_vec_pretty(&spdx3::write(inventory, &subject, &timestamp))
            }
            SpdxVersion::V2_3 => {
                serde_json::to_vec_pretty(&spdx23::write(inventory, &subject, &timestamp))
            }
        },
    };
    let mut out = serialised.context("serialising the SBOM")?;
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
            .take(MAX_INPUT_BYTES)
            .read_to_end(&mut bytes)
            .context("reading the SBOM from standard input")?;
    } else {
        std::fs::File::open(path)
            .with_context(|| format!("opening {what}: check the path"))?
            .take(MAX_INPUT_BYTES)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {what}"))?;
    }
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

/// The creation time a CycloneDX (`metadata.timestamp`), SPDX 2 (`creationInfo.created`) or
/// SPDX 3 (`CreationInfo.created`) document records, as RFC 3339 whole seconds in UTC.
fn document_time(bytes: &[u8]) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let raw = doc
        .pointer("/metadata/timestamp")
        .or_else(|| doc.pointer("/creationInfo/created"))
        .or_else(|| {
            doc.get("@graph")?
                .as_array()?
                .iter()
                .find(|e| e.get("type").and_then(|t| t.as_str()) == Some("CreationInfo"))?
                .get("created")
        })?
        .as_str()?;
    crate::stage::whole_seconds_utc(raw)
}
