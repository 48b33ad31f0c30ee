//! The in-process test server driven the way an app's own test would drive it: the "app"
//! submits a refresh through the API and polls until its task is Complete or Failed, while
//! the test moves the simulated clock between polls.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use cdnsim::testing::TestServer;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// One domain whose origin is down all day (every row fails), one that works.
const SCENARIO: &str = r#"
seed = 5
start = "2026-11-20T00:00:00Z"
duration = "1d"

[[domain]]
name = "ok.example.com"

[[domain]]
name = "down.example.com"

[lifecycle]
queue_delay = "2s"

[lifecycle.processing]
file = "1m"

[failures]
internal_error = 0
origin_timeout = 0
origin_5xx = 0

[[incident]]
domain = "down.example.com"
start = "2026-11-20T00:00:00Z"
end = "2026-11-21T00:00:00Z"
failure_rate = 1.0
reason = "origin_timeout"
"#;

/// A plain HTTP call, as the app's CDN client would make it.
async fn call(addr: SocketAddr, query: &str) -> Value {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let req = hyper::Request::post(format!("http://{addr}/?{query}"))
        .header("host", addr.to_string())
        .body(Full::new(Bytes::new()))
        .expect("request");
    let body = sender
        .send_request(req)
        .await
        .expect("answers")
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    serde_json::from_slice(&body).expect("JSON")
}

/// The app: purge a URL, then poll until its task ends; the test's `tick` moves the clock.
async fn purge_and_wait(server: &TestServer, url: &str) -> (String, String) {
    let encoded = cdnsim::api::encoding::encode(url);
    let submitted = call(
        server.addr(),
        &format!("Action=RefreshObjectCaches&Format=JSON&ObjectPath={encoded}"),
    )
    .await;
    let task_id = submitted["RefreshTaskId"]
        .as_str()
        .expect("a TaskId")
        .to_owned();
    for _ in 0..20 {
        let answer = call(
            server.addr(),
            &format!("Action=DescribeRefreshTaskById&Format=JSON&TaskId={task_id}"),
        )
        .await;
        let task = &answer["Tasks"][0];
        match task["Status"].as_str() {
            Some(status @ ("Complete" | "Failed")) => {
                let reason = task["Description"].as_str().unwrap_or("").to_owned();
                return (status.to_owned(), reason);
            }
            _ => server
                .advance(Duration::from_secs(30))
                .await
                .expect("advances"),
        }
    }
    panic!("task {task_id} never ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_sees_its_purge_complete_or_fail_as_the_clock_moves() {
    let server = TestServer::start_toml(SCENARIO).await.expect("starts");
    assert!(server.url().starts_with("http://127.0.0.1:"));
    let ok = purge_and_wait(&server, "http://ok.example.com/app.js").await;
    assert_eq!(ok, ("Complete".to_owned(), String::new()));
    let down = purge_and_wait(&server, "http://down.example.com/app.js").await;
    assert_eq!(down, ("Failed".to_owned(), "Origin timeout".to_owned()));

    // A reset between tests: a clean timeline, the earlier task gone.
    server.reset().await.expect("resets");
    assert_eq!(server.now(), "2026-11-20T00:00:00.000Z");
    let again = purge_and_wait(&server, "http://ok.example.com/app.js").await;
    assert_eq!(again.0, "Complete");
    server.stop().await.expect("stops");
}

#[tokio::test]
async fn a_dropped_server_stops_and_a_bad_scenario_is_an_error() {
    let server = TestServer::start_toml(SCENARIO).await.expect("starts");
    let addr = server.addr();
    drop(server);
    // Dropped: once its task has run (this test's runtime has one thread), it accepts no more.
    let mut refused = false;
    for _ in 0..1_000 {
        tokio::task::yield_now().await;
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "still accepting after drop");
    let bad = TestServer::start_toml("seed = = 1").await;
    assert!(bad.is_err());
}

/// The origin-down case with one rule instead of a whole-day incident, and an error rule the
/// app's retry must get past; a reset drops both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_make_the_apps_own_purge_fail_and_a_reset_drops_them() {
    let server = TestServer::start_toml(SCENARIO).await.expect("starts");
    let origin_down = r#"{"name":"origin-down","match":{"domain":"ok.example.com","path":"*/app/*"},"outcome":"failed","reason":"origin_5xx"}"#;
    server.add_rule(origin_down).await.expect("adds");
    let failed = purge_and_wait(&server, "http://ok.example.com/app/main.js").await;
    assert_eq!(
        failed,
        (
            "Failed".to_owned(),
            "Origin Return StatusCode 5XX".to_owned()
        )
    );
    let elsewhere = purge_and_wait(&server, "http://ok.example.com/img/logo.png").await;
    assert_eq!(elsewhere.0, "Complete", "the rule matches /app/ only");

    let busy =
        r#"{"name":"busy","action":"RefreshObjectCaches","error":"Throttling.User","times":1}"#;
    server.add_rule(busy).await.expect("adds");
    let refused = call(
        server.addr(),
        "Action=RefreshObjectCaches&Format=JSON&ObjectPath=http://ok.example.com/x.js",
    )
    .await;
    assert_eq!(refused["Code"], "Throttling.User");
    // `times = 1`: the retry goes through.
    let retried = purge_and_wait(&server, "http://ok.example.com/x.js").await;
    assert_eq!(retried.0, "Complete");

    let taken = server.add_rule(origin_down).await;
    assert!(
        taken.is_err_and(|e| e.to_string().contains("exists already")),
        "names are unique"
    );
    assert!(server.add_rule(r#"{"name":"x"}"#).await.is_err());
    server.reset().await.expect("resets");
    let again = purge_and_wait(&server, "http://ok.example.com/app/main.js").await;
    assert_eq!(again.0, "Complete", "a reset drops the endpoint's rules");
    server.stop().await.expect("stops");
}
