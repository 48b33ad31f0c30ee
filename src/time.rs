//! Virtual time: milliseconds since the Unix epoch, rendered in UTC.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};

use crate::event::TimeMs;

/// The first moment of the timeline: 1970-01-01T00:00:00.000Z.
pub const MIN_MS: TimeMs = 0;
/// The last moment of the timeline: 9999-12-31T23:59:59.999Z. Every time cdnsim stores or
/// serves is in `MIN_MS..=MAX_MS`, so sums of a time and a lifecycle never overflow.
pub const MAX_MS: TimeMs = 253_402_300_799_999;
/// The timeline's bounds, for messages.
pub const RANGE: &str = "between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z";

/// `at_ms + by_ms`, never past the end of the timeline ([`MAX_MS`]): a lifecycle that would
/// run past it ends on its last millisecond.
pub fn add(at_ms: TimeMs, by_ms: TimeMs) -> TimeMs {
    at_ms.saturating_add(by_ms).min(MAX_MS)
}

/// Renders `at_ms` as RFC 3339 UTC with milliseconds: `2018-01-10T09:48:29.123Z`.
pub fn format_ms(at_ms: TimeMs) -> String {
    match DateTime::<Utc>::from_timestamp_millis(at_ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        // Outside chrono's range (±262,000 years): show the raw number rather than fail.
        None => format!("{at_ms}ms"),
    }
}

/// Renders the whole second of `at_ms` as the API shows it: `2018-01-10T09:48:29Z`.
pub fn format_second(at_ms: TimeMs) -> String {
    match DateTime::<Utc>::from_timestamp_millis(at_ms.div_euclid(1000) * 1000) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        None => format!("{at_ms}ms"),
    }
}

/// Parses an RFC 3339 time (any offset) into milliseconds since the epoch; sub-millisecond
/// digits are truncated. `None` for anything else, a leap second (`:60`) and times outside
/// the timeline ([`RANGE`]).
pub fn parse_rfc3339(text: &str) -> Option<TimeMs> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .filter(|t| t.nanosecond() < 1_000_000_000)
        .map(|t| t.timestamp_millis())
        .filter(|ms| (MIN_MS..=MAX_MS).contains(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let at = 1_515_577_709_123;
        assert_eq!(format_ms(at), "2018-01-10T09:48:29.123Z");
        assert_eq!(format_second(at), "2018-01-10T09:48:29Z");
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_rfc3339("2018-01-10T09:48:29.123Z"), Some(at));
        assert_eq!(parse_rfc3339("2018-01-10T17:48:29.123+08:00"), Some(at));
        assert_eq!(parse_rfc3339("2018-01-10 09:48"), None);
        // Leap seconds are refused like any invalid time, at any minute.
        assert_eq!(parse_rfc3339("2026-11-20T10:03:60Z"), None);
        assert_eq!(parse_rfc3339("2016-12-31T23:59:60Z"), None);
        // The timeline's bounds.
        assert_eq!(parse_rfc3339("9999-12-31T23:59:59.999Z"), Some(MAX_MS));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(MIN_MS));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.999Z"), None);
        assert_eq!(parse_rfc3339("9999-12-31T23:59:59.999-00:01"), None);
        assert_eq!(format_ms(MAX_MS), "9999-12-31T23:59:59.999Z");
        assert_eq!(add(MAX_MS - 5, 10), MAX_MS);
        assert_eq!(add(MAX_MS, i64::MAX), MAX_MS);
    }
}
