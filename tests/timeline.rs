//! The timeline's JSON over HTTP: `/_cdnsim/stats` and `/_cdnsim/history` against a served
//! log, checked against `cdnsim query` and the log's own records; bad parameters are 400.

mod common;

use cdnsim::event::{Event, Record};
use common::http::*;
use hyper::StatusCode;
use serde_json::Value;

fn records(log: &std::path::Path) -> Vec<Record> {
    cdnsim::log::Records::open(log)
        .expect("opens")
        .map(|r| r.expect("whole"))
        .collect()
}

#[tokio::test]
async fn stats_and_history_answer_from_the_served_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = ci_replay_log(dir.path());
    let server = Running::start(log_config(&log)).await;

    // Defaults: the log's span up to the clock (AT), 200 buckets; the last bucket's counts are
    // the rows as of AT (every one of them: ci-replay's rows are all inside three days).
    let answer = get(&server, "/_cdnsim/stats").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let stats = answer.json();
    assert_eq!(stats["to"], "2026-11-20T10:03:00.000Z");
    let buckets = stats["buckets"].as_array().expect("buckets");
    assert_eq!(buckets.len(), 200);
    let last = &buckets[199];
    let total: u64 = ["pending", "refreshing", "complete", "failed"]
        .iter()
        .map(|k| last[k].as_u64().expect("a count"))
        .sum();
    let describe = query(&log, &["Format=JSON", "PageSize=100"]);
    let describe: Value = serde_json::from_str(&describe).expect("JSON");
    assert_eq!(total, describe["TotalCount"].as_u64().expect("a count"));
    let failed = query(
        &log,
        &["Format=JSON", "Status=Failed", "ObjectType=preload"],
    );
    let failed: Value = serde_json::from_str(&failed).expect("JSON");
    let preload = get(&server, "/_cdnsim/stats?buckets=1&type=preload")
        .await
        .json();
    assert_eq!(preload["buckets"][0]["failed"], failed["TotalCount"]);
    let reasons: u64 = buckets
        .iter()
        .flat_map(|b| b["failed_in_bucket"].as_object().expect("reasons").values())
        .map(|n| n.as_u64().expect("a count"))
        .sum();
    assert_eq!(reasons, last["failed"].as_u64().expect("a count"));

    // History: a failed row's transitions are exactly its records in the log.
    let row = describe["Tasks"]["CDNTask"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["Status"] == "Failed")
        .expect("a failed row")
        .clone();
    let path = cdnsim::api::encoding::encode(row["ObjectPath"].as_str().expect("a path"));
    let history = get(
        &server,
        &format!(
            "/_cdnsim/history?task_id={}&object_path={path}",
            row["TaskId"].as_str().expect("an id")
        ),
    )
    .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.body);
    let rows = history.json()["rows"].as_array().cloned().expect("rows");
    assert_eq!(rows.len(), 1);
    let n = rows[0]["row"].as_u64().expect("a row");
    let mine: Vec<Record> = records(&log)
        .into_iter()
        .filter(|r| r.event.is_task_event() && r.event.row() == Some(n))
        .collect();
    let transitions = rows[0]["transitions"].as_array().expect("transitions");
    assert_eq!(transitions.len(), mine.len());
    for (t, r) in transitions.iter().zip(&mine) {
        assert_eq!(t["at"], cdnsim::time::format_ms(r.at_ms));
        let want = match &r.event {
            Event::Created { .. } => "Pending",
            Event::Progressed { .. } => "Refreshing",
            Event::Completed { .. } => "Complete",
            _ => "Failed",
        };
        assert_eq!(t["status"], want);
    }
    assert_eq!(
        transitions.last().expect("one")["reason"],
        row["Description"]
    );
    assert_eq!(rows[0]["source"], "scenario");

    for (path, needle) in [
        ("/_cdnsim/stats?buckets=0", "buckets"),
        ("/_cdnsim/stats?buckets=100000", "buckets"),
        (
            "/_cdnsim/stats?from=2026-11-20T10:00:00Z&to=2026-11-20T09:00:00Z",
            "from",
        ),
        ("/_cdnsim/stats?from=9999-99-99", "from"),
        ("/_cdnsim/stats?type=blob", "type"),
        ("/_cdnsim/history", "task_id"),
        ("/_cdnsim/history?task_id=x1", "task_id"),
    ] {
        let answer = get(&server, path).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            answer.body
        );
        let message = answer.json()["error"]
            .as_str()
            .expect("a message")
            .to_owned();
        assert!(message.starts_with(needle), "{path}: {message}");
    }
    server.stop().await;
}
