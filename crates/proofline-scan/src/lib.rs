//! Proofline's scan stage: every package of an image (or of an SBOM) matched against an
//! offline OSV database, findings merged by alias, scored from their CVSS vectors, waived by
//! VEX or by reasoned, expiring ignores, gated on severity, and written as evidence (report,
//! in-toto vulns statement, SARIF, GitLab container-scanning report, OpenVEX, summary).

pub mod output;
pub mod report;
pub mod vex;
