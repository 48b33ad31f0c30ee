//! DescribeRefreshTaskById: the rows of up to `task_ids_per_query` TaskIds (comma-separated),
//! within the history window.

use super::{Handled, Request};
use crate::api::error::{ApiError, ErrorKind};
use crate::api::params::{Params, parse_task_id};
use crate::api::render;
use crate::event::TimeMs;
use crate::model::ReadModel;
use crate::projection::ByIdQuery;
use crate::scenario::Limits;

/// Reads only.
pub(super) const WRITES: bool = false;

pub(super) fn handle(model: &ReadModel, request: &Request<'_>) -> Result<Handled, ApiError> {
    let q = parse(request.params, request.at_ms, &model.account().limits)?;
    Ok(Handled::Body(render::tasks_by_id(
        request.format,
        request.request_id,
        &model.projection().by_id(&q),
    )))
}

/// Checks DescribeRefreshTaskById parameters as of `at_ms`.
pub fn parse(params: &Params, at_ms: TimeMs, limits: &Limits) -> Result<ByIdQuery, ApiError> {
    let text = params
        .get("TaskId")
        .ok_or_else(|| ApiError::from(ErrorKind::MissingTaskId))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: TimeMs = 1_764_331_200_000; // 2025-11-28T12:00:00Z

    #[test]
    fn by_id_limits() {
        let limits = Limits::default();
        let ids = |text: &str| parse(&[("TaskId", text)].into_iter().collect(), NOW, &limits);
        assert_eq!(ids("1,2, 2,3").map(|q| q.task_ids.len()), Ok(3));
        assert_eq!(
            ids("1,2,3,4,5,6,7,8,9,10,11").map_err(|e| e.code()),
            Err("InvalidTaskId")
        );
        assert_eq!(
            ids("1,x").map_err(|e| e.code()),
            Err("InvalidTaskId.Malformed")
        );
        let none = parse(&Params::default(), NOW, &limits);
        assert_eq!(
            none.map_err(|e| (e.status(), e.code())),
            Err((400, "MissingTaskId"))
        );
    }
}
