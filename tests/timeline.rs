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

/// The page and its assets: embedded, typed, fenced to this server by their policy.
#[tokio::test]
async fn the_page_is_served_with_its_assets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = ci_replay_log(dir.path());
    let server = Running::start(log_config(&log)).await;
    for (path, kind, needle) in [
        ("/_cdnsim/ui", "text/html", "<svg id=\"chart\""),
        ("/_cdnsim/ui/", "text/html", "<svg id=\"chart\""),
        (
            "/_cdnsim/ui/app.js",
            "text/javascript",
            "DescribeRefreshTasks",
        ),
        ("/_cdnsim/ui/app.css", "text/css", "--complete"),
    ] {
        let answer = get(&server, path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert!(
            answer.headers["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with(kind)
        );
        let csp = answer.headers["content-security-policy"]
            .to_str()
            .expect("ascii");
        assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
        assert!(answer.body.contains(needle), "{path}");
    }
    let missing = get(&server, "/_cdnsim/ui/other.js").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.json()["error"]
            .as_str()
            .expect("a message")
            .contains("/_cdnsim/ui")
    );
    let posted = call(server.addr, "POST", "/_cdnsim/ui", &[], "").await;
    assert_eq!(posted.status, StatusCode::METHOD_NOT_ALLOWED);
    // No token: there is nothing to sign in to.
    let login = call(server.addr, "POST", "/_cdnsim/ui/login", &[], "token=x").await;
    assert_eq!(login.status, StatusCode::NOT_FOUND);
    server.stop().await;
}

/// `GET /_cdnsim/scenario`: a log alone knows its domains only; a scenario (or a log with the
/// scenario that made it) has its span, incidents and scripts.
#[tokio::test]
async fn the_scenario_endpoint_frames_the_timeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = ci_replay_log(dir.path());
    let alone = Running::start(log_config(&log)).await;
    let info = get(&alone, "/_cdnsim/scenario").await.json();
    assert_eq!(info["source"], "log");
    assert_eq!(info["read_only"], true);
    assert_eq!(info["start"], Value::Null);
    assert_eq!(info["scripts"], serde_json::json!([]));
    let mut domains: Vec<String> = serde_json::from_value(info["domains"].clone()).expect("names");
    domains.sort();
    let scenario =
        cdnsim::scenario::Scenario::load(&scenario_path("ci-replay.toml")).expect("valid");
    let mut expected: Vec<String> = scenario.domains.iter().map(|d| d.name.clone()).collect();
    expected.sort();
    assert_eq!(domains, expected);
    alone.stop().await;

    let mut config = log_config(&log);
    config.log_scenario = Some(Box::new(scenario.clone()));
    let with = Running::start(config).await;
    let info = get(&with, "/_cdnsim/scenario").await.json();
    assert_eq!(info["start"], "2026-11-20T00:00:00.000Z");
    let scripts = info["scripts"].as_array().expect("scripts");
    assert_eq!(scripts.len(), scenario.scripts.len());
    assert!(
        scripts
            .iter()
            .any(|s| s["outcome"] == "Failed" && s["reason"].is_string())
    );
    with.stop().await;

    // A scenario that did not make the log is refused at start.
    let mut config = log_config(&log);
    let other = cdnsim::scenario::Scenario::load(&scenario_path("outage.toml")).expect("valid");
    config.log_scenario = Some(Box::new(other));
    let refused = cdnsim::server::Server::bind(config)
        .await
        .err()
        .expect("refused");
    assert!(
        refused.to_string().contains("fingerprints differ"),
        "{refused}"
    );

    let live = Running::start(scenario_config(&dir.path().join("outage"), "outage.toml")).await;
    let info = get(&live, "/_cdnsim/scenario").await.json();
    assert_eq!(
        (info["source"].as_str(), info["read_only"].as_bool()),
        (Some("scenario"), Some(false))
    );
    let incident = &info["incidents"][0];
    assert_eq!(incident["domain"], "img.example.com");
    assert!(incident["start"].as_str() < incident["end"].as_str());
    live.stop().await;
}

/// A read marked `x-cdnsim-observer` (the page's) is neither answered nor counted by an
/// error rule: looking does not change what the client under test will see.
#[tokio::test]
async fn an_observer_read_leaves_error_rules_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Running::start(scenario_config(dir.path(), "quickstart.toml")).await;
    let rule =
        r#"{"name":"busy","action":"DescribeRefreshTasks","error":"Throttling.User","times":1}"#;
    assert_eq!(add_rule(&server, rule).await.status, StatusCode::CREATED);
    let path = "/?Action=DescribeRefreshTasks&Format=JSON";
    for _ in 0..3 {
        let seen = call(server.addr, "GET", path, &[("x-cdnsim-observer", "1")], "").await;
        assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    }
    assert_eq!(list_rules(&server).await[0]["remaining"], 1);
    let client = call(server.addr, "GET", path, &[], "").await;
    assert_ne!(
        client.status,
        StatusCode::OK,
        "the client still meets the rule"
    );
    assert_eq!(list_rules(&server).await[0]["remaining"], 0);
    server.stop().await;

    // With an admin token, observing needs the token: without it the rule answers.
    let mut config = scenario_config(&dir.path().join("token"), "quickstart.toml");
    config.admin_token = Some("tok".into());
    let server = Running::start(config).await;
    let bearer = ("authorization", "Bearer tok");
    let added = call(server.addr, "POST", "/_cdnsim/rules", &[bearer], rule).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let seen = call(
        server.addr,
        "GET",
        path,
        &[("x-cdnsim-observer", "1"), bearer],
        "",
    )
    .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let sneaky = call(server.addr, "GET", path, &[("x-cdnsim-observer", "1")], "").await;
    assert_ne!(
        sneaky.status,
        StatusCode::OK,
        "an observer without the token is a client"
    );
    server.stop().await;
}

/// With `--admin-token`: the sign-in form sets a cookie that opens the admin endpoints and,
/// with access keys, the API's reads (not its writes) without a signature.
#[tokio::test]
async fn the_sign_in_cookie_opens_what_the_token_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = scenario_config(dir.path(), "quickstart.toml");
    config.admin_token = Some("tok en".into());
    config.access_keys = vec!["id:secret".parse().expect("a key")];
    let server = Running::start(config).await;
    let form = "application/x-www-form-urlencoded";
    let wrong = call(
        server.addr,
        "POST",
        "/_cdnsim/ui/login",
        &[("content-type", form)],
        "token=nope",
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.headers.get("set-cookie").is_none());
    assert!(wrong.body.contains("not this server's admin token"));
    let right = call(
        server.addr,
        "POST",
        "/_cdnsim/ui/login",
        &[("content-type", form)],
        "token=tok+en",
    )
    .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.body);
    assert_eq!(right.headers["location"], "/_cdnsim/ui");
    let set = right.headers["set-cookie"].to_str().expect("ascii");
    let cookie = set.split(';').next().expect("name=value").to_owned();
    assert!(
        !cookie.contains("tok"),
        "the cookie holds a digest, not the token: {cookie}"
    );
    let with = [("cookie", cookie.as_str())];

    for path in ["/_cdnsim/ui", "/_cdnsim/stats", "/_cdnsim/clock"] {
        assert_eq!(
            call(server.addr, "GET", path, &[], "").await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(
            call(server.addr, "GET", path, &with, "").await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    let bearer = [("authorization", "Bearer tok en")];
    assert_eq!(
        call(server.addr, "GET", "/_cdnsim/stats", &bearer, "")
            .await
            .status,
        StatusCode::OK
    );
    // A change with the cookie must come from the server's own page.
    let own = format!("http://{}", server.addr);
    let advance = r#"{"advance":"1m"}"#;
    for (origin, status) in [
        (None, StatusCode::FORBIDDEN),
        (Some("http://127.0.0.1:3000"), StatusCode::FORBIDDEN),
        (Some(own.as_str()), StatusCode::OK),
    ] {
        let mut headers = vec![("cookie", cookie.as_str())];
        headers.extend(origin.map(|o| ("origin", o)));
        let moved = call(server.addr, "POST", "/_cdnsim/clock", &headers, advance).await;
        assert_eq!(moved.status, status, "{origin:?}: {}", moved.body);
    }
    let sheet = call(server.addr, "GET", "/_cdnsim/ui/app.css", &[], "").await;
    assert_eq!(
        sheet.status,
        StatusCode::UNAUTHORIZED,
        "every part of the page needs it"
    );

    let read = "/?Action=DescribeRefreshTasks&Format=JSON";
    assert_ne!(
        call(server.addr, "GET", read, &[], "").await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(server.addr, "GET", read, &with, "").await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(server.addr, "GET", read, &bearer, "").await.status,
        StatusCode::OK
    );
    let write = "/?Action=RefreshObjectCaches&Format=JSON&ObjectPath=http%3A%2F%2Fstatic.example.com%2Fa.js";
    let refused = call(server.addr, "GET", write, &with, "").await;
    assert_ne!(
        refused.status,
        StatusCode::OK,
        "a write still needs a signature"
    );
    assert!(
        refused.body.contains("AccessKeyId") || refused.body.contains("Signature"),
        "{}",
        refused.body
    );
    server.stop().await;
}
