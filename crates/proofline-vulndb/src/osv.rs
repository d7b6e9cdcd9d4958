//! The OSV schema (https://ossf.github.io/osv-schema/, 1.6/1.7) as serde types: one model for the
//! JSON every database exports and the YAML PyPA keeps, read with size and YAML budgets so a
//! hostile advisory file cannot exhaust memory, and errors that name the file and the field.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The largest advisory file read (OSV's biggest real records are a few hundred KiB).
pub const MAX_ADVISORY_BYTES: u64 = 16 * 1024 * 1024;

/// One OSV record. Unknown fields are ignored; `null` stands for an empty list wherever the schema
/// has a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    pub id: String,
    /// RFC 3339; the newest copy of a duplicated id wins in an index.
    pub modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Set when the record was withdrawn: it stays in the index, matching skips it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub aliases: Vec<String>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub related: Vec<String>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub upstream: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Dropped from index records (see [`Advisory::trimmed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<Severity>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub affected: Vec<Affected>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub references: Vec<Reference>,
    /// Dropped from index records (see [`Advisory::trimmed`]).
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub credits: Vec<Credit>,
    /// GHSA keeps its own severity here (`{"severity": "CRITICAL|HIGH|MODERATE|LOW"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

impl Advisory {
    /// The record as an index keeps it: without `details` and `credits`, which neither matching
    /// nor any report uses.
    pub fn trimmed(mut self) -> Self {
        self.details = None;
        self.credits = Vec::new();
        self
    }

    /// `modified` as a time, `None` when it is not RFC 3339.
    pub fn modified_at(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.modified, &Rfc3339).ok()
    }

    /// Whether the record has been withdrawn (matching skips it).
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn
            .as_deref()
            .is_some_and(|w| !w.trim().is_empty())
    }

    /// The database's own severity word (GHSA: `database_specific.severity`), if any.
    pub fn database_severity(&self) -> Option<&str> {
        self.database_specific.as_ref()?.get("severity")?.as_str()
    }

    /// Whether `self` should replace `other` (same id): the newer `modified` wins; times that do
    /// not parse compare as text, and a parsable time beats an unparsable one.
    pub fn newer_than(&self, other: &Self) -> bool {
        match (self.modified_at(), other.modified_at()) {
            (Some(a), Some(b)) => a > b,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => self.modified > other.modified,
        }
    }
}

/// `severity[]` of a record or of one affected package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Severity {
    #[serde(rename = "type")]
    pub kind: SeverityType,
    /// A CVSS vector (`CVSS:3.1/AV:N/…`) or, for `Ubuntu`, a priority word.
    pub score: String,
}

/// The scoring system of a [`Severity`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum SeverityType {
    CvssV2,
    CvssV3,
    CvssV4,
    Ubuntu,
    /// A type this schema version does not know, kept by name.
    Other(String),
}

impl From<String> for SeverityType {
    fn from(value: String) -> Self {
        match value.as_str() {
            "CVSS_V2" => Self::CvssV2,
            "CVSS_V3" => Self::CvssV3,
            "CVSS_V4" => Self::CvssV4,
            "Ubuntu" => Self::Ubuntu,
            _ => Self::Other(value),
        }
    }
}

impl SeverityType {
    /// The OSV spelling (`CVSS_V3`, `Ubuntu`, …).
    pub fn as_str(&self) -> &str {
        match self {
            Self::CvssV2 => "CVSS_V2",
            Self::CvssV3 => "CVSS_V3",
            Self::CvssV4 => "CVSS_V4",
            Self::Ubuntu => "Ubuntu",
            Self::Other(other) => other,
        }
    }
}

impl From<SeverityType> for String {
    fn from(value: SeverityType) -> Self {
        match value {
            SeverityType::Other(other) => other,
            known => known.as_str().to_string(),
        }
    }
}

/// `affected[]`: one package and the versions of it the record affects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// Absent only in records that affect a git repository rather than a package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<Severity>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ranges: Vec<Range>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub versions: Vec<String>,
    /// RustSec: `affects.functions`, `affects.os`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    /// RustSec: `informational` (`unmaintained`, `unsound`, …), `categories`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// `affected[].package`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// The OSV ecosystem with its release, as written (`Debian:12`).
    pub ecosystem: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// `affected[].ranges[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub events: Vec<Event>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// How a [`Range`]'s versions are ordered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum RangeType {
    Ecosystem,
    Semver,
    Git,
    /// A type this schema version does not know, kept by name (matching cannot use it).
    Other(String),
}

impl From<String> for RangeType {
    fn from(value: String) -> Self {
        match value.as_str() {
            "ECOSYSTEM" => Self::Ecosystem,
            "SEMVER" => Self::Semver,
            "GIT" => Self::Git,
            _ => Self::Other(value),
        }
    }
}

impl From<RangeType> for String {
    fn from(value: RangeType) -> Self {
        match value {
            RangeType::Ecosystem => "ECOSYSTEM".into(),
            RangeType::Semver => "SEMVER".into(),
            RangeType::Git => "GIT".into(),
            RangeType::Other(other) => other,
        }
    }
}

/// One event of a range: exactly one of `introduced`, `fixed`, `last_affected`, `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "RawEvent")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl Event {
    /// The version the event names.
    pub fn version(&self) -> &str {
        match self {
            Self::Introduced(v) | Self::Fixed(v) | Self::LastAffected(v) | Self::Limit(v) => v,
        }
    }
}

#[derive(Deserialize)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

impl TryFrom<RawEvent> for Event {
    type Error = String;

    fn try_from(raw: RawEvent) -> Result<Self, Self::Error> {
        let events = [
            raw.introduced.map(Event::Introduced),
            raw.fixed.map(Event::Fixed),
            raw.last_affected.map(Event::LastAffected),
            raw.limit.map(Event::Limit),
        ];
        let mut present = events.into_iter().flatten();
        match (present.next(), present.next()) {
            (Some(event), None) => Ok(event),
            (None, _) => Err(
                "a range event needs one of `introduced`, `fixed`, `last_affected`, `limit`".into(),
            ),
            (Some(_), Some(_)) => Err(
                "a range event has more than one of `introduced`, `fixed`, `last_affected`, `limit`"
                    .into(),
            ),
        }
    }
}

/// `references[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// `ADVISORY`, `WEB`, `FIX`, `PACKAGE`, … as written.
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

/// `credits[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub name: String,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub contact: Vec<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A list that may also be written `null`.
fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// How an advisory file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// The format of a file by its name (`.json`, `.yaml`, `.yml`, any case); `None` for others.
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Self::Json)
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Self::Yaml)
        } else {
            None
        }
    }
}

/// Why an advisory file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OsvError {
    #[error(
        "{file}: {size} bytes, more than the {MAX_ADVISORY_BYTES} accepted for one OSV advisory; is it an advisory?"
    )]
    TooLarge { file: String, size: u64 },
    #[error("{file}: malformed OSV advisory at `{field}`: {reason}")]
    Malformed {
        file: String,
        field: String,
        reason: String,
    },
    #[error("{file}: not valid {format}: {reason}")]
    Syntax {
        file: String,
        format: &'static str,
        reason: String,
    },
}

/// The outcome of reading one advisory file.
#[derive(Debug)]
pub enum Parsed {
    Advisory(Box<Advisory>),
    /// Valid JSON/YAML, but not an OSV record (a README, a schema, `package.json`): the reason.
    NotOsv(String),
}

/// Parses one advisory file; `file` names it in errors. A document that is not OSV-shaped (no
/// string `id` next to `modified`, `affected` or `schema_version`) is [`Parsed::NotOsv`]; one
/// that is OSV-shaped but breaks the schema is an error naming the field.
pub fn parse_advisory(bytes: &[u8], format: Format, file: &str) -> Result<Parsed, OsvError> {
    let size = bytes.len() as u64;
    if size > MAX_ADVISORY_BYTES {
        return Err(OsvError::TooLarge {
            file: file.to_string(),
            size,
        });
    }
    let typed = match format {
        Format::Json => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            serde_path_to_error::deserialize::<_, Advisory>(&mut de)
                .map_err(|e| (e.path().to_string(), e.into_inner().to_string()))
                .and_then(|a| {
                    de.end()
                        .map(|()| a)
                        .map_err(|e| (String::new(), e.to_string()))
                })
        }
        Format::Yaml => serde_saphyr::from_slice_with_options::<Advisory>(bytes, yaml_options())
            .map_err(|e| (String::new(), e.to_string())),
    };
    let (field, reason) = match typed {
        Ok(advisory) => return Ok(Parsed::Advisory(Box::new(advisory))),
        Err(e) => e,
    };
    // Slow path, only for files that failed: is the document OSV-shaped at all, and which field
    // broke (YAML errors carry a line, not a path)?
    let value: Value = match format {
        Format::Json => serde_json::from_slice(bytes),
        Format::Yaml => serde_saphyr::from_slice_with_options(bytes, yaml_options())
            .map_err(|e| serde::de::Error::custom(e.to_string())),
    }
    .map_err(|e: serde_json::Error| OsvError::Syntax {
        file: file.to_string(),
        format: match format {
            Format::Json => "JSON",
            Format::Yaml => "YAML",
        },
        reason: e.to_string(),
    })?;
    if let Some(why) = not_osv(&value) {
        return Ok(Parsed::NotOsv(why));
    }
    let (field, reason) = match format {
        Format::Json => (field, reason),
        Format::Yaml => match serde_path_to_error::deserialize::<_, Advisory>(&value) {
            Err(e) => (e.path().to_string(), format!("{} ({reason})", e.inner())),
            Ok(_) => (field, reason),
        },
    };
    Err(OsvError::Malformed {
        file: file.to_string(),
        field: if field.is_empty() { ".".into() } else { field },
        reason,
    })
}

/// Why a parsed document is not an OSV record, or `None` when it looks like one.
fn not_osv(value: &Value) -> Option<String> {
    let Some(object) = value.as_object() else {
        return Some("the document is not a mapping".into());
    };
    if !object.get("id").is_some_and(Value::is_string) {
        return Some("no string `id`".into());
    }
    if !["modified", "affected", "schema_version", "published"]
        .iter()
        .any(|k| object.contains_key(*k))
    {
        return Some("an `id` but none of `modified`, `affected`, `schema_version`".into());
    }
    None
}

/// YAML budgets for one advisory: far above PyPA's largest record, far below an alias bomb.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: 1,
            max_nodes: 500_000,
            max_events: 2_000_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_depth: 32,
            max_total_scalar_bytes: MAX_ADVISORY_BYTES as usize,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn parse(text: &str, format: Format) -> Result<Parsed, OsvError> {
        parse_advisory(text.as_bytes(), format, "test-file")
    }

    fn advisory(text: &str, format: Format) -> Advisory {
        match parse(text, format).unwrap() {
            Parsed::Advisory(a) => *a,
            Parsed::NotOsv(why) => panic!("not OSV: {why}"),
        }
    }

    #[test]
    fn json_and_yaml_give_the_same_record() {
        let json = r#"{"id":"PYSEC-1","modified":"2024-01-01T00:00:00Z","aliases":null,
            "affected":[{"package":{"ecosystem":"PyPI","name":"flask"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"0.12.3"}]}],
            "versions":["0.10","1.0"]}],"unknown_field":{"x":1}}"#;
        let yaml = "id: PYSEC-1\nmodified: '2024-01-01T00:00:00Z'\naliases:\naffected:\n- package:\n    ecosystem: PyPI\n    name: flask\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: '0'\n    - fixed: 0.12.3\n  versions:\n  - '0.10'\n  - '1.0'\nunknown_field: 3\n";
        assert_eq!(advisory(json, Format::Json), advisory(yaml, Format::Yaml));
    }

    #[test]
    fn event_with_two_kinds_names_the_field() {
        let json = r#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"a"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]}"#;
        let err = parse(json, Format::Json).unwrap_err().to_string();
        assert!(err.contains("test-file"), "{err}");
        assert!(err.contains("affected[0].ranges[0].events[0]"), "{err}");
        assert!(err.contains("more than one"), "{err}");
    }

    #[test]
    fn yaml_type_error_names_the_field() {
        let yaml = "id: X-1\nmodified: '2024-01-01T00:00:00Z'\naffected:\n- package:\n    ecosystem: PyPI\n    name: [not, a, string]\n";
        let err = parse(yaml, Format::Yaml).unwrap_err().to_string();
        assert!(err.contains("affected[0].package.name"), "{err}");
    }

    #[test]
    fn missing_modified_is_malformed_not_skipped() {
        let err = parse(r#"{"id":"X-1","affected":[]}"#, Format::Json).unwrap_err();
        assert!(err.to_string().contains("modified"), "{err}");
    }

    #[test]
    fn non_osv_documents_are_recognised() {
        for (text, format) in [
            (r#"{"name":"left-pad","version":"1.0.0"}"#, Format::Json),
            ("[1, 2, 3]", Format::Json),
            ("title: README\n", Format::Yaml),
            (r#"{"id":"abc"}"#, Format::Json),
        ] {
            assert!(
                matches!(parse(text, format).unwrap(), Parsed::NotOsv(_)),
                "{text}"
            );
        }
    }

    #[test]
    fn syntax_errors_name_the_format() {
        let err = parse("{not json", Format::Json).unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
    }

    #[test]
    fn yaml_alias_bomb_stops_at_the_budget() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        bomb.push_str("id: X\nmodified: '2024-01-01T00:00:00Z'\n");
        assert!(parse(&bomb, Format::Yaml).is_err());
    }

    #[test]
    fn oversized_file_is_refused_before_parsing() {
        let big = vec![b' '; (MAX_ADVISORY_BYTES + 1) as usize];
        let err = parse_advisory(&big, Format::Json, "big.json").unwrap_err();
        assert!(matches!(err, OsvError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn newest_modified_wins_and_trim_drops_details() {
        let old = advisory(
            r#"{"id":"A","modified":"2023-01-01T00:00:00Z","details":"long","credits":[{"name":"x"}]}"#,
            Format::Json,
        );
        let new = advisory(
            r#"{"id":"A","modified":"2024-01-01T00:00:00+01:00"}"#,
            Format::Json,
        );
        assert!(new.newer_than(&old));
        assert!(!old.newer_than(&new));
        let t = old.trimmed();
        assert!(t.details.is_none() && t.credits.is_empty());
    }

    #[test]
    fn serialised_record_round_trips() {
        let a = advisory(
            r#"{"id":"GHSA-1","modified":"2024-01-01T00:00:00Z","severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:N"},{"type":"NEW","score":"x"}],
            "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"last_affected":"3.0"}]},{"type":"GIT","repo":"r","events":[{"limit":"abc"}]}]}],
            "database_specific":{"severity":"CRITICAL"}}"#,
            Format::Json,
        );
        assert_eq!(a.database_severity(), Some("CRITICAL"));
        assert_eq!(a.severity[1].kind, SeverityType::Other("NEW".into()));
        let bytes = serde_json::to_vec(&a).unwrap();
        assert_eq!(
            advisory(std::str::from_utf8(&bytes).unwrap(), Format::Json),
            a
        );
    }

    /// An unquoted `1.10` in a YAML `versions` list must stay the text `1.10`, never become the
    /// number 1.1 (a different version).
    #[test]
    fn plain_number_like_versions_keep_their_text() {
        let yaml = "id: X-1\nmodified: '2024-01-01T00:00:00Z'\naffected:\n- package:\n    ecosystem: PyPI\n    name: a\n  versions:\n  - 1.10\n  - 2\n  - 0.12.3\n";
        match parse_advisory(yaml.as_bytes(), Format::Yaml, "f.yaml") {
            Ok(Parsed::Advisory(a)) => assert_eq!(a.affected[0].versions, ["1.10", "2", "0.12.3"]),
            other => panic!("{other:?}"),
        }
    }
}
