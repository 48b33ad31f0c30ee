//! The stream as a [`LogBackend`]: a commit publishes the working file's new frames, fenced,
//! and returns once the cluster acknowledged them.
//!
//! The client is asynchronous; the writer is not. The backend owns a small tokio runtime of
//! its own (two worker threads: the lease renews while an export writes its file) and waits
//! on a channel for each request it hands it, so the engine's commit path stays synchronous
//! and may run on any thread but the runtime's own.
//!
//! One commit at a time: the fence's lock is held from reading what the stream holds to the
//! last acknowledgement, so concurrent commits (the group commit, and a clock step holding
//! the writer) publish each byte once, in order.

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
    BATCH_MESSAGE_BYTES_MAX, JetStreamError, MESSAGE_BYTES_MAX, Outgoing, Target, connect,
    create_stream, nats, publish_after, publish_window, writer_id,
};
use crate::event::TimeMs;
use crate::locks;
use crate::log::backend::{LogBackend, batches_end, cut_frames, read_range};
use crate::log::header::HEADER_LEN;
use crate::log::{Header, LogError, LogFile, checkpoint_path};

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
    /// The working file, once prepared.
    working: Mutex<Option<std::path::PathBuf>>,
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
            .worker_threads(2)
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
            working: Mutex::new(None),
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

    /// The epoch in this writer's message ids: its lease's (each publish attempt waits for
    /// a lease that could not be renewed: see [`JetStreamBackend::standing`]); refused when
    /// the lease is lost. A writer without a lease is named by its process and a counter.
    fn epoch(&self) -> Result<String, JetStreamError> {
        match &self.lease {
            None => Ok(self.writer.clone()),
            Some(lease) if lease.is_lost() => Err(JetStreamError::Fenced(format!(
                "this process no longer holds the writer lease of {}: it stops writing",
                self.target.sim
            ))),
            Some(lease) => Ok(lease.epoch().to_string()),
        }
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
        let allowed = self.standing();
        let last = self.run(async move {
            create_stream(&js, &target).await?;
            publish_after(&js, message, allowed)
                .await
                .map_err(|e| match e {
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

    /// Where this writer stands with its lease, for each attempt of a publish (always held
    /// without a lease). A lease taken again after it expired, with a new epoch, is still
    /// this writer's: the fence keeps its messages in order.
    fn standing(&self) -> impl Fn() -> lease::Standing + Send + 'static {
        let watch = self.lease.as_ref().map(Lease::watch);
        move || {
            watch
                .as_ref()
                .map_or(lease::Standing::Held, |w| w.standing())
        }
    }

    /// The working file, for messages (named once prepared).
    fn working_path(&self) -> std::path::PathBuf {
        locks::lock(&self.working)
            .clone()
            .unwrap_or_else(|| "the working file".into())
    }

    /// A publish failed, so the writer stops: its lease goes (released in the background),
    /// for a standby to take over.
    fn give_up(&self) {
        if let (Some(lease), Some(runtime)) = (&self.lease, &self.runtime)
            && !lease.is_lost()
        {
            tracing::error!(sim = %self.target.sim, "this writer stops: giving up the writer lease");
            runtime.spawn(lease.release());
        }
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
    fn publish_pieces(
        &self,
        fence: &mut Fence,
        base: u64,
        pieces: Vec<(usize, Bytes)>,
    ) -> Result<(), JetStreamError> {
        let epoch = self.epoch()?;
        let lens: Vec<u64> = pieces.iter().map(|(_, p)| p.len() as u64).collect();
        let messages: Vec<Outgoing> = pieces
            .into_iter()
            .enumerate()
            .map(|(i, (offset, payload))| Outgoing {
                stream: self.target.stream(),
                subject: self.target.subject("events"),
                id: format!("{}:{epoch}:{}", self.target.sim, base + offset as u64),
                last: fence.last + i as u64,
                payload,
            })
            .collect();
        let (js, standing) = (self.js.clone(), self.standing());
        let (acked, ended) =
            self.run(async move { Ok(publish_window(&js, messages, standing).await) })?;
        // What was acknowledged is in the stream, whatever came after it.
        for (seq, len) in acked.into_iter().zip(lens) {
            fence.last = seq;
            fence.committed += len;
        }
        ended.inspect_err(|_| self.give_up())
    }
}

impl JetStreamBackend {
    /// [`LogBackend::commit`]: publishes the bytes of `file` from what the stream holds up
    /// to `to`, a read of at most [`READ_BYTES`] at a time, holding the fence throughout.
    pub fn commit_file(&self, file: &File, to: u64) -> Result<(), JetStreamError> {
        let mut fence = locks::lock(&self.fence);
        // A concurrent commit may have published these bytes already.
        while fence.committed < to {
            let from = fence.committed;
            let end = to.min(from + READ_BYTES);
            let bytes = read_range(file, &self.working_path(), from, end)?;
            // Before the last read, stop where a batch ends, so that no message splits one
            // the read cut (unless a batch is larger than a read).
            let usable = match batches_end(&bytes) {
                whole if end < to && whole > 0 => whole,
                _ => bytes.len(),
            };
            let (pieces, covered) =
                cut_frames(&bytes[..usable], MESSAGE_BYTES_MAX, BATCH_MESSAGE_BYTES_MAX);
            if covered == 0 {
                return Err(JetStreamError::Log(LogError::Backend(format!(
                    "{}: bytes {from}..{to} of the working file {} end inside a frame",
                    self.target,
                    self.working_path().display()
                ))));
            }
            let pieces = pieces
                .into_iter()
                .map(|(offset, piece)| (offset, Bytes::copy_from_slice(piece)))
                .collect();
            self.publish_pieces(&mut fence, from, pieces)?;
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
        *locks::lock(&self.working) = Some(path.to_owned());
        let (js, name) = (self.js.clone(), self.target.stream());
        let held = self.run(async move { last_sequence(&js, &name).await })?;
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
        let (js, allowed) = (self.js.clone(), self.standing());
        fence.last = self
            .run(async move { publish_after(&js, message, allowed).await })
            .inspect_err(|_| self.give_up())?;
        Ok(())
    }

    fn resumed_clock(&self) -> Option<TimeMs> {
        locks::lock(&self.fence).clock
    }

    fn can_restart(&self) -> bool {
        false
    }

    fn abandon(&self) {
        self.give_up();
    }

    fn close(&self) {
        if let Some(lease) = &self.lease
            && !lease.is_lost()
        {
            let release = lease.release();
            let _ = self.run(async move {
                release.await;
                Ok(())
            });
        }
    }

    fn export(&self, out: &Path) -> Result<u64, LogError> {
        Ok(self.export_file(out)?)
    }
}

/// The stream's last sequence, 0 when there is no stream; other failures (a cluster electing
/// its leaders) are tried again for a while, never taken for "no stream".
async fn last_sequence(js: &jetstream::Context, name: &str) -> Result<u64, JetStreamError> {
    use async_nats::jetstream::ErrorCode;
    use async_nats::jetstream::context::GetStreamErrorKind;
    super::retrying(&format!("read the stream {name}"), || async {
        match js.get_stream(name).await {
            Ok(mut stream) => Ok(stream.info().await.map_err(nats)?.state.last_sequence),
            Err(e) => match e.kind() {
                GetStreamErrorKind::JetStream(e)
                    if e.error_code() == ErrorCode::STREAM_NOT_FOUND =>
                {
                    Ok(0)
                }
                _ => Err(nats(e)),
            },
        }
    })
    .await
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
/// checks it whole. A failure while reading (a cluster electing leaders) starts a new
/// consumer from the next message, for up to 30 s.
pub(super) async fn export_to(
    js: &jetstream::Context,
    target: &Target,
    out: &Path,
) -> Result<Exported, JetStreamError> {
    let not_a_log = |why: String| JetStreamError::NotALog {
        stream: target.stream(),
        why,
    };
    let last = last_sequence(js, &target.stream()).await?;
    if last == 0 {
        return Err(not_a_log("there is no such stream, or it is empty".into()));
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| LogError::io(out, "create", e))?;
    let mut reading = Reading {
        target,
        out,
        file,
        next: 1,
        len: 0,
        clock: None,
    };
    let mut waited = Duration::ZERO;
    while reading.next <= last {
        let before = reading.next;
        match reading.consume(js, last).await {
            Err(JetStreamError::Nats(e)) if waited < super::CREATE_PATIENCE => {
                tracing::debug!(error = %e, "reading the stream; going on from {}", reading.next);
                waited = if reading.next > before {
                    Duration::ZERO
                } else {
                    waited
                };
                tokio::time::sleep(Duration::from_millis(250)).await;
                waited += Duration::from_millis(250);
            }
            other => other?,
        }
    }
    let Reading {
        file, len, clock, ..
    } = reading;
    file.sync_all().map_err(|e| LogError::io(out, "sync", e))?;
    drop(file);
    if len < HEADER_LEN as u64 {
        return Err(not_a_log("it holds no whole header".into()));
    }
    match LogFile::open(out)?.damage() {
        Some(damage) => Err(not_a_log(format!("its records are not whole: {damage}"))),
        None => Ok(Exported { last, len, clock }),
    }
}

/// An export under way.
struct Reading<'a> {
    target: &'a Target,
    out: &'a Path,
    file: std::fs::File,
    /// The stream sequence to read next.
    next: u64,
    len: u64,
    clock: Option<TimeMs>,
}

impl Reading<'_> {
    /// Reads messages from `next` up to `last` with a new ordered consumer.
    async fn consume(&mut self, js: &jetstream::Context, last: u64) -> Result<(), JetStreamError> {
        let config = jetstream::consumer::pull::OrderedConfig {
            deliver_policy: jetstream::consumer::DeliverPolicy::ByStartSequence {
                start_sequence: self.next,
            },
            ..Default::default()
        };
        let mut messages = js
            .get_stream_no_info(self.target.stream())
            .await
            .map_err(nats)?
            .create_consumer(config)
            .await
            .map_err(nats)?
            .messages()
            .await
            .map_err(nats)?;
        while let Some(message) = messages.next().await {
            let message = message.map_err(nats)?;
            let seq = message.info().map_err(nats)?.stream_sequence;
            if seq >= self.next {
                self.take(seq, message.subject.as_str(), &message.payload)?;
                self.next = seq + 1;
            }
            if seq >= last {
                return Ok(());
            }
        }
        Err(JetStreamError::Nats("the consumer ended".into()))
    }

    /// One message: the header and events into the file, a clock noted.
    fn take(&mut self, seq: u64, subject: &str, payload: &[u8]) -> Result<(), JetStreamError> {
        use std::io::Write;
        let target = self.target;
        let expected = target.subject(if seq == 1 { "header" } else { "events" });
        if subject == expected {
            self.file
                .write_all(payload)
                .map_err(|e| LogError::io(self.out, "write", e))?;
            self.len += payload.len() as u64;
            return Ok(());
        }
        let why = if seq > 1 && subject == target.subject("clock") {
            match parse_clock(payload) {
                Some(now_ms) => {
                    self.clock = Some(now_ms);
                    return Ok(());
                }
                None => format!("message {seq} is not a clock (milliseconds)"),
            }
        } else {
            format!("message {seq} is on {subject}, not {expected}")
        };
        Err(JetStreamError::NotALog {
            stream: target.stream(),
            why,
        })
    }
}

/// A clock message's payload: milliseconds since the epoch, in decimal.
pub fn parse_clock(payload: &[u8]) -> Option<TimeMs> {
    std::str::from_utf8(payload).ok()?.parse().ok()
}
