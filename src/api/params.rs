//! Request parameters, and the scalar forms several actions share (API times, TaskIds,
//! page numbers).

use chrono::{NaiveDateTime, Timelike};

use super::error::{ApiError, ErrorKind};
use crate::event::{TaskId, TimeMs};

/// Request parameters after percent-decoding, in arrival order. An empty value counts as
/// absent; when a name repeats, the first value wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// The value of `name`, if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Params {
        Params(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// Parses a time in the API's `yyyy-MM-ddTHH:mm:ssZ` form; a leap second (`:60`) is not one.
pub fn parse_api_time(text: &str) -> Option<TimeMs> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
        .ok()
        .filter(|t| t.nanosecond() < 1_000_000_000)
        .map(|t| t.and_utc().timestamp_millis())
}

/// A TaskId: a decimal number.
pub(crate) fn parse_task_id(text: &str) -> Result<TaskId, ApiError> {
    text.parse::<TaskId>()
        .map_err(|_| ApiError::from(ErrorKind::InvalidTaskIdMalformed))
}

/// A page number or size: `default` when absent, `None` outside `1..=max`.
pub(crate) fn parse_page(text: Option<&str>, default: u32, max: u32) -> Option<u32> {
    match text {
        None => Some(default),
        Some(t) => t.parse::<u32>().ok().filter(|n| (1..=max).contains(n)),
    }
}
