//! The CDN query API, independent of HTTP: parameters, validation, errors, response bodies.
//! The HTTP server and `cdnsim query` share [`answer`], so they give the same bytes.

pub mod encoding;
pub mod error;
pub mod params;
pub mod render;
pub mod signature;
pub mod write;

pub use error::ApiError;
pub use params::{ByIdQuery, DescribeQuery, Params, StatusFilter, TypeFilter};
pub use render::Format;

use crate::event::TimeMs;
use crate::projection::Projection;
use crate::scenario::Limits;

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
        Some(_) => Err(ApiError::bad_format()),
    }
}

/// What names the state a log-backed answer comes from, for RequestIds: the log's scenario
/// fingerprint and seed, and how many events it holds.
pub fn identity(header: &crate::log::Header, event_count: u64) -> Vec<u8> {
    let mut identity = header.scenario_fingerprint.to_vec();
    identity.extend(header.seed.to_le_bytes());
    identity.extend(event_count.to_le_bytes());
    identity
}

/// The RequestId of a request: derived from the state queried (`identity`), the time, the
/// action and the parameters, so the same request against the same state gets the same id.
pub fn request_id_for(identity: &[u8], at_ms: TimeMs, action: &str, params: &Params) -> String {
    let mut sorted: Vec<String> = params.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
    sorted.sort();
    render::request_id(&[
        identity,
        &at_ms.to_le_bytes(),
        action.as_bytes(),
        sorted.join("&").as_bytes(),
    ])
}

/// An error answer.
pub fn error_response(format: Format, request_id: String, e: &ApiError) -> Response {
    Response {
        status: e.status,
        format,
        body: render::error(format, &request_id, e),
        request_id,
    }
}

/// Answers a query action as of `at_ms`. `identity` names the state being queried (e.g. the
/// log's fingerprint, seed and length); with the time and the parameters it derives the
/// RequestId, so the same request against the same state gets the same bytes.
pub fn answer(
    projection: &Projection,
    limits: &Limits,
    action: &str,
    params: &Params,
    at_ms: TimeMs,
    default_format: Format,
    identity: &[u8],
) -> Response {
    let request_id = request_id_for(identity, at_ms, action, params);
    let (format, result) = match format_of(params, default_format) {
        Ok(format) => (
            format,
            answer_ok(
                projection,
                limits,
                action,
                params,
                at_ms,
                format,
                &request_id,
            ),
        ),
        Err(e) => (default_format, Err(e)),
    };
    match result {
        Ok(body) => Response {
            status: 200,
            format,
            request_id,
            body,
        },
        Err(e) => error_response(format, request_id, &e),
    }
}

fn answer_ok(
    projection: &Projection,
    limits: &Limits,
    action: &str,
    params: &Params,
    at_ms: TimeMs,
    format: Format,
    request_id: &str,
) -> Result<String, ApiError> {
    match action {
        "DescribeRefreshTasks" => {
            let q = DescribeQuery::parse(params, at_ms, limits)?;
            let page = projection.describe(&q);
            Ok(render::describe_tasks(
                format,
                request_id,
                &page,
                q.page_number,
                q.page_size,
            ))
        }
        "DescribeRefreshTaskById" => {
            let q = ByIdQuery::parse(params, at_ms, limits)?;
            Ok(render::tasks_by_id(
                format,
                request_id,
                &projection.by_id(&q),
            ))
        }
        _ => Err(ApiError::action_not_found()),
    }
}
