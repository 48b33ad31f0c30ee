//! Read replicas (`serve --follow`): a replica's answers are its primary's, byte for byte,
//! at the same time — after scenario time passes, after writes, after a reset and after the
//! primary restarts; it refuses every change, naming the primary; its health reports it.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use cdnsim::server::replica::Primary;
use cdnsim::server::{Config, Source};
use common::http::*;
use hyper::StatusCode;
use serde_json::Value;

fn replica_config(primary: &Running) -> Config {
    let url = format!("http://{}", primary.addr);
    let mut config = Config::new(Source::Follow(
        Primary::parse(&url, None).expect("an address"),
    ));
    config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config
}

/// Waits (bounded) until the replica's clock and record count are the primary's.
async fn caught_up(primary: &Running, replica: &Running) -> Value {
    let want = get(primary, "/_cdnsim/clock").await.json();
    for _ in 0..400 {
        let seen = get(replica, "/_cdnsim/clock").await.json();
        if (&seen["now"], &seen["events"]) == (&want["now"], &want["events"]) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the replica never caught up with {want}");
}

/// The same requests to both: byte-identical bodies (RequestIds included).
async fn same_answers(primary: &Running, replica: &Running, at: &str) {
    let queries = [
        "/?Action=DescribeRefreshTasks&Format=JSON&PageSize=50",
        "/?Action=DescribeRefreshTasks&Format=JSON&PageSize=20&PageNumber=3&ObjectType=file&Status=Complete",
        "/?Action=DescribeRefreshTasks&PageSize=5",
        "/?Action=DescribeRefreshQuota&Format=JSON",
        "/?Action=DescribeRefreshTaskById&Format=JSON&TaskId=15000000001,15000000002",
        "/?Action=DescribeRefreshTasks&Format=JSON&PageSize=0",
        "/_cdnsim/stats?buckets=7",
        "/_cdnsim/history?task_id=15000000001",
    ];
    for query in queries {
        for replay in [None, Some(at)] {
            let headers: Vec<(&str, &str)> = replay
                .map(|at| ("x-cdnsim-replay-time", at))
                .into_iter()
                .collect();
            let (a, b) = (
                call(primary.addr, "GET", query, &headers, "").await,
                call(replica.addr, "GET", query, &headers, "").await,
            );
            assert_eq!(a.status, b.status, "{query} as of {replay:?}");
            assert_eq!(a.body, b.body, "{query} as of {replay:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_answers_as_its_primary_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let primary = Running::start(scenario_config(&dir.path().join("p"), "quickstart.toml")).await;
    assert_eq!(
        move_clock(&primary, r#"{"advance":"5h"}"#).await.status,
        StatusCode::OK
    );
    let replica = Running::start(replica_config(&primary)).await;
    caught_up(&primary, &replica).await;
    same_answers(&primary, &replica, "2026-11-01T02:30:00Z").await;

    // Time passes and an app writes, on the primary: the replica follows.
    let written = refresh(&primary, &["http://static.example.com/replica/a.js"], "").await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.body);
    assert_eq!(
        move_clock(&primary, r#"{"advance":"90m"}"#).await.status,
        StatusCode::OK
    );
    caught_up(&primary, &replica).await;
    same_answers(&primary, &replica, "2026-11-01T05:00:00.001Z").await;

    // Health names the primary.
    let health = get(&replica, "/_cdnsim/health").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    let health = health.json();
    assert_eq!(health["role"], "replica");
    assert_eq!(health["primary"], format!("http://{}", primary.addr));
    assert_eq!(health["lag_events"], 0);

    // Every change is refused, naming the primary.
    let named = format!("http://{}", primary.addr);
    let write = refresh(&replica, &["http://static.example.com/replica/b.js"], "").await;
    write.expect_error(403, "Forbidden.ReadOnly");
    assert!(write.body.contains(&named), "{}", write.body);
    for (method, path, body) in [
        ("POST", "/_cdnsim/clock", r#"{"advance":"1m"}"#),
        ("POST", "/_cdnsim/reset", ""),
        (
            "POST",
            "/_cdnsim/rules",
            r#"{"name":"x","action":"DescribeRefreshTasks","error":"Throttling.User"}"#,
        ),
        ("DELETE", "/_cdnsim/rules", ""),
    ] {
        let answer = call(replica.addr, method, path, &[], body).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            answer.body
        );
        assert!(answer.body.contains(&named), "{}", answer.body);
    }
    assert_eq!(
        get(&replica, "/_cdnsim/events").await.status,
        StatusCode::CONFLICT
    );

    // A reset on the primary: the replica follows the new timeline.
    assert_eq!(
        post(&primary, "/_cdnsim/reset", "application/json", "")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        move_clock(&primary, r#"{"advance":"2h"}"#).await.status,
        StatusCode::OK
    );
    let clock = caught_up(&primary, &replica).await;
    assert_eq!(clock["now"], "2026-11-01T02:00:00.000Z");
    same_answers(&primary, &replica, "2026-11-01T01:00:00Z").await;
    replica.stop().await;
    primary.stop().await;
}

/// The primary stops and starts again (same data, same address): the replica reconnects,
/// folds the log anew and answers as the primary does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_survives_its_primary_restarting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("p");
    let primary = Running::start(scenario_config(&data, "quickstart.toml")).await;
    assert_eq!(
        move_clock(&primary, r#"{"advance":"3h"}"#).await.status,
        StatusCode::OK
    );
    let replica = Running::start(replica_config(&primary)).await;
    caught_up(&primary, &replica).await;
    let addr = primary.addr;
    primary.stop().await;

    let mut lost = None;
    for _ in 0..400 {
        let health = get(&replica, "/_cdnsim/health").await;
        if health.status == StatusCode::SERVICE_UNAVAILABLE {
            lost = Some(health.json());
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let lost = lost.expect("health says the primary is lost");
    assert!(
        lost["error"]
            .as_str()
            .is_some_and(|e| e.contains("primary")),
        "{lost}"
    );
    // Meanwhile it still answers, from what it had.
    let answer = get(&replica, "/?Action=DescribeRefreshTasks&Format=JSON").await;
    assert_eq!(answer.status, StatusCode::OK);

    let mut config = scenario_config(&data, "quickstart.toml");
    config.addr = addr;
    let primary = Running::start(config).await;
    assert_eq!(
        move_clock(&primary, r#"{"advance":"1h"}"#).await.status,
        StatusCode::OK
    );
    caught_up(&primary, &replica).await;
    same_answers(&primary, &replica, "2026-11-01T01:00:00Z").await;
    replica.stop().await;
    primary.stop().await;
}

/// A replica that cannot reach its primary does not start, and says why.
#[tokio::test]
async fn a_replica_without_a_primary_says_so() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = free.local_addr().expect("bound");
    drop(free);
    let url = format!("http://{addr}");
    let mut config = Config::new(Source::Follow(
        Primary::parse(&url, None).expect("an address"),
    ));
    config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let e = cdnsim::server::Server::bind(config)
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("cannot reach the primary"), "{e}");
}

/// A primary serving a log as of a time before its end (`--log --at`): the replica holds what
/// the primary holds, so its answers (RequestIds included) are the primary's, now and replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_of_a_log_served_before_its_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = ci_replay_log(dir.path());
    let primary = Running::start(log_config(&log)).await;
    let replica = Running::start(replica_config(&primary)).await;
    caught_up(&primary, &replica).await;
    same_answers(&primary, &replica, "2026-11-20T09:00:00Z").await;
    // A record stream for an ended timeline is refused (a replica then folds anew).
    let stale = get(&primary, "/_cdnsim/events?format=frames&timeline=7").await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    replica.stop().await;
    primary.stop().await;
}
