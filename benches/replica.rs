//! Read replicas: how fast a new replica catches up with a primary's log (records folded per
//! second, from the first connection to being at the primary's clock), and how far behind a
//! primary taking writes a replica stays (from a write's answer on the primary to the replica
//! having its records: p50 and p99), beside the write's own latency in the same run.
//!
//! Run: `cargo bench --bench replica` (it simulates the load-1m scenario first, ~10 s).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdnsim::scenario::Scenario;
use cdnsim::server::replica::{self, Primary};
use cdnsim::server::{App, Config, Server, Source};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

const WRITES: usize = 400;

fn scenario(name: &str) -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    Scenario::load(&path).expect("a valid scenario")
}

/// Binds and runs a server; its app and address.
async fn serve(source: Source) -> (Arc<App>, SocketAddr) {
    let mut config = Config::new(source);
    config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = Server::bind(config).await.expect("binds");
    let addr = server.local_addr().expect("bound");
    let app = Arc::clone(server.app());
    tokio::spawn(server.run(std::future::pending()));
    (app, addr)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[allow(clippy::disallowed_methods)] // wall time is what a bench measures
async fn catch_up(dir: &std::path::Path) {
    let log = dir.join("load-1m.cdnlog");
    cdnsim::drive::simulate_to_log(scenario("load-1m.toml"), &log, |_| {}).expect("simulates");
    let (app, addr) = serve(Source::Log(log)).await;
    let events = app.engine().model().event_count();
    let primary = Primary::parse(&format!("http://{addr}"), None).expect("an address");
    let mut runs = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let (engine, _, _) = replica::start(&primary).await.expect("follows");
        runs.push(started.elapsed());
        assert_eq!(engine.model().event_count(), events);
    }
    runs.sort();
    let median = runs[1];
    println!(
        "catch-up: {events} records in {median:.2?} (median of 3): {:.2} M records/s",
        events as f64 / median.as_secs_f64() / 1e6
    );
}

#[allow(clippy::disallowed_methods)] // wall time is what a bench measures
async fn lag(dir: &std::path::Path) {
    let (primary_app, addr) = serve(Source::Scenario {
        scenario: Box::new(scenario("quickstart.toml")),
        data_dir: dir.join("primary"),
        fresh: true,
    })
    .await;
    let url = format!("http://{addr}");
    let (replica_app, _) = serve(Source::Follow(
        Primary::parse(&url, None).expect("an address"),
    ))
    .await;
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let (mut writes, mut lags) = (Vec::new(), Vec::new());
    for i in 0..WRITES {
        let body = format!("Format=JSON&ObjectPath=http%3A%2F%2Fstatic.example.com%2Flag%2F{i}.js");
        let req = hyper::Request::post(format!("{url}/?Action=RefreshObjectCaches"))
            .header("host", addr.to_string())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body)))
            .expect("a request");
        let sent = Instant::now();
        let answer = sender.send_request(req).await.expect("answers");
        assert!(answer.status().is_success(), "{}", answer.status());
        answer.into_body().collect().await.expect("a body");
        let answered = Instant::now();
        writes.push(answered - sent);
        let want = primary_app.engine().model().event_count();
        while replica_app.engine().model().event_count() < want {
            tokio::task::yield_now().await;
        }
        lags.push(answered.elapsed());
    }
    writes.sort();
    lags.sort();
    println!(
        "write (fsync, group commit) on the primary: p50 {:.2?}, p99 {:.2?} over {WRITES}",
        percentile(&writes, 0.5),
        percentile(&writes, 0.99)
    );
    println!(
        "replica lag after the write's answer: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags[lags.len() - 1]
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run only for a bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    runtime.block_on(async {
        lag(dir.path()).await;
        catch_up(dir.path()).await;
    });
}
