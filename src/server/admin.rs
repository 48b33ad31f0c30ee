//! The admin endpoints under `/_cdnsim/`: `clock` (GET, and POST for the manual clock),
//! `events`, `health`, `metrics`, `reset`, `rules` (in `rules.rs`), the web timeline's JSON
//! (`stats`, `history`, `scenario`, in `timeline.rs`) and its page (`ui`, in `ui.rs`). Answers are JSON (`{"error": "..."}` on failure),
//! JSON lines for `events`, and the Prometheus text format for `metrics`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::body::full;
use super::engine::{EngineError, Step};
use super::{App, Body, ClockMode, auth, rules, timeline, ui};
use crate::event::{Record, TimeMs};
use crate::log::Records;
use crate::time::{format_ms, parse_rfc3339};

/// Largest `POST clock` body.
const CLOCK_BODY_BYTES_MAX: usize = 4 * 1024;
/// Bytes of JSON lines per chunk of an `events` answer.
const EVENTS_CHUNK_BYTES: usize = 64 * 1024;

/// Answers a request under `/_cdnsim/`.
pub async fn handle(app: &Arc<App>, req: Request<Incoming>) -> Response<Body> {
    let raw_path = req.uri().path();
    // `rules/` names a rule with no name, not the whole list.
    let empty_name =
        raw_path.trim_end_matches('/') != raw_path && raw_path.trim_matches('/') == "_cdnsim/rules";
    let path = raw_path.trim_start_matches("/_cdnsim").trim_matches('/');
    if let Some(refusal) = refused(app, &req, path) {
        return refusal;
    }
    if let Some(replica) = &app.replica
        && let Some(refusal) = replica_refusal(replica, req.method(), path)
    {
        return refusal;
    }
    if path == "ui" || path.starts_with("ui/") {
        let path = path.to_owned();
        return ui(app, req, &path).await;
    }
    match (req.method(), path) {
        (&Method::GET, "clock") => json(StatusCode::OK, &clock(app)),
        (&Method::POST, "clock") => post_clock(app, req).await,
        (&Method::GET, "events") => events(app, req.uri().query().unwrap_or("")).await,
        (&Method::GET, "health") => health(app),
        (&Method::GET, "metrics") => {
            let lag = (app.replica.as_ref())
                .map(|r| r.lag_events.load(std::sync::atomic::Ordering::Acquire));
            let mut response = Response::new(full(app.metrics.render(&app.engine(), lag)));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        (&Method::POST, "reset") => post_reset(app, req).await,
        (&Method::GET, "rules") => rules::list(app, &req),
        (&Method::GET, "stats") => timeline::stats(app, &req),
        (&Method::GET, "history") => timeline::history(app, &req),
        (&Method::GET, "scenario") => timeline::scenario(app),
        (&Method::GET, "replication") => replication(app, req.uri().query().unwrap_or("")).await,
        (&Method::POST, "rules") => rules::add(app, req).await,
        (&Method::DELETE, "rules") if empty_name => {
            error(StatusCode::NOT_FOUND, "no rule named \"\"".into())
        }
        (&Method::DELETE, "rules") => rules::delete(app, None).await,
        (&Method::DELETE, p) if p.starts_with("rules/") => {
            let name = percent_encoding::percent_decode_str(&p["rules/".len()..])
                .decode_utf8_lossy()
                .into_owned();
            rules::delete(app, Some(name)).await
        }
        (_, "clock") => not_allowed("GET, POST"),
        (_, "reset") => not_allowed("POST"),
        (_, "rules") => not_allowed("GET, POST, DELETE"),
        (_, p) if p.starts_with("rules/") => not_allowed("DELETE"),
        (_, "events" | "health" | "metrics" | "stats" | "history" | "scenario" | "replication") => {
            not_allowed("GET")
        }
        _ => error(
            StatusCode::NOT_FOUND,
            format!(
                "no admin endpoint /_cdnsim/{path}; there are clock, events, health, history, metrics, replication, reset, rules, scenario, stats and ui"
            ),
        ),
    }
}

/// The answer to a request that needs the admin token and does not show it: the sign-in form
/// for the page, 401 for the rest (403 for a change sent with the page's cookie from another
/// origin). `health` and the sign-in form's POST need no token.
fn refused(app: &App, req: &Request<Incoming>, path: &str) -> Option<Response<Body>> {
    let token = app.config.admin_token.as_ref()?;
    let (method, headers) = (req.method(), req.headers());
    if path == "health"
        || (method == Method::POST && path == "ui/login")
        || auth::bearer_matches(headers, token)
    {
        return None;
    }
    if auth::cookie_matches(headers, token) {
        if method == Method::GET || method == Method::HEAD || auth::same_origin(headers) {
            return None;
        }
        return Some(error(
            StatusCode::FORBIDDEN,
            "a change sent with the page's cookie must come from this server's own page \
             (Origin); programs use Authorization: Bearer"
                .into(),
        ));
    }
    if method == Method::GET && (path == "ui" || path == "ui/index.html") {
        return Some(auth::sign_in_page(None));
    }
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "this endpoint needs the admin token: Authorization: Bearer <--admin-token>".into(),
    );
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    Some(response)
}

/// `GET replication[?now_ms=T&events=N&wait_ms=W]`: what a replica follows; with what the
/// replica has, once the clock or the records differ from it (or after `wait_ms`, at most
/// five seconds).
async fn replication(app: &Arc<App>, query: &str) -> Response<Body> {
    let pairs = match crate::api::encoding::parse_pairs(query) {
        Ok(pairs) => pairs,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.message.into_owned()),
    };
    let number = |name: &str| -> Result<Option<i64>, String> {
        match pairs.iter().find(|(n, _)| n == name) {
            None => Ok(None),
            Some((_, v)) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| format!("{name}: {v:?} is not a whole number")),
        }
    };
    let seen = match (number("now_ms"), number("events"), number("wait_ms")) {
        (Ok(now), Ok(events), Ok(wait)) => now.zip(events).zip(wait.or(Some(0))),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return error(StatusCode::BAD_REQUEST, e);
        }
    };
    if let Some(((now_ms, events), wait_ms)) = seen {
        let max = super::replica::WAIT_MAX;
        let wait =
            std::time::Duration::from_millis(wait_ms.clamp(0, max.as_millis() as i64) as u64);
        let engine = app.engine();
        engine
            .changed_from(now_ms, u64::try_from(events).unwrap_or(u64::MAX), wait)
            .await;
    }
    json(StatusCode::OK, &super::replica::Replication::of(app))
}

/// What a read replica refuses: every change (403, naming the primary; the page's sign-in
/// aside), and the log's records (it keeps none: 409).
fn replica_refusal(
    replica: &super::replica::Status,
    method: &Method,
    path: &str,
) -> Option<Response<Body>> {
    let primary = &replica.primary.url;
    if path == "events" || path == "replication" {
        return Some(error(
            StatusCode::CONFLICT,
            format!("a read replica keeps no log of its own: ask its primary {primary}"),
        ));
    }
    let reads = *method == Method::GET || *method == Method::HEAD;
    if reads || (*method == Method::POST && path == "ui/login") {
        return None;
    }
    Some(error(
        StatusCode::FORBIDDEN,
        format!("this is a read replica of {primary}: send clock moves, rules and resets there"),
    ))
}

/// The web timeline: the page and its assets (GET), and its sign-in form (POST `ui/login`).
async fn ui(app: &Arc<App>, req: Request<Incoming>, path: &str) -> Response<Body> {
    match (req.method(), path) {
        (&Method::POST, "ui/login") => match &app.config.admin_token {
            None => error(
                StatusCode::NOT_FOUND,
                "this server has no admin token: open /_cdnsim/ui directly".into(),
            ),
            Some(token) => {
                let token = token.clone();
                let headers = req.headers().clone();
                match read_body(app, req, auth::LOGIN_BODY_BYTES_MAX).await {
                    Ok(form) => auth::login(&form, &token, &headers),
                    Err(response) => *response,
                }
            }
        },
        (&Method::GET, path) => ui::asset(path).unwrap_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                format!("no page /_cdnsim/{path}; the timeline is at /_cdnsim/ui"),
            )
        }),
        (_, "ui/login") => not_allowed("POST"),
        _ => not_allowed("GET"),
    }
}

/// `GET health`: 200 `{"status":"ok"}`, or 503 with the reason when the log writer or the
/// live clock has stopped.
fn health(app: &App) -> Response<Body> {
    let engine = app.engine();
    let now = format_ms(engine.now_ms());
    let clock = crate::locks::lock(&app.clock_failure).clone();
    let problem = if engine.is_stopped() {
        Some("the log writer stopped after an error; restart the server".to_owned())
    } else if engine.is_retired() {
        Some("a reset failed half-way; restart the server".to_owned())
    } else if let Some(replica) = &app.replica {
        crate::locks::lock(&replica.problem).clone()
    } else {
        clock.map(|e| format!("the live clock stopped: {e}"))
    };
    let (status, mut body) = match problem {
        None => (
            StatusCode::OK,
            serde_json::json!({"status": "ok", "now": now}),
        ),
        Some(problem) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "failing", "now": now, "error": problem}),
        ),
    };
    if let (Some(records), Some(fields)) = (engine.restored_from(), body.as_object_mut()) {
        fields.insert("restored_from_snapshot".into(), records.into());
    }
    if let (Some(replica), Some(fields)) = (&app.replica, body.as_object_mut()) {
        let lag = replica
            .lag_events
            .load(std::sync::atomic::Ordering::Acquire);
        fields.insert("role".into(), "replica".into());
        fields.insert("primary".into(), replica.primary.url.clone().into());
        fields.insert("lag_events".into(), lag.into());
    }
    json(status, &body)
}

/// `GET clock` (and the answer of `POST clock`).
#[derive(Debug, Serialize)]
struct Clock {
    now: String,
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    speed: Option<f64>,
    log_end: Option<String>,
    events: u64,
}

fn clock(app: &App) -> Clock {
    let engine = app.engine();
    let model = engine.model();
    let (mode, speed) = match app.config.clock {
        ClockMode::Manual => ("manual", None),
        ClockMode::Live { speed } => ("live", Some(speed)),
    };
    Clock {
        now: format_ms(engine.now_ms()),
        mode,
        speed,
        log_end: model.last_ms().map(format_ms),
        events: model.event_count(),
    }
}

/// `POST clock`: `{"advance": "5m"}` or `{"to": "<RFC 3339>"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Move {
    advance: Option<String>,
    to: Option<String>,
}

async fn post_clock(app: &Arc<App>, req: Request<Incoming>) -> Response<Body> {
    if let ClockMode::Live { .. } = app.config.clock {
        return error(
            StatusCode::CONFLICT,
            "the clock is live (--clock live); only a manual clock can be moved".into(),
        );
    }
    let body = match read_body(app, req, CLOCK_BODY_BYTES_MAX).await {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let step = match target(&body) {
        Ok(step) => step,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let engine = app.engine();
    match tokio::task::spawn_blocking(move || engine.step(step)).await {
        Ok(Ok(())) => json(StatusCode::OK, &clock(app)),
        Ok(Err(EngineError::Backwards { now_ms, to_ms })) => error(
            StatusCode::BAD_REQUEST,
            format!(
                "to: the clock only moves forward; it is {} and {} is earlier",
                format_ms(now_ms),
                format_ms(to_ms)
            ),
        ),
        Ok(Err(EngineError::EndOfTime { now_ms })) => error(
            StatusCode::BAD_REQUEST,
            format!(
                "{}: the clock cannot pass the end of the timeline, {} (it is {})",
                if matches!(step, Step::By(_)) {
                    "advance"
                } else {
                    "to"
                },
                format_ms(crate::time::MAX_MS),
                format_ms(now_ms)
            ),
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "advancing the clock failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Reads an admin body of at most [`CLOCK_BODY_BYTES_MAX`] bytes: 413 at once when the
/// declared length is over it, 400 for a malformed body, 408 when it does not arrive in time.
pub(super) async fn read_body(
    app: &App,
    req: Request<Incoming>,
    max: usize,
) -> Result<Bytes, Box<Response<Body>>> {
    let too_large = || {
        Box::new(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body must be at most {max} bytes"),
        ))
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(too_large());
    }
    let body = Limited::new(req.into_body(), max).collect();
    match tokio::time::timeout(app.config.body_timeout, body).await {
        Ok(Ok(body)) => Ok(body.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("the body could not be read: {e}"),
        ))),
        Err(_) => Err(Box::new(error(
            StatusCode::REQUEST_TIMEOUT,
            "the body was not received in time".into(),
        ))),
    }
}

/// `POST reset`, body empty or `{"at": "<RFC 3339>"}`: a new timeline from the scenario's
/// start (or `at`, never before the start); answers like `GET clock` once it is ready.
async fn post_reset(app: &Arc<App>, req: Request<Incoming>) -> Response<Body> {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Reset {
        at: Option<String>,
    }
    if app.engine().read_only() {
        return error(
            StatusCode::CONFLICT,
            "a finished log (--log) is read-only and cannot be reset".into(),
        );
    }
    if !app.engine().can_restart() {
        let engine = app.engine();
        return error(
            StatusCode::CONFLICT,
            EngineError::AppendOnly(engine.log_backend()).to_string(),
        );
    }
    let body = match read_body(app, req, CLOCK_BODY_BYTES_MAX).await {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let at_ms = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let usage = r#"expected no body or {"at": "<RFC 3339 time>"}"#;
        let reset: Reset = match serde_json::from_slice(&body) {
            Ok(reset) => reset,
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("{e}; {usage}")),
        };
        match reset.at.as_deref().map(|t| (t, parse_rfc3339(t))) {
            None => None,
            Some((_, Some(at_ms))) => Some(at_ms),
            Some((text, None)) => {
                let range = crate::time::RANGE;
                let message = format!("at: {text:?} is not an RFC 3339 time {range}");
                return error(StatusCode::BAD_REQUEST, message);
            }
        }
    };
    let blocking = Arc::clone(app);
    match tokio::task::spawn_blocking(move || blocking.reset(at_ms)).await {
        Ok(Ok(_)) => json(StatusCode::OK, &clock(app)),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "reset failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The move a `POST clock` body asks for.
fn target(body: &[u8]) -> Result<Step, String> {
    let usage =
        r#"expected {"advance": "<duration, e.g. 5m or 1h 30m>"} or {"to": "<RFC 3339 time>"}"#;
    let request: Move = serde_json::from_slice(body).map_err(|e| format!("{e}; {usage}"))?;
    match (&request.advance, &request.to) {
        (Some(text), None) => {
            let by = humantime::parse_duration(text)
                .map_err(|e| format!("advance: {text:?} is not a duration ({e})"))?;
            TimeMs::try_from(by.as_millis())
                .map(Step::By)
                .map_err(|_| format!("advance: {text:?} is too long"))
        }
        (None, Some(text)) => parse_rfc3339(text).map(Step::To).ok_or_else(|| {
            format!(
                "to: {text:?} is not an RFC 3339 time {}",
                crate::time::RANGE
            )
        }),
        _ => Err(format!("give exactly one of advance and to; {usage}")),
    }
}

/// `GET events?after=SEQ&limit=N`: records as JSON lines, seq greater than `after`, up to the
/// clock, streamed from the log file.
async fn events(app: &Arc<App>, query: &str) -> Response<Body> {
    let (after, limit, frames, timeline) = match events_params(query) {
        Ok(params) => params,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let engine = app.engine();
    if let Some(refusal) = events_refusal(&engine, timeline) {
        return refusal;
    }
    let Ok(permit) = Arc::clone(&app.streams).try_acquire_owned() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} event streams are open already; try again later",
                super::EVENT_STREAMS_MAX
            ),
        );
    };
    // A replica mirrors the whole state the server holds (a log served `--at` an earlier
    // time holds records past the clock); a reader gets the records up to the clock.
    let now_ms = if frames { TimeMs::MAX } else { engine.now_ms() };
    let visible = engine.visible_events();
    let path = engine.log_path().to_owned();
    // Straight to the first record asked for, through the log's sparse index.
    let from_seq = after.map_or(0, |a| a.saturating_add(1));
    let entry = engine.index_entry(from_seq);
    let open = move || Records::open_from_entry(&path, entry, from_seq);
    let records = match tokio::task::spawn_blocking(open).await {
        // A reset retires the engine before it moves the log: if it has not, this is its log.
        Ok(Ok(_)) if engine.is_retired() => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the timeline was reset while the stream was starting; retry".into(),
            );
        }
        Ok(Ok(records)) => records,
        Ok(Err(e)) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let runtime = tokio::runtime::Handle::current();
    // A client that stops reading gives up its stream after this long.
    let stall = app.config.idle_timeout;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let send = |chunk: Option<Bytes>| {
            runtime
                .block_on(tokio::time::timeout(stall, tx.send(chunk)))
                .is_ok_and(|sent| sent.is_ok())
        };
        let window = Window {
            after,
            limit,
            visible,
            now_ms,
            frames,
        };
        stream(records, window, send);
    });
    let mut response = Response::new(ChannelBody(rx).boxed());
    let kind = match frames {
        true => "application/octet-stream",
        false => "application/x-ndjson",
    };
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    response
}

/// Why an `events` stream cannot start: the writer stopped (503), or the timeline a replica
/// follows ended (409).
fn events_refusal(engine: &super::Engine, timeline: Option<u64>) -> Option<Response<Body>> {
    if let Some(expected) = timeline
        && expected != engine.timeline()
    {
        return Some(error(
            StatusCode::CONFLICT,
            format!(
                "timeline {expected} is over: this is timeline {} (the server was reset)",
                engine.timeline()
            ),
        ));
    }
    // The log was cut back to its synced length: what is past it is not on disk.
    engine.is_stopped().then(|| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the log writer stopped after an error; restart the server".into(),
        )
    })
}

/// Which records an `events` answer streams.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// Only records with a greater seq.
    after: Option<u64>,
    /// At most this many.
    limit: Option<u64>,
    /// Records at or past this seq may still be being written: never decoded.
    visible: u64,
    /// Only records up to the clock.
    now_ms: TimeMs,
    /// Binary frames (`crate::log::wire`) instead of JSON lines.
    frames: bool,
}

/// Sends the records of `window` as JSON lines in chunks of about [`EVENTS_CHUNK_BYTES`],
/// then `None` to say the stream is complete. Stops without that end mark when `send` says the
/// client went away or stalled, or the log cannot be read: the body then ends without HTTP's
/// terminating chunk, so the client can tell a cut stream from a complete one. Blocking.
fn stream(mut records: Records, window: Window, send: impl Fn(Option<Bytes>) -> bool) {
    let mut chunk: Vec<u8> = Vec::new();
    let mut sent = 0u64;
    while records.next_seq() < window.visible && window.limit.is_none_or(|l| sent < l) {
        let Some(record) = records.next_ref() else {
            break;
        };
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                tracing::error!(error = %e, "reading the log for /_cdnsim/events; cutting the stream");
                return;
            }
        };
        if record.at_ms > window.now_ms {
            break;
        }
        if window.after.is_some_and(|a| record.seq <= a) {
            continue;
        }
        let owned = Record {
            seq: record.seq,
            at_ms: record.at_ms,
            event: record.event.to_owned_event(),
        };
        if window.frames {
            if let Err(e) = crate::log::wire::put(&owned, &mut chunk) {
                tracing::error!(error = %e, "framing a record for /_cdnsim/events; cutting the stream");
                return;
            }
        } else {
            chunk.extend_from_slice(crate::dump::json_line(&owned).as_bytes());
            chunk.push(b'\n');
        }
        sent += 1;
        if chunk.len() >= EVENTS_CHUNK_BYTES && !send(Some(Bytes::from(std::mem::take(&mut chunk))))
        {
            return; // the client went away or stalled
        }
    }
    if !chunk.is_empty() && !send(Some(Bytes::from(chunk))) {
        return;
    }
    send(None);
}

/// `after`, `limit`, whether `format=frames` (the replicas' binary frames) was asked, and the
/// `timeline` a replica expects.
type EventsParams = (Option<u64>, Option<u64>, bool, Option<u64>);

fn events_params(query: &str) -> Result<EventsParams, String> {
    let pairs = crate::api::encoding::parse_pairs(query).map_err(|e| e.message)?;
    let (mut after, mut limit, mut format, mut timeline) = (None, None, None, None);
    for (name, value) in pairs {
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{name}: {value:?} is not a non-negative integer"))
        };
        // A repeated parameter: the first value wins, as everywhere in the API.
        match name.as_str() {
            "after" if after.is_none() => after = Some(number()?),
            "limit" if limit.is_none() => limit = Some(number()?),
            "timeline" if timeline.is_none() => timeline = Some(number()?),
            "format" if format.is_none() => match value.as_str() {
                "json" => format = Some(false),
                "frames" => format = Some(true),
                _ => return Err(format!("format: {value:?} is not json or frames")),
            },
            "after" | "limit" | "format" | "timeline" => {}
            other => {
                return Err(format!(
                    "unknown parameter {other:?}; expected after, limit, format and timeline"
                ));
            }
        }
    }
    Ok((after, limit, format.unwrap_or(false), timeline))
}

/// A body fed by a channel (chunks produced on a blocking thread): `Some(chunk)`, then `None`
/// at the end. A channel closed without that end mark is a cut stream: the body fails, and
/// hyper closes the connection without the terminating chunk.
struct ChannelBody(tokio::sync::mpsc::Receiver<Option<Bytes>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx).map(|chunk| match chunk {
            Some(Some(bytes)) => Some(Ok(Frame::data(bytes))),
            Some(None) => None,
            None => Some(Err(std::io::Error::other("the event stream was cut"))),
        })
    }
}

/// The time an admin read is asked as of: the clock, or `x-cdnsim-replay-time` (not later
/// than the clock); a bad header is the 400 to answer.
pub(super) fn replay_at(
    req: &Request<Incoming>,
    now_ms: TimeMs,
) -> Result<TimeMs, Box<Response<Body>>> {
    let header = super::http::REPLAY_TIME_HEADER;
    match req.headers().get(header) {
        None => Ok(now_ms),
        Some(value) => match value.to_str().ok().and_then(parse_rfc3339) {
            Some(at_ms) if at_ms <= now_ms => Ok(at_ms),
            _ => Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                format!(
                    "{header}: expected an RFC 3339 time {} not later than the clock ({})",
                    crate::time::RANGE,
                    format_ms(now_ms)
                ),
            ))),
        },
    }
}

pub(super) fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    response
}

pub(super) fn error(status: StatusCode, message: String) -> Response<Body> {
    json(status, &serde_json::json!({ "error": message }))
}

fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("this endpoint answers {allow}"),
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_log(dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("small.cdnlog");
        let mut writer = crate::log::LogWriter::create(&path, crate::log::Header::new([0; 32], 1))
            .expect("creates");
        for row in 0..3 {
            let event = crate::event::Event::Created {
                row,
                task_id: crate::event::TaskId(1),
                domain: "a.com".into(),
                object_path: format!("http://a.com/{row}"),
                object_type: crate::event::ObjectType::File,
                source: crate::event::Source::Scenario,
            };
            writer.append(1_000, &event).expect("appends");
        }
        writer.sync().expect("syncs");
        path
    }

    /// D6: a stream that is cut (a stalled client, an unreadable log, shutdown) must not end
    /// like a complete one.
    #[tokio::test]
    async fn a_cut_event_stream_fails_and_a_complete_one_ends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = small_log(dir.path());
        let window = Window {
            after: None,
            limit: None,
            visible: u64::MAX,
            now_ms: i64::MAX,
            frames: false,
        };
        for cut in [false, true] {
            let (tx, rx) = tokio::sync::mpsc::channel(16);
            let records = Records::open(&path).expect("opens");
            // A stalled client: the first send times out.
            stream(records, window, |chunk| !cut && tx.try_send(chunk).is_ok());
            drop(tx);
            let collected = ChannelBody(rx).collect().await;
            match (cut, collected) {
                (false, Ok(body)) => {
                    let text = body.to_bytes();
                    assert_eq!(text.iter().filter(|&&b| b == b'\n').count(), 3);
                }
                (true, Err(e)) => assert!(e.to_string().contains("cut"), "{e}"),
                (cut, other) => panic!("cut {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn clock_moves_are_checked() {
        assert_eq!(target(br#"{"advance":"5m"}"#), Ok(Step::By(300_000)));
        assert_eq!(target(br#"{"advance":"1h 30m"}"#), Ok(Step::By(5_400_000)));
        assert_eq!(
            target(br#"{"to":"1970-01-01T00:16:40Z"}"#),
            Ok(Step::To(1_000_000))
        );
        for (body, needle) in [
            (
                &br#"{"advance":"soon"}"#[..],
                "advance: \"soon\" is not a duration",
            ),
            (br#"{"to":"noon"}"#, "to: \"noon\" is not an RFC 3339 time"),
            (
                br#"{"advance":"5m","to":"1970-01-01T00:00:00Z"}"#,
                "exactly one",
            ),
            (br#"{}"#, "exactly one"),
            (br#"{"back":"5m"}"#, "unknown field `back`"),
            (b"not json", "expected"),
        ] {
            let e = target(body).expect_err(needle);
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn events_parameters_are_checked() {
        assert_eq!(events_params(""), Ok((None, None, false, None)));
        assert_eq!(
            events_params("after=5&limit=2&format=frames&timeline=3"),
            Ok((Some(5), Some(2), true, Some(3)))
        );
        assert_eq!(
            events_params("after=5&after=9&limit=2&limit=1"),
            Ok((Some(5), Some(2), false, None))
        );
        for (query, needle) in [
            ("after=-1", "after: \"-1\""),
            ("limit=x", "limit: \"x\""),
            ("from=3", "unknown parameter \"from\""),
            ("format=xml", "format: \"xml\""),
        ] {
            let e = events_params(query).expect_err(needle);
            assert!(e.contains(needle), "{e}");
        }
    }
}
