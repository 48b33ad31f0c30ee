//! The JSON behind the web timeline: `GET /_cdnsim/stats` (status counts per time bucket) and
//! `GET /_cdnsim/history` (a task's rows and every transition), both from the read model, and
//! `GET /_cdnsim/scenario` (the span, domains, incidents and scripts the page marks).
//!
//! `stats?from=T1&to=T2&buckets=N[&domain=D][&type=TYPE]` answers
//! `{"from","to","bucket_ms","buckets":[{"end","pending","refreshing","complete","failed",
//! "failed_in_bucket":{"Internal Error":n,"Origin timeout":n,"Origin Return StatusCode 5XX":n}}]}`:
//! for each bucket, the rows created at or before its end (whatever their age) by their status
//! then, and the rows that failed inside it by reason. `from` and `to` default to the log's
//! span, `to` never past the clock; `buckets` is 1 to 10,000 (default 200); `type` is an
//! ObjectType as the API names it.
//!
//! `history?task_id=ID[&object_path=URL]` answers `{"rows":[{"row","task_id","object_path",
//! "object_type","source","transitions":[{"at","status","process","reason"}]}]}` (`reason`
//! only on Failed), transitions up to the clock or `x-cdnsim-replay-time`.

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

use super::admin::{error, json, replay_at};
use super::{App, Body};
use crate::event::{FailReason, ObjectType, TaskId, TimeMs};
use crate::projection::{BUCKETS_MAX, StatsQuery};
use crate::time::{RANGE, format_ms, parse_rfc3339};

/// Buckets when a stats query names none.
pub const DEFAULT_BUCKETS: u32 = 200;

/// `GET stats`.
pub fn stats(app: &App, req: &Request<Incoming>) -> Response<Body> {
    let engine = app.engine();
    let now_ms = engine.now_ms();
    let model = engine.model();
    let span = model.projection().first_ms().map(|first| {
        let last = model.last_ms().unwrap_or(first).min(now_ms);
        (first.min(last), last)
    });
    let q = match stats_query(req.uri().query().unwrap_or(""), span, now_ms) {
        Ok(q) => q,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let stats = model.projection().stats(&q);
    drop(model);
    #[derive(Serialize)]
    struct BucketJson {
        end: String,
        pending: u64,
        refreshing: u64,
        complete: u64,
        failed: u64,
        failed_in_bucket: Map<String, Value>,
    }
    #[derive(Serialize)]
    struct StatsJson {
        from: String,
        to: String,
        bucket_ms: TimeMs,
        buckets: Vec<BucketJson>,
    }
    let buckets = stats
        .buckets
        .iter()
        .map(|b| BucketJson {
            end: format_ms(b.end_ms),
            pending: b.by_status[0],
            refreshing: b.by_status[1],
            complete: b.by_status[2],
            failed: b.by_status[3],
            failed_in_bucket: FailReason::ALL
                .iter()
                .zip(b.failed_in_bucket)
                .map(|(r, n)| (r.as_str().to_owned(), Value::from(n)))
                .collect(),
        })
        .collect();
    json(
        StatusCode::OK,
        &StatsJson {
            from: format_ms(q.from_ms),
            to: format_ms(q.to_ms),
            bucket_ms: stats.bucket_ms,
            buckets,
        },
    )
}

/// A checked stats query; `span` is the log's (first, last) time, if it has rows.
fn stats_query(
    query: &str,
    span: Option<(TimeMs, TimeMs)>,
    now_ms: TimeMs,
) -> Result<StatsQuery, String> {
    let pairs = crate::api::encoding::parse_pairs(query).map_err(|e| e.message.into_owned())?;
    let (mut from, mut to, mut buckets, mut domain, mut object_type) =
        (None, None, None, None, None);
    let time = |name: &str, value: &str| {
        parse_rfc3339(value)
            .ok_or_else(|| format!("{name}: {value:?} is not an RFC 3339 time {RANGE}"))
    };
    for (name, value) in pairs {
        // A repeated parameter: the first value wins, as everywhere in the API.
        match name.as_str() {
            "from" if from.is_none() => from = Some(time("from", &value)?),
            "to" if to.is_none() => to = Some(time("to", &value)?),
            "buckets" if buckets.is_none() => {
                let n = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=BUCKETS_MAX).contains(n))
                    .ok_or_else(|| {
                        format!("buckets: {value:?} is not a whole number from 1 to {BUCKETS_MAX}")
                    })?;
                buckets = Some(n);
            }
            "domain" if domain.is_none() => domain = Some(value),
            "type" if object_type.is_none() => {
                let t = ObjectType::ALL
                    .into_iter()
                    .find(|t| t.as_str().eq_ignore_ascii_case(&value))
                    .ok_or_else(|| {
                        format!(
                            "type: {value:?} is not one of file, directory, regex, IgnoreParams, \
                             preload"
                        )
                    })?;
                object_type = Some(t);
            }
            "from" | "to" | "buckets" | "domain" | "type" => {}
            other => {
                return Err(format!(
                    "unknown parameter {other:?}; expected from, to, buckets, domain and type"
                ));
            }
        }
    }
    let (first, last) = span.unwrap_or((now_ms, now_ms));
    let to_ms = to.unwrap_or(last).min(now_ms);
    let from_ms = from.unwrap_or(first.min(to_ms));
    if from_ms > to_ms {
        return Err(format!(
            "from: {} is after to ({}, which is never past the clock)",
            format_ms(from_ms),
            format_ms(to_ms)
        ));
    }
    Ok(StatsQuery {
        from_ms,
        to_ms,
        buckets: buckets.unwrap_or(DEFAULT_BUCKETS),
        domain,
        object_type,
    })
}

/// `GET history`.
pub fn history(app: &App, req: &Request<Incoming>) -> Response<Body> {
    let engine = app.engine();
    let now_ms = engine.now_ms();
    let at_ms = match replay_at(req, now_ms) {
        Ok(at_ms) => at_ms,
        Err(response) => return *response,
    };
    let (task_id, object_path) = match history_params(req.uri().query().unwrap_or("")) {
        Ok(p) => p,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let rows = engine
        .model()
        .projection()
        .history(task_id, object_path.as_deref(), at_ms);
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let transitions: Vec<Value> = r
                .steps
                .iter()
                .map(|s| {
                    let mut t = Map::new();
                    t.insert("at".into(), format_ms(s.at_ms).into());
                    t.insert("status".into(), s.status.as_str().into());
                    t.insert("process".into(), s.process.to_string().into());
                    if let Some(reason) = s.reason {
                        t.insert("reason".into(), reason.as_str().into());
                    }
                    Value::Object(t)
                })
                .collect();
            serde_json::json!({
                "row": r.row,
                "task_id": r.task_id.to_string(),
                "object_path": r.object_path,
                "object_type": r.object_type.as_str(),
                "source": r.source.as_str(),
                "transitions": transitions,
            })
        })
        .collect();
    json(StatusCode::OK, &serde_json::json!({ "rows": rows }))
}

/// `GET scenario`: what the page needs to draw the timeline's frame — whether the server
/// takes writes, the scenario's span, the domains, incident windows and scripted submissions.
/// Serving a log without its scenario (`--log` alone), the span, incidents and scripts are
/// unknown: `null` and empty; the domains are those in the log.
pub fn scenario(app: &App) -> Response<Body> {
    let engine = app.engine();
    let model = engine.model();
    let source = match app.config.source {
        super::Source::Log(_) => "log",
        super::Source::Scenario { .. } => "scenario",
        super::Source::Follow(_) => "replica",
        #[cfg(feature = "nats")]
        super::Source::FollowStream(_) => "replica",
    };
    let (start, end, domains, incidents, scripts) = match app.scenario() {
        None => (
            Value::Null,
            Value::Null,
            model.projection().domains().to_vec(),
            Vec::new(),
            Vec::new(),
        ),
        Some(s) => {
            let name = |i: usize| s.domains.get(i).map_or("", |d| d.name.as_str());
            let incidents = s
                .incidents
                .iter()
                .map(|i| {
                    serde_json::json!({
                        "domain": name(i.domain),
                        "start": format_ms(i.start_ms),
                        "end": format_ms(i.end_ms),
                        "failure_rate": i.failure_rate,
                        "reason": i.reason.as_str(),
                    })
                })
                .collect();
            let scripts = s
                .scripts
                .iter()
                .map(|sc| script_json(sc, name(sc.domain)))
                .collect();
            (
                format_ms(s.start_ms).into(),
                format_ms(s.end_ms()).into(),
                s.domains.iter().map(|d| d.name.clone()).collect(),
                incidents,
                scripts,
            )
        }
    };
    json(
        StatusCode::OK,
        &serde_json::json!({
            "source": source,
            "read_only": engine.read_only(),
            "start": start,
            "end": end,
            "domains": domains,
            "incidents": incidents,
            "scripts": scripts,
        }),
    )
}

fn script_json(script: &crate::scenario::Script, domain: &str) -> Value {
    let mut s = Map::new();
    s.insert("at".into(), format_ms(script.at_ms).into());
    s.insert("domain".into(), domain.into());
    s.insert("type".into(), script.object_type.as_str().into());
    s.insert("paths".into(), script.paths.len().into());
    match script.outcome {
        crate::scenario::Forced::Complete => {
            s.insert("outcome".into(), "Complete".into());
        }
        crate::scenario::Forced::Failed(reason) => {
            s.insert("outcome".into(), "Failed".into());
            s.insert("reason".into(), reason.as_str().into());
        }
    }
    Value::Object(s)
}

fn history_params(query: &str) -> Result<(TaskId, Option<String>), String> {
    let pairs = crate::api::encoding::parse_pairs(query).map_err(|e| e.message.into_owned())?;
    let (mut task_id, mut object_path) = (None, None);
    for (name, value) in pairs {
        match name.as_str() {
            "task_id" if task_id.is_none() => {
                let id = value
                    .parse::<TaskId>()
                    .map_err(|_| format!("task_id: {value:?} is not a decimal TaskId"))?;
                task_id = Some(id);
            }
            "object_path" if object_path.is_none() => object_path = Some(value),
            "task_id" | "object_path" => {}
            other => {
                return Err(format!(
                    "unknown parameter {other:?}; expected task_id and object_path"
                ));
            }
        }
    }
    let task_id = task_id.ok_or("task_id: required")?;
    Ok((task_id, object_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_parameters_are_checked() {
        let span = Some((1_000, 9_000));
        let q = stats_query("", span, 5_000).expect("defaults");
        assert_eq!(
            (q.from_ms, q.to_ms, q.buckets),
            (1_000, 5_000, DEFAULT_BUCKETS)
        );
        let q = stats_query("buckets=3&type=FILE&domain=a.com", span, 9_000).expect("valid");
        assert_eq!((q.buckets, q.object_type), (3, Some(ObjectType::File)));
        for (query, needle) in [
            ("buckets=0", "buckets: \"0\""),
            ("buckets=100000", "buckets: \"100000\""),
            ("buckets=x", "buckets"),
            (
                "from=1970-01-01T00:00:08Z&to=1970-01-01T00:00:02Z",
                "from: ",
            ),
            ("from=yesterday", "from: \"yesterday\""),
            ("type=block", "type: \"block\""),
            ("colour=red", "unknown parameter \"colour\""),
        ] {
            let e = stats_query(query, span, 9_000).expect_err(query);
            assert!(e.contains(needle), "{query}: {e}");
        }
        assert!(
            history_params("")
                .unwrap_err()
                .contains("task_id: required")
        );
        assert!(
            history_params("task_id=12a")
                .unwrap_err()
                .contains("task_id")
        );
        assert_eq!(
            history_params("task_id=15&object_path=http%3A%2F%2Fa.com%2Fx"),
            Ok((TaskId(15), Some("http://a.com/x".into())))
        );
    }
}
