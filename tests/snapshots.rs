//! Snapshots: a restart from one gives the log and the answers a full re-run gives (a
//! property test of clock moves, writes, rules and restarts against a server that never
//! restarts); a damaged, foreign, cut or future-version snapshot is ignored; a snapshot older
//! than a torn tail is used and the tail re-run; `--verify-full` catches a divergence that a
//! snapshot re-tied to a changed log would hide.

mod common;

use std::path::{Path, PathBuf};

use cdnsim::server::{Config, Server, Snapshots};
use common::http::*;
use hyper::StatusCode;
use proptest::prelude::*;

const SCENARIO: &str = r#"
seed = 5
start = "2026-11-20T00:00:00Z"
duration = "6h"

[[domain]]
name = "a.example.com"

[[domain]]
name = "b.example.com"

[[workload]]
name = "background"
rate_per_hour = 240
urls_per_submission = { min = 1, max = 4 }
mix = { file = 0.8, directory = 0.1, preload = 0.1 }
paths = { count = 500, zipf_exponent = 1.0, prefix = "/bg" }

[failures]
internal_error = 0.05

[[rule]]
name = "flaky"
match = { domain = "b.example.com" }
outcome = "failed"
reason = "origin_timeout"
probability = 0.5
"#;

/// A server of [`SCENARIO`] (or `seed` instead of its seed) in `dir`, snapshotting every
/// `every` records.
fn config(dir: &Path, every: u64, verify_full: bool, seed: u64) -> Config {
    let text = SCENARIO.replace("seed = 5", &format!("seed = {seed}"));
    let mut config = text_config(dir, &text);
    config.snapshots = Snapshots { every, verify_full };
    config
}

fn log(dir: &Path) -> PathBuf {
    dir.join("events.cdnlog")
}

/// The snapshot files, oldest first.
fn snapshots(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join("snapshots"))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    found.retain(|p| p.extension().is_some_and(|e| e == "cdnsnap"));
    found.sort();
    found
}

/// The records the newest snapshot covers (from its name).
fn records_of(snapshot: &Path) -> u64 {
    let name = snapshot.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    name.trim_start_matches("snap-")
        .parse()
        .expect("a snapshot name")
}

/// What the server says it started from.
async fn restored_from(server: &Running) -> Option<u64> {
    get(server, "/_cdnsim/health").await.json()["restored_from_snapshot"].as_u64()
}

#[derive(Debug, Clone)]
enum Op {
    /// Move the clock forward this many seconds.
    Advance(u64),
    /// Submit this many paths on a domain (0 or 1) in one write.
    Write(usize, usize),
    /// Add a lifecycle rule with a probability (its draws are state to restore).
    Rule,
    /// Stop cleanly and start again; with `true`, drop the newest snapshot first, so the
    /// restart re-runs the records after the one before it.
    Restart(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::sample::select(vec![1u64, 30, 600, 3_600]).prop_map(Op::Advance),
        4 => (1usize..=5, 0usize..=1).prop_map(|(n, d)| Op::Write(n, d)),
        1 => Just(Op::Rule),
        3 => any::<bool>().prop_map(Op::Restart),
    ]
}

/// Does `op` (the `i`-th) on `server`; the clock after it.
async fn apply(server: &Running, i: usize, op: &Op) -> String {
    match op {
        Op::Advance(s) => {
            let answer = move_clock(server, &format!(r#"{{"advance":"{s}s"}}"#)).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        }
        Op::Write(n, d) => {
            let domain = ["a", "b"][*d];
            let paths: Vec<String> = (0..*n)
                .map(|j| format!("http://{domain}.example.com/op{i}/{j}.js"))
                .collect();
            let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
            let answer = refresh(server, &paths, "").await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        }
        Op::Rule => {
            let rule = format!(
                r#"{{"name":"r{i}","match":{{"domain":"a.example.com"}},"outcome":"failed","reason":"origin_5xx","probability":0.3}}"#
            );
            let answer = add_rule(server, &rule).await;
            assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        }
        Op::Restart(_) => {}
    }
    get(server, "/_cdnsim/clock").await.json()["now"]
        .as_str()
        .expect("a time")
        .to_owned()
}

/// Answers that depend on all of the state: pages of tasks at several times, quotas, rules.
async fn answers(server: &Running, now: &str) -> Vec<String> {
    // A restarted server's clock is at its log's last event: bring it to `now`.
    let answer = move_clock(server, &format!(r#"{{"to":"{now}"}}"#)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let mut out = Vec::new();
    let clock = cdnsim::time::parse_rfc3339(now);
    let times = [
        now,
        "2026-11-20T00:20:00Z",
        "2026-11-20T01:00:00Z",
        "2026-11-20T03:30:00Z",
    ];
    let times = times
        .into_iter()
        .filter(|t| cdnsim::time::parse_rfc3339(t) <= clock);
    for at in times {
        for query in [
            "/?Action=DescribeRefreshTasks&Format=JSON&PageSize=100",
            "/?Action=DescribeRefreshTasks&Format=JSON&PageSize=50&PageNumber=2&Status=Complete&ObjectType=file",
            "/?Action=DescribeRefreshTasks&Format=JSON&DomainName=b.example.com&ObjectType=file&PageSize=100",
            "/?Action=DescribeRefreshQuota&Format=JSON",
        ] {
            let req = hyper::Request::get(server.url(query))
                .header("host", server.addr.to_string())
                .header("x-cdnsim-replay-time", at)
                .body(http_body_util::Full::default())
                .expect("request");
            let answer = send(server.addr, req).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            out.push(answer.body);
        }
    }
    out.push(get(server, "/_cdnsim/rules").await.body);
    out
}

/// The same ops on a server that restarts from snapshots (every 40 records) and on one that
/// takes none and restarts with `--verify-full` (re-running its whole log): the same clock
/// after every op, the same log, byte for byte, and the same answers — and a start with
/// `--verify-full` of the first one's directory agrees too.
async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (snap, straight) = (dir.path().join("snap"), dir.path().join("straight"));
    let mut a = Running::start(config(&snap, 40, false, 5)).await;
    let mut b = Running::start(config(&straight, 0, true, 5)).await;
    let mut now = "2026-11-20T00:00:00Z".to_owned();
    let mut restored = 0;
    for (i, op) in ops.iter().enumerate() {
        if let Op::Restart(drop_newest) = op {
            b.stop().await;
            b = Running::start(config(&straight, 0, true, 5)).await;
            a.stop().await;
            let found = snapshots(&snap);
            if *drop_newest && let Some(newest) = found.last() {
                std::fs::remove_file(newest).expect("removes");
            }
            let expected = snapshots(&snap).last().map(|p| records_of(p));
            a = Running::start(config(&snap, 40, false, 5)).await;
            assert_eq!(
                restored_from(&a).await,
                expected,
                "op {i}: the newest snapshot used"
            );
            restored += usize::from(expected.is_some());
        }
        let after = apply(&a, i, op).await;
        assert_eq!(apply(&b, i, op).await, after, "op {i}: the clocks differ");
        now = after;
    }
    let (got, want) = (answers(&a, &now).await, answers(&b, &now).await);
    assert!(
        got == want,
        "answers differ after {restored} restarts from snapshots"
    );
    a.stop().await;
    b.stop().await;
    let (got_log, want_log) = (std::fs::read(log(&snap)), std::fs::read(log(&straight)));
    assert!(
        got_log.expect("a log") == want_log.expect("a log"),
        "the logs differ"
    );
    let full = Running::start(config(&snap, 40, true, 5)).await;
    assert_eq!(
        restored_from(&full).await,
        None,
        "--verify-full re-runs the whole log"
    );
    assert!(
        answers(&full, &now).await == want,
        "a full re-run answers alike"
    );
    full.stop().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn restarts_from_snapshots_are_full_re_runs(ops in prop::collection::vec(op(), 2..16)) {
        common::block_on(run(ops));
    }
}

/// A data directory with a log of a few hundred records and two snapshots (the newest at the
/// log's end, from the clean stop); the clock it stopped at.
async fn prepared(dir: &Path, seed: u64) -> String {
    prepared_as(dir, seed, "w").await
}

/// [`prepared`], the paths written named after `name`.
async fn prepared_as(dir: &Path, seed: u64, name: &str) -> String {
    let server = Running::start(config(dir, 150, false, seed)).await;
    for (i, s) in [(0, 1_800), (1, 3_600), (2, 900)] {
        let answer = move_clock(&server, &format!(r#"{{"advance":"{s}s"}}"#)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let path = format!("http://a.example.com/{name}{i}.js");
        assert_eq!(refresh(&server, &[&path], "").await.status, StatusCode::OK);
    }
    let now = get(&server, "/_cdnsim/clock").await.json()["now"]
        .as_str()
        .expect("a time")
        .to_owned();
    server.stop().await;
    assert_eq!(snapshots(dir).len(), 2, "the newest two are kept");
    now
}

/// The answers of the data directory at `dir` restarted with snapshots, what it restored
/// from, and the answers of a full re-run.
async fn restart_both(dir: &Path, now: &str) -> (Vec<String>, Option<u64>, Vec<String>) {
    let server = Running::start(config(dir, 0, false, 5)).await;
    let restored = restored_from(&server).await;
    let got = answers(&server, now).await;
    server.stop().await;
    let full = Running::start(config(dir, 0, true, 5)).await;
    let want = answers(&full, now).await;
    full.stop().await;
    (got, restored, want)
}

#[test]
fn a_damaged_or_foreign_snapshot_is_ignored() {
    common::block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let now = prepared(&data, 5).await;
        let found = snapshots(&data);
        let (older, newest) = (records_of(&found[0]), found[1].clone());
        let pristine = std::fs::read(&newest).expect("reads");
        let damages: Vec<(&str, Vec<u8>)> = vec![
            ("a byte of its body", {
                let mut b = pristine.clone();
                let at = b.len() / 2;
                b[at] ^= 0x01;
                b
            }),
            ("cut short", pristine[..pristine.len() - 10].to_vec()),
            ("a byte of its header", {
                let mut b = pristine.clone();
                b[60] ^= 0x01;
                b
            }),
            ("a future version", {
                let mut b = pristine.clone();
                b[8] = 99;
                let crc = crc32c::crc32c(&b[0..92]);
                b[92..96].copy_from_slice(&crc.to_le_bytes());
                b
            }),
            ("not a snapshot", b"hello".to_vec()),
        ];
        for (what, bytes) in damages {
            std::fs::write(&newest, &bytes).expect("writes");
            let (got, restored, want) = restart_both(&data, &now).await;
            assert_eq!(restored, Some(older), "{what}: the older snapshot is used");
            assert!(got == want, "{what}: answers as a full re-run does");
        }
        // Another seed's snapshot, named as the newest: never trusted.
        std::fs::write(&newest, &pristine).expect("writes");
        let other = dir.path().join("other");
        prepared(&other, 6).await;
        let foreign = snapshots(&other).pop().expect("a snapshot");
        let planted = data
            .join("snapshots")
            .join("snap-09999999999999999999.cdnsnap");
        std::fs::copy(&foreign, &planted).expect("copies");
        let (got, restored, want) = restart_both(&data, &now).await;
        assert_eq!(
            restored,
            Some(records_of(&newest)),
            "the foreign one is passed over"
        );
        assert!(got == want);
        // The same scenario and seed with other writes: a log that differs from this one
        // after the first write, so its snapshots are never this log's.
        let twin = dir.path().join("twin");
        prepared_as(&twin, 5, "v").await;
        let theirs = snapshots(&twin).pop().expect("a snapshot");
        std::fs::copy(&theirs, &planted).expect("copies");
        let (got, restored, want) = restart_both(&data, &now).await;
        assert_eq!(
            restored,
            Some(records_of(&newest)),
            "another history's is passed over"
        );
        assert!(got == want);
    });
}

#[test]
fn a_snapshot_older_than_a_torn_tail_is_used() {
    common::block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let now = prepared(&data, 5).await;
        let found = snapshots(&data);
        std::fs::remove_file(&found[1]).expect("removes the newest");
        let older = records_of(&found[0]);
        let mut bytes = std::fs::read(log(&data)).expect("reads");
        let intact = bytes.len();
        bytes.extend((0..23u8).map(|k| k.wrapping_mul(37)));
        std::fs::write(log(&data), &bytes).expect("a torn write at the end");
        let (got, restored, want) = restart_both(&data, &now).await;
        assert_eq!(
            restored,
            Some(older),
            "the snapshot before the tail is used"
        );
        assert!(got == want, "the tail after it is re-run");
        assert_eq!(
            std::fs::read(log(&data)).expect("reads").len(),
            intact,
            "the tail is cut"
        );
    });
}

/// Recomputes the checksum of the frame at `offset` after a change to its payload.
fn refit_frame(bytes: &mut [u8], offset: usize) {
    let field = u32::from_le_bytes(bytes[offset + 4..offset + 8].try_into().expect("4 bytes"));
    let len = (field & !cdnsim::log::MORE_IN_BATCH) as usize;
    let crc = crc32c::crc32c(&bytes[offset + 4..offset + 8 + len]);
    bytes[offset..offset + 4].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn verify_full_catches_a_divergence_a_re_tied_snapshot_hides() {
    common::block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        prepared(&data, 5).await;
        let newest = snapshots(&data).pop().expect("a snapshot");
        // Change one character of a scenario row's path early in the log, keeping the frame
        // valid: the log no longer is what the scenario makes.
        let mut bytes = std::fs::read(log(&data)).expect("reads");
        let offsets = common::frame_offsets(&bytes);
        let (k, at) = offsets
            .iter()
            .enumerate()
            .find_map(|(k, &o)| {
                let frame = &bytes[o..offsets.get(k + 1).copied().unwrap_or(bytes.len())];
                let hit = frame.windows(4).position(|w| w == b"/bg/")?;
                Some((k, o + hit + 4))
            })
            .expect("a scenario row");
        bytes[at] = if bytes[at] == b'9' { b'8' } else { b'9' };
        refit_frame(&mut bytes, offsets[k]);
        std::fs::write(log(&data), &bytes).expect("writes");
        // The snapshot re-tied to the changed log, as a snapshot taken of it would be.
        let mut snap = std::fs::read(&newest).expect("reads");
        let len = u64::from_le_bytes(snap[52..60].try_into().expect("8 bytes")) as usize;
        snap[76..80].copy_from_slice(&crc32c::crc32c(&bytes[..len]).to_le_bytes());
        let crc = crc32c::crc32c(&snap[0..92]);
        snap[92..96].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&newest, &snap).expect("writes");
        for other in snapshots(&data).iter().filter(|p| **p != newest) {
            std::fs::remove_file(other).expect("removes");
        }
        let trusting = Running::start(config(&data, 0, false, 5)).await;
        assert_eq!(restored_from(&trusting).await, Some(records_of(&newest)));
        trusting.stop().await;
        let refused = Server::bind(config(&data, 0, true, 5)).await;
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains(&format!("seq {k}:")) && message.contains("does not reproduce"),
            "--verify-full names the changed record, seq {k}: {message}"
        );
    });
}

#[test]
fn a_reset_removes_the_snapshots_of_the_log_it_moves_aside() {
    common::block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        prepared(&data, 5).await;
        assert_eq!(snapshots(&data).len(), 2);
        let server = Running::start(config(&data, 0, false, 5)).await;
        let answer = post(&server, "/_cdnsim/reset", "application/json", "").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(
            snapshots(&data),
            Vec::<PathBuf>::new(),
            "they went with their log"
        );
        server.stop().await;
    });
}
