//! The CDN API independent of HTTP: the action registry, parameters, validation, errors,
//! response bodies, encodings and signatures.
//!
//! [`answer`] is the one way into the actions, for the HTTP server and `cdnsim query` alike,
//! so they give the same bytes: it derives the RequestId from the state it answers from (one
//! `&ReadModel` for both), picks the format, finds the action in the registry
//! ([`action::Action`]) and runs it.

pub mod action;
pub mod encoding;
pub mod error;
pub mod params;
pub mod render;
pub mod signature;
pub mod write;

pub use action::Action;
pub use error::{ApiError, ErrorKind};
pub use params::Params;
pub use render::Format;
pub use write::{WriteRequest, decide};
// The query forms live with the projection that answers them; the API parses into them.
pub use crate::projection::{ByIdQuery, DescribeQuery, StatusFilter, TypeFilter};

use crate::event::{TaskId, TimeMs};
use crate::model::ReadModel;
use action::{Handled, Request};

/// A complete answer: HTTP status, format and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Body format (gives the Content-Type).
    pub format: Format,
    /// The `RequestId` (also sent as `x-acs-request-id`).
    pub request_id: String,
    /// The body.
    pub body: String,
}

/// The response format a request asks for: `Format=JSON|XML` (any case), else `default`.
pub fn format_of(params: &Params, default: Format) -> Result<Format, ApiError> {
    match params.get("Format") {
        None => Ok(default),
        Some(f) if f.eq_ignore_ascii_case("json") => Ok(Format::Json),
        Some(f) if f.eq_ignore_ascii_case("xml") => Ok(Format::Xml),
        Some(_) => Err(ErrorKind::InvalidParameterFormat.into()),
    }
}

/// The RequestId of a request: derived from the state queried (`state_id`, see
/// [`ReadModel::state_id`]), the time, the action and the parameters, so the same request
/// against the same state gets the same id.
pub fn request_id_for(state_id: &[u8], at_ms: TimeMs, action: &str, params: &Params) -> String {
    // The parameters as `KEY=VALUE` texts in byte order, joined by `&` — compared and hashed
    // piece by piece rather than built, as this runs for every request.
    let mut sorted: Vec<&(String, String)> = params.0.iter().collect();
    sorted.sort_unstable_by(|a, b| {
        param_text(a)
            .iter()
            .copied()
            .flatten()
            .cmp(param_text(b).iter().copied().flatten())
    });
    let mut pieces: Vec<&[u8]> = Vec::with_capacity(sorted.len() * 4);
    for (i, param) in sorted.into_iter().enumerate() {
        if i > 0 {
            pieces.push(b"&");
        }
        pieces.extend(param_text(param));
    }
    let mut hash = render::RequestIdHash::default();
    hash.part(&[state_id]);
    hash.part(&[&at_ms.to_le_bytes()]);
    hash.part(&[action.as_bytes()]);
    hash.part(&pieces);
    hash.finish()
}

/// A parameter's `KEY=VALUE` text, in pieces.
fn param_text((k, v): &(String, String)) -> [&[u8]; 3] {
    [k.as_bytes(), b"=", v.as_bytes()]
}

/// An error answer.
pub fn error_response(format: Format, request_id: String, e: &ApiError) -> Response {
    Response {
        status: e.status(),
        format,
        body: render::error(format, &request_id, e),
        request_id,
    }
}

/// A request for [`answer`].
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The action's name, as sent.
    pub action: &'a str,
    /// The parameters.
    pub params: &'a Params,
    /// The time the answer is as of.
    pub at_ms: TimeMs,
    /// The request named its time (`x-cdnsim-replay-time`).
    pub replayed: bool,
    /// Writes are possible.
    pub writable: bool,
    /// The format when the request names none (XML for V1, JSON for V3).
    pub default_format: Format,
    /// The API version the request names (`Version`, or V3's `x-acs-version`), if any.
    pub version: Option<&'a str>,
}

/// The API version cdnsim speaks.
pub const VERSION: &str = "2018-05-10";

/// What [`answer`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The complete answer.
    Done(Response),
    /// A checked write: decide it with [`decide`] under the log's writer, log it, then
    /// answer with [`PendingWrite::done`].
    Write(PendingWrite),
}

/// A write waiting to be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWrite {
    /// What to write.
    pub request: WriteRequest,
    /// The answer's format.
    pub format: Format,
    /// The answer's RequestId.
    pub request_id: String,
}

impl PendingWrite {
    /// The answer once the write is durable (its TaskIds) or has failed.
    pub fn done(self, result: Result<Vec<TaskId>, ApiError>) -> Response {
        match result {
            Ok(task_ids) => Response {
                status: 200,
                format: self.format,
                body: render::submitted(
                    self.format,
                    &self.request_id,
                    self.request.object_type.is_preload(),
                    &task_ids,
                ),
                request_id: self.request_id,
            },
            Err(e) => error_response(self.format, self.request_id, &e),
        }
    }
}

/// Answers `call` from `model`: the one dispatcher of every action.
pub fn answer(model: &ReadModel, call: &Call<'_>) -> Answer {
    let request_id = request_id_for(&model.state_id(), call.at_ms, call.action, call.params);
    let format = match format_of(call.params, call.default_format) {
        Ok(format) => format,
        Err(e) => return Answer::Done(error_response(call.default_format, request_id, &e)),
    };
    let Some(action) = Action::from_name(call.action) else {
        let e = ApiError::from(ErrorKind::InvalidActionNotFound);
        return Answer::Done(error_response(format, request_id, &e));
    };
    if call.version.is_some_and(|v| v != VERSION) {
        let e = ApiError::from(ErrorKind::InvalidVersion);
        return Answer::Done(error_response(format, request_id, &e));
    }
    let request = Request {
        params: call.params,
        at_ms: call.at_ms,
        format,
        request_id: &request_id,
        replayed: call.replayed,
        writable: call.writable,
    };
    match action.handle(model, &request) {
        Ok(Handled::Body(body)) => Answer::Done(Response {
            status: 200,
            format,
            request_id,
            body,
        }),
        Ok(Handled::Write(request)) => Answer::Write(PendingWrite {
            request,
            format,
            request_id,
        }),
        Err(e) => Answer::Done(error_response(format, request_id, &e)),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The RequestId as first written: every `KEY=VALUE` built, sorted, joined.
    fn built(state_id: &[u8], at_ms: TimeMs, action: &str, params: &Params) -> String {
        let mut sorted: Vec<String> = params.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        sorted.sort();
        render::request_id(&[
            state_id,
            &at_ms.to_le_bytes(),
            action.as_bytes(),
            sorted.join("&").as_bytes(),
        ])
    }

    proptest! {
        /// Keys that are prefixes of others, with characters on both sides of `=`.
        #[test]
        fn request_ids_are_those_of_the_built_parameter_text(
            params in proptest::collection::vec(("[A-Za-z0-9.=-]{0,6}", "[ -~]{0,6}"), 0..6),
            state_id in proptest::collection::vec(any::<u8>(), 0..40),
            at_ms in any::<i64>(),
            action in "[A-Za-z]{0,12}",
        ) {
            let params = Params(params);
            let id = request_id_for(&state_id, at_ms, &action, &params);
            prop_assert_eq!(&id, &built(&state_id, at_ms, &action, &params));
            prop_assert_eq!(id.len(), 36);
        }
    }
}
