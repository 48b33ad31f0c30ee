//! A property test of the data directory: random clock moves (the end of the timeline and
//! past it included), writes, restarts, torn tails and damaged bytes against one data
//! directory. After every restart that starts, every acknowledged row is there and no write
//! is there in part; a restart either starts or refuses naming the damage.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use cdnsim::scenario::Scenario;
use cdnsim::server::{Config, Server, Source};
use common::http::*;
use hyper::StatusCode;
use proptest::prelude::*;

const SCENARIO: &str = r#"
seed = 11
start = "2026-11-20T00:00:00Z"
duration = "1d"

[[domain]]
name = "a.example.com"

[[workload]]
name = "background"
rate_per_hour = 30
urls_per_submission = { min = 1, max = 3 }

[lifecycle]
queue_delay = "1s"
progress_steps = 2

[lifecycle.processing]
file = "10s"

[quotas]
url = 40
"#;

#[derive(Debug, Clone)]
enum Op {
    /// Move the clock forward by this many ms (some past the end of the timeline).
    Advance(i64),
    /// Move the clock to the timeline's last moment.
    ToEnd,
    /// Submit this many new paths in one write.
    Write(usize),
    /// Stop cleanly and start again.
    Restart,
    /// Stop, append this many bytes of garbage (a torn write past the synced part), start.
    TearTail(usize),
    /// Stop, flip a byte at this fraction of the synced records, start: refused.
    Flip(f64),
    /// Stop, append a write's batch of this many rows and cut its last frame (a crash in the
    /// middle of a write), start: nothing of it.
    PartialBatch(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::sample::select(vec![1_000i64, 3_600_000, 30 * 86_400_000, 1_000_000_000_000_000])
            .prop_map(Op::Advance),
        1 => Just(Op::ToEnd),
        5 => (1usize..=4).prop_map(Op::Write),
        2 => Just(Op::Restart),
        1 => (1usize..=40).prop_map(Op::TearTail),
        1 => (0.0f64..1.0).prop_map(Op::Flip),
        1 => (2usize..=4).prop_map(Op::PartialBatch),
    ]
}

fn config(dir: &Path) -> Config {
    let path = dir.join("s.toml");
    std::fs::write(&path, SCENARIO).expect("scenario");
    let mut config = Config::new(Source::Scenario {
        scenario: Box::new(Scenario::load(&path).expect("valid")),
        data_dir: dir.join("data"),
        fresh: false,
    });
    config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config
}

/// A write: its paths and the clock when it was made.
type Write = (Vec<String>, String);

/// Rows of `path` as of `at` (inside the 3-day window of that moment).
async fn count(server: &Running, path: &str, at: &str) -> u64 {
    let query = format!(
        "/?Action=DescribeRefreshTasks&Format=JSON&PageSize=1&ObjectPath={}",
        cdnsim::api::encoding::encode(path)
    );
    let req = hyper::Request::get(server.url(&query))
        .header("host", server.addr.to_string())
        .header("x-cdnsim-replay-time", at)
        .body(http_body_util::Full::default())
        .expect("request");
    let answer = send(server.addr, req).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.json()["TotalCount"].as_u64().expect("a count")
}

/// Every acknowledged write whole, and nothing of any refused one.
async fn check(server: &Running, acknowledged: &[Write], refused: &[Write]) {
    for (paths, at) in acknowledged {
        for path in paths {
            assert_eq!(
                count(server, path, at).await,
                1,
                "acknowledged {path} at {at}"
            );
        }
    }
    for (paths, at) in refused {
        for path in paths {
            assert_eq!(count(server, path, at).await, 0, "refused {path} at {at}");
        }
    }
}

/// Appends a batch of `rows` API rows at the log's end and cuts its last frame off.
fn partial_batch(log: &Path, path: &str, rows: usize) {
    use cdnsim::event::{Event, ObjectType, Source, TaskId};
    let (mut writer, _) = cdnsim::log::LogWriter::open_append(log).expect("reopens");
    let at = writer.last_ms().unwrap_or(0);
    let event = Event::Created {
        row: 0,
        task_id: TaskId(1),
        domain: "a.example.com".into(),
        object_path: path.into(),
        object_type: ObjectType::File,
        source: Source::Api,
    };
    let batch = vec![(at, event); rows];
    writer.append_batch(&batch).expect("appends");
    writer.flush().expect("flushes");
    drop(writer);
    let bytes = std::fs::read(log).expect("read");
    let last = *common::frame_offsets(&bytes).last().expect("frames");
    std::fs::write(log, &bytes[..last]).expect("a crash cuts the last frame");
}

async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("data").join("events.cdnlog");
    let mut server = Running::start(config(dir.path())).await;
    let (mut acknowledged, mut refused) = (Vec::new(), Vec::new());
    for (i, op) in ops.into_iter().enumerate() {
        match op {
            Op::Advance(ms) => {
                let before = get(&server, "/_cdnsim/clock").await.json()["now"].clone();
                let secs = ms / 1000;
                let answer = move_clock(&server, &format!(r#"{{"advance":"{secs}s"}}"#)).await;
                match answer.status {
                    StatusCode::OK => {}
                    StatusCode::BAD_REQUEST => {
                        assert!(
                            answer.body.contains("end of the timeline"),
                            "{}",
                            answer.body
                        );
                        let now = get(&server, "/_cdnsim/clock").await.json()["now"].clone();
                        assert_eq!(now, before, "a refused move leaves the clock");
                    }
                    other => panic!("advance {ms}: {other}: {}", answer.body),
                }
            }
            Op::ToEnd => {
                let answer = move_clock(&server, r#"{"to":"9999-12-31T23:59:59.999Z"}"#).await;
                assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            }
            Op::Write(n) => {
                let paths: Vec<String> = (0..n)
                    .map(|j| format!("http://a.example.com/op{i}/{j}"))
                    .collect();
                let clock = get(&server, "/_cdnsim/clock").await.json();
                let at = clock["now"].as_str().expect("a time").to_owned();
                let body = format!(
                    "Format=JSON&ObjectPath={}",
                    cdnsim::api::encoding::encode(&paths.join("\n"))
                );
                let answer = post(
                    &server,
                    "/?Action=RefreshObjectCaches",
                    "application/x-www-form-urlencoded",
                    &body,
                )
                .await;
                match answer.status {
                    StatusCode::OK => acknowledged.push((paths, at)),
                    // The daily quota: refused whole.
                    StatusCode::BAD_REQUEST => {
                        assert!(answer.body.contains("QuotaExceeded"), "{}", answer.body);
                        refused.push((paths, at));
                    }
                    other => panic!("write: {other}: {}", answer.body),
                }
            }
            Op::Restart | Op::TearTail(_) | Op::Flip(_) | Op::PartialBatch(_) => {
                server.stop().await;
                if let Op::PartialBatch(rows) = op {
                    let torn = format!("http://a.example.com/torn{i}");
                    partial_batch(&log, &torn, rows);
                    server = Running::start(config(dir.path())).await;
                    let now = get(&server, "/_cdnsim/clock").await.json()["now"].clone();
                    let now = now.as_str().expect("a time");
                    assert_eq!(
                        count(&server, &torn, now).await,
                        0,
                        "a torn write is cut whole"
                    );
                    check(&server, &acknowledged, &refused).await;
                    continue;
                }
                if let Op::TearTail(n) = op {
                    let mut bytes = std::fs::read(&log).expect("read");
                    bytes.extend((0..n).map(|k| (k * 37 + 11) as u8));
                    std::fs::write(&log, bytes).expect("write");
                }
                if let Op::Flip(at) = op {
                    let synced = cdnsim::log::read_synced(&log)
                        .expect("reads")
                        .expect("a checkpoint");
                    let header = cdnsim::log::HEADER_LEN as u64;
                    if synced.len > header {
                        let offset = header + ((synced.len - header) as f64 * at) as u64;
                        let mut bytes = std::fs::read(&log).expect("read");
                        bytes[offset as usize] ^= 0x20;
                        std::fs::write(&log, bytes).expect("write");
                        let refused = Server::bind(config(dir.path())).await;
                        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
                        assert!(
                            message.contains("byte offset"),
                            "flip at {offset}: {message}"
                        );
                        return;
                    }
                }
                server = Running::start(config(dir.path())).await;
                check(&server, &acknowledged, &refused).await;
            }
        }
    }
    server.stop().await;
    let server = Running::start(config(dir.path())).await;
    check(&server, &acknowledged, &refused).await;
    server.stop().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_data_directory_survives_anything(ops in prop::collection::vec(op(), 1..14)) {
        common::block_on(run(ops));
    }
}
