//! The log on NATS JetStream (cargo feature `nats`): `cdnsim publish LOG nats://…/SIM` puts a
//! log file into a stream, `cdnsim export nats://…/SIM -o LOG` makes the file again, byte for
//! byte, so that `verify`, `dump` and `diff` work on either.
//!
//! The mapping: one stream per simulation, `CDNSIM_<SIM>`, subjects `cdnsim.<SIM>.>`, file
//! storage, one replica per server named (at most 3), `discard: new` (a full stream refuses
//! rather than forgets), no deletes, no purges. Its first message, on `cdnsim.<SIM>.header`,
//! is the file's 56-byte header, published expecting an empty stream, so that exactly one
//! writer creates a log. Every later message, on `cdnsim.<SIM>.events`, holds whole frames as
//! the file holds them (at most [`MESSAGE_BYTES_MAX`]), published expecting the sequence of
//! the message before it (`Nats-Expected-Last-Sequence`): a writer whose view of the stream
//! is stale is refused, never interleaved. `Nats-Msg-Id` (`SIM:EPOCH:OFFSET`, the epoch
//! naming the writer) makes a retried publish a duplicate instead of a second copy; a
//! message that landed although its acknowledgement was lost is recognised and adopted. The
//! concatenation of the header and the `events` payloads is the file. Messages on
//! `cdnsim.<SIM>.clock` carry the served clock (a watermark: every record at or before it
//! precedes it in the stream); a file does not hold them.
//!
//! [`JetStreamBackend`] is the stream as a [`LogBackend`](super::LogBackend) for `cdnsim
//! serve --log-backend` and `cdnsim simulate -o nats://…`, with a single writer elected
//! through a [`lease`].

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use bytes::Bytes;

mod backend;
pub mod lease;

pub use backend::{JetStreamBackend, parse_clock};

use super::header::HEADER_LEN;
use super::{LogError, LogFile};

/// Size a message is cut at, where a batch ends.
pub const MESSAGE_BYTES_MAX: usize = 256 * 1024;
/// Largest message a single batch may fill before it is cut between its frames: under the
/// server's default largest payload (1 MB), leaving room for the headers.
pub const BATCH_MESSAGE_BYTES_MAX: usize = 1_000_000;
/// How long a request keeps being tried while the cluster elects its leaders.
const CREATE_PATIENCE: Duration = Duration::from_secs(30);
/// How long one request or acknowledgement is waited for (the client's default, 30 s, would
/// stall a writer that long after a server dies).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a log lives in JetStream: `nats://HOST:PORT[,nats://HOST:PORT...]/SIM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The servers, `nats://HOST:PORT` each.
    pub servers: Vec<String>,
    /// The simulation's name: letters, digits, `-` and `_`.
    pub sim: String,
}

impl Target {
    /// Parses `nats://HOST:PORT[,HOST:PORT...]/SIM`.
    pub fn parse(url: &str) -> Result<Target, JetStreamError> {
        let bad = |why: &str| JetStreamError::Url(format!("{url:?}: {why}"));
        let rest = url
            .strip_prefix("nats://")
            .ok_or_else(|| bad("expected nats://HOST:PORT/SIM"))?;
        let (hosts, sim) = rest
            .rsplit_once('/')
            .ok_or_else(|| bad("expected /SIM after the servers"))?;
        let named = !sim.is_empty()
            && sim.len() <= 64
            && sim
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !named {
            return Err(bad("SIM must be 1 to 64 letters, digits, - or _"));
        }
        let servers: Vec<String> = hosts
            .split(',')
            .map(|h| h.trim_start_matches("nats://"))
            .filter(|h| !h.is_empty())
            .map(|h| format!("nats://{h}"))
            .collect();
        if servers.is_empty() {
            return Err(bad("no server named"));
        }
        Ok(Target {
            servers,
            sim: sim.to_owned(),
        })
    }

    /// The stream's name.
    pub fn stream(&self) -> String {
        format!("CDNSIM_{}", self.sim.replace('-', "_"))
    }

    /// The subject of the log's `what` messages: `header`, `events` or `clock`.
    pub fn subject(&self, what: &str) -> String {
        format!("cdnsim.{}.{what}", self.sim)
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hosts: Vec<&str> = self
            .servers
            .iter()
            .map(|s| s.trim_start_matches("nats://"))
            .collect();
        write!(f, "nats://{}/{}", hosts.join(","), self.sim)
    }
}

/// Why a log could not go to or come from JetStream.
#[derive(Debug, thiserror::Error)]
pub enum JetStreamError {
    /// A bad `nats://` address.
    #[error("{0}")]
    Url(String),
    /// The servers could not be reached or refused a request.
    #[error("NATS: {0}")]
    Nats(String),
    /// Another writer got there first (the stream already holds a log, or moved on).
    #[error("{0}")]
    Fenced(String),
    /// The stream does not hold a cdnsim log.
    #[error("the stream {stream} is not a cdnsim log: {why}")]
    NotALog {
        /// The stream.
        stream: String,
        /// What is wrong.
        why: String,
    },
    /// The file side.
    #[error(transparent)]
    Log(#[from] LogError),
}

fn nats(e: impl std::fmt::Display) -> JetStreamError {
    JetStreamError::Nats(e.to_string())
}

impl From<JetStreamError> for LogError {
    fn from(e: JetStreamError) -> LogError {
        match e {
            JetStreamError::Log(e) => e,
            other => LogError::Backend(other.to_string()),
        }
    }
}

/// `what`, tried again every 250 ms while it fails, for up to [`CREATE_PATIENCE`].
async fn retrying<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> Result<T, JetStreamError> {
    let mut waited = Duration::ZERO;
    loop {
        match attempt().await {
            Ok(done) => return Ok(done),
            Err(e) if waited < CREATE_PATIENCE => {
                tracing::debug!(error = %e, "{what}: trying again");
                tokio::time::sleep(Duration::from_millis(250)).await;
                waited += Duration::from_millis(250);
            }
            Err(e) => return Err(JetStreamError::Nats(format!("{what}: {e}"))),
        }
    }
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Messages published (the header's included).
    pub messages: u64,
    /// Bytes published (the file's length).
    pub bytes: u64,
}

/// A JetStream context on `target`'s servers, its requests and acknowledgements bounded by
/// [`REQUEST_TIMEOUT`].
pub async fn connect(target: &Target) -> Result<jetstream::Context, JetStreamError> {
    let client = async_nats::ConnectOptions::new()
        .request_timeout(Some(REQUEST_TIMEOUT))
        .connect(target.servers.clone())
        .await
        .map_err(|e| JetStreamError::Nats(format!("connect to {target}: {e}")))?;
    Ok(jetstream::ContextBuilder::new()
        .timeout(REQUEST_TIMEOUT)
        .ack_timeout(REQUEST_TIMEOUT)
        .build(client))
}

/// The stream for `target`, created when missing (trying while a new cluster elects leaders).
async fn create_stream(
    js: &jetstream::Context,
    target: &Target,
) -> Result<stream::Stream, JetStreamError> {
    let config = stream::Config {
        name: target.stream(),
        subjects: vec![format!("cdnsim.{}.>", target.sim)],
        storage: stream::StorageType::File,
        num_replicas: target.servers.len().clamp(1, 3),
        discard: stream::DiscardPolicy::New,
        deny_delete: true,
        deny_purge: true,
        allow_direct: true,
        max_message_size: 1024 * 1024,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    retrying("create the stream", || {
        js.get_or_create_stream(config.clone())
    })
    .await
}

/// One message to publish: on `subject`, with id `id`, expecting the stream's last sequence to
/// be `last`.
struct Outgoing {
    stream: String,
    subject: String,
    id: String,
    last: u64,
    payload: Bytes,
}

/// [`publish_once`], tried again while the cluster cannot take it (a stream still electing its
/// leader, a leader change), each attempt only while `standing` says the writer holds its
/// lease (waiting while it cannot be renewed, up to the same patience): the same id makes a retry of a stored message a duplicate, and
/// the fence refuses it if another writer moved the stream on. When an attempt's outcome was
/// unknown (no acknowledgement) and a retry is refused by the fence, the message after `last`
/// is looked at: if it is this one (its id and payload), it landed, and is adopted.
async fn publish_after(
    js: &jetstream::Context,
    message: Outgoing,
    standing: impl Fn() -> lease::Standing,
) -> Result<u64, JetStreamError> {
    let mut waited = Duration::ZERO;
    let mut uncertain = false;
    loop {
        match standing() {
            lease::Standing::Held => {}
            lease::Standing::Waiting if waited < CREATE_PATIENCE => {
                tokio::time::sleep(Duration::from_millis(250)).await;
                waited += Duration::from_millis(250);
                continue;
            }
            _ => {
                return Err(JetStreamError::Fenced(format!(
                    "{}: this writer no longer holds the writer lease",
                    message.stream
                )));
            }
        }
        match publish_once(js, &message).await {
            Err(JetStreamError::Nats(e)) if waited < CREATE_PATIENCE => {
                tracing::debug!(error = %e, "publishing; trying again");
                uncertain = true;
                tokio::time::sleep(Duration::from_millis(250)).await;
                waited += Duration::from_millis(250);
            }
            Err(JetStreamError::Fenced(why)) if uncertain => {
                return match landed(js, &message).await {
                    Some(seq) => Ok(seq),
                    None => Err(JetStreamError::Fenced(why)),
                };
            }
            other => return other,
        }
    }
}

/// The sequence of `message` if it is the one stored right after its expected last sequence.
async fn landed(js: &jetstream::Context, message: &Outgoing) -> Option<u64> {
    let seq = message.last + 1;
    let stream = message.stream.as_str();
    let stored = retrying("read the message after the fence", || async {
        js.get_stream_no_info(stream)
            .await
            .map_err(nats)?
            .get_raw_message(seq)
            .await
            .map_err(nats)
    })
    .await
    .ok()?;
    // Message ids name their writer: the stored message is this one only if it has this id.
    let id = stored.headers.get("Nats-Msg-Id").map(|v| v.as_str());
    let ours = stored.subject.as_str() == message.subject
        && id == Some(message.id.as_str())
        && stored.payload == message.payload;
    if ours {
        tracing::info!(
            seq,
            "a message whose acknowledgement was lost had landed: adopted"
        );
    }
    ours.then_some(seq)
}

/// Publishes one message; the sequence it got.
async fn publish_once(js: &jetstream::Context, message: &Outgoing) -> Result<u64, JetStreamError> {
    let ack = send(js, message).await?.await;
    acknowledged(message, ack)
}

/// Sends one message, fenced and named; its acknowledgement to come.
async fn send(
    js: &jetstream::Context,
    message: &Outgoing,
) -> Result<jetstream::context::PublishAckFuture, JetStreamError> {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(
        "Nats-Expected-Last-Sequence",
        message.last.to_string().as_str(),
    );
    headers.insert("Nats-Msg-Id", message.id.as_str());
    js.publish_with_headers(message.subject.clone(), headers, message.payload.clone())
        .await
        .map_err(nats)
}

/// What an acknowledgement of `message` says: the sequence it got, or why not.
fn acknowledged(
    message: &Outgoing,
    ack: Result<jetstream::publish::PublishAck, jetstream::context::PublishError>,
) -> Result<u64, JetStreamError> {
    let last = message.last;
    match ack {
        // A duplicate of this writer's own retried message lands where it was expected; one
        // elsewhere is another message with this id.
        Ok(ack) if ack.duplicate && ack.sequence != last + 1 => {
            Err(JetStreamError::Fenced(format!(
                "{}: message id {} is already at sequence {}, not after {last}",
                message.stream, message.id, ack.sequence
            )))
        }
        Ok(ack) => Ok(ack.sequence),
        Err(e) if e.kind() == jetstream::context::PublishErrorKind::WrongLastSequence => {
            Err(JetStreamError::Fenced(format!(
                "another writer holds the log in {} (the stream is past sequence {last}): {e}",
                message.stream
            )))
        }
        Err(e) => Err(nats(e)),
    }
}

/// Messages sent before the first acknowledgement is awaited.
const WINDOW: usize = 16;

/// Publishes `messages`, each expecting the one before (as [`Outgoing::last`] says), up to
/// [`WINDOW`] at a time in flight; from the first one not acknowledged as expected on, one
/// at a time through [`publish_after`] (which recognises what landed). The sequences
/// acknowledged (a prefix of the messages), and how it ended.
async fn publish_window(
    js: &jetstream::Context,
    messages: Vec<Outgoing>,
    standing: impl Fn() -> lease::Standing,
) -> (Vec<u64>, Result<(), JetStreamError>) {
    let mut acked = Vec::with_capacity(messages.len());
    let mut rest = messages.into_iter().peekable();
    while rest.peek().is_some() && standing() == lease::Standing::Held {
        let window: Vec<Outgoing> = rest.by_ref().take(WINDOW).collect();
        let mut pending = Vec::with_capacity(window.len());
        for message in &window {
            match send(js, message).await {
                Ok(ack) => pending.push(ack),
                Err(_) => break,
            }
        }
        let mut done = 0;
        for (message, ack) in window.iter().zip(pending) {
            match acknowledged(message, ack.await) {
                Ok(seq) if seq == message.last + 1 => acked.push(seq),
                _ => break,
            }
            done += 1;
        }
        if done < window.len() {
            let slow: Vec<Outgoing> = window.into_iter().skip(done).chain(rest).collect();
            for message in slow {
                match publish_after(js, message, &standing).await {
                    Ok(seq) => acked.push(seq),
                    Err(e) => return (acked, Err(e)),
                }
            }
            return (acked, Ok(()));
        }
    }
    for message in rest {
        // The lease is not held: publish_after waits for it, or says why not.
        match publish_after(js, message, &standing).await {
            Ok(seq) => acked.push(seq),
            Err(e) => return (acked, Err(e)),
        }
    }
    (acked, Ok(()))
}

/// This writer, among the machines, processes and writers in them: the process id, the
/// wall clock's nanoseconds when the process made its first writer, and a counter. It names
/// message ids only, never anything in the log.
fn writer_id() -> String {
    static WRITERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    static STARTED: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    // Wall time as a nonce, not as time: it reaches no log and no answer.
    #[allow(clippy::disallowed_methods)]
    let started = *STARTED.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    });
    let n = WRITERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}.{started:x}.{n}", std::process::id())
}

/// Puts the log at `path` (checked whole first) into a new stream for `target`. Refused,
/// with nothing written, when the stream already holds a log.
pub fn publish(path: &Path, target: &Target) -> Result<Published, JetStreamError> {
    let file = LogFile::open(path)?;
    if let Some(damage) = file.damage() {
        return Err(JetStreamError::Log(LogError::Append {
            path: path.to_owned(),
            seq: file.summary().records,
            reason: format!("the log is damaged, so it is not published: {damage}"),
        }));
    }
    let good_len = file.summary().good_len;
    let mut log = std::fs::File::open(path).map_err(|e| LogError::io(path, "open", e))?;
    let mut header = [0; HEADER_LEN];
    log.read_exact(&mut header)
        .map_err(|e| LogError::io(path, "read", e))?;
    let backend = JetStreamBackend::connect(target)?;
    backend.create(&header)?;
    backend.commit_file(&log, good_len)?;
    Ok(Published {
        messages: backend.last_sequence(),
        bytes: good_len,
    })
}

/// Writes the log held by `target`'s stream to a new file `out` (which must not exist), then
/// checks it whole; returns the records in it.
pub fn export(target: &Target, out: &Path) -> Result<u64, JetStreamError> {
    JetStreamBackend::connect(target)?.export_file(out)?;
    Ok(LogFile::open(out)?.summary().records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_servers_and_a_simulation() {
        let t = Target::parse("nats://127.0.0.1:4222,127.0.0.1:4223/ci-run_1").expect("valid");
        assert_eq!(
            t.servers,
            ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"]
        );
        assert_eq!(
            (t.sim.as_str(), t.stream()),
            ("ci-run_1", "CDNSIM_ci_run_1".into())
        );
        for bad in [
            "127.0.0.1:4222/x",
            "nats://h:1",
            "nats://h:1/",
            "nats:///x",
            "nats://h:1/a.b",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
