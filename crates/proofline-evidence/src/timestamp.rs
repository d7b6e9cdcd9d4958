//! Record timestamps: RFC 3339, UTC, whole seconds, one canonical spelling; and the clock that makes them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{EvidenceError, Result};

/// A point in time as records store it: `2026-11-26T20:05:00Z` (UTC, whole seconds).
/// Reading refuses any other spelling (offsets, fractions), so a record has one form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The current time, truncated to the second.
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// Converts to UTC and truncates to the second.
    pub fn from_datetime(datetime: OffsetDateTime) -> Self {
        let utc = datetime.to_offset(time::UtcOffset::UTC);
        let truncated = utc.replace_nanosecond(0).unwrap_or(utc);
        Self(truncated)
    }

    /// Seconds since the Unix epoch (e.g. from `SOURCE_DATE_EPOCH`).
    pub fn from_unix_seconds(seconds: i64) -> Result<Self> {
        OffsetDateTime::from_unix_timestamp(seconds)
            .map(Self)
            .map_err(|e| EvidenceError::InvalidField {
                field: "timestamp",
                reason: format!("{seconds} seconds since the epoch is out of range: {e}"),
            })
    }

    /// Parses the canonical spelling.
    pub fn parse(s: &str) -> Result<Self, String> {
        let parsed = OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|e| format!("`{s}` is not an RFC 3339 timestamp: {e}"))?;
        let ts = Self::from_datetime(parsed);
        if ts.to_string() != s {
            return Err(format!(
                "`{s}` is not in the canonical form `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds)"
            ));
        }
        Ok(ts)
    }

    /// The underlying date-time (UTC).
    pub fn as_datetime(&self) -> OffsetDateTime {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Rfc3339 cannot fail for a UTC time with a four-digit year; fall back to Debug if it does.
        match self.0.format(&Rfc3339) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{:?}", self.0),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Where `startedAt`/`finishedAt` come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The system clock (the default).
    #[default]
    System,
    /// Always this time: for tests and reproducible runs (e.g. `SOURCE_DATE_EPOCH`, read by the binary).
    Fixed(Timestamp),
}

impl Clock {
    /// The current time according to this clock.
    pub fn now(&self) -> Timestamp {
        match self {
            Self::System => Timestamp::now(),
            Self::Fixed(ts) => *ts,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form() {
        let ts = Timestamp::from_unix_seconds(1_764_187_500).unwrap();
        assert_eq!(ts.to_string(), "2025-11-26T20:05:00Z");
        assert_eq!(Timestamp::parse("2025-11-26T20:05:00Z").unwrap(), ts);
        let json = serde_json::to_string(&ts).unwrap();
        assert_eq!(json, "\"2025-11-26T20:05:00Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), ts);
    }

    #[test]
    fn other_spellings_refused() {
        for bad in [
            "2025-11-26T21:05:00+01:00",
            "2025-11-26T20:05:00.5Z",
            "2025-11-26t20:05:00z",
            "2025-11-26 20:05:00Z",
            "yesterday",
            "",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn now_is_whole_seconds_utc() {
        let s = Timestamp::now().to_string();
        assert!(s.ends_with('Z') && s.len() == 20, "{s}");
        assert_eq!(Timestamp::parse(&s).unwrap().to_string(), s);
    }
}
