//! DescribeRefreshTasks: task rows as of a time, filtered and paged.
//!
//! Parameters are checked in this order, the first failure answering: TaskId, ObjectPath,
//! ObjectType, Status, ObjectType required with DomainName or Status, StartTime/EndTime
//! format, both or neither, EndTime not before StartTime, no earlier than the history window,
//! PageSize, PageNumber.

use super::{Handled, Request};
use crate::api::error::{ApiError, ErrorKind};
use crate::api::params::{Params, parse_api_time, parse_page, parse_task_id};
use crate::api::render;
use crate::event::{ObjectType, TimeMs};
use crate::model::ReadModel;
use crate::objpath;
use crate::projection::{DescribeQuery, StatusFilter, TypeFilter};
use crate::scenario::Limits;

/// Reads only.
pub(super) const WRITES: bool = false;

pub(super) fn handle(model: &ReadModel, request: &Request<'_>) -> Result<Handled, ApiError> {
    let q = parse(request.params, request.at_ms, &model.account().limits)?;
    let page = model.projection().describe(&q);
    Ok(Handled::Body(render::describe_tasks(
        request.format,
        request.request_id,
        &page,
        q.page_number,
        q.page_size,
    )))
}

/// Checks DescribeRefreshTasks parameters as of `at_ms`.
pub fn parse(params: &Params, at_ms: TimeMs, limits: &Limits) -> Result<DescribeQuery, ApiError> {
    let task_id = params.get("TaskId").map(parse_task_id).transpose()?;
    let object_path = params.get("ObjectPath").map(object_path).transpose()?;
    let object_type = params.get("ObjectType").map(type_filter).transpose()?;
    let status = params.get("Status").map(status_filter).transpose()?;
    let domain = params.get("DomainName").map(str::to_ascii_lowercase);
    if (domain.is_some() || status.is_some()) && object_type.is_none() {
        return Err(ErrorKind::MissingParameterObjectType.into());
    }
    let window_ms = window(params, at_ms, limits)?;
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

/// An exact ObjectPath: a full URL with its scheme.
fn object_path(p: &str) -> Result<String, ApiError> {
    let has_scheme = p
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
        || p.get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    if !has_scheme || objpath::normalize(p).is_err() {
        return Err(ErrorKind::InvalidObjectPathMalformed.into());
    }
    Ok(p.to_owned())
}

/// An ObjectType in any case; `block` and `unblock` are valid and match nothing.
fn type_filter(t: &str) -> Result<TypeFilter, ApiError> {
    if t.eq_ignore_ascii_case("block") || t.eq_ignore_ascii_case("unblock") {
        return Ok(TypeFilter::Blocking);
    }
    ObjectType::ALL
        .into_iter()
        .find(|o| o.as_str().eq_ignore_ascii_case(t))
        .map(TypeFilter::Is)
        .ok_or_else(|| ErrorKind::InvalidObjectTypeValueNotSupported.into())
}

/// A Status in any case (`Pending` is not one the filter takes).
fn status_filter(s: &str) -> Result<StatusFilter, ApiError> {
    [
        ("Complete", StatusFilter::Complete),
        ("Refreshing", StatusFilter::Refreshing),
        ("Failed", StatusFilter::Failed),
    ]
    .into_iter()
    .find(|(name, _)| s.eq_ignore_ascii_case(name))
    .map(|(_, filter)| filter)
    .ok_or_else(|| ErrorKind::InvalidStatusValueNotSupported.into())
}

/// The CreationTime window: StartTime and EndTime (both or neither), else the history window.
fn window(params: &Params, at_ms: TimeMs, limits: &Limits) -> Result<(TimeMs, TimeMs), ApiError> {
    let time = |name: &str, bad: ErrorKind| {
        params
            .get(name)
            .map(|t| parse_api_time(t).ok_or_else(|| ApiError::from(bad)))
            .transpose()
    };
    let start = time("StartTime", ErrorKind::InvalidStartTimeMalformed)?;
    let end = time("EndTime", ErrorKind::InvalidEndTimeMalformed)?;
    let earliest = at_ms - limits.history_ms;
    match (start, end) {
        (None, None) => Ok((earliest, at_ms)),
        (Some(start), Some(end)) => {
            if end < start {
                return Err(ErrorKind::InvalidEndTimeMismatch.into());
            }
            if start < earliest {
                return Err(ErrorKind::InvalidTime.into());
            }
            Ok((start, end.min(at_ms)))
        }
        _ => Err(ErrorKind::MissingTimeParameter.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: TimeMs = 1_764_331_200_000; // 2025-11-28T12:00:00Z

    fn check(pairs: &[(&str, &str)]) -> Result<DescribeQuery, ApiError> {
        parse(&pairs.iter().copied().collect(), NOW, &Limits::default())
    }

    #[track_caller]
    fn fails(pairs: &[(&str, &str)], code: &str) {
        match check(pairs) {
            Ok(q) => panic!("accepted {pairs:?}: {q:?}"),
            Err(e) => assert_eq!((e.status(), e.code()), (400, code), "{pairs:?}"),
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
}
