//! `proofline evidence verify`: re-hash the evidence directory and list what is wrong.

use std::io::{self, Write};

use anyhow::Context;
use proofline_evidence::EvidenceDir;

use crate::Outcome;
use crate::cli::{EvidenceVerifyArgs, Format};

pub(crate) fn verify(args: &EvidenceVerifyArgs) -> anyhow::Result<Outcome> {
    let dir = EvidenceDir::open_existing(&args.evidence_dir).with_context(|| {
        format!(
            "opening the evidence directory {}",
            args.evidence_dir.display()
        )
    })?;
    let report = dir.verify()?;
    let mut out = io::stdout().lock();
    match args.format {
        Format::Json => out.write_all(&report.to_json()?)?,
        Format::Text => out.write_all(report.render_text().as_bytes())?,
    }
    Ok(if report.is_clean() {
        Outcome::Passed
    } else {
        Outcome::Violation
    })
}
