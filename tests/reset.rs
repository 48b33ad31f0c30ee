//! `POST /_cdnsim/reset` and `serve --ephemeral`: one server for a whole test suite, each test
//! starting from a clean timeline, and no state left behind.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use cdnsim::event::{Event, Source};
use common::http::*;
use hyper::StatusCode;

const START: &str = "2026-11-20T00:00:00.000Z";

async fn reset(server: &Running, body: &str) -> Answer {
    post(server, "/_cdnsim/reset", "application/json", body).await
}

/// The object paths of API rows in a log.
fn api_paths(log: &Path) -> Vec<String> {
    cdnsim::log::Records::open(log)
        .expect("opens")
        .map(|r| r.expect("a whole record"))
        .filter_map(|r| match r.event {
            Event::Created {
                object_path,
                source: Source::Api,
                ..
            } => Some(object_path),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_reset_starts_a_new_timeline_and_keeps_the_old_log_aside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut config = scenario_config(&data, "ci-replay.toml");
    config.keep_old = 2;
    let server = Running::start(config.clone()).await;
    let moved = move_clock(&server, r#"{"advance":"2h"}"#).await;
    assert_eq!(moved.status, StatusCode::OK);
    let old = refresh(&server, &["http://static.example.com/before-reset.js"], "").await;
    assert_eq!(old.status, StatusCode::OK, "{}", old.body);
    let old_id = old.json()["RefreshTaskId"]
        .as_str()
        .expect("an id")
        .to_owned();
    assert_eq!(by_id(&server, &old_id).await.len(), 1);

    let answer = reset(&server, "").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["now"], START, "back at the scenario's start");
    assert!(
        by_id(&server, &old_id).await.is_empty(),
        "the old timeline is gone"
    );
    let aside = data.join("events.cdnlog.old.1");
    assert_eq!(
        api_paths(&aside),
        ["http://static.example.com/before-reset.js"]
    );

    // The new timeline takes writes, and survives a restart.
    let new = refresh(&server, &["http://static.example.com/after-reset.js"], "").await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);
    let new_id = new.json()["RefreshTaskId"]
        .as_str()
        .expect("an id")
        .to_owned();
    server.stop().await;
    let server = Running::start(config).await;
    assert_eq!(by_id(&server, &new_id).await.len(), 1);

    // `at` starts it later; three more resets keep only the two newest old logs.
    let later = reset(&server, r#"{"at":"2026-11-20T06:00:00Z"}"#).await;
    assert_eq!(
        later.json()["now"],
        "2026-11-20T06:00:00.000Z",
        "{}",
        later.body
    );
    for _ in 0..2 {
        assert_eq!(reset(&server, "").await.status, StatusCode::OK);
    }
    let mut old_logs: Vec<String> = std::fs::read_dir(&data)
        .expect("lists")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("events.cdnlog.old.") && !n.ends_with(".synced"))
        .collect();
    old_logs.sort();
    assert_eq!(old_logs, ["events.cdnlog.old.3", "events.cdnlog.old.4"]);

    // Bad bodies name the field.
    let bad = reset(&server, r#"{"at":"noon"}"#).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let message = bad.json()["error"].as_str().unwrap_or("").to_owned();
    assert!(message.contains("at: \"noon\""), "{message}");
    let unknown = reset(&server, r#"{"when":"now"}"#).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.body.contains("when"), "{}", unknown.body);
    server.stop().await;
}

#[tokio::test]
async fn a_finished_log_cannot_be_reset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(log_config(&ci_replay_log(dir.path()))).await;
    let answer = reset(&server, "").await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    server.stop().await;
}

/// Writes racing a reset: every acknowledged write is in exactly one timeline's log, and a
/// write refused by the reset (503) is in at most one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_racing_a_reset_land_in_exactly_one_timeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Running::start(scenario_config(&data, "ci-replay.toml")).await;
    let server = std::sync::Arc::new(server);
    let writes: Vec<_> = (0..40)
        .map(|i| {
            let server = std::sync::Arc::clone(&server);
            tokio::spawn(async move {
                let path = format!("http://static.example.com/race/{i}.js");
                let answer = refresh(&server, &[path.as_str()], "").await;
                (path, answer.status)
            })
        })
        .collect();
    let reset_answer = reset(&server, "").await;
    assert_eq!(reset_answer.status, StatusCode::OK, "{}", reset_answer.body);
    let mut outcomes = BTreeMap::new();
    for write in writes {
        let (path, status) = write.await.expect("joins");
        assert!(
            status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {status}"
        );
        outcomes.insert(path, status);
    }
    let Ok(server) = std::sync::Arc::try_unwrap(server) else {
        panic!("the server is still shared");
    };
    server.stop().await;
    let old = api_paths(&data.join("events.cdnlog.old.1"));
    let new = api_paths(&data.join("events.cdnlog"));
    for (path, status) in &outcomes {
        let found = old.iter().chain(&new).filter(|p| *p == path).count();
        match *status {
            StatusCode::OK => assert_eq!(found, 1, "{path} acknowledged"),
            _ => assert!(found <= 1, "{path} refused"),
        }
    }
}

/// `--ephemeral`: the data lives in a temporary directory removed when the server stops.
#[test]
fn ephemeral_data_is_removed_at_exit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ci-replay.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .arg("serve")
        .arg("--scenario")
        .arg(&scenario)
        .args(["--ephemeral", "--addr", "127.0.0.1:0"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    listening_addr(&mut child);
    let entries = |dir: &Path| std::fs::read_dir(dir).expect("lists").count();
    assert_eq!(entries(tmp.path()), 1, "one data directory while it runs");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("waits");
    assert!(status.success(), "{status}");
    assert_eq!(entries(tmp.path()), 0, "nothing left after it stops");
    // And it refuses to be combined with a data directory.
    let refused = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .arg("serve")
        .arg("--scenario")
        .arg(&scenario)
        .args(["--ephemeral", "--data-dir", "x"])
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
}

/// A live clock goes on across resets (a tick may meet the retired timeline: it waits for the
/// new one instead of stopping).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_clock_survives_resets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = scenario_config(&dir.path().join("data"), "ci-replay.toml");
    config.clock = cdnsim::server::ClockMode::Live { speed: 60.0 };
    let server = Running::start(config).await;
    for _ in 0..20 {
        assert_eq!(reset(&server, "").await.status, StatusCode::OK);
    }
    let health = get(&server, "/_cdnsim/health").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    server.stop().await;
}
