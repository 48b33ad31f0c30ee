//! The stream as a [`LogBackend`]: a commit publishes the working file's new frames, fenced,
//! and returns once the cluster acknowledged them.
//!
//! The client is asynchronous; the writer is not. The backend owns a small tokio runtime of
//! its own (one worker thread) and waits on a channel for each request it hands it, so the
//! engine's commit path stays synchronous and may run on any thread.

use std::fs::File;
use std::future::Future;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use async_nats::jetstream;
use bytes::Bytes;
use futures_util::StreamExt;

use super::lease::{self, Lease};
use super::{
    JetStreamError, MESSAGE_BYTES_MAX, Outgoing, Target, connect, create_stream, nats,
    publish_after, writer_id,
};
use crate::event::TimeMs;
use crate::locks;
use crate::log::backend::{LogBackend, cut_frames, read_range};
use crate::log::header::HEADER_LEN;
use crate::log::{Header, LogError, LogFile, checkpoint_path};

/// How long a commit waits for a lease that could not be renewed (a cluster electing leaders).
const LEASE_PATIENCE: Duration = Duration::from_secs(30);
/// Bytes of the working file read at once by a commit.
const READ_BYTES: u64 = 8 * 1024 * 1024;

/// Where the writer stands in the stream.
#[derive(Debug, Default)]
struct Fence {
    /// The stream sequence of the last message (the next publish expects it).
    last: u64,
    /// Bytes of the log the stream holds (header included).
    committed: u64,
    /// The last clock read from the stream.
    clock: Option<TimeMs>,
}

/// A simulation's stream, as the log of one writer.
#[derive(Debug)]
pub struct JetStreamBackend {
    target: Target,
    runtime: Option<tokio::runtime::Runtime>,
    js: jetstream::Context,
    /// The writer lease (`serve`), or none for a writer that only creates new logs.
    lease: Option<Lease>,
    /// Names this writer in message ids when it holds no lease.
    writer: String,
    fence: Mutex<Fence>,
}

impl JetStreamBackend {
    /// Connects to `target`'s servers, for a writer that only creates a new log (`publish`,
    /// `simulate -o`): the fence alone keeps other writers out.
    pub fn connect(target: &Target) -> Result<JetStreamBackend, JetStreamError> {
        JetStreamBackend::start(target, None)
    }

    /// Connects and waits until this process holds the simulation's writer lease (`serve`);
    /// `holder` says who it is to those waiting.
    pub fn connect_leased(
        target: &Target,
        holder: &str,
    ) -> Result<JetStreamBackend, JetStreamError> {
        JetStreamBackend::start(target, Some(holder))
    }

    fn start(target: &Target, holder: Option<&str>) -> Result<JetStreamBackend, JetStreamError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("cdnsim-nats")
            .enable_all()
            .build()
            .map_err(|e| JetStreamError::Nats(format!("start the NATS client: {e}")))?;
        let (js, lease) = {
            let (target, holder) = (target.clone(), holder.map(str::to_owned));
            run_on(&runtime, async move {
                let js = connect(&target).await?;
                let lease = match holder {
                    Some(holder) => Some(lease::acquire(&js, &target, &holder).await?),
                    None => None,
                };
                Ok::<_, JetStreamError>((js, lease))
            })??
        };
        Ok(JetStreamBackend {
            target: target.clone(),
            runtime: Some(runtime),
            js,
            lease,
            writer: writer_id(),
            fence: Mutex::new(Fence::default()),
        })
    }

    /// Runs `fut` on the backend's runtime and waits for it.
    fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, JetStreamError>> + Send + 'static,
    ) -> Result<T, JetStreamError> {
        match &self.runtime {
            Some(runtime) => run_on(runtime, fut)?,
            None => Err(JetStreamError::Nats("the NATS client has stopped".into())),
        }
    }

    /// The epoch in this writer's message ids: its lease's, waiting (up to
    /// [`LEASE_PATIENCE`]) for a lease that could not be renewed; refused when the lease is
    /// lost. A writer without a lease is named by its process and a counter.
    fn epoch(&self) -> Result<String, JetStreamError> {
        let Some(lease) = &self.lease else {
            return Ok(self.writer.clone());
        };
        let mut waited = Duration::ZERO;
        while !lease.held() {
            if waited >= LEASE_PATIENCE || lease.is_lost() {
                return Err(JetStreamError::Fenced(format!(
                    "this process no longer holds the writer lease of {}: it stops writing",
                    self.target.sim
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
            waited += Duration::from_millis(100);
        }
        Ok(lease.epoch().to_string())
    }

    /// Creates the log: the stream, and its header message, expected first. Refused when the
    /// stream already holds a log.
    pub fn create(&self, header: &[u8]) -> Result<(), JetStreamError> {
        let (js, target) = (self.js.clone(), self.target.clone());
        let message = Outgoing {
            stream: target.stream(),
            subject: target.subject("header"),
            // The writer's own id: a deduplicated retry of another writer's header must not
            // pass for this one's (deduplication is checked before the fence).
            id: format!("{}:{}:header", target.sim, self.epoch()?),
            last: 0,
            payload: Bytes::copy_from_slice(header),
        };
        let last = self.run(async move {
            create_stream(&js, &target).await?;
            publish_after(&js, message).await.map_err(|e| match e {
                JetStreamError::Fenced(_) => JetStreamError::Fenced(format!(
                    "the stream {} already holds a log: use another SIM",
                    target.stream()
                )),
                other => other,
            })
        })?;
        *locks::lock(&self.fence) = Fence {
            last,
            committed: header.len() as u64,
            clock: None,
        };
        Ok(())
    }

    /// Writes the stream's log to a new file `out` (which must not exist); its length.
    pub fn export_file(&self, out: &Path) -> Result<u64, JetStreamError> {
        let (js, target, path) = (self.js.clone(), self.target.clone(), out.to_owned());
        Ok(self
            .run(async move { export_to(&js, &target, &path).await })?
            .len)
    }

    /// The stream sequence of the last message this writer published or read.
    pub fn last_sequence(&self) -> u64 {
        locks::lock(&self.fence).last
    }

    /// Writes the stream's log into a new file `out`; its length. The writer's fence is then
    /// the stream's last message read.
    fn export_into(&self, out: &Path) -> Result<u64, JetStreamError> {
        let (js, target, path) = (self.js.clone(), self.target.clone(), out.to_owned());
        let exported = self.run(async move { export_to(&js, &target, &path).await })?;
        *locks::lock(&self.fence) = Fence {
            last: exported.last,
            committed: exported.len,
            clock: exported.clock,
        };
        Ok(exported.len)
    }

    /// Publishes `pieces` of frames (offsets relative to `base`), each expecting the one
    /// before; the fence moves with every acknowledgement.
    fn publish_pieces(&self, base: u64, pieces: Vec<(usize, Bytes)>) -> Result<(), JetStreamError> {
        let epoch = self.epoch()?;
        let mut fence = locks::lock(&self.fence);
        for (offset, payload) in pieces {
            let len = payload.len() as u64;
            let message = Outgoing {
                stream: self.target.stream(),
                subject: self.target.subject("events"),
                id: format!("{}:{epoch}:{}", self.target.sim, base + offset as u64),
                last: fence.last,
                payload,
            };
            let js = self.js.clone();
            fence.last = self.run(async move { publish_after(&js, message).await })?;
            fence.committed += len;
        }
        Ok(())
    }
}

impl JetStreamBackend {
    /// [`LogBackend::commit`]: publishes the bytes of `file` from what the stream holds up
    /// to `to`, a read of at most [`READ_BYTES`] at a time.
    pub fn commit_file(&self, file: &File, to: u64) -> Result<(), JetStreamError> {
        let mut from = locks::lock(&self.fence).committed;
        if to < from {
            return Err(JetStreamError::Log(LogError::Backend(format!(
                "{}: the working file ({to} bytes) is shorter than the log the stream holds \
                 ({from} bytes)",
                self.target
            ))));
        }
        // A read at a time, so that publishing a large log takes little memory.
        while from < to {
            let end = to.min(from + READ_BYTES);
            let bytes = read_range(file, Path::new("the working file"), from, end)?;
            let (pieces, covered) = cut_frames(&bytes, MESSAGE_BYTES_MAX);
            if covered == 0 {
                return Err(JetStreamError::Log(LogError::Backend(format!(
                    "{}: bytes {from}..{to} of the working file end inside a frame",
                    self.target
                ))));
            }
            let pieces = pieces
                .into_iter()
                .map(|(offset, piece)| (offset, Bytes::copy_from_slice(piece)))
                .collect();
            self.publish_pieces(from, pieces)?;
            from += covered as u64;
        }
        Ok(())
    }
}

impl Drop for JetStreamBackend {
    fn drop(&mut self) {
        // Dropping a runtime inside another's context panics; this never blocks.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Runs `fut` on `runtime` and waits for its output: for synchronous callers only (never
/// from inside the runtime itself).
fn run_on<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    fut: impl Future<Output = T> + Send + 'static,
) -> Result<T, JetStreamError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .map_err(|_| JetStreamError::Nats("the NATS client stopped during a request".into()))
}

impl LogBackend for JetStreamBackend {
    fn describe(&self) -> String {
        self.target.to_string()
    }

    fn prepare(&self, path: &Path, header: &Header) -> Result<(), LogError> {
        // The working file is a cache of the stream: it is made again from the stream.
        for stale in [path.to_owned(), checkpoint_path(path)] {
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io(&stale, "remove the stale working copy", e)),
            }
        }
        let (js, name) = (self.js.clone(), self.target.stream());
        let held = self.run(async move {
            match js.get_stream(name).await {
                Ok(mut stream) => Ok(stream.info().await.map_err(nats)?.state.last_sequence),
                Err(_) => Ok(0),
            }
        })?;
        if held == 0 {
            self.create(&header.to_bytes())?;
        } else {
            let len = self.export_into(path)?;
            tracing::info!(stream = %self.target.stream(), bytes = len, "read the log from the stream");
        }
        Ok(())
    }

    fn commit(&self, file: &File, to: u64) -> Result<(), LogError> {
        Ok(self.commit_file(file, to)?)
    }

    fn watermark(&self, now_ms: TimeMs) -> Result<(), LogError> {
        let epoch = self.epoch()?;
        let mut fence = locks::lock(&self.fence);
        let message = Outgoing {
            stream: self.target.stream(),
            subject: self.target.subject("clock"),
            id: format!("{}:{epoch}:clock:{}:{now_ms}", self.target.sim, fence.last),
            last: fence.last,
            payload: Bytes::from(now_ms.to_string()),
        };
        let js = self.js.clone();
        fence.last = self.run(async move { publish_after(&js, message).await })?;
        Ok(())
    }

    fn resumed_clock(&self) -> Option<TimeMs> {
        locks::lock(&self.fence).clock
    }

    fn can_restart(&self) -> bool {
        false
    }

    fn export(&self, out: &Path) -> Result<u64, LogError> {
        Ok(self.export_file(out)?)
    }
}

/// What [`export_to`] read.
pub(super) struct Exported {
    /// The stream sequence of the last message read.
    last: u64,
    /// The file's length.
    len: u64,
    /// The last clock recorded in the stream.
    clock: Option<TimeMs>,
}

/// Writes the log held by `target`'s stream to a new file `out` (which must not exist) and
/// checks it whole.
pub(super) async fn export_to(
    js: &jetstream::Context,
    target: &Target,
    out: &Path,
) -> Result<Exported, JetStreamError> {
    use std::io::Write;
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
    let mut messages = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .map_err(nats)?
        .messages()
        .await
        .map_err(nats)?;
    let (header, events, clock) = (
        target.subject("header"),
        target.subject("events"),
        target.subject("clock"),
    );
    let (mut len, mut now) = (0u64, None);
    while let Some(message) = messages.next().await {
        let message = message.map_err(nats)?;
        let seq = message.info().map_err(nats)?.stream_sequence;
        let subject = message.subject.as_str();
        let expected = if seq == 1 { &header } else { &events };
        if subject == expected.as_str() {
            file.write_all(&message.payload)
                .map_err(|e| LogError::io(out, "write", e))?;
            len += message.payload.len() as u64;
        } else if seq > 1 && subject == clock.as_str() {
            now = Some(parse_clock(&message.payload).ok_or_else(|| {
                not_a_log(format!("message {seq} is not a clock (milliseconds)"))
            })?);
        } else {
            return Err(not_a_log(format!(
                "message {seq} is on {subject}, not {expected}"
            )));
        }
        if seq >= last {
            break;
        }
    }
    file.sync_all().map_err(|e| LogError::io(out, "sync", e))?;
    drop(file);
    if len < HEADER_LEN as u64 {
        return Err(not_a_log("it holds no whole header".into()));
    }
    let written = LogFile::open(out)?;
    match written.damage() {
        Some(damage) => Err(not_a_log(format!("its records are not whole: {damage}"))),
        None => Ok(Exported {
            last,
            len,
            clock: now,
        }),
    }
}

/// A clock message's payload: milliseconds since the epoch, in decimal.
pub fn parse_clock(payload: &[u8]) -> Option<TimeMs> {
    std::str::from_utf8(payload).ok()?.parse().ok()
}
