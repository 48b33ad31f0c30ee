//! D2: with `--access-key` on, 100 connections each uploading an 8 MiB body were read whole
//! before authentication: memory grew by ~800 MB. Now request bodies in memory are bounded by
//! the server's body budget; a request that would go over gets 503 at once. Its own test
//! binary, so the process's peak memory is this test's.

mod common;

use std::sync::Arc;

use common::http::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BODY: usize = 8 * 1024 * 1024;
const BUDGET: usize = 32 * 1024 * 1024;

/// Peak resident memory of this process, bytes (VmHWM).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Uploads one body (declared, or chunked without a length) and returns the status line.
async fn upload(server_addr: std::net::SocketAddr, body: Arc<Vec<u8>>, chunked: bool) -> String {
    let Ok(mut stream) = tokio::net::TcpStream::connect(server_addr).await else {
        return "connect failed".into();
    };
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let head = format!(
        "POST /?Action=DescribeRefreshTasks HTTP/1.1\r\nHost: x\r\n{framing}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let sent = if chunked {
        let mut ok = true;
        for piece in body.chunks(256 * 1024) {
            let size = format!("{:x}\r\n", piece.len());
            ok = stream.write_all(size.as_bytes()).await.is_ok()
                && stream.write_all(piece).await.is_ok()
                && stream.write_all(b"\r\n").await.is_ok();
            if !ok {
                break;
            }
        }
        ok && stream.write_all(b"0\r\n\r\n").await.is_ok()
    } else {
        stream.write_all(&body).await.is_ok()
    };
    let _ = sent; // the server may answer (and close) before the whole body is sent
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("no answer")
        .to_owned()
}

#[tokio::test]
async fn a_budget_that_cannot_hold_one_body_is_refused_at_start() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = scenario_config(data.path(), "quickstart.toml");
    config.body_bytes_max = BODY;
    config.body_budget_bytes = 4 * BODY - 1;
    let refused = cdnsim::server::Server::bind(config).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("--body-budget") && message.contains("--max-body"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d2_request_bodies_in_memory_stay_within_the_budget() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = scenario_config(data.path(), "quickstart.toml");
    config.access_keys = vec!["id:secret".parse().expect("a key")];
    config.body_budget_bytes = BUDGET;
    let server = Running::start(config).await;
    let body = Arc::new(vec![b'a'; BODY]);
    let before = peak_rss();
    let uploads: Vec<_> = (0..100)
        .map(|i| tokio::spawn(upload(server.addr, Arc::clone(&body), i % 2 == 1)))
        .collect();
    let mut statuses = Vec::new();
    for upload in uploads {
        statuses.push(upload.await.expect("joins"));
    }
    let grown = peak_rss().saturating_sub(before);
    let refused = statuses.iter().filter(|s| s.contains(" 503 ")).count();
    assert!(refused > 0, "some uploads go over the budget: {statuses:?}");
    // The budget is whole again: an ordinary (unsigned) request is read and answered.
    let after = upload(server.addr, Arc::new(b"Format=JSON".to_vec()), false).await;
    assert!(after.contains(" 400 "), "{after}");
    assert!(
        grown < 2 * BUDGET as u64,
        "peak memory grew {grown} bytes for 100 x 8 MiB uploads; budget {BUDGET}"
    );
    eprintln!(
        "peak memory growth {} MiB; {refused} of 100 refused with 503",
        grown >> 20
    );
    server.stop().await;
}
