//! PushObjectCache: submit preloads of URLs (`ObjectPath`, newline-separated; `Area`,
//! `L2Preload`, `WithHeader`, `QueryHashkey`, `ConsistencyHash` are checked and otherwise
//! have no effect). Answers `PushTaskId`.

use super::{Action, Handled, Request, writable};
use crate::api::error::ApiError;
use crate::api::write::WriteRequest;
use crate::model::ReadModel;

/// Creates rows.
pub(super) const WRITES: bool = true;

pub(super) fn handle(model: &ReadModel, request: &Request<'_>) -> Result<Handled, ApiError> {
    writable(Action::PushObjectCache, request)?;
    let limits = &model.account().limits;
    WriteRequest::preload(request.params, limits).map(Handled::Write)
}
