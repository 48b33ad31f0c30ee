//! The log on NATS JetStream (cargo feature `nats`), against a real 3-node cluster: the
//! backend conformance suite; a log published, or simulated straight into a stream, exports
//! as the file byte for byte; two writers racing to create one log, exactly one wins; a
//! stream that is not a log is refused by name; `serve --log-backend`: a standby takes over
//! through the lease when the writer is killed, with every acknowledged write; a replica
//! following the stream reads its writes and answers as the writer does; the stream's leader
//! killed under write load loses no acknowledged write.
//!
//! Needs `CDNSIM_NATS_URL` (servers, `nats://HOST:PORT,...`) and, for the leader kill,
//! `CDNSIM_NATS_DIR` (the cluster's directory): `.ci/run` starts a 3-node cluster with
//! `tests/nats/cluster.sh` and sets both. Without them these tests say so and pass, unless
//! `CI` is set: there they fail.
#![cfg(feature = "nats")]

mod common;

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cdnsim::event::Event;
use cdnsim::log::LogBackend;
use cdnsim::log::jetstream::{self, JetStreamBackend, JetStreamError, Target};
use cdnsim::scenario::Scenario;
use common::conformance::{self, Place};
use common::http::{call, scenario_path};
use hyper::StatusCode;

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

#[test]
fn a_published_log_exports_byte_for_byte() {
    let Some(servers) = servers() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    // Big enough for many messages (the quickstart log is about 1.3 MB).
    let log = simulate("quickstart.toml", dir.path());
    let target =
        Target::parse(&format!("{servers}/{}", unique_sim("roundtrip"))).expect("a target");
    let published = jetstream::publish(&log, &target).expect("publishes");
    assert!(published.messages > 3, "{published:?}");
    let file = std::fs::read(&log).expect("reads");
    assert_eq!(published.bytes, file.len() as u64);

    let copy = dir.path().join("copy.cdnlog");
    let records = jetstream::export(&target, &copy).expect("exports");
    assert_eq!(std::fs::read(&copy).expect("reads"), file, "byte for byte");
    let original = cdnsim::log::LogFile::open(&log).expect("opens");
    assert_eq!(records, original.summary().records);

    // The file is not overwritten, and the stream takes no second log.
    let again = jetstream::export(&target, &copy);
    assert!(matches!(again, Err(JetStreamError::Log(_))), "{again:?}");
    let second = jetstream::publish(&log, &target);
    assert!(
        matches!(second, Err(JetStreamError::Fenced(_))),
        "{second:?}"
    );
}

/// Two writers publish a log to the same new stream at once: the header's fence lets exactly
/// one create it; the other is refused, and the stream holds one whole log.
#[test]
fn two_writers_race_and_exactly_one_wins() {
    let Some(servers) = servers() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let log = simulate("ci-replay.toml", dir.path());
    for round in 0..5 {
        let target = Target::parse(&format!(
            "{servers}/{}",
            unique_sim(&format!("race{round}"))
        ))
        .expect("a target");
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| jetstream::publish(&log, &target));
            let b = s.spawn(|| jetstream::publish(&log, &target));
            (a.join().expect("joins"), b.join().expect("joins"))
        });
        let wins = [a.is_ok(), b.is_ok()].iter().filter(|w| **w).count();
        assert_eq!(wins, 1, "round {round}: {a:?} / {b:?}");
        for lost in [a, b].into_iter().filter_map(Result::err) {
            assert!(matches!(lost, JetStreamError::Fenced(_)), "{lost}");
        }
        let copy = dir.path().join(format!("race{round}.cdnlog"));
        jetstream::export(&target, &copy).expect("exports");
        assert_eq!(
            std::fs::read(&copy).expect("reads"),
            std::fs::read(&log).expect("reads")
        );
    }
}

/// A bad address names what is wrong; a stream that does not exist is not a log, and nothing
/// is written.
#[test]
fn what_is_not_a_log_is_refused() {
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
    let missing = jetstream::export(&target, &out);
    assert!(
        matches!(&missing, Err(JetStreamError::NotALog { why, .. }) if why.contains("no such stream")),
        "{missing:?}"
    );
    assert!(!out.exists());
}

/// Logs in streams of one test run, each writer with a working file of its own.
struct Streams {
    servers: String,
    prefix: String,
    dir: tempfile::TempDir,
    writers: AtomicU32,
}

impl Place for Streams {
    fn writer(&self, name: &str) -> (Arc<dyn LogBackend>, PathBuf) {
        let target =
            Target::parse(&format!("{}/{}_{name}", self.servers, self.prefix)).expect("a target");
        let backend = JetStreamBackend::connect(&target).expect("connects");
        let n = self.writers.fetch_add(1, Ordering::Relaxed);
        (
            Arc::new(backend),
            self.dir.path().join(format!("{name}.{n}.cdnlog")),
        )
    }

    fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.export.cdnlog"))
    }
}

#[test]
fn the_jetstream_backend_conforms() {
    let Some(servers) = servers() else { return };
    conformance::run(&Streams {
        servers,
        prefix: unique_sim("conform"),
        dir: tempfile::tempdir().expect("tempdir"),
        writers: AtomicU32::new(0),
    });
}

fn cdnsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cdnsim"))
}

/// `cdnsim simulate -o nats://…` then `cdnsim export` gives the log `simulate -o FILE` gives,
/// byte for byte; a second simulation into the same stream is refused.
#[test]
fn a_simulation_into_a_stream_is_the_file_byte_for_byte() {
    let Some(servers) = servers() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = scenario_path("quickstart.toml");
    let file = dir.path().join("file.cdnlog");
    let url = format!("{servers}/{}", unique_sim("simulate"));
    for output in [file.to_str().expect("utf-8"), url.as_str()] {
        let done = cdnsim()
            .arg("simulate")
            .arg(&scenario)
            .args(["-q", "-o", output])
            .output()
            .expect("runs");
        assert!(done.status.success(), "{done:?}");
    }
    let exported = dir.path().join("exported.cdnlog");
    let done = cdnsim()
        .args(["export", &url, "-o"])
        .arg(&exported)
        .output()
        .expect("runs");
    assert!(done.status.success(), "{done:?}");
    assert_eq!(
        std::fs::read(&exported).expect("reads"),
        std::fs::read(&file).expect("reads"),
        "byte for byte"
    );
    let again = cdnsim()
        .arg("simulate")
        .arg(&scenario)
        .args(["-q", "-o", &url])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        !again.status.success() && stderr.contains("already holds a log"),
        "{stderr}"
    );
}

/// A spawned `cdnsim serve`, killed when dropped; its address arrives once it listens.
struct Serving {
    child: Child,
    listening: std::sync::mpsc::Receiver<SocketAddr>,
}

impl Serving {
    fn spawn(args: &[&str], log: &Path) -> Serving {
        let mut child = cdnsim()
            .arg("serve")
            .args(args)
            .args(["--addr", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("a log file"))
            .spawn()
            .expect("starts");
        let stdout = child.stdout.take().expect("piped");
        let (tx, listening) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            if let Some(addr) = line
                .trim()
                .strip_prefix("listening on http://")
                .and_then(|a| a.parse().ok())
            {
                let _ = tx.send(addr);
            }
        });
        Serving { child, listening }
    }

    /// Its address, once it listens (a minute at most).
    fn addr(&self) -> SocketAddr {
        self.listening
            .recv_timeout(Duration::from_secs(60))
            .expect("the server listens")
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A writer of the quickstart scenario's log in the stream at `url`.
fn writer(url: &str, dir: &Path, name: &str) -> Serving {
    let scenario = scenario_path("quickstart.toml");
    let data = dir.join(name);
    Serving::spawn(
        &[
            "--scenario",
            scenario.to_str().expect("utf-8"),
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--log-backend",
            url,
        ],
        &dir.join(format!("{name}.log")),
    )
}

/// `RefreshObjectCaches` of one path: the records in the log after it, once acknowledged.
async fn refresh(addr: SocketAddr, path: &str) -> Result<u64, String> {
    let query = format!("/?Action=RefreshObjectCaches&Format=JSON&ObjectPath={path}");
    let answer = call(addr, "GET", &query, &[], "").await;
    if answer.status != StatusCode::OK {
        return Err(answer.body);
    }
    let seq = answer
        .headers
        .get("x-cdnsim-log-seq")
        .expect("a write says its seq");
    Ok(seq.to_str().expect("ascii").parse().expect("a number"))
}

/// How many rows `server` has for `path`, after applying `after_seq` records.
async fn rows_of(addr: SocketAddr, path: &str, after_seq: Option<u64>) -> u64 {
    let query = format!("/?Action=DescribeRefreshTasks&Format=JSON&ObjectPath={path}");
    let seq = after_seq.map(|s| s.to_string());
    let headers: Vec<(&str, &str)> = seq
        .iter()
        .map(|s| ("x-cdnsim-after-seq", s.as_str()))
        .collect();
    let answer = call(addr, "GET", &query, &headers, "").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.json()["TotalCount"].as_u64().expect("a count")
}

/// The rows' paths in the log a stream holds.
fn paths_in_stream(url: &str, dir: &Path) -> std::collections::BTreeSet<String> {
    let out = dir.join(format!("export-{}.cdnlog", unique_sim("x")));
    let target = Target::parse(url).expect("a target");
    jetstream::export(&target, &out).expect("exports");
    let (_, records) = cdnsim::log::read_all(&out).expect("a whole log");
    records
        .into_iter()
        .filter_map(|r| match r.event {
            Event::Created { object_path, .. } => Some(object_path),
            _ => None,
        })
        .collect()
}

// The failover time is measured for the report: wall time, by nature; nothing is asserted on
// it but an upper bound.
#[allow(clippy::disallowed_methods)]
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Two servers on one stream: the second waits for the lease; SIGKILL the first, and the
/// second takes over with every write the first acknowledged and the clock where it was,
/// then writes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_when_the_writer_dies() {
    let Some(servers) = servers() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("{servers}/{}", unique_sim("failover"));
    let mut a = writer(&url, dir.path(), "a");
    let a_addr = a.addr();
    let b = writer(&url, dir.path(), "b");
    let mut acked = Vec::new();
    for i in 0..20 {
        let path = format!("http://img.example.com/failover/{i}.jpg");
        refresh(a_addr, &path)
            .await
            .expect("the writer takes writes");
        acked.push(path);
        if i % 5 == 4 {
            let moved = call(a_addr, "POST", "/_cdnsim/clock", &[], r#"{"advance":"1m"}"#).await;
            assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        }
    }
    let clock = call(a_addr, "GET", "/_cdnsim/clock", &[], "").await.json();
    assert!(
        b.listening.try_recv().is_err(),
        "the standby must not serve while the writer holds the lease"
    );
    // The last clock must be in the stream before the kill: a write orders it.
    let last = refresh(a_addr, "http://img.example.com/failover/last.jpg")
        .await
        .expect("writes");
    assert_eq!(
        rows_of(
            a_addr,
            "http://img.example.com/failover/last.jpg",
            Some(last)
        )
        .await,
        1
    );
    acked.push("http://img.example.com/failover/last.jpg".into());

    a.child.kill().expect("SIGKILL");
    let killed = now();
    let b_addr = b.addr();
    eprintln!(
        "failover: the standby served {:?} after the SIGKILL",
        killed.elapsed()
    );
    for path in &acked {
        assert_eq!(
            rows_of(b_addr, path, None).await,
            1,
            "{path} survives the failover"
        );
    }
    let resumed = call(b_addr, "GET", "/_cdnsim/clock", &[], "").await.json();
    assert_eq!(
        resumed["now"], clock["now"],
        "the clock resumes where it was"
    );
    refresh(b_addr, "http://img.example.com/failover/after.jpg")
        .await
        .expect("the new writer takes writes");
    let stored = paths_in_stream(&url, dir.path());
    for path in acked
        .iter()
        .chain(["http://img.example.com/failover/after.jpg".to_owned()].iter())
    {
        assert!(stored.contains(path), "{path} is in the stream");
    }

    // A clean stop (SIGTERM) hands the log over at once: the lease's key is gone.
    let mut b = b;
    let term = Command::new("kill")
        .args(["-TERM", &b.child.id().to_string()])
        .status()
        .expect("runs kill");
    assert!(term.success());
    let exited = b.child.wait().expect("waits");
    assert!(exited.success(), "a clean stop: {exited:?}");
    let target = Target::parse(&url).expect("a target");
    let js = jetstream::connect(&target).await.expect("connects");
    let leases = js
        .get_key_value(jetstream::lease::BUCKET)
        .await
        .expect("the lease bucket");
    let held = leases.get(&target.sim).await.expect("reads the lease");
    assert!(held.is_none(), "the lease is released: {held:?}");
}

/// A replica following the stream: with the seq a write answered, a read sees the write;
/// its answers are the writer's, byte for byte; it refuses writes naming the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_replica_reads_its_writes_and_answers_as_the_writer() {
    let Some(servers) = servers() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("{servers}/{}", unique_sim("replica"));
    let w = writer(&url, dir.path(), "writer");
    let w_addr = w.addr();
    let scenario = scenario_path("quickstart.toml");
    let r = Serving::spawn(
        &[
            "--follow",
            &url,
            "--scenario",
            scenario.to_str().expect("utf-8"),
        ],
        &dir.path().join("replica.log"),
    );
    let r_addr = r.addr();
    for i in 0..30 {
        if i % 10 == 9 {
            let moved = call(w_addr, "POST", "/_cdnsim/clock", &[], r#"{"advance":"3m"}"#).await;
            assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        }
        let path = format!("http://img.example.com/ryw/{i}.jpg");
        let seq = refresh(w_addr, &path).await.expect("writes");
        assert_eq!(
            rows_of(r_addr, &path, Some(seq)).await,
            1,
            "the replica reads write {i}"
        );
    }
    let now = call(w_addr, "GET", "/_cdnsim/clock", &[], "").await.json();
    let at = now["now"].as_str().expect("a time").to_owned();
    for query in [
        "/?Action=DescribeRefreshTasks&Format=JSON&PageSize=50",
        "/?Action=DescribeRefreshTasks&PageSize=7&PageNumber=2",
        "/?Action=DescribeRefreshQuota&Format=JSON",
        "/_cdnsim/stats?buckets=5",
    ] {
        let headers = [("x-cdnsim-replay-time", at.as_str())];
        let (a, b) = (
            call(w_addr, "GET", query, &headers, "").await,
            call(r_addr, "GET", query, &headers, "").await,
        );
        assert_eq!((a.status, &a.body), (b.status, &b.body), "{query}");
    }
    let named = Target::parse(&url).expect("a target").to_string();
    let refused = refresh(r_addr, "http://img.example.com/ryw/no.jpg").await;
    assert!(
        refused.as_ref().is_err_and(|body| body.contains(&named)),
        "{refused:?}"
    );
    let health = call(r_addr, "GET", "/_cdnsim/health", &[], "").await.json();
    assert_eq!(
        (health["role"].as_str(), health["primary"].as_str()),
        (Some("replica"), Some(named.as_str()))
    );
}

/// The cluster's directory, for killing one of its nodes.
fn cluster_dir() -> Option<PathBuf> {
    match std::env::var_os("CDNSIM_NATS_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ if std::env::var_os("CI").is_some() => {
            panic!("the leader kill needs CDNSIM_NATS_DIR: .ci/run sets it")
        }
        _ => {
            eprintln!("SKIPPED: no CDNSIM_NATS_DIR (the cluster's directory)");
            None
        }
    }
}

fn cluster(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nats/cluster.sh");
    let done = Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .expect("runs");
    assert!(done.status.success(), "cluster.sh {args:?}: {done:?}");
}

/// The server name of the stream's leader (`n1`..`n3`).
async fn stream_leader(url: &str) -> String {
    let target = Target::parse(url).expect("a target");
    let js = jetstream::connect(&target).await.expect("connects");
    let mut stream = js.get_stream(target.stream()).await.expect("the stream");
    let info = stream.info().await.expect("its info");
    info.cluster
        .clone()
        .and_then(|c| c.leader)
        .expect("a replicated stream has a leader")
}

/// Writes go on from two clients while the stream's leader is SIGKILLed: writes stall while
/// the cluster elects a new leader, then go on, and every acknowledged one is in the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_stream_leader_loses_no_acknowledged_write() {
    let Some(servers) = servers() else { return };
    let Some(cluster_dir) = cluster_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("{servers}/{}", unique_sim("leaderkill"));
    let w = writer(&url, dir.path(), "writer");
    let addr = w.addr();
    // Each client writes until it has 20 writes acknowledged after the kill (or gives up
    // after 20,000 attempts: a writer that stopped answers at once).
    let load = |client: usize| async move {
        let mut acked = Vec::new();
        let (mut first_after_kill, mut after_kill) = (None, 0);
        for i in 0..20_000 {
            let path = format!("http://img.example.com/kill/{client}/{i}.jpg");
            let killed = KILLED.load(Ordering::Acquire) > 0;
            if refresh(addr, &path).await.is_ok() {
                acked.push(path);
                if killed {
                    first_after_kill.get_or_insert_with(now);
                    after_kill += 1;
                }
            }
            if after_kill >= 20 {
                break;
            }
        }
        (acked, first_after_kill)
    };
    static KILLED: AtomicU32 = AtomicU32::new(0);
    let loads = [tokio::spawn(load(0)), tokio::spawn(load(1))];
    // Let the load run, then kill the leader.
    for i in 0..40 {
        let path = format!("http://img.example.com/kill/before/{i}.jpg");
        refresh(addr, &path).await.expect("writes before the kill");
    }
    let leader = stream_leader(&url).await;
    let node = leader.trim_start_matches('n').to_owned();
    let cluster_dir = cluster_dir.to_str().expect("utf-8").to_owned();
    cluster(&["kill", &cluster_dir, &node]);
    let killed_at = now();
    KILLED.store(1, Ordering::Release);
    let mut acked = Vec::new();
    let mut resumed = None;
    for load in loads {
        let (paths, first) = load.await.expect("the load ran");
        acked.extend(paths);
        resumed = resumed.max(first.map(|t| t.duration_since(killed_at)));
    }
    cluster(&["revive", &cluster_dir, &node]);
    eprintln!(
        "leader {leader} killed: writes went on {resumed:?} after the kill; {} acknowledged",
        acked.len()
    );
    let stored = paths_in_stream(&url, dir.path());
    let lost: Vec<&String> = acked.iter().filter(|p| !stored.contains(*p)).collect();
    assert!(
        lost.is_empty(),
        "acknowledged but not in the stream: {lost:?}"
    );
    assert!(
        resumed.is_some_and(|t| t < Duration::from_secs(40)),
        "{resumed:?}"
    );
}
