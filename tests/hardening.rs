//! `serve` against hostile input and failing storage: a bounded timeline, atomic writes,
//! acknowledged records never cut, clients that cannot stall the server, the admin token.
//! Each test names the finding it reproduces (D1..D9).

mod common;

use common::http::*;
use hyper::StatusCode;
use serde_json::Value;

const END: &str = "9999-12-31T23:59:59.999Z";

async fn refresh(server: &Running, path: &str) -> Answer {
    post(
        server,
        "/?Action=RefreshObjectCaches&Format=JSON",
        "application/x-www-form-urlencoded",
        &format!("ObjectPath={}", cdnsim::api::encoding::encode(path)),
    )
    .await
}

async fn statuses(server: &Running, task_id: &str) -> Vec<String> {
    let answer = get(
        server,
        &format!("/?Action=DescribeRefreshTaskById&Format=JSON&TaskId={task_id}"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.json()["Tasks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| t["Status"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// D1: a clock moved past i64 range, then a write, poisoned the data directory for good.
#[tokio::test]
async fn d1_the_timeline_is_bounded_and_a_write_at_its_last_moment_survives_restart() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Running::start(scenario_config(data.path(), "quickstart.toml")).await;
    let before = get(&server, "/_cdnsim/clock").await.json()["now"].clone();
    for body in [
        r#"{"advance":"9223372036854775s"}"#,
        r#"{"advance":"8000years"}"#,
        r#"{"to":"9999-12-31T23:59:60Z"}"#,
        r#"{"to":"10000-01-01T00:00:00Z"}"#,
    ] {
        let answer = move_clock(&server, body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            answer.body
        );
        assert!(
            answer.body.contains("9999-12-31T23:59:59"),
            "{body}: {}",
            answer.body
        );
    }
    let now = get(&server, "/_cdnsim/clock").await.json()["now"].clone();
    assert_eq!(now, before, "a refused move leaves the clock alone");

    let moved = move_clock(&server, &format!(r#"{{"to":"{END}"}}"#)).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.json()["now"], END);
    // One more millisecond is past the end.
    let past = move_clock(&server, r#"{"advance":"1ms"}"#).await;
    assert_eq!(past.status, StatusCode::BAD_REQUEST, "{}", past.body);

    // A write at the last moment works; its lifecycle ends on that moment too.
    let written = refresh(&server, "http://static.example.com/end-of-time.txt").await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.body);
    let task_id = written.json()["RefreshTaskId"]
        .as_str()
        .expect("a TaskId")
        .to_owned();
    assert_eq!(statuses(&server, &task_id).await, ["Complete"]);
    let health = get(&server, "/_cdnsim/health").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    server.stop().await;

    // The data directory is still good: the restart re-runs the log and shows the same.
    let server = Running::start(scenario_config(data.path(), "quickstart.toml")).await;
    assert_eq!(get(&server, "/_cdnsim/clock").await.json()["now"], END);
    assert_eq!(statuses(&server, &task_id).await, ["Complete"]);
    server.stop().await;
}

/// D9 (times): a leap second is no time, and every time is rendered as RFC 3339.
#[tokio::test]
async fn d9_leap_seconds_are_refused_and_times_render_as_rfc_3339() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Running::start(scenario_config(data.path(), "quickstart.toml")).await;
    let answer = get(
        &server,
        "/?Action=DescribeRefreshTasks&Format=JSON&StartTime=2026-11-01T10:03:60Z&EndTime=2026-11-01T11:00:00Z",
    )
    .await;
    answer.expect_error(400, "InvalidStartTime.Malformed");
    let moved = move_clock(&server, r#"{"advance":"1h"}"#).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let clock: Value = get(&server, "/_cdnsim/clock").await.json();
    for key in ["now", "log_end"] {
        let text = clock[key].as_str().unwrap_or("");
        assert!(
            cdnsim::time::parse_rfc3339(text).is_some(),
            "{key}: {clock}"
        );
    }
    server.stop().await;
}
