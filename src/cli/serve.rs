//! `cdnsim serve`: the CDN API over HTTP, as of the server's clock.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{CliError, Outcome};
use crate::api::signature::AccessKey;
use crate::scenario::Scenario;
use crate::server::{ClockMode, Commit, Config, Server, Snapshots, Source};
use crate::time::parse_rfc3339;

/// The fastest live clock: a million virtual seconds per wall second.
const SPEED_MAX: f64 = 1e6;

/// Serve the CDN API over HTTP — DescribeRefreshTasks, DescribeRefreshTaskById,
/// RefreshObjectCaches, PushObjectCache, DescribeRefreshQuota — answering as of the server's
/// clock, for the official SDKs, curl or any HTTP client.
///
/// With --scenario the scenario is simulated as the clock moves and its log kept in the data
/// directory; writes create rows at the clock and are answered once on disk; starting again
/// with the same scenario (even after a crash) re-runs it with the recorded writes, checks it
/// reproduces the log and resumes — from the newest snapshot (--snapshot-every) that matches
/// the log, so only the records after it are re-run. With --log a finished log is served read-only. The first
/// line on stdout is `listening on http://HOST:PORT`; stderr gets one line per request (time,
/// method, action, status, microseconds; written in batches, at most 100 ms late;
/// RUST_LOG=warn silences them; no colours off a terminal or with NO_COLOR). SIGINT or
/// SIGTERM stops the server gracefully: open requests finish and the log is synced.
///
/// The clock is manual by default: it moves only with `POST /_cdnsim/clock` and a body such
/// as {"advance":"5m"} or {"to":"2026-11-20T10:00:00Z"}. A request may ask for an earlier
/// time with the header `x-cdnsim-replay-time: <RFC 3339>`. Admin endpoints: GET
/// /_cdnsim/clock, /_cdnsim/events?after=SEQ&limit=N (format=frames for replicas),
/// /_cdnsim/replication (what a replica follows), /_cdnsim/health, /_cdnsim/metrics,
/// /_cdnsim/stats (status counts per time bucket), /_cdnsim/history?task_id=ID (a task's
/// transitions), /_cdnsim/scenario (span, domains, incidents, scripts);
/// POST /_cdnsim/reset (start the scenario over); POST, GET and DELETE /_cdnsim/rules
/// (rules that force the outcome of the rows you submit, e.g. {"name":"origin-down",
/// "match":{"domain":"img.example.com"},"outcome":"failed","reason":"origin_timeout"}, or make
/// an action answer an error, e.g. {"name":"busy","action":"RefreshObjectCaches",
/// "error":"Throttling.User","times":2}; the README's "Testing your app" has them all).
///
/// With --follow http://PRIMARY it serves a read replica of another cdnsim server: the
/// primary's answers, byte for byte, as of the primary's clock as far as it has applied it. A
/// write's answer carries `x-cdnsim-log-seq: N`; a read sent with `x-cdnsim-after-seq: N` to a
/// replica waits (up to 5 s) until the replica has applied that write.
///
/// In a build with the `nats` feature, --log-backend nats://HOST:PORT/SIM keeps the log in a
/// NATS JetStream stream (one writer at a time through a lease; a second server on the same
/// SIM waits and takes over), and --follow nats://HOST:PORT/SIM --scenario S serves a replica
/// of such a stream.
///
/// The web timeline is at /_cdnsim/ui: open it in a browser for a chart of the whole run, a
/// replay-time scrubber, the task table as the API answers it at that time, a task's history
/// and the quota; it follows a moving clock.
///
/// Example: cdnsim serve --scenario scenarios/quickstart.toml, then curl
/// 'http://127.0.0.1:18555/?Action=DescribeRefreshTasks&Format=JSON'
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("source").required(true).multiple(true).args(["scenario", "log", "follow"]))]
pub(super) struct Args {
    /// A scenario to simulate and serve (its log goes into --data-dir). With --log: the
    /// scenario that made the log, for the web timeline's incident and script marks.
    #[arg(long, value_name = "SCENARIO")]
    scenario: Option<PathBuf>,
    /// A finished log (`*.cdnlog`) to serve read-only: write actions answer 403.
    #[arg(long, value_name = "LOG")]
    log: Option<PathBuf>,
    /// Serve a read replica of the cdnsim server at this address (http://HOST:PORT): it folds
    /// the primary's log as it grows and answers reads as the primary does, as of the
    /// primary's clock as far as it has applied it; writes, clock moves, rules and resets
    /// answer 403 naming the primary. In a build with the `nats` feature it may follow a
    /// stream instead, nats://HOST:PORT[,HOST:PORT...]/SIM, with --scenario naming the
    /// scenario that made its log.
    #[arg(long, value_name = "URL")]
    follow: Option<String>,
    /// The primary's --admin-token, when it has one (a replica reads its events with it).
    #[arg(long, value_name = "TOKEN", requires = "follow")]
    follow_token: Option<String>,
    /// Where to listen; port 0 picks a free one.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:18555")]
    addr: SocketAddr,
    /// Where a scenario's log lives (default: cdnsim-data/<scenario file name without .toml>).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Keep the scenario's log in a NATS JetStream stream, nats://HOST:PORT[,HOST:PORT...]/SIM,
    /// instead of the data directory (which then holds a cache of it). One server writes at
    /// a time: others wait for its lease and take over when it dies, after re-running the
    /// scenario against the stream. Writes are answered once the cluster has acknowledged
    /// them; the clock is recorded in the stream for replicas (--follow nats://…).
    #[cfg(feature = "nats")]
    #[arg(long, value_name = "URL", requires = "scenario")]
    log_backend: Option<String>,
    /// Move an existing log in the data directory aside (to events.cdnlog.old.N, never
    /// overwriting) and start over.
    #[arg(long)]
    fresh: bool,
    /// Keep the data in a temporary directory removed when the server stops (for CI: no
    /// state survives the run). Not with --data-dir or --fresh.
    #[arg(long)]
    ephemeral: bool,
    /// Old logs (events.cdnlog.old.N, moved aside by --fresh or a reset) that a reset keeps,
    /// the newest ones; older ones are removed (0 keeps none).
    #[arg(long, value_name = "N", default_value_t = 10)]
    keep_old: usize,
    /// manual: time moves only with POST /_cdnsim/clock (deterministic); live: virtual time
    /// runs --speed times wall time.
    #[arg(long, value_enum, default_value_t = ClockArg::Manual)]
    clock: ClockArg,
    /// Virtual seconds per wall second with --clock live: above 0, at most 1000000. The
    /// clock stops at the end of the timeline, 9999-12-31T23:59:59.999Z.
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    speed: f64,
    /// Initial clock, RFC 3339. With --log: any time (default: the log's last event). With
    /// --scenario: default the scenario's start, and never before it, its log's last event or
    /// (with --log-backend) the clock recorded in its stream.
    #[arg(long, value_name = "T")]
    at: Option<String>,
    /// Turn on signature checks (V1 HMAC-SHA1 and V3 ACS3-HMAC-SHA256) with this key;
    /// repeatable. Without it any credentials pass.
    #[arg(long = "access-key", value_name = "ID:SECRET")]
    access_keys: Vec<AccessKey>,
    /// Require `Authorization: Bearer TOKEN` on every /_cdnsim/ endpoint but health (else
    /// 401; the web timeline asks for it in a sign-in form and keeps a cookie, which opens
    /// changes only from the page itself). Without it
    /// they are open; with --access-key, start-up warns about that. The token also stands in
    /// for a signature on the API's reads, so the web timeline works with --access-key.
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,
    /// How writes become durable before they are answered: group (concurrent writes share
    /// one fsync) or per-write (each write fsyncs alone; slower, for comparison).
    #[arg(long, value_enum, default_value_t = CommitArg::Group)]
    commit: CommitArg,
    /// With --scenario: snapshot the simulator and the task state into the data directory's
    /// snapshots/ once N records have been logged since the last one (checked at the end of
    /// each clock move or write) and at a clean stop, so that a restart re-runs only the
    /// records after the newest snapshot that matches the log; 0 writes none.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    snapshot_every: u64,
    /// With --scenario: at start-up, re-run the whole log from its first record and compare
    /// every record, ignoring snapshots (slower; proves the log from the start).
    #[arg(long)]
    verify_full: bool,
    /// Largest request body, bytes (larger: 413).
    #[arg(long, value_name = "BYTES", default_value_t = 8 * 1024 * 1024)]
    max_body: usize,
    /// Connections served at once. At the cap, a new client is served by closing the
    /// connection idle the longest (never one being answered); if all are busy it waits.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
    /// Close a connection idle this long (before its first request or between keep-alive
    /// requests); also bounds the wait for a request body and for a stalled event stream.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    idle_timeout: Duration,
    /// Close a connection that takes longer than this to send one request head, from its first
    /// byte (slow-header clients).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    header_timeout: Duration,
    /// Request-body bytes held in memory at once across all connections, as they arrive (each
    /// byte counts 4, for its decoded copies: at least 4 x --max-body); a request that would go
    /// over gets 503 ServiceUnavailable at once.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    body_budget: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CommitArg {
    Group,
    PerWrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ClockArg {
    Manual,
    Live,
}

impl Args {
    fn config(&self, ephemeral: Option<&Path>) -> Result<Config, CliError> {
        let (source, log_scenario) = self.source(ephemeral)?;
        let clock = match self.clock {
            ClockArg::Manual => ClockMode::Manual,
            ClockArg::Live if self.speed > 0.0 && self.speed <= SPEED_MAX => {
                ClockMode::Live { speed: self.speed }
            }
            ClockArg::Live => {
                return Err(CliError::Usage(format!(
                    "--speed {} must be a number above 0 and at most {SPEED_MAX}",
                    self.speed
                )));
            }
        };
        let at_ms = match &self.at {
            Some(text) => Some(parse_rfc3339(text).ok_or_else(|| {
                CliError::Usage(format!(
                    "--at {text:?} is not an RFC 3339 time {}",
                    crate::time::RANGE
                ))
            })?),
            None => None,
        };
        let mut config = Config::new(source);
        config.addr = self.addr;
        config.clock = clock;
        config.at_ms = at_ms;
        config.access_keys = self.access_keys.clone();
        config.admin_token = match &self.admin_token {
            Some(token) if token.is_empty() || token.chars().any(char::is_whitespace) => {
                return Err(CliError::Usage(
                    "--admin-token must be non-empty and without white space".into(),
                ));
            }
            token => token.clone(),
        };
        config.commit = match self.commit {
            CommitArg::Group => Commit::Group,
            CommitArg::PerWrite => Commit::PerWrite,
        };
        config.snapshots = Snapshots {
            every: self.snapshot_every,
            verify_full: self.verify_full,
        };
        config.body_bytes_max = self.max_body;
        config.connections_max = self.max_connections;
        config.idle_timeout = self.idle_timeout;
        config.header_timeout = self.header_timeout;
        config.body_budget_bytes = self.body_budget;
        config.body_timeout = self.idle_timeout;
        config.keep_old = self.keep_old;
        config.log_scenario = log_scenario;
        #[cfg(feature = "nats")]
        if let Some(url) = &self.log_backend {
            if self.fresh {
                return Err(CliError::Usage(
                    "--fresh moves a log file aside; a stream keeps its log whole: serve \
                     another SIM to start over"
                        .into(),
                ));
            }
            let target = crate::log::jetstream::Target::parse(url)
                .map_err(|e| CliError::Usage(format!("--log-backend: {e}")))?;
            config.log_store = crate::server::LogStore::JetStream(target);
        }
        Ok(config)
    }
}

impl Args {
    /// What to serve: `--scenario` (with its data directory; under `ephemeral`, when given)
    /// or `--log` (with the scenario that made it, when given too).
    fn source(
        &self,
        ephemeral: Option<&Path>,
    ) -> Result<(Source, Option<Box<Scenario>>), CliError> {
        if let Some(url) = self.follow.as_deref().filter(|u| u.starts_with("nats://")) {
            return self.follow_stream(url);
        }
        if let Some(url) = &self.follow {
            let alone = self.scenario.is_none()
                && self.log.is_none()
                && self.data_dir.is_none()
                && !self.fresh
                && !self.ephemeral
                && self.at.is_none()
                && self.clock == ClockArg::Manual;
            if !alone {
                return Err(CliError::Usage(
                    "--follow serves the primary's log at the primary's clock: not with \
                     --scenario, --log, --data-dir, --fresh, --ephemeral, --at or --clock"
                        .into(),
                ));
            }
            let primary = crate::server::replica::Primary::parse(url, self.follow_token.clone())
                .map_err(CliError::Usage)?;
            return Ok((Source::Follow(primary), None));
        }
        match (&self.scenario, &self.log) {
            (Some(path), None) => {
                if self.ephemeral && (self.data_dir.is_some() || self.fresh) {
                    return Err(CliError::Usage(
                        "--ephemeral keeps its data in a temporary directory: not with \
                         --data-dir or --fresh"
                            .into(),
                    ));
                }
                let scenario = Scenario::load(path)?;
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "scenario".into());
                let data_dir = match (ephemeral, &self.data_dir) {
                    (Some(dir), _) => dir.to_owned(),
                    (None, Some(dir)) => dir.clone(),
                    (None, None) => PathBuf::from("cdnsim-data").join(stem),
                };
                let source = Source::Scenario {
                    scenario: Box::new(scenario),
                    data_dir,
                    fresh: self.fresh,
                };
                Ok((source, None))
            }
            (scenario, Some(path)) => {
                if self.data_dir.is_some() || self.fresh || self.ephemeral {
                    return Err(CliError::Usage(
                        "--data-dir, --fresh and --ephemeral go with --scenario alone, not with \
                         --log"
                            .into(),
                    ));
                }
                let scenario = scenario.as_deref().map(Scenario::load).transpose()?;
                Ok((Source::Log(path.clone()), scenario.map(Box::new)))
            }
            _ => Err(CliError::Usage("give one of --scenario and --log".into())),
        }
    }
}

impl Args {
    /// `--follow nats://…/SIM --scenario S`: a replica of a stream.
    #[cfg(feature = "nats")]
    fn follow_stream(&self, url: &str) -> Result<(Source, Option<Box<Scenario>>), CliError> {
        let alone = self.log.is_none()
            && self.data_dir.is_none()
            && !self.fresh
            && !self.ephemeral
            && self.at.is_none()
            && self.clock == ClockArg::Manual
            && self.follow_token.is_none()
            && self.log_backend.is_none();
        let scenario = match (&self.scenario, alone) {
            (Some(scenario), true) => Scenario::load(scenario)?,
            _ => {
                return Err(CliError::Usage(
                    "--follow nats://…/SIM serves the stream's log at its writer's clock: give \
                     --scenario (the scenario that made it) and nothing of --log, --data-dir, \
                     --fresh, --ephemeral, --at, --clock, --follow-token or --log-backend"
                        .into(),
                ));
            }
        };
        let target = crate::log::jetstream::Target::parse(url)
            .map_err(|e| CliError::Usage(format!("--follow: {e}")))?;
        let source = crate::server::stream_replica::StreamSource {
            target,
            scenario: Box::new(scenario),
        };
        Ok((Source::FollowStream(source), None))
    }

    /// Without the `nats` feature there is no stream to follow.
    #[cfg(not(feature = "nats"))]
    fn follow_stream(&self, url: &str) -> Result<(Source, Option<Box<Scenario>>), CliError> {
        Err(CliError::Usage(format!(
            "--follow {url}: this cdnsim was built without the nats feature (cargo build \
             --features nats)"
        )))
    }
}

pub(super) fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome, CliError> {
    // Removed when it is dropped, at the end of this function.
    let ephemeral = match args.ephemeral {
        true => Some(tempfile::Builder::new().prefix("cdnsim-").tempdir()?),
        false => None,
    };
    let config = args.config(ephemeral.as_ref().map(|d| d.path()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::bind(config).await?;
        let addr = server.local_addr()?;
        // Listen for signals before saying we listen: a SIGTERM right after the line must
        // still stop the server gracefully.
        let shutdown = shutdown_signal()?;
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
        server.run(shutdown).await?;
        tracing::info!("stopped");
        Ok(Outcome::Ok)
    })
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM; the handlers are in place when this returns.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    })
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
