//! The log on NATS JetStream (cargo feature `nats`), against a real cluster: a simulated log
//! published and exported is the file byte for byte; two writers racing to create one log,
//! exactly one wins; a stream that is not a log is refused by name.
//!
//! Needs `CDNSIM_NATS_URL` (servers, `nats://HOST:PORT,...`): `.ci/run` starts a 3-node
//! cluster with `tests/nats/cluster.sh` and sets it. Without it these tests say so and pass,
//! unless `CI` is set: there they fail.
#![cfg(feature = "nats")]

mod common;

use cdnsim::log::jetstream::{self, JetStreamError, Target};
use cdnsim::scenario::Scenario;

/// The cluster's servers, or `None` (after saying why) when none is configured.
fn servers() -> Option<String> {
    match std::env::var("CDNSIM_NATS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("the NATS tests need CDNSIM_NATS_URL: .ci/run starts tests/nats/cluster.sh")
        }
        _ => {
            eprintln!("SKIPPED: no NATS cluster (set CDNSIM_NATS_URL; see tests/nats/cluster.sh)");
            None
        }
    }
}

/// A simulation name no other run used (the streams outlive a test run on a shared cluster).
fn unique_sim(what: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = dir
        .path()
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("x")
        .replace(['.', '-'], "_");
    format!("{what}_{name}")
}

fn simulate(name: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let scenario = Scenario::load(&common::http::scenario_path(name)).expect("valid");
    let path = dir.join(format!("{name}.cdnlog"));
    cdnsim::drive::simulate_to_log(scenario, &path, |_| {}).expect("simulates");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_log_exports_byte_for_byte() {
    let Some(servers) = servers() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    // Big enough for many messages (the quickstart log is about 1.3 MB).
    let log = simulate("quickstart.toml", dir.path());
    let target =
        Target::parse(&format!("{servers}/{}", unique_sim("roundtrip"))).expect("a target");
    let published = jetstream::publish(&log, &target).await.expect("publishes");
    assert!(published.messages > 3, "{published:?}");
    let file = std::fs::read(&log).expect("reads");
    assert_eq!(published.bytes, file.len() as u64);

    let copy = dir.path().join("copy.cdnlog");
    let records = jetstream::export(&target, &copy).await.expect("exports");
    assert_eq!(std::fs::read(&copy).expect("reads"), file, "byte for byte");
    let original = cdnsim::log::LogFile::open(&log).expect("opens");
    assert_eq!(records, original.summary().records);

    // The file is not overwritten, and the stream takes no second log.
    let again = jetstream::export(&target, &copy).await;
    assert!(matches!(again, Err(JetStreamError::Log(_))), "{again:?}");
    let second = jetstream::publish(&log, &target).await;
    assert!(
        matches!(second, Err(JetStreamError::Fenced(_))),
        "{second:?}"
    );
}

/// Two writers publish a log to the same new stream at once: the header's fence lets exactly
/// one create it; the other is refused, and the stream holds one whole log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_race_and_exactly_one_wins() {
    let Some(servers) = servers() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let log = simulate("ci-replay.toml", dir.path());
    for round in 0..5 {
        let target = Target::parse(&format!(
            "{servers}/{}",
            unique_sim(&format!("race{round}"))
        ))
        .expect("a target");
        let (a, b) = tokio::join!(
            jetstream::publish(&log, &target),
            jetstream::publish(&log, &target)
        );
        let wins = [a.is_ok(), b.is_ok()].iter().filter(|w| **w).count();
        assert_eq!(wins, 1, "round {round}: {a:?} / {b:?}");
        for lost in [a, b].into_iter().filter_map(Result::err) {
            assert!(matches!(lost, JetStreamError::Fenced(_)), "{lost}");
        }
        let copy = dir.path().join(format!("race{round}.cdnlog"));
        jetstream::export(&target, &copy).await.expect("exports");
        assert_eq!(
            std::fs::read(&copy).expect("reads"),
            std::fs::read(&log).expect("reads")
        );
    }
}

/// A bad address names what is wrong; a stream that does not exist is a NATS error, and
/// nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_a_log_is_refused() {
    let Some(servers) = servers() else { return };
    for bad in ["nats://h:1", "http://h:1/x", "nats://h:1/a.b"] {
        assert!(
            matches!(Target::parse(bad), Err(JetStreamError::Url(_))),
            "{bad}"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let target = Target::parse(&format!("{servers}/{}", unique_sim("missing"))).expect("a target");
    let out = dir.path().join("none.cdnlog");
    let missing = jetstream::export(&target, &out).await;
    assert!(
        matches!(missing, Err(JetStreamError::Nats(_))),
        "{missing:?}"
    );
    assert!(!out.exists());
}
