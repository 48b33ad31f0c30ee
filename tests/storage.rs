//! The storage half of hardening over real HTTP: a write the disk refuses half-way leaves
//! nothing behind, before or after a restart (D4), and an acknowledged write damaged on disk is
//! never cut silently (D5).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use cdnsim::scenario::Scenario;
use cdnsim::server::{Config, Server, Source};
use common::http::*;
use hyper::StatusCode;

const SCENARIO: &str = r#"
seed = 3
start = "2026-11-20T00:00:00Z"
duration = "1d"

[[domain]]
name = "a.example.com"

[lifecycle]
queue_delay = "1s"
progress_steps = 2

[lifecycle.processing]
file = "10s"

[failures]
internal_error = 0
origin_timeout = 0
origin_5xx = 0

[quotas]
url = 100000
"#;

const AT: &str = "2026-11-20T12:00:00Z";

fn config(dir: &Path) -> Config {
    let path = dir.join("s.toml");
    std::fs::write(&path, SCENARIO).expect("scenario");
    let scenario = Scenario::load(&path).expect("valid");
    let mut config = Config::new(Source::Scenario {
        scenario: Box::new(scenario),
        data_dir: dir.join("data"),
        fresh: false,
    });
    config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.at_ms = cdnsim::time::parse_rfc3339(AT);
    config
}

fn paths(write: usize) -> Vec<String> {
    (0..20)
        .map(|i| format!("http://a.example.com/w{write}/object-{i}.js"))
        .collect()
}

fn form(paths: &[String]) -> String {
    format!(
        "Format=JSON&ObjectPath={}",
        cdnsim::api::encoding::encode(&paths.join("\n"))
    )
}

async fn post_to(addr: SocketAddr, body: &str) -> Answer {
    let req = hyper::Request::post(format!("http://{addr}/?Action=RefreshObjectCaches"))
        .header("host", addr.to_string())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(http_body_util::Full::new(hyper::body::Bytes::from(
            body.to_owned(),
        )))
        .expect("request");
    send(addr, req).await
}

async fn get_from(addr: SocketAddr, path: &str) -> Answer {
    let req = hyper::Request::get(format!("http://{addr}{path}"))
        .header("host", addr.to_string())
        .body(http_body_util::Full::default())
        .expect("request");
    send(addr, req).await
}

async fn rows_of(addr: SocketAddr, path: &str) -> u64 {
    let query = format!(
        "/?Action=DescribeRefreshTasks&Format=JSON&ObjectPath={}",
        cdnsim::api::encoding::encode(path)
    );
    let answer = get_from(addr, &query).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.json()["TotalCount"].as_u64().expect("a count")
}

/// `cdnsim serve` with its files limited to `kib` KiB (writes past it fail with EFBIG, as on
/// a full disk); returns the child and its address.
fn serve_limited(dir: &Path, kib: u32) -> (Child, SocketAddr) {
    let mut child = Command::new("bash")
        .args([
            "-c",
            &format!("trap '' XFSZ; ulimit -f {kib}; exec \"$@\""),
            "bash",
            env!("CARGO_BIN_EXE_cdnsim"),
            "serve",
            "--scenario",
        ])
        .arg(dir.join("s.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--addr", "127.0.0.1:0", "--at", AT])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let addr = listening_addr(&mut child);
    (child, addr)
}

/// D4: on a full disk a 20-row write got 503 but left 3 rows that reappeared after restart.
#[tokio::test]
async fn d4_a_write_the_disk_refuses_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    config(dir.path()); // writes the scenario file
    let (mut child, addr) = serve_limited(dir.path(), 24);
    let mut acknowledged: Vec<(String, usize)> = Vec::new();
    let mut failed = None;
    for write in 0..200 {
        let answer = post_to(addr, &form(&paths(write))).await;
        match answer.status {
            StatusCode::OK => {
                let ids = answer.json()["RefreshTaskId"]
                    .as_str()
                    .expect("TaskIds")
                    .to_owned();
                acknowledged.push((ids, write));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                failed = Some(write);
                break;
            }
            other => panic!("write {write}: {other}: {}", answer.body),
        }
    }
    let failed = failed.expect("the file size limit was reached");
    assert!(acknowledged.len() >= 3, "{acknowledged:?}");
    // Nothing of the failed write is visible, and the server says it is failing.
    for path in paths(failed).iter().take(3) {
        assert_eq!(rows_of(addr, path).await, 0, "{path}");
    }
    let health = get_from(addr, "/_cdnsim/health").await;
    assert_eq!(
        health.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        health.body
    );
    // The log was cut back to its synced length: no event stream past it.
    let events = get_from(addr, "/_cdnsim/events").await;
    assert_eq!(
        events.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        events.body
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();

    // After a restart (no limit): every acknowledged row, nothing of the failed write.
    let server = Running::start(config(dir.path())).await;
    let all = get(
        &server,
        "/?Action=DescribeRefreshTasks&Format=JSON&PageSize=1",
    )
    .await;
    assert_eq!(all.json()["TotalCount"], 20 * acknowledged.len() as u64);
    for (ids, write) in &acknowledged {
        let rows = paths(*write);
        for path in [&rows[0], &rows[19]] {
            assert_eq!(
                rows_of(server.addr, path).await,
                1,
                "write {write} ({ids}): {path}"
            );
        }
    }
    for path in &paths(failed) {
        assert_eq!(rows_of(server.addr, path).await, 0, "{path}");
    }
    // So a retry is safe: it creates the rows once.
    let retried = post(
        &server,
        "/?Action=RefreshObjectCaches",
        "application/x-www-form-urlencoded",
        &form(&paths(failed)),
    )
    .await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    assert_eq!(rows_of(server.addr, &paths(failed)[0]).await, 1);
    server.stop().await;
}

/// D5: a flipped byte in an acknowledged record was cut as a torn tail and its TaskId handed
/// out again.
#[tokio::test]
async fn d5_an_acknowledged_record_damaged_on_disk_stops_startup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(config(dir.path())).await;
    let answer = post(
        &server,
        "/?Action=RefreshObjectCaches",
        "application/x-www-form-urlencoded",
        &form(&paths(0)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    server.stop().await;
    let log = dir.path().join("data").join("events.cdnlog");
    let mut bytes = std::fs::read(&log).expect("read");
    let last = bytes.len() - 3;
    bytes[last] ^= 0x01;
    std::fs::write(&log, &bytes).expect("write");

    let refused = Server::bind(config(dir.path())).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("inside the synced part"), "{message}");
    assert!(
        message.contains("byte offset") && message.contains("seq"),
        "{message}"
    );
    assert!(message.contains("cdnsim repair"), "{message}");
    assert_eq!(std::fs::read(&log).expect("read"), bytes, "nothing was cut");
}
