//! `cdnsim serve`: the CDN API and the admin endpoints over HTTP/1.1 (hyper on tokio),
//! answering as of the server's clock.
//!
//! Layout: [`engine`] holds the state (read model, clock, simulator and log writer);
//! [`http`] decodes and authenticates requests on `/` and hands them to [`crate::api::answer`];
//! [`admin`] serves `/_cdnsim/`;
//! [`metrics`] counts. This module binds, accepts (at most `connections_max` at once: a
//! semaphore permit per connection, so a flood waits in the kernel's backlog instead of
//! exhausting memory), runs the live clock, and shuts down gracefully: stop accepting, let
//! open requests finish (up to `shutdown_grace`), sync the log.
//!
//! The HTTP layer never changes state except through [`Engine::advance_to`], which writes
//! the log first.

pub mod admin;
pub mod auth;
pub mod body;
pub mod conns;
pub mod engine;
pub mod http;
pub mod metrics;
pub mod replica;
pub mod rules;
#[cfg(feature = "nats")]
pub mod stream_replica;
pub mod timeline;
pub mod ui;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use std::convert::Infallible;

use conns::{BusyBody, Conns, Watched};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use engine::{Commit, Durability, Engine, EngineError, Snapshots, Step};

use crate::api::signature::{AccessKey, Verifier};
use crate::event::TimeMs;
use crate::scenario::Scenario;
use metrics::Metrics;

/// A response body.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// How the clock moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockMode {
    /// Only when told (`POST /_cdnsim/clock`): the deterministic mode for tests.
    Manual,
    /// Virtual time runs `speed` times wall time.
    Live {
        /// Virtual seconds per wall second.
        speed: f64,
    },
}

/// What to serve.
#[derive(Debug, Clone)]
pub enum Source {
    /// A finished log, read-only.
    Log(PathBuf),
    /// A scenario, simulated as the clock moves, its log in a data directory.
    Scenario {
        /// The scenario.
        scenario: Box<Scenario>,
        /// Where the log lives.
        data_dir: PathBuf,
        /// Move an existing log aside instead of resuming it.
        fresh: bool,
    },
    /// Another server's log, followed as a read replica.
    Follow(replica::Primary),
    /// A stream's log, followed as a read replica (cargo feature `nats`).
    #[cfg(feature = "nats")]
    FollowStream(stream_replica::StreamSource),
}

/// A replica's way to its primary, once started.
enum Following {
    /// Over HTTP: the connection and what the primary last said.
    Http(replica::Link, replica::Replication),
    /// A stream: where the replica is in it.
    #[cfg(feature = "nats")]
    Stream(stream_replica::StreamSource, stream_replica::Tail),
}

/// Where a served scenario's log is kept.
#[derive(Debug, Clone, Default)]
pub enum LogStore {
    /// The file in the data directory (fsync before a write is answered).
    #[default]
    File,
    /// A NATS JetStream stream (cargo feature `nats`): one writer at a time through a lease,
    /// the data directory's file a cache of the stream.
    #[cfg(feature = "nats")]
    JetStream(crate::log::jetstream::Target),
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// What to serve.
    pub source: Source,
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// The clock mode.
    pub clock: ClockMode,
    /// Initial clock (default: the log's end, or the scenario's start).
    pub at_ms: Option<TimeMs>,
    /// How writes become durable.
    pub commit: Commit,
    /// When a served scenario is snapshotted, and whether a restart may start from one.
    pub snapshots: Snapshots,
    /// Access keys; empty turns signature checks off.
    pub access_keys: Vec<AccessKey>,
    /// The bearer token every `/_cdnsim/` endpoint but `health` requires, if any.
    pub admin_token: Option<String>,
    /// Largest request body.
    pub body_bytes_max: usize,
    /// Request-body bytes held in memory across all connections at once; a request that
    /// would go over gets 503.
    pub body_budget_bytes: usize,
    /// Time allowed for a request body to arrive.
    pub body_timeout: Duration,
    /// A connection idle this long (before its first request, or between keep-alive
    /// requests) is closed.
    pub idle_timeout: Duration,
    /// A connection still sending one request's head this long after its first byte is
    /// closed (slow-header clients).
    pub header_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub connections_max: usize,
    /// How long shutdown waits for open requests.
    pub shutdown_grace: Duration,
    /// Logs a reset moves aside that are kept (`events.cdnlog.old.N`); older ones are removed.
    pub keep_old: usize,
    /// Serving a log: the scenario that made it, whose incidents and scripts the web timeline
    /// marks (checked against the log's fingerprint when the server starts).
    pub log_scenario: Option<Box<Scenario>>,
    /// Where a served scenario's log is kept.
    pub log_store: LogStore,
}

impl Config {
    /// How a served scenario's log is made durable and checkpointed.
    pub fn durability(&self) -> Durability {
        Durability {
            commit: self.commit,
            snapshots: self.snapshots,
        }
    }

    /// Defaults for everything but what to serve.
    pub fn new(source: Source) -> Config {
        Config {
            source,
            addr: SocketAddr::from(([127, 0, 0, 1], 18555)),
            clock: ClockMode::Manual,
            at_ms: None,
            commit: Commit::Group,
            snapshots: Snapshots::default(),
            access_keys: Vec::new(),
            admin_token: None,
            body_bytes_max: 8 * 1024 * 1024,
            body_budget_bytes: 64 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(10),
            connections_max: 1024,
            shutdown_grace: Duration::from_secs(10),
            keep_old: 10,
            log_scenario: None,
            log_store: LogStore::File,
        }
    }
}

/// Why the server cannot start or had to stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The state could not be prepared.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// A blocking task failed.
    #[error("internal error: {0}")]
    Join(String),
    /// Settings that contradict each other.
    #[error("{0}")]
    Config(String),
    /// A replica could not reach or follow its primary.
    #[error("{0}")]
    Follow(String),
}

/// Shared by every request.
pub struct App {
    /// The state of the current timeline (a reset replaces it): see [`App::engine`].
    engine: std::sync::RwLock<Arc<Engine>>,
    /// One reset at a time (held on the blocking thread that makes it).
    resetting: std::sync::Mutex<()>,
    /// Signature checks, when access keys are configured.
    pub verifier: Option<Verifier>,
    /// Counters.
    pub metrics: Metrics,
    /// Settings.
    pub config: Config,
    /// Open `/_cdnsim/events` streams (each holds a blocking thread while it runs).
    pub streams: Arc<Semaphore>,
    /// Request-body bytes that may be held in memory (one permit a byte).
    pub body_budget: Arc<Semaphore>,
    /// Why the live clock stopped, if it did (health reports it).
    pub clock_failure: std::sync::Mutex<Option<String>>,
    /// A read replica's primary and how far behind it is (`None` unless `--follow`).
    pub replica: Option<replica::Status>,
}

impl App {
    /// The current timeline's state. A request takes it once and answers from it alone, so an
    /// answer never mixes two timelines.
    pub fn engine(&self) -> Arc<Engine> {
        Arc::clone(&crate::locks::read(&self.engine))
    }

    /// A replica's new engine, caught up with a new log or timeline of its primary.
    pub fn replace_engine(&self, engine: Arc<Engine>) {
        *crate::locks::write(&self.engine) = engine;
    }

    /// The scenario being served, or the one that made the log being served when given.
    pub fn scenario(&self) -> Option<&Scenario> {
        match &self.config.source {
            Source::Scenario { scenario, .. } => Some(scenario),
            Source::Log(_) => self.config.log_scenario.as_deref(),
            Source::Follow(_) => None,
            #[cfg(feature = "nats")]
            Source::FollowStream(source) => Some(&source.scenario),
        }
    }

    /// Starts a new timeline (`POST /_cdnsim/reset`): the current one stops taking writes, its
    /// log is moved aside, and a new log starts at the scenario's start, or at `at_ms`.
    /// Requests already under way finish against the old timeline (a write caught by the reset
    /// answers 503). Blocking.
    pub fn reset(&self, at_ms: Option<TimeMs>) -> Result<Arc<Engine>, EngineError> {
        let Source::Scenario { scenario, .. } = &self.config.source else {
            return Err(EngineError::ReadOnly);
        };
        let _one_at_a_time = crate::locks::lock(&self.resetting);
        let old = self.engine();
        let new = Arc::new(old.renew(
            (**scenario).clone(),
            at_ms,
            self.config.durability(),
            self.config.keep_old,
        )?);
        new.follow_timeline(&old);
        *crate::locks::write(&self.engine) = Arc::clone(&new);
        old.wake_waiters();
        Ok(new)
    }
}

/// What a server serves, prepared: the engine (a log folded, a scenario resumed, or a
/// primary's log followed) and, for a replica, its connection to the primary.
async fn open(config: &Config) -> Result<(Engine, Option<Following>), ServeError> {
    let source = config.source.clone();
    let at_ms = config.at_ms;
    let durability = config.durability();
    let store = config.log_store.clone();
    let holder = format!(
        "cdnsim {} (pid {}, serving {})",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        config.addr
    );
    let (engine, follow) = match source {
        Source::Follow(primary) => {
            let (engine, link, rep) = replica::start(&primary).await.map_err(ServeError::Follow)?;
            (engine, Some(Following::Http(link, rep)))
        }
        #[cfg(feature = "nats")]
        Source::FollowStream(source) => {
            let (engine, tail) = stream_replica::start(&source)
                .await
                .map_err(ServeError::Follow)?;
            (engine, Some(Following::Stream(source, tail)))
        }
        source => {
            let opened = tokio::task::spawn_blocking(move || match source {
                Source::Log(path) => Engine::open_log(&path, at_ms),
                Source::Scenario {
                    scenario,
                    data_dir,
                    fresh,
                } => {
                    let backend = log_backend(&store, &holder)?;
                    Engine::open_scenario(*scenario, &data_dir, at_ms, fresh, durability, backend)
                }
                _ => Err(EngineError::ReadOnly),
            });
            let engine = opened
                .await
                .map_err(|e| ServeError::Join(e.to_string()))??;
            (engine, None)
        }
    };
    if let (Source::Log(path), Some(scenario)) = (&config.source, &config.log_scenario)
        && engine.model().origin().fingerprint != scenario.fingerprint()
    {
        return Err(ServeError::Config(format!(
            "{} was not made by the scenario given with it (their fingerprints differ): \
             give the scenario file the log was simulated from, or --log alone",
            path.display()
        )));
    }
    Ok((engine, follow))
}

/// The backend of `store` (`None`: the data directory's file); for a stream, once this
/// process holds its writer lease (it waits for it). Blocking.
fn log_backend(
    store: &LogStore,
    holder: &str,
) -> Result<Option<Arc<dyn crate::log::LogBackend>>, EngineError> {
    let _ = holder;
    match store {
        LogStore::File => Ok(None),
        #[cfg(feature = "nats")]
        LogStore::JetStream(target) => {
            tracing::info!(log = %target, "connecting to the log's stream");
            let backend = crate::log::jetstream::JetStreamBackend::connect_leased(target, holder)
                .map_err(crate::log::LogError::from)?;
            Ok(Some(Arc::new(backend)))
        }
    }
}

/// Records the clock in the log's stream every [`WATERMARK_EVERY`] while it moves, after
/// committing every record before it, so that replicas following the stream know how far
/// they may answer.
#[cfg_attr(not(feature = "nats"), allow(dead_code))]
async fn watermarks(app: Arc<App>) {
    let mut last = None;
    let mut ticks = tokio::time::interval(WATERMARK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let engine = app.engine();
        // Nothing to record (the common case) needs no blocking thread.
        if engine.is_stopped() || last == Some(engine.now_ms()) {
            continue;
        }
        match tokio::task::spawn_blocking(move || engine.watermark(last)).await {
            Ok(Ok(now)) => last = now,
            Ok(Err(e)) => tracing::error!(error = %e, "recording the clock in the stream failed"),
            Err(e) => tracing::error!(error = %e, "recording the clock in the stream failed"),
        }
    }
}

/// How often the clock is recorded in a stream while it moves.
pub const WATERMARK_EVERY: Duration = Duration::from_millis(100);

/// `/_cdnsim/events` streams open at once; more get 503.
pub const EVENT_STREAMS_MAX: usize = 8;

/// A bound server, not yet serving.
pub struct Server {
    app: Arc<App>,
    listener: TcpListener,
    /// A replica's connection to its primary and what it last said, for [`replica::follow`].
    follow: Option<Following>,
}

impl Server {
    /// Prepares the state (folding the log, or resuming the scenario) and binds.
    pub async fn bind(config: Config) -> Result<Server, ServeError> {
        let needed = config.body_bytes_max.saturating_mul(http::BODY_COPIES);
        if config.body_budget_bytes < needed {
            return Err(ServeError::Config(format!(
                "--body-budget {} cannot hold one body of --max-body {} (each byte counts {} for \
                 its decoded copies): give at least {needed}",
                config.body_budget_bytes,
                config.body_bytes_max,
                http::BODY_COPIES
            )));
        }
        let (engine, follow) = open(&config).await?;
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|source| ServeError::Bind {
                addr: config.addr,
                source,
            })?;
        if !config.access_keys.is_empty() && config.admin_token.is_none() {
            tracing::warn!(
                "signatures are checked but the admin endpoints under /_cdnsim/ are open to \
                 anyone: give --admin-token to protect them"
            );
        }
        let budget = config.body_budget_bytes.min(Semaphore::MAX_PERMITS);
        let replica = match &config.source {
            Source::Follow(primary) => Some(replica::Status {
                primary: primary.clone(),
                lag_events: std::sync::atomic::AtomicU64::new(0),
                problem: std::sync::Mutex::new(None),
            }),
            #[cfg(feature = "nats")]
            Source::FollowStream(source) => Some(replica::Status {
                primary: replica::Primary::stream(source.target.to_string()),
                lag_events: std::sync::atomic::AtomicU64::new(0),
                problem: std::sync::Mutex::new(None),
            }),
            _ => None,
        };
        let verifier = (!config.access_keys.is_empty())
            .then(|| Verifier::new(config.access_keys.iter().cloned()));
        Ok(Server {
            app: Arc::new(App {
                engine: std::sync::RwLock::new(Arc::new(engine)),
                resetting: std::sync::Mutex::new(()),
                verifier,
                metrics: Metrics::default(),
                config,
                streams: Arc::new(Semaphore::new(EVENT_STREAMS_MAX)),
                body_budget: Arc::new(Semaphore::new(budget)),
                clock_failure: std::sync::Mutex::new(None),
                replica,
            }),
            listener,
            follow,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr, std::io::Error> {
        self.listener.local_addr()
    }

    /// The shared state (for tests and embedding).
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Serves until `shutdown` completes, then stops gracefully and syncs the log.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        let Server {
            app,
            listener,
            follow,
        } = self;
        let background = Background::start(&app, follow);
        let conns = Arc::new(Conns::default());
        let reaper = tokio::spawn(
            Arc::clone(&conns).reap(app.config.idle_timeout, app.config.header_timeout),
        );
        let permits = Arc::new(Semaphore::new(app.config.connections_max.max(1)));
        let mut serving = Serving::new(&app, &conns);
        tokio::pin!(shutdown);
        loop {
            while serving.connections.try_join_next().is_some() {}
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little, go on.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            // Every slot taken and a client waiting: make room by closing an idle connection.
            let permit = match Arc::clone(&permits).try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    // Until a slot frees: ask again every 100 ms (a connection asked to close
                    // may have become busy; a busy one may have become idle).
                    let mut permit = None;
                    while permit.is_none() {
                        conns.evict_one();
                        tokio::select! {
                            () = &mut shutdown => break,
                            got = Arc::clone(&permits).acquire_owned() => match got {
                                Ok(got) => permit = Some(got),
                                Err(_) => break,
                            },
                            () = tokio::time::sleep(Duration::from_millis(100)) => {}
                        }
                    }
                    match permit {
                        Some(permit) => permit,
                        None => break,
                    }
                }
            };
            serving.spawn(stream, peer, permit);
        }
        drop(listener);
        reaper.abort();
        background.abort();
        shut_down(&app, serving.graceful, serving.connections).await
    }
}

/// The tasks a server runs beside its connections: a replica's follower, the live clock, the
/// stream's watermarks.
struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Background {
    fn start(app: &Arc<App>, follow: Option<Following>) -> Background {
        let mut tasks = Vec::new();
        match follow {
            Some(Following::Http(link, rep)) => {
                tasks.push(tokio::spawn(replica::follow(Arc::clone(app), link, rep)));
            }
            #[cfg(feature = "nats")]
            Some(Following::Stream(source, tail)) => {
                tasks.push(tokio::spawn(stream_replica::follow(
                    Arc::clone(app),
                    source,
                    tail,
                )));
            }
            None => {}
        }
        if let ClockMode::Live { speed } = app.config.clock {
            tasks.push(tokio::spawn(live_clock(Arc::clone(app), speed)));
        }
        #[cfg(feature = "nats")]
        if let LogStore::JetStream(_) = app.config.log_store {
            tasks.push(tokio::spawn(watermarks(Arc::clone(app))));
        }
        Background(tasks)
    }

    fn abort(self) {
        for task in self.0 {
            task.abort();
        }
    }
}

/// What serving a connection needs.
struct Serving {
    app: Arc<App>,
    conns: Arc<Conns>,
    builder: http1::Builder,
    graceful: GracefulShutdown,
    connections: tokio::task::JoinSet<()>,
}

impl Serving {
    fn new(app: &Arc<App>, conns: &Arc<Conns>) -> Serving {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            // A backstop: the connection registry closes idle and slow connections sooner.
            .header_read_timeout(app.config.idle_timeout + app.config.header_timeout)
            // The request head: room for the longest URI the `http` crate accepts (64 KiB;
            // longer gets hyper's own 414) plus headers.
            .max_buf_size(192 * 1024);
        Serving {
            app: Arc::clone(app),
            conns: Arc::clone(conns),
            builder,
            graceful: GracefulShutdown::new(),
            connections: tokio::task::JoinSet::new(),
        }
    }

    /// Serves one accepted connection on its own task, holding `permit` until it closes. Each
    /// request marks the connection busy until its response body is finished.
    fn spawn(&mut self, stream: TcpStream, peer: SocketAddr, permit: OwnedSemaphorePermit) {
        let _ = stream.set_nodelay(true);
        let slot = self.conns.open();
        let io = TokioIo::new(Watched::new(
            stream,
            Arc::clone(&self.conns),
            Arc::clone(&slot),
        ));
        let (conn_app, conn_conns, conn_slot) = (
            Arc::clone(&self.app),
            Arc::clone(&self.conns),
            Arc::clone(&slot),
        );
        let service = service_fn(move |req| {
            let busy = conn_conns.enter(&conn_slot);
            let app = Arc::clone(&conn_app);
            async move {
                let response = http::handle(app, req).await?;
                Ok::<_, Infallible>(response.map(|inner| BusyBody { inner, busy }.boxed()))
            }
        });
        let conn = self
            .graceful
            .watch(self.builder.serve_connection(io, service));
        let (app, conns) = (Arc::clone(&self.app), Arc::clone(&self.conns));
        app.metrics
            .connections_total
            .fetch_add(1, Ordering::Relaxed);
        app.metrics.connections_open.fetch_add(1, Ordering::Relaxed);
        self.connections.spawn(async move {
            tokio::select! {
                ended = conn => if let Err(e) = ended {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                },
                () = slot.closing() => tracing::debug!(%peer, "closed an idle or slow connection"),
            }
            conns.closed(&slot);
            app.metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
}

/// Lets open requests finish (up to the grace period), cuts the rest, and syncs the log:
/// nothing may write after the final sync.
async fn shut_down(
    app: &Arc<App>,
    graceful: GracefulShutdown,
    mut connections: tokio::task::JoinSet<()>,
) -> Result<(), ServeError> {
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(app.config.shutdown_grace) => {
            tracing::warn!("shutdown grace period over; closing open connections");
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    let engine = app.engine();
    tokio::task::spawn_blocking(move || {
        // A stream's replicas learn the final clock too.
        if !engine.can_restart()
            && !engine.is_stopped()
            && let Err(e) = engine.watermark(None)
        {
            tracing::error!(error = %e, "recording the final clock in the stream failed");
        }
        engine.sync()
    })
    .await
    .map_err(|e| ServeError::Join(e.to_string()))??;
    Ok(())
}

/// The current timeline's clock.
fn engine_now(app: &App) -> TimeMs {
    app.engine().now_ms()
}

/// Moves the clock with wall time: every tick, to start + speed × elapsed (both taken anew
/// when a reset starts a new timeline).
async fn live_clock(app: Arc<App>, speed: f64) {
    const TICK: Duration = Duration::from_millis(50);
    let mut engine = app.engine();
    let mut start_ms = engine.now_ms();
    // The live clock is the one place where wall time drives virtual time, by design.
    let mut started = tokio::time::Instant::now();
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let current = app.engine();
        if !Arc::ptr_eq(&current, &engine) {
            (engine, start_ms, started) = (current, engine_now(&app), tokio::time::Instant::now());
        }
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3 * speed;
        // `as` saturates; advance_to stops the clock at the end of the timeline.
        let to_ms = start_ms.saturating_add(elapsed_ms as TimeMs);
        let engine = Arc::clone(&engine);
        let failure = match tokio::task::spawn_blocking(move || engine.advance_to(to_ms)).await {
            Ok(Ok(())) => continue,
            // A reset is replacing this timeline: the next tick moves the new one.
            Ok(Err(EngineError::Retired)) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        tracing::error!(error = %failure, "the live clock stopped");
        *crate::locks::lock(&app.clock_failure) = Some(failure);
        return;
    }
}
