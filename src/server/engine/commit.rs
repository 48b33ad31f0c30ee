//! Group commit: a write is answered only once a commit of the log backend (an fsync of the
//! file, or an acknowledged publish to a stream) covers its records; concurrent writes share
//! one commit.

use std::fs::File;
use std::sync::{Arc, Mutex};

use crate::log::LogBackend;

use super::write::unavailable;
use super::{Engine, EngineError};
use crate::api::ApiError;
use crate::locks;

/// How writes become durable before they are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Commit {
    /// Concurrent writes share one fsync (the default).
    #[default]
    Group,
    /// Each write fsyncs on its own, holding the writer (the baseline of the write bench).
    PerWrite,
}

/// What is known durable, and whether a sync is running.
#[derive(Debug, Default)]
struct Durable {
    /// Records known durable: seq below this.
    synced: u64,
    /// A sync is running.
    syncing: bool,
    /// A sync failed: the log's state on disk is unknown.
    failed: bool,
}

/// The group-commit state of an engine.
#[derive(Debug)]
pub(super) struct GroupCommit {
    mode: Commit,
    durable: Mutex<Durable>,
    /// Sent after every sync (success or failure), to wake the waiting writes.
    changed: tokio::sync::watch::Sender<u64>,
    /// Where commits go; `None` when there is no writer.
    store: Option<Store>,
}

/// The working file and the backend that makes its bytes durable.
#[derive(Debug)]
pub(super) struct Store {
    /// A handle on the working file for commits that do not hold the writer.
    pub(super) file: File,
    /// The file itself (fsync), or a stream.
    pub(super) backend: Arc<dyn LogBackend>,
}

impl GroupCommit {
    /// Group commit in `mode`, committing to `store`, with records below `synced` durable.
    pub(super) fn new(mode: Commit, store: Option<Store>, synced: u64) -> GroupCommit {
        GroupCommit {
            mode,
            durable: Mutex::new(Durable {
                synced,
                ..Durable::default()
            }),
            changed: tokio::sync::watch::Sender::new(0),
            store,
        }
    }

    /// Makes the working file's first `len` bytes durable in the backend.
    pub(super) fn commit_to(&self, len: u64) -> Result<(), crate::log::LogError> {
        match &self.store {
            Some(store) => store.backend.commit(&store.file, len),
            None => Ok(()),
        }
    }

    /// The backend, when there is a writer.
    pub(super) fn backend(&self) -> Option<&Arc<dyn LogBackend>> {
        self.store.as_ref().map(|s| &s.backend)
    }

    /// Each write syncs on its own.
    pub(super) fn is_per_write(&self) -> bool {
        self.mode == Commit::PerWrite
    }

    /// Records below `upto` are durable (synced outside a group-commit sync).
    pub(super) fn synced_up_to(&self, upto: u64) {
        let mut d = locks::lock(&self.durable);
        d.synced = d.synced.max(upto);
        let synced = d.synced;
        drop(d);
        self.changed.send_replace(synced);
    }

    /// Marks the log failed and wakes every waiter.
    fn fail(&self) {
        let mut d = locks::lock(&self.durable);
        d.syncing = false;
        d.failed = true;
        drop(d);
        self.changed.send_modify(|_| {});
    }
}

impl Engine {
    /// Waits until every record below `end_seq` is on disk. Group commit: the first waiter
    /// to find no sync running runs one on a blocking thread — flush under the writer's lock,
    /// fsync without it — and every write appended before it rides along; the others wait
    /// (asynchronously) for it to finish.
    pub async fn durable(self: &Arc<Self>, end_seq: u64) -> Result<(), ApiError> {
        if self.commit.is_per_write() {
            return Ok(()); // `write` synced already
        }
        loop {
            // Subscribe before looking, so that a sync finishing in between still wakes us.
            let mut changed = self.commit.changed.subscribe();
            let lead = {
                let mut d = locks::lock(&self.commit.durable);
                if d.synced >= end_seq {
                    return Ok(());
                }
                if d.failed {
                    return Err(unavailable(self.refusal()));
                }
                let lead = !d.syncing;
                d.syncing = true;
                lead
            };
            if !lead {
                let _ = changed.changed().await;
                continue;
            }
            // The sync and its bookkeeping run to the end on their own thread, even if this
            // request is dropped (its client went away) while waiting: the others depend on it.
            let engine = Arc::clone(self);
            let synced = match tokio::task::spawn_blocking(move || engine.sync_and_publish()).await
            {
                Ok(synced) => synced,
                // Never ran (the runtime is shutting down): nobody else will clear the flag.
                Err(e) => {
                    self.commit.fail();
                    self.stop();
                    Err(EngineError::Join(e.to_string()))
                }
            };
            synced.map_err(unavailable)?;
        }
    }

    /// One group-commit sync, then the new durable point published to the waiters.
    fn sync_and_publish(&self) -> Result<u64, EngineError> {
        let synced = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.sync_once()))
            .unwrap_or_else(|_| Err(EngineError::Join("the sync panicked".into())));
        if synced.is_err()
            && let Some(producer) = &self.producer
        {
            locks::lock(producer).fail();
        }
        let mut d = locks::lock(&self.commit.durable);
        d.syncing = false;
        match &synced {
            Ok(upto) => d.synced = d.synced.max(*upto),
            Err(_) => {
                d.failed = true;
                self.stop();
            }
        }
        let synced_now = d.synced;
        drop(d);
        self.commit.changed.send_replace(synced_now);
        synced
    }

    /// One group-commit sync: flush and note how far, commit (fsync, or publish) without
    /// holding the writer, then note it durable and let readers see the records it covers.
    fn sync_once(&self) -> Result<u64, EngineError> {
        let Some(producer) = &self.producer else {
            return Ok(0);
        };
        let point = {
            let mut p = locks::lock(producer);
            if p.failed {
                return Err(self.refusal());
            }
            p.writer.flush_for_sync()?
        };
        self.commit.commit_to(point.len)?;
        let mut p = locks::lock(producer);
        if p.failed {
            return Err(self.refusal());
        }
        p.writer.note_synced(point.len, point.records)?;
        self.release(&mut p, point.records)?;
        Ok(point.records)
    }
}
