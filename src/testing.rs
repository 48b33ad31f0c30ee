//! An in-process cdnsim server for Rust tests: start it from a test, point the code under test
//! at [`TestServer::url`], move the clock from the test, reset between tests, and let it stop
//! when it goes out of scope — as `wiremock`'s `MockServer` or moto's `ThreadedMotoServer` do,
//! but deterministic: the clock is manual, the data lives in a temporary directory, and the
//! same scenario gives the same answers on every run.
//!
//! ```
//! use std::time::Duration;
//! use cdnsim::testing::TestServer;
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scenario = r#"
//!     seed = 1
//!     start = "2026-11-20T00:00:00Z"
//!     duration = "1d"
//!     [[domain]]
//!     name = "img.example.com"
//! "#;
//! let server = TestServer::start_toml(scenario).await?;
//! // The app under test would send its RefreshObjectCaches to server.url() here.
//! server.advance(Duration::from_secs(600)).await?;
//! assert_eq!(server.now(), "2026-11-20T00:10:00.000Z");
//! server.reset().await?;
//! assert_eq!(server.now(), "2026-11-20T00:00:00.000Z");
//! server.stop().await?;
//! # Ok(())
//! # }
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::event::TimeMs;
use crate::scenario::rule::Rule;
use crate::scenario::{Scenario, ScenarioError};
use crate::server::engine::RuleChangeError;
use crate::server::{App, Config, EngineError, ServeError, Server, Source, Step};

/// Why a test server could not start or do what it was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestServerError {
    /// The scenario is not valid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The server could not start or stop.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The clock could not move, or the timeline could not be reset.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The temporary data directory could not be made.
    #[error("temporary data directory: {0}")]
    Io(#[from] std::io::Error),
    /// A rule is not valid, its name is taken or unknown, or the log could not take it.
    #[error("rule: {0}")]
    Rule(String),
}

/// A `cdnsim serve` running on this process's tokio runtime, on a free port of 127.0.0.1, with
/// a manual clock and its data in a temporary directory. Dropping it stops it (in the
/// background); [`TestServer::stop`] waits until it has.
pub struct TestServer {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    /// The server; it owns the temporary data directory and removes it once stopped.
    task: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl TestServer {
    /// Starts a server for `scenario`. Must be called on a tokio runtime.
    pub async fn start(scenario: Scenario) -> Result<TestServer, TestServerError> {
        let data = tempfile::Builder::new().prefix("cdnsim-test-").tempdir()?;
        let mut config = Config::new(Source::Scenario {
            scenario: Box::new(scenario),
            data_dir: data.path().to_owned(),
            fresh: false,
        });
        config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.shutdown_grace = Duration::from_secs(1);
        let server = Server::bind(config).await?;
        let addr = server.local_addr().map_err(|source| ServeError::Bind {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            source,
        })?;
        let app = Arc::clone(server.app());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = server
                .run(async {
                    let _ = stopped.await;
                })
                .await;
            drop(data); // only now: the server has let go of it
            served
        });
        Ok(TestServer {
            addr,
            app,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Starts a server for the scenario file at `path`.
    pub async fn start_file(path: &Path) -> Result<TestServer, TestServerError> {
        TestServer::start(Scenario::load(path)?).await
    }

    /// Starts a server for a scenario given as TOML text.
    pub async fn start_toml(text: &str) -> Result<TestServer, TestServerError> {
        TestServer::start(Scenario::parse(Path::new("test-server.toml"), text)?).await
    }

    /// The base URL of the CDN API (`http://127.0.0.1:PORT`): the endpoint to give an SDK.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The clock, RFC 3339.
    pub fn now(&self) -> String {
        crate::time::format_ms(self.now_ms())
    }

    /// The clock, ms since the epoch.
    pub fn now_ms(&self) -> TimeMs {
        self.app.engine().now_ms()
    }

    /// Moves the clock forward by `by`; returns once every event up to the new time is in
    /// the answers (as `POST /_cdnsim/clock` with `{"advance": ...}` does).
    pub async fn advance(&self, by: Duration) -> Result<(), TestServerError> {
        let ms = TimeMs::try_from(by.as_millis()).unwrap_or(TimeMs::MAX);
        let engine = self.app.engine();
        tokio::task::spawn_blocking(move || engine.step(Step::By(ms)))
            .await
            .map_err(|e| ServeError::Join(e.to_string()))??;
        Ok(())
    }

    /// Starts the scenario over on a new timeline (as `POST /_cdnsim/reset`).
    pub async fn reset(&self) -> Result<(), TestServerError> {
        let app = Arc::clone(&self.app);
        tokio::task::spawn_blocking(move || app.reset(None))
            .await
            .map_err(|e| ServeError::Join(e.to_string()))??;
        Ok(())
    }

    /// Adds a rule, given as the JSON `POST /_cdnsim/rules` takes (a lifecycle rule such as
    /// `{"name":"down","match":{"domain":"img.example.com"},"outcome":"failed","reason":"origin_timeout"}`
    /// or an error rule such as
    /// `{"name":"busy","action":"RefreshObjectCaches","error":"Throttling.User","times":2}`);
    /// returns once it is in force and logged.
    pub async fn add_rule(&self, json: &str) -> Result<(), TestServerError> {
        let rule = Rule::from_json(json).map_err(TestServerError::Rule)?;
        self.app.engine().add_rule(rule).await.map_err(rule_error)?;
        Ok(())
    }

    /// Deletes the rule named `name`, or every rule when `None` (as `DELETE /_cdnsim/rules`).
    pub async fn delete_rules(&self, name: Option<&str>) -> Result<(), TestServerError> {
        let name = name.map(str::to_owned);
        self.app
            .engine()
            .delete_rules(name)
            .await
            .map_err(rule_error)
    }

    /// Stops the server and waits until it has (open requests finish, the log is synced).
    pub async fn stop(mut self) -> Result<(), TestServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.map_err(|e| ServeError::Join(e.to_string()))??;
        }
        Ok(())
    }
}

/// A rule change that failed: a join failure is the server's, anything else the rule's.
fn rule_error(e: RuleChangeError) -> TestServerError {
    match e {
        RuleChangeError::Engine(EngineError::Join(e)) => ServeError::Join(e).into(),
        e => TestServerError::Rule(e.to_string()),
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
