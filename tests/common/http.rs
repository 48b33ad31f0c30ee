//! An HTTP/1.1 client for the server tests and a running server on 127.0.0.1:0.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use cdnsim::drive::simulate_to_log;
use cdnsim::scenario::Scenario;
use cdnsim::server::{Config, ServeError, Server, Source};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// The replay time of the ci-replay fixtures (rows in every state).
pub const AT: &str = "2026-11-20T10:03:00Z";

pub fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

pub fn ci_replay_log(dir: &Path) -> PathBuf {
    let path = dir.join("ci.cdnlog");
    let scenario = Scenario::load(&scenario_path("ci-replay.toml")).expect("valid scenario");
    simulate_to_log(scenario, &path, |_| {}).expect("simulates");
    path
}

pub fn log_config(log: &Path) -> Config {
    let mut config = Config::new(Source::Log(log.to_owned()));
    config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.at_ms = cdnsim::time::parse_rfc3339(AT);
    config
}

pub struct Running {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Running {
    pub async fn start(config: Config) -> Running {
        let server = Server::bind(config).await.expect("binds");
        let addr = server.local_addr().expect("bound");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Running { addr, stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("joins").expect("stops cleanly");
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }
}

/// An answer: status, headers, body text.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        let json = self.json();
        assert_eq!(json["Code"], code, "{}", self.body);
        assert_eq!(json["HostId"], "cdn.aliyuncs.com");
        assert_eq!(
            self.headers["x-acs-request-id"].to_str().ok(),
            json["RequestId"].as_str(),
            "the header repeats the body's RequestId"
        );
    }
}

pub async fn send(addr: SocketAddr, req: Request<Full<Bytes>>) -> Answer {
    let stream = TcpStream::connect(addr).await.expect("connects");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let response = sender.send_request(req).await.expect("answers");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(bytes.to_vec()).expect("UTF-8 body"),
    }
}

pub async fn get(server: &Running, path_and_query: &str) -> Answer {
    let req = Request::get(server.url(path_and_query))
        .header("host", server.addr.to_string())
        .body(Full::default())
        .expect("request");
    send(server.addr, req).await
}

pub async fn post(
    server: &Running,
    path_and_query: &str,
    content_type: &str,
    body: &str,
) -> Answer {
    let req = Request::post(server.url(path_and_query))
        .header("host", server.addr.to_string())
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request");
    send(server.addr, req).await
}

/// What `cdnsim query` prints for these parameters.
pub fn query(log: &Path, params: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .arg("query")
        .arg(log)
        .args(["--at", AT])
        .args(params)
        .output()
        .expect("runs");
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim_end()
        .to_owned()
}

pub fn encode(params: &[&str]) -> String {
    cdnsim::api::encoding::encode_pairs(
        params.iter().map(|p| p.split_once('=').expect("KEY=VALUE")),
    )
}

pub fn scenario_config(data_dir: &Path, name: &str) -> Config {
    served(
        Scenario::load(&scenario_path(name)).expect("valid scenario"),
        data_dir,
    )
}

/// A server simulating the scenario given as TOML `text`, its log in `data_dir`, on a free port.
pub fn text_config(data_dir: &Path, text: &str) -> Config {
    served(
        Scenario::parse(Path::new("test.toml"), text).expect("valid scenario"),
        data_dir,
    )
}

/// A server simulating `scenario`, its log in `data_dir`, on a free port.
fn served(scenario: Scenario, data_dir: &Path) -> Config {
    let mut config = Config::new(Source::Scenario {
        scenario: Box::new(scenario),
        data_dir: data_dir.to_owned(),
        fresh: false,
    });
    config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config
}

/// A request with any method, extra headers and a body, to the server at `addr`.
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("host", addr.to_string());
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let body = Full::new(Bytes::from(body.to_owned()));
    send(addr, req.body(body).expect("a request")).await
}

/// `POST /_cdnsim/rules` with the rule's JSON.
pub async fn add_rule(server: &Running, rule: &str) -> Answer {
    post(server, "/_cdnsim/rules", "application/json", rule).await
}

/// `DELETE` of `path`.
pub async fn delete(server: &Running, path: &str) -> Answer {
    let req = Request::delete(server.url(path))
        .header("host", server.addr.to_string())
        .body(Full::<Bytes>::default())
        .expect("request");
    send(server.addr, req).await
}

/// `GET /_cdnsim/rules`: the list.
pub async fn list_rules(server: &Running) -> Vec<Value> {
    let answer = get(server, "/_cdnsim/rules").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.json()["rules"].as_array().cloned().expect("a list")
}

/// `POST /_cdnsim/clock` with a JSON body such as `{"advance":"5m"}`.
pub async fn move_clock(server: &Running, body: &str) -> Answer {
    post(server, "/_cdnsim/clock", "application/json", body).await
}

/// `RefreshObjectCaches` of `paths` (JSON), with `extra` form parameters (`&Name=value...`).
pub async fn refresh(server: &Running, paths: &[&str], extra: &str) -> Answer {
    let body = format!(
        "Format=JSON&ObjectPath={}{extra}",
        cdnsim::api::encoding::encode(&paths.join("\n"))
    );
    post(
        server,
        "/?Action=RefreshObjectCaches",
        "application/x-www-form-urlencoded",
        &body,
    )
    .await
}

/// The rows `DescribeRefreshTaskById` answers for `ids` (comma-separated).
pub async fn by_id(server: &Running, ids: &str) -> Vec<Value> {
    let answer = get(
        server,
        &format!("/?Action=DescribeRefreshTaskById&Format=JSON&TaskId={ids}"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.json()["Tasks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The address a spawned `cdnsim serve` (stdout piped) says it listens on, from its first line
/// `listening on http://ADDR`.
pub fn listening_addr(child: &mut std::process::Child) -> SocketAddr {
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reads");
    line.trim()
        .strip_prefix("listening on http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in the first line {line:?}"))
}
