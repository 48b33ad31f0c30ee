//! `/_cdnsim/rules`: `POST` one rule (201 with the rule as stored, `remaining` and
//! `added_at`), `GET` them all (`{"rules":[...]}` in the order added, spent ones with
//! `"remaining":0`; as of `x-cdnsim-replay-time` when given), `DELETE rules/NAME` one and
//! `DELETE rules` all (204). Errors are `{"error": "..."}`: 400 naming the bad key, 404 for an
//! unknown name, 409 for a name taken (or a finished log, which takes no rules), 413 for a
//! body over [`RULE_BODY_BYTES_MAX`].

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Serialize;

use super::admin::{error, json, read_body, replay_at};
use super::engine::{EngineError, RuleChangeError};
use super::{App, Body};
use crate::scenario::rule::{BookError, Entry, EntryView, Rule};

/// Largest `POST rules` body.
pub const RULE_BODY_BYTES_MAX: usize = 16 * 1024;

/// `GET rules`.
pub fn list(app: &App, req: &Request<Incoming>) -> Response<Body> {
    let engine = app.engine();
    let now_ms = engine.now_ms();
    let at_ms = match replay_at(req, now_ms) {
        Ok(at_ms) => at_ms,
        Err(response) => return *response,
    };
    let book = engine.model().rules().as_of(at_ms);
    #[derive(Serialize)]
    struct Rules<'a> {
        rules: Vec<EntryView<'a>>,
    }
    let rules = Rules {
        rules: book.entries().iter().map(Entry::view).collect(),
    };
    json(StatusCode::OK, &rules)
}

/// `POST rules`.
pub async fn add(app: &Arc<App>, req: Request<Incoming>) -> Response<Body> {
    if app.engine().read_only() {
        return read_only();
    }
    let body = match read_body(app, req, RULE_BODY_BYTES_MAX).await {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let rule = match std::str::from_utf8(&body).map_err(|e| e.to_string()) {
        Ok(text) => Rule::from_json(text),
        Err(e) => Err(e),
    };
    let rule = match rule {
        Ok(rule) => rule,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("the rule: {e}")),
    };
    let added_ms = match app.engine().add_rule(rule.clone()).await {
        Ok(added_ms) => added_ms,
        Err(e) => return change_failed(e),
    };
    let entry = Entry {
        rule,
        added_ms,
        used: 0,
        draws: 0,
    };
    json(StatusCode::CREATED, &entry.view())
}

/// `DELETE rules/NAME` (`Some`) or `DELETE rules` (`None`).
pub async fn delete(app: &Arc<App>, name: Option<String>) -> Response<Body> {
    if app.engine().read_only() {
        return read_only();
    }
    if let Err(e) = app.engine().delete_rules(name).await {
        return change_failed(e);
    }
    let mut response = Response::new(super::body::full(""));
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

fn read_only() -> Response<Body> {
    error(
        StatusCode::CONFLICT,
        "a finished log (--log) is read-only: rules cannot be added or deleted".into(),
    )
}

fn change_failed(e: RuleChangeError) -> Response<Body> {
    match e {
        RuleChangeError::Book(e @ BookError::NameTaken(_)) => {
            error(StatusCode::CONFLICT, format!("name: {e}"))
        }
        RuleChangeError::Book(e @ BookError::Full) => error(StatusCode::CONFLICT, e.to_string()),
        RuleChangeError::Book(e) => error(StatusCode::NOT_FOUND, e.to_string()),
        RuleChangeError::ReadOnly => read_only(),
        RuleChangeError::Unsynced(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        RuleChangeError::Engine(e @ EngineError::Join(_)) => {
            error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
        RuleChangeError::Engine(e @ EngineError::Retired) => {
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        RuleChangeError::Engine(e) => {
            tracing::error!(error = %e, "a rule change failed");
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
    }
}
