//! Read replicas: `cdnsim serve --follow http://PRIMARY`.
//!
//! A replica keeps one HTTP/1.1 connection to its primary and asks `GET /_cdnsim/replication`
//! (the log's origin, the account, the timeline, the clock and how many records the primary
//! has applied) — saying what it has, so that the primary answers as soon as that changes (a
//! long poll of up to [`WAIT`]) — then `GET /_cdnsim/events?after=N&format=frames` for the
//! records it lacks, in pages. It applies the records up to the primary's clock and only
//! then moves its own clock there, so it never answers as of a time it has not fully applied;
//! its answers are the primary's, byte for byte (RequestIds included), at the same time.
//!
//! Its state is tied to that connection and to the primary's timeline: when the connection
//! is lost (the primary restarts), the primary resets, or the log is another one, the replica
//! reconnects with backoff and folds the primary's log from the start into a new engine, which
//! replaces the old one once it has caught up; meanwhile the old one keeps answering.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};

use super::App;
use super::engine::Engine;
use crate::event::TimeMs;
use crate::model::{Account, Origin};
use crate::scenario::{Limits, Quotas};

/// Shortest wait between two attempts to reach a lost primary.
pub const POLL: Duration = Duration::from_millis(50);
/// Longest a primary holds a replica's question while nothing changes.
pub const WAIT: Duration = Duration::from_secs(1);
/// Longest wait a replica may ask for.
pub const WAIT_MAX: Duration = Duration::from_secs(5);
/// Longest a replica waits for one answer (a long poll included) before it calls the
/// primary lost.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer a replica takes (a page of records is far smaller).
const BODY_BYTES_MAX: usize = 256 * 1024 * 1024;
/// Records asked for at once.
const PAGE: u64 = 50_000;
/// Longest wait between two attempts to reach a lost primary.
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Where a replica's primary is.
#[derive(Debug, Clone)]
pub struct Primary {
    /// As given: `http://HOST:PORT`.
    pub url: String,
    /// `HOST:PORT`.
    authority: String,
    /// The primary's admin token, when it has one.
    pub token: Option<String>,
}

impl Primary {
    /// A stream followed as the primary (`nats://…/SIM`): named in answers and health.
    pub fn stream(url: String) -> Primary {
        Primary {
            url,
            authority: String::new(),
            token: None,
        }
    }

    /// Checks `http://HOST:PORT` (a trailing slash is fine).
    pub fn parse(url: &str, token: Option<String>) -> Result<Primary, String> {
        let authority = url
            .strip_prefix("http://")
            .map(|rest| rest.trim_end_matches('/'))
            .filter(|a| !a.is_empty() && !a.contains('/') && a.contains(':'))
            .ok_or_else(|| {
                format!("--follow {url:?}: expected http://HOST:PORT (the primary's address)")
            })?;
        Ok(Primary {
            url: format!("http://{authority}"),
            authority: authority.to_owned(),
            token,
        })
    }
}

/// What a replica reports about itself (health, metrics).
#[derive(Debug)]
pub struct Status {
    /// The primary.
    pub primary: Primary,
    /// Records the primary has applied that this replica has not.
    pub lag_events: AtomicU64,
    /// Why the replica is not following right now, if it is not.
    pub problem: std::sync::Mutex<Option<String>>,
}

/// `GET /_cdnsim/replication`: what a replica needs to follow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Replication {
    /// The log's scenario fingerprint, hex.
    pub fingerprint: String,
    /// The log's seed.
    pub seed: u64,
    /// Which timeline (resets since the primary started).
    pub timeline: u64,
    /// The primary's clock, ms.
    pub now_ms: TimeMs,
    /// Records the primary has applied.
    pub events: u64,
    /// The account the API answers for.
    pub account: AccountJson,
}

/// The account, as it travels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountJson {
    /// Domains, in scenario order.
    pub domains: Vec<String>,
    /// Daily quotas.
    pub quotas: Quotas,
    /// API limits.
    pub limits: Limits,
}

impl Replication {
    /// What the primary `app` says.
    pub fn of(app: &App) -> Replication {
        let engine = app.engine();
        // The model first: while it is held no record is applied, and the clock only moves
        // past records once they are applied, so the clock read next covers no record the
        // count misses (the count may have some past it: the replica applies them anyway).
        let model = engine.model();
        let now_ms = engine.now_ms();
        let origin = model.origin();
        let account = model.account();
        Replication {
            fingerprint: origin
                .fingerprint
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            seed: origin.seed,
            timeline: engine.timeline(),
            now_ms,
            events: model.event_count(),
            account: AccountJson {
                domains: account.domains.clone(),
                quotas: account.quotas.clone(),
                limits: account.limits.clone(),
            },
        }
    }

    fn origin(&self) -> Result<Origin, String> {
        let bytes: Vec<u8> = (0..self.fingerprint.len())
            .step_by(2)
            .map(|i| {
                self.fingerprint
                    .get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<_>>()
            .ok_or("the primary's fingerprint is not hex")?;
        let fingerprint = <[u8; 32]>::try_from(bytes)
            .map_err(|_| "the primary's fingerprint is not 32 bytes".to_owned())?;
        Ok(Origin {
            fingerprint,
            seed: self.seed,
        })
    }

    /// The account, checked where the API computes with it.
    fn account(&self) -> Result<Account, String> {
        let limits = &self.account.limits;
        let day = 24 * 3600 * 1000;
        if !(1..=3650 * day).contains(&limits.history_ms)
            || limits.page_size_max == 0
            || limits.page_number_max == 0
            || limits.task_ids_per_query == 0
        {
            return Err("the primary's account limits are out of range".into());
        }
        Ok(Account {
            domains: self.account.domains.clone(),
            quotas: self.account.quotas.clone(),
            limits: limits.clone(),
        })
    }

    /// The same log and timeline as `other`.
    fn same_log(&self, other: &Replication) -> bool {
        (&self.fingerprint, self.seed, self.timeline)
            == (&other.fingerprint, other.seed, other.timeline)
    }
}

/// One connection to the primary.
pub struct Link {
    primary: Primary,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Link {
    /// Connects to the primary.
    pub async fn connect(primary: &Primary) -> Result<Link, String> {
        let connecting = tokio::net::TcpStream::connect(&primary.authority);
        let stream = tokio::time::timeout(ANSWER_TIMEOUT, connecting)
            .await
            .map_err(|_| format!("cannot reach the primary {}: timed out", primary.url))?
            .map_err(|e| format!("cannot reach the primary {}: {e}", primary.url))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("cannot talk to the primary {}: {e}", primary.url))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "the connection to the primary ended");
            }
        });
        Ok(Link {
            primary: primary.clone(),
            sender,
        })
    }

    /// `GET path` on the primary: the body of a 200, else an error naming the answer. Gives
    /// up after [`ANSWER_TIMEOUT`]; a body over [`BODY_BYTES_MAX`] is an error.
    async fn get(&mut self, path: &str) -> Result<Bytes, String> {
        match tokio::time::timeout(ANSWER_TIMEOUT, self.get_now(path)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!(
                "the primary {} did not answer {path} within {ANSWER_TIMEOUT:?}",
                self.primary.url
            )),
        }
    }

    async fn get_now(&mut self, path: &str) -> Result<Bytes, String> {
        let mut req = Request::get(format!("{}{path}", self.primary.url))
            .header("host", &self.primary.authority);
        if let Some(token) = &self.primary.token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req.body(Full::default()).map_err(|e| e.to_string())?;
        let lost =
            |e: &dyn std::fmt::Display| format!("lost the primary {}: {e}", self.primary.url);
        self.sender.ready().await.map_err(|e| lost(&e))?;
        let response = self.sender.send_request(req).await.map_err(|e| lost(&e))?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), BODY_BYTES_MAX)
            .collect()
            .await
            .map_err(|e| lost(&e))?
            .to_bytes();
        if status != StatusCode::OK {
            let text: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            return Err(format!(
                "the primary {} answered {status} to {path}: {text}",
                self.primary.url
            ));
        }
        Ok(body)
    }

    /// The primary's state; with `seen` (the replica's clock and record count), once it
    /// differs from that, or after [`WAIT`].
    async fn replication(&mut self, seen: Option<(TimeMs, u64)>) -> Result<Replication, String> {
        let path = match seen {
            None => "/_cdnsim/replication".to_owned(),
            Some((now_ms, events)) => format!(
                "/_cdnsim/replication?now_ms={now_ms}&events={events}&wait_ms={}",
                WAIT.as_millis()
            ),
        };
        let body = self.get(&path).await?;
        serde_json::from_slice(&body).map_err(|e| {
            format!(
                "the primary {} is not a cdnsim this replica can follow: {e}",
                self.primary.url
            )
        })
    }
}

/// How a round ended.
enum Round {
    /// The replica is at the primary's clock; the records it still lacks.
    CaughtUp(u64),
    /// Another log, or another timeline: start over.
    NewLog,
}

/// Brings `engine` to what `rep` (just asked) says the primary holds: every record it has
/// applied, then its clock. `Ok(false)`: some of those records are not readable yet (a write
/// on its way to the disk), so the clock stays where it was until a later round.
async fn catch_up(
    link: &mut Link,
    engine: &Arc<Engine>,
    rep: &Replication,
) -> Result<bool, String> {
    loop {
        let applied = engine.model().event_count();
        if applied >= rep.events {
            engine.follow_clock(rep.now_ms);
            return Ok(true);
        }
        let after = match applied {
            0 => String::new(),
            n => format!("after={}&", n - 1),
        };
        let path = format!(
            "/_cdnsim/events?{after}limit={PAGE}&format=frames&timeline={}",
            rep.timeline
        );
        let body = link.get(&path).await?;
        if body.is_empty() {
            return Ok(false);
        }
        let engine = Arc::clone(engine);
        let applying = tokio::task::spawn_blocking(move || engine.apply_frames(&body));
        applying.await.map_err(|e| e.to_string())??;
    }
}

/// One round: the primary's clock and the records up to it.
async fn round(
    link: &mut Link,
    engine: &Arc<Engine>,
    known: &Replication,
) -> Result<Round, String> {
    let seen = (engine.now_ms(), engine.model().event_count());
    let rep = link.replication(Some(seen)).await?;
    if !rep.same_log(known) || rep.events < engine.model().event_count() {
        return Ok(Round::NewLog);
    }
    if !catch_up(link, engine, &rep).await? {
        // Not readable yet: a moment, not a long poll (the counts already differ).
        tokio::time::sleep(POLL / 10).await;
    }
    let lag = rep.events.saturating_sub(engine.model().event_count());
    Ok(Round::CaughtUp(lag))
}

/// Connects and folds the primary's log up to its clock: a new replica engine, which never
/// answers before it is at the primary's clock.
pub async fn start(primary: &Primary) -> Result<(Engine, Link, Replication), String> {
    let mut link = Link::connect(primary).await?;
    let first = link.replication(None).await?;
    let engine = Arc::new(Engine::follower(first.origin()?, first.account()?));
    let mut rep = first.clone();
    while !catch_up(&mut link, &engine, &rep).await? {
        tokio::time::sleep(POLL / 10).await;
        let seen = (engine.now_ms(), engine.model().event_count());
        rep = link.replication(Some(seen)).await?;
        if !rep.same_log(&first) {
            return Err(format!(
                "the primary {} was reset while this replica started",
                primary.url
            ));
        }
    }
    let engine =
        Arc::try_unwrap(engine).map_err(|_| "the new replica is still shared".to_owned())?;
    Ok((engine, link, rep))
}

/// Follows the primary until the server stops, round after round (each a long poll); on a
/// lost connection, a reset or another log, a new engine folded from the start replaces the
/// current one.
pub async fn follow(app: Arc<App>, mut link: Link, mut known: Replication) {
    let Some(status) = app.replica.as_ref() else {
        return;
    };
    let mut backoff = POLL;
    loop {
        let engine = app.engine();
        match round(&mut link, &engine, &known).await {
            Ok(Round::CaughtUp(lag)) => {
                status.lag_events.store(lag, Ordering::Release);
                *crate::locks::lock(&status.problem) = None;
                backoff = POLL;
                continue;
            }
            Ok(Round::NewLog) => {
                tracing::info!("the primary's log changed: following it anew");
                *crate::locks::lock(&status.problem) =
                    Some("the primary's log changed: folding it anew".into());
            }
            Err(problem) => {
                tracing::warn!("{problem}; reconnecting in {backoff:?}");
                *crate::locks::lock(&status.problem) = Some(problem);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
        match start(&status.primary).await {
            Ok((engine, new_link, rep)) => {
                app.replace_engine(Arc::new(engine));
                (link, known) = (new_link, rep);
                *crate::locks::lock(&status.problem) = None;
            }
            Err(problem) => {
                tracing::warn!("{problem}; trying again in {backoff:?}");
                *crate::locks::lock(&status.problem) = Some(problem);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_primary_is_an_http_address() {
        let p = Primary::parse("http://127.0.0.1:18555/", None).expect("valid");
        assert_eq!(
            (p.url.as_str(), p.authority.as_str()),
            ("http://127.0.0.1:18555", "127.0.0.1:18555")
        );
        for bad in [
            "127.0.0.1:18555",
            "https://a:1",
            "http://",
            "http://a:1/x",
            "http://host",
        ] {
            let e = Primary::parse(bad, None).expect_err(bad);
            assert!(e.contains("--follow"), "{e}");
        }
    }
}
