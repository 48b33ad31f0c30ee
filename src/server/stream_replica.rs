//! Read replicas of a stream: `cdnsim serve --follow nats://…/SIM --scenario S` (cargo
//! feature `nats`).
//!
//! The replica reads the stream's header message, checks that `S` made the log (its
//! fingerprint and seed; the scenario also gives the account's quotas), then folds the
//! stream with an ordered consumer: `events` messages are applied a whole batch at a time,
//! and `clock` messages — the writer's watermarks, each after every record at or before it —
//! move the replica's clock. So a replica never answers as of a time it has not fully
//! applied, and its answers are the writer's, byte for byte. A stream without watermarks (a
//! log published or simulated into it) is served at its last event once read to its end.
//! When the consumer fails (a server lost), the replica goes on from the next message, with
//! backoff; records that do not continue its model (another log in a stream of the same
//! name) make it fold the stream anew.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;

use super::App;
use super::engine::Engine;
use crate::log::Header;
use crate::log::jetstream::{Target, parse_clock};
use crate::model::{Account, Origin};
use crate::scenario::Scenario;

/// Shortest wait before following again after a failure.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
/// Longest wait before following again after a failure.
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The most bytes of an unfinished batch a replica keeps (a batch is far smaller).
const PARTIAL_BYTES_MAX: usize = 64 * 1024 * 1024;

/// What a stream replica follows.
#[derive(Debug, Clone)]
pub struct StreamSource {
    /// The stream.
    pub target: Target,
    /// The scenario that made its log (checked against the header).
    pub scenario: Box<Scenario>,
}

/// Where a replica is in the stream.
#[derive(Debug)]
pub struct Tail {
    js: jetstream::Context,
    target: Target,
    /// The stream sequence to read next.
    next: u64,
    /// The log's format version.
    version: u16,
    /// Frames of a batch whose end is in a later message.
    partial: Vec<u8>,
    /// A watermark was seen.
    watermarked: bool,
}

/// Why a replica stopped following for now.
enum Problem {
    /// The connection or the consumer failed: go on from the next message.
    Lost(String),
    /// The records do not continue the model: fold anew.
    Diverged(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Lost(why) | Problem::Diverged(why) => f.write_str(why),
        }
    }
}

/// Connects, checks the header against the scenario, and folds the stream as far as it went
/// when asked: a new replica engine and where it is.
pub async fn start(source: &StreamSource) -> Result<(Engine, Tail), String> {
    let target = &source.target;
    let js = crate::log::jetstream::connect(target)
        .await
        .map_err(|e| e.to_string())?;
    let mut stream = js
        .get_stream(target.stream())
        .await
        .map_err(|e| format!("{target}: {e}"))?;
    let end = stream
        .info()
        .await
        .map_err(|e| format!("{target}: {e}"))?
        .state
        .last_sequence;
    if end == 0 {
        return Err(format!("{target}: the stream holds no log yet"));
    }
    let first = stream
        .get_raw_message(1)
        .await
        .map_err(|e| format!("{target}: {e}"))?;
    let header = Header::parse(&first.payload).map_err(|problem| {
        let place = format!("{target}: the stream's first message");
        crate::log::LogError::from_header(std::path::Path::new(&place), problem).to_string()
    })?;
    let scenario = &source.scenario;
    if header.scenario_fingerprint != scenario.fingerprint() || header.seed != scenario.seed {
        return Err(format!(
            "{target} holds the log of another scenario or seed (fingerprint {}, seed {}): give \
             --scenario the scenario file that made it",
            header.fingerprint_hex(),
            header.seed
        ));
    }
    let origin = Origin {
        fingerprint: header.scenario_fingerprint,
        seed: header.seed,
    };
    let engine = Engine::follower(origin, Account::of(scenario));
    let mut tail = Tail {
        js,
        target: target.clone(),
        next: 2,
        version: header.format_version,
        partial: Vec::new(),
        watermarked: false,
    };
    if end >= tail.next {
        tail.consume(&engine, Some(end), None)
            .await
            .map_err(|p| p.to_string())?;
    }
    if !tail.watermarked {
        engine.follow_clock(engine.model().last_ms().unwrap_or(scenario.start_ms));
    }
    Ok((engine, tail))
}

impl Tail {
    /// Folds messages from [`Tail::next`] on, until the one at `until` (or for ever).
    async fn consume(
        &mut self,
        engine: &Engine,
        until: Option<u64>,
        status: Option<&super::replica::Status>,
    ) -> Result<(), Problem> {
        let name = self.target.to_string();
        let lost = |e: &dyn std::fmt::Display| Problem::Lost(format!("{name}: {e}"));
        let config = consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: self.next,
            },
            ..Default::default()
        };
        let stream = self
            .js
            .get_stream_no_info(self.target.stream())
            .await
            .map_err(|e| lost(&e))?;
        let mut messages = stream
            .create_consumer(config)
            .await
            .map_err(|e| lost(&e))?
            .messages()
            .await
            .map_err(|e| lost(&e))?;
        let (events, clock) = (self.target.subject("events"), self.target.subject("clock"));
        while let Some(message) = messages.next().await {
            let message = message.map_err(|e| lost(&e))?;
            let info = message.info().map_err(|e| lost(&e))?;
            let (seq, pending) = (info.stream_sequence, info.pending);
            if seq < self.next {
                continue;
            }
            self.next = seq + 1;
            let subject = message.subject.as_str();
            if subject == events {
                self.apply(engine, &message.payload)?;
            } else if subject == clock {
                let now_ms = parse_clock(&message.payload).ok_or_else(|| {
                    Problem::Diverged(format!("{}: message {seq} is not a clock", self.target))
                })?;
                self.watermarked = true;
                engine.follow_clock(now_ms);
            } else {
                let why = format!("{}: message {seq} is on {subject}", self.target);
                return Err(Problem::Diverged(why));
            }
            if let Some(status) = status {
                status.lag_events.store(pending, Ordering::Release);
                let mut problem = crate::locks::lock(&status.problem);
                if problem.is_some() {
                    *problem = None;
                }
            }
            if until.is_some_and(|until| seq >= until) {
                return Ok(());
            }
        }
        Err(Problem::Lost(format!(
            "{}: the consumer ended",
            self.target
        )))
    }

    /// Applies the whole batches of what came so far; keeps the rest for the next message.
    fn apply(&mut self, engine: &Engine, payload: &[u8]) -> Result<(), Problem> {
        self.partial.extend_from_slice(payload);
        let end = crate::log::backend::batches_end(&self.partial);
        if end == 0 && self.partial.len() > PARTIAL_BYTES_MAX {
            let why = format!(
                "{}: {} bytes of records without a whole batch in them",
                self.target,
                self.partial.len()
            );
            return Err(Problem::Diverged(why));
        }
        let result = engine.apply_log_frames(&self.partial[..end], self.version);
        self.partial.drain(..end);
        result
            .map(|_| ())
            .map_err(|e| Problem::Diverged(format!("{}: {e}", self.target)))
    }
}

/// Follows the stream until the server stops; after a failure, goes on from the next message
/// (or folds the stream anew into a new engine, which replaces the current one once it has
/// caught up), with backoff.
pub async fn follow(app: Arc<App>, source: StreamSource, mut tail: Tail) {
    let Some(status) = app.replica.as_ref() else {
        return;
    };
    let mut backoff = BACKOFF_MIN;
    loop {
        let engine = app.engine();
        let before = tail.next;
        let problem = match tail.consume(&engine, None, Some(status)).await {
            Ok(()) => continue,
            Err(problem) => problem,
        };
        if tail.next > before {
            backoff = BACKOFF_MIN;
        }
        tracing::warn!("{problem}; following again in {backoff:?}");
        *crate::locks::lock(&status.problem) = Some(problem.to_string());
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
        if let Problem::Diverged(_) = problem {
            match start(&source).await {
                Ok((engine, new_tail)) => {
                    app.replace_engine(Arc::new(engine));
                    tail = new_tail;
                    backoff = BACKOFF_MIN;
                }
                Err(why) => tracing::warn!("{why}"),
            }
        }
    }
}
