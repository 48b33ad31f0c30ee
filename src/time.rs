//! Virtual time: milliseconds since the Unix epoch, rendered in UTC.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::event::TimeMs;

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
/// digits are truncated.
pub fn parse_rfc3339(text: &str) -> Option<TimeMs> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
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
    }
}
