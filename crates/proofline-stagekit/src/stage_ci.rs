//! What every stage does at its end besides its own artifacts: step outputs, a Markdown
//! summary, and recording both as evidence, the same way on GitHub, GitLab and locally.

use std::path::Path;

use anyhow::Context;
use proofline_ci::{Ci, CiOptions, Platform};
use proofline_evidence::{StageWriter, media_type};

/// The CI side of a stage: created before the stage runs, so a token is masked before
/// anything could print it.
#[derive(Debug)]
pub struct StageCi {
    ci: Ci,
    side: tempfile::TempDir,
}

impl StageCi {
    /// Detects where we run. GitLab's dotenv report and summary are first written to a
    /// private directory and then recorded as artifacts of the stage, so they are evidence
    /// like everything else and `evidence verify` accounts for them.
    pub fn detect(evidence_dir: &Path) -> anyhow::Result<Self> {
        let side = tempfile::Builder::new()
            .prefix(".proofline-ci-")
            .tempdir()
            .context("creating a temporary directory for CI outputs")?;
        let options = CiOptions {
            summary_file: Some(side.path().join("summary.md")),
            dotenv_file: Some(side.path().join("outputs.env")),
            ..CiOptions::default()
        };
        // Workflow commands go to stderr: stdout carries data (`image ls > files.jsonl`), and the
        // Actions runner reads commands from both streams.
        let ci = Ci::from_process_env(options)
            .with_context(|| {
                format!(
                    "reading the CI environment (evidence in {})",
                    evidence_dir.display()
                )
            })?
            .with_command_sink(std::io::stderr());
        ci.mask_tokens().context("masking the CI tokens")?;
        Ok(Self { ci, side })
    }

    pub fn ci(&self) -> &Ci {
        &self.ci
    }

    /// Sets the step outputs, appends the job summary, and records `summary.md` (and on
    /// GitLab `outputs.env`) as artifacts of the stage.
    pub fn publish(
        &self,
        writer: &mut StageWriter,
        outputs: &[(&str, String)],
        summary: &str,
    ) -> anyhow::Result<()> {
        for (name, value) in outputs {
            self.ci
                .set_output(name, value)
                .with_context(|| format!("setting the step output `{name}`"))?;
        }
        if self.ci.platform() != Platform::Local {
            self.ci
                .append_summary(summary)
                .context("writing the job summary")?;
        }
        writer.write_artifact("summary.md", summary.as_bytes(), media_type::MARKDOWN)?;
        let dotenv = self.side.path().join("outputs.env");
        if dotenv.exists() {
            let bytes =
                std::fs::read(&dotenv).with_context(|| format!("reading {}", dotenv.display()))?;
            writer.write_artifact("outputs.env", &bytes, media_type::TEXT)?;
        }
        Ok(())
    }
}
