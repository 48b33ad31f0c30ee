//! The RPC endpoint on `/`: from an HTTP request to an API answer (SPEC §6,
//! `ALIBABA-CDN-API.md` §1, §9–§14a).
//!
//! Checks run in a fixed order and the first failure answers: the request's encoding,
//! `Format` (V1 only; V3 is always JSON), the action present and known, `Version`, the
//! signature (when keys are configured), `x-cdnsim-replay-time`, then the action's own
//! parameters.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::{App, Body, admin};
use crate::api::{self, ApiError, Format, Params, encoding, signature::SignedRequest, write};
use crate::event::{TaskId, TimeMs};
use crate::time::parse_rfc3339;

/// The API version cdnsim speaks.
pub const VERSION: &str = "2018-05-10";

/// Actions cdnsim knows (the first two answer from the projection).
pub const ACTIONS: [&str; 5] = [
    "DescribeRefreshTasks",
    "DescribeRefreshTaskById",
    "RefreshObjectCaches",
    "PushObjectCache",
    "DescribeRefreshQuota",
];

/// The header that asks for an answer as of an earlier time.
pub const REPLAY_TIME_HEADER: &str = "x-cdnsim-replay-time";

/// Answers any request: `/_cdnsim/...` goes to the admin endpoints, everything else is API.
pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    // Wall time measures latency only; it never reaches the log or a body.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let (label, response) = if path.starts_with("/_cdnsim/") || path == "/_cdnsim" {
        ("admin", admin::handle(&app, req).await)
    } else {
        api(&app, req).await
    };
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    app.metrics
        .request(label, response.status().as_u16(), elapsed_ns);
    tracing::info!(
        %method,
        %path,
        action = label,
        status = response.status().as_u16(),
        elapsed_us = elapsed_ns / 1_000,
        "request"
    );
    Ok(response)
}

/// A full body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// An API answer as an HTTP response.
pub fn api_response(answer: api::Response) -> Response<Body> {
    let mut response = Response::new(full(answer.body));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(answer.format.content_type()),
    );
    if let Ok(id) = HeaderValue::from_str(&answer.request_id) {
        headers.insert("x-acs-request-id", id);
    }
    response
}

/// What a request said, decoded.
struct Decoded {
    method: String,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Decoded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

async fn api(app: &Arc<App>, req: Request<Incoming>) -> (&'static str, Response<Body>) {
    let identity = app.identity();
    let now_ms = app.engine.now_ms();
    let early = |e: ApiError| {
        let id = api::request_id_for(&identity, now_ms, "", &Params::default());
        (
            "unknown",
            api_response(api::error_response(Format::Json, id, &e)),
        )
    };
    if req.uri().path() != "/" {
        return early(ApiError::action_not_found());
    }
    if req.method() != Method::GET && req.method() != Method::POST {
        return early(ApiError::unsupported_method());
    }
    let decoded = match decode(app, req).await {
        Ok(decoded) => decoded,
        Err(e) => return early(e),
    };
    let params = Params(decoded.query.iter().chain(&decoded.form).cloned().collect());
    // V1 names the action in the parameters; V3 only in a header, and always gets JSON.
    let (action, v1) = match (params.get("Action"), decoded.header("x-acs-action")) {
        (Some(action), _) => (action.to_owned(), true),
        (None, Some(action)) => (action.to_owned(), false),
        (None, None) => (String::new(), false),
    };
    let label = ACTIONS
        .iter()
        .find(|a| **a == action)
        .copied()
        .unwrap_or("unknown");
    let default_format = if v1 { Format::Xml } else { Format::Json };
    // V3 answers are always JSON: a `Format` parameter means nothing there.
    let params = if v1 {
        params
    } else {
        Params(
            params
                .0
                .into_iter()
                .filter(|(k, _)| k != "Format")
                .collect(),
        )
    };
    let fail = |format: Format, e: ApiError| {
        let request_id = api::request_id_for(&identity, now_ms, &action, &params);
        (
            label,
            api_response(api::error_response(format, request_id, &e)),
        )
    };
    let format = match api::format_of(&params, default_format) {
        Ok(format) => format,
        Err(e) => return fail(default_format, e),
    };
    match check(app, &decoded, &params, &action, v1, now_ms) {
        Ok(replay_ms) => {
            let request = Asked {
                action: &action,
                params: &params,
                at_ms: replay_ms.unwrap_or(now_ms),
                replayed: replay_ms.is_some(),
                format,
            };
            (label, answer(app, &request, &identity).await)
        }
        Err(e) => fail(format, e),
    }
}

/// Every check between a decoded request and its action; gives the time the request asks
/// for with `x-cdnsim-replay-time`, if it does.
fn check(
    app: &App,
    decoded: &Decoded,
    params: &Params,
    action: &str,
    v1: bool,
    now_ms: TimeMs,
) -> Result<Option<TimeMs>, ApiError> {
    if action.is_empty() {
        return Err(ApiError::missing("MissingAction", "Action"));
    }
    if !ACTIONS.contains(&action) {
        return Err(ApiError::action_not_found());
    }
    let version = if v1 {
        params.get("Version")
    } else {
        decoded.header("x-acs-version")
    };
    if version.is_some_and(|v| v != VERSION) {
        return Err(ApiError::bad_version());
    }
    if let Some(verifier) = &app.verifier {
        let request = SignedRequest {
            method: &decoded.method,
            path: "/",
            query: &decoded.query,
            form: &decoded.form,
            headers: &decoded.headers,
            body: &decoded.body,
        };
        verifier.verify(&request, wall_clock_ms())?;
    }
    match decoded.header(REPLAY_TIME_HEADER) {
        None => Ok(None),
        Some(text) => match parse_rfc3339(text) {
            None => Err(ApiError::bad_replay_time(&format!(
                "{text:?} is not an RFC 3339 time"
            ))),
            Some(at_ms) if at_ms > now_ms => Err(ApiError::bad_replay_time(&format!(
                "{text} is later than the server clock ({})",
                crate::time::format_ms(now_ms)
            ))),
            Some(at_ms) => Ok(Some(at_ms)),
        },
    }
}

/// A checked request.
struct Asked<'a> {
    action: &'a str,
    params: &'a Params,
    /// The replay time (the clock, unless the request asked for an earlier time).
    at_ms: TimeMs,
    /// The request named its time with `x-cdnsim-replay-time`.
    replayed: bool,
    format: Format,
}

async fn answer(app: &Arc<App>, asked: &Asked<'_>, identity: &[u8]) -> Response<Body> {
    let Asked {
        action,
        params,
        at_ms,
        format,
        ..
    } = *asked;
    let request_id = api::request_id_for(identity, at_ms, action, params);
    let ok = |body: String, request_id: String| {
        api_response(api::Response {
            status: 200,
            format,
            request_id,
            body,
        })
    };
    let fail =
        |e: ApiError, request_id: String| api_response(api::error_response(format, request_id, &e));
    match action {
        "RefreshObjectCaches" | "PushObjectCache" => {
            if app.engine.read_only() {
                return fail(ApiError::read_only(action), request_id);
            }
            if asked.replayed {
                return fail(
                    ApiError::bad_replay_time(
                        "applies to reading actions only; writes happen at the clock",
                    ),
                    request_id,
                );
            }
            let preload = action == "PushObjectCache";
            match write(app, params, preload).await {
                Ok(task_ids) => ok(
                    write::submitted(format, &request_id, preload, &task_ids),
                    request_id,
                ),
                Err(e) => fail(e, request_id),
            }
        }
        "DescribeRefreshQuota" => {
            let view = app.engine.quota_view(at_ms);
            ok(write::quota(format, &request_id, &view), request_id)
        }
        _ => {
            let projection = app.engine.projection();
            api_response(api::answer(
                &projection,
                app.engine.limits(),
                action,
                params,
                at_ms,
                format,
                identity,
            ))
        }
    }
}

/// Checks a write, makes it (on a blocking thread) and waits until it is durable.
async fn write(app: &Arc<App>, params: &Params, preload: bool) -> Result<Vec<TaskId>, ApiError> {
    let engine = &app.engine;
    let owned = |d: &str| engine.domain_index(d);
    let request = if preload {
        write::WriteRequest::preload(params, engine.limits(), owned)?
    } else {
        write::WriteRequest::refresh(params, engine.limits(), owned)?
    };
    let engine = Arc::clone(&app.engine);
    let (task_ids, end_seq) = tokio::task::spawn_blocking(move || engine.write(&request))
        .await
        .map_err(|e| ApiError::unavailable(&e.to_string()))??;
    app.engine.durable(end_seq).await?;
    Ok(task_ids)
}

/// Reads the body (bounded in size and time) and decodes the query and a form body.
async fn decode(app: &App, req: Request<Incoming>) -> Result<Decoded, ApiError> {
    let max = app.config.body_bytes_max;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(ApiError::body_too_large(max));
    }
    let (parts, body) = req.into_parts();
    let collected =
        tokio::time::timeout(app.config.body_timeout, Limited::new(body, max).collect()).await;
    let body = match collected {
        Err(_elapsed) => return Err(ApiError::body_timeout()),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Err(ApiError::body_too_large(max));
        }
        Ok(Err(_)) => return Err(ApiError::body_timeout()),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let query = encoding::parse_pairs(parts.uri.query().unwrap_or(""))?;
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let form = if is_form {
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::bad_encoding("the form body", "bytes that are not UTF-8"))?;
        encoding::parse_pairs(text)?
    } else {
        Vec::new()
    };
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok(Decoded {
        method: parts.method.as_str().to_owned(),
        query,
        form,
        headers,
        body,
    })
}

/// Real time, for signature timestamps only.
fn wall_clock_ms() -> TimeMs {
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as TimeMs)
        .unwrap_or(0)
}
