//! Snapshots of a served scenario (`drive::snapshot`): taken under the writer at the end of
//! a clock move or a write once [`Snapshots::every`] records were logged since the last one,
//! and at a clean stop — each once everything logged is durable and applied, so that the
//! simulator, the read model and the log agree on one point.

use std::path::PathBuf;

use super::{Engine, EngineError, Producer};
use crate::drive::snapshot::{self, Digest, LogPoint};
use crate::locks;

/// When a served scenario writes snapshots, and whether a restart may start from one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshots {
    /// Records between two snapshots; 0 writes none.
    pub every: u64,
    /// Re-run the whole log at start-up, as if there were no snapshot (they are still
    /// written): proves the log from its first record.
    pub verify_full: bool,
}

impl Default for Snapshots {
    fn default() -> Snapshots {
        Snapshots {
            every: 1_000_000,
            verify_full: false,
        }
    }
}

/// The writer's side of snapshots.
#[derive(Debug)]
pub(super) struct Snapshotter {
    /// Where they go (the data directory's `snapshots/`).
    pub(super) dir: PathBuf,
    pub(super) every: u64,
    /// The records of the last snapshot taken or tried (or restored from).
    pub(super) last_records: u64,
    /// The log's checksum so far, extended to each snapshot's point.
    pub(super) digest: Digest,
    /// The last snapshot being synced and named, off the writer's path.
    syncing: Option<std::thread::JoinHandle<()>>,
}

impl Snapshotter {
    pub(super) fn new(dir: PathBuf, every: u64) -> Snapshotter {
        Snapshotter {
            dir,
            every,
            last_records: 0,
            digest: Digest::default(),
            syncing: None,
        }
    }

    /// Waits until the last snapshot written is synced and named (or failed to be).
    pub(super) fn settle(&mut self) {
        if let Some(syncing) = self.syncing.take() {
            let _ = syncing.join();
        }
    }

    /// The engine started from the snapshot at `point` (if any): the next is due `every`
    /// records after it, and the log's checksum is known up to it.
    pub(super) fn restored(&mut self, point: Option<LogPoint>) {
        if let Some(point) = point {
            self.last_records = point.records;
            self.digest = Digest {
                len: point.len,
                crc: point.crc,
            };
        }
    }
}

impl Engine {
    /// Takes a snapshot if [`Snapshots::every`] records were logged since the last one:
    /// commits and applies everything first (an earlier commit than group commit would make).
    pub(super) fn snapshot_if_due(&self, p: &mut Producer) -> Result<(), EngineError> {
        let s = &p.snapshots;
        if s.every == 0 || p.writer.next_seq() < s.last_records.saturating_add(s.every) {
            return Ok(());
        }
        self.sync_and_release(p)?;
        self.snapshot(p);
        Ok(())
    }

    /// Snapshots the state as of the log's end, which must be durable and applied: the images
    /// are written under the writer, the file synced and named on a thread of its own. A
    /// snapshot only saves time at the next start: one that cannot be written is a warning.
    pub(super) fn snapshot(&self, p: &mut Producer) {
        let records = p.writer.next_seq();
        let (Some(last_ms), true) = (p.writer.last_ms(), records > p.snapshots.last_records) else {
            return;
        };
        // Tried once per point: a failing disk is not retried at every step.
        p.snapshots.last_records = records;
        let model = locks::read(&self.model);
        if !p.pending.events.is_empty() || model.event_count() != records {
            return; // not everything applied: no single point to take
        }
        let len = p.writer.len_bytes();
        let written = p
            .snapshots
            .digest
            .extend(p.writer.path(), len)
            .and_then(|()| {
                let point = LogPoint {
                    len,
                    records,
                    last_ms,
                    crc: p.snapshots.digest.crc,
                };
                snapshot::write(&p.snapshots.dir, p.writer.header(), point, &p.sim, &model)
            });
        drop(model);
        // One at a time: the previous one is named before this one can replace it.
        p.snapshots.settle();
        let written = match written {
            Ok(unsynced) => unsynced,
            Err(e) => return tracing::warn!(error = %e, "a snapshot could not be written"),
        };
        let finish = move || match written.finish() {
            Ok(path) => tracing::info!(path = %path.display(), records, "snapshot written"),
            Err(e) => tracing::warn!(error = %e, "a snapshot could not be written"),
        };
        // Synced on a thread of its own, or here if none can be started (a failed spawn
        // drops its closure, so the work waits in a slot either side can take it from).
        let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(finish)));
        let theirs = std::sync::Arc::clone(&slot);
        let spawned = std::thread::Builder::new()
            .name("snapshot-sync".into())
            .spawn(move || {
                if let Some(finish) = locks::lock(&theirs).take() {
                    finish();
                }
            });
        match spawned {
            Ok(handle) => p.snapshots.syncing = Some(handle),
            Err(_) => {
                if let Some(finish) = locks::lock(&slot).take() {
                    finish();
                }
            }
        }
    }
}
