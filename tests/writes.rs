//! The write actions over real HTTP: submit → advance the clock → poll until Complete, daily
//! quotas, every validation error, restarts that re-run recorded submissions, and a SIGKILL in
//! the middle of a concurrent write load.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use cdnsim::scenario::Scenario;
use cdnsim::server::{Config, Source};
use common::http::*;
use hyper::StatusCode;
use serde_json::Value;

/// ci-replay's domains and timings, no random failures, small quotas.
const SCENARIO: &str = r#"
seed = 7
start = "2026-11-20T00:00:00Z"
duration = "1d"
task_id_start = 9000000000

[[domain]]
name = "static.example.com"

[[domain]]
name = "img.example.com"
scheme = "https"

[lifecycle]
queue_delay = "2s"
progress_steps = 3

[lifecycle.processing]
file = "5m"
directory = "6m"
regex = "6m"
IgnoreParams = "5m"
preload = "20m"

[failures]
internal_error = 0
origin_timeout = 0
origin_5xx = 0

[quotas]
url = 5
preload = 2
"#;

fn scenario_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("writes.toml");
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn config(dir: &Path, data: &Path) -> Config {
    let path = scenario_file(dir, SCENARIO);
    let scenario = Scenario::load(&path).expect("valid scenario");
    let mut config = Config::new(Source::Scenario {
        scenario: Box::new(scenario),
        data_dir: data.to_owned(),
        fresh: false,
    });
    config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.at_ms = cdnsim::time::parse_rfc3339("2026-11-20T12:00:00Z");
    config
}

async fn advance(server: &Running, by: &str) -> Value {
    let body = format!(r#"{{"advance":"{by}"}}"#);
    let answer = move_clock(server, &body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.json()
}

async fn remain(server: &Running, field: &str) -> String {
    let quota = get(server, "/?Action=DescribeRefreshQuota&Format=JSON")
        .await
        .json();
    quota[field].as_str().map(str::to_owned).unwrap_or_default()
}

#[tokio::test]
async fn submit_advance_poll_until_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(config(dir.path(), &dir.path().join("data"))).await;

    let answer = refresh(
        &server,
        &[
            "http://static.example.com/a.txt",
            "img.example.com/b.png",
            "http://static.example.com/c.txt",
        ],
        "&Force=True",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let ids = answer.json()["RefreshTaskId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // One TaskId per domain, in order of first appearance, comma-joined.
    assert_eq!(ids, "9000000000,9000000001");
    let push = get(
        &server,
        "/?Action=PushObjectCache&Format=JSON&Area=domestic&L2Preload=true&ObjectPath=https://img.example.com/big.bin",
    )
    .await;
    assert_eq!(push.json()["PushTaskId"], "9000000002", "{}", push.body);

    let rows = by_id(&server, &format!("{ids},9000000002")).await;
    assert_eq!(rows.len(), 4);
    for row in &rows {
        assert_eq!(
            (row["Status"].as_str(), row["Process"].as_str()),
            (Some("Pending"), Some("0%")),
            "{row}"
        );
        assert_eq!(row["CreationTime"], "2026-11-20T12:00:00Z");
    }
    let paths: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["ObjectPath"].as_str())
        .collect();
    assert!(
        paths.contains(&"http://img.example.com/b.png"),
        "a schemeless path gets http://: {paths:?}"
    );

    // Poll as a client would, moving the clock a minute before each poll.
    let mut polls = 0;
    loop {
        advance(&server, "1m").await;
        polls += 1;
        let rows = by_id(&server, &ids).await;
        if rows.iter().all(|r| r["Status"] == "Complete") {
            assert!(rows.iter().all(|r| r["Process"] == "100%"));
            break;
        }
        assert!(polls < 10, "refreshes finish 5 minutes in: {rows:?}");
    }
    assert!((5..=6).contains(&polls), "{polls} minutes");
    let preload = by_id(&server, "9000000002").await;
    assert_eq!(preload[0]["Status"], "Refreshing", "{preload:?}");
    advance(&server, "20m").await;
    let preload = by_id(&server, "9000000002").await;
    assert_eq!(
        (
            preload[0]["Status"].as_str(),
            preload[0]["ObjectType"].as_str()
        ),
        (Some("Complete"), Some("preload"))
    );

    // Written rows are events of the log like any other.
    let events = get(&server, "/_cdnsim/events").await;
    let created: Vec<Value> = events
        .body
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "Created" && e["source"] == "api")
        .collect();
    assert_eq!(created.len(), 4);
    server.stop().await;
}

#[tokio::test]
async fn daily_quotas_go_down_run_out_and_reset_at_local_midnight() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(config(dir.path(), &dir.path().join("data"))).await;
    assert_eq!(remain(&server, "UrlRemain").await, "5");
    assert_eq!(remain(&server, "UrlQuota").await, "5");
    let ok = refresh(
        &server,
        &[
            "static.example.com/1",
            "static.example.com/2",
            "static.example.com/3",
        ],
        "",
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(remain(&server, "UrlRemain").await, "2");
    // A request that does not fit is refused whole, and uses nothing.
    refresh(
        &server,
        &[
            "static.example.com/4",
            "static.example.com/5",
            "static.example.com/6",
        ],
        "",
    )
    .await
    .expect_error(400, "QuotaExceeded.Refresh");
    assert_eq!(remain(&server, "UrlRemain").await, "2");
    // Other types have their own quotas.
    let dir_ok = refresh(&server, &["static.example.com/d/"], "&ObjectType=directory").await;
    assert_eq!(dir_ok.status, StatusCode::OK, "{}", dir_ok.body);
    assert_eq!(
        (
            remain(&server, "DirRemain").await,
            remain(&server, "UrlRemain").await
        ),
        ("99".into(), "2".into())
    );
    for _ in 0..2 {
        let push = get(
            &server,
            "/?Action=PushObjectCache&Format=JSON&ObjectPath=static.example.com/p",
        )
        .await;
        assert_eq!(push.status, StatusCode::OK, "{}", push.body);
    }
    get(
        &server,
        "/?Action=PushObjectCache&Format=JSON&ObjectPath=static.example.com/p",
    )
    .await
    .expect_error(400, "QuotaExceeded.Preload");

    // As of a replay time before the writes, the quota was whole.
    let req = hyper::Request::get(server.url("/?Action=DescribeRefreshQuota&Format=JSON"))
        .header("x-cdnsim-replay-time", "2026-11-20T11:59:59Z")
        .body(http_body_util::Full::default())
        .expect("request");
    assert_eq!(send(server.addr, req).await.json()["UrlRemain"], "5");

    // The day turns at 00:00 UTC+8 = 16:00 UTC.
    let moved = move_clock(&server, r#"{"to":"2026-11-20T15:59:59.999Z"}"#).await;
    assert_eq!(moved.status, StatusCode::OK);
    assert_eq!(remain(&server, "UrlRemain").await, "2");
    advance(&server, "1ms").await;
    assert_eq!(remain(&server, "UrlRemain").await, "5");
    assert_eq!(remain(&server, "PreloadRemain").await, "2");
    server.stop().await;
}

#[tokio::test]
async fn bad_writes_get_the_real_codes_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(config(dir.path(), &dir.path().join("data"))).await;
    let before = get(&server, "/_cdnsim/clock").await.json()["events"].clone();
    let eleven: Vec<String> = (0..11)
        .map(|i| format!("http://d{i}.example.com/x"))
        .collect();
    let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
    let eleven_again = eleven.clone();
    let cases: Vec<(Vec<&str>, &str, u16, &str)> = vec![
        (vec![], "", 400, "MissingParameter"),
        (vec!["\n\r\n"], "", 400, "MissingParameter"),
        (
            vec!["static.example.com/a"],
            "&ObjectType=Block",
            400,
            "InvalidObjectType.Malformed",
        ),
        (
            vec!["static.example.com/a"],
            "&Force=yes",
            400,
            "InvalidParameter.Boolean",
        ),
        (
            vec!["https://broken-path"],
            "",
            400,
            "InvalidObjectPath.Malformed",
        ),
        (
            vec!["ftp://static.example.com/a"],
            "",
            400,
            "InvalidObjectPath.Malformed",
        ),
        (
            vec!["static.example.com/dir"],
            "&ObjectType=Directory",
            400,
            "InvalidObjectPath.Malformed",
        ),
        (
            vec!["static.example.com/a.*", "static.example.com/b.*"],
            "&ObjectType=Regex",
            400,
            "SingleRequest.OverLimit",
        ),
        (eleven, "", 400, "SingleRequest.OverLimit"),
        (
            vec!["http://github.com/x"],
            "",
            404,
            "InvalidDomain.NotFound",
        ),
    ];
    for (paths, extra, status, code) in cases {
        let answer = if paths.is_empty() {
            post(
                &server,
                "/?Action=RefreshObjectCaches",
                "application/x-www-form-urlencoded",
                &format!("Format=JSON{extra}"),
            )
            .await
        } else {
            refresh(&server, &paths, extra).await
        };
        answer.expect_error(status, code);
    }
    let answer = refresh(&server, &eleven_again, "").await;
    assert!(
        answer.body.contains("at most 10 domains"),
        "{}",
        answer.body
    );
    let answer = refresh(&server, &["http://github.com/x"], "").await;
    assert!(
        answer
            .body
            .contains("The domain [github.com] does not belong to you."),
        "{}",
        answer.body
    );
    for (query, status, code) in [
        (
            "ObjectPath=static.example.com/a&Area=mars",
            400,
            "InvalidArea.ValueNotSupported",
        ),
        (
            "ObjectPath=static.example.com/a&WithHeader=%7Bnot",
            400,
            "InvalidCustomHeader",
        ),
        (
            "ObjectPath=static.example.com/a&L2Preload=maybe",
            400,
            "InvalidParameter.Boolean",
        ),
        (
            "ObjectPath=http://nope.example.org/a",
            404,
            "InvalidDomain.NotFound",
        ),
    ] {
        get(
            &server,
            &format!("/?Action=PushObjectCache&Format=JSON&{query}"),
        )
        .await
        .expect_error(status, code);
    }
    // Writes happen at the clock, never in the past.
    let req = hyper::Request::get(
        server.url("/?Action=PushObjectCache&Format=JSON&ObjectPath=static.example.com/a"),
    )
    .header("x-cdnsim-replay-time", "2026-11-20T11:00:00Z")
    .body(http_body_util::Full::default())
    .expect("request");
    send(server.addr, req)
        .await
        .expect_error(400, "InvalidReplayTime");
    // XML by default, like every V1 answer.
    let xml = get(
        &server,
        "/?Action=RefreshObjectCaches&ObjectPath=static.example.com/x.css",
    )
    .await;
    assert!(
        xml.body.starts_with("<?xml")
            && xml
                .body
                .contains("<RefreshTaskId>9000000000</RefreshTaskId>"),
        "{}",
        xml.body
    );
    let after = get(&server, "/_cdnsim/clock").await.json()["events"].clone();
    assert_eq!(
        after.as_u64(),
        before.as_u64().map(|n| n + 1),
        "only the valid write added an event"
    );
    server.stop().await;
}

#[tokio::test]
async fn restarts_re_run_recorded_writes_and_logs_are_deterministic() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No queue delay: a row's first step falls due at its own millisecond, between the writes.
    let text = SCENARIO.replace(r#"queue_delay = "2s""#, r#"queue_delay = "0s""#);
    let path = dir.path().join("no-delay.toml");
    std::fs::write(&path, text).expect("write");
    let start = |data: &Path| {
        let mut config = config(dir.path(), data);
        config.source = Source::Scenario {
            scenario: Box::new(Scenario::load(&path).expect("valid")),
            data_dir: data.to_owned(),
            fresh: false,
        };
        Running::start(config)
    };
    let ok = |answer: Answer| assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let script = |data: PathBuf, restart: bool| async move {
        let mut server = start(&data).await;
        let three = [
            "static.example.com/a",
            "img.example.com/b",
            "static.example.com/b2",
        ];
        ok(refresh(&server, &three, "").await);
        advance(&server, "90s").await;
        ok(refresh(&server, &["static.example.com/a"], "").await);
        ok(refresh(&server, &["static.example.com/c"], "").await); // same second: same TaskId
        if restart {
            // The log is re-run with its API rows and checked, then continued.
            server.stop().await;
            server = start(&data).await;
        }
        let rows = by_id(&server, "9000000000,9000000001,9000000002").await;
        assert_eq!(rows.len(), 5, "{rows:?}");
        let second = rows.iter().filter(|r| r["TaskId"] == "9000000002").count();
        assert_eq!(
            second, 2,
            "rows submitted in the same second share a TaskId: {rows:?}"
        );
        let push = "/?Action=PushObjectCache&Format=JSON&ObjectPath=static.example.com/p";
        ok(get(&server, push).await);
        advance(&server, "1h").await;
        let rows = by_id(&server, "9000000000,9000000001,9000000002,9000000003").await;
        assert!(rows.iter().all(|r| r["Status"] == "Complete"), "{rows:?}");
        server.stop().await;
        std::fs::read(data.join("events.cdnlog")).expect("read log")
    };
    let restarted = script(dir.path().join("a"), true).await;
    let straight = script(dir.path().join("b"), false).await;
    assert!(
        restarted == straight,
        "a restart in the middle changes nothing: the same writes at the same clock times give the same log"
    );
    let verify = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .arg("verify")
        .arg(dir.path().join("a").join("events.cdnlog"))
        .output()
        .expect("runs");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Running::start(config(dir.path(), &data)).await;
    let second = cdnsim::server::Server::bind(config(dir.path(), &data)).await;
    let message = second.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("locked") && message.contains("another cdnsim"),
        "{message}"
    );
    server.stop().await;
}

/// A blocking HTTP/1.1 client on one keep-alive connection.
struct Client {
    stream: BufReader<std::net::TcpStream>,
}

impl Client {
    fn connect(addr: &str) -> Option<Client> {
        std::net::TcpStream::connect(addr).ok().map(|s| Client {
            stream: BufReader::new(s),
        })
    }

    /// POSTs a form; `None` when the connection fails (the server was killed).
    fn post(&mut self, path: &str, form: &str) -> Option<(u16, String)> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        );
        self.stream.get_mut().write_all(request.as_bytes()).ok()?;
        let mut status_line = String::new();
        self.stream.read_line(&mut status_line).ok()?;
        let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).ok()?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().ok()?;
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).ok()?;
        Some((status, String::from_utf8(body).ok()?))
    }
}

fn spawn_server(scenario: &Path, data: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--at",
            "2026-11-20T12:00:00Z",
            "--scenario",
        ])
        .arg(scenario)
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_owned();
    (child, addr)
}

#[tokio::test]
async fn writers_that_hang_up_while_waiting_do_not_stall_the_others() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(dir.path(), &dir.path().join("data"));
    let path = dir.path().join("big-quota.toml");
    std::fs::write(&path, SCENARIO.replace("url = 5", "url = 1000000")).expect("write");
    config.source = Source::Scenario {
        scenario: Box::new(Scenario::load(&path).expect("valid")),
        data_dir: dir.path().join("data"),
        fresh: false,
    };
    let server = Running::start(config).await;
    // Many writes whose clients close the connection without waiting for the answer: one of
    // them is likely leading a group sync when its request is dropped.
    let mut hangups = Vec::new();
    for i in 0..512 {
        let addr = server.addr;
        hangups.push(tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.expect("connects");
            let req = format!(
                "GET /?Action=RefreshObjectCaches&Format=JSON&ObjectPath=static.example.com/h{i} HTTP/1.1\r\nHost: x\r\n\r\n"
            );
            s.write_all(req.as_bytes()).await.expect("writes");
        }));
    }
    for h in hangups {
        h.await.expect("joins");
    }
    let guard = std::time::Duration::from_secs(20);
    for i in 0..5 {
        let path = format!("static.example.com/after{i}");
        let paths = [path.as_str()];
        let write = refresh(&server, &paths, "");
        let answer = tokio::time::timeout(guard, write)
            .await
            .expect("answered, not stalled");
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    server.stop().await;
}

#[test]
fn sigkill_during_concurrent_writes_loses_no_acknowledged_task() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = SCENARIO.replace("url = 5", "url = 1000000");
    let scenario = scenario_file(dir.path(), &text);
    let data = dir.path().join("data");
    let (mut child, addr) = spawn_server(&scenario, &data);

    // Eight writers, each submitting its own paths one request after another, until the
    // server dies; every acknowledged (TaskId, path) is remembered.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut acked: Vec<(String, String)> = Vec::new();
                let Some(mut client) = Client::connect(&addr) else {
                    return acked;
                };
                for i in 0.. {
                    let path = format!("http://static.example.com/w{w}/{i}.txt");
                    let form = format!(
                        "Action=RefreshObjectCaches&Format=JSON&ObjectPath={}",
                        cdnsim::api::encoding::encode(&path)
                    );
                    match client.post("/", &form) {
                        Some((200, body)) => {
                            let json: Value = serde_json::from_str(&body).unwrap_or_default();
                            let id = json["RefreshTaskId"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned();
                            acked.push((id, path));
                        }
                        Some((status, body)) => panic!("write answered {status}: {body}"),
                        None => return acked,
                    }
                }
                acked
            })
        })
        .collect();
    // Kill once a fair number of writes has been acknowledged (counted by the server's own
    // metrics, so nothing here waits on wall time).
    let mut metrics = Client::connect(&addr).expect("connects");
    loop {
        let request = "GET /_cdnsim/metrics HTTP/1.1\r\nHost: x\r\n\r\n";
        metrics
            .stream
            .get_mut()
            .write_all(request.as_bytes())
            .expect("writes");
        let mut text = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            metrics.stream.read_line(&mut line).expect("reads");
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        metrics.stream.read_exact(&mut body).expect("reads body");
        text.push_str(&String::from_utf8_lossy(&body));
        let done: u64 = text
            .lines()
            .find(|l| {
                l.starts_with(
                    "cdnsim_requests_total{action=\"RefreshObjectCaches\",status=\"200\"}",
                )
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if done >= 300 {
            break;
        }
    }
    let killed = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let _ = child.wait();
    let acked: Vec<(String, String)> = writers
        .into_iter()
        .flat_map(|w| w.join().expect("writer thread"))
        .collect();
    assert!(acked.len() >= 300, "{} acknowledged", acked.len());
    eprintln!("{} writes acknowledged before SIGKILL", acked.len());

    // Restart: the log is recovered, re-run and continued.
    let (mut child, addr) = spawn_server(&scenario, &data);
    let mut client = Client::connect(&addr).expect("connects");
    let (status, _) = client
        .post("/_cdnsim/clock", r#"{"advance":"1h"}"#)
        .expect("advances");
    assert_eq!(status, 200);
    let mut ids: Vec<&str> = acked.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found: Vec<(String, String, String)> = Vec::new();
    for chunk in ids.chunks(10) {
        let form = format!(
            "Action=DescribeRefreshTaskById&Format=JSON&TaskId={}",
            chunk.join(",")
        );
        let (status, body) = client.post("/", &form).expect("answers");
        assert_eq!(status, 200, "{body}");
        let json: Value = serde_json::from_str(&body).expect("JSON");
        for row in json["Tasks"].as_array().cloned().unwrap_or_default() {
            let field = |k: &str| row[k].as_str().unwrap_or_default().to_owned();
            found.push((field("TaskId"), field("ObjectPath"), field("Status")));
        }
    }
    for (id, path) in &acked {
        let row = found.iter().find(|(i, p, _)| i == id && p == path);
        let status = row.map(|(_, _, s)| s.as_str());
        assert_eq!(
            status,
            Some("Complete"),
            "acknowledged {id} {path} is there and finished"
        );
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().expect("exits").success());
    let verify = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .arg("verify")
        .arg(data.join("events.cdnlog"))
        .output()
        .expect("runs");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
