//! `cdnsim serve` over real HTTP on 127.0.0.1:0: every action, format and error, the
//! signatures, the clock, the admin endpoints, resuming a scenario, and the binary's
//! startup line and graceful shutdown.

mod common;

use std::process::Command;

use cdnsim::api::signature::{AccessKey, SignedRequest, content_sha256, sign_v1, sign_v3};
use cdnsim::server::{ClockMode, Server, Source};
use common::http::*;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use serde_json::Value;
use tokio::net::TcpStream;

#[tokio::test]
async fn answers_match_cdnsim_query_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = ci_replay_log(dir.path());
    let server = Running::start(log_config(&log)).await;
    let cases: &[&[&str]] = &[
        &["Action=DescribeRefreshTasks"],
        &["Action=DescribeRefreshTasks", "Format=JSON"],
        &[
            "Action=DescribeRefreshTasks",
            "Format=JSON",
            "ObjectType=file",
            "Status=Complete",
        ],
        &[
            "Action=DescribeRefreshTasks",
            "Format=xml",
            "DomainName=static.example.com",
            "ObjectType=file",
        ],
        &[
            "Action=DescribeRefreshTasks",
            "Format=JSON",
            "PageSize=2",
            "PageNumber=2",
        ],
        &[
            "Action=DescribeRefreshTasks",
            "Format=JSON",
            "ObjectPath=https://img.example.com/logo.png",
        ],
        &[
            "Action=DescribeRefreshTasks",
            "Format=JSON",
            "StartTime=2026-11-20T09:00:00Z",
            "EndTime=2026-11-20T09:30:00Z",
        ],
        &[
            "Action=DescribeRefreshTasks",
            "Format=JSON",
            "TaskId=9000000001",
        ],
        &[
            "Action=DescribeRefreshTaskById",
            "Format=JSON",
            "TaskId=9000000000,9000000002",
        ],
        &["Action=DescribeRefreshTaskById", "TaskId=9000000003"],
        &["Action=DescribeRefreshTasks", "Format=JSON", "PageSize=0"],
        &["Action=DescribeRefreshTasks", "ObjectType=bogus"],
        &["Action=DescribeRefreshTaskById", "Format=JSON"],
    ];
    for params in cases {
        let expected = query(&log, params);
        let answer = get(&server, &format!("/?{}", encode(params))).await;
        assert_eq!(answer.body, expected, "GET {params:?}");
        let content_type = answer.headers["content-type"].to_str().expect("ASCII");
        let xml = !params.iter().any(|p| p.eq_ignore_ascii_case("Format=JSON"));
        let expect_type = if xml {
            "text/xml;charset=utf-8"
        } else {
            "application/json;charset=utf-8"
        };
        assert_eq!(content_type, expect_type, "{params:?}");
        // POST with the parameters in a form body answers the same.
        let posted = post(
            &server,
            "/",
            "application/x-www-form-urlencoded",
            &encode(params),
        )
        .await;
        assert_eq!(posted.body, expected, "POST {params:?}");
        assert_eq!(posted.status, answer.status);
    }
    server.stop().await;
}

/// Every action of the registry, through the server and through `cdnsim query`, in both
/// formats: the same bytes. Reading actions answer 200; a finished log refuses writes alike.
#[tokio::test]
async fn every_action_answers_the_same_through_the_server_and_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = ci_replay_log(dir.path());
    let server = Running::start(log_config(&log)).await;
    for &action in cdnsim::api::Action::ALL {
        for format in ["JSON", "XML"] {
            let name = format!("Action={}", action.name());
            let format = format!("Format={format}");
            let params: &[&str] = &[&name, &format, "TaskId=9000000000"];
            let expected = query(&log, params);
            let answer = get(&server, &format!("/?{}", encode(params))).await;
            assert_eq!(answer.body, expected, "{params:?}");
            if action.writes() {
                assert_eq!(answer.status, StatusCode::FORBIDDEN, "{params:?}");
                assert!(
                    answer.body.contains("Forbidden.ReadOnly"),
                    "{}",
                    answer.body
                );
            } else {
                assert_eq!(answer.status, StatusCode::OK, "{params:?}: {}", answer.body);
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn v3_requests_name_the_action_in_a_header_and_get_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(log_config(&ci_replay_log(dir.path()))).await;
    let req = Request::post(server.url("/?ObjectType=file&PageSize=1"))
        .header("host", server.addr.to_string())
        .header("x-acs-action", "DescribeRefreshTasks")
        .header("x-acs-version", "2018-05-10")
        .body(Full::default())
        .expect("request");
    let answer = send(server.addr, req).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["PageSize"], 1);
    // A Format parameter means nothing to V3: always JSON.
    let req = Request::get(server.url("/?Format=XML&PageSize=1"))
        .header("x-acs-action", "DescribeRefreshTasks")
        .body(Full::default())
        .expect("request");
    let answer = send(server.addr, req).await;
    assert_eq!(
        answer.headers["content-type"],
        "application/json;charset=utf-8"
    );
    assert_eq!(answer.json()["PageSize"], 1);
    assert_eq!(json["Tasks"]["CDNTask"][0]["ObjectType"], "file");
    // Query and form body merge; the first value of a name wins.
    let answer = post(
        &server,
        "/?Action=DescribeRefreshTasks&PageSize=1",
        "application/x-www-form-urlencoded; charset=utf-8",
        "Format=JSON&PageSize=3&ObjectType=File",
    )
    .await;
    let json = answer.json();
    assert_eq!(
        (
            json["PageSize"].as_u64(),
            json["Tasks"]["CDNTask"][0]["ObjectType"].as_str()
        ),
        (Some(1), Some("file"))
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_requests_get_the_real_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = log_config(&ci_replay_log(dir.path()));
    config.body_bytes_max = 1024;
    let server = Running::start(config).await;
    let cases: &[(&str, u16, &str)] = &[
        ("/?Action=Nope&Format=JSON", 404, "InvalidAction.NotFound"),
        ("/?Format=JSON", 400, "MissingAction"),
        (
            "/?Action=DescribeRefreshTasks&Format=JSON&Version=2014-11-11",
            400,
            "InvalidVersion",
        ),
        (
            "/?Action=DescribeRefreshTasks&Format=JSON&PageSize=%G0",
            400,
            "InvalidParameter.Encoding",
        ),
        (
            "/?Action=DescribeRefreshTasks&Format=JSON&DomainName=%FF",
            400,
            "InvalidParameter.Encoding",
        ),
        (
            "/?Action=DescribeRefreshTasks&Format=JSON&PageNumber=100001",
            400,
            "InvalidParameter.PageNumber",
        ),
        (
            "/?Action=DescribeRefreshTasks&Format=JSON&StartTime=2026-11-01T00:00:00Z&EndTime=2026-11-20T10:00:00Z",
            400,
            "InvalidTime",
        ),
        (
            "/?Action=RefreshObjectCaches&Format=JSON&ObjectPath=http://a.com/x",
            403,
            "Forbidden.ReadOnly",
        ),
        (
            "/?Action=PushObjectCache&Format=JSON&ObjectPath=http://a.com/x",
            403,
            "Forbidden.ReadOnly",
        ),
        (
            "/other?Action=DescribeRefreshTasks",
            404,
            "InvalidAction.NotFound",
        ),
    ];
    for (path, status, code) in cases {
        get(&server, path).await.expect_error(*status, code);
    }
    // A bad Format is answered in the default format: XML for V1.
    let answer = get(&server, "/?Action=DescribeRefreshTasks&Format=YAML").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.body.contains("<Code>InvalidParameter.Format</Code>"),
        "{}",
        answer.body
    );
    // The error says which parameter is badly encoded.
    let answer = get(
        &server,
        "/?Action=DescribeRefreshTasks&Format=JSON&DomainName=%FF",
    )
    .await;
    assert!(
        answer.json()["Message"]
            .as_str()
            .is_some_and(|m| m.contains("DomainName")),
        "{}",
        answer.body
    );
    // Without Format, a V1 error is XML, like the real default.
    let answer = get(&server, "/?Action=Nope").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(
        answer.body.starts_with("<?xml")
            && answer.body.contains("<Code>InvalidAction.NotFound</Code>"),
        "{}",
        answer.body
    );
    // Other methods, oversized and non-UTF-8 bodies.
    let req = Request::put(server.url("/?Action=DescribeRefreshTasks&Format=JSON"))
        .body(Full::default())
        .expect("request");
    send(server.addr, req)
        .await
        .expect_error(400, "UnsupportedHTTPMethod");
    let big = format!("Format=JSON&ObjectPath={}", "a".repeat(2048));
    post(
        &server,
        "/?Action=DescribeRefreshTasks",
        "application/x-www-form-urlencoded",
        &big,
    )
    .await
    .expect_error(413, "RequestEntityTooLarge");
    let req = Request::post(server.url("/?Action=DescribeRefreshTasks&Format=JSON"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from_static(b"PageSize=\xff\xfe")))
        .expect("request");
    send(server.addr, req)
        .await
        .expect_error(400, "InvalidParameter.Encoding");
    // Still serving after all that.
    assert_eq!(
        get(&server, "/?Action=DescribeRefreshTasks&Format=JSON")
            .await
            .status,
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test]
async fn replay_time_header_travels_back_never_forward() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = ci_replay_log(dir.path());
    let server = Running::start(log_config(&log)).await;
    let at = |time: &'static str| {
        Request::get(server.url("/?Action=DescribeRefreshTasks&Format=JSON"))
            .header("x-cdnsim-replay-time", time)
            .body(Full::default())
            .expect("request")
    };
    let earlier = send(server.addr, at("2026-11-20T09:00:00Z")).await;
    let now = get(&server, "/?Action=DescribeRefreshTasks&Format=JSON").await;
    let (earlier, now) = (earlier.json(), now.json());
    assert!(
        earlier["TotalCount"].as_u64() < now["TotalCount"].as_u64(),
        "{earlier} vs {now}"
    );
    // The same as `cdnsim query --at` that time, RequestId aside.
    let out = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .arg("query")
        .arg(&log)
        .args([
            "--at",
            "2026-11-20T09:00:00Z",
            "Action=DescribeRefreshTasks",
            "Format=JSON",
        ])
        .output()
        .expect("runs");
    let mut expected: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut got = earlier.clone();
    expected["RequestId"] = Value::Null;
    got["RequestId"] = Value::Null;
    assert_eq!(got, expected);
    send(server.addr, at("2026-11-20T10:03:00.001Z"))
        .await
        .expect_error(400, "InvalidReplayTime");
    send(server.addr, at("yesterday"))
        .await
        .expect_error(400, "InvalidReplayTime");
    server.stop().await;
}

fn wall_timestamp() -> String {
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now();
    now.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn v1_signed(params: &[(&str, &str)], id: &str, secret: &str, nonce: &str) -> String {
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in [
        ("AccessKeyId", id.to_owned()),
        ("SignatureMethod", "HMAC-SHA1".into()),
        ("SignatureVersion", "1.0".into()),
        ("SignatureNonce", nonce.to_owned()),
        ("Timestamp", wall_timestamp()),
    ] {
        all.push((k.to_owned(), v));
    }
    let signature = sign_v1("GET", all.iter(), secret);
    all.push(("Signature".into(), signature));
    cdnsim::api::encoding::encode_pairs(all.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

#[tokio::test]
async fn signatures_are_checked_when_keys_are_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = log_config(&ci_replay_log(dir.path()));
    config.access_keys = vec!["testAKID:testSecret".parse().expect("key")];
    let server = Running::start(config).await;
    let params = [
        ("Action", "DescribeRefreshTasks"),
        ("Format", "JSON"),
        ("ObjectType", "file"),
    ];

    let good = v1_signed(&params, "testAKID", "testSecret", "n-1");
    let answer = get(&server, &format!("/?{good}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    get(&server, &format!("/?{good}"))
        .await
        .expect_error(400, "SignatureNonceUsed");
    let wrong = v1_signed(&params, "testAKID", "wrong", "n-2");
    let answer = get(&server, &format!("/?{wrong}")).await;
    answer.expect_error(400, "SignatureDoesNotMatch");
    let message = answer.json()["Message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("server string to sign is:GET&%2F&AccessKeyId%3DtestAKID"),
        "{message}"
    );
    get(
        &server,
        &format!("/?{}", v1_signed(&params, "nobody", "x", "n-3")),
    )
    .await
    .expect_error(404, "InvalidAccessKeyId.NotFound");
    get(&server, "/?Action=DescribeRefreshTasks&Format=JSON")
        .await
        .expect_error(400, "MissingAccessKeyId");

    // V3: a form body, signed with its hash.
    let key: AccessKey = "testAKID:testSecret".parse().expect("key");
    let v3 = |secret: &str, nonce: &str| {
        let body = "ObjectType=file&PageSize=2";
        let headers: Vec<(String, String)> = [
            ("host", server.addr.to_string()),
            (
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("x-acs-action", "DescribeRefreshTasks".to_owned()),
            ("x-acs-version", "2018-05-10".to_owned()),
            ("x-acs-date", wall_timestamp()),
            ("x-acs-signature-nonce", nonce.to_owned()),
            ("x-acs-content-sha256", content_sha256(body.as_bytes())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let query = vec![("Lang".to_owned(), "en".to_owned())];
        let signing_key = AccessKey {
            secret: secret.to_owned(),
            ..key.clone()
        };
        let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        let authorization = sign_v3(
            &SignedRequest {
                method: "POST",
                path: "/",
                query: &query,
                form: &[],
                headers: &headers,
                body: body.as_bytes(),
            },
            &signing_key,
            &names,
        );
        let mut req = Request::post(server.url("/?Lang=en"));
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req.header("authorization", authorization)
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .expect("request")
    };
    let answer = send(server.addr, v3("testSecret", "v3-1")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["PageSize"], 2);
    let answer = send(server.addr, v3("wrong", "v3-2")).await;
    answer.expect_error(400, "SignatureDoesNotMatch");
    assert!(
        answer
            .body
            .contains("server string to sign is:ACS3-HMAC-SHA256\\n"),
        "{}",
        answer.body
    );
    server.stop().await;
}

#[tokio::test]
async fn admin_endpoints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(log_config(&ci_replay_log(dir.path()))).await;
    let clock = get(&server, "/_cdnsim/clock").await.json();
    assert_eq!(clock["now"], "2026-11-20T10:03:00.000Z");
    assert_eq!(clock["mode"], "manual");
    assert_eq!(clock["log_end"], "2026-11-20T23:55:02.000Z");

    // Events: JSON lines as `dump`, only up to the clock.
    let events = get(&server, "/_cdnsim/events").await;
    assert_eq!(events.headers["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = events
        .body
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(!lines.is_empty());
    assert!(
        lines
            .iter()
            .all(|l| l["at"].as_str() <= Some("2026-11-20T10:03:00.000Z")),
        "{}",
        events.body
    );
    let page = get(&server, "/_cdnsim/events?after=2&limit=3").await;
    let seqs: Vec<u64> = page
        .body
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("JSON")["seq"]
                .as_u64()
                .unwrap_or(u64::MAX)
        })
        .collect();
    assert_eq!(seqs, [3, 4, 5]);
    let dump = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .arg("dump")
        .arg(dir.path().join("ci.cdnlog"))
        .args(["--after", "2", "--limit", "3"])
        .output()
        .expect("runs");
    assert_eq!(page.body, String::from_utf8(dump.stdout).expect("UTF-8"));

    // Moving the clock: forward only; what was in the future becomes visible.
    let before = lines.len();
    let moved = move_clock(&server, r#"{"advance":"1h"}"#).await;
    assert_eq!(moved.json()["now"], "2026-11-20T11:03:00.000Z");
    let after = get(&server, "/_cdnsim/events").await.body.lines().count();
    assert!(after > before, "{after} > {before}");
    let moved = move_clock(&server, r#"{"to":"2026-11-21T00:00:00Z"}"#).await;
    assert_eq!(moved.json()["now"], "2026-11-21T00:00:00.000Z");
    for body in [
        r#"{"to":"2026-11-20T00:00:00Z"}"#,
        r#"{"advance":"soon"}"#,
        "{}",
        "x",
    ] {
        let answer = move_clock(&server, body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(answer.json()["error"].is_string());
    }
    assert_eq!(
        get(&server, "/_cdnsim/events?after=x").await.status,
        StatusCode::BAD_REQUEST
    );

    let health = get(&server, "/_cdnsim/health").await;
    assert_eq!(
        (health.status, health.json()["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let metrics = get(&server, "/_cdnsim/metrics").await;
    assert!(
        metrics.headers["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/plain"))
    );
    for needle in [
        "# TYPE cdnsim_requests_total counter",
        "cdnsim_requests_total{action=\"admin\",status=\"200\"}",
        "cdnsim_request_duration_seconds_bucket{le=\"+Inf\"}",
        "cdnsim_events_applied_total 38",
        "cdnsim_task_rows 8",
        "cdnsim_clock_seconds 1795219200",
    ] {
        assert!(
            metrics.body.contains(needle),
            "{needle} in\n{}",
            metrics.body
        );
    }
    assert_eq!(
        get(&server, "/_cdnsim/nothing").await.status,
        StatusCode::NOT_FOUND
    );
    let req = Request::delete(server.url("/_cdnsim/clock"))
        .body(Full::default())
        .expect("request");
    let answer = send(server.addr, req).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers["allow"], "GET, POST");
    server.stop().await;
}

#[tokio::test]
async fn live_clock_cannot_be_moved_by_hand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = log_config(&ci_replay_log(dir.path()));
    config.clock = ClockMode::Live { speed: 60.0 };
    let server = Running::start(config).await;
    let clock = get(&server, "/_cdnsim/clock").await.json();
    assert_eq!(
        (clock["mode"].as_str(), clock["speed"].as_f64()),
        (Some("live"), Some(60.0))
    );
    let answer = move_clock(&server, r#"{"advance":"5m"}"#).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    // It never runs backwards.
    let first = get(&server, "/_cdnsim/clock").await.json()["now"]
        .as_str()
        .map(str::to_owned);
    let second = get(&server, "/_cdnsim/clock").await.json()["now"]
        .as_str()
        .map(str::to_owned);
    assert!(first <= second && first >= Some("2026-11-20T10:03:00.000Z".into()));
    server.stop().await;
}

#[tokio::test]
async fn a_served_scenario_simulates_as_the_clock_moves_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Running::start(scenario_config(&data, "ci-replay.toml")).await;
    let clock = get(&server, "/_cdnsim/clock").await.json();
    assert_eq!(
        (clock["now"].as_str(), clock["events"].as_u64()),
        (Some("2026-11-20T00:00:00.000Z"), Some(0))
    );
    let moved = move_clock(&server, r#"{"to":"2026-11-20T10:03:00Z"}"#).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    // The same answer as the finished log gives as of that time, RequestId aside.
    let finished = ci_replay_log(dir.path());
    for params in [
        "Action=DescribeRefreshTasks&Format=JSON",
        "Action=DescribeRefreshTasks&Format=JSON&ObjectType=file&Status=Refreshing",
        "Action=DescribeRefreshTaskById&Format=JSON&TaskId=9000000002",
    ] {
        let mut live = get(&server, &format!("/?{params}")).await.json();
        let args: Vec<&str> = params.split('&').collect();
        let mut expected: Value = serde_json::from_str(&query(&finished, &args)).expect("JSON");
        live["RequestId"] = Value::Null;
        expected["RequestId"] = Value::Null;
        assert_eq!(live, expected, "{params}");
    }
    server.stop().await;

    // Again: the log is re-run, checked and continued; at the end it is the finished log.
    let server = Running::start(scenario_config(&data, "ci-replay.toml")).await;
    let clock = get(&server, "/_cdnsim/clock").await.json();
    assert!(
        clock["now"].as_str() >= Some("2026-11-20T10:00:00.000Z"),
        "{clock}"
    );
    move_clock(&server, r#"{"advance":"30d"}"#).await;
    server.stop().await;
    // The served log (format 2: atomic batches) holds exactly `simulate`'s records.
    let records = |path: &std::path::Path| -> Vec<cdnsim::event::Record> {
        cdnsim::log::Records::open(path)
            .expect("opens")
            .map(|r| r.expect("a whole record"))
            .collect()
    };
    let served = data.join("events.cdnlog");
    assert!(
        records(&finished) == records(&served),
        "the served log holds `simulate`'s records"
    );
    let header =
        |path: &std::path::Path| *cdnsim::log::Records::open(path).expect("opens").header();
    assert_eq!(header(&finished).format_version, 1);
    assert_eq!(header(&served).format_version, 2);

    // Another scenario is refused, naming --fresh; --fresh moves the old log aside.
    let refused = Server::bind(scenario_config(&data, "quickstart.toml")).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("another scenario") && message.contains("--fresh"),
        "{message}"
    );
    let mut config = scenario_config(&data, "quickstart.toml");
    if let Source::Scenario { fresh, .. } = &mut config.source {
        *fresh = true;
    }
    let server = Running::start(config).await;
    server.stop().await;
    assert!(data.join("events.cdnlog.old.1").exists());
}

#[test]
fn the_binary_prints_its_address_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let log = ci_replay_log(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .args(["serve", "--addr", "127.0.0.1:0", "--at", AT, "--log"])
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("a line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connects");
    write!(stream, "GET /?Action=DescribeRefreshTasks&Format=JSON HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains("\"TotalCount\":6"), "{response}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("exits");
    assert!(status.success(), "graceful exit, got {status}");
}

#[test]
fn serve_refuses_bad_arguments_clearly() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
            .arg("serve")
            .args(args)
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--scenario") && err.contains("--log"), "{err}");
    let (code, err) = run(&["--log", "/nonexistent/x.cdnlog", "--addr", "127.0.0.1:0"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("/nonexistent/x.cdnlog"), "{err}");
    let (code, err) = run(&["--log", "x.cdnlog", "--at", "noon"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--at \"noon\""), "{err}");
    let (code, err) = run(&["--log", "x.cdnlog", "--access-key", "nocolon"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("ID:SECRET"), "{err}");
    // The timeline's bounds (D1): a clock that would leave it is refused before anything runs.
    let (code, err) = run(&["--log", "x.cdnlog", "--at", "9999-12-31T23:59:60Z"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("9999-12-31T23:59:59.999Z"), "{err}");
    for speed in ["1e300", "1000001", "0", "NaN", "inf"] {
        let (code, err) = run(&["--log", "x.cdnlog", "--clock", "live", "--speed", speed]);
        assert_eq!(code, Some(2), "--speed {speed}");
        assert!(err.contains("at most 1000000"), "--speed {speed}: {err}");
    }
    let (code, err) = run(&[
        "--log",
        "x.cdnlog",
        "--max-body",
        "1000",
        "--body-budget",
        "3999",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--body-budget"), "{err}");
}

#[tokio::test]
async fn idle_and_slow_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = log_config(&ci_replay_log(dir.path()));
    config.idle_timeout = std::time::Duration::from_millis(200);
    config.body_timeout = std::time::Duration::from_millis(200);
    let server = Running::start(config).await;
    // The guard only fails the test if the server never acts; it does not pace it.
    let guard = std::time::Duration::from_secs(20);

    // A connection that never sends a request head is closed.
    let mut idle = TcpStream::connect(server.addr).await.expect("connects");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(guard, idle.read_to_end(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(_))),
        "the idle connection is closed: {read:?}"
    );

    // A body that stops half-way gets 408, on the API and on the admin clock alike.
    let stalled = |head: &'static [u8]| async move {
        let mut slow = TcpStream::connect(server.addr).await.expect("connects");
        slow.write_all(head).await.expect("writes");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(guard, slow.read_to_end(&mut answer)).await;
        assert!(matches!(read, Ok(Ok(_))), "{read:?}");
        String::from_utf8_lossy(&answer).into_owned()
    };
    let answer = stalled(
        b"POST /?Action=DescribeRefreshTasks&Format=JSON HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nPageSize=1",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"Code\":\"RequestTimeout\""), "{answer}");
    let answer =
        stalled(b"POST /_cdnsim/clock HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"adv")
            .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    server.stop().await;
}
