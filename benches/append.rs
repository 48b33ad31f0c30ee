//! Appending to the log through each `LogBackend`, in the same run: the file (a commit is an
//! fsync) against a NATS JetStream stream with one replica (R1) and with three (R3); records
//! per second, the median of 3 runs of 1,000,000 records each, group commits of 1,000
//! records (a server's group commit under load), of 100, and one commit of them all (what
//! `simulate -o` does every 32 MiB: messages pipelined, 16 in flight). Then a replica of the stream catching up (records folded
//! per second, from the connection to the stream's end).
//!
//! Run: `CDNSIM_NATS_URL=$(tests/nats/cluster.sh start DIR) cargo bench --features nats --bench
//! append` (a 3-node cluster on loopback; `tests/nats/cluster.sh stop DIR` after). Without
//! `CDNSIM_NATS_URL` only the file is measured.

use std::path::Path;
use std::time::{Duration, Instant};

use cdnsim::event::{Event, TimeMs};
use cdnsim::log::jetstream::{JetStreamBackend, Target};
use cdnsim::log::{FileBackend, Header, LogBackend, LogWriter};
use cdnsim::scenario::Scenario;

const RUNS: usize = 3;
/// Records appended per run.
const RECORDS: usize = 1_000_000;

fn scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    Scenario::load(&path).expect("a valid scenario")
}

/// The first [`RECORDS`] events of the load-1m scenario, and the header a server writes.
fn events(dir: &Path) -> (Header, Vec<(TimeMs, Event)>, Scenario) {
    let scenario = scenario("load-1m.toml");
    let path = dir.join("source.cdnlog");
    cdnsim::drive::simulate_to_log(scenario.clone(), &path, |_| {}).expect("simulates");
    let records = cdnsim::log::Records::open(&path).expect("opens");
    let events = records
        .take(RECORDS)
        .map(|r| {
            let r = r.expect("a whole log");
            (r.at_ms, r.event)
        })
        .collect();
    let header = Header::batched(scenario.fingerprint(), scenario.seed);
    std::fs::remove_file(&path).expect("removes");
    (header, events, scenario)
}

/// Appends `events` in batches of `batch` records, committing each (or, with `batch` 0,
/// in batches of 1,000 committed once at the end, as `simulate -o` does); the time it took.
#[allow(clippy::disallowed_methods)] // wall time is what a bench measures
fn append(
    backend: &dyn LogBackend,
    path: &Path,
    header: Header,
    events: &[(TimeMs, Event)],
    batch: usize,
) -> Duration {
    backend.prepare(path, &header).expect("prepares");
    let mut writer = LogWriter::create(path, header).expect("creates");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("opens");
    let started = Instant::now();
    let chunk_len = if batch == 0 { 1_000 } else { batch };
    for chunk in events.chunks(chunk_len) {
        writer.append_batch(chunk).expect("appends");
        if batch > 0 {
            writer.flush().expect("flushes");
            backend.commit(&file, writer.len_bytes()).expect("commits");
        }
    }
    writer.flush().expect("flushes");
    backend.commit(&file, writer.len_bytes()).expect("commits");
    started.elapsed()
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (header, events, scenario) = events(dir.path());
    let n = events.len() as f64;
    println!(
        "append {} records (load-1m's first), median of {RUNS} runs",
        events.len()
    );
    let servers = std::env::var("CDNSIM_NATS_URL")
        .ok()
        .filter(|s| !s.is_empty());
    if servers.is_none() {
        println!("  (no CDNSIM_NATS_URL: the file only)");
    }
    let run_id = dir
        .path()
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("x")
        .replace(['.', '-'], "_");
    let mut last_stream = None;
    for batch in [1_000, 100, 0] {
        let mut file_runs = Vec::new();
        for run in 0..RUNS {
            let path = dir.path().join(format!("file-{batch}-{run}.cdnlog"));
            let backend = FileBackend::new(&path);
            file_runs.push(append(&backend, &path, header, &events, batch));
        }
        let file = median(file_runs);
        let per = match batch {
            0 => "one commit".to_owned(),
            k => format!("{k} per commit"),
        };
        println!(
            "  file, {per}: {:.0} records/s ({file:?})",
            n / file.as_secs_f64()
        );
        let Some(servers) = &servers else { continue };
        let all: Vec<&str> = servers.split(',').collect();
        for (label, hosts) in [("R1", &all[..1]), ("R3", &all[..])] {
            let mut runs = Vec::new();
            for run in 0..RUNS {
                let sim = format!("bench_{run_id}_{label}_{batch}_{run}");
                let target =
                    Target::parse(&format!("{}/{sim}", hosts.join(","))).expect("a target");
                let backend = JetStreamBackend::connect(&target).expect("connects");
                let path = dir.path().join(format!("{sim}.cdnlog"));
                runs.push(append(&backend, &path, header, &events, batch));
                if batch == 100 {
                    last_stream = Some(target);
                }
            }
            let stream = median(runs);
            println!(
                "  JetStream {label}, {per}: {:.0} records/s ({stream:?}, {:.2}x the file)",
                n / stream.as_secs_f64(),
                file.as_secs_f64() / stream.as_secs_f64()
            );
        }
    }
    // The replica reads the R3 stream of 100 records per commit (10,000 messages).
    if let Some(target) = last_stream {
        catch_up(target, scenario, events.len() as u64);
    }
}

/// A replica of the last stream written catching up with it.
#[allow(clippy::disallowed_methods)] // wall time is what a bench measures
fn catch_up(target: Target, scenario: Scenario, records: u64) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let source = cdnsim::server::stream_replica::StreamSource {
        target,
        scenario: Box::new(scenario),
    };
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let (engine, _) = runtime
            .block_on(cdnsim::server::stream_replica::start(&source))
            .expect("follows");
        runs.push(started.elapsed());
        assert_eq!(engine.model().event_count(), records);
    }
    let took = median(runs);
    println!(
        "  a replica of the stream (R3, 100 per message) catches up: {:.0} records/s ({took:?})",
        records as f64 / took.as_secs_f64()
    );
}
