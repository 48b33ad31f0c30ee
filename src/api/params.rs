//! Parameters of the query actions, checked in the order SPEC §5 fixes (the first failing
//! rule answers): TaskId, ObjectPath, ObjectType, Status, ObjectType required with DomainName
//! or Status, StartTime/EndTime format, both or neither, EndTime not before StartTime, no
//! earlier than the history window, PageSize, PageNumber.

use chrono::NaiveDateTime;

use super::error::ApiError;
use crate::event::{ObjectType, TaskId, TimeMs};
use crate::objpath;
use crate::scenario::Limits;

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

/// The ObjectType filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeFilter {
    /// Rows of this type.
    Is(ObjectType),
    /// `block` or `unblock`: valid, matches nothing (cdnsim has no URL blocking).
    Blocking,
}

/// The Status filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// `Complete`.
    Complete,
    /// `Refreshing`: also matches `Pending` rows (both unfinished).
    Refreshing,
    /// `Failed`.
    Failed,
}

/// A checked DescribeRefreshTasks query, as of `at_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeQuery {
    /// The replay time.
    pub at_ms: TimeMs,
    /// Exact TaskId.
    pub task_id: Option<TaskId>,
    /// Exact ObjectPath.
    pub object_path: Option<String>,
    /// Exact domain (lower case).
    pub domain: Option<String>,
    /// Object type.
    pub object_type: Option<TypeFilter>,
    /// Status as of `at_ms`.
    pub status: Option<StatusFilter>,
    /// Window on CreationTime (whole seconds, as ms), inclusive at both ends.
    pub window_ms: (TimeMs, TimeMs),
    /// 1-based page.
    pub page_number: u32,
    /// Rows per page.
    pub page_size: u32,
}

/// Parses a time in the API's `yyyy-MM-ddTHH:mm:ssZ` form.
pub fn parse_api_time(text: &str) -> Option<TimeMs> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

fn parse_task_id(text: &str) -> Result<TaskId, ApiError> {
    text.parse::<TaskId>()
        .map_err(|_| ApiError::task_id_malformed())
}

fn parse_page(text: Option<&str>, default: u32, max: u32) -> Option<u32> {
    match text {
        None => Some(default),
        Some(t) => t.parse::<u32>().ok().filter(|n| (1..=max).contains(n)),
    }
}

impl DescribeQuery {
    /// Checks DescribeRefreshTasks parameters as of `at_ms`.
    pub fn parse(
        params: &Params,
        at_ms: TimeMs,
        limits: &Limits,
    ) -> Result<DescribeQuery, ApiError> {
        let task_id = params.get("TaskId").map(parse_task_id).transpose()?;
        let object_path = match params.get("ObjectPath") {
            None => None,
            Some(p) => {
                let has_scheme = p
                    .get(..7)
                    .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
                    || p.get(..8)
                        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
                if !has_scheme || objpath::normalize(p).is_err() {
                    return Err(ApiError::object_path_malformed());
                }
                Some(p.to_owned())
            }
        };
        let object_type = match params.get("ObjectType") {
            None => None,
            Some(t) if t.eq_ignore_ascii_case("block") || t.eq_ignore_ascii_case("unblock") => {
                Some(TypeFilter::Blocking)
            }
            Some(t) => Some(TypeFilter::Is(
                ObjectType::ALL
                    .into_iter()
                    .find(|o| o.as_str().eq_ignore_ascii_case(t))
                    .ok_or_else(ApiError::object_type_not_supported)?,
            )),
        };
        let status = match params.get("Status") {
            None => None,
            Some(s) if s.eq_ignore_ascii_case("Complete") => Some(StatusFilter::Complete),
            Some(s) if s.eq_ignore_ascii_case("Refreshing") => Some(StatusFilter::Refreshing),
            Some(s) if s.eq_ignore_ascii_case("Failed") => Some(StatusFilter::Failed),
            Some(_) => return Err(ApiError::status_not_supported()),
        };
        let domain = params.get("DomainName").map(str::to_ascii_lowercase);
        if (domain.is_some() || status.is_some()) && object_type.is_none() {
            return Err(ApiError::missing_object_type());
        }
        let start = params
            .get("StartTime")
            .map(|t| parse_api_time(t).ok_or_else(ApiError::start_time_malformed))
            .transpose()?;
        let end = params
            .get("EndTime")
            .map(|t| parse_api_time(t).ok_or_else(ApiError::end_time_malformed))
            .transpose()?;
        let earliest = at_ms - limits.history_ms;
        let window_ms = match (start, end) {
            (None, None) => (earliest, at_ms),
            (Some(start), Some(end)) => {
                if end < start {
                    return Err(ApiError::end_time_mismatch());
                }
                if start < earliest {
                    return Err(ApiError::invalid_time());
                }
                (start, end.min(at_ms))
            }
            _ => return Err(ApiError::missing_time_parameter()),
        };
        let page_size = parse_page(params.get("PageSize"), 20, limits.page_size_max)
            .ok_or_else(|| ApiError::page_size(limits.page_size_max))?;
        let page_number = parse_page(params.get("PageNumber"), 1, limits.page_number_max)
            .ok_or_else(|| ApiError::page_number(limits.page_number_max))?;
        Ok(DescribeQuery {
            at_ms,
            task_id,
            object_path,
            domain,
            object_type,
            status,
            window_ms,
            page_number,
            page_size,
        })
    }
}

/// A checked DescribeRefreshTaskById query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByIdQuery {
    /// The replay time.
    pub at_ms: TimeMs,
    /// The TaskIds, in request order, duplicates removed.
    pub task_ids: Vec<TaskId>,
    /// The default window (ms), inclusive.
    pub window_ms: (TimeMs, TimeMs),
}

impl ByIdQuery {
    /// Checks DescribeRefreshTaskById parameters as of `at_ms`.
    pub fn parse(params: &Params, at_ms: TimeMs, limits: &Limits) -> Result<ByIdQuery, ApiError> {
        let text = params.get("TaskId").ok_or_else(ApiError::missing_task_id)?;
        let max = limits.task_ids_per_query as usize;
        // At most one past the limit is looked at, whatever the client sent.
        let parts: Vec<&str> = text.split(',').map(str::trim).take(max + 1).collect();
        if parts.len() > max {
            return Err(ApiError::too_many_task_ids(limits.task_ids_per_query));
        }
        let mut task_ids = Vec::with_capacity(parts.len());
        for part in parts {
            let id = parse_task_id(part)?;
            if !task_ids.contains(&id) {
                task_ids.push(id);
            }
        }
        Ok(ByIdQuery {
            at_ms,
            task_ids,
            window_ms: (at_ms - limits.history_ms, at_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: TimeMs = 1_764_331_200_000; // 2025-11-28T12:00:00Z

    fn check(pairs: &[(&str, &str)]) -> Result<DescribeQuery, ApiError> {
        DescribeQuery::parse(&pairs.iter().copied().collect(), NOW, &Limits::default())
    }

    #[track_caller]
    fn fails(pairs: &[(&str, &str)], code: &str) {
        match check(pairs) {
            Ok(q) => panic!("accepted {pairs:?}: {q:?}"),
            Err(e) => assert_eq!((e.status, e.code), (400, code), "{pairs:?}"),
        }
    }

    #[test]
    fn every_validation_error_with_its_status() {
        fails(&[("TaskId", "12a")], "InvalidTaskId.Malformed");
        fails(&[("TaskId", "-1")], "InvalidTaskId.Malformed");
        fails(
            &[("ObjectPath", "example.com/a")],
            "InvalidObjectPath.Malformed",
        );
        fails(
            &[("ObjectPath", "https://broken-path")],
            "InvalidObjectPath.Malformed",
        );
        fails(
            &[("ObjectType", "folder")],
            "InvalidObjectType.ValueNotSupported",
        );
        fails(
            &[("ObjectType", "file"), ("Status", "Done")],
            "InvalidStatus.ValueNotSupported",
        );
        fails(
            &[("Status", "Pending"), ("ObjectType", "file")],
            "InvalidStatus.ValueNotSupported",
        );
        fails(&[("DomainName", "a.com")], "MissingParameter.ObjectType");
        fails(&[("Status", "Complete")], "MissingParameter.ObjectType");
        fails(
            &[
                ("StartTime", "2025-11-28 10:00:00"),
                ("EndTime", "2025-11-28T11:00:00Z"),
            ],
            "InvalidStartTime.Malformed",
        );
        fails(
            &[
                ("StartTime", "2025-11-28T10:00:00Z"),
                ("EndTime", "tomorrow"),
            ],
            "InvalidEndTime.Malformed",
        );
        fails(
            &[("StartTime", "2025-11-28T10:00:00Z")],
            "MissingTimeParameter",
        );
        fails(
            &[("EndTime", "2025-11-28T10:00:00Z")],
            "MissingTimeParameter",
        );
        fails(
            &[
                ("StartTime", "2025-11-28T10:00:01Z"),
                ("EndTime", "2025-11-28T10:00:00Z"),
            ],
            "InvalidEndTime.Mismatch",
        );
        fails(
            &[
                ("StartTime", "2025-11-25T11:59:59Z"),
                ("EndTime", "2025-11-28T10:00:00Z"),
            ],
            "InvalidTime",
        );
        for bad in ["0", "101", "ten", "-5", "2.5"] {
            fails(&[("PageSize", bad)], "InvalidParameter.PageSize");
        }
        for bad in ["0", "100001", "x"] {
            fails(&[("PageNumber", bad)], "InvalidParameter.PageNumber");
        }
    }

    #[test]
    fn the_first_failing_rule_answers() {
        fails(
            &[("TaskId", "x"), ("ObjectType", "folder"), ("PageSize", "0")],
            "InvalidTaskId.Malformed",
        );
        fails(
            &[("ObjectType", "folder"), ("Status", "x")],
            "InvalidObjectType.ValueNotSupported",
        );
        fails(
            &[("Status", "x"), ("DomainName", "a.com")],
            "InvalidStatus.ValueNotSupported",
        );
        fails(
            &[("DomainName", "a.com"), ("StartTime", "bad")],
            "MissingParameter.ObjectType",
        );
        fails(
            &[("StartTime", "bad"), ("PageSize", "0")],
            "InvalidStartTime.Malformed",
        );
        fails(
            &[
                ("StartTime", "2020-01-01T00:00:00Z"),
                ("EndTime", "2019-01-01T00:00:00Z"),
            ],
            "InvalidEndTime.Mismatch",
        );
        fails(
            &[
                ("StartTime", "2020-01-01T00:00:00Z"),
                ("EndTime", "2020-01-02T00:00:00Z"),
                ("PageSize", "0"),
            ],
            "InvalidTime",
        );
        fails(
            &[("PageSize", "0"), ("PageNumber", "0")],
            "InvalidParameter.PageSize",
        );
    }

    #[test]
    fn defaults_and_windows() {
        let q = check(&[]).expect("valid");
        assert_eq!((q.page_number, q.page_size), (1, 20));
        assert_eq!(q.window_ms, (NOW - 3 * 86_400_000, NOW));
        // StartTime = EndTime is a one-second window; an EndTime after now is now.
        let q = check(&[
            ("StartTime", "2025-11-28T10:00:00Z"),
            ("EndTime", "2025-11-28T10:00:00Z"),
        ])
        .expect("valid");
        assert_eq!(q.window_ms.0, q.window_ms.1);
        let q = check(&[
            ("StartTime", "2025-11-28T10:00:00Z"),
            ("EndTime", "2030-01-01T00:00:00Z"),
        ])
        .expect("valid");
        assert_eq!(q.window_ms.1, NOW);
        let q = check(&[
            ("ObjectType", "IGNOREPARAMS"),
            ("Status", "refreshing"),
            ("TaskId", ""),
        ])
        .expect("valid");
        assert_eq!(
            q.object_type,
            Some(TypeFilter::Is(ObjectType::IgnoreParams))
        );
        assert_eq!(
            (q.status, q.task_id),
            (Some(StatusFilter::Refreshing), None)
        );
        let q = check(&[("ObjectType", "block"), ("DomainName", "A.com")]).expect("valid");
        assert_eq!(
            (q.object_type, q.domain.as_deref()),
            (Some(TypeFilter::Blocking), Some("a.com"))
        );
    }

    #[test]
    fn by_id_limits() {
        let limits = Limits::default();
        let parse =
            |text: &str| ByIdQuery::parse(&[("TaskId", text)].into_iter().collect(), NOW, &limits);
        assert_eq!(parse("1,2, 2,3").map(|q| q.task_ids.len()), Ok(3));
        assert_eq!(
            parse("1,2,3,4,5,6,7,8,9,10,11").map_err(|e| e.code),
            Err("InvalidTaskId")
        );
        assert_eq!(
            parse("1,x").map_err(|e| e.code),
            Err("InvalidTaskId.Malformed")
        );
        let none = ByIdQuery::parse(&Params::default(), NOW, &limits);
        assert_eq!(
            none.map_err(|e| (e.status, e.code)),
            Err((400, "MissingTaskId"))
        );
    }
}
