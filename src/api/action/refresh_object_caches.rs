//! RefreshObjectCaches: submit refreshes of URLs, directories, regexes or URLs ignoring their
//! query (`ObjectPath`, newline-separated; `ObjectType`; `Force`). Answers `RefreshTaskId`.

use super::{Action, Handled, Request, writable};
use crate::api::error::ApiError;
use crate::api::write::WriteRequest;
use crate::model::ReadModel;

/// Creates rows.
pub(super) const WRITES: bool = true;

pub(super) fn handle(model: &ReadModel, request: &Request<'_>) -> Result<Handled, ApiError> {
    writable(Action::RefreshObjectCaches, request)?;
    let limits = &model.account().limits;
    WriteRequest::refresh(request.params, limits).map(Handled::Write)
}
