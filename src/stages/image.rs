//! The `image` stage: pins the image every later stage works on (manifest, config and layer
//! digests, platform), after verifying every blob against its digest.

use std::io;

use anyhow::Context;
use proofline_evidence::{EvidenceDir, Findings, Outcome, Record, StageInfo, Subject, media_type};
use proofline_oci::{Image, ImageRef, OpenOptions};
use serde::Serialize;

use proofline_stagekit::StageCi;

pub(crate) const STAGE: &str = "image";

/// The settings the stage ran with, as recorded.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Settings<'a> {
    image: &'a str,
    platform: String,
    max_uncompressed_bytes: u64,
}

/// Opens the image, verifies every layer blob, and records `image/image.json`.
pub(crate) fn run(
    dir: &EvidenceDir,
    ci: &StageCi,
    reference: &str,
    opts: &OpenOptions,
) -> anyhow::Result<Record> {
    let image_ref: ImageRef = reference.parse()?;
    let image = Image::open(&image_ref, opts)?;
    // Every layer read to its end through the verifying reader: the digests we record are
    // the bytes we saw, not just what the manifest claims.
    for layer in image.layers() {
        let mut blob = image.source().open_blob(layer)?;
        io::copy(&mut blob, &mut io::sink()).map_err(|e| {
            proofline_oci::OciError::io(
                format!("reading layer {} of {reference}", layer.digest()),
                e,
            )
        })?;
    }
    let inspect = image.inspect();
    let info = StageInfo::new(STAGE, env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .with_subject(Subject::new(reference).with_digest(image.digest().to_string()))
        .with_settings(&Settings {
            image: reference,
            platform: opts.platform.to_string(),
            max_uncompressed_bytes: opts.max_uncompressed_bytes,
        })?;
    let mut writer = dir.begin_stage(info)?;
    writer.write_json_artifact("image.json", media_type::JSON, &inspect)?;
    let layers = inspect.identity.layers.len() as u64;
    writer.set_findings(Findings::new(Outcome::Passed).with_count("layers", layers))?;

    let id = &inspect.identity;
    let mut summary = String::from("## Proofline: image\n\n| | |\n|---|---|\n");
    for (k, v) in [
        ("image", id.reference.clone()),
        ("digest", id.digest.to_string()),
        ("platform", id.platform.to_string()),
        ("config", id.config_digest.to_string()),
        ("layers", format!("{layers} (every blob verified)")),
    ] {
        summary.push_str(&format!(
            "| {k} | `{}` |\n",
            v.replace('|', "\\|").replace('`', "'")
        ));
    }
    ci.publish(
        &mut writer,
        &[
            ("image-digest", id.digest.to_string()),
            ("image-reference", id.reference.clone()),
        ],
        &summary,
    )?;
    let record = writer.finish().context("recording the image stage")?;
    tracing::info!("image {} pinned: {}", reference, id.digest);
    Ok(record)
}
