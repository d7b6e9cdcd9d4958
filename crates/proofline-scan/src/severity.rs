//! Severity from what the advisories say: the base score computed from each CVSS vector (v4.0,
//! v3.1, v3.0, v2), never a stored number; the database's own rating when no vector is given.

use std::str::FromStr;

use crate::report::{Cvss, Severity};

/// What one advisory (or several merged by alias) says about severity.
#[derive(Debug, Default)]
pub struct SeverityInput<'a> {
    /// OSV `severity[]` entries (top-level and per `affected[]`): (`type`, `score`).
    pub vectors: Vec<(&'a str, &'a str)>,
    /// A database's own rating (`database_specific.severity` of GitHub's and others' records:
    /// `CRITICAL`, `HIGH`, `MODERATE`, `LOW`).
    pub ratings: Vec<&'a str>,
}

/// The severity decided, the vector it came from, and vectors that could not be read.
#[derive(Debug, PartialEq)]
pub struct Decided {
    pub severity: Severity,
    pub cvss: Option<Cvss>,
    /// `vector: why`, for the log (a malformed vector never decides a severity).
    pub unreadable: Vec<String>,
}

/// Decides a finding's severity: the newest CVSS version present wins (4.0 over 3.x over 2),
/// and among vectors of that version the highest score (two databases may score one CVE
/// differently; the gate takes the worse). With no readable vector, the highest database
/// rating; with neither, UNKNOWN.
pub fn decide(input: &SeverityInput<'_>) -> Decided {
    let mut best: Option<(u8, Cvss)> = None;
    let mut unreadable = Vec::new();
    for (kind, score) in &input.vectors {
        match score_vector(kind, score) {
            Ok(Some((rank, cvss))) => {
                let better = match &best {
                    None => true,
                    Some((r, c)) => rank > *r || (rank == *r && cvss.score > c.score),
                };
                if better {
                    best = Some((rank, cvss));
                }
            }
            Ok(None) => {}
            Err(why) => unreadable.push(format!("{score}: {why}")),
        }
    }
    if let Some((_, cvss)) = best {
        let severity = severity_of(&cvss);
        return Decided {
            severity,
            cvss: Some(cvss),
            unreadable,
        };
    }
    let severity = input
        .ratings
        .iter()
        .filter_map(|r| rating(r))
        .max()
        .unwrap_or(Severity::Unknown);
    Decided {
        severity,
        cvss: None,
        unreadable,
    }
}

/// A CVSS 2 High is "High" on its own scale (v2 has no Critical); v3 and v4 share one scale.
/// A base score of 0.0 ("None") is LOW: the advisory still names a vulnerable version.
fn severity_of(cvss: &Cvss) -> Severity {
    if cvss.version == "2.0" {
        return if cvss.score >= 7.0 {
            Severity::High
        } else if cvss.score >= 4.0 {
            Severity::Medium
        } else {
            Severity::Low
        };
    }
    Severity::from_score(cvss.score)
}

/// Ranks and scores one OSV severity entry; `Ok(None)` for types that are not CVSS (e.g.
/// `Ubuntu`'s priority words, which arrive as ratings instead).
fn score_vector(kind: &str, vector: &str) -> Result<Option<(u8, Cvss)>, String> {
    let (rank, version) = match kind {
        "CVSS_V4" => (4, "4.0"),
        "CVSS_V3" => {
            if vector.starts_with("CVSS:3.1/") {
                (3, "3.1")
            } else {
                (2, "3.0")
            }
        }
        "CVSS_V2" => (1, "2.0"),
        _ => return Ok(None),
    };
    let trimmed = vector.trim();
    // Every base metric must be there: the parser fills a missing one with a default, and a
    // score from a half vector is a guess.
    let required: &[&str] = match rank {
        4 => &[
            "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
        ],
        2 | 3 => &["AV", "AC", "PR", "UI", "S", "C", "I", "A"],
        _ => &["AV", "AC", "Au", "C", "I", "A"],
    };
    let present: Vec<&str> = trimmed
        .split('/')
        .filter_map(|part| part.split_once(':').map(|(k, _)| k))
        .collect();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|m| !present.contains(m))
        .collect();
    if !missing.is_empty() {
        return Err(format!("base metric(s) {} missing", missing.join(", ")));
    }
    // OSV's CVSS_V2 entries are bare vectors; the crate reads them without a prefix too.
    let parsed = cvss::Cvss::from_str(trimmed).map_err(|e| e.to_string())?;
    let matches_kind = matches!(
        (&parsed, rank),
        (cvss::Cvss::CvssV40(_), 4)
            | (cvss::Cvss::CvssV31(_), 3)
            | (cvss::Cvss::CvssV30(_), 2)
            | (cvss::Cvss::CvssV20(_), 1)
    );
    if !matches_kind {
        return Err(format!(
            "an entry of type {kind} holds a different CVSS version"
        ));
    }
    let score = parsed.score();
    if !score.is_finite() || !(0.0..=10.0).contains(&score) {
        return Err(format!("base score {score} is outside 0.0–10.0"));
    }
    Ok(Some((
        rank,
        Cvss {
            version: version.to_string(),
            vector: trimmed.to_string(),
            score: (score * 10.0).round() / 10.0,
        },
    )))
}

/// A database's own rating word.
fn rating(word: &str) -> Option<Severity> {
    Some(match word.trim().to_ascii_uppercase().as_str() {
        "CRITICAL" => Severity::Critical,
        "HIGH" | "IMPORTANT" => Severity::High,
        "MODERATE" | "MEDIUM" => Severity::Medium,
        "LOW" | "NEGLIGIBLE" | "UNIMPORTANT" => Severity::Low,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn decide_vectors(v: &[(&str, &str)]) -> Decided {
        decide(&SeverityInput {
            vectors: v.to_vec(),
            ratings: vec![],
        })
    }

    #[test]
    fn v31_computed_not_trusted() {
        // CVE-2021-44228 (log4shell): 10.0 by NVD's vector.
        let d = decide_vectors(&[("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")]);
        assert_eq!(d.severity, Severity::Critical);
        assert_eq!(d.cvss.unwrap().score, 10.0);
        let d = decide_vectors(&[("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")]);
        assert_eq!(d.cvss.as_ref().unwrap().score, 9.8);
        let d = decide_vectors(&[("CVSS_V3", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N")]);
        assert_eq!(d.cvss.as_ref().unwrap().score, 3.1);
        assert_eq!(d.severity, Severity::Low);
    }

    #[test]
    fn v40_preferred_over_v31() {
        let d = decide_vectors(&[
            ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            (
                "CVSS_V4",
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
            ),
        ]);
        let cvss = d.cvss.unwrap();
        assert_eq!(cvss.version, "4.0");
        assert_eq!(cvss.score, 6.9);
        assert_eq!(d.severity, Severity::Medium);
        let d = decide_vectors(&[(
            "CVSS_V4",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        )]);
        assert_eq!(d.cvss.unwrap().score, 9.3);
        assert_eq!(d.severity, Severity::Critical);
    }

    #[test]
    fn highest_of_one_version() {
        let d = decide_vectors(&[
            ("CVSS_V3", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"),
            ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"),
        ]);
        assert_eq!(d.cvss.unwrap().score, 7.5);
        assert_eq!(d.severity, Severity::High);
    }

    #[test]
    fn v2_has_no_critical() {
        let d = decide_vectors(&[("CVSS_V2", "AV:N/AC:L/Au:N/C:C/I:C/A:C")]);
        assert_eq!(d.cvss.as_ref().unwrap().score, 10.0);
        assert_eq!(d.severity, Severity::High);
    }

    #[test]
    fn malformed_vectors_never_decide() {
        let d = decide(&SeverityInput {
            vectors: vec![
                ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H"),
                ("CVSS_V3", "9.8"),
                ("CVSS_V4", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
                ("Ubuntu", "high"),
            ],
            ratings: vec!["MODERATE"],
        });
        assert_eq!(d.cvss, None);
        assert_eq!(d.severity, Severity::Medium);
        assert_eq!(d.unreadable.len(), 3, "{:?}", d.unreadable);
    }

    #[test]
    fn ratings_and_unknown() {
        let d = decide(&SeverityInput {
            vectors: vec![],
            ratings: vec!["LOW", "CRITICAL", "bogus"],
        });
        assert_eq!(d.severity, Severity::Critical);
        assert_eq!(
            decide(&SeverityInput::default()).severity,
            Severity::Unknown
        );
    }
}
