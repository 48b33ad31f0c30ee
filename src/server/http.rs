//! The RPC endpoint on `/`: decode, authenticate, dispatch. What an action answers is
//! [`crate::api::answer`]'s; this layer only turns HTTP into a call and the answer into HTTP,
//! and makes the writes an answer asks for.
//!
//! Checks run in a fixed order and the first failure answers: the request's encoding,
//! `Format` (V1 only; V3 is always JSON), the action present and known, `Version`, the
//! signature (when keys are configured), `x-cdnsim-replay-time`, then the action's own
//! parameters.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::OwnedSemaphorePermit;

use super::body::full;
use super::{App, Body, Engine, admin};
use crate::api::signature::SignedRequest;
use crate::api::{
    self, Action, Answer, ApiError, ErrorKind, Format, Params, WriteRequest, encoding,
};
use crate::event::{TaskId, TimeMs};
use crate::scenario::rule::ErrorRule;
use crate::time::parse_rfc3339;

use crate::api::VERSION;

/// The header that asks for an answer as of an earlier time.
pub const REPLAY_TIME_HEADER: &str = "x-cdnsim-replay-time";

/// The header that marks a read as an observer's (the web timeline's): error rules neither
/// answer it nor count it, so looking never changes what the clients under test see. With
/// `--admin-token`, only a request showing the token may observe.
pub const OBSERVER_HEADER: &str = "x-cdnsim-observer";

/// Answers any request: `/_cdnsim/...` goes to the admin endpoints, everything else is API.
pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    // Wall time measures latency only; it never reaches the log or a body.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let (label, named, response) = if path.starts_with("/_cdnsim/") || path == "/_cdnsim" {
        ("admin", String::new(), admin::handle(&app, req).await)
    } else {
        api(&app, req).await
    };
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    app.metrics
        .request(label, response.status().as_u16(), elapsed_ns);
    // What was asked: the action, an unknown action's name as sent, or the admin path.
    let what = match label {
        "admin" => sanitized(&path),
        "unknown" if !named.is_empty() => format!("unknown action {}", sanitized(&named)),
        label => label.to_owned(),
    };
    tracing::info!(
        "{method} {what} {} {}us",
        response.status().as_u16(),
        elapsed_ns / 1_000
    );
    Ok(response)
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
    /// The request shows the admin token (bearer header or the page's cookie).
    admin: bool,
    /// The body's share of the server's body budget, given back when the request is answered.
    _held: Option<OwnedSemaphorePermit>,
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

/// Answers an API request: the action's metrics label, the action as sent, the response.
async fn api(app: &Arc<App>, req: Request<Incoming>) -> (&'static str, String, Response<Body>) {
    let after = after_seq(req.headers());
    let ready = match after {
        // Read-your-writes on a replica: first apply the write, and a clock past it.
        Ok(Some(seq)) => app.engine().applied(seq, AFTER_SEQ_WAIT).await,
        _ => true,
    };
    // One timeline for the whole request, even if a reset starts another meanwhile.
    let engine = app.engine();
    let now_ms = engine.now_ms();
    let early = |e: ApiError| {
        let state_id = engine.model().state_id();
        let id = api::request_id_for(&state_id, now_ms, "", &Params::default());
        (
            "unknown",
            String::new(),
            api_response(api::error_response(Format::Json, id, &e)),
        )
    };
    if req.uri().path() != "/" {
        return early(ErrorKind::InvalidActionNotFound.into());
    }
    if req.method() != Method::GET && req.method() != Method::POST {
        return early(ErrorKind::UnsupportedHttpMethod.into());
    }
    let decoded = match decode(app, req).await {
        Ok(decoded) => decoded,
        Err(e) => return early(e),
    };
    let (action, v1, params) = action_and_params(&decoded);
    let label = Action::from_name(&action).map_or("unknown", Action::name);
    let default_format = if v1 { Format::Xml } else { Format::Json };
    let fail = |format: Format, e: ApiError| {
        let state_id = engine.model().state_id();
        let request_id = api::request_id_for(&state_id, now_ms, &action, &params);
        (
            label,
            action.clone(),
            api_response(api::error_response(format, request_id, &e)),
        )
    };
    let format = match api::format_of(&params, default_format) {
        Ok(format) => format,
        Err(e) => return fail(default_format, e),
    };
    let replay_ms = match check(app, &decoded, &params, &action, v1, now_ms) {
        Ok(replay_ms) => replay_ms,
        Err(e) => return fail(format, e),
    };
    if let Some(e) = after_seq_problem(&after, ready) {
        return fail(format, e);
    }
    // An error rule answers before the action runs (its parameters unchecked, as a gateway's
    // flow control does).
    if !observes(app, &decoded, &action)
        && engine.may_inject(&action)
        && let Some(rule) = injected(&engine, &action).await
    {
        let (label, action, response) = fail(format, ApiError::injected(rule.error));
        return (label, action, retry_after(response, rule.retry_after_ms));
    }
    let call = api::Call {
        action: &action,
        params: &params,
        at_ms: replay_ms.unwrap_or(now_ms),
        replayed: replay_ms.is_some(),
        writable: !engine.read_only(),
        default_format,
        version: version_of(&decoded, &params, v1),
    };
    let response = run(&engine, &call).await;
    (label, action, response)
}

/// Runs an action: its answer, and a write's seq in [`LOG_SEQ_HEADER`].
async fn run(engine: &Arc<Engine>, call: &api::Call<'_>) -> Response<Body> {
    // One view of the state for the RequestId and the body.
    let answer = api::answer(&engine.model(), call);
    let (response, end_seq) = match answer {
        Answer::Done(response) => (response, None),
        Answer::Write(pending) => match write(engine, &pending.request).await {
            Ok((task_ids, end_seq)) => (pending.done(Ok(task_ids)), Some(end_seq)),
            Err(e) => (pending.done(Err(e)), None),
        },
    };
    let mut response = api_response(response);
    if let Some(end_seq) = end_seq {
        response
            .headers_mut()
            .insert(LOG_SEQ_HEADER, HeaderValue::from(end_seq));
    }
    response
}

/// What is wrong with a request's [`AFTER_SEQ_HEADER`]: not a count, or not applied in time.
fn after_seq_problem(after: &Result<Option<u64>, String>, ready: bool) -> Option<ApiError> {
    match after {
        Err(text) => {
            let message = format!("x-cdnsim-after-seq {text:?} is not a record count (0 or more).");
            Some(ApiError::new(ErrorKind::InvalidAfterSeq, message))
        }
        Ok(Some(seq)) if !ready => Some(ApiError::unavailable(&format!(
            "this server has not applied the log up to record {seq} within {}s: try again",
            AFTER_SEQ_WAIT.as_secs()
        ))),
        Ok(_) => None,
    }
}

/// The header of a write's answer: records in the log once the write is in it. A read
/// sending it back as [`AFTER_SEQ_HEADER`] (to a replica) sees the write.
pub const LOG_SEQ_HEADER: &str = "x-cdnsim-log-seq";
/// The header asking a server to answer only once it has applied that many records, and a
/// clock past them.
pub const AFTER_SEQ_HEADER: &str = "x-cdnsim-after-seq";
/// Longest a request waits for [`AFTER_SEQ_HEADER`].
pub const AFTER_SEQ_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The request's [`AFTER_SEQ_HEADER`]: `Err` with the text when it is not a count.
fn after_seq(headers: &hyper::HeaderMap) -> Result<Option<u64>, String> {
    match headers.get(AFTER_SEQ_HEADER) {
        None => Ok(None),
        Some(value) => {
            let text = String::from_utf8_lossy(value.as_bytes());
            text.trim().parse().map(Some).map_err(|_| text.into_owned())
        }
    }
}

/// Text from a request for a log line: control characters escaped, at most 64 characters.
fn sanitized(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut out: String = text
        .chars()
        .take(MAX_CHARS)
        .flat_map(char::escape_default)
        .collect();
    if text.chars().count() > MAX_CHARS {
        out.push_str("...");
    }
    out
}

/// The action a request names and its parameters (query ∪ form). V1 names the action in
/// the parameters; V3 only in a header, and always gets JSON (a `Format` parameter means
/// nothing there and is dropped).
fn action_and_params(decoded: &Decoded) -> (String, bool, Params) {
    let params = Params(decoded.query.iter().chain(&decoded.form).cloned().collect());
    let (action, v1) = match (params.get("Action"), decoded.header("x-acs-action")) {
        (Some(action), _) => (action.to_owned(), true),
        (None, Some(action)) => (action.to_owned(), false),
        (None, None) => (String::new(), false),
    };
    if v1 {
        return (action, v1, params);
    }
    let params = Params(
        params
            .0
            .into_iter()
            .filter(|(k, _)| k != "Format")
            .collect(),
    );
    (action, v1, params)
}

/// Every check between a decoded request and its action; gives the time the request asks
/// for with `x-cdnsim-replay-time`, if it does. A read showing the admin token needs no
/// signature.
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
    if Action::from_name(action).is_none() {
        return Err(ErrorKind::InvalidActionNotFound.into());
    }
    if version_of(decoded, params, v1).is_some_and(|v| v != VERSION) {
        return Err(ErrorKind::InvalidVersion.into());
    }
    if let Some(verifier) = &app.verifier
        && !(decoded.admin && reads(action))
    {
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
    if let Some(replica) = &app.replica
        && !reads(action)
    {
        let message = format!(
            "This server is a read replica of {}: send writes there.",
            replica.primary.url
        );
        return Err(ApiError::new(ErrorKind::ForbiddenReadOnly, message));
    }
    match decoded.header(REPLAY_TIME_HEADER) {
        None => Ok(None),
        Some(text) => match parse_rfc3339(text) {
            None => Err(ApiError::bad_replay_time(&format!(
                "{text:?} is not an RFC 3339 time {}",
                crate::time::RANGE
            ))),
            Some(at_ms) if at_ms > now_ms => Err(ApiError::bad_replay_time(&format!(
                "{text} is later than the server clock ({})",
                crate::time::format_ms(now_ms)
            ))),
            Some(at_ms) => Ok(Some(at_ms)),
        },
    }
}

/// True for an observer's read (`x-cdnsim-observer`), which error rules leave alone; with an
/// admin token, only a request showing it may observe.
fn observes(app: &App, decoded: &Decoded, action: &str) -> bool {
    reads(action)
        && decoded.header(OBSERVER_HEADER).is_some()
        && (app.config.admin_token.is_none() || decoded.admin)
}

/// True for an action that only reads.
fn reads(action: &str) -> bool {
    Action::from_name(action).is_some_and(|a| !a.writes())
}

/// The API version a request names: `Version` (V1) or `x-acs-version` (V3).
fn version_of<'a>(decoded: &'a Decoded, params: &'a Params, v1: bool) -> Option<&'a str> {
    if v1 {
        params.get("Version")
    } else {
        decoded.header("x-acs-version")
    }
}

/// The header a throttling error carries: how long to wait, in milliseconds.
pub const RETRY_AFTER_HEADER: &str = "x-acs-retry-after";

/// `response` with `x-acs-retry-after` when there is a wait to advertise.
fn retry_after(mut response: Response<Body>, ms: Option<i64>) -> Response<Body> {
    if let Some(ms) = ms {
        response
            .headers_mut()
            .insert(RETRY_AFTER_HEADER, HeaderValue::from(ms));
    }
    response
}

/// The error rule that answers a call of `action`, if one does, once its record is durable.
/// A timeline that takes nothing more (reset, or stopped by an error) answers as if no rule
/// were in force: a read still answers from the model, and a write meets the same refusal.
async fn injected(engine: &Arc<Engine>, action: &str) -> Option<ErrorRule> {
    let blocking = Arc::clone(engine);
    let action = action.to_owned();
    let called = tokio::task::spawn_blocking(move || blocking.call_rule(&action)).await;
    let (answer, end_seq) = match called {
        Ok(Ok(called)) => called,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "error rules not consulted");
            return None;
        }
        Err(e) => {
            tracing::warn!(error = %e, "error rules not consulted");
            return None;
        }
    };
    if let Some(end_seq) = end_seq
        && let Err(e) = engine.durable(end_seq).await
    {
        tracing::warn!(error = %e, "a rule's record did not reach the disk");
        return None;
    }
    answer
}

/// Makes a checked write (on a blocking thread) and waits until it is durable.
async fn write(
    engine: &Arc<Engine>,
    request: &WriteRequest,
) -> Result<(Vec<TaskId>, u64), ApiError> {
    let request = request.clone();
    let blocking = Arc::clone(engine);
    let (task_ids, end_seq) = tokio::task::spawn_blocking(move || blocking.write(&request))
        .await
        .map_err(|e| ApiError::unavailable(&e.to_string()))??;
    engine.durable(end_seq).await?;
    Ok((task_ids, end_seq))
}

/// Reads the body (bounded in size and time) and decodes the query and a form body.
async fn decode(app: &App, req: Request<Incoming>) -> Result<Decoded, ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // The admin token stands in for a signature on reads, for the web timeline (which cannot
    // sign): a request showing it may read without one.
    let admin = (app.config.admin_token.as_ref())
        .is_some_and(|token| super::auth::admitted(req.headers(), token));
    let (parts, body) = req.into_parts();
    let (body, held) = read_body(app, body, declared).await?;
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
        admin,
        _held: held,
    })
}

/// Budget a request body takes per byte: the body and the copies decoding it makes (form
/// pairs, the parameters, the RequestId's canonical string).
pub const BODY_COPIES: usize = 4;

/// Reads a request body of at most `body_bytes_max` bytes within the body timeout, holding
/// its bytes against the server's body budget (all request bodies in memory at once) until the
/// request is answered: 413 over the size (at once when declared), 503 when the budget is
/// spent, 400 for a malformed body, 408 when it does not arrive in time.
async fn read_body(
    app: &App,
    mut body: Incoming,
    declared: Option<u64>,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), ApiError> {
    let max = app.config.body_bytes_max;
    if declared.is_some_and(|len| len > max as u64) {
        return Err(ApiError::body_too_large(max));
    }
    let mut held: Option<OwnedSemaphorePermit> = None;
    let hold = |bytes: usize, held: &mut Option<OwnedSemaphorePermit>| {
        let more = u32::try_from(bytes.saturating_mul(BODY_COPIES))
            .ok()
            .and_then(|n| Arc::clone(&app.body_budget).try_acquire_many_owned(n).ok())
            .ok_or_else(|| {
                ApiError::unavailable("request bodies in memory are at the server's budget; retry")
            })?;
        match held {
            Some(permit) => permit.merge(more),
            None => *held = Some(more),
        }
        Ok::<(), ApiError>(())
    };
    // Bytes are held as they arrive, so a client trickling its body holds only what it sent.
    let read = async {
        // The frames as they came (no copies while reading), joined once at the end.
        let mut frames: Vec<Bytes> = Vec::new();
        let mut len = 0;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ApiError::malformed_body(&e.to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            len += data.len();
            if len > max {
                return Err(ApiError::body_too_large(max));
            }
            let holding = held.as_ref().map_or(0, |p| p.num_permits() / BODY_COPIES);
            if len > holding {
                hold(len - holding, &mut held)?;
            }
            frames.push(data);
        }
        Ok(match frames.len() {
            0 => Bytes::new(),
            1 => frames.swap_remove(0),
            _ => Bytes::from(frames.concat()),
        })
    };
    match tokio::time::timeout(app.config.body_timeout, read).await {
        Err(_elapsed) => Err(ApiError::from(ErrorKind::RequestTimeout)),
        Ok(Err(e)) => Err(e),
        Ok(Ok(body)) => Ok((body, held)),
    }
}

/// Real time, for signature timestamps only.
fn wall_clock_ms() -> TimeMs {
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as TimeMs)
        .unwrap_or(0)
}
