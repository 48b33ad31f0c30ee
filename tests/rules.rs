//! Rules: lifecycle rules forcing what happens to the app's own submissions, error rules
//! making the API answer errors, from the scenario and from `/_cdnsim/rules` — each field,
//! deterministic draws, `times`, records in the log that a restart, `query` and replay
//! reproduce.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use cdnsim::event::{Event, RuleUse, Source as RowSource};
use cdnsim::server::{Config, Source};
use common::http::*;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use serde_json::Value;

/// Two domains, rows that take 5 to 6 minutes and never fail unless a rule says so.
const SCENARIO: &str = r#"
seed = 11
start = "2026-11-20T00:00:00Z"
duration = "1d"

[[domain]]
name = "img.example.com"

[[domain]]
name = "static.example.com"

[failures]
internal_error = 0
origin_timeout = 0
"#;

fn config(data: &Path, text: &str) -> Config {
    text_config(data, text)
}

async fn rules(server: &Running) -> Vec<Value> {
    list_rules(server).await
}

/// A submitted row: its TaskId (shared by rows of the same domain and second) and path.
struct Row {
    id: String,
    path: String,
}

/// Submits `path` (RefreshObjectCaches, with `extra` parameters such as `&ObjectType=...`).
async fn submit_with(server: &Running, path: &str, extra: &str) -> Row {
    let answer = refresh(server, &[path], extra).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let id = answer.json()["RefreshTaskId"]
        .as_str()
        .expect("an id")
        .to_owned();
    Row {
        id,
        path: path.to_owned(),
    }
}

async fn submit(server: &Running, path: &str) -> Row {
    submit_with(server, path, "").await
}

/// The row among `rows` (a DescribeRefreshTaskById answer) with `path`.
fn find<'a>(rows: &'a [Value], path: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["ObjectPath"] == path)
        .unwrap_or_else(|| panic!("no row {path} in {rows:?}"))
}

/// (Status, Description) of `row`.
async fn row_state(server: &Running, row: &Row) -> (String, String) {
    let rows = by_id(server, &row.id).await;
    let found = find(&rows, &row.path);
    let s = |k: &str| found[k].as_str().expect("a string").to_owned();
    (s("Status"), s("Description"))
}

fn records(log: &Path) -> Vec<cdnsim::event::Record> {
    cdnsim::log::Records::open(log)
        .expect("opens")
        .map(|r| r.expect("a whole record"))
        .collect()
}

#[tokio::test]
async fn a_lifecycle_rule_fails_the_rows_it_matches_and_only_those() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(config(dir.path(), SCENARIO)).await;
    let before = submit(&server, "http://img.example.com/app/before.js").await;
    let rule = r#"{"name":"origin-down","match":{"domain":"IMG.example.com","path":"img.example.com/app/*","type":"file"},"outcome":"failed","reason":"origin_timeout","queue_delay":"0s","processing":"2m"}"#;
    let added = add_rule(&server, rule).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let stored = added.json();
    assert_eq!(stored["match"]["domain"], "img.example.com");
    assert_eq!(stored["match"]["path"], "http://img.example.com/app/*");
    assert_eq!(stored["remaining"], Value::Null);
    assert_eq!(stored["times"], Value::Null);
    assert_eq!(stored["probability"], 1.0);
    assert_eq!(stored["added_at"], "2026-11-20T00:00:00.000Z");

    let hit = submit(&server, "http://img.example.com/app/main.js").await;
    let other_path = submit(&server, "http://img.example.com/other/main.js").await;
    let other_domain = submit(&server, "http://static.example.com/app/main.js").await;
    let dir = "http://img.example.com/app/d/";
    let dir_row = submit_with(&server, dir, "&ObjectType=Directory").await;
    // processing 2m, no queue: failed by 2 minutes; the others complete after 5 to 6.
    move_clock(&server, r#"{"advance":"2m"}"#).await;
    assert_eq!(
        row_state(&server, &hit).await,
        ("Failed".into(), "Origin timeout".into())
    );
    move_clock(&server, r#"{"advance":"10m"}"#).await;
    for row in [&before, &other_path, &other_domain, &dir_row] {
        let state = row_state(&server, row).await;
        assert_eq!(state, ("Complete".into(), "".into()), "{}", row.path);
    }
    server.stop().await;
}

#[tokio::test]
async fn each_forced_field_applies_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(config(dir.path(), SCENARIO)).await;
    // Stuck in Refreshing for 2 hours: processing alone (outcome drawn as usual: complete).
    let stuck = r#"{"name":"stuck","match":{"path":"*/stuck/*"},"processing":"2h","times":1}"#;
    assert_eq!(add_rule(&server, stuck).await.status, StatusCode::CREATED);
    // Queued for an hour: queue_delay alone.
    let queued = r#"{"name":"queued","match":{"path":"*/queued/*"},"queue_delay":"1h"}"#;
    assert_eq!(add_rule(&server, queued).await.status, StatusCode::CREATED);
    let complete =
        r#"{"name":"fast","match":{"type":"preload"},"outcome":"complete","processing":"1s"}"#;
    assert_eq!(
        add_rule(&server, complete).await.status,
        StatusCode::CREATED
    );
    let stuck_id = submit(&server, "http://img.example.com/stuck/a.js").await;
    let stuck_again = submit(&server, "http://img.example.com/stuck/b.js").await;
    let queued_id = submit(&server, "http://img.example.com/queued/a.js").await;
    let pushed = post(
        &server,
        "/?Action=PushObjectCache",
        "application/x-www-form-urlencoded",
        "Format=JSON&ObjectPath=http%3A%2F%2Fimg.example.com%2Fp.js",
    )
    .await;
    let pushed_row = Row {
        id: pushed.json()["PushTaskId"].as_str().expect("id").to_owned(),
        path: "http://img.example.com/p.js".to_owned(),
    };
    move_clock(&server, r#"{"advance":"30m"}"#).await;
    assert_eq!(row_state(&server, &stuck_id).await.0, "Refreshing");
    assert_eq!(
        row_state(&server, &stuck_again).await.0,
        "Complete",
        "times = 1: the second row is the model's"
    );
    assert_eq!(row_state(&server, &queued_id).await.0, "Pending");
    assert_eq!(row_state(&server, &pushed_row).await.0, "Complete");
    move_clock(&server, r#"{"advance":"2h"}"#).await;
    assert_eq!(row_state(&server, &stuck_id).await.0, "Complete");
    assert_eq!(row_state(&server, &queued_id).await.0, "Complete");
    let listed = rules(&server).await;
    let names: Vec<&str> = listed.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["stuck", "queued", "fast"], "in the order added");
    assert_eq!(listed[0]["remaining"], 0, "spent rules stay listed");
    assert_eq!(listed[1]["remaining"], Value::Null);
    server.stop().await;
}

#[tokio::test]
async fn times_spends_exactly_n_and_the_endpoint_manages_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(config(dir.path(), SCENARIO)).await;
    let rule =
        r#"{"name":"three","outcome":"failed","reason":"origin_5xx","processing":"1s","times":3}"#;
    assert_eq!(add_rule(&server, rule).await.status, StatusCode::CREATED);
    let taken = add_rule(&server, rule).await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    assert!(taken.json()["error"].as_str().unwrap().contains("three"));
    let paths: Vec<String> = (0..5)
        .map(|i| format!("http://img.example.com/t/{i}.js"))
        .collect();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let answer = refresh(&server, &refs, "").await;
    let id = answer.json()["RefreshTaskId"].as_str().unwrap().to_owned();
    move_clock(&server, r#"{"advance":"10m"}"#).await;
    let rows = by_id(&server, &id).await;
    let failed = rows.iter().filter(|r| r["Status"] == "Failed").count();
    assert_eq!(failed, 3, "{rows:?}");
    assert!(
        rows.iter()
            .filter(|r| r["Status"] == "Failed")
            .all(|r| r["Description"] == "Origin Return StatusCode 5XX")
    );
    assert_eq!(rules(&server).await[0]["remaining"], 0);

    assert_eq!(
        delete(&server, "/_cdnsim/rules/nope").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(&server, "/_cdnsim/rules/three").await.status,
        StatusCode::NO_CONTENT
    );
    assert!(rules(&server).await.is_empty());
    for name in ["a", "b"] {
        let rule = format!(r#"{{"name":"{name}","outcome":"complete"}}"#);
        assert_eq!(add_rule(&server, &rule).await.status, StatusCode::CREATED);
    }
    assert_eq!(
        delete(&server, "/_cdnsim/rules").await.status,
        StatusCode::NO_CONTENT
    );
    assert!(rules(&server).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn bad_rules_get_an_error_naming_the_key_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(config(dir.path(), SCENARIO)).await;
    let cases = [
        (r#"{"name":"a","outcome":"failed"}"#, "reason"),
        (
            r#"{"name":"a","outcome":"complete","probability":2}"#,
            "probability",
        ),
        (r#"{"name":"a","outcome":"complete","times":0}"#, "times"),
        (
            r#"{"name":"a","outcome":"complete","colour":"red"}"#,
            "colour",
        ),
        (
            r#"{"name":"a","action":"Nope","error":"InternalError"}"#,
            "action",
        ),
        (
            r#"{"name":"a","action":"DescribeRefreshTasks","error":"Boom"}"#,
            "error",
        ),
        (r#"{"outcome":"complete"}"#, "name"),
        ("not json", "the rule"),
    ];
    for (body, key) in cases {
        let answer = add_rule(&server, body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            answer.body
        );
        let message = answer.json()["error"].as_str().unwrap().to_owned();
        assert!(message.contains(key), "{body}: {message}");
    }
    let huge = format!(
        r#"{{"name":"a","outcome":"complete","match":{{"path":"{}"}}}}"#,
        "x".repeat(20_000)
    );
    assert_eq!(
        add_rule(&server, &huge).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(rules(&server).await.is_empty());
    let log = dir.path().join("events.cdnlog");
    server.stop().await;
    assert!(
        records(&log).iter().all(|r| r.event.is_task_event()),
        "no rule record for a refused rule"
    );
}

#[tokio::test]
async fn error_rules_answer_the_real_error_for_the_next_n_calls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(config(dir.path(), SCENARIO)).await;
    let rule =
        r#"{"name":"throttle","action":"RefreshObjectCaches","error":"Throttling.User","times":2}"#;
    let added = add_rule(&server, rule).await;
    assert_eq!(
        added.json()["retry_after"],
        "1s",
        "throttling advertises a wait"
    );
    let unavailable =
        r#"{"name":"down","action":"DescribeRefreshTasks","error":"ServiceUnavailable","times":1}"#;
    add_rule(&server, unavailable).await;
    for _ in 0..2 {
        let answer = refresh(&server, &["http://img.example.com/a.js"], "").await;
        answer.expect_error(400, "Throttling.User");
        assert_eq!(
            answer.json()["Message"],
            "Request was denied due to user flow control."
        );
        assert_eq!(answer.headers["x-acs-retry-after"], "1000");
    }
    let third = refresh(&server, &["http://img.example.com/a.js"], "").await;
    assert_eq!(
        third.status,
        StatusCode::OK,
        "spent after two: {}",
        third.body
    );
    // Any call of the action, even one whose parameters would fail, gets the error first.
    let down = get(
        &server,
        "/?Action=DescribeRefreshTasks&Format=JSON&PageSize=0",
    )
    .await;
    down.expect_error(503, "ServiceUnavailable");
    assert!(!down.headers.contains_key("x-acs-retry-after"));
    let spent = get(
        &server,
        "/?Action=DescribeRefreshTasks&Format=JSON&PageSize=0",
    )
    .await;
    spent.expect_error(400, "InvalidParameter.PageSize");
    let log = dir.path().join("events.cdnlog");
    server.stop().await;
    let uses: Vec<(String, RuleUse)> = records(&log)
        .into_iter()
        .filter_map(|r| match r.event {
            Event::RuleUsed { name, by } => Some((name, by)),
            _ => None,
        })
        .collect();
    assert_eq!(
        uses,
        [
            ("throttle".to_owned(), RuleUse::Call(0)),
            ("throttle".to_owned(), RuleUse::Call(1)),
            ("down".to_owned(), RuleUse::Call(0)),
        ]
    );
}

/// Rules with probabilities, from the scenario and the endpoint, rows and calls: what they
/// decide, run twice from scratch.
async fn probabilistic_run(data: &Path) -> (Vec<String>, Vec<u16>, Vec<u8>) {
    let text = format!(
        "{SCENARIO}\n[[rule]]\nname = \"flaky-origin\"\nmatch = {{ domain = \"img.example.com\" }}\n\
         outcome = \"failed\"\nreason = \"internal_error\"\nprobability = 0.4\n"
    );
    let server = Running::start(config(data, &text)).await;
    let rule = r#"{"name":"flaky-api","action":"DescribeRefreshTaskById","error":"InternalError","probability":0.3}"#;
    assert_eq!(add_rule(&server, rule).await.status, StatusCode::CREATED);
    let mut rows = Vec::new();
    for i in 0..40 {
        rows.push(submit(&server, &format!("http://img.example.com/p/{i}.js")).await);
    }
    move_clock(&server, r#"{"advance":"10m"}"#).await;
    let mut outcomes = Vec::new();
    let mut statuses = Vec::new();
    for row in &rows {
        loop {
            let query = format!(
                "/?Action=DescribeRefreshTaskById&Format=JSON&TaskId={}",
                row.id
            );
            let answer = get(&server, &query).await;
            statuses.push(answer.status.as_u16());
            if answer.status == StatusCode::OK {
                let tasks = answer.json()["Tasks"].as_array().cloned().expect("rows");
                outcomes.push(find(&tasks, &row.path)["Status"].to_string());
                break;
            }
            answer.expect_error(500, "InternalError");
        }
    }
    let log = data.join("events.cdnlog");
    server.stop().await;
    (outcomes, statuses, std::fs::read(log).expect("reads"))
}

#[tokio::test]
async fn probability_draws_are_deterministic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = probabilistic_run(&dir.path().join("a")).await;
    let second = probabilistic_run(&dir.path().join("b")).await;
    assert_eq!(first.0, second.0, "same rows fail");
    assert_eq!(first.1, second.1, "same calls answer errors");
    assert_eq!(first.2, second.2, "byte-identical logs");
    let failed = first.0.iter().filter(|s| s.contains("Failed")).count();
    assert!((6..=26).contains(&failed), "about 40% of 40 rows: {failed}");
    let errors = first.1.iter().filter(|s| **s == 500).count();
    assert!(
        (3..=40).contains(&errors),
        "about 30% of the calls: {errors}"
    );
}

#[tokio::test]
async fn a_restart_in_the_middle_reproduces_the_log_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "{SCENARIO}\n[[workload]]\nname = \"bg\"\nrate_per_hour = 120\n\n\
         [[rule]]\nname = \"slow-static\"\nmatch = {{ domain = \"static.example.com\" }}\n\
         processing = \"1h\"\nprobability = 0.5\ntimes = 4\n"
    );
    let run = |data: std::path::PathBuf, restart: bool| {
        let text = text.clone();
        async move {
            let mut server = Running::start(config(&data, &text)).await;
            let script: [&str; 11] = [
                r#"{"name":"a","match":{"path":"*/a/*"},"outcome":"failed","reason":"origin_timeout","probability":0.5,"times":3}"#,
                r#"{"name":"q","action":"DescribeRefreshQuota","error":"InternalError","probability":0.5}"#,
                "submit http://img.example.com/a/1.js",
                "submit http://static.example.com/a/2.js",
                r#"{"name":"t","action":"RefreshObjectCaches","error":"Throttling.User","times":2,"probability":0.7}"#,
                "submit http://static.example.com/a/3.js",
                "poll",
                "restart",
                "poll",
                "delete a",
                "submit http://img.example.com/a/4.js",
            ];
            let mut statuses = Vec::new();
            for step in script {
                move_clock(&server, r#"{"advance":"7m"}"#).await;
                if step == "restart" {
                    if restart {
                        let now = get(&server, "/_cdnsim/clock").await.json()["now"].clone();
                        server.stop().await;
                        let mut again = config(&data, &text);
                        again.at_ms = cdnsim::time::parse_rfc3339(now.as_str().expect("now"));
                        server = Running::start(again).await;
                    }
                } else if step == "poll" {
                    // Until the rule has answered one call and let the next through: its
                    // draws then go on past what it answered.
                    let quota = "/?Action=DescribeRefreshQuota&Format=JSON";
                    let mut answered = false;
                    for _ in 0..64 {
                        let status = get(&server, quota).await.status.as_u16();
                        statuses.push(status);
                        answered |= status == 500;
                        if answered && status == 200 {
                            break;
                        }
                    }
                } else if let Some(path) = step.strip_prefix("submit ") {
                    for _ in 0..3 {
                        statuses.push(refresh(&server, &[path], "").await.status.as_u16());
                    }
                } else if let Some(name) = step.strip_prefix("delete ") {
                    let path = format!("/_cdnsim/rules/{name}");
                    assert_eq!(delete(&server, &path).await.status, StatusCode::NO_CONTENT);
                } else {
                    assert_eq!(add_rule(&server, step).await.status, StatusCode::CREATED);
                }
            }
            move_clock(&server, r#"{"advance":"2h"}"#).await;
            let listed = rules(&server).await;
            server.stop().await;
            let log = std::fs::read(data.join("events.cdnlog")).expect("reads");
            (log, (listed, statuses))
        }
    };
    let (straight, straight_rules) = run(dir.path().join("straight"), false).await;
    let (restarted, restarted_rules) = run(dir.path().join("restarted"), true).await;
    assert_eq!(straight_rules, restarted_rules);
    assert!(
        straight == restarted,
        "the restarted log differs ({} vs {} bytes)",
        straight.len(),
        restarted.len()
    );
    // The log holds every kind of rule record.
    let kinds: std::collections::BTreeSet<&str> =
        records(&dir.path().join("straight/events.cdnlog"))
            .iter()
            .map(|r| r.event.kind())
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
    for kind in ["RuleAdded", "RuleUsed", "RuleDeleted"] {
        assert!(kinds.contains(kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn replay_and_query_before_a_rule_show_the_old_behaviour() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(config(dir.path(), SCENARIO)).await;
    move_clock(&server, r#"{"advance":"1h"}"#).await;
    let before = submit(&server, "http://img.example.com/x/1.js").await;
    move_clock(&server, r#"{"advance":"1m"}"#).await;
    let rule = r#"{"name":"down","outcome":"failed","reason":"origin_timeout"}"#;
    add_rule(&server, rule).await;
    let after = submit(&server, "http://img.example.com/x/2.js").await;
    move_clock(&server, r#"{"advance":"1h"}"#).await;
    assert_eq!(
        row_state(&server, &before).await.0,
        "Complete",
        "older than the rule"
    );
    assert_eq!(row_state(&server, &after).await.0, "Failed");
    // The rules as of a time before the rule was added: none.
    let req = Request::get(server.url("/_cdnsim/rules"))
        .header("host", server.addr.to_string())
        .header("x-cdnsim-replay-time", "2026-11-20T01:00:30Z")
        .body(Full::<Bytes>::default())
        .expect("request");
    let earlier = send(server.addr, req).await;
    assert_eq!(earlier.json()["rules"], serde_json::json!([]));
    let log = dir.path().join("events.cdnlog");
    server.stop().await;

    // `cdnsim query` folds the same log: rows before the rule complete, after it fail; as of
    // a time before the rule, the later row does not exist.
    let query = |at: &str, id: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cdnsim"))
            .arg("query")
            .arg(&log)
            .args(["--at", at, "Action=DescribeRefreshTaskById", "Format=JSON"])
            .arg(format!("TaskId={id}"))
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let body: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        body["Tasks"].as_array().cloned().unwrap_or_default()
    };
    let end = "2026-11-20T02:01:00Z";
    assert_eq!(
        find(&query(end, &before.id), &before.path)["Status"],
        "Complete"
    );
    assert_eq!(
        find(&query(end, &after.id), &after.path)["Status"],
        "Failed"
    );
    assert!(query("2026-11-20T01:00:30Z", &after.id).is_empty());

    // dump shows the rule's records.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .arg("dump")
        .arg(&log)
        .output()
        .expect("runs");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let added = text
        .lines()
        .find(|l| l.contains("\"RuleAdded\""))
        .expect("a RuleAdded line");
    let added: Value = serde_json::from_str(added).expect("JSON");
    assert_eq!(added["rule"]["name"], "down");
    assert_eq!(added["source"], "api");
    assert!(
        text.contains(r#""type":"RuleUsed","row":1,"name":"down""#),
        "{text}"
    );
}

#[tokio::test]
async fn scenario_rules_stay_through_a_reset_and_endpoint_rules_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "{SCENARIO}\n[[rule]]\nname = \"from-scenario\"\nmatch = {{ type = \"regex\" }}\n\
         outcome = \"complete\"\n"
    );
    let server = Running::start(config(dir.path(), &text)).await;
    add_rule(&server, r#"{"name":"from-endpoint","outcome":"complete"}"#).await;
    assert_eq!(rules(&server).await.len(), 2);
    let reset = post(&server, "/_cdnsim/reset", "application/json", "").await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let after = rules(&server).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["name"], "from-scenario");
    assert_eq!(after[0]["added_at"], "2026-11-20T00:00:00.000Z");
    let log = dir.path().join("events.cdnlog");
    server.stop().await;
    let first = &records(&log)[0];
    assert!(
        matches!(
            &first.event,
            Event::RuleAdded {
                source: RowSource::Scenario,
                ..
            }
        ),
        "{first:?}"
    );
}

#[tokio::test]
async fn a_finished_log_lists_its_rules_and_takes_no_more() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Running::start(config(&data, SCENARIO)).await;
    add_rule(&server, r#"{"name":"kept","outcome":"complete"}"#).await;
    server.stop().await;
    let mut log_config = Config::new(Source::Log(data.join("events.cdnlog")));
    log_config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = Running::start(log_config).await;
    assert_eq!(rules(&server).await[0]["name"], "kept");
    let refused = add_rule(&server, r#"{"name":"new","outcome":"complete"}"#).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(
        delete(&server, "/_cdnsim/rules").await.status,
        StatusCode::CONFLICT
    );
    server.stop().await;
}

#[tokio::test]
async fn rules_need_the_admin_token_when_there_is_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(dir.path(), SCENARIO);
    config.admin_token = Some("s3cret".into());
    let server = Running::start(config).await;
    let answer = add_rule(&server, r#"{"name":"a","outcome":"complete"}"#).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let req = Request::post(server.url("/_cdnsim/rules"))
        .header("host", server.addr.to_string())
        .header("authorization", "Bearer s3cret")
        .body(Full::new(Bytes::from(
            r#"{"name":"a","outcome":"complete"}"#,
        )))
        .expect("request");
    assert_eq!(send(server.addr, req).await.status, StatusCode::CREATED);
    server.stop().await;
}

/// An input a moment after a write, with nothing due in between (a rule added, a call an error
/// rule draws for), is made at its own time on restart too.
#[tokio::test]
async fn inputs_after_a_write_at_a_later_moment_resume() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!("{SCENARIO}\n[lifecycle]\nqueue_delay = \"30s\"\n");
    let server = Running::start(config(dir.path(), &text)).await;
    submit(&server, "http://img.example.com/w/1.js").await;
    move_clock(&server, r#"{"advance":"1s"}"#).await;
    let rule = r#"{"name":"maybe","action":"DescribeRefreshQuota","error":"InternalError","probability":0.5}"#;
    assert_eq!(add_rule(&server, rule).await.status, StatusCode::CREATED);
    submit(&server, "http://img.example.com/w/2.js").await;
    move_clock(&server, r#"{"advance":"1s"}"#).await;
    for _ in 0..4 {
        get(&server, "/?Action=DescribeRefreshQuota&Format=JSON").await;
    }
    let now = get(&server, "/_cdnsim/clock").await.json()["now"].clone();
    server.stop().await;
    let mut again = config(dir.path(), &text);
    again.at_ms = cdnsim::time::parse_rfc3339(now.as_str().expect("now"));
    let server = Running::start(again).await;
    assert_eq!(rules(&server).await[0]["name"], "maybe");
    server.stop().await;
}

#[tokio::test]
async fn an_empty_rule_name_deletes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(config(dir.path(), SCENARIO)).await;
    add_rule(&server, r#"{"name":"kept","outcome":"complete"}"#).await;
    let answer = delete(&server, "/_cdnsim/rules/").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    assert_eq!(rules(&server).await.len(), 1);
    // A listed rule can be posted back under a new name.
    let mut listed = rules(&server).await[0].clone();
    listed["name"] = "copy".into();
    let copied = add_rule(&server, &listed.to_string()).await;
    assert_eq!(copied.status, StatusCode::CREATED, "{}", copied.body);
    server.stop().await;
}
