//! The web timeline (`/_cdnsim/ui`) in a real browser: headless Chromium driven through
//! WebDriver (chromedriver), against `cdnsim serve` as a user starts it. What the page shows is
//! checked against the other ways of asking: its task table against `cdnsim query` at the same
//! time and filters, a task's history against `cdnsim dump`, and in live mode against the API.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`;
//! `CHROME` and `CHROMEDRIVER` name other binaries). Without them these tests say so and pass,
//! unless `CI` is set: there they fail. Screenshots of every step land in `target/browser/`.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use common::http::{call, listening_addr, scenario_path};

/// How often, and how far apart, a step looks for what it waits for (the browser and the
/// server run on their own; 600 looks 50 ms apart give them half a minute).
const LOOKS: u32 = 600;
const BETWEEN_LOOKS: Duration = Duration::from_millis(50);

/// One browser at a time: two cores do not run three Chromiums well.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A child process killed when dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_path(names: &[&str], env: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Chromedriver and Chromium, or `None` (after saying why) where they are not installed.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let driver = on_path(&["chromedriver"], "CHROMEDRIVER");
    let chrome = on_path(&["chromium", "chromium-browser", "google-chrome"], "CHROME");
    match (driver, chrome) {
        (Some(driver), Some(chrome)) => Some((driver, chrome)),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "the browser tests need chromium and chromedriver: apt-get install chromium chromium-driver"
            )
        }
        _ => {
            eprintln!(
                "SKIPPED: the browser tests need chromium and chromedriver \
                 (apt-get install chromium chromium-driver)"
            );
            None
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A browser session on a chromedriver of its own.
struct Browser {
    client: Client,
    _driver: Kill,
    shots: PathBuf,
    name: &'static str,
    step: u32,
}

impl Browser {
    async fn open(name: &'static str) -> Option<Browser> {
        let (driver, chrome) = tools()?;
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Kill(child);
        let mut looks = 0;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            looks += 1;
            assert!(looks < LOOKS, "chromedriver never listened");
            tokio::time::sleep(BETWEEN_LOOKS).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chrome,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1400,1000"],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a browser session");
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target/")
            .join("browser");
        std::fs::create_dir_all(&shots).expect("target/browser");
        Some(Browser {
            client,
            _driver: driver,
            shots,
            name,
            step: 0,
        })
    }

    /// Saves a screenshot as `target/browser/NAME-NN-WHAT.png`.
    async fn shot(&mut self, what: &str) {
        self.step += 1;
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = self
            .shots
            .join(format!("{}-{:02}-{what}.png", self.name, self.step));
        std::fs::write(&path, png).expect("writes the screenshot");
    }

    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .expect("script runs")
    }

    /// Runs `script` until it returns something truthy, and returns that; fails with the
    /// last value (and a screenshot) when the page never gets there.
    async fn until(&mut self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let mut looks = 0;
        loop {
            let value = self.js(script, args.clone()).await;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0);
            if truthy {
                return value;
            }
            looks += 1;
            if looks >= LOOKS {
                self.shot("timeout").await;
                panic!("the page never showed {what}: last {value}");
            }
            tokio::time::sleep(BETWEEN_LOOKS).await;
        }
    }

    /// Moves the scrubber as a drag would, to `fraction` of its range: the time it was set to
    /// and the time the page then shows.
    async fn scrub(&self, fraction: f64) -> (Value, Value) {
        let shown = self
            .js(
                "const s = document.getElementById('scrubber'); \
                 s.value = String(Number(s.min) + Math.round((Number(s.max) - Number(s.min)) * arguments[0])); \
                 s.dispatchEvent(new Event('input', {bubbles: true})); \
                 s.dispatchEvent(new Event('change', {bubbles: true})); \
                 return [new Date(Number(s.value)).toISOString(), document.getElementById('replay-time').value];",
                vec![json!(fraction)],
            )
            .await;
        (shown[0].clone(), shown[1].clone())
    }

    /// Forgets which answer the table shows, so that the next `table` waits for a new one.
    async fn forget_table(&self) {
        self.js(
            "delete document.getElementById('tasks').dataset.at;",
            vec![],
        )
        .await;
    }

    /// The task table once it shows the answer as of `at` for a query containing `needle`.
    async fn table(&mut self, at: &str, needle: &str) -> Table {
        let value = self
            .until(
                &format!("the table as of {at} with {needle}"),
                TABLE_JS,
                vec![json!(at), json!(needle)],
            )
            .await;
        serde_json::from_value(value).expect("a table")
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .expect("clicks");
    }

    async fn choose(&self, select: &str, value: &str) {
        self.client
            .find(Locator::Css(select))
            .await
            .expect(select)
            .select_by_value(value)
            .await
            .expect("selects");
    }

    /// Types `text` into an input (after clearing it) and presses Enter.
    async fn type_in(&self, css: &str, text: &str) {
        let input = self.client.find(Locator::Css(css)).await.expect(css);
        input.clear().await.expect("clears");
        input
            .send_keys(&format!("{text}\u{E007}"))
            .await
            .expect("types");
    }
}

/// What the task table shows, read from the page.
#[derive(Debug, serde::Deserialize)]
struct Table {
    total: String,
    rows: Vec<Vec<String>>,
}

/// Returns the table when its `data-at` is arguments[0] and its query contains arguments[1].
const TABLE_JS: &str = r#"
const t = document.getElementById("tasks");
if (t.dataset.at !== arguments[0] || !(t.dataset.query || "").includes(arguments[1])) return null;
if (t.dataset.error) return null;
return {
  total: document.getElementById("total").textContent,
  rows: [...t.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent)),
};
"#;

/// What `cdnsim query LOG --at AT PARAMS` answers, as the table's cells and TotalCount.
fn query_table(log: &Path, at: &str, params: &[&str]) -> (String, Vec<Vec<String>>) {
    let out = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .arg("query")
        .arg(log)
        .args(["--at", at, "Format=JSON"])
        .args(params)
        .output()
        .expect("query runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    table_of(&serde_json::from_slice(&out.stdout).expect("JSON"))
}

/// A DescribeRefreshTasks answer as the page's table shows it: (TotalCount, cells).
fn table_of(answer: &Value) -> (String, Vec<Vec<String>>) {
    const COLUMNS: [&str; 7] = [
        "TaskId",
        "ObjectPath",
        "ObjectType",
        "Status",
        "Process",
        "CreationTime",
        "Description",
    ];
    let rows = answer["Tasks"]["CDNTask"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            COLUMNS
                .iter()
                .map(|k| t[*k].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .collect();
    (answer["TotalCount"].to_string(), rows)
}

fn assert_same(page: &Table, expected: &(String, Vec<Vec<String>>), what: &str) {
    assert_eq!(page.total, expected.0, "{what}: TotalCount");
    assert_eq!(page.rows, expected.1, "{what}: rows");
}

/// `cdnsim serve ARGS --addr 127.0.0.1:0`, and its address.
fn serve(args: &[&str]) -> (Kill, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .arg("serve")
        .args(args)
        .args(["--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let addr = listening_addr(&mut child);
    (Kill(child), addr)
}

fn simulate(scenario: &Path, log: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .arg("simulate")
        .arg(scenario)
        .arg("-o")
        .arg(log)
        .arg("--quiet")
        .stdout(Stdio::null())
        .status()
        .expect("simulate runs");
    assert!(status.success());
}

/// The rows of `cdnsim dump` for one row: (at, status, reason).
fn dumped_transitions(log: &Path, row: u64) -> Vec<(String, String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .arg("dump")
        .arg(log)
        .output()
        .expect("dump runs");
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .filter(|e| e["row"].as_u64() == Some(row))
        .map(|e| {
            let status = match e["type"].as_str() {
                Some("Created") => "Pending",
                Some("Progressed") => "Refreshing",
                Some("Completed") => "Complete",
                Some("Failed") => "Failed",
                other => panic!("a task event, not {other:?}"),
            };
            let at = e["at"].as_str().expect("at").to_owned();
            let reason = e["reason"].as_str().unwrap_or("").to_owned();
            (at, status.to_owned(), reason)
        })
        .collect()
}

/// Against `serve --log` of a scenario with an incident: the table equals `cdnsim query` at
/// the clock, at a typed time, at a scrubbed time, filtered and paged; a task's history equals
/// `cdnsim dump`; the chart marks the incident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_what_query_and_dump_show() {
    let _one = ONE_BROWSER.lock().await;
    let Some(mut b) = Browser::open("log").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("outage.cdnlog");
    let scenario = scenario_path("outage.toml");
    simulate(&scenario, &log);
    let (_server, addr) = serve(&[
        "--log",
        log.to_str().expect("UTF-8"),
        "--scenario",
        scenario.to_str().expect("UTF-8"),
    ]);
    b.client
        .goto(&format!("http://{addr}/_cdnsim/ui"))
        .await
        .expect("opens the page");

    // At first the page follows the clock: the log's last event.
    let clock = b.until("the clock", CLOCK_SHOWN_JS, vec![]).await;
    let clock = clock.as_str().expect("a time").to_owned();
    let page = b.table(&clock, "PageNumber=1").await;
    assert_same(&page, &query_table(&log, &clock, &[]), "at the clock");
    let marks = b
        .js(
            "return [document.querySelectorAll('#chart rect.incident').length, \
                    document.querySelectorAll('#chart rect.complete').length];",
            vec![],
        )
        .await;
    assert_eq!(marks[0], 1, "the incident window is marked");
    assert!(marks[1].as_u64() > Some(100), "bars: {marks}");
    b.shot("at-the-clock").await;

    // A typed time, inside the incident.
    let typed = "2026-11-11T11:30:00.250Z";
    b.forget_table().await;
    b.type_in("#replay-time", typed).await;
    let page = b.table(typed, "PageNumber=1").await;
    assert_same(&page, &query_table(&log, typed, &[]), "at a typed time");
    assert_eq!(
        b.js("return document.getElementById('follow').checked;", vec![])
            .await,
        false,
        "a typed time stops following the clock"
    );

    // The scrubber, moved as a drag would, to 60% of its range.
    b.forget_table().await;
    let (scrubbed, _) = b.scrub(0.6).await;
    let scrubbed = scrubbed.as_str().expect("a time").to_owned();
    let page = b.table(&scrubbed, "PageNumber=1").await;
    assert_same(
        &page,
        &query_table(&log, &scrubbed, &[]),
        "at a scrubbed time",
    );
    assert_eq!(
        b.js(
            "return document.getElementById('replay-time').value;",
            vec![]
        )
        .await,
        json!(scrubbed)
    );
    b.shot("scrubbed").await;

    // Filters: a type (the API wants one with a status or a domain), a status, a domain; then
    // the second page.
    b.forget_table().await;
    b.type_in("#replay-time", typed).await;
    b.forget_table().await;
    b.choose("#f-type", "file").await;
    let page = b.table(typed, "ObjectType=file").await;
    assert_same(
        &page,
        &query_table(&log, typed, &["ObjectType=file"]),
        "files",
    );
    b.forget_table().await;
    b.choose("#f-status", "Failed").await;
    let page = b.table(typed, "Status=Failed").await;
    let failed = ["ObjectType=file", "Status=Failed"];
    assert_same(&page, &query_table(&log, typed, &failed), "failed files");
    assert!(!page.rows.is_empty(), "the incident failed rows");
    let domain = page.rows[0][1]
        .split('/')
        .nth(2)
        .expect("a host")
        .to_owned();
    b.forget_table().await;
    b.choose("#f-domain", &domain).await;
    let needle = format!("DomainName={domain}");
    let page = b.table(typed, &needle).await;
    let filters = [
        format!("DomainName={domain}"),
        "ObjectType=file".to_owned(),
        "Status=Failed".to_owned(),
    ];
    let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
    assert_same(
        &page,
        &query_table(&log, typed, &filters),
        "failed files of one domain",
    );
    b.shot("filtered").await;
    if page.total.parse::<u64>().expect("a count") > 20 {
        b.forget_table().await;
        b.click("#next").await;
        let page = b.table(typed, "PageNumber=2").await;
        let mut second = filters.clone();
        second.push("PageNumber=2");
        assert_same(&page, &query_table(&log, typed, &second), "page 2");
    }

    // A task's history: every transition of its row, as `cdnsim dump` has them.
    b.click("#tasks tbody tr").await;
    let history = b
        .until(
            "a history",
            "const h = document.getElementById('history'); \
             if (!h.dataset.task || h.dataset.at !== arguments[0]) return null; \
             return [...h.querySelectorAll('.history-row')].map((r) => ({ row: Number(r.dataset.row), \
               steps: [...r.querySelectorAll('tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent)) }));",
            vec![json!(typed)],
        )
        .await;
    // Every row of that TaskId with that path (a path sent twice in one task is two rows).
    let rows = history.as_array().expect("rows");
    assert!(!rows.is_empty(), "a history: {history}");
    let mut ended_failed = false;
    for shown in rows {
        let row = shown["row"].as_u64().expect("a row");
        let steps: Vec<(String, String, String)> = shown["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| {
                let cell = |i: usize| s[i].as_str().expect("a cell").to_owned();
                (cell(0), cell(1), cell(3))
            })
            .collect();
        let dumped: Vec<_> = dumped_transitions(&log, row)
            .into_iter()
            .filter(|(at, _, _)| at.as_str() <= typed)
            .collect();
        assert_eq!(steps, dumped, "the history of row {row}");
        ended_failed |= steps.last().is_some_and(|s| s.1 == "Failed");
    }
    assert!(ended_failed, "the clicked row failed: {history}");
    b.shot("history").await;

    // A time that is not one says so and leaves the table alone.
    b.type_in("#replay-time", "yesterday").await;
    let problem = b
        .until(
            "the time's problem",
            "return document.getElementById('time-problem').textContent;",
            vec![],
        )
        .await;
    assert!(
        problem
            .as_str()
            .is_some_and(|p| p.contains("not an RFC 3339 time")),
        "{problem}"
    );
    let table = b
        .js(
            "return document.getElementById('tasks').dataset.at;",
            vec![],
        )
        .await;
    assert_eq!(table, json!(typed), "a bad time leaves the table alone");
    b.client.clone().close().await.expect("closes");
}

/// What the API answers for the page's first table, as of `at`: (TotalCount, cells).
async fn api_table(addr: SocketAddr, at: &str) -> (String, Vec<Vec<String>>) {
    let answer = call(
        addr,
        "GET",
        "/?Action=DescribeRefreshTasks&Format=JSON&PageNumber=1&PageSize=20",
        &[("x-cdnsim-replay-time", at)],
        "",
    )
    .await;
    assert_eq!(answer.status, hyper::StatusCode::OK, "{}", answer.body);
    table_of(&answer.json())
}

/// The clock the page shows, once it shows one.
const CLOCK_SHOWN_JS: &str = "const t = document.getElementById('clock-now').textContent; return t.includes('T') ? t : null;";

const CLOCK_JS: &str = "return document.getElementById('clock-now').textContent === arguments[0];";

/// Live mode: the page follows the clock when its own buttons move it, when another client
/// moves it, and when it runs by itself (`--clock live`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_follows_a_moving_clock() {
    let _one = ONE_BROWSER.lock().await;
    let Some(mut b) = Browser::open("live").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = scenario_path("quickstart.toml");
    let scenario = scenario.to_str().expect("UTF-8");
    let data = dir.path().join("data");
    let (_server, addr) = serve(&[
        "--scenario",
        scenario,
        "--data-dir",
        data.to_str().expect("UTF-8"),
    ]);
    b.client
        .goto(&format!("http://{addr}/_cdnsim/ui"))
        .await
        .expect("opens the page");
    let start = "2026-11-01T00:00:00.000Z";
    b.until("the scenario's start", CLOCK_JS, vec![json!(start)])
        .await;
    b.table(start, "PageNumber=1").await;

    // The page's own button.
    b.forget_table().await;
    b.click("#advance button[data-advance='1h']").await;
    let hour = "2026-11-01T01:00:00.000Z";
    b.until("the advanced clock", CLOCK_JS, vec![json!(hour)])
        .await;
    let page = b.table(hour, "PageNumber=1").await;
    assert_same(&page, &api_table(addr, hour).await, "after +1 h");
    assert!(!page.rows.is_empty(), "the first hour has rows");
    b.shot("advanced").await;

    // Another client moves the clock: the page follows within a poll.
    let moved = call(
        addr,
        "POST",
        "/_cdnsim/clock",
        &[],
        r#"{"advance":"1h 30m"}"#,
    )
    .await;
    assert_eq!(moved.status, hyper::StatusCode::OK, "{}", moved.body);
    let later = "2026-11-01T02:30:00.000Z";
    b.until("the clock moved elsewhere", CLOCK_JS, vec![json!(later)])
        .await;
    let page = b.table(later, "PageNumber=1").await;
    assert_same(
        &page,
        &api_table(addr, later).await,
        "after another client's move",
    );
    let bars = b
        .js(
            "return document.querySelectorAll('#chart rect.complete').length;",
            vec![],
        )
        .await;
    assert!(bars.as_u64() > Some(10), "the chart grew: {bars}");
    b.shot("followed").await;

    // The scrubber spans the scenario; dragged past the clock it stops at the clock.
    b.forget_table().await;
    let (_, stopped) = b.scrub(0.9).await;
    assert_eq!(stopped, json!(later), "the scrubber stops at the clock");
    b.table(later, "PageNumber=1").await;

    // A live clock: no advance buttons, and the page keeps up as it runs.
    let live_data = dir.path().join("live");
    let (_live, live_addr) = serve(&[
        "--scenario",
        scenario,
        "--data-dir",
        live_data.to_str().expect("UTF-8"),
        "--clock",
        "live",
        "--speed",
        "3600",
    ]);
    b.client
        .goto(&format!("http://{live_addr}/_cdnsim/ui"))
        .await
        .expect("opens the page");
    let first = b.until("a live clock", CLOCK_SHOWN_JS, vec![]).await;
    let hidden = b
        .js("return document.getElementById('advance').hidden;", vec![])
        .await;
    assert_eq!(hidden, json!(true), "no advance buttons on a live clock");
    let next = b
        .until(
            "the clock moving by itself, and the table with it",
            "const t = document.getElementById('clock-now').textContent; \
             const at = document.getElementById('tasks').dataset.at; \
             return t !== arguments[0] && at === t ? t : null;",
            vec![first.clone()],
        )
        .await;
    assert!(next.as_str() > first.as_str(), "{first} then {next}");
    b.shot("live").await;
    b.client.clone().close().await.expect("closes");
}

/// With `--admin-token`, the page asks for the token, refuses a wrong one, and with the right
/// one shows everything — even the API's table when the API checks signatures, since the
/// token stands in for one on reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_token_guards_the_page() {
    let _one = ONE_BROWSER.lock().await;
    let Some(mut b) = Browser::open("token").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("ci.cdnlog");
    simulate(&scenario_path("ci-replay.toml"), &log);
    let (_server, addr) = serve(&[
        "--log",
        log.to_str().expect("UTF-8"),
        "--admin-token",
        "s3cret-token",
        "--access-key",
        "testid:testsecret",
    ]);
    // Without the token: the page is a sign-in form, its parts and JSON are 401.
    let page = call(addr, "GET", "/_cdnsim/ui", &[], "").await;
    assert_eq!(page.status, hyper::StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("name=\"token\""), "{}", page.body);
    for path in ["/_cdnsim/ui/app.js", "/_cdnsim/stats", "/_cdnsim/scenario"] {
        let answer = call(addr, "GET", path, &[], "").await;
        assert_eq!(answer.status, hyper::StatusCode::UNAUTHORIZED, "{path}");
    }
    let unsigned = call(
        addr,
        "GET",
        "/?Action=DescribeRefreshTasks&Format=JSON",
        &[("x-cdnsim-observer", "1")],
        "",
    )
    .await;
    assert_ne!(
        unsigned.status,
        hyper::StatusCode::OK,
        "an unsigned read without the token"
    );

    b.client
        .goto(&format!("http://{addr}/_cdnsim/ui"))
        .await
        .expect("opens the page");
    b.type_in("#token", "wrong").await;
    b.until(
        "the refusal",
        "return document.body.textContent.includes(\"not this server's admin token\");",
        vec![],
    )
    .await;
    b.shot("refused").await;
    b.type_in("#token", "s3cret-token").await;
    let clock = b
        .until(
            "the page",
            "const c = document.getElementById('clock-now'); return c && c.textContent.includes('T') ? c.textContent : null;",
            vec![],
        )
        .await;
    let clock = clock.as_str().expect("a time").to_owned();
    let page = b.table(&clock, "PageNumber=1").await;
    assert_same(&page, &query_table(&log, &clock, &[]), "signed in");
    assert!(!page.rows.is_empty());
    b.shot("signed-in").await;
    b.client.clone().close().await.expect("closes");
}
