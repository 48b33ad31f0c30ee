//! Scalar values of a scenario file that check themselves while they are read, so that a bad
//! value is reported by the TOML reader with its line, column and key.

use std::fmt;

use serde::{Deserialize, Deserializer, de};

use crate::event::{FailReason, ObjectType, TimeMs};
use chrono::Timelike;

use crate::time::parse_rfc3339;

/// The longest duration accepted (100 years), so that sums of times never overflow.
pub const MAX_DURATION_MS: i64 = 100 * 365 * 86_400_000;

/// A duration written like `"5m"`, `"1h 30m"`, `"250ms"` or `"4d"`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Millis(pub i64);

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let parsed = humantime::parse_duration(text.trim()).map_err(|e| {
            de::Error::custom(format!(
                "invalid duration {text:?} ({e}); write e.g. \"250ms\", \"30s\", \"5m\", \"1h 30m\", \"4d\""
            ))
        })?;
        let ms = i64::try_from(parsed.as_millis())
            .ok()
            .filter(|&ms| ms <= MAX_DURATION_MS)
            .ok_or_else(|| de::Error::custom(format!("duration {text:?} is over 100 years")))?;
        Ok(Millis(ms))
    }
}

/// An RFC 3339 time such as `"2026-11-01T00:00:00Z"`, in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(pub TimeMs);

/// A time's text; a TOML date-time written without quotes is an error that says to quote it.
struct TimeText;

impl<'de> de::Visitor<'de> for TimeText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an RFC 3339 time as a quoted string, e.g. \"2026-11-01T00:00:00Z\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    /// The TOML reader hands an unquoted date-time over as a map of one entry.
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        let written = map
            .next_entry::<String, String>()
            .ok()
            .flatten()
            .map_or_else(String::new, |(_, v)| format!(" (not {v})"));
        Err(de::Error::custom(format!(
            "write times as quoted strings: \"2026-11-01T00:00:00Z\"{written}"
        )))
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(TimeText)?;
        if let Some(at) = parse_rfc3339(&text) {
            return Ok(Instant(at));
        }
        let leap = |t: &chrono::DateTime<chrono::FixedOffset>| t.nanosecond() >= 1_000_000_000;
        if chrono::DateTime::parse_from_rfc3339(&text).is_ok_and(|t| !leap(&t)) {
            return Err(de::Error::custom(format!(
                "time {text:?} is outside 1970 .. 9999"
            )));
        }
        Err(de::Error::custom(format!(
            "invalid time {text:?}; write RFC 3339, e.g. \"2026-11-01T00:00:00Z\""
        )))
    }
}

/// A probability: a number from 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Probability(pub f64);

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&p) {
            return Err(de::Error::custom(format!(
                "a probability must be between 0 and 1, got {p}"
            )));
        }
        Ok(Probability(p))
    }
}

/// A finite number that is zero or more (rates, weights).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct NonNegative(pub f64);

impl<'de> Deserialize<'de> for NonNegative {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = f64::deserialize(d)?;
        if !x.is_finite() || x < 0.0 {
            return Err(de::Error::custom(format!("must be a number >= 0, got {x}")));
        }
        Ok(NonNegative(x))
    }
}

/// An object type as the query API names it: `file`, `directory`, `regex`, `IgnoreParams`,
/// `preload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeName(pub ObjectType);

impl<'de> Deserialize<'de> for TypeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ObjectType::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .map(TypeName)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown object type {text:?}; expected one of file, directory, regex, \
                     IgnoreParams, preload"
                ))
            })
    }
}

/// A failure reason by its key: `internal_error`, `origin_timeout`, `origin_5xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasonName(pub FailReason);

/// The scenario-file key of each failure reason.
pub fn reason_key(reason: FailReason) -> &'static str {
    match reason {
        FailReason::InternalError => "internal_error",
        FailReason::OriginTimeout => "origin_timeout",
        FailReason::OriginStatus5xx => "origin_5xx",
    }
}

impl<'de> Deserialize<'de> for ReasonName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        FailReason::ALL
            .into_iter()
            .find(|r| reason_key(*r) == text)
            .map(ReasonName)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown failure reason {text:?}; expected one of internal_error, \
                     origin_timeout, origin_5xx"
                ))
            })
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = std::time::Duration::from_millis(self.0.max(0) as u64);
        write!(f, "{}", humantime::format_duration(d))
    }
}
