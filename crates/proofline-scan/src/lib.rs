//! Proofline's scan stage: every package of an image (or of an SBOM) matched against an
//! offline OSV database, findings merged by alias, scored from their CVSS vectors, waived by
//! VEX or by reasoned, expiring ignores, gated on severity, and written as evidence (report,
//! in-toto vulns statement, SARIF, GitLab container-scanning report, OpenVEX, summary).

pub mod args;
pub mod database;
pub mod db_cli;
pub mod ignore;
pub mod output;
pub mod purl;
pub mod query;
pub mod report;
pub mod scan;
pub mod severity;
pub mod stage;
pub mod vex;

pub use args::{ScanArgs, ScanCommand, ScanCommandLine, ScanSettings};

use proofline_stagekit::{Outcome, StageCi};

/// Runs `proofline-scan` / `proofline scan` from its command line.
pub fn run_command_line(command_line: &ScanCommandLine) -> anyhow::Result<Outcome> {
    match &command_line.command {
        Some(ScanCommand::Db(db)) => db_cli::run(db),
        None => {
            let ci = StageCi::detect(&command_line.args.evidence_dir)?;
            stage::run(&command_line.args, &ci)
        }
    }
}
