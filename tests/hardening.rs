//! `serve` against hostile input and failing storage: a bounded timeline, atomic writes,
//! acknowledged records never cut, clients that cannot stall the server, the admin token.
//! Each test names the finding it reproduces (D1..D9).

mod common;

use common::http::*;
use hyper::StatusCode;
use serde_json::Value;

const END: &str = "9999-12-31T23:59:59.999Z";

async fn statuses(server: &Running, task_id: &str) -> Vec<String> {
    by_id(server, task_id)
        .await
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
    let written = refresh(&server, &["http://static.example.com/end-of-time.txt"], "").await;
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

/// Sends raw bytes on a new connection and returns the connection.
async fn raw(server: &Running, bytes: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connects");
    stream.write_all(bytes).await.expect("writes");
    stream
}

/// Reads until the connection closes (or 5 s pass, which fails) and returns the text.
async fn read_to_close(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut text = Vec::new();
    let read = stream.read_to_end(&mut text);
    match tokio::time::timeout(std::time::Duration::from_secs(5), read).await {
        Ok(_) => String::from_utf8_lossy(&text).into_owned(),
        Err(_) => panic!("no answer within 5 s: {:?}", String::from_utf8_lossy(&text)),
    }
}

/// D7: a malformed chunked body got 408 after the idle timeout instead of 400.
#[tokio::test]
async fn d7_a_malformed_chunked_body_is_a_400_at_once() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Running::start(scenario_config(data.path(), "quickstart.toml")).await;
    for body in ["zz\r\n", "5\r\nab\r\n0\r\n\r\n"] {
        let head = "POST /?Action=DescribeRefreshTasks&Format=JSON HTTP/1.1\r\nHost: x\r\n\
                    Content-Type: application/x-www-form-urlencoded\r\n\
                    Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        let mut stream = raw(&server, format!("{head}{body}").as_bytes()).await;
        let answer = read_to_close(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{body:?}: {answer}");
        assert!(answer.contains("MalformedBody"), "{body:?}: {answer}");
    }
    server.stop().await;
}

/// D8: an admin body declared over its 4 KiB cap waited for the idle timeout, then got 408.
#[tokio::test]
async fn d8_an_admin_body_over_its_cap_is_a_413_at_once() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Running::start(scenario_config(data.path(), "quickstart.toml")).await;
    let head = "POST /_cdnsim/clock HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\
                Content-Type: application/json\r\n\r\n";
    let mut stream = raw(&server, head.as_bytes()).await;
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Sent, but longer than the cap: 413 as well.
    let big = format!(r#"{{"advance":"{}"}}"#, "1".repeat(5000));
    let answer = move_clock(&server, &big).await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.body
    );
    server.stop().await;
}

/// D3: silent connections held every slot until the idle timeout; now, at the cap, the
/// connection idle the longest is closed for a new client, and slow heads are cut early.
#[tokio::test]
async fn d3_silent_connections_cannot_keep_a_client_out() {
    // 200 silent connections at a cap of 64, and 1,030 at the default cap of 1,024.
    for (cap, silent_count) in [(64, 200), (1024, 1030)] {
        let data = tempfile::tempdir().expect("tempdir");
        let mut config = scenario_config(data.path(), "quickstart.toml");
        config.connections_max = cap;
        let server = Running::start(config).await;
        let mut silent = Vec::new();
        for _ in 0..silent_count {
            silent.push(raw(&server, b"").await);
        }
        // An ordinary request is answered within a second (the idle timeout is a minute).
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            get(&server, "/?Action=DescribeRefreshTasks&Format=JSON"),
        )
        .await
        .unwrap_or_else(|_| panic!("not answered within 1 s: {silent_count} silent, cap {cap}"));
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        drop(silent);
        server.stop().await;
    }
}

/// D6 over HTTP: an event stream cut by a shutdown ends without the terminating chunk, so the
/// client's HTTP library reports an incomplete body rather than a short answer.
#[tokio::test]
async fn d6_a_cut_event_stream_is_an_incomplete_body() {
    use http_body_util::BodyExt;
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = scenario_config(data.path(), "quickstart.toml");
    config.shutdown_grace = std::time::Duration::from_millis(50);
    let server = Running::start(config).await;
    // Megabytes of events: more than the socket buffers hold while nobody reads.
    let moved = move_clock(&server, r#"{"advance":"4d"}"#).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connects");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let req = hyper::Request::get(server.url("/_cdnsim/events"))
        .header("host", server.addr.to_string())
        .body(http_body_util::Full::<hyper::body::Bytes>::default())
        .expect("request");
    let response = sender.send_request(req).await.expect("a head");
    assert_eq!(response.status(), StatusCode::OK);
    // The server stops while the stream is under way (nobody has read it yet).
    server.stop().await;
    let body = response.into_body().collect().await;
    assert!(
        body.is_err(),
        "a cut stream must not end like a complete one"
    );
}

/// D3 (slow heads): a client trickling its request head is closed after the header
/// timeout, while an idle keep-alive connection is kept for the (longer) idle timeout.
#[tokio::test]
async fn d3_a_slow_head_is_closed_after_the_header_timeout() {
    use tokio::io::AsyncWriteExt;
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = scenario_config(data.path(), "quickstart.toml");
    config.header_timeout = std::time::Duration::from_millis(300);
    let server = Running::start(config).await;
    let mut idle = raw(&server, b"").await;
    let mut slow = raw(&server, b"GET /_cdnsim/health HTTP/1.1\r\nHost: x\r\n").await;
    let cut = read_to_close(&mut slow).await;
    assert_eq!(cut, "", "closed without an answer");
    // The idle one is still served.
    idle.write_all(b"GET /_cdnsim/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("still open");
    let answer = read_to_close(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}

/// The admin token guards every admin endpoint but health (the clock could be moved by
/// anyone, even with --access-key).
#[tokio::test]
async fn the_admin_token_guards_every_admin_endpoint_but_health() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = scenario_config(data.path(), "quickstart.toml");
    config.admin_token = Some("s3cret".into());
    let server = Running::start(config).await;
    let send_with = |method: &str, path: &str, auth: Option<&str>| {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(server.url(path))
            .header("host", server.addr.to_string())
            .header("content-type", "application/json");
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        let body = if method == "POST" {
            r#"{"advance":"1m"}"#
        } else {
            ""
        };
        send(
            server.addr,
            req.body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
                .expect("request"),
        )
    };
    for (method, path) in [
        ("GET", "/_cdnsim/clock"),
        ("POST", "/_cdnsim/clock"),
        ("GET", "/_cdnsim/events"),
        ("GET", "/_cdnsim/metrics"),
        ("GET", "/_cdnsim/nowhere"),
    ] {
        for auth in [
            None,
            Some("Bearer wrong"),
            Some("s3cret"),
            Some("Bearer s3cre"),
        ] {
            let answer = send_with(method, path, auth).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {auth:?}"
            );
            assert!(answer.json()["error"].is_string());
        }
        let answer = send_with(method, path, Some("Bearer s3cret")).await;
        assert_ne!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    let health = send_with("GET", "/_cdnsim/health", None).await;
    assert_eq!(health.status, StatusCode::OK);
    server.stop().await;
}
