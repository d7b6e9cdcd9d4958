//! `proofline source`: the source stage, exactly as `proofline-source` runs it.

use proofline_source::SourceArgs;
use proofline_stagekit::StageCi;

use crate::Outcome;

pub(crate) fn run(args: &SourceArgs) -> anyhow::Result<Outcome> {
    let ci = StageCi::detect(&args.evidence_dir)?;
    proofline_source::stage::run(args, &ci)
}
