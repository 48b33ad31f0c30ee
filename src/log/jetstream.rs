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
//! is stale is refused, never interleaved. `Nats-Msg-Id` (`SIM:OFFSET`; the header's names
//! its writer) makes a retried publish a duplicate instead of a second copy. The concatenation of the header and the
//! payloads is the file.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use bytes::Bytes;

use super::header::HEADER_LEN;
use super::{FRAME_HEADER_LEN, LogError, LogFile, MORE_IN_BATCH};

/// Largest message payload (the server allows 1 MiB).
pub const MESSAGE_BYTES_MAX: usize = 256 * 1024;
/// How long stream creation keeps trying while a new cluster elects its leaders.
const CREATE_PATIENCE: Duration = Duration::from_secs(30);

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

    fn subject(&self, what: &str) -> String {
        format!("cdnsim.{}.{what}", self.sim)
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

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Messages published (the header's included).
    pub messages: u64,
    /// Bytes published (the file's length).
    pub bytes: u64,
}

async fn context(target: &Target) -> Result<jetstream::Context, JetStreamError> {
    let client = async_nats::connect(target.servers.clone())
        .await
        .map_err(nats)?;
    Ok(jetstream::new(client))
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
    let mut waited = Duration::ZERO;
    loop {
        match js.get_or_create_stream(config.clone()).await {
            Ok(stream) => return Ok(stream),
            Err(e) if waited < CREATE_PATIENCE => {
                tracing::debug!(error = %e, "creating the stream; trying again");
                tokio::time::sleep(Duration::from_millis(250)).await;
                waited += Duration::from_millis(250);
            }
            Err(e) => return Err(nats(e)),
        }
    }
}

/// One message to publish: on `subject`, with id `id`, expecting the stream's last sequence to
/// be `last`.
struct Outgoing {
    subject: String,
    id: String,
    last: u64,
    payload: Bytes,
}

/// [`publish_once`], tried again while the cluster cannot take it (a stream still electing its
/// leader, a leader change): the same id makes a retry of a stored message a duplicate, and
/// the fence refuses it if another writer moved the stream on.
async fn publish_after(js: &jetstream::Context, message: Outgoing) -> Result<u64, JetStreamError> {
    let mut waited = Duration::ZERO;
    loop {
        match publish_once(js, &message).await {
            Err(JetStreamError::Nats(e)) if waited < CREATE_PATIENCE => {
                tracing::debug!(error = %e, "publishing; trying again");
                tokio::time::sleep(Duration::from_millis(250)).await;
                waited += Duration::from_millis(250);
            }
            other => return other,
        }
    }
}

/// Publishes one message; the sequence it got.
async fn publish_once(js: &jetstream::Context, message: &Outgoing) -> Result<u64, JetStreamError> {
    let last = message.last;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Expected-Last-Sequence", last.to_string().as_str());
    headers.insert("Nats-Msg-Id", message.id.as_str());
    let ack = js
        .publish_with_headers(message.subject.clone(), headers, message.payload.clone())
        .await
        .map_err(nats)?
        .await;
    match ack {
        Ok(ack) => Ok(ack.sequence),
        Err(e) if e.kind() == jetstream::context::PublishErrorKind::WrongLastSequence => {
            Err(JetStreamError::Fenced(format!(
                "another writer holds this log (the stream is past sequence {last}): {e}"
            )))
        }
        Err(e) => Err(nats(e)),
    }
}

/// This writer, among the processes and the publishes in them.
fn writer_id() -> String {
    static PUBLISHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = PUBLISHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}.{n}", std::process::id())
}

/// The record section of a log file cut into messages at frame boundaries, each at most
/// [`MESSAGE_BYTES_MAX`] (a frame is never split).
fn messages(records: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    let (mut start, mut at) = (0, 0);
    while at + FRAME_HEADER_LEN <= records.len() {
        let field = u32::from_le_bytes([
            records[at + 4],
            records[at + 5],
            records[at + 6],
            records[at + 7],
        ]);
        let frame = FRAME_HEADER_LEN + (field & !MORE_IN_BATCH) as usize;
        if at > start && at + frame - start > MESSAGE_BYTES_MAX {
            out.push((start, &records[start..at]));
            start = at;
        }
        at += frame;
    }
    if start < records.len().min(at) {
        out.push((start, &records[start..at.min(records.len())]));
    }
    out
}

/// Puts the log at `path` (checked whole first) into a new stream for `target`. Refused,
/// with nothing written, when the stream already holds a log.
pub async fn publish(path: &Path, target: &Target) -> Result<Published, JetStreamError> {
    let file = LogFile::open(path)?;
    if let Some(damage) = file.damage() {
        return Err(JetStreamError::Log(LogError::Append {
            path: path.to_owned(),
            seq: file.summary().records,
            reason: format!("the log is damaged, so it is not published: {damage}"),
        }));
    }
    let good_len = file.summary().good_len as usize;
    let bytes = std::fs::read(path).map_err(|e| LogError::io(path, "read", e))?;
    let bytes = bytes.get(..good_len).unwrap_or(&bytes);
    let js = context(target).await?;
    create_stream(&js, target).await?;
    let header = Bytes::copy_from_slice(&bytes[..HEADER_LEN]);
    // The writer's own id: a deduplicated retry of another writer's header must not pass for
    // this one's (deduplication is checked before the fence).
    let id = format!("{}:header:{}", target.sim, writer_id());
    let first = Outgoing {
        subject: target.subject("header"),
        id,
        last: 0,
        payload: header,
    };
    let mut last = publish_after(&js, first).await.map_err(|e| match e {
        JetStreamError::Fenced(_) => JetStreamError::Fenced(format!(
            "the stream {} already holds a log: publish to another SIM",
            target.stream()
        )),
        other => other,
    })?;
    let mut published = Published {
        messages: 1,
        bytes: HEADER_LEN as u64,
    };
    for (offset, chunk) in messages(&bytes[HEADER_LEN..]) {
        let id = format!("{}:{}", target.sim, HEADER_LEN + offset);
        let payload = Bytes::copy_from_slice(chunk);
        let message = Outgoing {
            subject: target.subject("events"),
            id,
            last,
            payload,
        };
        last = publish_after(&js, message).await?;
        published.messages += 1;
        published.bytes += chunk.len() as u64;
    }
    Ok(published)
}

/// Writes the log held by `target`'s stream to a new file `out` (which must not exist), then
/// checks it whole; returns the records in it.
pub async fn export(target: &Target, out: &Path) -> Result<u64, JetStreamError> {
    let js = context(target).await?;
    let not_a_log = |why: String| JetStreamError::NotALog {
        stream: target.stream(),
        why,
    };
    let mut stream = js.get_stream(target.stream()).await.map_err(nats)?;
    let last = stream.info().await.map_err(nats)?.state.last_sequence;
    if last == 0 {
        return Err(not_a_log("it is empty".into()));
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| LogError::io(out, "create", e))?;
    for seq in 1..=last {
        let message = stream.get_raw_message(seq).await.map_err(nats)?;
        let expected = target.subject(if seq == 1 { "header" } else { "events" });
        if message.subject.as_str() != expected {
            return Err(not_a_log(format!(
                "message {seq} is on {}, not {expected}",
                message.subject
            )));
        }
        file.write_all(&message.payload)
            .map_err(|e| LogError::io(out, "write", e))?;
    }
    file.sync_all().map_err(|e| LogError::io(out, "sync", e))?;
    drop(file);
    let written = LogFile::open(out)?;
    match written.damage() {
        Some(damage) => Err(not_a_log(format!("its records are not whole: {damage}"))),
        None => Ok(written.summary().records),
    }
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

    #[test]
    fn messages_cut_at_frames_and_cover_everything() {
        let mut records = Vec::new();
        let mut frames = Vec::new();
        for i in 0..2_000u32 {
            let len = 50 + (i * 37) % 400;
            let more = if i % 3 == 0 { MORE_IN_BATCH } else { 0 };
            frames.push(records.len());
            records.extend_from_slice(&[0; 4]);
            records.extend_from_slice(&(len | more).to_le_bytes());
            records.extend(std::iter::repeat_n(7u8, len as usize));
        }
        let cut = messages(&records);
        assert!(cut.len() > 1);
        let joined: Vec<u8> = cut.iter().flat_map(|(_, c)| c.iter().copied()).collect();
        assert_eq!(joined, records);
        for (offset, chunk) in &cut {
            assert!(chunk.len() <= MESSAGE_BYTES_MAX);
            assert!(frames.contains(offset), "a message starts at a frame");
        }
    }
}
