//! The HTTP bench's ceiling: hyper on the same tokio runtime as `cdnsim serve`, answering
//! every request with a fixed body read from a file at start — no parsing, no state, no
//! rendering. `benches/http.sh` serves cdnsim's own page-1 and by-id bodies with it, so the
//! ratio of cdnsim to it is what cdnsim's work per request costs.
//!
//!   cargo build --profile perf --example bare_hyper
//!   target/perf/examples/bare_hyper PAGE1.json BYID.json
//!
//! A request whose query names `Action=DescribeRefreshTaskById` gets the second body, any
//! other the first. The first stdout line is `listening on http://HOST:PORT` (a free port).

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [page1, by_id] = args.as_slice() else {
        return Err("usage: bare_hyper PAGE1.json BYID.json".into());
    };
    let bodies = Arc::new((
        Bytes::from(std::fs::read(page1)?),
        Bytes::from(std::fs::read(by_id)?),
    ));
    // As `cdnsim serve` builds its runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening on http://{}", listener.local_addr()?);
        let mut builder = http1::Builder::new();
        builder.timer(TokioTimer::new()).max_buf_size(192 * 1024);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let bodies = Arc::clone(&bodies);
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let by_id = req
                    .uri()
                    .query()
                    .is_some_and(|q| q.contains("Action=DescribeRefreshTaskById"));
                let body = if by_id { &bodies.1 } else { &bodies.0 };
                let response = Response::builder()
                    .header("content-type", "application/json;charset=utf-8")
                    .body(Full::new(body.clone()));
                async move { Ok::<_, Infallible>(response.unwrap_or_default()) }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    })
}
